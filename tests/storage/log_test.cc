#include "storage/log.h"

#include <random>

#include "base/encoding.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "storage/internal/sqlite.h"
#include "storage/store.h"
#include "tests/crypto/merkle_reference.h"
#include "tests/storage/storage_testing.h"
#include "tests/testing/testing.h"

namespace triad::storage {
namespace {

namespace merkle = crypto::merkle;
namespace ref = triad::testing::merkle_reference;
using testing::StoreFixture;

// Appends `entries` in one transaction; returns the checkpoint it made.
LogCheckpoint AppendBatch(Store& store, const ref::Entries& entries) {
  auto txn = store.Begin();
  EXPECT_TRUE(txn.ok());
  for (const auto& e : entries) EXPECT_TRUE(txn->AppendLog(e).ok());
  auto done = txn->Commit();
  EXPECT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(done->checkpoint.has_value());
  return *done->checkpoint;
}

// Checks every root, every inclusion proof and every consistency proof of the log's first `n`
// entries against the reference implementation, and verifies each with crypto/merkle.
void CheckAgainstReference(const Log& log, const ref::Entries& all, uint64_t max_size) {
  for (uint64_t n = 0; n <= max_size; ++n) {
    ref::Entries d = ref::Slice(all, 0, n);
    std::string root = ref::Mth(d);
    ASSERT_EQ(*log.Root(n), root) << "size " << n;
    for (uint64_t m = 0; m < n; ++m) {
      auto proof = log.InclusionProof(m, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_EQ(*proof, ref::Path(m, d)) << "leaf " << m << " of " << n;
      ASSERT_TRUE(merkle::VerifyInclusion(m, n, merkle::LeafHash(all[m]), *proof, root).ok());
    }
    for (uint64_t m = 0; m <= n; ++m) {
      auto proof = log.ConsistencyProof(m, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_EQ(*proof, ref::Proof(m, d)) << m << " -> " << n;
      ASSERT_TRUE(merkle::VerifyConsistency(m, n, *proof, ref::Mth(ref::Slice(all, 0, m)), root).ok());
    }
  }
}

TEST(Log, NewStoreHasASignedCheckpointOfTheEmptyLog) {
  StoreFixture f;
  Store& store = f.Open();
  auto cp = store.log().LatestCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->size, 0u);
  EXPECT_EQ(cp->root_hash, merkle::EmptyRoot());
  EXPECT_EQ(cp->created_at, f.clock().Now());
  auto opened = crypto::OpenCheckpoint(cp->signed_note, store.log_verifier(), testing::kOrigin);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->size, 0u);
  EXPECT_EQ(cp->signed_note.substr(0, cp->signed_note.find('\n')), testing::kOrigin);
  EXPECT_EQ(*store.log().Root(0), merkle::EmptyRoot());
}

// Every tree size up to 64, one append per transaction: roots, all inclusion proofs and all
// consistency proofs equal the reference's, and each size has its signed checkpoint.
TEST(Log, EverySizeUpTo64MatchesTheReference) {
  StoreFixture f;
  Store& store = f.Open();
  ref::Entries all = ref::MakeEntries(64);
  for (uint64_t i = 0; i < 64; ++i) {
    LogCheckpoint cp = AppendBatch(store, {all[i]});
    EXPECT_EQ(cp.size, i + 1);
    EXPECT_EQ(cp.root_hash, ref::Mth(ref::Slice(all, 0, i + 1)));
  }
  EXPECT_EQ(*store.log().Size(), 64u);
  CheckAgainstReference(store.log(), all, 64);
  for (uint64_t n = 0; n <= 64; ++n) {
    auto cp = store.log().CheckpointAt(n);
    ASSERT_TRUE(cp.ok()) << n;
    auto opened = crypto::OpenCheckpoint(cp->signed_note, store.log_verifier(), testing::kOrigin);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(opened->size, n);
    EXPECT_EQ(opened->root_hash, ref::Mth(ref::Slice(all, 0, n)));
  }
  EXPECT_EQ(*store.log().Entry(7), all[7]);
  EXPECT_EQ(*store.log().Entries(3, 6), ref::Slice(all, 3, 6));
}

TEST(Log, BatchesGetOneCheckpointEach) {
  StoreFixture f;
  Store& store = f.Open();
  ref::Entries all = ref::MakeEntries(40);
  AppendBatch(store, ref::Slice(all, 0, 10));
  LogCheckpoint cp = AppendBatch(store, ref::Slice(all, 10, 40));
  EXPECT_EQ(cp.size, 40u);
  EXPECT_TRUE(store.log().CheckpointAt(10).ok());
  EXPECT_EQ(store.log().CheckpointAt(11).status().message(), "no checkpoint at tree size 11");
  EXPECT_EQ(store.log().LatestCheckpoint()->size, 40u);
  CheckAgainstReference(store.log(), all, 40);
}

TEST(Log, LargerRandomBatchesMatchTheReference) {
  StoreFixture f;
  Store& store = f.Open();
  std::mt19937_64 rng(42);
  ref::Entries all = ref::MakeEntries(1500);
  uint64_t at = 0;
  while (at < all.size()) {
    uint64_t n = std::min<uint64_t>(all.size() - at, 1 + rng() % 200);
    AppendBatch(store, ref::Slice(all, at, at + n));
    at += n;
  }
  for (int k = 0; k < 20; ++k) {
    uint64_t n = 1 + rng() % all.size();
    uint64_t m = rng() % n;
    ref::Entries d = ref::Slice(all, 0, n);
    std::string root = ref::Mth(d);
    EXPECT_EQ(*store.log().Root(n), root);
    EXPECT_EQ(*store.log().InclusionProof(m, n), ref::Path(m, d));
    uint64_t m1 = rng() % (n + 1);
    EXPECT_EQ(*store.log().ConsistencyProof(m1, n), ref::Proof(m1, d));
  }
  EXPECT_TRUE(store.log().VerifyIntegrity(store.log_verifier()).ok());
}

TEST(Log, RebuiltIdenticallyAfterRestart) {
  StoreFixture f;
  ref::Entries all = ref::MakeEntries(100);
  std::vector<std::string> proofs_before;
  std::string root_before;
  {
    Store& store = f.Open();
    AppendBatch(store, ref::Slice(all, 0, 37));
    AppendBatch(store, ref::Slice(all, 37, 70));
    root_before = *store.log().Root(70);
    proofs_before = *store.log().InclusionProof(36, 70);
    f.Close();
  }
  Store& store = f.Open();
  EXPECT_EQ(*store.log().Size(), 70u);
  EXPECT_EQ(*store.log().Root(70), root_before);
  EXPECT_EQ(*store.log().InclusionProof(36, 70), proofs_before);
  EXPECT_EQ(store.log().LatestCheckpoint()->root_hash, root_before);
  // Appending after the restart continues the same tree.
  AppendBatch(store, ref::Slice(all, 70, 100));
  CheckAgainstReference(store.log(), all, 100);
  EXPECT_TRUE(store.log().VerifyIntegrity(store.log_verifier()).ok());
}

TEST(Log, RolledBackAppendsLeaveNoTrace) {
  StoreFixture f;
  Store& store = f.Open();
  AppendBatch(store, {"a", "b"});
  {
    auto txn = store.Begin();
    ASSERT_EQ(*txn->AppendLog("c"), 2u);
    ASSERT_EQ(*txn->AppendLog("d"), 3u);
    EXPECT_EQ(*txn->log().Size(), 4u);
    EXPECT_EQ(*txn->log().Root(4), ref::Mth({"a", "b", "c", "d"}));
    EXPECT_EQ(*store.log().Size(), 2u);
  }
  EXPECT_EQ(*store.log().Size(), 2u);
  EXPECT_EQ(store.log().LatestCheckpoint()->size, 2u);
  auto txn = store.Begin();
  EXPECT_EQ(*txn->AppendLog("x"), 2u);
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(*store.log().Root(3), ref::Mth({"a", "b", "x"}));
  EXPECT_TRUE(store.log().VerifyIntegrity(store.log_verifier()).ok());
  EXPECT_EQ(txn->log().Size().status().message(), "write transaction is finished");
}

TEST(Log, Bounds) {
  StoreFixture f;
  Store& store = f.Open();
  AppendBatch(store, {"a", "b", "c"});
  const Log& log = store.log();
  EXPECT_EQ(log.Entry(3).status().message(), "log has no entry 3");
  EXPECT_EQ(log.Entries(2, 4).status().message(), "log has 3 entries; asked for up to 4");
  EXPECT_EQ(log.Entries(3, 2).status().message(), "log range 3..2 is reversed");
  EXPECT_EQ(log.Entries(0, kMaxLogEntriesPerRead + 1).status().message(), "at most 4096 log entries are read at once");
  EXPECT_EQ(log.Root(4).status().message(), "tree size 4 is larger than the log (3)");
  EXPECT_EQ(log.InclusionProof(3, 3).status().message(), "leaf index 3 is not less than tree size 3");
  EXPECT_EQ(log.InclusionProof(0, 4).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log.ConsistencyProof(3, 2).status().message(), "tree size 3 is larger than tree size 2");
  EXPECT_EQ(log.ConsistencyProof(1, 4).status().message(), "tree size 4 is larger than the log (3)");
  auto txn = store.Begin();
  EXPECT_EQ(txn->AppendLog(std::string(kMaxLogEntryBytes + 1, 'x')).status().message(),
            "log entry is 262145 bytes, more than the limit of 262144");
  EXPECT_TRUE(txn->AppendLog(std::string(kMaxLogEntryBytes, 'x')).ok());
  EXPECT_TRUE(txn->AppendLog("").ok());  // an empty entry is an entry (the CT vectors have one)
}

// Damage to the stored tree is found at open (when it changes the newest root) or by
// VerifyIntegrity (anything), with the reason.
class LogDamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Store& store = f_.Open();
    all_ = ref::MakeEntries(20);
    AppendBatch(store, ref::Slice(all_, 0, 13));
    AppendBatch(store, ref::Slice(all_, 13, 20));
    f_.Close();
  }
  void Sql(const std::string& sql) {
    auto db = internal::Db::Open(f_.path(), false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec(sql).ok()) << sql;
  }
  StoreFixture f_;
  ref::Entries all_;
};

TEST_F(LogDamageTest, ChangedEntryIsFoundByVerifyIntegrity) {
  Sql("UPDATE log_entries SET entry = X'00' WHERE idx = 5");
  Store& store = f_.Open();  // the stored nodes still give the signed root
  absl::Status st = store.log().VerifyIntegrity(store.log_verifier());
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(st.message(), "transparency log: stored subtree hash at level 0 index 5 is " +
                              base::HexEncode(merkle::LeafHash(all_[5])) + "; the entries give " +
                              base::HexEncode(merkle::LeafHash(std::string(1, '\0'))));
}

TEST_F(LogDamageTest, ChangedNodeOnTheRootPathIsFoundAtOpen) {
  // Leaves 16..19 form the perfect subtree at level 2, index 4: part of the root at size 20.
  Sql("UPDATE log_nodes SET hash = zeroblob(32) WHERE id = (2 << 40) | 4");
  auto store = f_.OpenStore();
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(store.status().message(), "is not the newest checkpoint's")) << store.status();
}

TEST_F(LogDamageTest, MissingEntriesOrCheckpointsAreFoundAtOpen) {
  Sql("DELETE FROM log_entries WHERE idx = 19");
  EXPECT_EQ(f_.OpenStore().status().message(),
            f_.path() + ": transparency log has 19 entries but its newest checkpoint is at size 20");
  Sql("DELETE FROM log_checkpoints");
  EXPECT_EQ(f_.OpenStore().status().message(), f_.path() + ": transparency log has 19 entries but no checkpoint");
}

TEST_F(LogDamageTest, MissingNodeIsReported) {
  Sql("DELETE FROM log_nodes WHERE id = (1 << 40) | 1");
  Store& store = f_.Open();
  EXPECT_EQ(store.log().InclusionProof(0, 20).status().message(),
            "transparency log: subtree hash at level 1 index 1 is missing");
}

TEST_F(LogDamageTest, MalformedNodeIsReportedNotHashed) {
  Sql("PRAGMA ignore_check_constraints = ON; UPDATE log_nodes SET hash = X'0102' WHERE id = (1 << 40) | 1");
  Store& store = f_.Open();
  EXPECT_EQ(store.log().InclusionProof(0, 20).status().message(),
            "transparency log: subtree hash at level 1 index 1 is 2 bytes");
}

TEST_F(LogDamageTest, CheckpointSignedByAnotherKeyIsRefusedAtOpen) {
  StoreOptions options;
  options.clock = &f_.clock();
  auto other = crypto::NoteSigner::Create(testing::kOrigin, crypto::Ed25519PrivateKey::Generate());
  auto store = Store::Open(f_.path(), *std::move(other), options);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(store.status().message(),
                                "newest checkpoint does not verify with this coordinator's log key"))
      << store.status();
}

}  // namespace
}  // namespace triad::storage
