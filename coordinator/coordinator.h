// The coordinator's logic: registry, contracts, jobs, worker admission, the relay between admitted
// workers and the owners' keyholders, delivery, leases and audit export, as a plain class over the
// store, the blob store and the clock. The gRPC
// services (service.h) are thin adapters over it; tests drive it directly or through them.
//
// Every method that changes state verifies its request first (coordinator/request.h: signature by
// the key the action requires, freshness, request id never seen), then makes the change and its
// transparency log entries in one storage::WriteTxn that commits before the method returns. A
// failed check changes nothing and returns a Status whose message names the check (the exact
// messages are in coordinator/README.md and the tests). Codes: kPermissionDenied (wrong or unknown
// signer, not allowed for this party), kInvalidArgument (malformed request or upload),
// kFailedPrecondition (wrong state: inactive or revoked contract, job not in the right state),
// kNotFound, kAlreadyExists (replayed request id, existing record), kDeadlineExceeded (stale
// request, expired nonce), kResourceExhausted (a limit: size, quota, streams, workers).
//
// The coordinator holds ciphertext, age headers, contracts, evidence and the log, and no key that
// opens any artifact (docs/custody.md): the owners' keyholders decide each release themselves and
// re-wrap their file keys to the admitted worker; the coordinator relays the headers and receipts
// and logs them. Every read is a signed request of a party of the contract concerned or of an
// auditor it names; anyone reads only signed checkpoints and consistency proofs.
//
// Thread-safe: every method may be called concurrently (the store serializes writers).
#ifndef TRIAD_COORDINATOR_COORDINATOR_H_
#define TRIAD_COORDINATOR_COORDINATOR_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attestation/verifier.h"
#include "base/clock.h"
#include "contracts/contract.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"
#include "storage/blob_store.h"
#include "storage/store.h"

namespace triad::coordinator {

struct CoordinatorOptions {
  absl::Duration nonce_ttl = absl::Minutes(2);  // how long a worker has to attest
  absl::Duration lease = absl::Minutes(10);     // silence after which an admitted job is requeued
  absl::Duration poll_wait =
      absl::Seconds(5);  // how long Poll (and AwaitKeys, keyholder polls) wait
  // A worker whose admission was refused for a job is not offered that job again for this long.
  absl::Duration reject_cooloff = absl::Minutes(1);
  // How long an admitted attempt waits for the keyholders' answers before it is queued again.
  absl::Duration release_timeout = absl::Minutes(10);
  uint64_t max_artifact_bytes = uint64_t{64} << 30;
  uint64_t max_output_bytes = uint64_t{16} << 30;
  // Ciphertext one party may hold here, all its artifacts together.
  uint64_t party_quota_bytes = uint64_t{256} << 30;
  // Concurrent WatchJob streams per party, and workers per compute provider.
  int max_watches_per_party = 16;
  int max_workers_per_provider = 256;
  // Calls that hold a server thread while they wait (Poll, AwaitKeys, the keyholders' polls,
  // WatchJob streams), all parties together: fewer than the server's threads (ServerOptions::
  // max_threads, 256 by default), so that the rest stay free for calls that answer at once.
  int max_waiting_calls = 192;
  // Parties register themselves (RegisterParty) instead of being added by the operator.
  bool open_registration = false;
};

struct RegisterPartyResult {
  std::string name;
  std::string fingerprint;
  bool already_registered = false;
};

struct ArtifactInfo {
  std::string id;
  std::string kind;
  std::string name;
  std::string owner;
  uint64_t size = 0;
  absl::Time registered;  // when it was stored (unset for a job's output)
};

// A party's own view of itself here (ListArtifacts).
struct PartyArtifacts {
  std::string party;
  std::string role;
  std::string fingerprint;
  std::vector<ArtifactInfo> artifacts;  // the ones it registered, oldest first
};

// Receives one upload (an artifact, or a job's output). Not thread-safe. Destroying it without a
// successful Finish stores nothing.
class Upload {
 public:
  virtual ~Upload() = default;
  virtual absl::Status Write(absl::string_view chunk) = 0;
  // Checks and commits; returns what was registered.
  virtual absl::StatusOr<ArtifactInfo> Finish() = 0;
};

struct ContractInfo {
  std::string id;
  std::string state;  // "active", "expired", "revoked"
  std::string digest;
  std::vector<std::string> reasons;  // why it is not active (empty when active)
};

// A contract as ListContracts shows it to one signer.
struct ContractListing {
  ContractInfo info;
  std::string place;  // the signer's place: its role in the contract, or "auditor"
  std::string model_name;
  std::string dataset_name;
  absl::Time not_after;
  absl::Time created;  // when the coordinator stored it
};

// A job as parties and the CLI see it.
struct JobView {
  storage::Job job;
  // Why it failed; or, while queued again, why its last attempt ended (a refused admission, an
  // expired nonce or lease).
  std::string reason;
  bool simulated = false;  // admitted on a `sim` TEE
  // The asker may see the progress loss (when there is one): it is a metrics recipient and the
  // contract lets per-step loss leave the TEE.
  bool loss_visible = false;
};

struct Assignment {
  std::string job_id;
  std::string contract_envelope_json;
  std::string nonce;  // 32 bytes
  absl::Time nonce_expires;
  std::vector<ArtifactInfo> inputs;  // base model, then dataset
};

struct AttestInput {
  std::string request_envelope_json;  // action "attest", by the compute provider
  attestation::Evidence evidence;
  std::string ephemeral_signature_envelope_json;  // the same payload, by the ephemeral key
};

struct RewrappedHeader {
  std::string artifact_id;
  std::string header;        // the age header the owner's keyholder re-wrapped to the worker
  std::string receipt_json;  // the owner's signed release receipt
};

struct AttestResult {
  bool admitted = false;
  std::vector<std::string> reasons;
  bool simulated = false;
  std::string claims_json;  // "{}" when the evidence did not verify
  std::string evidence_digest;
};

// What AwaitKeys answers: every input's header (ready), a refusal (the attempt ends), or neither
// yet.
struct KeysResult {
  bool ready = false;
  std::vector<RewrappedHeader> headers;
  bool refused = false;
  std::vector<std::string> reasons;
};

struct LeaseResult {
  absl::Time expires;  // the worker may hold the keys until then
  bool stop = false;   // stop and wipe now: the contract is revoked or expired, or the job ended
  std::string reason;
};

// A log entry with its inclusion proof (keyholder relay).
struct ProvenEntry {
  uint64_t index = 0;
  std::string entry;
  std::vector<std::string> inclusion_proof;
};

// What a keyholder needs to decide one release on its own (docs/custody.md).
struct ReleaseRequestView {
  std::string release_id;
  std::string job_id;
  int64_t attempt = 0;
  std::string artifact_id;
  std::string contract_envelope_json;
  std::string submission_envelope_json;
  std::string evidence_document;
  std::vector<ProvenEntry> job_entries;  // job.submitted .. the admission, in log order
  std::string checkpoint;                // the signed note the proofs lead to
  std::vector<std::string> consistency_proof;
  uint64_t consistency_from = 0;
  bool contract_revoked = false;
};

class Coordinator {
 public:
  // `clock`, `store` and `blobs` are borrowed and must outlive the coordinator. `anchors` are the
  // roots (and trusted sim keys) evidence is verified against. `signing_key` signs the
  // coordinator's job record envelopes (the store signs checkpoints with the same key through its
  // own NoteSigner); its fingerprint is the audience every request must name.
  Coordinator(const base::Clock& clock, storage::Store& store, storage::BlobStore& blobs,
              attestation::TrustAnchors anchors, crypto::Ed25519PrivateKey signing_key,
              CoordinatorOptions options = {});
  ~Coordinator();

  // The audience of the requests this coordinator accepts: its card's key fingerprint.
  const std::string& fingerprint() const { return fingerprint_; }

  // ---- Registry ----
  // Self-registration, only with options.open_registration (else PERMISSION_DENIED saying that the
  // operator adds parties): action "register-party", body {"card": CARD}, signed by the card's key.
  absl::StatusOr<RegisterPartyResult> RegisterParty(absl::string_view envelope_json);
  // Action "register-artifact", body {"kind", "name", "id", "size"}, by a registered model owner
  // (model) or data owner (dataset). The upload then receives the ciphertext.
  absl::StatusOr<std::unique_ptr<Upload>> BeginArtifactUpload(absl::string_view envelope_json);
  // Action "list-artifacts", body {}, by a registered party: who it is here and the artifacts it
  // registered (nobody else's).
  absl::StatusOr<PartyArtifacts> ListArtifacts(absl::string_view envelope_json);

  // ---- Contracts ----
  absl::StatusOr<ContractInfo> SubmitContract(absl::string_view envelope_json);
  // Action "get-contract", body {"contract_id"}, by a party of the contract or an auditor it names.
  absl::StatusOr<ContractInfo> GetContract(absl::string_view id,
                                           absl::string_view request_envelope_json,
                                           std::string* envelope_json = nullptr);
  // Action "revoke-contract", body {"contract_id", "reason"}, by any one of its three parties: the
  // contract ends (logged contract.revoked); its jobs that have not ended fail.
  absl::StatusOr<ContractInfo> RevokeContract(absl::string_view envelope_json);
  // Action "list-contracts", body {}, by a registered party or an auditor some contract names: the
  // contracts in which the signer is one of the three parties or a named auditor, oldest first.
  absl::StatusOr<std::vector<ContractListing>> ListContracts(absl::string_view envelope_json);

  // ---- Jobs ----
  // Action "submit-job", body {"contract_id"}, by the contract's model owner or data owner.
  absl::StatusOr<JobView> SubmitJob(absl::string_view envelope_json);
  // Action "get-job", body {"job_id"}, by a party of the job's contract or an auditor it names; by
  // a metrics recipient, the view includes the loss (when the contract lets it out). `valid_until`,
  // when given, receives the end of the request's freshness (WatchJob stops there).
  absl::StatusOr<JobView> GetJob(absl::string_view id, absl::string_view request_envelope_json,
                                 absl::Time* valid_until = nullptr);
  // A WatchJob stream slot for the party that signed `request_envelope_json` (at most
  // max_watches_per_party at once; kResourceExhausted past it). Released when the returned object
  // goes.
  absl::StatusOr<std::shared_ptr<void>> OpenWatch(absl::string_view request_envelope_json);
  // A slot for a call that is about to wait (at most options.max_waiting_calls at once). Past it:
  // kResourceExhausted for a watch (`watch`), kUnavailable for a poll, whose client backs off and
  // asks again. Released when the returned object goes.
  absl::StatusOr<std::shared_ptr<void>> HoldWaitingCall(bool watch) const;
  // How many calls hold such a slot now.
  int waiting_calls() const { return waiting_calls_.load(); }
  // Action "list-jobs", body {} or {"contract_id"}, signed as for ListContracts: the jobs of the
  // contracts the signer may read (of the one named: kNotFound when it may not read it), each as
  // GetJob shows it to the signer, oldest first.
  absl::StatusOr<std::vector<JobView>> ListJobs(absl::string_view envelope_json);
  // Action "cancel-job", body {"job_id", "reason"}, by the contract's model owner or data owner: a
  // job that has not ended fails ("cancelled by NAME: REASON", logged job.failed); kFailedPrecondition
  // when it has ended. Its worker learns it at its next lease renewal (stop and wipe).
  absl::StatusOr<JobView> CancelJob(absl::string_view envelope_json);
  // Action "download-artifact", body {"artifact_id"}, by the party that registered it: its own
  // ciphertext back (to check what the coordinator holds). Adapters go through OpenOutput, inputs to
  // workers through OpenInput.
  absl::StatusOr<std::unique_ptr<storage::BlobReader>> OpenArtifact(absl::string_view envelope_json);
  // Action "fetch-output", body {"job_id"}, by a party in the contract's adapter recipients; the
  // encrypted adapter.
  absl::StatusOr<std::unique_ptr<storage::BlobReader>> OpenOutput(absl::string_view envelope_json,
                                                                  std::string* output_id = nullptr);

  // A counter that moves whenever any job changes; WaitForChange blocks until it differs from
  // `seen` or `timeout` passes, and returns the current value.
  uint64_t ChangeCount() const;
  uint64_t WaitForChange(uint64_t seen, absl::Duration timeout) const;

  // ---- Workers ----
  // Action "poll", body {"worker_id", "tee"}, by a registered compute provider. Registers or
  // refreshes the worker, and assigns it the oldest queued job of a contract naming its provider
  // whose policy accepts its TEE, with a fresh nonce; waits up to poll_wait for one (returning
  // early when `cancelled` says so). nullopt when there is none. A worker runs one job at a time:
  // jobs it still holds when it polls are queued again first (logged job.requeued). Queued jobs
  // whose contract is no longer active fail (job.failed).
  absl::StatusOr<std::optional<Assignment>> Poll(absl::string_view envelope_json,
                                                 const std::function<bool()>& cancelled = nullptr);
  // Admission: see coordinator/README.md. A refusal by the policy, the evidence or the binding is
  // an OK result with admitted = false and the reasons (the job is queued again); a request that
  // fails authentication, freshness, the nonce or the job's state is an error. On admission a
  // release request per input goes to its owner's keyholder.
  absl::StatusOr<AttestResult> Attest(const AttestInput& input);
  // Action "await-keys", body {"job_id"}, by the admitted ephemeral key: the keyholders' answers,
  // waiting up to poll_wait for them.
  absl::StatusOr<KeysResult> AwaitKeys(absl::string_view envelope_json,
                                       const std::function<bool()>& cancelled = nullptr);
  // Action "renew-lease", body {"job_id"}, by the admitted ephemeral key.
  absl::StatusOr<LeaseResult> RenewLease(absl::string_view envelope_json);
  // Action "download-input", body {"job_id", "artifact_id"}, by the job's admitted ephemeral key.
  absl::StatusOr<std::unique_ptr<storage::BlobReader>> OpenInput(absl::string_view envelope_json);
  // Action "report-progress", body {"job_id", "step", "total_steps", "tokens_per_second", "loss"?}.
  absl::Status ReportProgress(absl::string_view envelope_json);
  // Action "report-failure", body {"job_id", "reason"}: by the ephemeral key after admission (the
  // job fails), or by the compute provider before it (the job is queued again).
  absl::Status ReportFailure(absl::string_view envelope_json);
  // Action "deliver-output", body {"job_id", "record"}, by the ephemeral key; the upload receives
  // the encrypted adapter.
  absl::StatusOr<std::unique_ptr<Upload>> BeginOutputUpload(absl::string_view envelope_json);

  // ---- Keyholders ----
  // Action "keyholder-poll", body {"known_tree_size"}, by a model or data owner: its pending
  // release requests, waiting up to poll_wait for one.
  absl::StatusOr<std::vector<ReleaseRequestView>> KeyholderPoll(
      absl::string_view envelope_json, const std::function<bool()>& cancelled = nullptr);
  // Action "keyholder-answer", body {"release_id", "receipt", "header"?}, by the artifact's owner.
  absl::Status KeyholderAnswer(absl::string_view envelope_json);

  // ---- Leases ----
  // One pass: requeues jobs whose nonce expired unattested or whose admitted worker was silent for
  // the lease, fails queued jobs whose contract expired, and forgets old unkept request ids.
  // Returns how many jobs it changed.
  absl::StatusOr<int> Sweep();

  // ---- Audit ----
  // Action "export-bundle", body {"job_id", "consistency_from"?: [sizes]}, by a party of the job's
  // contract or an auditor it names: the audit bundle (verify/bundle.h documents the format).
  absl::StatusOr<std::string> ExportBundle(absl::string_view job_id,
                                           absl::string_view request_envelope_json);
  // Action "get-entries", body {"start", "end"}: the entries the signer may read (others empty),
  // and every leaf hash.
  absl::Status GetEntries(absl::string_view envelope_json, uint64_t start, uint64_t end,
                          std::vector<std::string>* entries, std::vector<std::string>* leaf_hashes);
  // Action "get-inclusion-proof", body {"index", "tree_size"}, by a party that may read the entry.
  absl::StatusOr<std::vector<std::string>> GetInclusionProof(absl::string_view envelope_json,
                                                             uint64_t index, uint64_t tree_size);
  // The newest checkpoint with the cosignatures held for it (public).
  absl::StatusOr<std::string> CheckpointWithCosignatures();
  // Keeps the valid cosignature lines of `signed_note` by witnesses the coordinator knows (its
  // registered parties and the auditors of its contracts); returns how many.
  absl::StatusOr<int> AddCosignatures(absl::string_view signed_note);

  storage::Store& store() { return store_; }
  const base::Clock& clock() const { return clock_; }
  const CoordinatorOptions& options() const { return options_; }

 private:
  class ArtifactUpload;
  class OutputUpload;
  class Transfer;
  struct PartyRequest;
  struct EphemeralRequest;
  struct CachedContract;

  absl::StatusOr<PartyRequest> VerifyPartyRequest(absl::string_view envelope_json,
                                                  absl::string_view action);
  // A read about `contract_id`: by one of its parties (registered, not removed) or an auditor it
  // names. kPermissionDenied otherwise.
  struct ReadRequest;
  absl::StatusOr<ReadRequest> VerifyReadRequest(absl::string_view envelope_json,
                                                absl::string_view action,
                                                const std::string& contract_id);
  // Why the contract does not allow work now (expired, not yet valid, revoked); empty when it does.
  std::vector<std::string> ContractProblems(const CachedContract& c, absl::Time now) const;
  // Its state now (active, expired or revoked) with the reasons.
  ContractInfo InfoOf(const CachedContract& c) const;
  // A checkpoint's signed note with the cosignature lines held for it.
  absl::StatusOr<std::string> NoteWithCosignatures(const storage::LogCheckpoint& checkpoint) const;
  // Who signed a log read (action, body keys checked by the caller): a registered party or an
  // auditor some contract names; and whether it may read an entry of `scope`.
  struct LogReader;
  absl::StatusOr<LogReader> VerifyLogReader(absl::string_view envelope_json,
                                            absl::string_view action);
  bool MayRead(const LogReader& reader, const storage::LogScope& scope);
  absl::StatusOr<EphemeralRequest> VerifyEphemeralRequest(absl::string_view envelope_json,
                                                          absl::string_view action);
  absl::Status CheckUnused(const std::string& request_id) const;
  absl::StatusOr<std::shared_ptr<const CachedContract>> LoadContract(absl::string_view id);
  absl::StatusOr<JobView> View(const storage::Job& job, bool loss_visible) const;
  absl::StatusOr<std::optional<Assignment>> TryAssign(const PartyRequest& req,
                                                      const std::string& worker_id,
                                                      const std::string& tee, bool last_try);
  void NotifyChange();
  // Transfers in flight for a job (input downloads, output uploads) keep its lease alive.
  std::unique_ptr<Transfer> StartTransfer(const std::string& job_id);
  bool InTransfer(const std::string& job_id);

  const base::Clock& clock_;
  storage::Store& store_;
  storage::BlobStore& blobs_;
  attestation::TrustAnchors anchors_;
  crypto::Ed25519PrivateKey signing_key_;
  std::string fingerprint_;
  CoordinatorOptions options_;

  mutable std::atomic<int> waiting_calls_{0};
  std::mutex watches_mu_;
  std::map<std::string, int> watches_;  // open WatchJob streams per party

  mutable std::mutex change_mu_;
  mutable std::condition_variable change_cv_;
  uint64_t changes_ = 0;

  std::mutex prune_mu_;
  absl::Time last_prune_ = absl::InfinitePast();

  std::mutex transfers_mu_;
  std::map<std::string, int> transfers_;

  std::mutex contracts_mu_;
  std::map<std::string, std::shared_ptr<const CachedContract>> contracts_;
};

}  // namespace triad::coordinator

#endif  // TRIAD_COORDINATOR_COORDINATOR_H_
