// Verifier of NVIDIA GPU attestation reports (Hopper H100/H200, Blackwell), offline, from the
// pinned NVIDIA Device Identity CA and, for reference measurements, the pinned NVIDIA CoRIM signing
// Root CA.
//
// A report is valid when all of these hold at the verification time `now`:
//  - it parses (internal/nvidia_spdm.h: an SPDM GET_MEASUREMENTS request and the MEASUREMENTS
//    response, the signature at its structural offset, only zero padding after it), and the
//    request asked for a signature;
//  - the certificate chain (PEM, the GPU's device certificate first) verifies to the pinned root
//    (TrustAnchors::nvidia_device_identity_ca), every certificate valid at `now`; the device
//    certificate is not a CA certificate, and a copy of the root in the chain must be the pinned
//    one (it is otherwise ignored);
//  - the signature (ECDSA P-384 over SHA-384, raw r || s) verifies with the device certificate's
//    key over the request and the response up to the signature;
//  - when the device certificate carries the TCG DICE TcbInfo extension (OID 2.23.133.5.4.1, as
//    Hopper's do) and the report an FWID (opaque type 20), the extension's last 48 bytes equal it;
//  - every RIM given as collateral (internal/nvidia_rim.h) parses, its XML signature verifies
//    (libxmlsec1) with the key of its signing certificate, that certificate chains to the pinned
//    CoRIM root (TrustAnchors::nvidia_corim_signing_root_ca) at `now`, it is this GPU's driver or
//    VBIOS RIM (its version is the report's driver or VBIOS version, its product the chip of the
//    device certificate), there is at most one of each, no index is active in both, and every
//    active index i equals SPDM measurement block i + 1 (index 35 is skipped when the report says
//    NVDEC0 is disabled, as NVIDIA's verifier does);
//  - every OCSP response given as collateral that covers a certificate of the device chain (all
//    but the device certificate, which the GPU issues itself, and the root) or of a RIM chain (all
//    but the root) is signed by that certificate's issuer or its delegated responder, is current
//    at `now`, and says the certificate is not revoked (internal/revocation.h).
// An invalid verdict lists every failed check whose inputs could be parsed.
//
// Whether RIMs and OCSP responses were supplied at all is in the claims (rims,
// measurements_match, device_revocation), for the policy to require: the verifier rejects what
// contradicts the evidence, the policy rejects what is missing. Not checked: NVSwitch attestation
// (protected-PCIe systems), and whether the GPU is the one named by the evidence's UUID (the UUID
// is the worker's word, committed to by the CPU report data).
#ifndef TRIAD_ATTESTATION_NVIDIA_GPU_H_
#define TRIAD_ATTESTATION_NVIDIA_GPU_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attestation/verifier.h"
#include "contracts/claims.h"

namespace triad::attestation {

// The claims of one GPU (contracts/claims.h), named here as the verifier's result.
using GpuClaims = contracts::GpuClaims;

// Collateral for one GPU's report, carried with the evidence (never fetched).
struct GpuCollateral {
  std::vector<std::string> rims;  // RIM documents (SWID XML): the driver's and the VBIOS's
  std::vector<std::string> ocsp;  // DER OCSPResponses for the device chain and the RIM chains
};

inline constexpr size_t kMaxGpuRims = 4;

struct GpuVerdict {
  bool valid = false;
  std::vector<std::string> reasons;  // every failed check when invalid
  GpuClaims claims;                  // filled when valid
};

// The report's bytes from a file that holds them as binary or as hex text (NVIDIA's tools write
// hex; whitespace around it is ignored). Fails with kInvalidArgument on odd or non-hex text that
// does not start like a binary report.
absl::StatusOr<std::string> GpuReportBytes(absl::string_view file);

// Verifies `report` (binary) with `cert_chain_pem` and `collateral` at `now`. The claims' index
// and uuid are left for the caller (the evidence verifier) to fill. Thread-safe.
GpuVerdict VerifyNvidiaGpu(absl::string_view report, absl::string_view cert_chain_pem,
                           const GpuCollateral& collateral, const TrustAnchors& anchors,
                           absl::Time now);

// A RIM checked on its own, without a report: it parses, its signing chain verifies to the pinned
// CoRIM root at `now`, its XML signature verifies, and the OCSP responses in `ocsp_der` that cover
// its chain say good (revocation as in GpuRimClaims). For `triad attest verify --rim` and tests;
// VerifyNvidiaGpu does all of this and compares the measurements.
struct RimVerdict {
  bool valid = false;
  std::vector<std::string> reasons;  // "RIM 550.144.03 certificate chain: certificate has expired …"
  std::string version, product, tag_id, signer, revocation;
  size_t active_indices = 0;
};
RimVerdict VerifyNvidiaRim(absl::string_view xml, const std::vector<std::string>& ocsp_der,
                           const TrustAnchors& anchors, absl::Time now);

// VerifyNvidiaGpu without collateral.
GpuVerdict VerifyNvidiaGpuReport(absl::string_view report, absl::string_view cert_chain_pem,
                                 const TrustAnchors& anchors, absl::Time now);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_NVIDIA_GPU_H_
