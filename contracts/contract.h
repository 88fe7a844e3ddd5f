// The contract: the three-party agreement every decision of Triad is checked against, carried as
// the payload of a DSSE envelope that each of the three parties signs.
//
// The payload is JSON, `type: "triad.contract/v1"`, as contracts/schema/contract.schema.json
// defines:
//   {"type": "triad.contract/v1", "id": "…",
//    "created": "…Z", "not_before": "…Z", "not_after": "…Z",
//    "parties": {"model_owner": CARD, "data_owner": CARD, "compute_provider": CARD},
//    "base_model": {"id": "sha256:<hex of the ciphertext>", "name": "…"}, "dataset": {…},
//    "training": {…} (contracts/training.h), "worker_policy": {…} (contracts/policy.h),
//    "outputs": {"adapter_recipients": ["model_owner", "data_owner"],
//                "metrics_recipients": ["model_owner", "data_owner"], "per_step_loss": false},
//    "terms": {"max_jobs": 1, "key_lease_seconds": 300},     (optional; these are the defaults)
//    "auditors": [CARD, …]}                                   (optional; role auditor)
// Unknown fields are rejected. Beyond the schema, code checks: valid times with
// created <= not_before < not_after; party cards whose fingerprints match their keys; three
// distinct signing keys and age recipients; auditors whose keys are no party's and distinct; two
// different artifacts; the policy's and training's own rules; and GpuContractProblems (training on
// GPUs only with a policy that attests them).
//
// Drafting serializes the contract once; those bytes are what all three parties sign, in any order,
// and signing never changes them. A contract is active at time `now` only when its payload parses
// and validates, its envelope holds exactly one valid signature by each of the three parties and no
// other, and not_before <= now < not_after.
#ifndef TRIAD_CONTRACTS_CONTRACT_H_
#define TRIAD_CONTRACTS_CONTRACT_H_

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contracts/card.h"
#include "contracts/policy.h"
#include "contracts/training.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "nlohmann/json.hpp"

namespace triad::contracts {

inline constexpr absl::string_view kContractType = "triad.contract/v1";
inline constexpr absl::string_view kContractPayloadType = "application/vnd.triad.contract+json";
// Bound on a contract payload, and on an envelope file (payload in base64 plus signatures).
inline constexpr size_t kMaxContractPayloadSize = 256 * 1024;
inline constexpr size_t kMaxContractEnvelopeSize = 512 * 1024;

// The three party slots of a contract, in this order everywhere.
inline constexpr Role kContractRoles[] = {Role::kModelOwner, Role::kDataOwner,
                                          Role::kComputeProvider};
// "model_owner", "data_owner", "compute_provider" (the slot's key in `parties` and `outputs`).
absl::string_view SlotName(Role role);

// An encrypted artifact: the id is "sha256:<hex>" of its age ciphertext.
struct Artifact {
  std::string id;
  std::string name;
};

struct Outputs {
  std::vector<Role> adapter_recipients;  // kModelOwner and/or kDataOwner, at least one
  std::vector<Role> metrics_recipients;  // any of the three slots, possibly none
  bool per_step_loss = false;            // may per-step loss leave the TEE (to metrics recipients)

  // Adapter to both owners, metrics to both owners, no per-step loss.
  static Outputs Default();
  nlohmann::ordered_json ToJson() const;
  // Checks against the schema's outputs section; problems as in TrainingConfig::FromJson.
  static absl::StatusOr<Outputs> FromJson(const nlohmann::json& j,
                                          std::vector<std::string>* problems = nullptr);
  static absl::StatusOr<Outputs> FromText(absl::string_view text,
                                          std::vector<std::string>* problems = nullptr);
};

// Limits every keyholder enforces (docs/custody.md).
struct Terms {
  uint32_t max_jobs = 1;             // distinct jobs each owner releases its key for
  uint32_t key_lease_seconds = 300;  // a worker holds released keys this long without renewing

  absl::Duration key_lease() const { return absl::Seconds(key_lease_seconds); }
  nlohmann::ordered_json ToJson() const;
};

struct Contract {
  std::string id;  // a name: 1..64 of [A-Za-z0-9._-]
  absl::Time created;
  absl::Time not_before;
  absl::Time not_after;
  PartyCard model_owner;
  PartyCard data_owner;
  PartyCard compute_provider;
  Artifact base_model;
  Artifact dataset;
  TrainingConfig training;
  WorkerPolicy worker_policy;
  Outputs outputs;
  Terms terms;
  // Auditors who may read the contract's jobs, log entries and bundles; no key of a party.
  std::vector<PartyCard> auditors;

  // The card in a slot; `role` must be one of kContractRoles (the auditor has no slot: returns
  // model_owner's for it, so check first).
  const PartyCard& party(Role role) const;
  // The slot whose signing key has this key id, or nullopt.
  std::optional<Role> RoleOfKeyId(absl::string_view key_id) const;
  // The auditor with this key id, or null.
  const PartyCard* AuditorOfKeyId(absl::string_view key_id) const;

  // The payload JSON, keys in the order of the schema.
  nlohmann::ordered_json ToJsonValue() const;
  // The payload bytes: ToJsonValue() pretty-printed (2 spaces) with a trailing newline.
  std::string ToPayload() const;

  // Parses and validates payload bytes: strict JSON (bounded by kMaxContractPayloadSize), the
  // schema, then the rules in code. On failure: kInvalidArgument "contract: <problem>; …", and each
  // problem in `problems` when given ("/training/rank: 0 is less than minimum 1",
  // "/not_after: 2025-07-01T00:00:00Z is not after not_before 2025-07-02T00:00:00Z").
  static absl::StatusOr<Contract> FromPayload(absl::string_view payload,
                                              std::vector<std::string>* problems = nullptr);
};

// The GPU rule of a contract: training.gpus = N > 0 needs worker_policy.nvidia_gpu with count N
// ("/worker_policy: training asks for 2 GPUs but the policy has no nvidia_gpu section: …"), and an
// nvidia_gpu section needs training.gpus equal to its count ("/worker_policy/nvidia_gpu/count: 2,
// but training asks for 0 GPUs (/training/gpus)"). Empty when the two agree. Contract::FromPayload
// applies it, so no contract that breaks it drafts, signs or activates.
std::vector<std::string> GpuContractProblems(const TrainingConfig& training,
                                             const WorkerPolicy& policy);
// The same as a status: OK, or kInvalidArgument "contract: <problem>".
absl::Status CheckGpuContract(const TrainingConfig& training, const WorkerPolicy& policy);

// "sha256:<hex>" of the payload bytes: what names the signed terms in records and logs.
std::string ContractDigest(const crypto::DsseEnvelope& envelope);

// Serializes `contract` once into its payload, checks that those bytes parse back into a valid
// contract, and returns an envelope with that payload and no signatures. Fails with
// kInvalidArgument listing the problems when the contract is not valid.
absl::StatusOr<crypto::DsseEnvelope> DraftContract(const Contract& contract);

// Appends `key`'s signature over the envelope's payload, which is not changed. Refuses, with
// kFailedPrecondition saying why: an envelope that is not a contract, or whose payload does not
// validate; a key that is not one of the three parties; a party that has signed already (any
// signature carrying its key id); a contract that has expired at `now`.
absl::Status SignContract(crypto::DsseEnvelope& envelope, const crypto::Ed25519PrivateKey& key,
                          absl::Time now);

enum class SignatureState {
  kMissing,    // no signature carries the party's key id
  kValid,      // exactly one does, and it verifies
  kInvalid,    // exactly one does, and it does not verify
  kDuplicate,  // more than one does
};
// "missing", "valid", "invalid", "duplicate".
absl::string_view SignatureStateName(SignatureState state);

struct ContractStatus {
  // Set when the payload parsed and validated (even if the contract is not active).
  std::optional<Contract> contract;
  std::string digest;  // ContractDigest()
  // Per slot, in the order of kContractRoles; meaningful only when `contract` is set.
  std::array<SignatureState, 3> signatures{SignatureState::kMissing, SignatureState::kMissing,
                                           SignatureState::kMissing};
  // Every reason the contract is not active, one line each; empty iff it is active.
  std::vector<std::string> reasons;

  bool active() const { return reasons.empty(); }
  // {"active": bool, "id": …, "digest": …, "signatures": {"model_owner": "valid", …},
  //  "not_before": …, "not_after": …, "reasons": […]}
  nlohmann::ordered_json ToJson() const;
};

// Decides whether `envelope` is an active contract at `now`, listing every reason it is not. Each
// check adds its own reason:
//   payloadType "…" is not "application/vnd.triad.contract+json"
//   <each validation problem of the payload>
//   no signature by <slot> <name> (key <fingerprint>)
//   signature by <slot> <name> (key <fingerprint>) does not verify
//   <slot> <name> (key <fingerprint>) signed more than once
//   signature <i> with key id "…" is not by a party of the contract
//   not yet valid: now <t> is before not_before <t>
//   expired: now <t> is not before not_after <t>
// Pure; thread-safe.
ContractStatus CheckContract(const crypto::DsseEnvelope& envelope, absl::Time now);

}  // namespace triad::contracts

#endif  // TRIAD_CONTRACTS_CONTRACT_H_
