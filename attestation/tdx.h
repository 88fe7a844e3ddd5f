// The Intel TDX verifier (DCAP quotes v4 and v5 with dcap-qvl JSON collateral). Implemented in
// attestation/tdx*.cc on the tdx branch; this header is the agreed interface the dispatch
// (attestation/evidence_verifier.h) calls.
#ifndef TRIAD_ATTESTATION_TDX_H_
#define TRIAD_ATTESTATION_TDX_H_

#include <memory>

#include "attestation/verifier.h"

namespace triad::attestation {

// Never null. Verifies Evidence{tee = "tdx", report = quote, collateral = JSON} against
// anchors.intel_sgx_root_ca.
std::unique_ptr<Verifier> NewTdxVerifier(const TrustAnchors& anchors);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_TDX_H_
