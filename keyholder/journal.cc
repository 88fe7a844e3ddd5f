#include "keyholder/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/status.h"
#include "nlohmann/json.hpp"

namespace triad::keyholder {
namespace {

using storage::sqlite::Db;
using storage::sqlite::StmtRef;
using storage::sqlite::Transaction;

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS artifacts (
  id TEXT PRIMARY KEY NOT NULL,
  header BLOB NOT NULL,
  learned_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS decisions (
  release_id TEXT PRIMARY KEY NOT NULL,
  job_id TEXT NOT NULL,
  contract_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  artifact_id TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('release', 'refuse')),
  final INTEGER NOT NULL,
  reasons_json TEXT NOT NULL,
  recipient TEXT NOT NULL,
  nonce BLOB,
  header BLOB,
  receipt_json TEXT NOT NULL,
  decided_at INTEGER NOT NULL,
  seq INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS decisions_nonce ON decisions(nonce, artifact_id)
  WHERE decision = 'release';
CREATE TABLE IF NOT EXISTS released_jobs (
  contract_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  first_at INTEGER NOT NULL,
  PRIMARY KEY (contract_id, job_id)
) STRICT;
CREATE TABLE IF NOT EXISTS job_submissions (
  submission_digest TEXT PRIMARY KEY NOT NULL,
  job_id TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS seen_nonces (
  nonce BLOB NOT NULL,
  release_id TEXT NOT NULL,
  PRIMARY KEY (nonce, release_id)
) STRICT;
CREATE TABLE IF NOT EXISTS checkpoints (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  note TEXT NOT NULL,
  size INTEGER NOT NULL,
  seen_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS forks (
  id INTEGER PRIMARY KEY,
  older_note TEXT NOT NULL,
  newer_note TEXT NOT NULL,
  why TEXT NOT NULL,
  seen_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS revocations (
  contract_id TEXT PRIMARY KEY NOT NULL,
  reason TEXT NOT NULL,
  revoked_at INTEGER NOT NULL
) STRICT;
)sql";

}  // namespace

absl::StatusOr<std::unique_ptr<Journal>> Journal::OpenExisting(const std::string& dir) {
  std::string path = absl::StrCat(dir, "/", kJournalFile);
  if (::access(path.c_str(), F_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat("no keyholder journal in ", dir, " (", path,
                     " is missing): `triad keyholder serve` makes it; check --state"));
  }
  return Open(dir);
}

absl::StatusOr<std::unique_ptr<Journal>> Journal::Open(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return base::ErrnoStatus(errno, absl::StrCat("creating ", dir));
  }
  std::string path = absl::StrCat(dir, "/", kJournalFile);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return base::ErrnoStatus(errno, absl::StrCat("opening ", path));
  ::close(fd);
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<Db> db, Db::Open(path, /*create=*/false));
  TRIAD_ASSIGN_OR_RETURN(StmtRef wal, db->Prepare("PRAGMA journal_mode = WAL"));
  TRIAD_RETURN_IF_ERROR(wal->Step().status());
  // Durable before the answer leaves (see the header).
  TRIAD_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;"));
  TRIAD_RETURN_IF_ERROR(base::Annotate(db->Exec(kSchema), absl::StrCat("journal ", path)));
  return std::unique_ptr<Journal>(new Journal(std::move(db)));
}

absl::StatusOr<std::optional<std::string>> Journal::ArtifactHeader(absl::string_view artifact_id) {
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("SELECT header FROM artifacts WHERE id = ?"));
  s->Bind(1, artifact_id);
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s->Blob(0));
}

absl::Status Journal::RecordArtifact(absl::string_view artifact_id, absl::string_view header,
                                     absl::Time now) {
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s, db_->Prepare("INSERT INTO artifacts (id, header, learned_at) VALUES (?, ?, ?) "
                              "ON CONFLICT (id) DO NOTHING"));
  s->Bind(1, artifact_id).BindBlob(2, header).Bind(3, Micros(now));
  return s->Run();
}

namespace {

constexpr const char* kDecisionCols =
    "release_id, job_id, contract_id, attempt, artifact_id, decision, final, reasons_json, "
    "recipient, "
    "nonce, header, receipt_json, decided_at";

Decision ToDecision(storage::sqlite::Stmt& s) {
  Decision d;
  d.release_id = s.Text(0);
  d.job_id = s.Text(1);
  d.contract_id = s.Text(2);
  d.attempt = static_cast<uint64_t>(s.Int(3));
  d.artifact_id = s.Text(4);
  d.release = s.Text(5) == "release";
  d.final = s.Int(6) != 0;
  nlohmann::json reasons = nlohmann::json::parse(s.Text(7), nullptr, /*allow_exceptions=*/false);
  if (reasons.is_array()) {
    for (const nlohmann::json& r : reasons) {
      if (r.is_string()) d.reasons.push_back(r.get<std::string>());
    }
  }
  d.recipient = s.Text(8);
  d.nonce = s.IsNull(9) ? "" : s.Blob(9);
  d.header = s.IsNull(10) ? "" : s.Blob(10);
  d.receipt_json = s.Text(11);
  d.decided_at = absl::FromUnixMicros(s.Int(12));
  return d;
}

}  // namespace

absl::StatusOr<std::optional<Decision>> Journal::GetDecision(absl::string_view release_id) {
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s,
      db_->Prepare(absl::StrCat("SELECT ", kDecisionCols, " FROM decisions WHERE release_id = ?")));
  s->Bind(1, release_id);
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return std::optional<Decision>();
  return std::optional<Decision>(ToDecision(*s));
}

absl::Status Journal::RecordDecision(const Decision& d) {
  TRIAD_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*db_));
  {
    TRIAD_ASSIGN_OR_RETURN(std::optional<int64_t> seq,
                           db_->QueryInt("SELECT count(*) FROM decisions"));
    TRIAD_ASSIGN_OR_RETURN(
        StmtRef s,
        db_->Prepare(absl::StrCat("INSERT INTO decisions (", kDecisionCols,
                                  ", seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")));
    s->Bind(1, d.release_id)
        .Bind(2, d.job_id)
        .Bind(3, d.contract_id)
        .Bind(4, static_cast<int64_t>(d.attempt));
    s->Bind(5, d.artifact_id)
        .Bind(6, d.release ? "release" : "refuse")
        .Bind(7, int64_t{d.final ? 1 : 0});
    s->Bind(8, nlohmann::json(d.reasons).dump(-1, ' ', false,
                                              nlohmann::json::error_handler_t::replace));
    s->Bind(9, d.recipient);
    if (d.nonce.empty()) {
      s->BindNull(10);
    } else {
      s->BindBlob(10, d.nonce);
    }
    if (d.release) {
      s->BindBlob(11, d.header);
    } else {
      s->BindNull(11);
    }
    s->Bind(12, d.receipt_json).Bind(13, Micros(d.decided_at)).Bind(14, seq.value_or(0));
    absl::Status st = s->Run();
    if (absl::IsAlreadyExists(st)) {
      return absl::AlreadyExistsError(
          absl::StrCat("release ", d.release_id, " was decided already"));
    }
    TRIAD_RETURN_IF_ERROR(st);
  }
  if (!d.nonce.empty()) {
    TRIAD_ASSIGN_OR_RETURN(StmtRef n,
                           db_->Prepare("INSERT INTO seen_nonces (nonce, release_id) VALUES (?, ?) "
                                        "ON CONFLICT DO NOTHING"));
    n->BindBlob(1, d.nonce).Bind(2, d.release_id);
    TRIAD_RETURN_IF_ERROR(n->Run());
  }
  if (d.release) {
    TRIAD_ASSIGN_OR_RETURN(StmtRef j,
                           db_->Prepare("INSERT INTO released_jobs (contract_id, job_id, first_at) "
                                        "VALUES (?, ?, ?) ON CONFLICT DO NOTHING"));
    j->Bind(1, d.contract_id).Bind(2, d.job_id).Bind(3, Micros(d.decided_at));
    TRIAD_RETURN_IF_ERROR(j->Run());
  }
  if (d.release && !d.submission_digest.empty()) {
    TRIAD_ASSIGN_OR_RETURN(
        StmtRef s, db_->Prepare("INSERT INTO job_submissions (submission_digest, job_id) "
                                "VALUES (?, ?) ON CONFLICT DO NOTHING"));
    s->Bind(1, d.submission_digest).Bind(2, d.job_id);
    TRIAD_RETURN_IF_ERROR(s->Run());
  }
  return txn.Commit();
}

absl::StatusOr<std::vector<Decision>> Journal::ListDecisions() {
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("SELECT ", kDecisionCols,
                                                              " FROM decisions ORDER BY seq")));
  std::vector<Decision> out;
  for (;;) {
    TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    out.push_back(ToDecision(*s));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> Journal::ReleasedJobs(absl::string_view contract_id) {
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare("SELECT job_id FROM released_jobs WHERE contract_id = ? "
                                      "ORDER BY first_at, job_id"));
  s->Bind(1, contract_id);
  std::vector<std::string> out;
  for (;;) {
    TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    out.push_back(s->Text(0));
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> Journal::NonceSpentBy(absl::string_view nonce) {
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s, db_->Prepare("SELECT release_id FROM seen_nonces WHERE nonce = ? LIMIT 1"));
  s->BindBlob(1, nonce);
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s->Text(0));
}

absl::StatusOr<std::optional<std::string>> Journal::JobOfSubmission(
    absl::string_view submission_digest) {
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s, db_->Prepare("SELECT job_id FROM job_submissions WHERE submission_digest = ?"));
  s->Bind(1, submission_digest);
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s->Text(0));
}

absl::StatusOr<std::optional<std::string>> Journal::LastCheckpoint() {
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("SELECT note FROM checkpoints WHERE id = 1"));
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s->Text(0));
}

absl::Status Journal::RecordCheckpoint(absl::string_view signed_note, uint64_t size,
                                       absl::Time now) {
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s,
      db_->Prepare("INSERT INTO checkpoints (id, note, size, seen_at) VALUES (1, ?, ?, ?) "
                   "ON CONFLICT (id) DO UPDATE SET note = excluded.note, size = excluded.size, "
                   "seen_at = excluded.seen_at WHERE excluded.size >= size"));
  s->Bind(1, signed_note).Bind(2, static_cast<int64_t>(size)).Bind(3, Micros(now));
  return s->Run();
}

absl::Status Journal::RecordFork(absl::string_view older_note, absl::string_view newer_note,
                                 absl::string_view why, absl::Time now) {
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare("INSERT INTO forks (older_note, newer_note, why, seen_at) "
                                      "VALUES (?, ?, ?, ?)"));
  s->Bind(1, older_note).Bind(2, newer_note).Bind(3, why).Bind(4, Micros(now));
  return s->Run();
}

absl::StatusOr<int64_t> Journal::CountForks() {
  TRIAD_ASSIGN_OR_RETURN(std::optional<int64_t> n, db_->QueryInt("SELECT count(*) FROM forks"));
  return n.value_or(0);
}

absl::Status Journal::Revoke(absl::string_view contract_id, absl::string_view reason,
                             absl::Time now) {
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare("INSERT INTO revocations (contract_id, reason, revoked_at) "
                                      "VALUES (?, ?, ?) ON CONFLICT (contract_id) DO NOTHING"));
  s->Bind(1, contract_id).Bind(2, reason).Bind(3, Micros(now));
  return s->Run();
}

absl::StatusOr<std::optional<std::string>> Journal::RevocationReason(
    absl::string_view contract_id) {
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare("SELECT reason FROM revocations WHERE contract_id = ?"));
  s->Bind(1, contract_id);
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s->Text(0));
}

}  // namespace triad::keyholder
