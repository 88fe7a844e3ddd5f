// Freshness and key binding of attestation evidence (DESIGN.md "A job, step by step", admission).
//
// A CPU-only worker asks its TEE for evidence whose 64-byte report data is
//   D1 = SHA-512("triad/attest/v1" ‖ nonce ‖ job id ‖ Ed25519 public key ‖ age recipient)
// where the nonce is the coordinator's fresh 32 bytes, the job id its UTF-8 bytes, the Ed25519 key
// the worker's ephemeral signing key (raw 32 bytes) and the recipient the "age1…" text of its
// ephemeral X25519 identity. Only the job id varies in length (an X25519 recipient is always 62
// characters), so the concatenation is unambiguous.
//
// A worker with GPUs binds them in both directions:
//  - GPU i's report is made over the nonce
//      N_i = SHA-256("triad/attest/gpu-nonce/v1" ‖ D1 ‖ u32be(i))
//    so it belongs to this admission (nonce, job, ephemeral keys) and to position i;
//  - the CPU report data commits to the set of GPUs and what NVML said about them:
//      G  = SHA-384("triad/attest/gpu-set/v1" ‖ u32be(environment) ‖ u32be(cc_feature) ‖
//                   u32be(devtools_mode) ‖ u32be(multi_gpu_mode) ‖ u32be(gpus_ready) ‖ u32be(n) ‖
//                   for each GPU i: u32be(i) ‖ u16be(|uuid|) ‖ uuid ‖ SHA-384(report_i))
//      D2 = SHA-512("triad/attest/v2" ‖ nonce ‖ job id ‖ Ed25519 public key ‖ age recipient ‖ G)
//    (the CC state values are NVML's, contracts::GpuCcState). The context differs from D1's in
//    its bytes, not its length, so no D1 input is a D2 input.
// No GPU report can be moved to another admission, no GPU can be added, removed, reordered or
// swapped, and the unsigned parts (UUIDs, CC state) are what the attested worker read. With no GPU
// evidence the report data is D1, unchanged.
#ifndef TRIAD_ATTESTATION_BINDING_H_
#define TRIAD_ATTESTATION_BINDING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contracts/claims.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"

namespace triad::attestation {

inline constexpr char kBindingContext[] = "triad/attest/v1";
inline constexpr char kBindingContextGpus[] = "triad/attest/v2";
inline constexpr char kGpuNonceContext[] = "triad/attest/gpu-nonce/v1";
inline constexpr char kGpuSetContext[] = "triad/attest/gpu-set/v1";
inline constexpr size_t kGpuNonceSize = 32;
inline constexpr size_t kGpuSetDigestSize = 48;
inline constexpr size_t kMaxGpuUuidSize = 96;  // NVML_DEVICE_UUID_V2_BUFFER_SIZE
inline constexpr size_t kBindingNonceSize = 32;
inline constexpr size_t kMaxJobIdSize = 256;
inline constexpr size_t kReportDataSize = 64;

struct BindingInputs {
  std::string nonce;   // exactly 32 bytes
  std::string job_id;  // 1..256 bytes
  crypto::Ed25519PublicKey key;
  crypto::age::X25519Recipient recipient;
};

// D1, the 64-byte report data for `in` of a CPU-only worker. Fails with kInvalidArgument when the
// nonce is not 32 bytes or the job id is empty or longer than kMaxJobIdSize.
absl::StatusOr<std::string> ExpectedReportData(const BindingInputs& in);

// D2, the report data of a worker with GPUs, for `gpu_set_digest` = G (48 bytes; kInvalidArgument
// otherwise, and for `in` as above).
absl::StatusOr<std::string> ExpectedReportData(const BindingInputs& in,
                                               absl::string_view gpu_set_digest);

// N_i, the nonce GPU `index` attests over (32 bytes). Fails as ExpectedReportData.
absl::StatusOr<std::string> GpuNonce(const BindingInputs& in, uint32_t index);

// What G covers of one GPU.
struct GpuSetEntry {
  std::string uuid;           // 1..kMaxGpuUuidSize bytes
  std::string report_digest;  // SHA-384 of the report bytes, 48 bytes
};
// G for the CC state and the GPUs in order (their index is their position). kInvalidArgument on a
// UUID or digest of the wrong size, or more than contracts::kMaxGpus GPUs.
absl::StatusOr<std::string> GpuSetDigest(const contracts::GpuCcState& cc,
                                         const std::vector<GpuSetEntry>& gpus);
// G from verified claims (claims.gpu_cc and each claims.gpus[i]'s uuid and report_digest);
// kInvalidArgument when the claims carry GPUs without gpu_cc.
absl::StatusOr<std::string> GpuSetDigest(const contracts::Claims& claims);

// OK when claims.report_data equals `expected` (compared in constant time). Otherwise
// kUnauthenticated: "report data does not bind this admission (nonce, job id, Ed25519 key, age
// recipient): expected <hex>, evidence carries <hex>", or "evidence carries N bytes of report data,
// expected 64".
absl::Status CheckReportData(const contracts::Claims& claims, absl::string_view expected);

// Every way `claims` fails to bind this admission, one line each; empty when they bind it. With
// no GPU claims (no gpus, no gpu_cc): the report data must be D1 (CheckReportData's messages).
// With GPU claims, each check has its own line:
//   "GPU 1 (GPU-…): its report's nonce <hex> is not the one this admission derives for GPU 1
//    (<hex>): the report was made for another admission or job"
//   "report data does not commit to this admission and this set of GPUs (nonce, job id, Ed25519
//    key, age recipient, GPU reports, UUIDs, CC state): expected <hex>, evidence carries <hex>"
//   "GPU 1 is at position 1 but claims index 2", "claims carry GPUs without their CC state"
// An invalid `in` is one line ("attestation nonce must be 32 bytes, got 31").
std::vector<std::string> BindingProblems(const contracts::Claims& claims, const BindingInputs& in);

// OK when BindingProblems is empty; otherwise kUnauthenticated with the problems joined by "; "
// (kInvalidArgument for an invalid `in`). For CPU-only claims this is ExpectedReportData then
// CheckReportData, as before GPUs existed.
absl::Status CheckBinding(const contracts::Claims& claims, const BindingInputs& in);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_BINDING_H_
