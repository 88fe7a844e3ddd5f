// Reading the evidence document a coordinator stored, relayed or exported (coordinator/README.md,
// "Evidence document"): {"tee", "report", "certs", "collateral"} with base64 values.
#ifndef TRIAD_VERIFY_EVIDENCE_H_
#define TRIAD_VERIFY_EVIDENCE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attestation/verifier.h"

namespace triad::verify {

// Strict and bounded: exactly those keys, base64 values. kInvalidArgument naming the problem.
absl::StatusOr<attestation::Evidence> ParseEvidenceDocument(absl::string_view text);

}  // namespace triad::verify

#endif  // TRIAD_VERIFY_EVIDENCE_H_
