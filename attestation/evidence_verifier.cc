#include "attestation/evidence_verifier.h"

#include "absl/strings/str_cat.h"
#include "attestation/coco.h"
#include "attestation/sim.h"
#include "attestation/snp.h"
#include "attestation/tdx.h"
#include "contracts/claims.h"

namespace triad::attestation {
namespace {

class EvidenceVerifier final : public Verifier {
 public:
  explicit EvidenceVerifier(const TrustAnchors& anchors)
      : snp_(NewSnpVerifier(anchors)),
        tdx_(NewTdxVerifier(anchors)),
        sim_(NewSimVerifier(anchors)) {
  }

  Verdict Verify(const Evidence& evidence, absl::Time now) const override {
    Verdict v = VerifyHardware(evidence, now);
    // Init-data (CoCo) is bound to the hardware's HOST_DATA / MRCONFIGID only after the evidence
    // itself verified; a document that does not match makes the whole evidence invalid.
    if (v.valid && !evidence.initdata.empty()) {
      absl::Status st = AddCocoClaims(evidence, &v.claims);
      if (!st.ok()) return Invalid(std::string(st.message()));
    }
    return v;
  }

 private:
  Verdict VerifyHardware(const Evidence& evidence, absl::Time now) const {
    if (evidence.tee == contracts::kTeeSevSnp) return snp_->Verify(evidence, now);
    if (evidence.tee == contracts::kTeeSim) return sim_->Verify(evidence, now);
    if (evidence.tee == contracts::kTeeTdx) {
      return tdx_->Verify(evidence, now);
    }
    return Invalid(
        absl::StrCat("unknown TEE kind \"", evidence.tee, "\" (expected sev-snp, tdx or sim)"));
  }

  static Verdict Invalid(std::string reason) {
    Verdict v;
    v.reasons.push_back(std::move(reason));
    return v;
  }

  std::unique_ptr<Verifier> snp_;
  std::unique_ptr<Verifier> tdx_;
  std::unique_ptr<Verifier> sim_;
};

}  // namespace

std::unique_ptr<Verifier> NewEvidenceVerifier(const TrustAnchors& anchors) {
  return std::make_unique<EvidenceVerifier>(anchors);
}

Verdict VerifyEvidence(const Evidence& evidence, const TrustAnchors& anchors, absl::Time now) {
  return NewEvidenceVerifier(anchors)->Verify(evidence, now);
}

}  // namespace triad::attestation
