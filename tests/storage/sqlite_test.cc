#include "storage/internal/sqlite.h"

#include "gtest/gtest.h"
#include "storage/internal/schema.h"
#include "tests/testing/testing.h"

namespace triad::storage::internal {
namespace {

std::unique_ptr<Db> OpenTestDb(const triad::testing::TempDir& dir) {
  auto db = Db::Open(dir.File("t.db"), /*create=*/true);
  EXPECT_TRUE(db.ok()) << db.status();
  EXPECT_TRUE((*db)->Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE, b BLOB) STRICT").ok());
  return *std::move(db);
}

int64_t Count(Db& db) { return db.QueryInt("SELECT count(*) FROM t")->value(); }

TEST(Sqlite, TransactionRollsBackUnlessCommitted) {
  triad::testing::TempDir dir;
  auto db = OpenTestDb(dir);
  {
    auto txn = Transaction::Begin(*db);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(db->Exec("INSERT INTO t (v) VALUES ('dropped')").ok());
    EXPECT_TRUE(db->InTransaction());
  }
  EXPECT_FALSE(db->InTransaction());
  EXPECT_EQ(Count(*db), 0);
  {
    auto txn = Transaction::Begin(*db);
    ASSERT_TRUE(db->Exec("INSERT INTO t (v) VALUES ('kept')").ok());
    ASSERT_TRUE(txn->Commit().ok());
    EXPECT_EQ(txn->Commit().message(), "transaction already finished");
  }
  EXPECT_EQ(Count(*db), 1);
  {
    auto txn = Transaction::Begin(*db);
    ASSERT_TRUE(db->Exec("INSERT INTO t (v) VALUES ('rolled back')").ok());
    txn->Rollback();
    EXPECT_FALSE(txn->active());
  }
  EXPECT_EQ(Count(*db), 1);
  // A moved-from guard does nothing; the moved-to one still rolls back.
  {
    auto txn = Transaction::Begin(*db);
    Transaction moved = *std::move(txn);
    ASSERT_TRUE(db->Exec("INSERT INTO t (v) VALUES ('moved')").ok());
  }
  EXPECT_EQ(Count(*db), 1);
}

TEST(Sqlite, StatementsBindReadAndAreReused) {
  triad::testing::TempDir dir;
  auto db = OpenTestDb(dir);
  for (int i = 0; i < 3; ++i) {
    auto s = db->Prepare("INSERT INTO t (v, b) VALUES (?, ?)");
    ASSERT_TRUE(s.ok());
    (*s)->Bind(1, "v" + std::to_string(i)).BindBlob(2, std::string("\0\1", 2));
    ASSERT_TRUE((*s)->Run().ok());
  }
  auto q = db->Prepare("SELECT v, b, length(b) FROM t WHERE k = ?");
  (*q)->Bind(1, int64_t{2});
  ASSERT_TRUE(*(*q)->Step());
  EXPECT_EQ((*q)->Text(0), "v1");
  EXPECT_EQ((*q)->Blob(1), std::string("\0\1", 2));
  EXPECT_EQ((*q)->Int(2), 2);
  // An empty blob is stored as a blob, not NULL.
  auto e = db->Prepare("INSERT INTO t (v, b) VALUES ('empty', ?)");
  (*e)->BindBlob(1, "");
  ASSERT_TRUE((*e)->Run().ok());
  EXPECT_EQ(db->QueryInt("SELECT count(*) FROM t WHERE v = 'empty' AND b IS NOT NULL AND typeof(b) = 'blob'")->value(), 1);
}

TEST(Sqlite, ErrorsMapToStatusCodes) {
  triad::testing::TempDir dir;
  auto db = OpenTestDb(dir);
  ASSERT_TRUE(db->Exec("INSERT INTO t (v) VALUES ('x')").ok());
  auto s = db->Prepare("INSERT INTO t (v) VALUES (?)");
  (*s)->Bind(1, "x");
  absl::Status dup = (*s)->Run();
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "INSERT INTO t (v) VALUES (?): UNIQUE constraint failed: t.v");
  absl::Status notnull = db->Exec("INSERT INTO t (v) VALUES (NULL)");
  EXPECT_EQ(notnull.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(notnull.message(), "executing SQL: NOT NULL constraint failed: t.v");
  auto bad = db->Prepare("SELECT x FROM nowhere");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(bad.status().message(), "preparing SELECT x FROM nowhere: no such table: nowhere");
  EXPECT_EQ(Db::Open(dir.File("missing/x.db"), true).status().code(), absl::StatusCode::kNotFound);
}

TEST(Sqlite, ConnectionSettings) {
  triad::testing::TempDir dir;
  auto db = OpenTestDb(dir);
  ASSERT_TRUE(ConfigureConnection(*db, absl::Milliseconds(1234), /*read_only=*/false).ok());
  auto text = [&](const char* sql) {
    auto s = db->Prepare(sql);
    EXPECT_TRUE(*(*s)->Step());
    return (*s)->Text(0);
  };
  EXPECT_EQ(text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(db->QueryInt("PRAGMA synchronous")->value(), 2);  // FULL
  EXPECT_EQ(db->QueryInt("PRAGMA foreign_keys")->value(), 1);
  EXPECT_EQ(db->QueryInt("PRAGMA busy_timeout")->value(), 1234);
  EXPECT_EQ(db->QueryInt("PRAGMA query_only")->value(), 0);

  auto reader = Db::Open(dir.File("t.db"), false);
  ASSERT_TRUE(ConfigureConnection(**reader, absl::Seconds(1), /*read_only=*/true).ok());
  EXPECT_EQ((*reader)->Exec("INSERT INTO t (v) VALUES ('no')").message(),
            "executing SQL: attempt to write a readonly database");
}

}  // namespace
}  // namespace triad::storage::internal
