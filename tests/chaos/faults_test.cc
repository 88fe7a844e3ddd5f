// Faults around the real `triad coordinator serve` (tests/chaos/README.md): corrupt state, a
// database locked by another process, clocks ten minutes apart, and a full disk during an upload.
// Each asserts the exact refusal and that nothing half-done is left behind.
#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "coordinator/card.h"
#include "coordinator/client.h"
#include "coordinator/request.h"
#include "crypto/ed25519.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "tests/testing/testing.h"
#include "triad/v1/workers.grpc.pb.h"

namespace triad {
namespace {

namespace fs = std::filesystem;
namespace pb = ::triad::v1;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Sh(Triad() + " coordinator init --dir " + F("state"));
    Sh(Triad() + " coordinator card --dir " + F("state") + " --out " + F("card.json"));
    for (const char* p : {"mo:model-owner", "do:data-owner", "cp:compute-provider"}) {
      std::string s(p);
      std::string name = s.substr(0, s.find(':')), role = s.substr(s.find(':') + 1);
      Sh(Triad() + " keygen --name " + name + " --role " + role + " --dir " + F("keys"));
      Sh(Triad() + " coordinator parties add " + F("keys/" + name + ".card.json") + " --dir " +
         F("state"));
    }
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Signal(SIGTERM);
  }

  static std::string Triad() { return testing::TriadBinary(); }
  std::string F(const std::string& name) const { return dir_.File(name); }
  std::string Sh(const std::string& cmd, int* rc = nullptr) {
    std::string out;
    int code = testing::RunCommand(cmd, &out);
    if (rc != nullptr) {
      *rc = code;
    } else {
      EXPECT_EQ(code, 0) << cmd << "\n" << out;
    }
    return out;
  }
  // `serve` on a free port; `prefix` goes before the binary in a shell (a ulimit).
  void Serve(const std::string& prefix = "") {
    std::string serve = absl::StrCat("exec ", Triad(), " coordinator serve --dir ", F("state"),
                                     " --listen 127.0.0.1:0 --poll-wait 1s");
    server_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{"/bin/bash", "-c", prefix + serve}, F("serve.out"),
        F("serve.err"));
    port_ = server_->ListeningPort();
    ASSERT_GT(port_, 0) << server_->Err();
  }
  // `serve` expected to refuse: its exit status and standard error, within 30 s.
  std::pair<int, std::string> ServeRefused() {
    testing::ChildProcess p({Triad(), "coordinator", "serve", "--dir", F("state"), "--listen",
                             "127.0.0.1:0"},
                            F("refused.out"), F("refused.err"));
    int rc = p.Wait(absl::Seconds(30));
    EXPECT_EQ(p.Out().find("listening on"), std::string::npos) << "it served: " << p.Out();
    return {rc, p.Err()};
  }
  std::string Push(const std::string& name, const std::string& file, int* rc) {
    return Trim(Sh(absl::StrCat(Triad(), " dataset push --coordinator 127.0.0.1:", port_,
                                " --coordinator-card ", F("card.json"), " --as ", F("keys/do"),
                                " --name ", name, " --in ", file),
                   rc));
  }
  // The files under blobs/objects and blobs/tmp.
  std::pair<int, int> Blobs() {
    int objects = 0, tmp = 0;
    for (const auto& e : fs::recursive_directory_iterator(F("state/blobs/objects"))) {
      objects += e.is_regular_file();
    }
    if (fs::exists(F("state/blobs/tmp"))) {
      for (const auto& e : fs::directory_iterator(F("state/blobs/tmp"))) tmp += e.exists();
    }
    return {objects, tmp};
  }
  // A dataset `dataset push` accepts (it checks every line as the trainer reads it) of about `n`
  // bytes: JSONL lines of pseudo-random hex text.
  static std::string Random(size_t n) {
    static const char kHex[] = "0123456789abcdef";
    std::string s;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    while (s.size() < n) {
      std::string text;
      for (int i = 0; i < 1000; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        text += kHex[x & 15];
      }
      s += "{\"text\": \"" + text + "\"}\n";
    }
    return s;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::ChildProcess> server_;
  int port_ = 0;
};

// SQL on the state database from this process, as another program (or a person) would.
void Sql(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
  sqlite3_free(err);
  sqlite3_close(h);
}

TEST_F(FaultsTest, AChangedLogEntryIsRefusedAtStart) {
  // One byte of the first entry (party.registered "mo") changed: "mo" becomes "mp".
  Sql(F("state/state.db"),
      "UPDATE log_entries SET entry = CAST(replace(CAST(entry AS TEXT), '\"name\":\"mo\"', "
      "'\"name\":\"mp\"') AS BLOB) WHERE idx = 0");
  auto [rc, err] = ServeRefused();
  EXPECT_EQ(rc, 1);
  EXPECT_TRUE(absl::StrContains(err, F("state/state.db") +
                                         ": transparency log: stored subtree hash at level 0 "
                                         "index 0 is "))
      << err;
  EXPECT_TRUE(absl::StrContains(err, "; refusing to serve a corrupt state (restore state.db from a "
                                     "backup or a replica; the witnesses' checkpoints say which "
                                     "log is the true one)"))
      << err;
}

TEST_F(FaultsTest, DamagedDatabasePagesAreRefusedAtStart) {
  // The page-type byte of each b-tree page in turn flipped in the file (the WAL was merged when
  // the last command closed it): SQLite's own checks, or quick_check at start, refuse each.
  std::string db = F("state/state.db");
  ASSERT_FALSE(fs::exists(db + "-wal") && fs::file_size(db + "-wal") > 0);
  std::string original = testing::ReadTestFile(db);
  const size_t page = 4096;
  ASSERT_GE(original.size(), 8 * page);
  for (size_t p = 2; p <= 8; ++p) {
    std::string damaged = original;
    damaged[(p - 1) * page] ^= 0xff;
    testing::WriteTestFile(db, damaged, 0600);
    auto [rc, err] = ServeRefused();
    EXPECT_EQ(rc, 1) << "page " << p;
    EXPECT_TRUE(absl::StrContains(err, "database disk image is malformed") ||
                absl::StrContains(err, "database file is corrupt: "))
        << "page " << p << ": " << err;
  }
  testing::WriteTestFile(db, original, 0600);
  Serve();  // the undamaged file serves
}

TEST_F(FaultsTest, ALockedDatabaseRefusesTheUploadAndKeepsNoBlob) {
  Serve();
  testing::WriteTestFile(F("data.bin"), Random(5000));
  int rc = 0;
  // Another process holds the write lock past the coordinator's busy timeout.
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(F("state/state.db").c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  std::string out = Push("locked", F("data.bin"), &rc);
  EXPECT_NE(rc, 0);
  EXPECT_EQ(out, absl::StrCat("triad: coordinator 127.0.0.1:", port_,
                              ": executing SQL: database is locked"));
  // The ciphertext the coordinator stored before it found the database locked is gone again.
  EXPECT_EQ(Blobs(), std::make_pair(0, 0));
  sqlite3_exec(h, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(h);
  // Free again: the same upload goes through, and the coordinator served on meanwhile.
  out = Push("unlocked", F("data.bin"), &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.substr(0, 7), "sha256:");
  EXPECT_EQ(Blobs(), std::make_pair(1, 0));
}

TEST_F(FaultsTest, ClocksTenMinutesApartAreRefusedSayingSo) {
  Serve();
  auto card = coordinator::CoordinatorCard::FromFile(F("card.json"));
  ASSERT_TRUE(card.ok());
  auto channel = coordinator::OpenChannel({absl::StrCat("127.0.0.1:", port_), *card, false});
  ASSERT_TRUE(channel.ok());
  auto stub = pb::Workers::NewStub(*channel);
  auto cp = crypto::Ed25519PrivateKey::FromPemFile(F("keys/cp.signing.pem"));
  ASSERT_TRUE(cp.ok());
  auto poll = [&](absl::Duration skew) {
    pb::SignedRequest r;
    r.set_envelope_json(coordinator::SignRequest("poll", {{"worker_id", "w1"}, {"tee", "sim"}},
                                                 *cp, absl::Now() + skew,
                                                 card->signing_key.KeyId())
                            .ToJson());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::PollReply reply;
    return stub->Poll(&ctx, r, &reply);
  };
  for (int sign : {1, -1}) {
    grpc::Status st = poll(sign * absl::Minutes(10));
    EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_TRUE(absl::StrContains(st.error_message(),
                                  absl::StrCat(" is 10 minutes ", sign > 0 ? "after" : "before",
                                               " the coordinator's time ")))
        << st.error_message();
    EXPECT_TRUE(absl::StrContains(st.error_message(), "(at most 5 either way); check the clocks"))
        << st.error_message();
  }
  // Within the window (4 minutes off either way), and with the clocks agreeing, nothing else breaks.
  for (absl::Duration skew : {absl::Minutes(4), -absl::Minutes(4), absl::ZeroDuration()}) {
    grpc::Status st = poll(skew);
    EXPECT_TRUE(st.ok()) << st.error_message();
  }
}

TEST_F(FaultsTest, AFullDiskDuringAnUploadLeavesNothingAndServingGoesOn) {
  // No root here for a small tmpfs or a loop file system: the coordinator runs with a 1 MiB file
  // size limit (RLIMIT_FSIZE, `ulimit -f`) and SIGXFSZ ignored, so a write past it fails with EFBIG
  // exactly where a full disk fails with ENOSPC: in the blob writer, mid-upload.
  Serve("ulimit -f 1024; trap '' XFSZ; ");
  testing::WriteTestFile(F("big.bin"), Random(3 << 20));
  testing::WriteTestFile(F("small.bin"), Random(20000));
  int rc = 0;
  std::string out = Push("big", F("big.bin"), &rc);
  EXPECT_NE(rc, 0);
  EXPECT_TRUE(absl::StrContains(out, "File too large")) << out;
  EXPECT_EQ(Blobs(), std::make_pair(0, 0)) << "a partial blob was left behind";
  // It keeps serving: a small upload goes through.
  out = Push("small", F("small.bin"), &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(Blobs(), std::make_pair(1, 0));
  // Space back (the limit lifted, the coordinator restarted): the big upload goes through.
  ASSERT_EQ(server_->Signal(SIGTERM), 0);
  Serve();
  out = Push("big", F("big.bin"), &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(Blobs(), std::make_pair(2, 0));
}

TEST_F(FaultsTest, AFullDiskDuringALogCommitRefusesAndResumes) {
  // The same limit at 512 KiB: the database (about 200 KiB) opens, and small uploads go through
  // until the write-ahead log reaches the limit in the middle of a commit.
  Serve("ulimit -f 512; trap '' XFSZ; ");
  testing::WriteTestFile(F("small.bin"), Random(2000));
  int rc = 0, stored = 0;
  std::string out;
  for (int i = 0; i < 60; ++i) {
    out = Push(absl::StrCat("d", i), F("small.bin"), &rc);
    if (rc != 0) break;
    ++stored;
  }
  ASSERT_NE(rc, 0) << "60 uploads fit in 512 KiB";
  ASSERT_GT(stored, 0);
  // EFBIG is a short write to SQLite ("disk I/O error"); ENOSPC on a real disk is SQLITE_FULL.
  EXPECT_TRUE(absl::StrContains(out, "committing: executing SQL: disk I/O error") ||
              absl::StrContains(out, "database or disk is full"))
      << out;
  // Nothing half-done: one blob per recorded upload, none in tmp/; reads are still served.
  EXPECT_EQ(Blobs(), std::make_pair(stored, 0));
  EXPECT_EQ(Trim(Sh(absl::StrCat(Triad(), " job status --coordinator 127.0.0.1:", port_,
                                 " --coordinator-card ", F("card.json"), " --as ", F("keys/do"),
                                 " j-0000000000000000"),
                    &rc)),
            "triad: job j-0000000000000000 not found");
  // Space back: the state passes the start-up checks (log rebuilt against its tree and
  // checkpoint), and uploads go on.
  ASSERT_EQ(server_->Signal(SIGTERM), 0);
  Serve();
  out = Push("after", F("small.bin"), &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(Blobs(), std::make_pair(stored + 1, 0));
}

}  // namespace
}  // namespace triad
