// The coordinator's durable state: one SQLite database (WAL, synchronous=FULL, foreign keys on)
// holding the registry, contracts, jobs and their state machine, workers, nonces, key releases,
// events, and the transparency log (log.h).
//
// Every change happens in a WriteTxn and is durable when Commit() returns OK, not before: acknowledge
// a request only after that. A transaction that is destroyed without Commit() rolls back, so a failed
// check half-way leaves nothing behind. A state change and its transparency log entry belong in the
// same WriteTxn; Commit() then also signs and stores a new checkpoint, in the same SQLite
// transaction. After a crash (even SIGKILL or power loss during Commit) the database holds exactly
// the transactions whose Commit returned OK, and possibly the one in flight, whole or not at all.
//
// Typical use by the coordinator:
//
//   TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store->Begin());
//   TRIAD_RETURN_IF_ERROR(txn.ConsumeNonce(nonce, job_id, worker_id));
//   TRIAD_ASSIGN_OR_RETURN(storage::Job job,
//                          txn.TransitionJob(job_id, JobTransition::To(JobState::kAttesting)));
//   TRIAD_RETURN_IF_ERROR(txn.AddLoggedEvent({job_id, "job.attesting", detail_json, {}}, entry).status());
//   TRIAD_ASSIGN_OR_RETURN(storage::CommitResult done, txn.Commit());   // durable, checkpoint signed
//   ... only now answer the worker.
//
// Threads: Store's own methods are thread-safe and read the committed state through a dedicated
// connection. Begin() takes the single writer lock, held until the WriteTxn commits or is destroyed;
// a second Begin() waits, so a thread must not hold two. A WriteTxn's methods read the transaction's
// own state (committed plus its uncommitted changes) and are used by the thread that holds it.
#ifndef TRIAD_STORAGE_STORE_H_
#define TRIAD_STORAGE_STORE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "crypto/note.h"
#include "storage/log.h"
#include "storage/records.h"

namespace triad::storage {

namespace internal {
class Db;
class Transaction;
class LogAppender;
}  // namespace internal

// The reads shared by Store (committed state) and WriteTxn (the transaction's state). Every Get
// fails with kNotFound "<thing> <id> not found" when there is no such record.
class Reader {
 public:
  absl::StatusOr<Party> GetParty(absl::string_view name) const;
  absl::StatusOr<Party> GetPartyByKeyId(absl::string_view key_id) const;
  absl::StatusOr<std::vector<Party>> ListParties() const;

  absl::StatusOr<Artifact> GetArtifact(absl::string_view id) const;
  absl::StatusOr<std::vector<Artifact>> ListArtifacts() const;

  absl::StatusOr<Contract> GetContract(absl::string_view id) const;
  absl::StatusOr<std::vector<Contract>> ListContracts() const;
  // kNotFound "contract C is not revoked" when it is not.
  absl::StatusOr<Revocation> GetRevocation(absl::string_view contract_id) const;

  absl::StatusOr<Job> GetJob(absl::string_view id) const;
  // Jobs in `state` (all jobs when nullopt), oldest first, at most `limit`.
  absl::StatusOr<std::vector<Job>> ListJobs(std::optional<JobState> state, size_t limit = 1000) const;
  // A contract's jobs, oldest first, at most `limit`.
  absl::StatusOr<std::vector<Job>> ListJobsOfContract(absl::string_view contract_id,
                                                      size_t limit = 100000) const;
  // The jobs a worker holds (assigned, attesting, admitted, running, sealing).
  absl::StatusOr<std::vector<Job>> ListJobsHeldBy(absl::string_view worker_id) const;

  absl::StatusOr<Worker> GetWorker(absl::string_view id) const;
  absl::StatusOr<std::vector<Worker>> ListWorkers() const;

  // The keys recorded for an attempt of a job.
  absl::StatusOr<JobKeys> GetJobKeys(absl::string_view job_id, int64_t attempt) const;
  absl::StatusOr<Nonce> GetNonce(absl::string_view value) const;
  // A job's admission decisions, oldest first.
  absl::StatusOr<std::vector<Admission>> ListAdmissions(absl::string_view job_id) const;
  // A job's key releases, oldest first.
  absl::StatusOr<std::vector<KeyRelease>> ListKeyReleases(absl::string_view job_id) const;

  // Release requests to the keyholders.
  absl::StatusOr<ReleaseRequest> GetReleaseRequest(absl::string_view id) const;
  // Of one attempt (attempt 0: every attempt), oldest first.
  absl::StatusOr<std::vector<ReleaseRequest>> ListReleaseRequests(absl::string_view job_id,
                                                                  int64_t attempt) const;
  // Pending requests for artifacts of `owner`, oldest first, at most `limit`.
  absl::StatusOr<std::vector<ReleaseRequest>> ListPendingReleases(absl::string_view owner,
                                                                  size_t limit = 100) const;
  // Every pending request, oldest first (the sweep), at most `limit`.
  absl::StatusOr<std::vector<ReleaseRequest>> ListAllPendingReleases(size_t limit = 10000) const;

  // The cosignatures held for the checkpoint at `size`, by key id.
  absl::StatusOr<std::vector<Cosignature>> ListCosignatures(uint64_t size) const;
  // The size of the largest checkpoint in [min_size, max_size] that holds at least `min_count`
  // cosignatures, or nullopt when none does.
  absl::StatusOr<std::optional<uint64_t>> LargestCosignedSize(uint64_t min_size, uint64_t max_size,
                                                              int min_count) const;

  // A remembered request (kNotFound "request R not found").
  absl::StatusOr<StoredRequest> GetRequest(absl::string_view request_id) const;
  // kNotFound "job J has no record" until the job is delivered.
  absl::StatusOr<JobRecord> GetJobRecord(absl::string_view job_id) const;

  // Events with id > after_id (about `job_id` only, when non-empty), oldest first, at most `limit`.
  // For watching: pass the last id seen.
  absl::StatusOr<std::vector<Event>> ListEvents(int64_t after_id, absl::string_view job_id = "",
                                                size_t limit = 1000) const;

  const Log& log() const { return log_; }

 protected:
  Reader(internal::Db* db, std::mutex* mu) : db_(db), mu_(mu), log_(db, mu) {}
  // The connection's lock (none for a WriteTxn, which holds the writer's); kFailedPrecondition
  // once a WriteTxn is finished.
  absl::StatusOr<std::unique_lock<std::mutex>> Lock() const;

  internal::Db* db_;  // null once a WriteTxn is finished
  std::mutex* mu_;    // null when the caller holds the connection (WriteTxn)
  Log log_;
};

struct NewEvent {
  std::string job_id;  // empty when not about a job
  std::string kind;
  std::string detail_json;
  std::optional<uint64_t> log_index;  // must name an entry of the log (usually this txn's AppendLog)
};

struct CommitResult {
  // The checkpoint signed for this transaction's log appends; nullopt when it appended none.
  std::optional<LogCheckpoint> checkpoint;
};

class Store;

// One write transaction (BEGIN IMMEDIATE). Move-only. Rolls back when destroyed uncommitted. Every
// method fails with the reason of the first failed check and changes nothing then; after any failed
// call the transaction may still be committed (what succeeded before stays) or dropped.
class WriteTxn : public Reader {
 public:
  WriteTxn(WriteTxn&&) noexcept;
  WriteTxn& operator=(WriteTxn&&) = delete;
  ~WriteTxn();

  // ---- registry ----
  // kAlreadyExists for a taken name or key id.
  absl::Status InsertParty(const Party& party);
  // Marks a party removed (its requests are refused from then on). kNotFound for an unknown name,
  // kFailedPrecondition when it was removed already.
  absl::Status RemoveParty(absl::string_view name);
  // kAlreadyExists for a known id; kFailedPrecondition for an unknown owner, or an owner on an adapter
  // or none on a model or dataset.
  absl::Status InsertArtifact(const Artifact& artifact);

  // ---- contracts ----
  // kAlreadyExists for a known id or digest.
  absl::Status InsertContract(const Contract& contract);
  // Legal moves per CheckContractTransition.
  absl::StatusOr<Contract> SetContractState(absl::string_view id, ContractState to);
  // kNotFound for an unknown contract, kAlreadyExists "contract C was already revoked at T by P".
  absl::Status InsertRevocation(const Revocation& revocation);
  // The newest entry of the contract's own hash chain (hex SHA-256).
  absl::Status SetContractChainHead(absl::string_view contract_id, absl::string_view head);

  // ---- jobs ----
  // A new job in state queued. kFailedPrecondition unless the contract is active and the time is
  // before its expiry ("contract C is draft, not active" / "contract C expired at T"), or when the
  // submitter is not a registered party.
  absl::StatusOr<Job> InsertJob(const NewJob& job);
  // Moves a job along its state machine (records.h) after CheckJobTransition and these checks, each a
  // kFailedPrecondition naming the job:
  //   -> assigned: worker_id names a registered worker; attempt becomes attempt + 1.
  //   -> admitted: the current attempt has recorded keys and a positive admission decision.
  //   -> done: output_artifact names an artifact of kind adapter.
  //   -> failed: failure_reason is non-empty (at most kMaxReasonBytes).
  //   -> queued: the worker is cleared. Nonces and keys belong to an attempt, so nothing issued for
  //      this attempt is accepted in a later one.
  absl::StatusOr<Job> TransitionJob(absl::string_view job_id, const JobTransition& t);
  // Only while running; kFailedPrecondition otherwise.
  absl::StatusOr<Job> UpdateJobProgress(absl::string_view job_id, const JobProgress& progress);
  // The newest entry of the job's hash chain (hex SHA-256).
  absl::Status SetJobChainHead(absl::string_view job_id, absl::string_view head);

  // ---- workers ----
  // Registers a worker or, when known, refreshes its tee and last_seen. kFailedPrecondition when the
  // provider is not a registered party or differs from the one the worker joined with.
  absl::StatusOr<Worker> UpsertWorker(const Worker& worker);
  absl::Status TouchWorker(absl::string_view worker_id);

  // ---- admission and key release ----
  // A fresh 32-byte single-use nonce for `worker_id` to attest for `job_id`, valid for `ttl`.
  // kFailedPrecondition unless the job is assigned or attesting to that worker.
  absl::StatusOr<Nonce> IssueNonce(absl::string_view job_id, absl::string_view worker_id,
                                   absl::Duration ttl);
  // Marks the nonce used, once. kNotFound "nonce is unknown", kPermissionDenied when it was issued
  // for another job, worker or attempt, kFailedPrecondition "nonce was already used at T" (a replay)
  // or when the job is no longer assigned or attesting to the worker, kDeadlineExceeded "nonce
  // expired at T". Nothing changes when it fails.
  absl::Status ConsumeNonce(absl::string_view value, absl::string_view job_id,
                            absl::string_view worker_id);
  // Records the ephemeral keys for the job's current attempt. kFailedPrecondition unless the job is
  // assigned or attesting to keys.worker_id; kAlreadyExists when the attempt has keys already or the
  // recipient or public key was ever recorded before.
  absl::StatusOr<JobKeys> RecordJobKeys(const JobKeys& keys);
  // Records an admission decision for the current attempt; returns it with its id. The job must be
  // attesting to admission.worker_id.
  absl::StatusOr<Admission> RecordAdmission(const Admission& admission);
  // Records that the key of `artifact_id` is released to `recipient` for `job_id`. Checks that the
  // job is admitted, that `recipient` is the current attempt's recorded age recipient, and that the
  // attempt's newest admission decision admitted it (kFailedPrecondition otherwise);
  // kAlreadyExists "key of artifact A was already released to recipient R" on a second release to the
  // same ephemeral key (enforced by a UNIQUE constraint).
  absl::StatusOr<KeyRelease> RecordKeyRelease(absl::string_view job_id, absl::string_view artifact_id,
                                              absl::string_view recipient);

  // A pending request to the artifact owner's keyholder, for the job's current attempt, which must
  // be admitted. kAlreadyExists for a known id.
  absl::Status InsertReleaseRequest(const ReleaseRequest& request);
  // Records a keyholder's answer: `answer.state` is kReleased (header and receipt set) or kRefused
  // (receipt, final and reasons set). kNotFound for an unknown id; kFailedPrecondition "release R
  // was already answered (released)" when it is not pending. A release also records the
  // KeyRelease (RecordKeyRelease's checks apply).
  absl::StatusOr<ReleaseRequest> AnswerReleaseRequest(const ReleaseRequest& answer,
                                                      absl::string_view recipient);

  // Keeps a witness's cosignature of the checkpoint at `size` (the newest one per witness and
  // size). kFailedPrecondition when no checkpoint was signed at that size.
  absl::Status AddCosignature(const Cosignature& cosignature);

  // ---- requests and job records ----
  // Remembers a request id. kAlreadyExists "request R was already used" when it was seen before.
  absl::Status RecordRequest(const StoredRequest& request);
  // Forgets the requests kept without an envelope whose issued_at is before `issued_before`;
  // returns how many.
  absl::StatusOr<int64_t> PruneRequests(absl::Time issued_before);
  // Stores a job's record. kFailedPrecondition for an unknown job, kAlreadyExists when it has one.
  absl::Status InsertJobRecord(const JobRecord& record);

  // ---- events and the transparency log ----
  absl::StatusOr<Event> AddEvent(const NewEvent& event);
  // AppendLog(log_entry), then AddEvent(event) naming that entry (event.log_index must be unset):
  // the usual way to record a decision so that the event and its log entry commit together. Checks
  // everything before appending, so a refusal leaves no entry behind.
  absl::StatusOr<Event> AddLoggedEvent(NewEvent event, absl::string_view log_entry,
                                       const LogScope& scope = {});
  // Appends an entry (at most kMaxLogEntryBytes; never a secret or plaintext) and returns its
  // index. Visible to this transaction's log() at once; committed, with a new signed checkpoint, by
  // Commit(). `scope` says who may read it (log.h, LogScope).
  absl::StatusOr<uint64_t> AppendLog(absl::string_view entry, const LogScope& scope = {});

  // Commits durably (fsync of the WAL). When entries were appended, first signs and stores the new
  // checkpoint. On failure nothing of the transaction remains. The WriteTxn is spent either way: it
  // releases the writer lock, and every later call on it fails with "write transaction is finished".
  absl::StatusOr<CommitResult> Commit();

 private:
  friend class Store;
  WriteTxn(Store* store, std::unique_lock<std::mutex> lock, std::unique_ptr<internal::Transaction> txn);
  absl::Time Now() const;
  absl::Status CheckOpen() const;
  absl::Status CheckEvent(const NewEvent& event) const;
  // Rolls back what is uncommitted, detaches from the connection and releases the writer lock.
  void Finish();

  Store* store_;
  std::unique_lock<std::mutex> lock_;
  std::unique_ptr<internal::Transaction> txn_;
  std::unique_ptr<internal::LogAppender> appender_;  // loaded on the first AppendLog
  bool appended_ = false;
};

struct StoreOptions {
  // Time source for timestamps and nonce expiry; must outlive the Store.
  const base::Clock* clock = &base::SystemClock();
  // How long a connection waits for another process's write lock before kUnavailable.
  absl::Duration busy_timeout = absl::Seconds(5);
};

class Store : public Reader {
 public:
  // Opens or creates the database at `path` (mode 0600), sets WAL, synchronous=FULL, foreign keys
  // and the busy timeout, migrates the schema, and checks the transparency log: the newest checkpoint
  // must be at the log's size with the log's root (kDataLoss otherwise). A new database gets a signed
  // checkpoint of the empty log. `log_signer` signs every later checkpoint; its key name is the
  // log's origin.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path, crypto::NoteSigner log_signer,
                                                     const StoreOptions& options = {});
  // Every WriteTxn must be finished (committed or destroyed) before the Store goes.
  ~Store();

  // Starts a write transaction; waits for the writer lock. kUnavailable when another process holds
  // the database's write lock past the busy timeout.
  absl::StatusOr<WriteTxn> Begin();

  const crypto::NoteVerifier& log_verifier() const { return signer_.verifier(); }
  const std::string& path() const { return path_; }

 private:
  friend class WriteTxn;
  Store(std::string path, crypto::NoteSigner signer, const StoreOptions& options,
        std::unique_ptr<internal::Db> writer, std::unique_ptr<internal::Db> reader);

  std::string path_;
  crypto::NoteSigner signer_;
  StoreOptions options_;
  std::unique_ptr<internal::Db> writer_;
  std::unique_ptr<internal::Db> reader_;
  std::mutex writer_mu_;
  std::mutex reader_mu_;
};

}  // namespace triad::storage

#endif  // TRIAD_STORAGE_STORE_H_
