// Verifier of NVIDIA GPU attestation reports (Hopper H100/H200, Blackwell), offline, from the
// pinned NVIDIA Device Identity CA.
//
// A report is valid when all of these hold at the verification time `now`:
//  - it parses (internal/nvidia_spdm.h: an SPDM GET_MEASUREMENTS request and the MEASUREMENTS
//    response, nothing after the signature), and the request asked for a signature;
//  - the certificate chain (PEM, the GPU's device certificate first) verifies to the pinned root
//    (TrustAnchors::nvidia_device_identity_ca), every certificate valid at `now`; the device
//    certificate is not a CA certificate, and a copy of the root in the chain must be the pinned
//    one (it is otherwise ignored);
//  - the signature (ECDSA P-384 over SHA-384, raw r || s) verifies with the device certificate's
//    key over the request and the response up to the signature;
//  - when the device certificate carries the TCG DICE TcbInfo extension (OID 2.23.133.5.4.1, as
//    Hopper's do) and the report an FWID (opaque type 20), the extension's last 48 bytes equal it.
// An invalid verdict lists every failed check whose inputs could be parsed.
//
// Not checked, because they need NVIDIA's online services: certificate revocation (OCSP), and the
// reference measurements (RIMs) the measurement blocks would be compared with. The claims carry
// the blocks for a policy that pins them.
#ifndef TRIAD_ATTESTATION_NVIDIA_GPU_H_
#define TRIAD_ATTESTATION_NVIDIA_GPU_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attestation/verifier.h"
#include "nlohmann/json.hpp"

namespace triad::attestation {

struct GpuClaims {
  std::string nonce;           // the requester's nonce, 32 bytes
  std::string driver_version;  // "550.90.07" (opaque type 3)
  std::string vbios_version;   // "96.00.9F.00.01" (opaque type 6, as NVIDIA prints it)
  std::string chip_sku;        // opaque types 15, 17, 18, as text
  std::string project;
  std::string project_sku;
  std::string device_certificate;  // the device certificate's common name
  std::string fwid;                // 48 bytes from the report (opaque type 20), or empty
  bool fwid_bound = false;  // the device certificate's FWID was present and equal to it
  std::vector<std::pair<int, std::string>> measurements;  // block index, value (SHA-384)

  // Byte fields in lower-case hex; stable key order.
  nlohmann::ordered_json ToJson() const;
};

struct GpuVerdict {
  bool valid = false;
  std::vector<std::string> reasons;  // every failed check when invalid
  GpuClaims claims;                  // filled when valid
};

// The report's bytes from a file that holds them as binary or as hex text (NVIDIA's tools write
// hex; whitespace around it is ignored). Fails with kInvalidArgument on odd or non-hex text that
// does not start like a binary report.
absl::StatusOr<std::string> GpuReportBytes(absl::string_view file);

// Verifies `report` (binary) with `cert_chain_pem` at `now`. Thread-safe.
GpuVerdict VerifyNvidiaGpuReport(absl::string_view report, absl::string_view cert_chain_pem,
                                 const TrustAnchors& anchors, absl::Time now);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_NVIDIA_GPU_H_
