// The NVIDIA GPU attestation report: an SPDM 1.1 GET_MEASUREMENTS request and the MEASUREMENTS
// response the GPU signed (DMTF DSP0274 1.1, "GET_MEASUREMENTS request and MEASUREMENTS response";
// NVIDIA's layout of the measurement blocks and opaque data as its local GPU verifier reads them).
// Private to attestation/.
//
//   request (37 bytes): version, 0xE0, param1 (bit 0: signature requested), param2 (0xFF: all
//     blocks), nonce[32], slot id
//   response: version, 0x60, param1, param2, number of blocks (u8), measurement record length
//     (u24), the record, responder nonce[32], opaque data length (u16), opaque data, signature
//     (ECDSA P-384, raw r || s, 96 bytes)
//   measurement block: index (u8), specification (u8, 1 = DMTF), size (u16), then the DMTF
//     measurement: value type (u8), value size (u16), value
//   opaque data: a list of type (u16), length (u16), value
//
// Integers are little-endian. The signature covers the request and the response up to the
// signature. The parser finds the signature at its structural offset (after the opaque data), as
// NVIDIA's verifier and Trustee do, never as "the last 96 bytes": what follows it is outside the
// signed message. Zero bytes may follow (the Confidential Containers stack hands reports over with
// padding); they are counted in `trailing_zero_bytes`. Any non-zero byte after the signature is
// refused.
#ifndef TRIAD_ATTESTATION_INTERNAL_NVIDIA_SPDM_H_
#define TRIAD_ATTESTATION_INTERNAL_NVIDIA_SPDM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace triad::attestation::internal {

inline constexpr size_t kMaxGpuReportSize = 64 * 1024;
inline constexpr size_t kSpdmRequestSize = 37;
inline constexpr size_t kSpdmNonceSize = 32;
inline constexpr size_t kSpdmSignatureSize = 96;  // P-384 r || s

// Opaque data types NVIDIA defines (those Triad reads).
inline constexpr uint16_t kOpaqueDriverVersion = 3;
inline constexpr uint16_t kOpaqueVbiosVersion = 6;
inline constexpr uint16_t kOpaqueChipSku = 15;
inline constexpr uint16_t kOpaqueProject = 17;
inline constexpr uint16_t kOpaqueProjectSku = 18;
inline constexpr uint16_t kOpaqueFwid = 20;

struct SpdmMeasurement {
  uint8_t index = 0;
  uint8_t value_type = 0;
  std::string value;
};

struct SpdmReport {
  uint8_t version = 0;       // SPDM version byte of the request and the response (0x11)
  uint8_t request_param1 = 0;
  uint8_t request_param2 = 0;
  std::string nonce;         // the requester's, 32 bytes
  uint8_t slot_id = 0;
  std::vector<SpdmMeasurement> measurements;  // in report order
  std::string responder_nonce;                // 32 bytes
  std::vector<std::pair<uint16_t, std::string>> opaque;  // in report order
  std::string signed_part;   // request || response up to the signature
  std::string signature;     // 96 bytes
  size_t trailing_zero_bytes = 0;  // zero padding after the signature (not signed)

  // The value of the first opaque field of `type`, or null.
  const std::string* Opaque(uint16_t type) const;
};

// Parses a report (binary). Fails with kInvalidArgument "SPDM report: <what>" on anything that does
// not fit the layout above, including a non-zero byte after the signature ("SPDM report: 3 bytes
// follow the signature and not all are zero"); kResourceExhausted above kMaxGpuReportSize.
absl::StatusOr<SpdmReport> ParseSpdmReport(absl::string_view bytes);

}  // namespace triad::attestation::internal

#endif  // TRIAD_ATTESTATION_INTERNAL_NVIDIA_SPDM_H_
