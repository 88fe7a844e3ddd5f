#include "storage/internal/schema.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace triad::storage::internal {
namespace {

// Times are Unix microseconds (UTC). Ids and names are TEXT; digests "sha256:<hex>".
// STRICT tables make SQLite enforce the declared column types.
constexpr const char* kMigrations[] = {
    // 1: the coordinator's registry and job state.
    R"sql(
CREATE TABLE parties (
  name TEXT PRIMARY KEY NOT NULL,
  role TEXT NOT NULL,
  key_id TEXT NOT NULL UNIQUE,
  card_json TEXT NOT NULL,
  envelope_json TEXT NOT NULL,
  registered_at INTEGER NOT NULL
) STRICT;

CREATE TABLE artifacts (
  id TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('model', 'dataset', 'adapter')),
  name TEXT NOT NULL,
  owner TEXT REFERENCES parties(name),
  size INTEGER NOT NULL CHECK (size >= 0),
  envelope_json TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  CHECK ((kind = 'adapter') = (owner IS NULL))
) STRICT;
CREATE INDEX artifacts_owner ON artifacts(owner);

CREATE TABLE contracts (
  id TEXT PRIMARY KEY NOT NULL,
  digest TEXT NOT NULL UNIQUE,
  envelope_json TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('draft', 'active', 'expired')),
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE workers (
  id TEXT PRIMARY KEY NOT NULL,
  provider TEXT NOT NULL REFERENCES parties(name),
  tee TEXT NOT NULL,
  joined_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
) STRICT;

CREATE TABLE jobs (
  id TEXT PRIMARY KEY NOT NULL,
  contract_id TEXT NOT NULL REFERENCES contracts(id),
  submitter TEXT NOT NULL REFERENCES parties(name),
  envelope_json TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'assigned', 'attesting', 'admitted', 'running',
                                       'sealing', 'done', 'failed')),
  worker_id TEXT REFERENCES workers(id),
  failure_reason TEXT,
  progress_step INTEGER NOT NULL DEFAULT 0,
  progress_total_steps INTEGER NOT NULL DEFAULT 0,
  progress_tokens_per_second REAL NOT NULL DEFAULT 0,
  progress_loss REAL,
  progress_updated_at INTEGER,
  output_artifact TEXT REFERENCES artifacts(id),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  CHECK ((state = 'failed') = (failure_reason IS NOT NULL)),
  CHECK (state <> 'done' OR output_artifact IS NOT NULL)
) STRICT;
CREATE INDEX jobs_state ON jobs(state, created_at);
CREATE INDEX jobs_contract ON jobs(contract_id);

CREATE TABLE nonces (
  value BLOB PRIMARY KEY NOT NULL,
  job_id TEXT NOT NULL REFERENCES jobs(id),
  worker_id TEXT NOT NULL REFERENCES workers(id),
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  CHECK (expires_at > issued_at)
) STRICT;

CREATE TABLE key_releases (
  id INTEGER PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs(id),
  artifact_id TEXT NOT NULL REFERENCES artifacts(id),
  recipient TEXT NOT NULL,
  released_at INTEGER NOT NULL,
  UNIQUE (artifact_id, recipient)
) STRICT;
CREATE INDEX key_releases_job ON key_releases(job_id);

CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  job_id TEXT REFERENCES jobs(id),
  kind TEXT NOT NULL,
  detail_json TEXT NOT NULL
) STRICT;
CREATE INDEX events_job ON events(job_id, id);
)sql",

    // 2: the transparency log. log_nodes holds the hash of every perfect subtree, keyed by
    // (level << 40) | index, so that roots and proofs at any size are O(log n) point reads.
    R"sql(
CREATE TABLE log_entries (
  idx INTEGER PRIMARY KEY CHECK (idx >= 0),
  entry BLOB NOT NULL,
  appended_at INTEGER NOT NULL
) STRICT;
CREATE TABLE log_nodes (
  id INTEGER PRIMARY KEY,
  hash BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;
CREATE TABLE log_checkpoints (
  size INTEGER PRIMARY KEY CHECK (size >= 0),
  root BLOB NOT NULL CHECK (length(root) = 32),
  note TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
ALTER TABLE events ADD COLUMN log_index INTEGER REFERENCES log_entries(idx);
)sql",

    // 3: attempts, the ephemeral keys a worker attests with for one attempt, and admission
    // decisions.
    R"sql(
ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nonces ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
CREATE TABLE job_keys (
  job_id TEXT NOT NULL REFERENCES jobs(id),
  attempt INTEGER NOT NULL,
  worker_id TEXT NOT NULL REFERENCES workers(id),
  age_recipient TEXT NOT NULL UNIQUE,
  ed25519_public_key BLOB NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (job_id, attempt)
) STRICT;
CREATE TABLE admissions (
  id INTEGER PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs(id),
  attempt INTEGER NOT NULL,
  worker_id TEXT NOT NULL REFERENCES workers(id),
  evidence BLOB NOT NULL,
  evidence_digest TEXT NOT NULL,
  claims_json TEXT NOT NULL,
  admitted INTEGER NOT NULL CHECK (admitted IN (0, 1)),
  reasons_json TEXT NOT NULL,
  simulated INTEGER NOT NULL CHECK (simulated IN (0, 1)),
  decided_at INTEGER NOT NULL
) STRICT;
CREATE INDEX admissions_job ON admissions(job_id, attempt);
)sql",

    // 4: signed requests seen (replay protection) and the signed job records of finished jobs.
    // A request whose envelope is kept changed state; the others (polls that found nothing, reads,
    // downloads, progress) are remembered only while their issued_at could still pass the freshness
    // check, and pruned after.
    R"sql(
CREATE TABLE requests (
  request_id TEXT PRIMARY KEY NOT NULL,
  action TEXT NOT NULL,
  signer TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  envelope_json TEXT
) STRICT;
CREATE INDEX requests_prunable ON requests(issued_at) WHERE envelope_json IS NULL;
CREATE TABLE job_records (
  job_id TEXT PRIMARY KEY NOT NULL REFERENCES jobs(id),
  worker_envelope_json TEXT NOT NULL,
  coordinator_envelope_json TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
)sql",
    // 5: key custody with the owners (docs/custody.md): release requests to the keyholders and
    // their
    // answers; revocations; the hash chains of jobs and contracts; parties the operator removed;
    // who
    // may read each log entry; witnesses' cosignatures of checkpoints.
    R"sql(
CREATE TABLE release_requests (
  id TEXT PRIMARY KEY NOT NULL,
  job_id TEXT NOT NULL REFERENCES jobs(id),
  attempt INTEGER NOT NULL,
  artifact_id TEXT NOT NULL REFERENCES artifacts(id),
  owner TEXT NOT NULL REFERENCES parties(name),
  state TEXT NOT NULL CHECK (state IN ('pending', 'released', 'refused', 'cancelled')),
  header BLOB,
  receipt_json TEXT,
  final INTEGER NOT NULL DEFAULT 0 CHECK (final IN (0, 1)),
  reasons_json TEXT,
  created_at INTEGER NOT NULL,
  answered_at INTEGER,
  CHECK ((state IN ('pending', 'cancelled')) = (receipt_json IS NULL)),
  CHECK ((state = 'released') = (header IS NOT NULL))
) STRICT;
CREATE INDEX release_requests_pending ON release_requests(owner, created_at) WHERE state = 'pending';
CREATE INDEX release_requests_job ON release_requests(job_id, attempt);
CREATE TABLE contract_revocations (
  contract_id TEXT PRIMARY KEY NOT NULL REFERENCES contracts(id),
  party TEXT NOT NULL,
  reason TEXT NOT NULL,
  envelope_json TEXT NOT NULL,
  revoked_at INTEGER NOT NULL
) STRICT;
ALTER TABLE jobs ADD COLUMN chain_head TEXT;
ALTER TABLE contracts ADD COLUMN chain_head TEXT;
ALTER TABLE parties ADD COLUMN removed_at INTEGER;
ALTER TABLE log_entries ADD COLUMN contract_id TEXT;
ALTER TABLE log_entries ADD COLUMN party TEXT;
CREATE INDEX log_entries_contract ON log_entries(contract_id) WHERE contract_id IS NOT NULL;
CREATE INDEX jobs_worker ON jobs(worker_id, state);
CREATE TABLE cosignatures (
  size INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  note_line TEXT NOT NULL,
  cosigned_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (size, key_id)
) STRICT;
)sql",
};

constexpr int kLatest = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));

}  // namespace

int LatestSchemaVersion() { return kLatest; }

absl::Status ConfigureConnection(Db& db, absl::Duration busy_timeout, bool read_only) {
  // WAL: readers never block the writer and a commit appends to one file. The mode is persistent in
  // the database file; setting it again is a no-op. Check it took (it fails on some filesystems).
  TRIAD_ASSIGN_OR_RETURN(StmtRef wal, db.Prepare("PRAGMA journal_mode = WAL"));
  TRIAD_ASSIGN_OR_RETURN(bool row, wal->Step());
  if (!row || wal->Text(0) != "wal") {
    return absl::FailedPreconditionError("the database could not be put in WAL mode");
  }
  // synchronous=FULL, not NORMAL. In WAL mode NORMAL fsyncs only at checkpoints, so a transaction
  // that COMMIT reported done can vanish on power loss (not on a process crash). The coordinator
  // acknowledges a state change, and hands out a signed log checkpoint, right after COMMIT; losing
  // that transaction afterwards would break "durable before acknowledged" and could make the
  // coordinator sign a second, different tree at the same size, a fork auditors must treat as an
  // attack. FULL fsyncs the WAL at every commit; batching appends amortizes the cost.
  TRIAD_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous = FULL"));
  TRIAD_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = ON"));
  TRIAD_RETURN_IF_ERROR(db.Exec("PRAGMA trusted_schema = OFF"));
  TRIAD_RETURN_IF_ERROR(
      db.Exec(absl::StrCat("PRAGMA busy_timeout = ", absl::ToInt64Milliseconds(busy_timeout))));
  // 32 MiB of page cache per connection (SQLite's default is 2 MiB): the upper levels of the log's
  // node table and the hot rows stay in memory, so a proof is ~20 point reads mostly without I/O.
  TRIAD_RETURN_IF_ERROR(db.Exec("PRAGMA cache_size = -32768"));
  if (read_only) TRIAD_RETURN_IF_ERROR(db.Exec("PRAGMA query_only = ON"));
  return absl::OkStatus();
}


absl::StatusOr<int> SchemaVersion(Db& db) {
  TRIAD_ASSIGN_OR_RETURN(
      std::optional<int64_t> has_table,
      db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'"));
  if (!has_table || *has_table == 0) return 0;
  TRIAD_ASSIGN_OR_RETURN(std::optional<int64_t> v, db.QueryInt("SELECT version FROM schema_version"));
  if (!v) return absl::DataLossError("table schema_version has no row");
  return static_cast<int>(*v);
}

absl::Status Migrate(Db& db, int target) {
  if (target > kLatest) {
    return absl::InvalidArgumentError(absl::StrCat("no schema version ", target));
  }
  for (;;) {
    TRIAD_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(db));
    // Read the version inside the write transaction, so two processes never apply one migration twice.
    TRIAD_ASSIGN_OR_RETURN(int version, SchemaVersion(db));
    if (version > kLatest) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database schema version ", version, " is newer than this build understands (", kLatest,
          "); run a newer triad"));
    }
    if (version >= target) return absl::OkStatus();
    if (version == 0) {
      TRIAD_RETURN_IF_ERROR(db.Exec(
          "CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT;"
          "INSERT INTO schema_version (version) VALUES (0);"));
    }
    TRIAD_RETURN_IF_ERROR(base::Annotate(db.Exec(kMigrations[version]),
                                         absl::StrCat("migrating schema to version ", version + 1)));
    TRIAD_ASSIGN_OR_RETURN(StmtRef set, db.Prepare("UPDATE schema_version SET version = ?"));
    set->Bind(1, int64_t{version + 1});
    TRIAD_RETURN_IF_ERROR(set->Run());
    TRIAD_RETURN_IF_ERROR(txn.Commit());
  }
}

}  // namespace triad::storage::internal
