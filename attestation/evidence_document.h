// The evidence document: Evidence as one canonical JSON text, what is stored, hashed
// (evidence_digest = "sha256:" + hex SHA-256 of the text), logged, exported in audit bundles and
// relayed to keyholders.
//
//   {"tee":"sev-snp","report":"<b64>","certs":"<b64>","collateral":"<b64>"}
//
// compact (no whitespace), keys in this order, values standard base64 with padding. This is
// byte for byte the form coordinator::EvidenceDocument has always written, so the digests of
// evidence without GPUs do not change. Evidence with GPUs adds one key after these:
//
//   "gpus":{"cc":{"environment":2,"cc_feature":1,"devtools_mode":0,"multi_gpu_mode":0,
//                 "gpus_ready":1},
//           "devices":[{"uuid":"GPU-…","report":"<b64>","certs":"<b64>",
//                       "rims":["<b64>",…],"ocsp":["<b64>",…]},…]}
//
// (cc: contracts::GpuCcState, NVML's values; devices in evidence order; rims and ocsp possibly
// empty arrays). Evidence from a Confidential Containers pod (attestation/coco.h) adds, last, the
// init-data document its TEE reports the digest of:
//
//   "initdata":"<b64>"
//
// (written exactly when Evidence::initdata is not empty; at most measure::kMaxInitDataSize bytes).
#ifndef TRIAD_ATTESTATION_EVIDENCE_DOCUMENT_H_
#define TRIAD_ATTESTATION_EVIDENCE_DOCUMENT_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attestation/verifier.h"

namespace triad::attestation {

// Bounds of the parser: the document, and each part once decoded.
inline constexpr size_t kMaxEvidenceDocumentSize = 16 << 20;
inline constexpr size_t kMaxEvidenceReportSize = 1 << 20;      // CPU report / quote
inline constexpr size_t kMaxEvidenceCertsSize = 1 << 20;       // CPU certificates
inline constexpr size_t kMaxEvidenceCollateralSize = 4 << 20;  // CPU collateral
inline constexpr size_t kMaxGpuCertsSize = 64 * 1024;

// The canonical text of `evidence`. The "gpus" key is written exactly when evidence.gpus is not
// empty or evidence.gpu_cc is set (with "cc" {} zeros when gpu_cc is absent, so that it parses
// back into what the verifiers reject).
std::string EvidenceDocument(const Evidence& evidence);

// Parses an evidence document: strict JSON (bounded size and depth, no duplicate keys), exactly
// the keys above, base64 values within the bounds above, at most contracts::kMaxGpus devices,
// internal::kMaxGpuReportSize per GPU report, kMaxGpuRims RIMs and internal::kMaxOcspResponses OCSP
// responses per GPU. The text must be canonical: EvidenceDocument of the result is the same bytes
// (so one piece of evidence has one digest). Fails with kInvalidArgument "evidence document:
// <what>" ("evidence document: gpus.devices[1].report is not base64"), kResourceExhausted past a
// bound.
absl::StatusOr<Evidence> ParseEvidenceDocument(absl::string_view text);

// The UUIDs of the evidence's GPUs, in order: the devices the worker may train on.
std::vector<std::string> GpuUuids(const Evidence& evidence);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_EVIDENCE_DOCUMENT_H_
