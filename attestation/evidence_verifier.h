// Dispatch: one verifier for every TEE kind, choosing by Evidence::tee.
#ifndef TRIAD_ATTESTATION_EVIDENCE_VERIFIER_H_
#define TRIAD_ATTESTATION_EVIDENCE_VERIFIER_H_

#include <memory>

#include "absl/time/time.h"
#include "attestation/verifier.h"

namespace triad::attestation {

// A verifier that hands "sev-snp" evidence to NewSnpVerifier, "tdx" to NewTdxVerifier and "sim" to
// NewSimVerifier, all built once from `anchors`. Any other tee is invalid with the reason
// `unknown TEE kind "X" (expected sev-snp, tdx or sim)`. Each verifier checks the kind again, so
// sim evidence never verifies as hardware evidence and vice versa. Never null; thread-safe.
std::unique_ptr<Verifier> NewEvidenceVerifier(const TrustAnchors& anchors);

// One-shot form of NewEvidenceVerifier(anchors)->Verify(evidence, now).
Verdict VerifyEvidence(const Evidence& evidence, const TrustAnchors& anchors, absl::Time now);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_EVIDENCE_VERIFIER_H_
