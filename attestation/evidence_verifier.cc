#include "attestation/evidence_verifier.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attestation/binding.h"
#include "attestation/coco.h"
#include "attestation/nvidia_gpu.h"
#include "attestation/sim.h"
#include "attestation/snp.h"
#include "attestation/tdx.h"
#include "contracts/claims.h"

namespace triad::attestation {
namespace {

class EvidenceVerifier final : public Verifier {
 public:
  explicit EvidenceVerifier(const TrustAnchors& anchors)
      : anchors_(anchors),
        snp_(NewSnpVerifier(anchors)),
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
    if (evidence.gpus.empty() && !evidence.gpu_cc) return v;
    // GPUs: each verified on its own; all their reasons join the CPU's.
    std::vector<contracts::GpuClaims> gpus = VerifyGpus(evidence, now, v.reasons);
    if (!v.reasons.empty()) {
      v.valid = false;
      v.claims = contracts::Claims();
      return v;
    }
    v.claims.gpus = std::move(gpus);
    v.claims.gpu_cc = evidence.gpu_cc;
    return v;
  }

 private:
  Verdict VerifyHardware(const Evidence& evidence, absl::Time now) const {
    if (evidence.tee == contracts::kTeeSevSnp) return snp_->Verify(evidence, now);
    if (evidence.tee == contracts::kTeeSim) return sim_->Verify(evidence, now);
    if (evidence.tee == contracts::kTeeTdx) return tdx_->Verify(evidence, now);
    return Invalid(
        absl::StrCat("unknown TEE kind \"", evidence.tee, "\" (expected sev-snp, tdx or sim)"));
  }

  // "GPU-" and a UUID (NVML's text form), bounded.
  static bool ValidUuid(absl::string_view uuid) {
    if (uuid.size() > kMaxGpuUuidSize || !absl::StartsWith(uuid, "GPU-") || uuid.size() < 5) {
      return false;
    }
    for (char c : uuid.substr(4)) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    return true;
  }

  std::vector<contracts::GpuClaims> VerifyGpus(const Evidence& evidence, absl::Time now,
                                               std::vector<std::string>& reasons) const {
    std::vector<contracts::GpuClaims> out;
    if (!evidence.gpu_cc) {
      reasons.push_back(
          "the evidence carries GPUs without their confidential-computing state (gpu_cc)");
    }
    if (evidence.gpus.empty()) {
      reasons.push_back("the evidence carries a GPU confidential-computing state but no GPU");
    }
    if (evidence.gpus.size() > contracts::kMaxGpus) {
      reasons.push_back(absl::StrCat("the evidence carries ", evidence.gpus.size(),
                                     " GPUs, more than ", contracts::kMaxGpus));
      return out;
    }
    std::set<std::string> uuids;
    std::vector<std::string> device_ids;
    for (size_t i = 0; i < evidence.gpus.size(); ++i) {
      const GpuEvidence& g = evidence.gpus[i];
      const std::string who = absl::StrCat("GPU ", i, " (", ValidUuid(g.uuid) ? g.uuid : "?", ")");
      if (!ValidUuid(g.uuid)) {
        reasons.push_back(absl::StrCat("GPU ", i, ": \"", absl::CHexEscape(g.uuid.substr(0, 100)),
                                       "\" is not an NVML GPU UUID (GPU-<hex>)"));
      } else if (!uuids.insert(g.uuid).second) {
        reasons.push_back(absl::StrCat(who, ": the UUID appears twice"));
      }
      GpuVerdict gv = VerifyNvidiaGpu(g.report, g.certs, GpuCollateral{g.rims, g.ocsp},
                                      anchors_, now);
      if (!gv.valid) {
        for (const std::string& r : gv.reasons) reasons.push_back(absl::StrCat(who, ": ", r));
        continue;
      }
      // One physical GPU cannot count twice (two reports, two UUIDs, one chip).
      for (size_t k = 0; k < out.size(); ++k) {
        if (!gv.claims.device_id.empty() && out[k].device_id == gv.claims.device_id) {
          reasons.push_back(absl::StrCat(who, ": it is the same device as GPU ", k,
                                         " (the same GPU identity certificate)"));
        }
      }
      gv.claims.index = static_cast<uint32_t>(i);
      gv.claims.uuid = g.uuid;
      out.push_back(std::move(gv.claims));
    }
    return out;
  }

  static Verdict Invalid(std::string reason) {
    Verdict v;
    v.reasons.push_back(std::move(reason));
    return v;
  }

  TrustAnchors anchors_;
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
