// The coordinator's records as plain structs, and the job and contract state machines.
//
// Ids and names are opaque text chosen by the caller (the coordinator): artifact ids and digests are
// "sha256:<64 lower-case hex>"; JSON columns hold the documents exactly as received (DSSE envelopes,
// party cards), never re-serialized. Nothing here ever holds a secret or plaintext.
#ifndef TRIAD_STORAGE_RECORDS_H_
#define TRIAD_STORAGE_RECORDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace triad::storage {

// Bounds on what the store accepts (kInvalidArgument beyond them).
inline constexpr size_t kMaxIdBytes = 256;                 // ids, names, roles, kinds, reasons' keys
inline constexpr size_t kMaxDocumentBytes = 1 << 20;       // JSON documents and envelopes
inline constexpr size_t kMaxEvidenceBytes = 4 << 20;       // raw attestation evidence with collateral
inline constexpr size_t kMaxReasonBytes = 4096;            // a failure reason

// ---- Jobs --------------------------------------------------------------------------------------
//
//   queued -> assigned -> attesting -> admitted -> running -> sealing -> done
//      any state but done and failed -> failed   (with a reason)
//      assigned, attesting, admitted, running, sealing -> queued   (retry with another worker or
//                                                                   after a restart; attempt + 1
//                                                                   on the next assignment)
enum class JobState { kQueued, kAssigned, kAttesting, kAdmitted, kRunning, kSealing, kDone, kFailed };

// "queued", "assigned", ... as stored and shown.
absl::string_view JobStateName(JobState s);
absl::StatusOr<JobState> ParseJobState(absl::string_view name);
bool IsTerminal(JobState s);  // done, failed

// The one place that says which transitions are legal. OK or kFailedPrecondition
// "illegal job state transition running -> assigned" (", done is final" for terminal states).
absl::Status CheckJobTransition(JobState from, JobState to);

struct JobProgress {
  int64_t step = 0;
  int64_t total_steps = 0;
  double tokens_per_second = 0;
  std::optional<double> loss;  // only when the contract allows reporting it
  std::optional<absl::Time> updated_at;
};

struct Job {
  std::string id;
  std::string contract_id;
  std::string submitter;      // party name
  std::string envelope_json;  // the signed submission
  JobState state = JobState::kQueued;
  int64_t attempt = 0;        // 1 on the first assignment, +1 on each later one
  std::string worker_id;      // set from assigned until requeued; kept when done or failed
  std::string failure_reason; // non-empty exactly when failed
  JobProgress progress;
  std::string output_artifact;  // the encrypted adapter's artifact id, once done
  // Hex SHA-256 of the newest log entry about the job (its hash chain, docs/custody.md); empty
  // before the first.
  std::string chain_head;
  absl::Time created_at;
  absl::Time updated_at;
};

struct NewJob {
  std::string id;
  std::string contract_id;
  std::string submitter;
  std::string envelope_json;
};

// What TransitionJob does besides changing the state. Fields that a transition does not use must be
// empty. Build one with the factories:
//   JobTransition::Assign(worker_id)
//   JobTransition::To(JobState::kRunning).From(JobState::kAdmitted).ByWorker(worker_id)
//   JobTransition::Fail("digest mismatch of input sha256:...")
//   JobTransition::Done(adapter_artifact_id)
struct JobTransition {
  JobState to = JobState::kQueued;
  // When set, the job must be in this state (compare-and-set), else kFailedPrecondition.
  std::optional<JobState> expected_from;
  // When non-empty, the job's worker must be this one (a worker acting on its own job).
  std::string expected_worker;
  std::string worker_id;        // required for -> assigned
  std::string failure_reason;   // required for -> failed
  std::string output_artifact;  // required for -> done: an artifact of kind adapter

  static JobTransition To(JobState s) {
    JobTransition t;
    t.to = s;
    return t;
  }
  static JobTransition Assign(std::string worker) {
    JobTransition t = To(JobState::kAssigned);
    t.worker_id = std::move(worker);
    return t;
  }
  static JobTransition Fail(std::string reason) {
    JobTransition t = To(JobState::kFailed);
    t.failure_reason = std::move(reason);
    return t;
  }
  static JobTransition Done(std::string artifact) {
    JobTransition t = To(JobState::kDone);
    t.output_artifact = std::move(artifact);
    return t;
  }
  JobTransition& From(JobState s) {
    expected_from = s;
    return *this;
  }
  JobTransition& ByWorker(std::string worker) {
    expected_worker = std::move(worker);
    return *this;
  }
};

// ---- Registry ----------------------------------------------------------------------------------

struct Party {
  std::string name;
  std::string role;           // as in the card: "model-owner", "data-owner", ...
  std::string key_id;         // the card's Ed25519 key id (unique)
  std::string card_json;
  std::string envelope_json;  // the registration DSSE envelope, or the operator's note
  absl::Time registered_at;   // set by the store
  // Set when the operator removed the party (RemoveParty): its requests are refused from then on.
  std::optional<absl::Time> removed_at;
};

enum class ArtifactKind { kModel, kDataset, kAdapter };
absl::string_view ArtifactKindName(ArtifactKind k);  // "model", "dataset", "adapter"
absl::StatusOr<ArtifactKind> ParseArtifactKind(absl::string_view name);

// The blob (BlobStore) with the same id holds the whole age file, header and key-broker stanza
// included.
struct Artifact {
  std::string id;             // "sha256:<hex>" of the ciphertext
  ArtifactKind kind = ArtifactKind::kModel;
  std::string name;
  std::string owner;          // party name; empty exactly for adapters (a job's output)
  uint64_t size = 0;          // ciphertext bytes
  std::string envelope_json;  // registration envelope (for an adapter: the worker's output statement)
  absl::Time registered_at;   // set by the store
};

enum class ContractState { kDraft, kActive, kExpired };
absl::string_view ContractStateName(ContractState s);
absl::StatusOr<ContractState> ParseContractState(absl::string_view name);
// draft -> active, draft -> expired, active -> expired; else kFailedPrecondition.
absl::Status CheckContractTransition(ContractState from, ContractState to);

struct Contract {
  std::string id;
  std::string digest;         // "sha256:<hex>" of the contract payload
  std::string envelope_json;  // the contract with its signatures
  ContractState state = ContractState::kDraft;
  absl::Time expires_at;
  // Hex SHA-256 of the newest log entry about the contract itself (contract.signature,
  // contract.activated, contract.revoked); empty before the first.
  std::string chain_head;
  absl::Time created_at;      // set by the store
  absl::Time updated_at;      // set by the store
};

// A party ended a contract (any one of its three may). Final: a contract is revoked once.
struct Revocation {
  std::string contract_id;
  std::string party;  // the revoking party's name
  std::string reason;
  std::string envelope_json;  // the signed revoke-contract request
  absl::Time revoked_at;      // set by the store
};

// ---- Workers, admission, keys ------------------------------------------------------------------

struct Worker {
  std::string id;
  std::string provider;  // the compute provider's party name
  std::string tee;       // "sim", "tdx", "sev-snp"
  absl::Time joined_at;  // set by the store
  absl::Time last_seen;  // set by the store
};

// The ephemeral keys a worker made inside its TEE for one attempt of one job. Single use: the store
// refuses a recipient or public key it has seen before.
struct JobKeys {
  std::string job_id;
  int64_t attempt = 0;          // set by the store: the job's current attempt
  std::string worker_id;
  std::string age_recipient;    // "age1..."
  std::string ed25519_public_key;  // raw 32 bytes
  absl::Time created_at;        // set by the store
};

// Nonce values are 32 random bytes made by the store.
struct Nonce {
  std::string value;
  std::string job_id;
  int64_t attempt = 0;  // the job's attempt when issued
  std::string worker_id;
  absl::Time issued_at;
  absl::Time expires_at;
  std::optional<absl::Time> used_at;
};

struct Admission {
  int64_t id = 0;               // set by the store
  std::string job_id;
  int64_t attempt = 0;          // set by the store: the job's current attempt
  std::string worker_id;
  std::string evidence;         // raw evidence bytes with certificates and collateral
  std::string evidence_digest;  // "sha256:<hex>"
  std::string claims_json;
  bool admitted = false;
  std::string reasons_json;
  bool simulated = false;
  absl::Time decided_at;        // set by the store
};

struct KeyRelease {
  std::string job_id;
  std::string artifact_id;
  std::string recipient;  // the worker's ephemeral age recipient
  absl::Time released_at;
};

// A request to an owner's keyholder to release one artifact's key to one admitted attempt
// (docs/custody.md): pending until the keyholder answers with a release (the re-wrapped header and
// its signed receipt) or a refusal (its signed receipt and reasons), or until the attempt ends
// without an answer (cancelled: the job left the admitted state).
enum class ReleaseState { kPending, kReleased, kRefused, kCancelled };
absl::string_view ReleaseStateName(
    ReleaseState s);  // "pending", "released", "refused", "cancelled"
absl::StatusOr<ReleaseState> ParseReleaseState(absl::string_view name);

struct ReleaseRequest {
  std::string id;  // "<job>/<attempt>/<artifact>"
  std::string job_id;
  int64_t attempt = 0;
  std::string artifact_id;
  std::string owner;  // the artifact owner's party name
  ReleaseState state = ReleaseState::kPending;
  std::string header;                     // released: the re-wrapped age header
  std::string receipt_json;               // answered: the owner's signed receipt (DSSE envelope)
  bool final = false;                     // refused: no other attempt can change the answer
  std::string reasons_json;               // refused: JSON array of reasons
  absl::Time created_at;                  // set by the store
  std::optional<absl::Time> answered_at;  // set by the store
};

// A witness's cosignature of one checkpoint (C2SP tlog-cosignature), kept to serve with the note.
struct Cosignature {
  uint64_t size = 0;       // the checkpoint's tree size
  std::string key_id;      // the witness's Ed25519 key id
  std::string note_line;   // the signature line, "— <name> <base64>"
  absl::Time cosigned_at;  // the timestamp the cosignature carries
  absl::Time received_at;  // set by the store
};

// ---- Requests and job records ------------------------------------------------------------------

// A signed request the coordinator accepted, remembered so that its request_id is never accepted
// again. envelope_json is kept for requests that changed state and empty for the others, which
// PruneRequests may forget once their issued_at is too old to pass the freshness check anyway.
struct StoredRequest {
  std::string request_id;
  std::string action;
  std::string signer;         // the signing key's id
  absl::Time issued_at;
  absl::Time received_at;     // set by the store
  std::string envelope_json;  // empty: not kept
};

// The signed job record of a finished job: the same in-toto Statement in two DSSE envelopes, one
// signed by the worker's attested ephemeral key, one by the coordinator.
struct JobRecord {
  std::string job_id;
  std::string worker_envelope_json;
  std::string coordinator_envelope_json;
  absl::Time created_at;      // set by the store
};

// ---- Events ------------------------------------------------------------------------------------

struct Event {
  int64_t id = 0;                    // set by the store, increasing
  absl::Time time;                   // set by the store
  std::string job_id;                // empty when not about a job
  std::string kind;                  // e.g. "job.assigned"
  std::string detail_json;
  std::optional<uint64_t> log_index; // the transparency log entry recording it, if any
};

}  // namespace triad::storage

#endif  // TRIAD_STORAGE_RECORDS_H_
