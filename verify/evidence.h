// Reading the evidence document a coordinator stored, relayed or exported (coordinator/README.md,
// "Evidence document"): attestation::ParseEvidenceDocument (attestation/evidence_document.h), the
// one canonical parser, so that the coordinator, the keyholders and auditors read the same CPU
// evidence, GPUs and collateral from the same bytes.
#ifndef TRIAD_VERIFY_EVIDENCE_H_
#define TRIAD_VERIFY_EVIDENCE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attestation/verifier.h"

namespace triad::verify {

// Strict, bounded and canonical (attestation::ParseEvidenceDocument). kInvalidArgument naming the
// problem.
absl::StatusOr<attestation::Evidence> ParseEvidenceDocument(absl::string_view text);

}  // namespace triad::verify

#endif  // TRIAD_VERIFY_EVIDENCE_H_
