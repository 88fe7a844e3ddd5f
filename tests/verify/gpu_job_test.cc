// A job on GPUs from end to end (issue 14, "GPU evidence, collected and bound"), through the real
// services in-process: a contract that trains on one GPU; the worker's evidence collected as
// worker/worker.cc does (attestation::CollectEvidence: sim CPU evidence committing to a GPU of a
// forged NVIDIA PKI whose root the coordinator, the keyholders and the auditor pin) and sent over
// the Attest RPC; the coordinator admits it; both owners' keyholders verify the relayed evidence
// document, GPUs included, and release; the audit bundle carries the document, and
// verify::VerifyBundle re-verifies the GPU evidence and its binding (and refuses it with an
// auditor who does not pin the GPU root). A worker with CC off is refused by the coordinator with
// the policy's reason.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "attestation/binding.h"
#include "attestation/evidence_document.h"
#include "attestation/gpu_collector.h"
#include "base/json.h"
#include "tests/attestation/forged_gpu_worker.h"
#include "tests/testing/sim_attest.h"
#include "tests/verify/verify_fixture.h"

namespace triad::coordinator {
namespace {

using attestation::nvforge::CcOn;
using attestation::nvforge::ForgedGpus;
using attestation::nvforge::SimCpu;
using verify::AuditCheck;
using verify::AuditReport;

std::vector<std::string> FailedChecks(const AuditReport& r) {
  std::vector<std::string> out;
  for (const AuditCheck& c : r.checks) {
    if (!c.ok) out.push_back(c.name);
  }
  return out;
}

// The proto form of the evidence (what worker/worker.cc sends).
void ToProto(const attestation::Evidence& ev, pb::Evidence* out) {
  out->set_tee(ev.tee);
  out->set_report(ev.report);
  out->set_certs(ev.certs);
  out->set_collateral(ev.collateral);
  for (const attestation::GpuEvidence& g : ev.gpus) {
    pb::GpuEvidence* p = out->add_gpus();
    p->set_uuid(g.uuid);
    p->set_report(g.report);
    p->set_certs(g.certs);
  }
  if (ev.gpu_cc) {
    pb::GpuCcState* cc = out->mutable_gpu_cc();
    cc->set_environment(ev.gpu_cc->environment);
    cc->set_cc_feature(ev.gpu_cc->cc_feature);
    cc->set_devtools_mode(ev.gpu_cc->devtools_mode);
    cc->set_multi_gpu_mode(ev.gpu_cc->multi_gpu_mode);
    cc->set_gpus_ready(ev.gpu_cc->gpus_ready);
  }
}

class GpuJobTest : public AuditVerifyTest {
 protected:
  void SetUp() override {
    // The forged NVIDIA root, pinned by the coordinator and (through the fixture) the keyholders.
    h_.extra_anchors = attestation::nvforge::ForgedPki().Anchors();
    h_.Restart();
    AuditVerifyTest::SetUp();
  }

  contracts::Contract GpuContract() {
    contracts::Contract c = MakeContract();
    attestation::nvforge::TrainOnForgedGpus(c, 1);
    return c;
  }

  // Polls as `worker` and attests with `gpus` (evidence collected as the worker does).
  pb::AttestReply AttestWithGpus(const std::string& worker, const Eph& eph,
                                 const attestation::GpuCollector& gpus,
                                 attestation::Evidence* sent = nullptr) {
    pb::Assignment a = MustPoll(worker);
    SimCpu cpu(h_.sim_key, GoodMeasurement());
    absl::StatusOr<attestation::Evidence> ev = attestation::CollectEvidence(
        cpu, &gpus, {a.nonce(), a.job_id(), eph.key.public_key(), eph.id.recipient()});
    EXPECT_TRUE(ev.ok()) << ev.status();
    const crypto::Ed25519PublicKey key = eph.key.public_key();
    const crypto::age::X25519Recipient recipient = eph.id.recipient();
    pb::AttestRequest req = ::triad::testing::SimAttestRequest(
        {a.job_id(), worker, a.nonce(), &cp_.key, &eph.key, &recipient, &key, &recipient,
         &h_.sim_key, GoodMeasurement(), false, h_.clock.Now(), h_.fingerprint()});
    req.clear_evidence();
    ToProto(*ev, req.mutable_evidence());
    if (sent != nullptr) *sent = *ev;
    grpc::ClientContext ctx;
    pb::AttestReply reply;
    grpc::Status st = h_.workers->Attest(&ctx, req, &reply);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return reply;
  }
};

TEST_F(GpuJobTest, AGpuJobIsAdmittedReleasedAndAudited) {
  contracts::Contract c = GpuContract();
  SetUpContract(&c);
  job_ = NewJob();
  ForgedGpus gpu(1, CcOn(1));
  attestation::Evidence sent;
  attest_ = AttestWithGpus("w1", eph_, gpu, &sent);
  ASSERT_TRUE(attest_.admitted()) << absl::StrJoin(attest_.reasons(), "; ");
  // The coordinator stored the canonical document, GPUs included.
  EXPECT_EQ(attest_.evidence_digest(), crypto::Sha256Id(attestation::EvidenceDocument(sent)));
  absl::StatusOr<nlohmann::json> claims = base::ParseJsonStrict(attest_.claims_json());
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ((*claims)["gpus"][0]["uuid"], attestation::nvforge::kTestGpuUuids[0]);
  // Both keyholders verified the relayed document, GPUs and binding, and released.
  EXPECT_EQ(Keys(job_, eph_).size(), 2u);
  adapter_ct_ = Encrypt("adapter tar", {mo_.card.age_recipient, do_.card.age_recipient});
  grpc::Status st = Deliver(job_, eph_.key, Record(job_, adapter_ct_, eph_, attest_), adapter_ct_);
  ASSERT_TRUE(st.ok()) << st.error_message();

  const std::string bundle = Export(job_);
  AuditReport r = Verify(bundle);
  EXPECT_EQ(FailedChecks(r), std::vector<std::string>{}) << r.ToText();
  // The bundle carries the GPU evidence; an auditor re-verifies it with its own roots: without the
  // GPU root, the evidence, and what rests on it, fail.
  absl::StatusOr<nlohmann::json> b = base::ParseJsonStrict(bundle);
  ASSERT_TRUE(b.ok());
  const std::string doc = (*b)["admissions"][0]["evidence_document"].get<std::string>();
  EXPECT_EQ(doc, attestation::EvidenceDocument(sent));
  attestation::TrustAnchors sim_only;
  sim_only.sim_keys.push_back(h_.sim_key.public_key());
  AuditReport without_root = verify::VerifyBundle(bundle, Card(), sim_only);
  EXPECT_EQ(
      FailedChecks(without_root),
      (std::vector<std::string>{"admission 1 evidence", "admission 1 claims",
                                "admission 1 report data binding", "admission 1 policy decision"}))
      << without_root.ToText();
  for (const AuditCheck& check : without_root.checks) {
    if (check.name == "admission 1 evidence") {
      EXPECT_TRUE(absl::StrContains(
          check.detail, absl::StrCat("GPU 0 (", attestation::nvforge::kTestGpuUuids[0], ")")))
          << check.detail;
    }
  }
}

TEST_F(GpuJobTest, TheCoordinatorRefusesAWorkerWithConfidentialComputingOff) {
  contracts::Contract c = GpuContract();
  SetUpContract(&c);
  job_ = NewJob();
  ForgedGpus off(1, {2, 0, 0, 0, 1});
  pb::AttestReply reply = AttestWithGpus("w1", eph_, off);
  EXPECT_FALSE(reply.admitted());
  EXPECT_EQ(std::vector<std::string>(reply.reasons().begin(), reply.reasons().end()),
            std::vector<std::string>{"GPU confidential computing is off (NVML cc_feature 0)"});
  // Nothing is released to it.
  for (const keyholder::Answer& a : ServeKeyholders()) EXPECT_FALSE(a.release);
}

}  // namespace
}  // namespace triad::coordinator
