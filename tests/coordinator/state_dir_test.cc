#include "coordinator/state_dir.h"

#include <sys/stat.h>

#include <filesystem>

#include "base/clock.h"
#include "crypto/note.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::coordinator {
namespace {

using triad::testing::TempDir;

int Mode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

absl::Time Now() { return absl::FromUnixSeconds(1800000000); }

TEST(StateDir, InitWritesKeysCardDatabaseAndBlobs) {
  TempDir tmp;
  std::string dir = tmp.File("state");
  auto card = InitStateDir(dir, {}, Now());
  ASSERT_TRUE(card.ok()) << card.status();
  EXPECT_EQ(card->name, "triad-coordinator");
  EXPECT_EQ(card->log_origin, "triad-coordinator/log/" + card->signing_key.KeyId().substr(0, 16));
  EXPECT_EQ(Mode(dir), 0700);
  for (const char* f : {kSigningKeyFile, kTlsKeyFile, kDatabaseFile}) {
    EXPECT_EQ(Mode(dir + "/" + f), 0600) << f;
  }
  // No age identity at all: the coordinator opens no artifact.
  EXPECT_FALSE(std::filesystem::exists(dir + "/" + kLegacyKeyBrokerFile));
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(triad::testing::ReadTestFile(e.path().string()).find("AGE-SECRET-KEY-"),
              std::string::npos)
        << e.path();
  }
  EXPECT_EQ(card->ToJson().find("age1"), std::string::npos);
  EXPECT_EQ(Mode(dir + "/" + kCardFile), 0644);
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/" + kBlobDir));
  EXPECT_EQ(triad::testing::ReadTestFile(dir + "/" + kCardFile), card->ToJson());

  auto state = LoadStateDir(dir);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->card.ToJson(), card->ToJson());
  base::FixedClock clock(Now());
  auto stores = OpenStateStores(*state, clock);
  ASSERT_TRUE(stores.ok()) << stores.status();
  // The first checkpoint is signed by the card's key under the card's origin.
  auto cp = stores->store->log().LatestCheckpoint();
  ASSERT_TRUE(cp.ok());
  auto verifier = crypto::NoteVerifier::Create(card->log_origin, card->signing_key);
  auto opened = crypto::OpenCheckpoint(cp->signed_note, *verifier, card->log_origin);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->size, 0u);
}

TEST(StateDir, InitRefusesADirectoryInUseAndBadNames) {
  TempDir tmp;
  ASSERT_TRUE(InitStateDir(tmp.File("s"), {}, Now()).ok());
  EXPECT_EQ(InitStateDir(tmp.File("s"), {}, Now()).status().message(),
            tmp.File("s") +
                " is not empty; a coordinator state directory is created once, in a new directory");
  // An existing empty directory is fine.
  std::filesystem::create_directory(tmp.File("empty"));
  EXPECT_TRUE(InitStateDir(tmp.File("empty"), {}, Now()).ok());
  InitOptions bad;
  bad.name = "has space";
  EXPECT_EQ(InitStateDir(tmp.File("x"), bad, Now()).status().code(),
            absl::StatusCode::kInvalidArgument);
  InitOptions origin;
  origin.origin = "a+b";
  EXPECT_EQ(InitStateDir(tmp.File("y"), origin, Now()).status().message().substr(0, 12),
            "log origin: ");
  EXPECT_FALSE(std::filesystem::exists(tmp.File("x")));
}

TEST(StateDir, LoadChecksThatKeysAndCardBelongTogether) {
  TempDir tmp;
  EXPECT_EQ(LoadStateDir(tmp.File("none")).status().message(),
            tmp.File("none") +
                " is not a coordinator state directory (no coordinator.card.json); make one with "
                "`triad coordinator init --dir " +
                tmp.File("none") + "`");
  ASSERT_TRUE(InitStateDir(tmp.File("a"), {}, Now()).ok());
  ASSERT_TRUE(InitStateDir(tmp.File("b"), {}, Now()).ok());
  for (const char* f : {kSigningKeyFile, kTlsCertFile}) {
    TempDir t2;
    std::filesystem::copy(tmp.File("a"), t2.File("c"), std::filesystem::copy_options::recursive);
    std::filesystem::remove(t2.File("c/") + f);
    std::filesystem::copy_file(tmp.File("b/") + f, t2.File("c/") + f);
    EXPECT_EQ(LoadStateDir(t2.File("c")).status().message(),
              t2.File("c/") + f + " does not match " + t2.File("c/coordinator.card.json"));
  }
}

// A state directory from the version whose coordinator held a key broker is refused, with what to
// do; so is its v1 card on the client side.
TEST(StateDir, AnOldStateDirectoryWithAKeyBrokerIsRefused) {
  TempDir tmp;
  ASSERT_TRUE(InitStateDir(tmp.File("s"), {}, Now()).ok());
  triad::testing::WriteTestFile(tmp.File("s/coordinator.identity"), "AGE-SECRET-KEY-1...\n", 0600);
  EXPECT_EQ(
      LoadStateDir(tmp.File("s")).status().message(),
      tmp.File("s/coordinator.identity") +
          ": this state directory is from an earlier Triad whose coordinator held a key-broker "
          "identity that opens every artifact encrypted to it; this version holds no key "
          "(docs/custody.md) and does not serve it. Create a new one (triad coordinator init), "
          "have the owners push their artifacts again (encrypted to their own keys) and sign new "
          "contracts, then shred " +
          tmp.File("s/coordinator.identity"));
  auto card = CoordinatorCard::FromFile(tmp.File("s/coordinator.card.json"));
  ASSERT_TRUE(card.ok());
  std::string v1 = card->ToJson();
  v1.replace(v1.find("triad.coordinator-card/v2"), 25, "triad.coordinator-card/v1");
  EXPECT_EQ(
      CoordinatorCard::FromJson(v1).status().message(),
      "coordinator card: this is a triad.coordinator-card/v1, whose coordinator held a key-broker "
      "identity that opens every artifact; this version holds none (docs/custody.md). Ask the "
      "operator for the card of a coordinator set up with this version (triad coordinator card "
      "--dir STATE)");
}

}  // namespace
}  // namespace triad::coordinator
