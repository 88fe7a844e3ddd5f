// Runs the real `triad` binary.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "contracts/card.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad {
namespace {

int Mode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 0777;
}

// Every command group registers on one app; two files add to `model` (push/register and init).
TEST(CliTest, HelpListsEveryGroupAndModelHasAllItsCommands) {
  std::string out;
  ASSERT_EQ(testing::RunCommand(testing::TriadBinary() + " --help", &out), 0) << out;
  for (const char* group : {"keygen", "contract", "encrypt", "decrypt", "attest", "coordinator", "party",
                            "model", "dataset", "job", "audit"}) {
    EXPECT_NE(out.find(std::string("  ") + group + " "), std::string::npos) << group << "\n" << out;
  }
  ASSERT_EQ(testing::RunCommand(testing::TriadBinary() + " model --help", &out), 0) << out;
  EXPECT_NE(out.find("push"), std::string::npos) << out;
  EXPECT_NE(out.find("register"), std::string::npos) << out;
#ifdef TRIAD_HAVE_TRAINER
  EXPECT_NE(out.find("init"), std::string::npos) << out;
  // train, model init and worker run are triad-worker's; triad execs it with the same arguments.
  for (const char* cmd : {"train", "model init", "--log-level info worker run"}) {
    ASSERT_EQ(testing::RunCommand(testing::TriadBinary() + " " + cmd + " --help", &out), 0) << out;
    std::string name = cmd;
    name = name.substr(name.rfind("info ") == std::string::npos ? 0 : name.rfind("info ") + 5);
    EXPECT_NE(out.find("Usage: triad " + name + " [OPTIONS]"), std::string::npos) << out;
  }
  // A triad without its triad-worker says so and exits 1.
  testing::TempDir alone;
  ASSERT_EQ(testing::RunCommand("cp " + testing::TriadBinary() + " " + alone.path()), 0);
  EXPECT_EQ(testing::RunCommand(alone.File("triad") + " train --help", &out), 1);
  EXPECT_EQ(out, "triad: this command runs " + alone.File("triad-worker") +
                     " (the trainer and worker, with LibTorch), which cannot be started: No such "
                     "file or directory; build it (CMake target triad_worker_cli) or install it "
                     "beside triad\n");
#endif
}

TEST(KeygenTest, WritesKeysAgeAndOpenSslAccept) {
  testing::TempDir dir;
  std::string out;
  ASSERT_EQ(testing::RunCommand(testing::TriadBinary() + " keygen --name alice --role model-owner --dir " +
                                    dir.path() + " --json",
                                &out),
            0)
      << out;
  auto card = contracts::PartyCard::FromJson(out);
  ASSERT_TRUE(card.ok()) << card.status() << "\n" << out;
  EXPECT_EQ(card->role, contracts::Role::kModelOwner);
  EXPECT_EQ(Mode(dir.File("alice.identity")), 0600);
  EXPECT_EQ(Mode(dir.File("alice.signing.pem")), 0600);
  // --json: one object on one line; the card file holds the same object, indented.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_EQ(out, card->ToJsonValue().dump() + "\n");
  EXPECT_EQ(testing::ReadTestFile(dir.File("alice.card.json")), card->ToJson());

  // Stock age accepts the identity file and derives the card's recipient.
  ASSERT_EQ(testing::RunCommand("age-keygen -y " + dir.File("alice.identity"), &out), 0) << out;
  EXPECT_EQ(out, card->age_recipient.ToString() + "\n");
  // OpenSSL reads the signing key, and its SPKI hash is the card's fingerprint.
  ASSERT_EQ(testing::RunCommand("openssl pkey -in " + dir.File("alice.signing.pem") +
                                    " -pubout -outform DER | sha256sum | cut -c1-64",
                                &out),
            0);
  EXPECT_EQ(out, card->fingerprint() + "\n");
}

TEST(KeygenTest, RefusesToOverwriteAndBadInput) {
  testing::TempDir dir;
  std::string base = testing::TriadBinary() + " keygen --dir " + dir.path();
  ASSERT_EQ(testing::RunCommand(base + " --name bob --role data-owner"), 0);
  std::string before = testing::ReadTestFile(dir.File("bob.identity"));
  std::string out;
  EXPECT_EQ(testing::RunCommand(base + " --name bob --role data-owner", &out), 1);
  EXPECT_NE(out.find("triad: creating " + dir.File("bob.identity") + ": File exists"), std::string::npos) << out;
  EXPECT_EQ(testing::ReadTestFile(dir.File("bob.identity")), before);
  EXPECT_EQ(testing::RunCommand(base + " --name bob2 --role owner", &out), 2);
  EXPECT_EQ(out, "triad: --role: \"owner\" is not a role (model-owner, data-owner, compute-provider "
                 "or auditor); see 'triad keygen --help'\n");
  EXPECT_EQ(testing::RunCommand(base + " --name bob2 --role data_owner", &out), 2);
  EXPECT_EQ(out, "triad: --role: \"data_owner\" is not a role (model-owner, data-owner, "
                 "compute-provider or auditor); did you mean \"data-owner\"?; see 'triad keygen "
                 "--help'\n");
  EXPECT_FALSE(std::filesystem::exists(dir.File("bob2.identity")));
  EXPECT_EQ(testing::RunCommand(base + " --name bob3", &out), 2) << out;
}

}  // namespace
}  // namespace triad
