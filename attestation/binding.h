// Freshness and key binding of attestation evidence (DESIGN.md "A job, step by step", admission).
//
// The worker asks its TEE for evidence whose 64-byte report data is
//   SHA-512("triad/attest/v1" ‖ nonce ‖ job id ‖ Ed25519 public key ‖ age recipient)
// where the nonce is the coordinator's fresh 32 bytes, the job id its UTF-8 bytes, the Ed25519 key
// the worker's ephemeral signing key (raw 32 bytes) and the recipient the "age1…" text of its
// ephemeral X25519 identity. Only the job id varies in length (an X25519 recipient is always 62
// characters), so the concatenation is unambiguous.
#ifndef TRIAD_ATTESTATION_BINDING_H_
#define TRIAD_ATTESTATION_BINDING_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contracts/claims.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"

namespace triad::attestation {

inline constexpr char kBindingContext[] = "triad/attest/v1";
inline constexpr size_t kBindingNonceSize = 32;
inline constexpr size_t kMaxJobIdSize = 256;
inline constexpr size_t kReportDataSize = 64;

struct BindingInputs {
  std::string nonce;   // exactly 32 bytes
  std::string job_id;  // 1..256 bytes
  crypto::Ed25519PublicKey key;
  crypto::age::X25519Recipient recipient;
};

// The 64-byte report data for `in`. Fails with kInvalidArgument when the nonce is not 32 bytes or
// the job id is empty or longer than kMaxJobIdSize.
absl::StatusOr<std::string> ExpectedReportData(const BindingInputs& in);

// OK when claims.report_data equals `expected` (compared in constant time). Otherwise
// kUnauthenticated: "report data does not bind this admission (nonce, job id, Ed25519 key, age
// recipient): expected <hex>, evidence carries <hex>", or "evidence carries N bytes of report data,
// expected 64".
absl::Status CheckReportData(const contracts::Claims& claims, absl::string_view expected);

// ExpectedReportData then CheckReportData.
absl::Status CheckBinding(const contracts::Claims& claims, const BindingInputs& in);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_BINDING_H_
