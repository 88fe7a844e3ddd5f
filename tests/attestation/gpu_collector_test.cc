// The NVML GPU collector, loaded with dlopen against a fake libnvidia-ml (fake_nvml.cc, a shared
// library this test builds) that answers from files: a recorded real H100 report and its chain,
// CC off, a report for another nonce, a driver without the settings query, no driver at all.
#include "attestation/gpu_collector.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attestation/binding.h"
#include "attestation/coco.h"
#include "attestation/evidence_document.h"
#include "attestation/evidence_verifier.h"
#include "attestation/nvidia_gpu.h"
#include "base/encoding.h"
#include "contracts/policy.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "measure/coco.h"
#include "nlohmann/json.hpp"
#include "tests/attestation/fake_coco_agent.h"
#include "tests/attestation/nvidia_forge.h"
#include "tests/attestation/snp_forge.h"
#include "tests/testing/testing.h"

#ifndef TRIAD_FAKE_NVML
#error "TRIAD_FAKE_NVML (the fake libnvidia-ml built by tests/attestation) must be defined"
#endif

namespace triad::attestation {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1751328000);  // 2025-07-01T00:00:00Z
const char kUuid0[] = "GPU-6f2d1c3b-0a4e-4f5d-9c8b-7a6e5d4c3b2a";
const char kUuid1[] = "GPU-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

std::string Nvidia(const std::string& relative) {
  return testing::ReadTestFile(testing::TestdataDir() + "/attestation/nvidia/" + relative);
}

class NvmlTest : public ::testing::Test {
 protected:
  NvmlTest() { setenv("TRIAD_FAKE_NVML_DIR", dir_.path().c_str(), 1); }
  ~NvmlTest() override { unsetenv("TRIAD_FAKE_NVML_DIR"); }

  void Write(const std::string& name, const std::string& data) {
    testing::WriteTestFile(dir_.File(name), data);
  }
  // "environment cc_feature devtools_mode multi_gpu_mode gpus_ready".
  void State(const std::string& cc) { Write("cc", cc); }
  void Device(size_t i, const std::string& uuid, const std::string& report,
              const std::string& certs) {
    Write("uuid." + std::to_string(i), uuid);
    Write("report." + std::to_string(i), report);
    Write("certs." + std::to_string(i), certs);
  }
  absl::StatusOr<std::unique_ptr<GpuCollector>> Open(std::vector<unsigned> indices = {}) {
    NvmlOptions o;
    o.library = TRIAD_FAKE_NVML;
    o.indices = std::move(indices);
    return NewNvmlGpuCollector(o);
  }
  // The recorded real H100 report (nvtrust, driver 550.90.07) and its chain.
  void RealH100() {
    Write("count", "1");
    State("2 1 0 0 1");
    Device(0, kUuid0, *GpuReportBytes(Nvidia("nvtrust-h100-550.90.07/report.hex")),
           Nvidia("nvtrust-h100-550.90.07/cert_chain.pem") + std::string(1, '\0'));
  }

  testing::TempDir dir_;
};

TEST_F(NvmlTest, ARecordedRealReportComesBackAsNvmlGaveIt) {
  RealH100();
  absl::StatusOr<std::unique_ptr<GpuCollector>> c = Open();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->uuids(), std::vector<std::string>{kUuid0});
  absl::StatusOr<contracts::GpuCcState> cc = (*c)->CcState();
  ASSERT_TRUE(cc.ok()) << cc.status();
  EXPECT_TRUE(cc->cc_on() && cc->production() && cc->ready());
  EXPECT_FALSE(cc->protected_pcie() || cc->devtools());
  // Asked over the nonce the report was recorded with, it verifies against the real root.
  const std::string nonce =
      *base::HexDecode("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb");
  absl::StatusOr<GpuEvidence> g = (*c)->Attest(0, nonce);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->uuid, kUuid0);
  EXPECT_EQ(testing::ReadTestFile(dir_.File("nonce.0")), nonce);         // what NVML was asked
  EXPECT_EQ(g->certs, Nvidia("nvtrust-h100-550.90.07/cert_chain.pem"));  // NUL stripped
  absl::StatusOr<TrustAnchors> roots =
      TrustAnchors::LoadDir(testing::TestdataDir() + "/attestation/roots");
  ASSERT_TRUE(roots.ok());
  GpuVerdict v = VerifyNvidiaGpuReport(g->report, g->certs, *roots, kNow);
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.driver_version, "550.90.07");
  EXPECT_EQ(v.claims.nonce, nonce);
}

TEST_F(NvmlTest, AReportForAnotherNonceIsRefusedByTheWorker) {
  RealH100();
  absl::StatusOr<std::unique_ptr<GpuCollector>> c = Open();
  ASSERT_TRUE(c.ok());
  crypto::Ed25519PrivateKey sim = crypto::Ed25519PrivateKey::Generate();
  std::unique_ptr<Attester> cpu = *NewSimAttester(std::move(sim));
  crypto::Ed25519PrivateKey eph = crypto::Ed25519PrivateKey::Generate();
  crypto::age::X25519Identity id = crypto::age::X25519Identity::Generate();
  BindingInputs in{crypto::RandomString(32), "job-1", eph.public_key(), id.recipient()};
  absl::StatusOr<Evidence> ev = CollectEvidence(*cpu, c->get(), in);
  EXPECT_EQ(ev.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ev.status().message(),
            absl::StrCat("GPU 0 (", kUuid0,
                         "): NVML returned a report over nonce "
                         "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb, not "
                         "the requested ",
                         base::HexEncode(*GpuNonce(in, 0))));
  // NVML was asked for exactly this admission's GPU nonce.
  EXPECT_EQ(testing::ReadTestFile(dir_.File("nonce.0")), *GpuNonce(in, 0));
}

// Reports the fake returns are made beforehand over the nonces the admission will derive.
class NvmlAdmission : public NvmlTest {
 protected:
  NvmlAdmission()
      : sim_(crypto::Ed25519PrivateKey::Generate()),
        eph_(crypto::Ed25519PrivateKey::Generate()),
        id_(crypto::age::X25519Identity::Generate()),
        in_{crypto::RandomString(32), "job-1", eph_.public_key(), id_.recipient()} {
    anchors_ = nvforge::ForgedPki().Anchors();
    anchors_.sim_keys.push_back(sim_.public_key());
    cpu_ = *NewSimAttester(*crypto::Ed25519PrivateKey::FromPem(sim_.ToPem()));
  }
  void Gpus(size_t n, const std::string& cc) {
    Write("count", std::to_string(n));
    State(cc);
    for (size_t i = 0; i < n; ++i) {
      gpus_.push_back(nvforge::NewGpu());
      nvforge::ReportSpec spec;
      spec.nonce = *GpuNonce(in_, static_cast<uint32_t>(i));
      Device(i, i == 0 ? kUuid0 : kUuid1, nvforge::Report(gpus_.back(), spec),
             gpus_.back().ChainPem());
    }
  }
  // The claims of `ev`, which must verify and bind this admission.
  contracts::Claims Verified(const Evidence& ev) {
    Verdict v = VerifyEvidence(ev, anchors_, kNow);
    EXPECT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
    EXPECT_TRUE(CheckBinding(v.claims, in_).ok()) << CheckBinding(v.claims, in_);
    return v.claims;
  }
  // `count` Hopper GPUs, RIMs and OCSP optional (the forged GPUs have none).
  static contracts::GpuRequirements Hopper(uint32_t count) {
    contracts::GpuRequirements g;
    g.count = count;
    g.architectures = {"hopper"};
    g.min_driver_version = "550";
    g.min_vbios_version = "96.00.00.00.00";
    g.rim_required = g.ocsp_required = false;
    return g;
  }
  contracts::PolicyDecision Admit(const Evidence& ev, uint32_t count) {
    const contracts::Claims claims = Verified(ev);
    contracts::WorkerPolicy p;
    p.tee = {contracts::kTeeSim};
    p.sim = contracts::SimReference{{claims.measurement}, {}};
    p.nvidia_gpu = Hopper(count);
    return contracts::Evaluate(p, claims);
  }

  crypto::Ed25519PrivateKey sim_, eph_;
  crypto::age::X25519Identity id_;
  BindingInputs in_;
  TrustAnchors anchors_;
  std::unique_ptr<Attester> cpu_;
  std::vector<nvforge::Gpu> gpus_;
};

TEST_F(NvmlAdmission, TwoGpusThroughNvmlAreAdmitted) {
  Gpus(2, "2 1 0 1 1");
  absl::StatusOr<std::unique_ptr<GpuCollector>> c = Open();
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<Evidence> ev = CollectEvidence(*cpu_, c->get(), in_);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->gpus[1].uuid, kUuid1);
  contracts::PolicyDecision d = Admit(*ev, 2);
  EXPECT_TRUE(d.admit) << ::testing::PrintToString(d.reasons);
}

TEST_F(NvmlAdmission, CcOffIsRefused) {
  Gpus(1, "2 0 0 0 1");
  absl::StatusOr<Evidence> ev = CollectEvidence(*cpu_, Open()->get(), in_);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->gpu_cc->cc_feature, 0u);
  EXPECT_EQ(Admit(*ev, 1).reasons,
            std::vector<std::string>{"GPU confidential computing is off (NVML cc_feature 0)"});
}

TEST_F(NvmlAdmission, OlderDriversWithoutTheSettingsQueryHaveNoMultiGpuMode) {
  Gpus(1, "2 1 1 1 0");
  Write("no_settings", "");
  absl::StatusOr<contracts::GpuCcState> cc = (*Open())->CcState();
  ASSERT_TRUE(cc.ok()) << cc.status();
  EXPECT_EQ(cc->devtools_mode, 1u);
  EXPECT_EQ(cc->multi_gpu_mode, 0u);  // unknown to nvmlSystemGetConfComputeState
  EXPECT_EQ(cc->gpus_ready, 0u);
}

TEST_F(NvmlTest, NoDriverNoLibraryAndOtherFailures) {
  NvmlOptions missing;
  missing.library = dir_.File("libnvidia-ml.so.1");
  absl::StatusOr<std::unique_ptr<GpuCollector>> none = NewNvmlGpuCollector(missing);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(none.status().message(), "NVML: cannot load " + missing.library))
      << none.status();
  EXPECT_TRUE(absl::EndsWith(none.status().message(), "): no NVIDIA driver on this machine"));
  RealH100();
  Write("init_error", "");
  EXPECT_EQ(Open().status().message(), "NVML: nvmlInit_v2: Driver Not Loaded (9)");
  std::remove(dir_.File("init_error").c_str());
  Write("count", "0");
  EXPECT_EQ(Open().status().message(), "NVML: no NVIDIA GPU on this machine");
  Write("count", "2");
  EXPECT_EQ(Open({2}).status().message(), "NVML: GPU index 2 does not exist (2 GPUs)");
  EXPECT_EQ(Open({1, 1}).status().message(), "NVML: GPU index 1 is given twice (2 GPUs)");
  // Index 1 has no UUID file: NVML's own error, named.
  EXPECT_EQ(Open().status().message(), "NVML: nvmlDeviceGetUUID: Not Supported (3)");
  absl::StatusOr<std::unique_ptr<GpuCollector>> only0 = Open({0});
  ASSERT_TRUE(only0.ok());
  EXPECT_EQ((*only0)->Attest(1, std::string(32, 'n')).status().message(),
            "GPU 1 is not one of the 1 attested");
  EXPECT_EQ((*only0)->Attest(0, "short").status().message(), "a GPU nonce is 32 bytes, got 5");
}

// ---- a Confidential Containers pod with GPUs (`triad worker run --tee coco --device cuda`)
//
// The CPU evidence comes from the pod's attestation agent (the fake agent of fake_coco_agent.h,
// answering SEV-SNP evidence signed by a forged Genoa VCEK over whatever runtime data it is asked),
// the GPU evidence from NVML inside the container (the fake libnvidia-ml), and CollectEvidence
// binds them as for any worker: GPU i over N_i, the agent asked for D2.
using Json = nlohmann::json;

class CocoGpuAdmission : public NvmlAdmission {
 protected:
  CocoGpuAdmission() : vcek_key_(forge::NewEcKey()) {
    const forge::Pki& amd = forge::ForgedPki("Genoa");
    forge::LeafSpec leaf;
    leaf.product_name = "Genoa";
    leaf.bl = 10, leaf.tee = 0, leaf.snp = 23, leaf.ucode = 25;  // the recorded report's TCB
    const Json recorded = Json::parse(cocotest::RecordedSnp());
    std::string chip_id;
    for (const Json& b : recorded["attestation_report"]["chip_id"]) {
      chip_id.push_back(static_cast<char>(b.get<int>()));
    }
    leaf.hwid_ext = chip_id;
    vcek_der_ = forge::ToDer(forge::IssueLeaf(amd, leaf, vcek_key_.get()).get());
    const TrustAnchors amd_anchors = amd.Anchors();
    anchors_.amd_ark = amd_anchors.amd_ark;
    anchors_.amd_ask = amd_anchors.amd_ask;
    anchors_.amd_asvk = amd_anchors.amd_asvk;
    initdata_ = measure::MakeInitData(cocotest::Pin());
    Write("initdata.toml", initdata_);
    options_.initdata_file = dir_.File("initdata.toml");
    options_.timeout = absl::Milliseconds(500);
  }

  // What the agent of a pod started with `initdata` answers for `runtime_data`: the recorded
  // report with that report data and HOST_DATA, signed again by the forged VCEK.
  std::string AgentAnswer(const std::string& runtime_data, const std::string& initdata) {
    Json j = Json::parse(cocotest::Echo(runtime_data, initdata));
    absl::StatusOr<attestation::Evidence> unsigned_ev = EvidenceFromCocoAgent(j.dump());
    EXPECT_TRUE(unsigned_ev.ok()) << unsigned_ev.status();
    const std::string signed_report = forge::SignReport(unsigned_ev->report, vcek_key_.get());
    j["attestation_report"]["signature"]["r"] = cocotest::Bytes(signed_report.substr(0x2A0, 72));
    j["attestation_report"]["signature"]["s"] = cocotest::Bytes(signed_report.substr(0x2E8, 72));
    j["cert_chain"] = Json::array({{{"cert_type", "VCEK"}, {"data", cocotest::Bytes(vcek_der_)}}});
    return j.dump();
  }

  absl::StatusOr<std::unique_ptr<Attester>> Coco(cocotest::FakeAgent& agent) {
    options_.agent = agent.url();
    return NewCocoAttester(options_);
  }

  // The contract's policy for this pod: the SNP guest, the init-data and worker image it pins, and
  // `count` Hopper GPUs.
  contracts::PolicyDecision AdmitCoco(const attestation::Evidence& ev, uint32_t count) {
    const contracts::Claims claims = Verified(ev);
    contracts::WorkerPolicy p;
    p.tee = {contracts::kTeeSevSnp};
    contracts::SnpReference snp;
    snp.measurements = {claims.measurement};
    snp.min_tcb = {10, 0, 23, 25, 0};
    snp.allowed_vmpls = {0};
    p.sev_snp = snp;
    const std::string digest = measure::InitDataDigest(*measure::ParseInitData(initdata_));
    p.coco = contracts::CocoReference{{digest}, {cocotest::Pin().image_digest()}};
    p.nvidia_gpu = Hopper(count);
    return contracts::Evaluate(p, claims);
  }

  crypto::SslPtr<EVP_PKEY> vcek_key_;
  std::string vcek_der_, initdata_;
  CocoAttesterOptions options_;
};

TEST_F(CocoGpuAdmission, ACocoWorkerWithTwoGpusIsAdmitted) {
  Gpus(2, "2 1 0 1 1");
  cocotest::FakeAgent agent([&](const std::string& t) {
    return cocotest::Http(200, AgentAnswer(cocotest::AskedFor(t), initdata_));
  });
  absl::StatusOr<std::unique_ptr<Attester>> cpu = Coco(agent);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  absl::StatusOr<std::unique_ptr<GpuCollector>> gpus = Open();
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  absl::StatusOr<attestation::Evidence> ev = CollectEvidence(**cpu, gpus->get(), in_);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->tee, "sev-snp");
  EXPECT_EQ(ev->initdata, initdata_);
  ASSERT_EQ(ev->gpus.size(), 2u);
  // The agent was asked for D2: the CPU report commits to both GPU reports and the CC state.
  std::vector<GpuSetEntry> set;
  for (const GpuEvidence& g : ev->gpus) set.push_back({g.uuid, crypto::Sha384(g.report)});
  EXPECT_EQ(cocotest::AskedFor(agent.last_target()),
            *ExpectedReportData(in_, *GpuSetDigest(*ev->gpu_cc, set)));
  contracts::PolicyDecision d = AdmitCoco(*ev, 2);
  EXPECT_TRUE(d.admit) << ::testing::PrintToString(d.reasons);

  // The evidence document a coordinator receives carries all three: report, init-data, GPUs.
  absl::StatusOr<attestation::Evidence> back = ParseEvidenceDocument(EvidenceDocument(*ev));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(AdmitCoco(*back, 2).admit);
}

// GPU reports made for another admission (another job's nonce): the worker stops before it asks
// the agent, and a verifier that is handed them refuses the binding.
TEST_F(CocoGpuAdmission, AGpuReportForAnotherBindingIsRefused) {
  crypto::Ed25519PrivateKey other_key = crypto::Ed25519PrivateKey::Generate();
  const BindingInputs other{crypto::RandomString(32), "job-2", other_key.public_key(),
                            id_.recipient()};
  Write("count", "1");
  State("2 1 0 0 1");
  gpus_.push_back(nvforge::NewGpu());
  nvforge::ReportSpec spec;
  spec.nonce = *GpuNonce(other, 0);
  Device(0, kUuid0, nvforge::Report(gpus_.back(), spec), gpus_.back().ChainPem());
  cocotest::FakeAgent agent([&](const std::string& t) {
    return cocotest::Http(200, AgentAnswer(cocotest::AskedFor(t), initdata_));
  });
  absl::StatusOr<std::unique_ptr<Attester>> cpu = Coco(agent);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  absl::StatusOr<attestation::Evidence> ev = CollectEvidence(**cpu, Open()->get(), in_);
  EXPECT_EQ(ev.status().message(),
            absl::StrCat("GPU 0 (", kUuid0, "): NVML returned a report over nonce ",
                         base::HexEncode(*GpuNonce(other, 0)), ", not the requested ",
                         base::HexEncode(*GpuNonce(in_, 0))));
  EXPECT_EQ(agent.requests(), 1);  // the probe only: no CPU evidence for a wrong GPU set

  // The whole evidence of the other admission, presented for this one.
  absl::StatusOr<attestation::Evidence> theirs = CollectEvidence(**cpu, Open()->get(), other);
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  Verdict v = VerifyEvidence(*theirs, anchors_, kNow);
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  std::vector<std::string> problems = BindingProblems(v.claims, in_);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], absl::StrCat("GPU 0 (", kUuid0, "): its report's nonce ",
                                      base::HexEncode(*GpuNonce(other, 0)),
                                      " is not the one this admission derives for GPU 0 (",
                                      base::HexEncode(*GpuNonce(in_, 0)),
                                      "): the report was made for another admission or job"));
  EXPECT_TRUE(absl::StartsWith(problems[1],
                               "report data does not commit to this admission and this set of "
                               "GPUs (nonce, job id, Ed25519 key, age recipient, GPU reports, "
                               "UUIDs, CC state): expected "))
      << problems[1];
}

TEST_F(CocoGpuAdmission, CcOffIsRefused) {
  Gpus(1, "2 0 0 0 1");
  cocotest::FakeAgent agent([&](const std::string& t) {
    return cocotest::Http(200, AgentAnswer(cocotest::AskedFor(t), initdata_));
  });
  absl::StatusOr<std::unique_ptr<Attester>> cpu = Coco(agent);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  absl::StatusOr<attestation::Evidence> ev = CollectEvidence(**cpu, Open()->get(), in_);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(AdmitCoco(*ev, 1).reasons,
            std::vector<std::string>{"GPU confidential computing is off (NVML cc_feature 0)"});
}

// The agent answers the probe, then garbage, then evidence for the CPU-only binding D1 (an agent
// that does not see the GPU set): each stops the admission at the worker with its reason.
TEST_F(CocoGpuAdmission, AgentGarbageOrAnotherBindingIsRefused) {
  Gpus(1, "2 1 0 0 1");
  int n = 0;
  cocotest::FakeAgent agent([&](const std::string& t) {
    switch (n++) {
      case 0:
        return cocotest::Http(200, AgentAnswer(cocotest::AskedFor(t), initdata_));
      case 1:
        return cocotest::Http(200, "{\"attestation_report\": 7}");
      default:
        return cocotest::Http(200, AgentAnswer(*ExpectedReportData(in_), initdata_));
    }
  });
  absl::StatusOr<std::unique_ptr<Attester>> cpu = Coco(agent);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  absl::StatusOr<std::unique_ptr<GpuCollector>> gpus = Open();
  ASSERT_TRUE(gpus.ok());
  EXPECT_EQ(CollectEvidence(**cpu, gpus->get(), in_).status().message(),
            "coco: attestation_report must be an object");
  absl::StatusOr<attestation::Evidence> d1 = CollectEvidence(**cpu, gpus->get(), in_);
  EXPECT_EQ(d1.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      d1.status().message(),
      absl::StrCat("coco: the attestation agent returned evidence for other runtime data "
                   "(report data ",
                   base::HexEncode(*ExpectedReportData(in_)).substr(0, 32), "…, asked for ",
                   base::HexEncode(cocotest::AskedFor(agent.last_target())).substr(0, 32),
                   "…); refusing it (an agent without encoding=base64 support, or a replay)"));
}

}  // namespace
}  // namespace triad::attestation
