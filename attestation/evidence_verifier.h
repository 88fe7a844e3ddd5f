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
//
// Evidence with GPUs (Evidence::gpus, Evidence::gpu_cc) is valid only when the CPU evidence is and
// every GPU verifies (VerifyNvidiaGpu, with its RIMs and OCSP responses), each GPU's reasons
// prefixed "GPU i (uuid): ". Also checked here: gpus and gpu_cc come together, at most
// contracts::kMaxGpus GPUs, each UUID is NVML's "GPU-<hex>" form and appears once, and no two
// reports come from the same physical GPU (the same GPU identity certificate). The claims then
// carry claims.gpus (index, uuid, report_digest and the report's claims) and claims.gpu_cc.
// Whether the GPUs are bound to the admission is attestation/binding.h's CheckBinding; whether
// they are enough is the policy's nvidia_gpu section.
std::unique_ptr<Verifier> NewEvidenceVerifier(const TrustAnchors& anchors);

// One-shot form of NewEvidenceVerifier(anchors)->Verify(evidence, now).
Verdict VerifyEvidence(const Evidence& evidence, const TrustAnchors& anchors, absl::Time now);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_EVIDENCE_VERIFIER_H_
