// Runs the real `triad encrypt` / `triad decrypt`, alone and against the stock `age` binary.
#include <sys/stat.h>

#include <filesystem>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "contracts/card.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad {
namespace {

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

int Mode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

// Files in `dir` whose names start with '.' (the temporary outputs).
int HiddenFiles(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string()[0] == '.') ++n;
  }
  return n;
}

class AgeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"alice", "bob"}) {
      std::string out;
      ASSERT_EQ(testing::RunCommand(absl::StrCat(Triad(), " keygen --name ", name,
                                                 " --role data-owner --dir ", dir_.path()),
                                    &out),
                0)
          << out;
    }
    alice_ = contracts::PartyCard::FromFile(dir_.File("alice.card.json"))->age_recipient.ToString();
    bob_ = contracts::PartyCard::FromFile(dir_.File("bob.card.json"))->age_recipient.ToString();
  }
  static std::string Triad() { return testing::TriadBinary(); }
  std::string F(const std::string& name) const { return dir_.File(name); }

  testing::TempDir dir_;
  std::string alice_, bob_;
};

TEST_F(AgeCliTest, RoundTripsAndInteroperatesWithAge) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{65535}, size_t{65536}, size_t{65537}, size_t{3 << 20}}) {
    SCOPED_TRACE(n);
    std::string plain = Bytes(n, static_cast<uint32_t>(n));
    testing::WriteTestFile(F("plain"), plain);
    std::string out;
    // triad -> triad and triad -> age, to two recipients (one by card).
    ASSERT_EQ(testing::RunCommand(absl::StrCat(Triad(), " encrypt -r ", alice_, " -R ", F("bob.card.json"),
                                               " -o ", F("t.age"), " ", F("plain")),
                                  &out),
              0)
        << out;
    EXPECT_EQ(out, "");
    for (const char* who : {"alice", "bob"}) {
      ASSERT_EQ(testing::RunCommand(absl::StrCat(Triad(), " decrypt -i ", F(std::string(who) + ".identity"),
                                                 " -o ", F("t.out"), " ", F("t.age")),
                                    &out),
                0)
          << out;
      EXPECT_TRUE(testing::ReadTestFile(F("t.out")) == plain);
      EXPECT_EQ(Mode(F("t.out")), 0600);
      ASSERT_EQ(testing::RunCommand(absl::StrCat("age -d -i ", F(std::string(who) + ".identity"), " ",
                                                 F("t.age"), " >", F("a.out")),
                                    &out),
                0)
          << out;
      EXPECT_TRUE(testing::ReadTestFile(F("a.out")) == plain);
    }
    // age -> triad, binary and armored, several threads, file and standard input.
    for (const char* armor : {"", "-a "}) {
      ASSERT_EQ(testing::RunCommand(absl::StrCat("age ", armor, "-r ", alice_, " -r ", bob_, " -o ",
                                                 F("s.age"), " ", F("plain")),
                                    &out),
                0)
          << out;
      ASSERT_EQ(testing::RunCommand(absl::StrCat(Triad(), " decrypt --threads 3 -i ", F("bob.identity"),
                                                 " -o ", F("s.out"), " ", F("s.age")),
                                    &out),
                0)
          << out;
      EXPECT_TRUE(testing::ReadTestFile(F("s.out")) == plain);
      ASSERT_EQ(testing::RunCommand(absl::StrCat("cat ", F("s.age"), " | ", Triad(), " decrypt -i ",
                                                 F("alice.identity"), " >", F("s.out")),
                                    &out),
                0)
          << out;
      EXPECT_TRUE(testing::ReadTestFile(F("s.out")) == plain);
    }
    // triad -a through a pipe into age.
    ASSERT_EQ(testing::RunCommand(absl::StrCat(Triad(), " encrypt -a -r ", alice_, " <", F("plain"),
                                               " | age -d -i ", F("alice.identity"), " >", F("p.out")),
                                  &out),
              0)
        << out;
    EXPECT_TRUE(testing::ReadTestFile(F("p.out")) == plain);
  }
  EXPECT_EQ(HiddenFiles(dir_.path()), 0);
}

TEST_F(AgeCliTest, FailedDecryptionLeavesNoFile) {
  std::string plain = Bytes(300000, 1);
  testing::WriteTestFile(F("plain"), plain);
  std::string out;
  ASSERT_EQ(testing::RunCommand(absl::StrCat(Triad(), " encrypt -r ", alice_, " -o ", F("c.age"), " ",
                                             F("plain")),
                                &out),
            0);
  std::string ct = testing::ReadTestFile(F("c.age"));
  struct Case {
    std::string name, data, reason;
  };
  std::string flipped = ct;
  flipped[ct.size() - 100] ^= 1;
  std::string header_flipped = ct;
  header_flipped[40] ^= 1;
  // One X25519 recipient: the payload starts at a fixed offset; 300000 bytes are 4 full chunks and
  // a short one.
  const size_t start = ct.size() - 300000 - 5 * 16;
  const size_t chunk = 65536 + 16;
  const Case cases[] = {
      {"cut at a chunk boundary", ct.substr(0, start + 2 * chunk),
       "age payload: the file ends after chunk 1, which is not the final chunk: the file is truncated"},
      {"cut inside a chunk", ct.substr(0, ct.size() - 70000),
       "age payload: chunk 3 does not authenticate as the final chunk: the file is truncated, extended "
       "or altered"},
      {"flipped", flipped,
       "age payload: chunk 4 does not authenticate as the final chunk: the file is truncated, extended "
       "or altered"},
      {"extended", ct + "x",
       "age payload: chunk 4 does not authenticate as the final chunk: the file is truncated, extended "
       "or altered"},
      {"header", header_flipped, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    testing::WriteTestFile(F("bad.age"), c.data);
    for (const char* threads : {"1", "2"}) {
      EXPECT_EQ(testing::RunCommand(absl::StrCat(Triad(), " decrypt --threads ", threads, " -i ",
                                                 F("alice.identity"), " -o ", F("bad.out"), " ", F("bad.age")),
                                    &out),
                1);
      EXPECT_FALSE(Exists(F("bad.out")));
      EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
      if (!c.reason.empty()) {
        EXPECT_EQ(out, absl::StrCat("triad: decrypting ", F("bad.age"), ": ", c.reason, "\n"));
      }
    }
  }
  // The wrong identity.
  EXPECT_EQ(testing::RunCommand(absl::StrCat(Triad(), " decrypt -i ", F("bob.identity"), " -o ", F("bad.out"),
                                             " ", F("c.age")),
                                &out),
            1);
  EXPECT_EQ(out, absl::StrCat("triad: decrypting ", F("c.age"),
                              ": age: none of the 1 identities opens any of the file's 1 recipient stanzas\n"));
  EXPECT_FALSE(Exists(F("bad.out")));
  // An existing output file is left as it was.
  testing::WriteTestFile(F("keep.out"), "previous");
  EXPECT_EQ(testing::RunCommand(absl::StrCat(Triad(), " decrypt -i ", F("alice.identity"), " -o ",
                                             F("keep.out"), " ", F("bad.age")),
                                &out),
            1);
  EXPECT_EQ(testing::ReadTestFile(F("keep.out")), "previous");
  EXPECT_EQ(HiddenFiles(dir_.path()), 0);
}

TEST_F(AgeCliTest, ArgumentErrors) {
  std::string out;
  EXPECT_EQ(testing::RunCommand(absl::StrCat(Triad(), " encrypt -r age1nope -o ", F("x"), " /dev/null"), &out), 1);
  EXPECT_EQ(out.rfind("triad: -r age1nope: age recipient: ", 0), 0u) << out;
  EXPECT_FALSE(Exists(F("x")));
  EXPECT_EQ(testing::RunCommand(absl::StrCat(Triad(), " encrypt -o ", F("x"), " /dev/null"), &out), 1);
  EXPECT_EQ(out, "triad: no recipients: give -r RECIPIENT or -R CARD.json\n");
  EXPECT_EQ(testing::RunCommand(absl::StrCat(Triad(), " encrypt -r ", alice_, " -o ", F("x"), " ", F("missing")),
                                &out),
            1);
  EXPECT_EQ(out, absl::StrCat("triad: opening ", F("missing"), ": No such file or directory\n"));
  EXPECT_FALSE(Exists(F("x")));
  EXPECT_EQ(testing::RunCommand(absl::StrCat(Triad(), " decrypt -o ", F("x"), " /dev/null"), &out), 2) << out;
  ::chmod(F("alice.identity").c_str(), 0644);
  EXPECT_EQ(testing::RunCommand(absl::StrCat(Triad(), " decrypt -i ", F("alice.identity"), " /dev/null"), &out), 1);
  EXPECT_EQ(out, absl::StrCat("triad: ", F("alice.identity"), " holds a secret key but is accessible to other ",
                              "users; run chmod 600 ", F("alice.identity"), "\n"));
  ::chmod(F("alice.identity").c_str(), 0600);
  EXPECT_EQ(testing::RunCommand(absl::StrCat(Triad(), " decrypt -i ", F("alice.identity"), " /dev/null"), &out), 1);
  EXPECT_EQ(out, "triad: decrypting /dev/null: age header: the input is empty\n");
}

// A decryption killed half-way removes its temporary output.
TEST_F(AgeCliTest, InterruptedDecryptionLeavesNoFile) {
  testing::WriteTestFile(F("plain"), Bytes(2 << 20, 4));
  std::string out;
  ASSERT_EQ(testing::RunCommand(absl::StrCat(Triad(), " encrypt -r ", alice_, " -o ", F("c.age"), " ",
                                             F("plain")),
                                &out),
            0);
  // The input is a FIFO that delivers part of the file and then stalls; once the temporary output
  // exists, the process gets SIGTERM.
  std::string script = absl::StrCat(
      "cd ", dir_.path(), " || exit 1; mkfifo fifo || exit 1; ",
      "( head -c 1500000 c.age; exec sleep 20 ) >fifo 2>/dev/null & writer=$!; ",
      Triad(), " decrypt -i alice.identity -o out.bin fifo & pid=$!; ",
      "for i in $(seq 100); do ls -a | grep -q '^\\.out\\.bin\\.triad-' && break; sleep 0.1; done; ",
      "ls -a | grep -c '^\\.out\\.bin\\.triad-'; kill -TERM $pid; wait $pid; echo rc=$?; ",
      "kill $writer; true");
  ASSERT_EQ(testing::RunCommand(script, &out), 0) << out;
  EXPECT_EQ(out, "1\nrc=143\n");
  EXPECT_FALSE(Exists(F("out.bin")));
  EXPECT_EQ(HiddenFiles(dir_.path()), 0);
}

}  // namespace
}  // namespace triad
