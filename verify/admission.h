// What an owner's keyholder verifies, on its own, before it releases a file key to an admitted
// worker (docs/custody.md, "What the keyholder checks"): the log, the contract, the submission, the
// evidence and the binding, from what the coordinator relayed and nothing else it says. The
// keyholder adds what only it knows (the checkpoint it saw last, the nonces it has seen, its
// revocation list and release count, the artifact's header).
//
// Pure and thread-safe; reads nothing but its arguments.
#ifndef TRIAD_VERIFY_ADMISSION_H_
#define TRIAD_VERIFY_ADMISSION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attestation/verifier.h"
#include "contracts/card.h"
#include "contracts/claims.h"
#include "contracts/contract.h"
#include "coordinator/card.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"
#include "crypto/note.h"

namespace triad::verify {

// How far a keyholder accepts an admission's logged time from its own clock.
inline constexpr absl::Duration kMaxAdmissionAge = absl::Minutes(10);

// A release request as the coordinator relays it (proto ReleaseRequest).
struct ReleaseContext {
  std::string release_id;
  std::string job_id;
  uint64_t attempt = 0;
  std::string artifact_id;
  std::string contract_envelope_json;
  std::string submission_envelope_json;
  std::string evidence_document;
  struct ProvenEntry {
    uint64_t index = 0;
    std::string entry;
    std::vector<std::string> inclusion_proof;  // raw hashes
  };
  std::vector<ProvenEntry> job_entries;
  std::string checkpoint;
  std::vector<std::string> consistency_proof;
  uint64_t consistency_from = 0;
  bool contract_revoked = false;
};

// What holds once every check passed.
struct VerifiedAdmission {
  contracts::Contract contract;
  std::string contract_digest;
  contracts::Role owner_slot;     // kModelOwner or kDataOwner
  crypto::Checkpoint checkpoint;  // the coordinator-signed checkpoint the proofs lead to
  uint64_t admission_index = 0;
  absl::Time admitted_at;          // the job.admission entry's time
  std::string nonce;               // 32 bytes
  std::string ed25519_public_key;  // raw 32 bytes: the worker's ephemeral key
  std::string age_recipient;       // "age1…": the worker's ephemeral recipient
  std::string evidence_digest;
  contracts::Claims claims;
  std::string submission_digest;  // of the submit-job request's payload, as job.submitted names it
};

struct AdmissionVerdict {
  std::optional<VerifiedAdmission> admission;  // set exactly when every check held
  std::vector<std::string> reasons;            // every failed check, one line each
  // A failure that no other attempt of the job can change (the contract is not this owner's, not
  // active, revoked, or names another artifact): the receipt says final.
  bool final = false;
  // The checkpoint, when it verified and was proven to extend `last_seen` (the keyholder keeps it
  // as its new last view, even when the request is refused for another reason); nullopt otherwise.
  std::optional<crypto::Checkpoint> checkpoint;
};

// Checks `r` for `owner` (its card) against the coordinator `card`, with the keyholder's own
// `anchors` at its own `now`. `last_seen` is the checkpoint the keyholder saw last (nullopt for
// none): the new one must extend it, with r.consistency_proof from r.consistency_from. The checks,
// in order (docs/custody.md): checkpoint signature and consistency; entries' inclusion; the job's
// hash chain from job.submitted to this attempt's admission, which admitted; the contract (this
// owner's, with artifact_id in the owner's slot, signed by all three, active at `now`, not
// revoked in the coordinator's word, its digest the one the entries name); the submission (signed
// by the model or data owner, its digest the one job.submitted names); the admission's age; the
// evidence (its digest, verified at `now`, the contract's policy on its claims); the binding (the
// report data binds the logged nonce, job, keys).
AdmissionVerdict VerifyAdmission(const ReleaseContext& r, const coordinator::CoordinatorCard& card,
                                 const contracts::PartyCard& owner,
                                 const attestation::TrustAnchors& anchors, absl::Time now,
                                 const std::optional<crypto::Checkpoint>& last_seen);

}  // namespace triad::verify

#endif  // TRIAD_VERIFY_ADMISSION_H_
