// GPUs in admission, as an owner's keyholder checks them (verify::VerifyAdmission; issue 14, "GPU
// evidence, collected and bound"): a contract that trains on GPUs, a worker that collects its
// evidence with attestation::CollectEvidence (sim CPU evidence, GPUs of a forged NVIDIA PKI whose
// root the keyholder pins), relayed by a coordinator that may lie. The honest admission verifies;
// each attack is refused with its exact reasons, beside the same admission without the attack:
// another job's GPU report, a CPU report that does not commit to the GPU set, CC off, two GPUs
// required and one given.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attestation/binding.h"
#include "attestation/evidence_document.h"
#include "attestation/gpu_collector.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "contracts/contract.h"
#include "crypto/hash.h"
#include "gtest/gtest.h"
#include "tests/attestation/forged_gpu_worker.h"
#include "tests/coordinator/coordinator_testing.h"
#include "tests/keyholder/lying_coordinator.h"
#include "verify/admission.h"

namespace triad::keyholder {
namespace {

using contracts::Role;
using coordinator::testing::GoodMeasurement;
using coordinator::testing::MakeParty;
using coordinator::testing::Party;
using coordinator::testing::T;
using testing::Attempt;
using testing::LyingCoordinator;

constexpr char kContractId[] = "c-0001";
const char* const* kUuids = attestation::nvforge::kTestGpuUuids;
using attestation::nvforge::CcOn;
using attestation::nvforge::ForgedGpus;
using attestation::nvforge::SimCpu;

class GpuAdmissionTest : public ::testing::Test {
 protected:
  GpuAdmissionTest() {
    anchors_ = attestation::nvforge::ForgedPki().Anchors();
    anchors_.sim_keys.push_back(sim_key_.public_key());
  }

  // The contract: sim CPU, `gpus` forged GPUs trained on and required by the policy.
  std::string Contract(uint32_t gpus) {
    contracts::WorkerPolicy policy;
    policy.tee = {contracts::kTeeSim};
    policy.sim = contracts::SimReference{{GoodMeasurement()}, {}};
    contracts::Contract c{kContractId,
                          T("2025-07-01T00:00:00Z"),
                          T("2025-07-01T00:00:00Z"),
                          T("2025-07-31T00:00:00Z"),
                          mo_.card,
                          do_.card,
                          cp_.card,
                          {model_id_, "tiny-model"},
                          {data_id_, "claims"},
                          contracts::TrainingConfig::Default(),
                          policy,
                          contracts::Outputs::Default(),
                          contracts::Terms{10, 300},
                          {}};
    attestation::nvforge::TrainOnForgedGpus(c, gpus);
    absl::StatusOr<crypto::DsseEnvelope> env = contracts::DraftContract(c);
    EXPECT_TRUE(env.ok()) << env.status();
    for (const Party* p : {&mo_, &do_, &cp_}) {
      EXPECT_TRUE(contracts::SignContract(*env, p->key, c.created).ok());
    }
    return env->ToJson();
  }

  Attempt NewAttempt(const std::string& job, const std::string& contract) {
    Attempt a;
    a.job_id = job;
    a.artifact_id = model_id_;
    a.contract_envelope = contract;
    a.submission = liar_.Submission(kContractId, do_.key);
    a.measurement = GoodMeasurement();
    return a;
  }
  attestation::BindingInputs Binding(const Attempt& a) const {
    return {a.nonce, a.job_id, a.worker->key.public_key(), a.worker->id.recipient()};
  }
  // What the worker sends: its GPUs and the CPU evidence committing to them, collected as
  // worker/worker.cc does.
  attestation::Evidence Collect(const Attempt& a, const attestation::GpuCollector& gpus) {
    absl::StatusOr<attestation::Evidence> ev =
        attestation::CollectEvidence(cpu_, &gpus, Binding(a));
    EXPECT_TRUE(ev.ok()) << ev.status();
    return ev.ok() ? *ev : attestation::Evidence();
  }
  // The CPU evidence replaced by sim evidence over `report_data`.
  attestation::Evidence WithCpuOver(attestation::Evidence ev, const std::string& report_data) {
    absl::StatusOr<attestation::Evidence> cpu = cpu_.Attest(report_data);
    EXPECT_TRUE(cpu.ok()) << cpu.status();
    ev.report = cpu->report;
    return ev;
  }

  verify::AdmissionVerdict Verify(Attempt a, const attestation::Evidence& ev) {
    a.evidence_document = attestation::EvidenceDocument(ev);
    verify::ReleaseContext r = liar_.Relay(a, 0);
    return verify::VerifyAdmission(r, liar_.card(), mo_.card, anchors_, clock_.Now(), std::nullopt);
  }
  void ExpectAdmitted(const Attempt& a, const attestation::Evidence& ev) {
    verify::AdmissionVerdict v = Verify(a, ev);
    ASSERT_TRUE(v.admission.has_value()) << ::testing::PrintToString(v.reasons);
    EXPECT_EQ(v.admission->claims.gpus.size(), ev.gpus.size());
    for (size_t i = 0; i < ev.gpus.size(); ++i) {
      EXPECT_EQ(v.admission->claims.gpus[i].uuid, ev.gpus[i].uuid);
      EXPECT_EQ(v.admission->claims.gpus[i].nonce,
                *attestation::GpuNonce(Binding(a), static_cast<uint32_t>(i)));
    }
    EXPECT_EQ(v.admission->evidence_digest, crypto::Sha256Id(attestation::EvidenceDocument(ev)));
  }
  // The refusal of CPU evidence over `carried` where the admission and its GPUs give `expected`.
  static std::string NotCommitted(const std::string& expected, const std::string& carried) {
    return absl::StrCat(
        "binding: report data does not commit to this admission and this set of GPUs (nonce, job "
        "id, Ed25519 key, age recipient, GPU reports, UUIDs, CC state): expected ",
        base::HexEncode(expected), ", evidence carries ", base::HexEncode(carried));
  }
  void ExpectRefused(const Attempt& a, const attestation::Evidence& ev,
                     const std::vector<std::string>& reasons) {
    verify::AdmissionVerdict v = Verify(a, ev);
    EXPECT_FALSE(v.admission.has_value());
    EXPECT_FALSE(v.final);
    EXPECT_EQ(v.reasons, reasons);
  }

  base::FixedClock clock_{T("2025-07-10T00:00:00Z")};
  Party mo_ = MakeParty("mo", Role::kModelOwner);
  Party do_ = MakeParty("do", Role::kDataOwner);
  Party cp_ = MakeParty("cp", Role::kComputeProvider);
  std::string model_id_ = crypto::Sha256Id("the model's ciphertext");
  std::string data_id_ = crypto::Sha256Id("the dataset's ciphertext");
  crypto::Ed25519PrivateKey sim_key_ = crypto::Ed25519PrivateKey::Generate();
  SimCpu cpu_{sim_key_, GoodMeasurement()};
  LyingCoordinator liar_{clock_, sim_key_};
  attestation::TrustAnchors anchors_;
};

TEST_F(GpuAdmissionTest, AdmitsAWorkerWhoseGpusAreAttestedAndBound) {
  const std::string one = Contract(1);
  ForgedGpus gpu(1, CcOn(1));
  Attempt a = NewAttempt("j-1", one);
  ExpectAdmitted(a, Collect(a, gpu));

  const std::string two = Contract(2);
  ForgedGpus gpus(2, CcOn(2));
  Attempt b = NewAttempt("j-2", two);
  ExpectAdmitted(b, Collect(b, gpus));
}

TEST_F(GpuAdmissionTest, RefusesAnotherJobsGpuReport) {
  const std::string contract = Contract(1);
  ForgedGpus gpu(1, CcOn(1));
  Attempt other = NewAttempt("j-other", contract);
  const attestation::Evidence theirs = Collect(other, gpu);
  // The worker of j-1 presents j-other's GPU report, and its CPU report commits to it (the set
  // digest is over the report it carries), so only the GPU -> admission direction catches it.
  Attempt a = NewAttempt("j-1", contract);
  attestation::Evidence ev = theirs;
  const contracts::GpuCcState cc = CcOn(1);
  std::string set =
      *attestation::GpuSetDigest(cc, {{ev.gpus[0].uuid, crypto::Sha384(ev.gpus[0].report)}});
  ev = WithCpuOver(ev, *attestation::ExpectedReportData(Binding(a), set));
  ExpectRefused(a, ev,
                {absl::StrCat("binding: GPU 0 (", kUuids[0], "): its report's nonce ",
                              base::HexEncode(*attestation::GpuNonce(Binding(other), 0)),
                              " is not the one this admission derives for GPU 0 (",
                              base::HexEncode(*attestation::GpuNonce(Binding(a), 0)),
                              "): the report was made for another admission or job")});
  // Without the lie: its own GPU report.
  Attempt honest = NewAttempt("j-2", contract);
  ExpectAdmitted(honest, Collect(honest, gpu));
}

TEST_F(GpuAdmissionTest, RefusesACpuReportThatDoesNotCommitToTheGpuSet) {
  const std::string contract = Contract(1);
  ForgedGpus gpu(1, CcOn(1));
  Attempt a = NewAttempt("j-1", contract);
  const attestation::Evidence honest = Collect(a, gpu);
  const std::string d1 = *attestation::ExpectedReportData(Binding(a));
  std::string set = *attestation::GpuSetDigest(
      CcOn(1), {{honest.gpus[0].uuid, crypto::Sha384(honest.gpus[0].report)}});
  const std::string d2 = *attestation::ExpectedReportData(Binding(a), set);
  // The CPU report binds the admission as a CPU-only worker would (D1), not the GPUs.
  ExpectRefused(a, WithCpuOver(honest, d1), {NotCommitted(d2, d1)});
  // The GPU's UUID relabelled in transit: the CPU report committed to the other name.
  Attempt c = NewAttempt("j-3", contract);
  attestation::Evidence relabelled = Collect(c, gpu);
  const std::string committed = *attestation::ExpectedReportData(
      Binding(c), *attestation::GpuSetDigest(
                      CcOn(1), {{kUuids[0], crypto::Sha384(relabelled.gpus[0].report)}}));
  relabelled.gpus[0].uuid = kUuids[1];
  const std::string relabelled_set =
      *attestation::GpuSetDigest(CcOn(1), {{kUuids[1], crypto::Sha384(relabelled.gpus[0].report)}});
  ExpectRefused(
      c, relabelled,
      {NotCommitted(*attestation::ExpectedReportData(Binding(c), relabelled_set), committed)});
  // Without the lie.
  Attempt d = NewAttempt("j-4", contract);
  ExpectAdmitted(d, Collect(d, gpu));
}

TEST_F(GpuAdmissionTest, RefusesAWorkerWithConfidentialComputingOff) {
  const std::string contract = Contract(1);
  ForgedGpus off(1, {2, 0, 0, 0, 1});
  Attempt a = NewAttempt("j-1", contract);
  ExpectRefused(a, Collect(a, off),
                {"policy: GPU confidential computing is off (NVML cc_feature 0)"});
  // CC state changed in transit (off shown as on): the CPU report committed to "off".
  Attempt b = NewAttempt("j-2", contract);
  attestation::Evidence edited = Collect(b, off);
  const std::string report_digest = crypto::Sha384(edited.gpus[0].report);
  const std::string committed = *attestation::ExpectedReportData(
      Binding(b), *attestation::GpuSetDigest(*edited.gpu_cc, {{kUuids[0], report_digest}}));
  edited.gpu_cc = CcOn(1);
  ExpectRefused(b, edited,
                {NotCommitted(*attestation::ExpectedReportData(
                                  Binding(b), *attestation::GpuSetDigest(
                                                  CcOn(1), {{kUuids[0], report_digest}})),
                              committed)});
  // Without the lie: CC on.
  ForgedGpus on(1, CcOn(1));
  Attempt c = NewAttempt("j-3", contract);
  ExpectAdmitted(c, Collect(c, on));
}

TEST_F(GpuAdmissionTest, RefusesOneGpuWhereTheContractRequiresTwo) {
  const std::string contract = Contract(2);
  // One GPU, in a system that would protect PCIe for several (so only the count is wrong).
  ForgedGpus one(1, {2, 1, 0, 1, 1});
  Attempt a = NewAttempt("j-1", contract);
  ExpectRefused(a, Collect(a, one),
                {"policy: policy requires 2 NVIDIA GPUs, the worker attested 1"});
  // Without the lie: two.
  ForgedGpus two(2, CcOn(2));
  Attempt b = NewAttempt("j-2", contract);
  ExpectAdmitted(b, Collect(b, two));
}

TEST_F(GpuAdmissionTest, RefusesACpuOnlyWorkerForAGpuContract) {
  const std::string contract = Contract(1);
  Attempt a = NewAttempt("j-1", contract);
  ExpectRefused(a, *cpu_.Attest(*attestation::ExpectedReportData(Binding(a))),
                {"policy: policy requires 1 NVIDIA GPU, the worker attested 0",
                 "policy: the claims carry no GPU confidential-computing state"});
}

}  // namespace
}  // namespace triad::keyholder
