#include "storage/internal/schema.h"

#include "gtest/gtest.h"
#include "storage/internal/sqlite.h"
#include "tests/storage/storage_testing.h"
#include "tests/testing/testing.h"

namespace triad::storage {
namespace {

using internal::Db;

TEST(Schema, NewDatabaseIsAtTheLatestVersion) {
  testing::StoreFixture f;
  f.Open();
  f.Close();
  auto db = Db::Open(f.path(), false);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*internal::SchemaVersion(**db), internal::LatestSchemaVersion());
  EXPECT_EQ(internal::LatestSchemaVersion(), 5);
  // Opening again applies nothing and changes nothing.
  f.Open();
  f.Close();
  EXPECT_EQ(*internal::SchemaVersion(**db), 5);
}

// A database written by the first release (schema version 1), with data in it, is migrated forward
// and keeps its data.
TEST(Schema, Version1DatabaseMigrates) {
  testing::StoreFixture f;
  {
    auto db = Db::Open(f.path(), true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(internal::Migrate(**db, 1).ok());
    EXPECT_EQ(*internal::SchemaVersion(**db), 1);
    // Rows as version 1 wrote them: no attempt column, no log.
    ASSERT_TRUE((*db)->Exec(R"sql(
      INSERT INTO parties VALUES ('alice', 'model-owner', 'k1', '{}', '{}', 1);
      INSERT INTO parties VALUES ('carol', 'compute-provider', 'k3', '{}', '{}', 1);
      INSERT INTO contracts VALUES ('c1', 'sha256:aa', '{}', 'active', 9999999999999999, 1, 1);
      INSERT INTO workers VALUES ('w1', 'carol', 'sim', 1, 1);
      INSERT INTO jobs (id, contract_id, submitter, envelope_json, state, worker_id, created_at, updated_at)
        VALUES ('j1', 'c1', 'alice', '{}', 'assigned', 'w1', 1, 1);
      INSERT INTO events (time, job_id, kind, detail_json) VALUES (1, 'j1', 'job.assigned', '{}');
    )sql").ok());
    auto has_log = (*db)->QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'log_entries'");
    EXPECT_EQ(has_log->value(), 0);
  }
  Store& store = f.Open();
  auto job = store.GetJob("j1");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state, JobState::kAssigned);
  EXPECT_EQ(job->worker_id, "w1");
  EXPECT_EQ(job->attempt, 0);  // the column added by migration 3, with its default
  auto events = store.ListEvents(0);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_FALSE((*events)[0].log_index.has_value());
  EXPECT_EQ(store.GetParty("alice")->role, "model-owner");
  // The log exists now, empty, with its first checkpoint.
  EXPECT_EQ(*store.log().Size(), 0u);
  EXPECT_EQ(store.log().LatestCheckpoint()->size, 0u);
  f.Close();
  auto db = Db::Open(f.path(), false);
  EXPECT_EQ(*internal::SchemaVersion(**db), internal::LatestSchemaVersion());
}

TEST(Schema, EachVersionMigratesToTheNext) {
  for (int from = 0; from <= internal::LatestSchemaVersion(); ++from) {
    testing::StoreFixture f;
    {
      auto db = Db::Open(f.path(), true);
      ASSERT_TRUE(internal::Migrate(**db, from).ok());
      EXPECT_EQ(*internal::SchemaVersion(**db), from);
    }
    auto store = f.OpenStore();
    EXPECT_TRUE(store.ok()) << "from version " << from << ": " << store.status();
  }
}

TEST(Schema, NewerDatabaseIsRefused) {
  testing::StoreFixture f;
  f.Open();
  f.Close();
  {
    auto db = Db::Open(f.path(), false);
    ASSERT_TRUE((*db)->Exec("UPDATE schema_version SET version = 99").ok());
  }
  auto store = f.OpenStore();
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message(), f.path() +
                                          ": database schema version 99 is newer than this build "
                                          "understands (5); run a newer triad");
}

TEST(Schema, NotADatabaseIsRefused) {
  testing::StoreFixture f;
  triad::testing::WriteTestFile(f.path(), std::string(8192, 'x'));
  auto store = f.OpenStore();
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
}

}  // namespace
}  // namespace triad::storage
