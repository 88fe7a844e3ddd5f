// Crash safety: a process writing to the store is killed with SIGKILL at an arbitrary point (in the
// middle of a transaction, of a commit, of an fsync); reopening finds every acknowledged
// transaction, no part of any other, and a transparency log whose tree and newest checkpoint agree.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/store.h"
#include "tests/storage/storage_testing.h"
#include "tests/testing/testing.h"

namespace triad::storage {
namespace {

using testing::Registry;
using testing::StoreFixture;

constexpr int kEntriesPerTxn = 7;

// In the child: commits transactions (a job, kEntriesPerTxn log entries, an event naming the last
// one) forever, writing the number of each after its Commit returned, i.e. once it is acknowledged.
[[noreturn]] void WriteForever(StoreFixture& f, const Registry& r, int round, int ack_fd) {
  auto store = f.OpenStore();
  if (!store.ok()) ::_exit(2);
  for (int32_t i = 0;; ++i) {
    auto txn = (*store)->Begin();
    if (!txn.ok()) ::_exit(3);
    std::string job = absl::StrCat("job-", round, "-", i);
    if (!txn->InsertJob({job, r.contract, "bob", "{}"}).ok()) ::_exit(4);
    uint64_t last = 0;
    for (int k = 0; k < kEntriesPerTxn; ++k) {
      auto idx = txn->AppendLog(absl::StrCat("{\"job\":\"", job, "\",\"k\":", k, "}"));
      if (!idx.ok()) ::_exit(5);
      last = *idx;
    }
    if (!txn->AddEvent({job, "job.submitted", "{}", last}).ok()) ::_exit(6);
    if (!txn->Commit().ok()) ::_exit(7);
    if (::write(ack_fd, &i, sizeof i) != sizeof i) ::_exit(8);
  }
}

// Checks the reopened store; returns the number of committed transactions of all rounds.
int64_t CheckConsistent(Store& store) {
  uint64_t size = *store.log().Size();
  auto jobs = store.ListJobs(std::nullopt, 1000000);
  auto events = store.ListEvents(0, "", 1000000);
  EXPECT_EQ(size % kEntriesPerTxn, 0u) << "a transaction's log entries committed in part";
  EXPECT_EQ(jobs->size(), size / kEntriesPerTxn);
  EXPECT_EQ(events->size(), size / kEntriesPerTxn);
  for (const Event& e : *events) {
    EXPECT_TRUE(store.GetJob(e.job_id).ok());
    EXPECT_EQ(*store.log().Entry(*e.log_index),
              absl::StrCat("{\"job\":\"", e.job_id, "\",\"k\":", kEntriesPerTxn - 1, "}"));
  }
  EXPECT_EQ(store.log().LatestCheckpoint()->size, size);
  absl::Status integrity = store.log().VerifyIntegrity(store.log_verifier());
  EXPECT_TRUE(integrity.ok()) << integrity;
  return static_cast<int64_t>(jobs->size());
}

TEST(CrashSafety, KilledWriterLosesNothingAcknowledged) {
  StoreFixture f;
  Registry r = testing::SetUpRegistry(f.Open(), f.clock().Now());
  f.Close();
  std::mt19937 rng(20250615);
  int64_t committed_before = 0;
  for (int round = 0; round < 6; ++round) {
    int acks[2];
    ASSERT_EQ(::pipe(acks), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(acks[0]);
      WriteForever(f, r, round, acks[1]);
    }
    ::close(acks[1]);
    // Let it commit a random number of transactions, then kill it wherever it is.
    int32_t want = 1 + static_cast<int32_t>(rng() % 40);
    int32_t acked = -1;
    while (acked + 1 < want) {
      int32_t i;
      ASSERT_EQ(::read(acks[0], &i, sizeof i), static_cast<ssize_t>(sizeof i)) << "writer died";
      acked = i;
    }
    ::usleep(rng() % 3000);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited with " << WEXITSTATUS(status);
    // Acknowledgements that were written before the kill and not read yet count too.
    int32_t i;
    while (::read(acks[0], &i, sizeof i) == static_cast<ssize_t>(sizeof i)) acked = i;
    ::close(acks[0]);

    Store& store = f.Open();
    int64_t committed = CheckConsistent(store) - committed_before;
    // Every acknowledged transaction is there; at most one more (committed, not yet acknowledged).
    EXPECT_GE(committed, acked + 1) << "round " << round;
    EXPECT_LE(committed, acked + 2) << "round " << round;
    committed_before += committed;
    f.Close();
  }
}

TEST(CrashSafety, KilledInsideATransactionLeavesNoTrace) {
  StoreFixture f;
  Registry r = testing::SetUpRegistry(f.Open(), f.clock().Now());
  auto txn = f.store().Begin();
  ASSERT_TRUE(txn->AppendLog("before").ok());
  ASSERT_TRUE(txn->Commit().ok());
  std::string root = *f.store().log().Root(1);
  f.Close();

  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto store = f.OpenStore();
    if (!store.ok()) ::_exit(2);
    auto t = (*store)->Begin();
    if (!t.ok() || !t->InsertJob({"doomed", r.contract, "bob", "{}"}).ok()) ::_exit(3);
    for (int k = 0; k < 2000; ++k) {
      if (!t->AppendLog(absl::StrCat("doomed ", k)).ok()) ::_exit(4);
    }
    char c = 1;
    if (::write(ready[1], &c, 1) != 1) ::_exit(5);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);

  Store& store = f.Open();
  EXPECT_EQ(store.GetJob("doomed").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*store.log().Size(), 1u);
  EXPECT_EQ(*store.log().Root(1), root);
  EXPECT_TRUE(store.log().VerifyIntegrity(store.log_verifier()).ok());
  // And the store works on: the next append takes index 1.
  auto t2 = store.Begin();
  EXPECT_EQ(*t2->AppendLog("after"), 1u);
  EXPECT_TRUE(t2->Commit().ok());
}

}  // namespace
}  // namespace triad::storage
