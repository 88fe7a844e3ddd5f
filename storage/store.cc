#include "storage/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/status.h"
#include "crypto/merkle.h"
#include "crypto/random.h"
#include "storage/internal/log_tree.h"
#include "storage/internal/schema.h"
#include "storage/internal/sqlite.h"

namespace triad::storage {

using internal::Db;
using internal::StmtRef;

namespace {

constexpr size_t kNonceBytes = 32;

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

// Ids, names and kinds: non-empty, bounded, no control characters.
absl::Status CheckId(absl::string_view what, absl::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  if (value.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is longer than ", kMaxIdBytes, " bytes"));
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(what, " contains a control character"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckDocument(absl::string_view what, absl::string_view value, size_t max = kMaxDocumentBytes) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  if (value.size() > max) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is larger than ", max, " bytes"));
  }
  return absl::OkStatus();
}

// "sha256:" and 64 lower-case hex digits.
absl::Status CheckDigest(absl::string_view what, absl::string_view value) {
  constexpr absl::string_view kPrefix = "sha256:";
  bool ok = value.size() == kPrefix.size() + 64 && value.substr(0, kPrefix.size()) == kPrefix;
  for (size_t i = kPrefix.size(); ok && i < value.size(); ++i) {
    char c = value[i];
    ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  }
  if (!ok) return absl::InvalidArgumentError(absl::StrCat(what, " is not sha256:<64 lower-case hex digits>"));
  return absl::OkStatus();
}

// Runs a query expected to return at most one row and converts it; kNotFound with `missing`.
template <typename T, typename F>
absl::StatusOr<T> QueryOne(Db& db, absl::string_view sql, absl::string_view key, F convert,
                           absl::string_view missing) {
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db.Prepare(sql));
  s->Bind(1, key);
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return absl::NotFoundError(std::string(missing));
  return convert(*s);
}

template <typename T, typename F>
absl::StatusOr<std::vector<T>> QueryAll(StmtRef& s, F convert) {
  std::vector<T> out;
  for (;;) {
    TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return out;
    TRIAD_ASSIGN_OR_RETURN(T v, convert(*s));
    out.push_back(std::move(v));
  }
}

// ---- row conversions (column lists must match the SELECTs below) ----

constexpr const char* kPartyCols =
    "name, role, key_id, card_json, envelope_json, registered_at, removed_at";
absl::StatusOr<Party> ToParty(internal::Stmt& s) {
  Party p;
  p.name = s.Text(0);
  p.role = s.Text(1);
  p.key_id = s.Text(2);
  p.card_json = s.Text(3);
  p.envelope_json = s.Text(4);
  p.registered_at = FromMicros(s.Int(5));
  if (!s.IsNull(6)) p.removed_at = FromMicros(s.Int(6));
  return p;
}

constexpr const char* kArtifactCols = "id, kind, name, owner, size, envelope_json, registered_at";
absl::StatusOr<Artifact> ToArtifact(internal::Stmt& s) {
  Artifact a;
  a.id = s.Text(0);
  TRIAD_ASSIGN_OR_RETURN(a.kind, ParseArtifactKind(s.Text(1)));
  a.name = s.Text(2);
  a.owner = s.IsNull(3) ? "" : s.Text(3);
  a.size = static_cast<uint64_t>(s.Int(4));
  a.envelope_json = s.Text(5);
  a.registered_at = FromMicros(s.Int(6));
  return a;
}

constexpr const char* kContractCols =
    "id, digest, envelope_json, state, expires_at, created_at, updated_at, chain_head";
absl::StatusOr<Contract> ToContract(internal::Stmt& s) {
  Contract c;
  c.id = s.Text(0);
  c.digest = s.Text(1);
  c.envelope_json = s.Text(2);
  TRIAD_ASSIGN_OR_RETURN(c.state, ParseContractState(s.Text(3)));
  c.expires_at = FromMicros(s.Int(4));
  c.created_at = FromMicros(s.Int(5));
  c.updated_at = FromMicros(s.Int(6));
  c.chain_head = s.IsNull(7) ? "" : s.Text(7);
  return c;
}

constexpr const char* kRevocationCols = "contract_id, party, reason, envelope_json, revoked_at";
absl::StatusOr<Revocation> ToRevocation(internal::Stmt& s) {
  Revocation r;
  r.contract_id = s.Text(0);
  r.party = s.Text(1);
  r.reason = s.Text(2);
  r.envelope_json = s.Text(3);
  r.revoked_at = FromMicros(s.Int(4));
  return r;
}

constexpr const char* kReleaseCols =
    "id, job_id, attempt, artifact_id, owner, state, header, receipt_json, final, reasons_json, "
    "created_at, answered_at";
absl::StatusOr<ReleaseRequest> ToReleaseRequest(internal::Stmt& s) {
  ReleaseRequest r;
  r.id = s.Text(0);
  r.job_id = s.Text(1);
  r.attempt = s.Int(2);
  r.artifact_id = s.Text(3);
  r.owner = s.Text(4);
  TRIAD_ASSIGN_OR_RETURN(r.state, ParseReleaseState(s.Text(5)));
  r.header = s.IsNull(6) ? "" : s.Blob(6);
  r.receipt_json = s.IsNull(7) ? "" : s.Text(7);
  r.final = s.Int(8) != 0;
  r.reasons_json = s.IsNull(9) ? "" : s.Text(9);
  r.created_at = FromMicros(s.Int(10));
  if (!s.IsNull(11)) r.answered_at = FromMicros(s.Int(11));
  return r;
}

constexpr const char* kCosignatureCols = "size, key_id, note_line, cosigned_at, received_at";
absl::StatusOr<Cosignature> ToCosignature(internal::Stmt& s) {
  Cosignature c;
  c.size = static_cast<uint64_t>(s.Int(0));
  c.key_id = s.Text(1);
  c.note_line = s.Text(2);
  c.cosigned_at = FromMicros(s.Int(3));
  c.received_at = FromMicros(s.Int(4));
  return c;
}

constexpr const char* kJobCols =
    "id, contract_id, submitter, envelope_json, state, attempt, worker_id, failure_reason, "
    "progress_step, "
    "progress_total_steps, progress_tokens_per_second, progress_loss, progress_updated_at, "
    "output_artifact, "
    "created_at, updated_at, chain_head";
absl::StatusOr<Job> ToJob(internal::Stmt& s) {
  Job j;
  j.id = s.Text(0);
  j.contract_id = s.Text(1);
  j.submitter = s.Text(2);
  j.envelope_json = s.Text(3);
  TRIAD_ASSIGN_OR_RETURN(j.state, ParseJobState(s.Text(4)));
  j.attempt = s.Int(5);
  j.worker_id = s.IsNull(6) ? "" : s.Text(6);
  j.failure_reason = s.IsNull(7) ? "" : s.Text(7);
  j.progress.step = s.Int(8);
  j.progress.total_steps = s.Int(9);
  j.progress.tokens_per_second = s.Double(10);
  if (!s.IsNull(11)) j.progress.loss = s.Double(11);
  if (!s.IsNull(12)) j.progress.updated_at = FromMicros(s.Int(12));
  j.output_artifact = s.IsNull(13) ? "" : s.Text(13);
  j.created_at = FromMicros(s.Int(14));
  j.updated_at = FromMicros(s.Int(15));
  j.chain_head = s.IsNull(16) ? "" : s.Text(16);
  return j;
}

constexpr const char* kWorkerCols = "id, provider, tee, joined_at, last_seen";
absl::StatusOr<Worker> ToWorker(internal::Stmt& s) {
  Worker w;
  w.id = s.Text(0);
  w.provider = s.Text(1);
  w.tee = s.Text(2);
  w.joined_at = FromMicros(s.Int(3));
  w.last_seen = FromMicros(s.Int(4));
  return w;
}

constexpr const char* kJobKeysCols = "job_id, attempt, worker_id, age_recipient, ed25519_public_key, created_at";
absl::StatusOr<JobKeys> ToJobKeys(internal::Stmt& s) {
  JobKeys k;
  k.job_id = s.Text(0);
  k.attempt = s.Int(1);
  k.worker_id = s.Text(2);
  k.age_recipient = s.Text(3);
  k.ed25519_public_key = s.Blob(4);
  k.created_at = FromMicros(s.Int(5));
  return k;
}

constexpr const char* kNonceCols = "value, job_id, worker_id, issued_at, expires_at, used_at, attempt";
absl::StatusOr<Nonce> ToNonce(internal::Stmt& s) {
  Nonce n;
  n.value = s.Blob(0);
  n.job_id = s.Text(1);
  n.worker_id = s.Text(2);
  n.issued_at = FromMicros(s.Int(3));
  n.expires_at = FromMicros(s.Int(4));
  if (!s.IsNull(5)) n.used_at = FromMicros(s.Int(5));
  n.attempt = s.Int(6);
  return n;
}

constexpr const char* kAdmissionCols =
    "id, job_id, attempt, worker_id, evidence, evidence_digest, claims_json, admitted, reasons_json, "
    "simulated, decided_at";
absl::StatusOr<Admission> ToAdmission(internal::Stmt& s) {
  Admission a;
  a.id = s.Int(0);
  a.job_id = s.Text(1);
  a.attempt = s.Int(2);
  a.worker_id = s.Text(3);
  a.evidence = s.Blob(4);
  a.evidence_digest = s.Text(5);
  a.claims_json = s.Text(6);
  a.admitted = s.Int(7) != 0;
  a.reasons_json = s.Text(8);
  a.simulated = s.Int(9) != 0;
  a.decided_at = FromMicros(s.Int(10));
  return a;
}

absl::StatusOr<KeyRelease> ToKeyRelease(internal::Stmt& s) {
  KeyRelease k;
  k.job_id = s.Text(0);
  k.artifact_id = s.Text(1);
  k.recipient = s.Text(2);
  k.released_at = FromMicros(s.Int(3));
  return k;
}

constexpr const char* kEventCols = "id, time, job_id, kind, detail_json, log_index";
absl::StatusOr<Event> ToEvent(internal::Stmt& s) {
  Event e;
  e.id = s.Int(0);
  e.time = FromMicros(s.Int(1));
  e.job_id = s.IsNull(2) ? "" : s.Text(2);
  e.kind = s.Text(3);
  e.detail_json = s.Text(4);
  if (!s.IsNull(5)) e.log_index = static_cast<uint64_t>(s.Int(5));
  return e;
}

constexpr const char* kRequestCols = "request_id, action, signer, issued_at, received_at, envelope_json";
absl::StatusOr<StoredRequest> ToRequest(internal::Stmt& s) {
  StoredRequest r;
  r.request_id = s.Text(0);
  r.action = s.Text(1);
  r.signer = s.Text(2);
  r.issued_at = FromMicros(s.Int(3));
  r.received_at = FromMicros(s.Int(4));
  r.envelope_json = s.IsNull(5) ? "" : s.Text(5);
  return r;
}

constexpr const char* kJobRecordCols = "job_id, worker_envelope_json, coordinator_envelope_json, created_at";
absl::StatusOr<JobRecord> ToJobRecord(internal::Stmt& s) {
  JobRecord r;
  r.job_id = s.Text(0);
  r.worker_envelope_json = s.Text(1);
  r.coordinator_envelope_json = s.Text(2);
  r.created_at = FromMicros(s.Int(3));
  return r;
}

// Checks, at open, that the newest checkpoint describes the stored tree, and makes the first one for
// a new log.
absl::Status CheckOrStartLog(Db& db, const crypto::NoteSigner& signer, absl::Time now) {
  TRIAD_ASSIGN_OR_RETURN(internal::Transaction txn, internal::Transaction::Begin(db));
  TRIAD_ASSIGN_OR_RETURN(uint64_t size, internal::LogSize(db));
  absl::StatusOr<LogCheckpoint> latest = internal::LatestLogCheckpoint(db);
  if (absl::IsNotFound(latest.status()) && size == 0) {
    TRIAD_RETURN_IF_ERROR(internal::WriteLogCheckpoint(db, signer, 0, crypto::merkle::EmptyRoot(), now).status());
    return txn.Commit();
  }
  if (absl::IsNotFound(latest.status())) {
    return absl::DataLossError(absl::StrCat("transparency log has ", size, " entries but no checkpoint"));
  }
  if (!latest.ok()) return latest.status();
  if (latest->size != size) {
    return absl::DataLossError(absl::StrCat("transparency log has ", size,
                                            " entries but its newest checkpoint is at size ", latest->size));
  }
  TRIAD_ASSIGN_OR_RETURN(std::string root, internal::LogRoot(db, size));
  absl::StatusOr<crypto::Checkpoint> cp =
      crypto::OpenCheckpoint(latest->signed_note, signer.verifier(), signer.name());
  if (!cp.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "transparency log: newest checkpoint does not verify with this coordinator's log key: ",
        cp.status().message()));
  }
  if (cp->size != size || cp->root_hash != root || latest->root_hash != root) {
    return absl::DataLossError(absl::StrCat("transparency log: the stored tree's root ", base::HexEncode(root),
                                            " at size ", size, " is not the newest checkpoint's"));
  }
  return absl::OkStatus();
}

}  // namespace

// ---- Reader ----

absl::StatusOr<std::unique_lock<std::mutex>> Reader::Lock() const {
  if (db_ == nullptr) return absl::FailedPreconditionError("write transaction is finished");
  return mu_ != nullptr ? std::unique_lock<std::mutex>(*mu_) : std::unique_lock<std::mutex>();
}

absl::StatusOr<Party> Reader::GetParty(absl::string_view name) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  return QueryOne<Party>(*db_, absl::StrCat("SELECT ", kPartyCols, " FROM parties WHERE name = ?"), name,
                         ToParty, absl::StrCat("party ", name, " not found"));
}

absl::StatusOr<Party> Reader::GetPartyByKeyId(absl::string_view key_id) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  return QueryOne<Party>(*db_, absl::StrCat("SELECT ", kPartyCols, " FROM parties WHERE key_id = ?"), key_id,
                         ToParty, absl::StrCat("no party has key id ", key_id));
}

absl::StatusOr<std::vector<Party>> Reader::ListParties() const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("SELECT ", kPartyCols, " FROM parties ORDER BY name")));
  return QueryAll<Party>(s, ToParty);
}

absl::StatusOr<Artifact> Reader::GetArtifact(absl::string_view id) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  return QueryOne<Artifact>(*db_, absl::StrCat("SELECT ", kArtifactCols, " FROM artifacts WHERE id = ?"), id,
                            ToArtifact, absl::StrCat("artifact ", id, " not found"));
}

absl::StatusOr<std::vector<Artifact>> Reader::ListArtifacts() const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("SELECT ", kArtifactCols,
                                                               " FROM artifacts ORDER BY registered_at, id")));
  return QueryAll<Artifact>(s, ToArtifact);
}

absl::StatusOr<Contract> Reader::GetContract(absl::string_view id) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  return QueryOne<Contract>(*db_, absl::StrCat("SELECT ", kContractCols, " FROM contracts WHERE id = ?"), id,
                            ToContract, absl::StrCat("contract ", id, " not found"));
}

absl::StatusOr<std::vector<Contract>> Reader::ListContracts() const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("SELECT ", kContractCols,
                                                               " FROM contracts ORDER BY created_at, id")));
  return QueryAll<Contract>(s, ToContract);
}

absl::StatusOr<Revocation> Reader::GetRevocation(absl::string_view contract_id) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  return QueryOne<Revocation>(
      *db_,
      absl::StrCat("SELECT ", kRevocationCols, " FROM contract_revocations WHERE contract_id = ?"),
      contract_id, ToRevocation, absl::StrCat("contract ", contract_id, " is not revoked"));
}

absl::StatusOr<std::vector<Job>> Reader::ListJobsOfContract(absl::string_view contract_id,
                                                            size_t limit) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare(absl::StrCat(
                             "SELECT ", kJobCols,
                             " FROM jobs WHERE contract_id = ? ORDER BY created_at, id LIMIT ?")));
  s->Bind(1, contract_id).Bind(2, static_cast<int64_t>(limit));
  return QueryAll<Job>(s, ToJob);
}

absl::StatusOr<std::vector<Job>> Reader::ListJobsHeldBy(absl::string_view worker_id) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s, db_->Prepare(absl::StrCat(
                     "SELECT ", kJobCols,
                     " FROM jobs WHERE worker_id = ? AND state IN ('assigned', "
                     "'attesting', 'admitted', 'running', 'sealing') ORDER BY created_at, id")));
  s->Bind(1, worker_id);
  return QueryAll<Job>(s, ToJob);
}

absl::StatusOr<Job> Reader::GetJob(absl::string_view id) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  return QueryOne<Job>(*db_, absl::StrCat("SELECT ", kJobCols, " FROM jobs WHERE id = ?"), id, ToJob,
                       absl::StrCat("job ", id, " not found"));
}

absl::StatusOr<std::vector<Job>> Reader::ListJobs(std::optional<JobState> state, size_t limit) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  if (state) {
    TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("SELECT ", kJobCols,
                                                                 " FROM jobs WHERE state = ? ORDER BY created_at, id LIMIT ?")));
    s->Bind(1, JobStateName(*state)).Bind(2, static_cast<int64_t>(limit));
    return QueryAll<Job>(s, ToJob);
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare(absl::StrCat("SELECT ", kJobCols, " FROM jobs ORDER BY created_at, id LIMIT ?")));
  s->Bind(1, static_cast<int64_t>(limit));
  return QueryAll<Job>(s, ToJob);
}

absl::StatusOr<Worker> Reader::GetWorker(absl::string_view id) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  return QueryOne<Worker>(*db_, absl::StrCat("SELECT ", kWorkerCols, " FROM workers WHERE id = ?"), id, ToWorker,
                          absl::StrCat("worker ", id, " not found"));
}

absl::StatusOr<std::vector<Worker>> Reader::ListWorkers() const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("SELECT ", kWorkerCols, " FROM workers ORDER BY id")));
  return QueryAll<Worker>(s, ToWorker);
}

absl::StatusOr<JobKeys> Reader::GetJobKeys(absl::string_view job_id, int64_t attempt) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("SELECT ", kJobKeysCols,
                                                               " FROM job_keys WHERE job_id = ? AND attempt = ?")));
  s->Bind(1, job_id).Bind(2, attempt);
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return absl::NotFoundError(absl::StrCat("job ", job_id, " has no keys for attempt ", attempt));
  return ToJobKeys(*s);
}

absl::StatusOr<Nonce> Reader::GetNonce(absl::string_view value) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("SELECT ", kNonceCols, " FROM nonces WHERE value = ?")));
  s->BindBlob(1, value);
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return absl::NotFoundError("nonce is unknown");
  return ToNonce(*s);
}

absl::StatusOr<std::vector<Admission>> Reader::ListAdmissions(absl::string_view job_id) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("SELECT ", kAdmissionCols,
                                                               " FROM admissions WHERE job_id = ? ORDER BY id")));
  s->Bind(1, job_id);
  return QueryAll<Admission>(s, ToAdmission);
}

absl::StatusOr<std::vector<KeyRelease>> Reader::ListKeyReleases(absl::string_view job_id) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s, db_->Prepare("SELECT job_id, artifact_id, recipient, released_at FROM key_releases "
                              "WHERE job_id = ? ORDER BY id"));
  s->Bind(1, job_id);
  return QueryAll<KeyRelease>(s, ToKeyRelease);
}

absl::StatusOr<ReleaseRequest> Reader::GetReleaseRequest(absl::string_view id) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  return QueryOne<ReleaseRequest>(
      *db_, absl::StrCat("SELECT ", kReleaseCols, " FROM release_requests WHERE id = ?"), id,
      ToReleaseRequest, absl::StrCat("release request ", id, " not found"));
}

absl::StatusOr<std::vector<ReleaseRequest>> Reader::ListReleaseRequests(absl::string_view job_id,
                                                                        int64_t attempt) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare(absl::StrCat(
                             "SELECT ", kReleaseCols,
                             " FROM release_requests WHERE job_id = ? AND (? = 0 OR attempt = ?) "
                             "ORDER BY created_at, id")));
  s->Bind(1, job_id).Bind(2, attempt).Bind(3, attempt);
  return QueryAll<ReleaseRequest>(s, ToReleaseRequest);
}

absl::StatusOr<std::vector<ReleaseRequest>> Reader::ListPendingReleases(absl::string_view owner,
                                                                        size_t limit) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s,
      db_->Prepare(absl::StrCat("SELECT ", kReleaseCols,
                                " FROM release_requests WHERE owner = ? AND state = 'pending' "
                                "ORDER BY created_at, id LIMIT ?")));
  s->Bind(1, owner).Bind(2, static_cast<int64_t>(limit));
  return QueryAll<ReleaseRequest>(s, ToReleaseRequest);
}

absl::StatusOr<std::vector<ReleaseRequest>> Reader::ListAllPendingReleases(size_t limit) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare(absl::StrCat("SELECT ", kReleaseCols,
                                                   " FROM release_requests WHERE state = 'pending' "
                                                   "ORDER BY created_at, id LIMIT ?")));
  s->Bind(1, static_cast<int64_t>(limit));
  return QueryAll<ReleaseRequest>(s, ToReleaseRequest);
}

absl::StatusOr<std::vector<Cosignature>> Reader::ListCosignatures(uint64_t size) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s, db_->Prepare(absl::StrCat("SELECT ", kCosignatureCols,
                                           " FROM cosignatures WHERE size = ? ORDER BY key_id")));
  s->Bind(1, static_cast<int64_t>(size));
  return QueryAll<Cosignature>(s, ToCosignature);
}

absl::StatusOr<std::optional<uint64_t>> Reader::LargestCosignedSize(uint64_t min_size,
                                                                    uint64_t max_size,
                                                                    int min_count) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s,
      db_->Prepare("SELECT size FROM cosignatures WHERE size >= ? AND size <= ? GROUP BY "
                   "size HAVING COUNT(*) >= ? ORDER BY size DESC LIMIT 1"));
  s->Bind(1, static_cast<int64_t>(std::min<uint64_t>(min_size, INT64_MAX)))
      .Bind(2, static_cast<int64_t>(std::min<uint64_t>(max_size, INT64_MAX)))
      .Bind(3, int64_t{min_count});
  TRIAD_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(s->Int(0)));
}

absl::StatusOr<StoredRequest> Reader::GetRequest(absl::string_view request_id) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  return QueryOne<StoredRequest>(*db_, absl::StrCat("SELECT ", kRequestCols, " FROM requests WHERE request_id = ?"),
                                 request_id, ToRequest, absl::StrCat("request ", request_id, " not found"));
}

absl::StatusOr<JobRecord> Reader::GetJobRecord(absl::string_view job_id) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  return QueryOne<JobRecord>(*db_, absl::StrCat("SELECT ", kJobRecordCols, " FROM job_records WHERE job_id = ?"),
                             job_id, ToJobRecord, absl::StrCat("job ", job_id, " has no record"));
}

absl::StatusOr<std::vector<Event>> Reader::ListEvents(int64_t after_id, absl::string_view job_id,
                                                      size_t limit) const {
  TRIAD_ASSIGN_OR_RETURN(auto lock, Lock());
  if (!job_id.empty()) {
    TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("SELECT ", kEventCols,
                                                                 " FROM events WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?")));
    s->Bind(1, job_id).Bind(2, after_id).Bind(3, static_cast<int64_t>(limit));
    return QueryAll<Event>(s, ToEvent);
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("SELECT ", kEventCols,
                                                               " FROM events WHERE id > ? ORDER BY id LIMIT ?")));
  s->Bind(1, after_id).Bind(2, static_cast<int64_t>(limit));
  return QueryAll<Event>(s, ToEvent);
}

// ---- WriteTxn ----

WriteTxn::WriteTxn(Store* store, std::unique_lock<std::mutex> lock, std::unique_ptr<internal::Transaction> txn)
    : Reader(store->writer_.get(), nullptr), store_(store), lock_(std::move(lock)), txn_(std::move(txn)) {}

WriteTxn::WriteTxn(WriteTxn&& o) noexcept
    : Reader(o.db_, nullptr),
      store_(o.store_),
      lock_(std::move(o.lock_)),
      txn_(std::move(o.txn_)),
      appender_(std::move(o.appender_)),
      appended_(o.appended_) {
  o.db_ = nullptr;
  o.log_ = Log(nullptr, nullptr);
}

WriteTxn::~WriteTxn() { Finish(); }

void WriteTxn::Finish() {
  // Roll back (when still open) before the writer lock is released; then nothing may use the
  // connection through this object any more.
  appender_.reset();
  if (txn_ != nullptr) txn_->Rollback();
  txn_.reset();
  db_ = nullptr;
  log_ = Log(nullptr, nullptr);
  if (lock_.owns_lock()) lock_.unlock();
}

absl::Time WriteTxn::Now() const { return store_->options_.clock->Now(); }

absl::Status WriteTxn::CheckOpen() const {
  if (db_ == nullptr || txn_ == nullptr || !txn_->active()) {
    return absl::FailedPreconditionError("write transaction is finished");
  }
  return absl::OkStatus();
}

absl::Status WriteTxn::InsertParty(const Party& party) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckId("party name", party.name));
  TRIAD_RETURN_IF_ERROR(CheckId("party role", party.role));
  TRIAD_RETURN_IF_ERROR(CheckId("party key id", party.key_id));
  TRIAD_RETURN_IF_ERROR(CheckDocument("party card", party.card_json));
  TRIAD_RETURN_IF_ERROR(CheckDocument("party registration envelope", party.envelope_json));
  if (GetParty(party.name).ok()) return absl::AlreadyExistsError(absl::StrCat("party ", party.name, " already exists"));
  absl::StatusOr<Party> other = GetPartyByKeyId(party.key_id);
  if (other.ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat("key id ", party.key_id, " is already registered to party ", other->name));
  }
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s, db_->Prepare("INSERT INTO parties (name, role, key_id, card_json, envelope_json, "
                              "registered_at) VALUES (?, ?, ?, ?, ?, ?)"));
  s->Bind(1, party.name).Bind(2, party.role).Bind(3, party.key_id).Bind(4, party.card_json);
  s->Bind(5, party.envelope_json).Bind(6, Micros(Now()));
  return s->Run();
}

absl::Status WriteTxn::RemoveParty(absl::string_view name) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_ASSIGN_OR_RETURN(Party p, GetParty(name));
  if (p.removed_at) {
    return absl::FailedPreconditionError(absl::StrCat("party ", name, " was already removed at ",
                                                      base::FormatRfc3339(*p.removed_at)));
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare("UPDATE parties SET removed_at = ? WHERE name = ?"));
  s->Bind(1, Micros(Now())).Bind(2, name);
  return s->Run();
}

absl::Status WriteTxn::InsertArtifact(const Artifact& a) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckDigest("artifact id", a.id));
  TRIAD_RETURN_IF_ERROR(CheckId("artifact name", a.name));
  TRIAD_RETURN_IF_ERROR(CheckDocument("artifact registration envelope", a.envelope_json));
  if (a.size > static_cast<uint64_t>(INT64_MAX)) return absl::InvalidArgumentError("artifact size is too large");
  if (a.kind == ArtifactKind::kAdapter) {
    if (!a.owner.empty()) return absl::FailedPreconditionError("an adapter artifact has no owner party");
  } else {
    if (a.owner.empty()) {
      return absl::FailedPreconditionError(absl::StrCat("a ", ArtifactKindName(a.kind), " artifact needs an owner party"));
    }
    if (!GetParty(a.owner).ok()) {
      return absl::FailedPreconditionError(absl::StrCat("artifact owner ", a.owner, " is not a registered party"));
    }
  }
  if (GetArtifact(a.id).ok()) return absl::AlreadyExistsError(absl::StrCat("artifact ", a.id, " already exists"));
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("INSERT INTO artifacts (", kArtifactCols,
                                                               ") VALUES (?, ?, ?, ?, ?, ?, ?)")));
  s->Bind(1, a.id).Bind(2, ArtifactKindName(a.kind)).Bind(3, a.name);
  if (a.owner.empty()) {
    s->BindNull(4);
  } else {
    s->Bind(4, a.owner);
  }
  s->Bind(5, static_cast<int64_t>(a.size)).Bind(6, a.envelope_json).Bind(7, Micros(Now()));
  return s->Run();
}

absl::Status WriteTxn::InsertContract(const Contract& c) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckId("contract id", c.id));
  TRIAD_RETURN_IF_ERROR(CheckDigest("contract digest", c.digest));
  TRIAD_RETURN_IF_ERROR(CheckDocument("contract envelope", c.envelope_json));
  if (GetContract(c.id).ok()) return absl::AlreadyExistsError(absl::StrCat("contract ", c.id, " already exists"));
  {
    TRIAD_ASSIGN_OR_RETURN(StmtRef q, db_->Prepare("SELECT id FROM contracts WHERE digest = ?"));
    q->Bind(1, c.digest);
    TRIAD_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) {
      return absl::AlreadyExistsError(absl::StrCat("contract ", q->Text(0), " already has digest ", c.digest));
    }
  }
  int64_t now = Micros(Now());
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s,
      db_->Prepare("INSERT INTO contracts (id, digest, envelope_json, state, expires_at, "
                   "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  s->Bind(1, c.id).Bind(2, c.digest).Bind(3, c.envelope_json).Bind(4, ContractStateName(c.state));
  s->Bind(5, Micros(c.expires_at)).Bind(6, now).Bind(7, now);
  return s->Run();
}

absl::StatusOr<Contract> WriteTxn::SetContractState(absl::string_view id, ContractState to) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_ASSIGN_OR_RETURN(Contract c, GetContract(id));
  TRIAD_RETURN_IF_ERROR(base::Annotate(CheckContractTransition(c.state, to), absl::StrCat("contract ", id)));
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("UPDATE contracts SET state = ?, updated_at = ? WHERE id = ?"));
  s->Bind(1, ContractStateName(to)).Bind(2, Micros(Now())).Bind(3, id);
  TRIAD_RETURN_IF_ERROR(s->Run());
  return GetContract(id);
}

absl::Status WriteTxn::InsertRevocation(const Revocation& r) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckId("revoking party", r.party));
  TRIAD_RETURN_IF_ERROR(CheckDocument("revocation envelope", r.envelope_json));
  if (r.reason.empty() || r.reason.size() > kMaxReasonBytes) {
    return absl::InvalidArgumentError("revocation reason must be 1 to 4096 bytes");
  }
  TRIAD_RETURN_IF_ERROR(GetContract(r.contract_id).status());
  absl::StatusOr<Revocation> before = GetRevocation(r.contract_id);
  if (before.ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat("contract ", r.contract_id, " was already revoked at ",
                     base::FormatRfc3339(before->revoked_at), " by ", before->party));
  }
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s, db_->Prepare("INSERT INTO contract_revocations (contract_id, party, reason, "
                              "envelope_json, revoked_at) VALUES (?, ?, ?, ?, ?)"));
  s->Bind(1, r.contract_id)
      .Bind(2, r.party)
      .Bind(3, r.reason)
      .Bind(4, r.envelope_json)
      .Bind(5, Micros(Now()));
  return s->Run();
}

absl::Status WriteTxn::SetContractChainHead(absl::string_view contract_id, absl::string_view head) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckId("chain head", head));
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare("UPDATE contracts SET chain_head = ? WHERE id = ?"));
  s->Bind(1, head).Bind(2, contract_id);
  TRIAD_RETURN_IF_ERROR(s->Run());
  if (db_->Changes() != 1)
    return absl::NotFoundError(absl::StrCat("contract ", contract_id, " not found"));
  return absl::OkStatus();
}

absl::Status WriteTxn::SetJobChainHead(absl::string_view job_id, absl::string_view head) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckId("chain head", head));
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("UPDATE jobs SET chain_head = ? WHERE id = ?"));
  s->Bind(1, head).Bind(2, job_id);
  TRIAD_RETURN_IF_ERROR(s->Run());
  if (db_->Changes() != 1) return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
  return absl::OkStatus();
}

absl::StatusOr<Job> WriteTxn::InsertJob(const NewJob& job) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckId("job id", job.id));
  TRIAD_RETURN_IF_ERROR(CheckDocument("job submission envelope", job.envelope_json));
  if (GetJob(job.id).ok()) return absl::AlreadyExistsError(absl::StrCat("job ", job.id, " already exists"));
  absl::StatusOr<Contract> c = GetContract(job.contract_id);
  if (!c.ok()) return absl::FailedPreconditionError(absl::StrCat("contract ", job.contract_id, " not found"));
  absl::Time now = Now();
  if (c->state != ContractState::kActive) {
    return absl::FailedPreconditionError(
        absl::StrCat("contract ", c->id, " is ", ContractStateName(c->state), ", not active"));
  }
  if (now >= c->expires_at) {
    return absl::FailedPreconditionError(
        absl::StrCat("contract ", c->id, " expired at ", base::FormatRfc3339(c->expires_at)));
  }
  if (!GetParty(job.submitter).ok()) {
    return absl::FailedPreconditionError(absl::StrCat("submitter ", job.submitter, " is not a registered party"));
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare("INSERT INTO jobs (id, contract_id, submitter, envelope_json, state, "
                                      "created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)"));
  s->Bind(1, job.id).Bind(2, job.contract_id).Bind(3, job.submitter).Bind(4, job.envelope_json);
  s->Bind(5, Micros(now)).Bind(6, Micros(now));
  TRIAD_RETURN_IF_ERROR(s->Run());
  return GetJob(job.id);
}

absl::StatusOr<Job> WriteTxn::TransitionJob(absl::string_view job_id, const JobTransition& t) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_ASSIGN_OR_RETURN(Job job, GetJob(job_id));
  std::string where = absl::StrCat("job ", job_id);
  if (t.expected_from && *t.expected_from != job.state) {
    return absl::FailedPreconditionError(absl::StrCat(where, " is ", JobStateName(job.state), ", not ",
                                                      JobStateName(*t.expected_from)));
  }
  if (!t.expected_worker.empty() && t.expected_worker != job.worker_id) {
    return absl::FailedPreconditionError(absl::StrCat(where, " is not assigned to worker ", t.expected_worker));
  }
  TRIAD_RETURN_IF_ERROR(base::Annotate(CheckJobTransition(job.state, t.to), where));
  auto unused = [&](absl::string_view field, absl::string_view value) -> absl::Status {
    if (value.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", field, " is not used by a transition to ", JobStateName(t.to)));
  };
  if (t.to != JobState::kAssigned) TRIAD_RETURN_IF_ERROR(unused("worker_id", t.worker_id));
  if (t.to != JobState::kFailed) TRIAD_RETURN_IF_ERROR(unused("failure_reason", t.failure_reason));
  if (t.to != JobState::kDone) TRIAD_RETURN_IF_ERROR(unused("output_artifact", t.output_artifact));

  int64_t now = Micros(Now());
  if (t.to == JobState::kQueued || t.to == JobState::kFailed || t.to == JobState::kDone) {
    // The attempt ends: what its keyholders were asked and did not answer is moot.
    TRIAD_ASSIGN_OR_RETURN(
        StmtRef c, db_->Prepare("UPDATE release_requests SET state = 'cancelled', answered_at = ? "
                                "WHERE job_id = ? AND state = 'pending'"));
    c->Bind(1, now).Bind(2, job_id);
    TRIAD_RETURN_IF_ERROR(c->Run());
  }
  switch (t.to) {
    case JobState::kAssigned: {
      TRIAD_RETURN_IF_ERROR(CheckId("worker id", t.worker_id));
      if (!GetWorker(t.worker_id).ok()) {
        return absl::FailedPreconditionError(absl::StrCat(where, ": worker ", t.worker_id, " is not registered"));
      }
      TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("UPDATE jobs SET state = 'assigned', worker_id = ?, "
                                                     "attempt = attempt + 1, updated_at = ? WHERE id = ?"));
      s->Bind(1, t.worker_id).Bind(2, now).Bind(3, job_id);
      TRIAD_RETURN_IF_ERROR(s->Run());
      return GetJob(job_id);
    }
    case JobState::kAdmitted: {
      if (!GetJobKeys(job_id, job.attempt).ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat(where, ": attempt ", job.attempt, " has no recorded ephemeral keys"));
      }
      TRIAD_ASSIGN_OR_RETURN(StmtRef q, db_->Prepare("SELECT admitted FROM admissions WHERE job_id = ? AND "
                                                     "attempt = ? ORDER BY id DESC LIMIT 1"));
      q->Bind(1, job_id).Bind(2, job.attempt);
      TRIAD_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row || q->Int(0) != 1) {
        return absl::FailedPreconditionError(
            absl::StrCat(where, ": attempt ", job.attempt, " has no admission decision that admits it"));
      }
      break;
    }
    case JobState::kDone: {
      absl::StatusOr<Artifact> out = GetArtifact(t.output_artifact);
      if (!out.ok() || out->kind != ArtifactKind::kAdapter) {
        return absl::FailedPreconditionError(
            absl::StrCat(where, ": output artifact \"", t.output_artifact, "\" is not a registered adapter"));
      }
      TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("UPDATE jobs SET state = 'done', output_artifact = ?, "
                                                     "updated_at = ? WHERE id = ?"));
      s->Bind(1, t.output_artifact).Bind(2, now).Bind(3, job_id);
      TRIAD_RETURN_IF_ERROR(s->Run());
      return GetJob(job_id);
    }
    case JobState::kFailed: {
      if (t.failure_reason.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": a failed job needs a failure reason"));
      }
      if (t.failure_reason.size() > kMaxReasonBytes) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": failure reason is longer than ", kMaxReasonBytes, " bytes"));
      }
      TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("UPDATE jobs SET state = 'failed', failure_reason = ?, "
                                                     "updated_at = ? WHERE id = ?"));
      s->Bind(1, t.failure_reason).Bind(2, now).Bind(3, job_id);
      TRIAD_RETURN_IF_ERROR(s->Run());
      return GetJob(job_id);
    }
    case JobState::kQueued: {
      TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("UPDATE jobs SET state = 'queued', worker_id = NULL, "
                                                     "updated_at = ? WHERE id = ?"));
      s->Bind(1, now).Bind(2, job_id);
      TRIAD_RETURN_IF_ERROR(s->Run());
      return GetJob(job_id);
    }
    default:
      break;
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("UPDATE jobs SET state = ?, updated_at = ? WHERE id = ?"));
  s->Bind(1, JobStateName(t.to)).Bind(2, now).Bind(3, job_id);
  TRIAD_RETURN_IF_ERROR(s->Run());
  return GetJob(job_id);
}

absl::StatusOr<Job> WriteTxn::UpdateJobProgress(absl::string_view job_id, const JobProgress& p) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_ASSIGN_OR_RETURN(Job job, GetJob(job_id));
  if (job.state != JobState::kRunning) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, " is ", JobStateName(job.state), "; progress is reported only while running"));
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare("UPDATE jobs SET progress_step = ?, progress_total_steps = ?, "
                                      "progress_tokens_per_second = ?, progress_loss = ?, progress_updated_at = ?, "
                                      "updated_at = ? WHERE id = ?"));
  int64_t now = Micros(Now());
  s->Bind(1, p.step).Bind(2, p.total_steps).BindDouble(3, p.tokens_per_second);
  if (p.loss) {
    s->BindDouble(4, *p.loss);
  } else {
    s->BindNull(4);
  }
  s->Bind(5, now).Bind(6, now).Bind(7, job_id);
  TRIAD_RETURN_IF_ERROR(s->Run());
  return GetJob(job_id);
}

absl::StatusOr<Worker> WriteTxn::UpsertWorker(const Worker& w) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckId("worker id", w.id));
  TRIAD_RETURN_IF_ERROR(CheckId("worker tee", w.tee));
  if (!GetParty(w.provider).ok()) {
    return absl::FailedPreconditionError(absl::StrCat("worker provider ", w.provider, " is not a registered party"));
  }
  int64_t now = Micros(Now());
  absl::StatusOr<Worker> old = GetWorker(w.id);
  if (old.ok()) {
    if (old->provider != w.provider) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", w.id, " belongs to provider ", old->provider, ", not ", w.provider));
    }
    TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("UPDATE workers SET tee = ?, last_seen = ? WHERE id = ?"));
    s->Bind(1, w.tee).Bind(2, now).Bind(3, w.id);
    TRIAD_RETURN_IF_ERROR(s->Run());
  } else {
    TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("INSERT INTO workers (", kWorkerCols,
                                                                 ") VALUES (?, ?, ?, ?, ?)")));
    s->Bind(1, w.id).Bind(2, w.provider).Bind(3, w.tee).Bind(4, now).Bind(5, now);
    TRIAD_RETURN_IF_ERROR(s->Run());
  }
  return GetWorker(w.id);
}

absl::Status WriteTxn::TouchWorker(absl::string_view worker_id) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("UPDATE workers SET last_seen = ? WHERE id = ?"));
  s->Bind(1, Micros(Now())).Bind(2, worker_id);
  TRIAD_RETURN_IF_ERROR(s->Run());
  if (db_->Changes() != 1) return absl::NotFoundError(absl::StrCat("worker ", worker_id, " not found"));
  return absl::OkStatus();
}

absl::StatusOr<Nonce> WriteTxn::IssueNonce(absl::string_view job_id, absl::string_view worker_id,
                                           absl::Duration ttl) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  if (ttl <= absl::ZeroDuration()) return absl::InvalidArgumentError("nonce lifetime must be positive");
  TRIAD_ASSIGN_OR_RETURN(Job job, GetJob(job_id));
  if ((job.state != JobState::kAssigned && job.state != JobState::kAttesting) || job.worker_id != worker_id) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " is not assigned to worker ", worker_id,
                                                      " for attestation"));
  }
  Nonce n;
  n.value = crypto::RandomString(kNonceBytes);
  n.job_id = std::string(job_id);
  n.attempt = job.attempt;
  n.worker_id = std::string(worker_id);
  // Whole microseconds, as stored.
  n.issued_at = FromMicros(Micros(Now()));
  n.expires_at = FromMicros(Micros(n.issued_at + ttl));
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("INSERT INTO nonces (", kNonceCols,
                                                               ") VALUES (?, ?, ?, ?, ?, NULL, ?)")));
  s->BindBlob(1, n.value).Bind(2, job_id).Bind(3, worker_id).Bind(4, Micros(n.issued_at)).Bind(5, Micros(n.expires_at));
  s->Bind(6, n.attempt);
  TRIAD_RETURN_IF_ERROR(s->Run());
  return n;
}

absl::Status WriteTxn::ConsumeNonce(absl::string_view value, absl::string_view job_id,
                                    absl::string_view worker_id) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_ASSIGN_OR_RETURN(Nonce n, GetNonce(value));
  if (n.job_id != job_id) {
    return absl::PermissionDeniedError(absl::StrCat("nonce was issued for job ", n.job_id, ", not ", job_id));
  }
  if (n.worker_id != worker_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("nonce was issued to worker ", n.worker_id, ", not ", worker_id));
  }
  if (n.used_at) {
    return absl::FailedPreconditionError(
        absl::StrCat("nonce was already used at ", base::FormatRfc3339(*n.used_at)));
  }
  TRIAD_ASSIGN_OR_RETURN(Job job, GetJob(job_id));
  if (n.attempt != job.attempt) {
    return absl::PermissionDeniedError(absl::StrCat("nonce was issued for attempt ", n.attempt, " of job ", job_id,
                                                    ", which is at attempt ", job.attempt));
  }
  if ((job.state != JobState::kAssigned && job.state != JobState::kAttesting) || job.worker_id != worker_id) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " is ", JobStateName(job.state),
                                                      " and no longer attesting with worker ", worker_id));
  }
  absl::Time now = Now();
  if (now >= n.expires_at) {
    return absl::DeadlineExceededError(absl::StrCat("nonce expired at ", base::FormatRfc3339(n.expires_at)));
  }
  // The WHERE clause makes the single use hold even against a racing writer on another connection.
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("UPDATE nonces SET used_at = ? WHERE value = ? AND used_at IS NULL"));
  s->Bind(1, Micros(now)).BindBlob(2, value);
  TRIAD_RETURN_IF_ERROR(s->Run());
  if (db_->Changes() != 1) return absl::FailedPreconditionError("nonce was already used");
  return absl::OkStatus();
}

absl::StatusOr<JobKeys> WriteTxn::RecordJobKeys(const JobKeys& keys) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckId("age recipient", keys.age_recipient));
  if (keys.ed25519_public_key.size() != crypto::kEd25519PublicKeySize) {
    return absl::InvalidArgumentError("ephemeral Ed25519 public key must be 32 bytes");
  }
  TRIAD_ASSIGN_OR_RETURN(Job job, GetJob(keys.job_id));
  if ((job.state != JobState::kAssigned && job.state != JobState::kAttesting) || job.worker_id != keys.worker_id) {
    return absl::FailedPreconditionError(absl::StrCat("job ", keys.job_id, " is not assigned to worker ",
                                                      keys.worker_id, " for attestation"));
  }
  if (GetJobKeys(keys.job_id, job.attempt).ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat("job ", keys.job_id, " attempt ", job.attempt, " already has ephemeral keys"));
  }
  {
    TRIAD_ASSIGN_OR_RETURN(StmtRef q, db_->Prepare("SELECT job_id FROM job_keys WHERE age_recipient = ? OR "
                                                   "ed25519_public_key = ?"));
    q->Bind(1, keys.age_recipient).BindBlob(2, keys.ed25519_public_key);
    TRIAD_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) {
      return absl::AlreadyExistsError(
          absl::StrCat("ephemeral keys were already used for job ", q->Text(0), "; a worker makes new ones per attempt"));
    }
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("INSERT INTO job_keys (", kJobKeysCols,
                                                               ") VALUES (?, ?, ?, ?, ?, ?)")));
  s->Bind(1, keys.job_id).Bind(2, job.attempt).Bind(3, keys.worker_id).Bind(4, keys.age_recipient);
  s->BindBlob(5, keys.ed25519_public_key).Bind(6, Micros(Now()));
  TRIAD_RETURN_IF_ERROR(s->Run());
  return GetJobKeys(keys.job_id, job.attempt);
}

absl::StatusOr<Admission> WriteTxn::RecordAdmission(const Admission& a) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckDocument("evidence", a.evidence, kMaxEvidenceBytes));
  TRIAD_RETURN_IF_ERROR(CheckDigest("evidence digest", a.evidence_digest));
  TRIAD_RETURN_IF_ERROR(CheckDocument("claims", a.claims_json));
  TRIAD_RETURN_IF_ERROR(CheckDocument("admission reasons", a.reasons_json));
  TRIAD_ASSIGN_OR_RETURN(Job job, GetJob(a.job_id));
  if (job.state != JobState::kAttesting || job.worker_id != a.worker_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", a.job_id, " is not attesting with worker ", a.worker_id));
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("INSERT INTO admissions (job_id, attempt, worker_id, evidence, "
                                                 "evidence_digest, claims_json, admitted, reasons_json, simulated, "
                                                 "decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  s->Bind(1, a.job_id).Bind(2, job.attempt).Bind(3, a.worker_id).BindBlob(4, a.evidence);
  s->Bind(5, a.evidence_digest).Bind(6, a.claims_json).Bind(7, int64_t{a.admitted ? 1 : 0});
  s->Bind(8, a.reasons_json).Bind(9, int64_t{a.simulated ? 1 : 0}).Bind(10, Micros(Now()));
  TRIAD_RETURN_IF_ERROR(s->Run());
  int64_t id = db_->LastInsertRowid();
  TRIAD_ASSIGN_OR_RETURN(StmtRef q, db_->Prepare(absl::StrCat("SELECT ", kAdmissionCols, " FROM admissions WHERE id = ?")));
  q->Bind(1, id);
  TRIAD_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return absl::InternalError("admission vanished after insert");
  return ToAdmission(*q);
}

absl::StatusOr<KeyRelease> WriteTxn::RecordKeyRelease(absl::string_view job_id, absl::string_view artifact_id,
                                                      absl::string_view recipient) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_ASSIGN_OR_RETURN(Job job, GetJob(job_id));
  std::string where = absl::StrCat("releasing the key of artifact ", artifact_id, " for job ", job_id);
  if (job.state != JobState::kAdmitted) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, ": the job is ", JobStateName(job.state), "; keys are released only when admitted"));
  }
  absl::StatusOr<JobKeys> keys = GetJobKeys(job_id, job.attempt);
  if (!keys.ok() || keys->age_recipient != recipient) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, ": ", recipient, " is not the attested ephemeral recipient of attempt ", job.attempt));
  }
  {
    TRIAD_ASSIGN_OR_RETURN(StmtRef q, db_->Prepare("SELECT admitted FROM admissions WHERE job_id = ? AND "
                                                   "attempt = ? ORDER BY id DESC LIMIT 1"));
    q->Bind(1, job_id).Bind(2, job.attempt);
    TRIAD_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row || q->Int(0) != 1) {
      return absl::FailedPreconditionError(absl::StrCat(where, ": attempt ", job.attempt, " was not admitted"));
    }
  }
  if (!GetArtifact(artifact_id).ok()) {
    return absl::FailedPreconditionError(absl::StrCat(where, ": the artifact is not registered"));
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("INSERT INTO key_releases (job_id, artifact_id, recipient, "
                                                 "released_at) VALUES (?, ?, ?, ?)"));
  int64_t now = Micros(Now());
  s->Bind(1, job_id).Bind(2, artifact_id).Bind(3, recipient).Bind(4, now);
  absl::Status st = s->Run();
  if (absl::IsAlreadyExists(st)) {
    return absl::AlreadyExistsError(
        absl::StrCat("key of artifact ", artifact_id, " was already released to recipient ", recipient));
  }
  TRIAD_RETURN_IF_ERROR(st);
  return KeyRelease{std::string(job_id), std::string(artifact_id), std::string(recipient), FromMicros(now)};
}

absl::Status WriteTxn::RecordRequest(const StoredRequest& r) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckId("request id", r.request_id));
  TRIAD_RETURN_IF_ERROR(CheckId("request action", r.action));
  TRIAD_RETURN_IF_ERROR(CheckId("request signer", r.signer));
  if (!r.envelope_json.empty()) TRIAD_RETURN_IF_ERROR(CheckDocument("request envelope", r.envelope_json));
  if (GetRequest(r.request_id).ok()) {
    return absl::AlreadyExistsError(absl::StrCat("request ", r.request_id, " was already used"));
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("INSERT INTO requests (", kRequestCols,
                                                               ") VALUES (?, ?, ?, ?, ?, ?)")));
  s->Bind(1, r.request_id).Bind(2, r.action).Bind(3, r.signer).Bind(4, Micros(r.issued_at)).Bind(5, Micros(Now()));
  if (r.envelope_json.empty()) {
    s->BindNull(6);
  } else {
    s->Bind(6, r.envelope_json);
  }
  return s->Run();
}

absl::StatusOr<int64_t> WriteTxn::PruneRequests(absl::Time issued_before) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_ASSIGN_OR_RETURN(StmtRef s,
                         db_->Prepare("DELETE FROM requests WHERE envelope_json IS NULL AND issued_at < ?"));
  s->Bind(1, Micros(issued_before));
  TRIAD_RETURN_IF_ERROR(s->Run());
  return static_cast<int64_t>(db_->Changes());
}

absl::Status WriteTxn::InsertJobRecord(const JobRecord& r) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckDocument("worker job record envelope", r.worker_envelope_json));
  TRIAD_RETURN_IF_ERROR(CheckDocument("coordinator job record envelope", r.coordinator_envelope_json));
  if (!GetJob(r.job_id).ok()) return absl::FailedPreconditionError(absl::StrCat("job ", r.job_id, " not found"));
  if (GetJobRecord(r.job_id).ok()) {
    return absl::AlreadyExistsError(absl::StrCat("job ", r.job_id, " already has a record"));
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare(absl::StrCat("INSERT INTO job_records (", kJobRecordCols,
                                                               ") VALUES (?, ?, ?, ?)")));
  s->Bind(1, r.job_id).Bind(2, r.worker_envelope_json).Bind(3, r.coordinator_envelope_json).Bind(4, Micros(Now()));
  return s->Run();
}

absl::Status WriteTxn::CheckEvent(const NewEvent& e) const {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckId("event kind", e.kind));
  TRIAD_RETURN_IF_ERROR(CheckDocument("event detail", e.detail_json));
  if (!e.job_id.empty() && !GetJob(e.job_id).ok()) {
    return absl::FailedPreconditionError(absl::StrCat("event about unknown job ", e.job_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<Event> WriteTxn::AddEvent(const NewEvent& e) {
  TRIAD_RETURN_IF_ERROR(CheckEvent(e));
  if (e.log_index) {
    TRIAD_ASSIGN_OR_RETURN(uint64_t size, internal::LogSize(*db_));
    if (*e.log_index >= size) {
      return absl::FailedPreconditionError(absl::StrCat("event names log entry ", *e.log_index,
                                                        ", beyond the log's ", size, " entries"));
    }
  }
  TRIAD_ASSIGN_OR_RETURN(StmtRef s, db_->Prepare("INSERT INTO events (time, job_id, kind, detail_json, log_index) "
                                                 "VALUES (?, ?, ?, ?, ?)"));
  int64_t now = Micros(Now());
  s->Bind(1, now);
  if (e.job_id.empty()) {
    s->BindNull(2);
  } else {
    s->Bind(2, e.job_id);
  }
  s->Bind(3, e.kind).Bind(4, e.detail_json);
  if (e.log_index) {
    s->Bind(5, static_cast<int64_t>(*e.log_index));
  } else {
    s->BindNull(5);
  }
  TRIAD_RETURN_IF_ERROR(s->Run());
  Event out;
  out.id = db_->LastInsertRowid();
  out.time = FromMicros(now);
  out.job_id = e.job_id;
  out.kind = e.kind;
  out.detail_json = e.detail_json;
  out.log_index = e.log_index;
  return out;
}

absl::StatusOr<Event> WriteTxn::AddLoggedEvent(NewEvent event, absl::string_view log_entry,
                                               const LogScope& scope) {
  // Every check first, so that a refused event leaves no log entry behind.
  TRIAD_RETURN_IF_ERROR(CheckEvent(event));
  if (event.log_index) return absl::InvalidArgumentError("a logged event gets its log index from its entry");
  if (log_entry.size() > kMaxLogEntryBytes) {
    return absl::InvalidArgumentError(absl::StrCat("log entry is ", log_entry.size(),
                                                   " bytes, more than the limit of ", kMaxLogEntryBytes));
  }
  TRIAD_ASSIGN_OR_RETURN(event.log_index, AppendLog(log_entry, scope));
  return AddEvent(event);
}

absl::Status WriteTxn::InsertReleaseRequest(const ReleaseRequest& r) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckId("release id", r.id));
  TRIAD_ASSIGN_OR_RETURN(Job job, GetJob(r.job_id));
  if (job.state != JobState::kAdmitted || job.attempt != r.attempt) {
    return absl::FailedPreconditionError(
        absl::StrCat("release ", r.id, ": job ", r.job_id, " is ", JobStateName(job.state),
                     " in attempt ", job.attempt, "; keys are asked for an admitted attempt only"));
  }
  if (GetReleaseRequest(r.id).ok()) {
    return absl::AlreadyExistsError(absl::StrCat("release request ", r.id, " already exists"));
  }
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s,
      db_->Prepare("INSERT INTO release_requests (id, job_id, attempt, artifact_id, owner, state, "
                   "created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)"));
  s->Bind(1, r.id).Bind(2, r.job_id).Bind(3, r.attempt).Bind(4, r.artifact_id).Bind(5, r.owner);
  s->Bind(6, Micros(Now()));
  return s->Run();
}

absl::StatusOr<ReleaseRequest> WriteTxn::AnswerReleaseRequest(const ReleaseRequest& a,
                                                              absl::string_view recipient) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_ASSIGN_OR_RETURN(ReleaseRequest r, GetReleaseRequest(a.id));
  if (r.state != ReleaseState::kPending) {
    return absl::FailedPreconditionError(
        absl::StrCat("release ", a.id, " was already answered (", ReleaseStateName(r.state), ")"));
  }
  TRIAD_RETURN_IF_ERROR(CheckDocument("release receipt", a.receipt_json));
  if (a.state == ReleaseState::kReleased) {
    if (a.header.empty() || a.header.size() > kMaxDocumentBytes) {
      return absl::InvalidArgumentError("release: the header must be 1 byte to 1 MiB");
    }
    TRIAD_RETURN_IF_ERROR(RecordKeyRelease(r.job_id, r.artifact_id, recipient).status());
  } else if (a.state == ReleaseState::kRefused) {
    TRIAD_RETURN_IF_ERROR(CheckDocument("refusal reasons", a.reasons_json));
  } else {
    return absl::InvalidArgumentError("a release is answered with released or refused");
  }
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s,
      db_->Prepare("UPDATE release_requests SET state = ?, header = ?, receipt_json = ?, "
                   "final = ?, reasons_json = ?, answered_at = ? WHERE id = ?"));
  s->Bind(1, ReleaseStateName(a.state));
  if (a.state == ReleaseState::kReleased) {
    s->BindBlob(2, a.header);
  } else {
    s->BindNull(2);
  }
  s->Bind(3, a.receipt_json).Bind(4, int64_t{a.final ? 1 : 0});
  if (a.state == ReleaseState::kRefused) {
    s->Bind(5, a.reasons_json);
  } else {
    s->BindNull(5);
  }
  s->Bind(6, Micros(Now())).Bind(7, a.id);
  TRIAD_RETURN_IF_ERROR(s->Run());
  return GetReleaseRequest(a.id);
}

absl::Status WriteTxn::AddCosignature(const Cosignature& c) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(CheckId("witness key id", c.key_id));
  if (c.note_line.empty() || c.note_line.size() > 1024) {
    return absl::InvalidArgumentError("cosignature line must be 1 to 1024 bytes");
  }
  TRIAD_RETURN_IF_ERROR(log().CheckpointAt(c.size).status());
  TRIAD_ASSIGN_OR_RETURN(
      StmtRef s,
      db_->Prepare("INSERT INTO cosignatures (size, key_id, note_line, cosigned_at, received_at) "
                   "VALUES (?, ?, ?, ?, ?) ON CONFLICT (size, key_id) DO UPDATE SET "
                   "note_line = excluded.note_line, cosigned_at = excluded.cosigned_at, "
                   "received_at = excluded.received_at WHERE excluded.cosigned_at > cosigned_at"));
  s->Bind(1, static_cast<int64_t>(c.size)).Bind(2, c.key_id).Bind(3, c.note_line);
  s->Bind(4, Micros(c.cosigned_at)).Bind(5, Micros(Now()));
  return s->Run();
}

absl::StatusOr<uint64_t> WriteTxn::AppendLog(absl::string_view entry, const LogScope& scope) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  if (!scope.contract_id.empty())
    TRIAD_RETURN_IF_ERROR(CheckId("log entry contract", scope.contract_id));
  if (!scope.party.empty()) TRIAD_RETURN_IF_ERROR(CheckId("log entry party", scope.party));
  if (appender_ == nullptr) {
    TRIAD_ASSIGN_OR_RETURN(internal::LogAppender a, internal::LogAppender::Load(*db_));
    appender_ = std::make_unique<internal::LogAppender>(std::move(a));
    appended_ = false;
  }
  TRIAD_ASSIGN_OR_RETURN(uint64_t index, appender_->Append(*db_, entry, Now()));
  appended_ = true;
  if (!scope.contract_id.empty() || !scope.party.empty()) {
    TRIAD_ASSIGN_OR_RETURN(
        StmtRef s, db_->Prepare("UPDATE log_entries SET contract_id = ?, party = ? WHERE idx = ?"));
    if (scope.contract_id.empty()) {
      s->BindNull(1);
    } else {
      s->Bind(1, scope.contract_id);
    }
    if (scope.party.empty()) {
      s->BindNull(2);
    } else {
      s->Bind(2, scope.party);
    }
    s->Bind(3, static_cast<int64_t>(index));
    TRIAD_RETURN_IF_ERROR(s->Run());
  }
  return index;
}

absl::StatusOr<CommitResult> WriteTxn::Commit() {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  CommitResult result;
  if (appender_ != nullptr && appended_) {
    absl::StatusOr<LogCheckpoint> cp =
        internal::WriteLogCheckpoint(*db_, store_->signer_, appender_->size(), appender_->Root(), Now());
    if (!cp.ok()) {
      txn_->Rollback();
      Finish();
      return cp.status();
    }
    result.checkpoint = *std::move(cp);
  }
  absl::Status st = txn_->Commit();
  Finish();
  if (!st.ok()) return base::Annotate(st, "committing");
  return result;
}

// ---- Store ----

Store::Store(std::string path, crypto::NoteSigner signer, const StoreOptions& options, std::unique_ptr<Db> writer,
             std::unique_ptr<Db> reader)
    : Reader(reader.get(), &reader_mu_),
      path_(std::move(path)),
      signer_(std::move(signer)),
      options_(options),
      writer_(std::move(writer)),
      reader_(std::move(reader)) {}

Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path, crypto::NoteSigner log_signer,
                                                   const StoreOptions& options) {
  if (options.clock == nullptr) return absl::InvalidArgumentError("store needs a clock");
  // Create the file owner-only before SQLite does (it would use 0644); the WAL and shared-memory
  // files SQLite makes next to it take the same mode.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return base::ErrnoStatus(errno, absl::StrCat("opening database ", path));
  ::close(fd);

  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<Db> writer, Db::Open(path, /*create=*/false));
  TRIAD_RETURN_IF_ERROR(base::Annotate(internal::ConfigureConnection(*writer, options.busy_timeout, /*read_only=*/false), path));
  TRIAD_RETURN_IF_ERROR(base::Annotate(internal::Migrate(*writer, internal::LatestSchemaVersion()), path));
  TRIAD_RETURN_IF_ERROR(base::Annotate(CheckOrStartLog(*writer, log_signer, options.clock->Now()), path));
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<Db> reader, Db::Open(path, /*create=*/false));
  TRIAD_RETURN_IF_ERROR(base::Annotate(internal::ConfigureConnection(*reader, options.busy_timeout, /*read_only=*/true), path));
  return std::unique_ptr<Store>(
      new Store(path, std::move(log_signer), options, std::move(writer), std::move(reader)));
}

absl::StatusOr<WriteTxn> Store::Begin() {
  std::unique_lock<std::mutex> lock(writer_mu_);
  TRIAD_ASSIGN_OR_RETURN(internal::Transaction t, internal::Transaction::Begin(*writer_));
  return WriteTxn(this, std::move(lock), std::make_unique<internal::Transaction>(std::move(t)));
}

}  // namespace triad::storage
