// Release receipts (docs/custody.md): an owner's keyholder signs one for every decision it makes
// about releasing an artifact's file key to an admitted worker, a release or a refusal. The
// coordinator checks and logs them, audit bundles carry them, and auditors verify them against the
// owner's card.
//
// A receipt is a DSSE envelope, payloadType kReleasePayloadType, signed once by the owner's Ed25519
// key, whose payload is compact JSON with these keys in this order:
//   {"type": "triad.release/v1", "decision": "release" | "refuse", "final": bool,
//    "release_id", "contract_id", "contract_digest", "job_id", "attempt", "artifact_id",
//    "recipient": "age1…" (the worker's ephemeral recipient), "ed25519_public_key": base64 (the
//    worker's ephemeral key), "evidence_digest", "admission_index", "checkpoint_size",
//    "checkpoint_root": base64, "header_digest": "sha256:…" of the re-wrapped header ("" for a
//    refusal), "job_ordinal": N (a release: this job is the owner's N-th distinct job of the
//    contract to get its key, N <= max_jobs; 0 for a refusal), "reasons": [...] (empty for a
//    release), "time": RFC 3339}
// "final" is true for a refusal no other attempt can change (revoked, expired, max_jobs reached,
// not this owner's contract) and false otherwise (and for releases). Fields the keyholder could not
// learn from a malformed request are empty strings or 0 in a refusal.
#ifndef TRIAD_VERIFY_RECEIPT_H_
#define TRIAD_VERIFY_RECEIPT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"

namespace triad::verify {

inline constexpr char kReleasePayloadType[] = "application/vnd.triad.release+json";
inline constexpr char kReleaseType[] = "triad.release/v1";
inline constexpr size_t kMaxReceiptSize = 64 * 1024;

struct ReleaseReceipt {
  bool release = false;  // "release" (true) or "refuse" (false)
  bool final = false;
  std::string release_id;
  std::string contract_id;
  std::string contract_digest;
  std::string job_id;
  uint64_t attempt = 0;
  std::string artifact_id;
  std::string recipient;
  std::string ed25519_public_key;  // raw 32 bytes (or empty in a refusal)
  std::string evidence_digest;
  uint64_t admission_index = 0;
  uint64_t checkpoint_size = 0;
  std::string checkpoint_root;  // raw 32 bytes (or empty in a refusal)
  std::string header_digest;    // "sha256:<hex>" of the re-wrapped header; "" for a refusal
  uint64_t job_ordinal = 0;     // a release: 1..max_jobs; 0 for a refusal
  std::vector<std::string> reasons;
  absl::Time time;

  std::string ToPayload() const;
  // Strict: the exact keys, types and forms above, bounded. kInvalidArgument "release receipt: …".
  static absl::StatusOr<ReleaseReceipt> FromPayload(absl::string_view payload);
};

// The receipt in a DSSE envelope signed by `owner_key`.
crypto::DsseEnvelope SignReceipt(const ReleaseReceipt& receipt,
                                 const crypto::Ed25519PrivateKey& owner_key);

// Parses an envelope and checks it: payloadType, exactly one signature, by `owner_key`, over a
// well-formed receipt. kInvalidArgument for form, kPermissionDenied "release receipt is not signed
// by the owner's key K" for the signature.
absl::StatusOr<ReleaseReceipt> OpenReceipt(absl::string_view envelope_json,
                                           const crypto::Ed25519PublicKey& owner_key);

}  // namespace triad::verify

#endif  // TRIAD_VERIFY_RECEIPT_H_
