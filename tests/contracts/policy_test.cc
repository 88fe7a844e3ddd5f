#include "contracts/policy.h"

#include "base/encoding.h"
#include "gtest/gtest.h"
#include "tests/contracts/contract_testing.h"
#include "tests/testing/testing.h"

namespace triad::contracts {
namespace {

using testing::Digest48;
using Json = nlohmann::json;
using V = std::vector<std::string>;

std::string H(const std::string& bytes) { return base::HexEncode(bytes); }

// A policy file using every key.
std::string FullPolicyText() {
  Json j = {
      {"tee", {"sev-snp", "tdx", "sim"}},
      {"allow_debug", false},
      {"sev_snp",
       {{"measurements", {H(Digest48("snp-worker-v1")), H(Digest48("snp-worker-v2"))}},
        {"min_tcb", {{"bootloader", 3}, {"tee", 0}, {"snp", 8}, {"microcode", 115}, {"fmc", 0}}},
        {"host_data", {H(std::string(32, '\x33'))}},
        {"id_key_digests", {H(Digest48("id-key"))}},
        {"min_guest_svn", 1},
        {"allowed_vmpls", {0}},
        {"allow_migration_agent", false},
        {"chip_ids", {H(std::string(64, '\x22'))}},
        {"require_crl", true}}},
      {"tdx",
       {{"mr_td", {H(Digest48("tdx-worker-v1"))}},
        {"rtmr0", {H(Digest48("rtmr0"))}},
        {"rtmr1", {H(Digest48("rtmr1"))}},
        {"rtmr2", {H(Digest48("rtmr2"))}},
        {"rtmr3", {H(Digest48("rtmr3"))}},
        {"mr_config_id", {H(std::string(48, '\0'))}},
        {"tcb_status", {"UpToDate", "SWHardeningNeeded"}},
        {"allowed_advisory_ids", {"INTEL-SA-00615"}},
        {"platform_ids", {H(std::string(16, '\x44'))}},
        {"min_tcb_evaluation_data_number", 17},
        {"td_attributes", {{"mask", "0000000010000001"}, {"value", "0000000010000000"}}}}},
      {"sim", {{"measurements", {H(Digest48("sim-worker-v1"))}}, {"tcb_status", {"UpToDate"}}}},
      {"nvidia_gpu",
       {{"count", 1},
        {"architectures", {"hopper"}},
        {"min_driver_version", "550.54.15"},
        {"min_vbios_version", "96.00.74.00.1C"},
        {"cc_mode", "on"},
        {"rim", "required"},
        {"ocsp", "required"}}},
      {"accepted_weaknesses", {"gpu-rim-optional"}}};
  return j.dump();
}

WorkerPolicy Parse(const std::string& text) {
  absl::StatusOr<WorkerPolicy> p = WorkerPolicy::FromText(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : WorkerPolicy{};
}

// The full policy without the GPU requirement (so the CPU-only sample claims meet it).
WorkerPolicy CpuPolicy() {
  Json j = Json::parse(FullPolicyText());
  j.erase("nvidia_gpu");
  return Parse(j.dump());
}

V PolicyProblems(const std::function<void(Json&)>& edit) {
  Json j = Json::parse(FullPolicyText());
  edit(j);
  V problems;
  EXPECT_FALSE(WorkerPolicy::FromJson(j, &problems).ok());
  return problems;
}

TEST(PolicyTest, FullPolicyRoundTrips) {
  WorkerPolicy p = Parse(FullPolicyText());
  EXPECT_EQ(p.tee, (V{"sev-snp", "tdx", "sim"}));
  ASSERT_TRUE(p.sev_snp && p.tdx && p.sim && p.nvidia_gpu);
  EXPECT_EQ(p.sev_snp->measurements, (V{Digest48("snp-worker-v1"), Digest48("snp-worker-v2")}));
  EXPECT_EQ(p.sev_snp->min_tcb, (SnpTcb{3, 0, 8, 115, 0}));
  EXPECT_TRUE(p.sev_snp->check_fmc);
  EXPECT_EQ(p.sev_snp->min_guest_svn, 1u);
  EXPECT_EQ(p.tdx->rtmr[2], V{Digest48("rtmr2")});
  EXPECT_EQ(p.tdx->allowed_advisory_ids, V{"INTEL-SA-00615"});
  EXPECT_EQ(p.nvidia_gpu->min_vbios_version, "96.00.74.00.1C");
  EXPECT_EQ(Json::parse(p.ToJson().dump()), Json::parse(FullPolicyText()));
  WorkerPolicy again = Parse(p.ToJson().dump());
  EXPECT_EQ(again.ToJson(), p.ToJson());
}

TEST(PolicyTest, FileRules) {
  EXPECT_EQ(PolicyProblems([](Json& j) { j["tee"] = Json::array(); }),
            V{"/tee: has 0 items, fewer than the minimum 1"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["tee"] = {"nvidia-gpu"}; }),
            V{"/tee/0: \"nvidia-gpu\" is not one of [\"sev-snp\",\"tdx\",\"sim\"]"});
  EXPECT_EQ(PolicyProblems([](Json& j) {
              j["tee"] = {"tdx", "tdx"};
            }),
            V{"/tee: items 0 and 1 are equal (\"tdx\")"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j.erase("tdx"); }),
            V{"/tee: tee lists tdx but there is no tdx section"});
  EXPECT_EQ(PolicyProblems([](Json& j) {
              j["tee"] = {"sev-snp", "tdx"};
            }),
            V{"/sim: there is a sim section but tee does not list sim"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["allow_debug"] = "no"; }),
            V{"/allow_debug: expected boolean, got string"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["debug"] = false; }),
            V{"/: unknown property \"debug\""});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["sev_snp"]["measurements"] = {"abcd"}; }),
            V{"/sev_snp/measurements/0: \"abcd\" does not match ^[0-9a-f]{96}$"});
  EXPECT_EQ(
      PolicyProblems([](Json& j) { j["sev_snp"]["measurements"] = {std::string(96, 'A')}; }),
      V{"/sev_snp/measurements/0: \"" + std::string(79, 'A') + "… does not match ^[0-9a-f]{96}$"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["sev_snp"]["measurements"] = Json::array(); }),
            V{"/sev_snp/measurements: has 0 items, fewer than the minimum 1"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["sev_snp"].erase("min_tcb"); }),
            V{"/sev_snp: missing required property \"min_tcb\""});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["sev_snp"]["min_tcb"]["microcode"] = 256; }),
            V{"/sev_snp/min_tcb/microcode: 256 is greater than maximum 255"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["sev_snp"]["allowed_vmpls"] = {4}; }),
            V{"/sev_snp/allowed_vmpls/0: 4 is greater than maximum 3"});
  EXPECT_EQ(
      PolicyProblems([](Json& j) { j["sev_snp"]["host_data"] = {H(std::string(48, 'x'))}; }),
      V{"/sev_snp/host_data/0: \"" + H(std::string(39, 'x')) + "7… does not match ^[0-9a-f]{64}$"});
  EXPECT_EQ(
      PolicyProblems([](Json& j) { j["tdx"]["tcb_status"] = {"Revoked"}; }),
      V{"/tdx/tcb_status/0: \"Revoked\" is not one of "
        "[\"UpToDate\",\"SWHardeningNeeded\",\"ConfigurationNeeded\","
        "\"ConfigurationAndSWHardeningNeeded\",\"OutOfDate\",\"OutOfDateConfigurationNeeded\"]"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["tdx"].erase("tcb_status"); }),
            V{"/tdx: missing required property \"tcb_status\""});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["tdx"]["allowed_advisory_ids"] = {"SA-1"}; }),
            V{"/tdx/allowed_advisory_ids/0: \"SA-1\" does not match ^INTEL-SA-[0-9]{5}$"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["tdx"]["rtmr4"] = Json::array(); }),
            V{"/tdx: unknown property \"rtmr4\""});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["nvidia_gpu"]["cc_mode"] = "off"; }),
            V{"/nvidia_gpu/cc_mode: \"off\" is not \"on\""});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["nvidia_gpu"]["min_driver_version"] = "r550"; }),
            V{"/nvidia_gpu/min_driver_version: \"r550\" does not match "
              "^[0-9]{1,6}(\\.[0-9]{1,6}){1,3}$"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["nvidia_gpu"]["min_vbios_version"] = "96.00.74"; }),
            V{"/nvidia_gpu/min_vbios_version: \"96.00.74\" does not match "
              "^[0-9A-Fa-f]{2}(\\.[0-9A-Fa-f]{2}){4}$"});
  V problems;
  EXPECT_EQ(WorkerPolicy::FromText("[1]", &problems).status().message(),
            "worker policy: /: expected object, got array");
  EXPECT_EQ(WorkerPolicy::FromText("{\"tee\": [\"sim\"], \"tee\": []}").status().message(),
            "worker policy: JSON: duplicate key \"tee\"");
}

TEST(PolicyTest, PassingClaimsAreAdmitted) {
  WorkerPolicy p = CpuPolicy();
  for (const Claims& c : {testing::SnpClaimsPassing(), testing::TdxClaimsPassing()}) {
    PolicyDecision d = Evaluate(p, c);
    EXPECT_TRUE(d.admit) << c.tee << ": " << ::testing::PrintToString(d.reasons);
    EXPECT_EQ(d.reasons, V{});
    EXPECT_FALSE(d.simulated);
  }
  // Any entry of a reference list will do (rolling upgrades).
  Claims v2 = testing::SnpClaimsPassing();
  v2.measurement = Digest48("snp-worker-v2");
  EXPECT_TRUE(Evaluate(p, v2).admit);
  Claims hardening = testing::TdxClaimsPassing();
  hardening.tcb_status = "SWHardeningNeeded";
  hardening.advisory_ids = {"INTEL-SA-00615"};
  EXPECT_TRUE(Evaluate(p, hardening).admit);
}

TEST(PolicyTest, SimIsAdmittedOnlyWhereNamedAndThenMarkedSimulated) {
  PolicyDecision d = Evaluate(CpuPolicy(), testing::SimClaimsPassing());
  EXPECT_TRUE(d.admit) << ::testing::PrintToString(d.reasons);
  EXPECT_TRUE(d.simulated);
  EXPECT_EQ(d.ToJson().dump(), R"({"admit":true,"simulated":true,"reasons":[]})");
  EXPECT_EQ(std::string(kSimulatedNotice), "SIMULATED: no hardware protection");

  absl::StatusOr<WorkerPolicy> hw =
      DefaultHardwarePolicy({Digest48("snp-worker-v1")}, {Digest48("tdx-worker-v1")});
  ASSERT_TRUE(hw.ok());
  d = Evaluate(*hw, testing::SimClaimsPassing());
  EXPECT_FALSE(d.admit);
  EXPECT_FALSE(d.simulated);
  EXPECT_EQ(d.reasons, V{"tee sim not accepted (policy accepts [sev-snp, tdx])"});
  EXPECT_EQ(
      d.ToJson().dump(),
      R"js({"admit":false,"simulated":false,"reasons":["tee sim not accepted (policy accepts [sev-snp, tdx])"]})js");
  // A rejected sim worker is not "simulated": nothing was admitted.
  Claims wrong = testing::SimClaimsPassing();
  wrong.measurement = Digest48("other");
  d = Evaluate(CpuPolicy(), wrong);
  EXPECT_FALSE(d.simulated);
  EXPECT_EQ(d.reasons, V{"measurement " + H(Digest48("other")) + " not in [" +
                         H(Digest48("sim-worker-v1")) + "]"});
  Claims none;
  EXPECT_EQ(Evaluate(*hw, none).reasons,
            V{"tee (empty) not accepted (policy accepts [sev-snp, tdx])"});
}

TEST(PolicyTest, DefaultHardwarePolicy) {
  absl::StatusOr<WorkerPolicy> snp_only = DefaultHardwarePolicy({Digest48("m")}, {});
  ASSERT_TRUE(snp_only.ok());
  EXPECT_EQ(
      snp_only->ToJson().dump(),
      R"({"tee":["sev-snp"],"allow_debug":false,"sev_snp":{"measurements":[")" + H(Digest48("m")) +
          R"("],"min_tcb":{"bootloader":0,"tee":0,"snp":0,"microcode":0},"allowed_vmpls":[0],"allow_migration_agent":false}})");
  absl::StatusOr<WorkerPolicy> tdx_only = DefaultHardwarePolicy({}, {Digest48("m")});
  ASSERT_TRUE(tdx_only.ok());
  EXPECT_EQ(tdx_only->tee, V{"tdx"});
  EXPECT_EQ(tdx_only->tdx->tcb_status, V{"UpToDate"});
  // Its JSON form is a valid policy.
  EXPECT_TRUE(WorkerPolicy::FromText(tdx_only->ToJson().dump()).ok());
  EXPECT_EQ(DefaultHardwarePolicy({}, {}).status().message(),
            "a hardware-only policy needs at least one reference measurement (SEV-SNP MEASUREMENT "
            "or TDX MRTD)");
  EXPECT_EQ(DefaultHardwarePolicy({"short"}, {}).status().message(),
            "a reference measurement must be 48 bytes (96 hex digits), got 5");
}

TEST(PolicyTest, DebugIsRefusedUnlessAllowed) {
  WorkerPolicy p = CpuPolicy();
  Claims snp = testing::SnpClaimsPassing();
  snp.debug = true;
  EXPECT_EQ(Evaluate(p, snp).reasons, V{"debug guest not allowed"});
  Claims tdx = testing::TdxClaimsPassing();
  tdx.debug = true;
  EXPECT_EQ(Evaluate(p, tdx).reasons, V{"debug TD not allowed"});
  Claims sim = testing::SimClaimsPassing();
  sim.debug = true;
  EXPECT_EQ(Evaluate(p, sim).reasons, V{"debug sim worker not allowed"});
  p.allow_debug = true;
  EXPECT_TRUE(Evaluate(p, tdx).admit);
}

TEST(PolicyTest, SnpRules) {
  WorkerPolicy p = CpuPolicy();
  const std::string refs =
      "[" + H(Digest48("snp-worker-v1")) + ", " + H(Digest48("snp-worker-v2")) + "]";
  auto reasons = [&](const std::function<void(Claims&)>& edit) {
    Claims c = testing::SnpClaimsPassing();
    edit(c);
    PolicyDecision d = Evaluate(p, c);
    EXPECT_EQ(d.admit, d.reasons.empty());
    return d.reasons;
  };
  EXPECT_EQ(reasons([](Claims& c) { c.measurement = Digest48("evil"); }),
            V{"measurement " + H(Digest48("evil")) + " not in " + refs});
  EXPECT_EQ(reasons([](Claims& c) { c.snp->host_data = std::string(32, '\x34'); }),
            V{"host_data " + H(std::string(32, '\x34')) + " not in [" + H(std::string(32, '\x33')) +
              "]"});
  EXPECT_EQ(reasons([](Claims& c) { c.snp->reported_tcb.bootloader = 2; }),
            V{"reported_tcb.bootloader 2 is below minimum 3"});
  EXPECT_EQ(reasons([](Claims& c) { c.snp->reported_tcb.snp = 7; }),
            V{"reported_tcb.snp 7 is below minimum 8"});
  EXPECT_EQ(reasons([](Claims& c) { c.snp->reported_tcb.microcode = 100; }),
            V{"reported_tcb.microcode 100 is below minimum 115"});
  p.sev_snp->min_tcb.tee = 1;
  p.sev_snp->min_tcb.fmc = 2;
  EXPECT_EQ(reasons([](Claims&) {}),
            (V{"reported_tcb.tee 0 is below minimum 1", "reported_tcb.fmc 0 is below minimum 2"}));
  p.sev_snp->check_fmc = false;
  EXPECT_EQ(reasons([](Claims&) {}), V{"reported_tcb.tee 0 is below minimum 1"});
  p.sev_snp->min_tcb.tee = 0;
  EXPECT_EQ(reasons([](Claims& c) { c.snp->guest_svn = 0; }), V{"guest_svn 0 is below minimum 1"});
  EXPECT_EQ(reasons([](Claims& c) { c.snp->vmpl = 2; }), V{"vmpl 2 not in [0]"});
  EXPECT_EQ(reasons([](Claims& c) { c.snp->migration_agent_allowed = true; }),
            V{"migration agent allowed by the guest policy, which this policy forbids"});
  EXPECT_EQ(reasons([](Claims& c) { c.snp->chip_id = std::string(64, '\0'); }),
            V{"chip_id " + std::string(128, '0') + " not in [" + H(std::string(64, '\x22')) + "]"});
  EXPECT_EQ(reasons([](Claims& c) { c.snp.reset(); }), V{"claims carry no sev-snp details"});
  // Every failed rule is listed, in order.
  EXPECT_EQ(reasons([](Claims& c) {
              c.debug = true;
              c.measurement = Digest48("evil");
              c.snp->reported_tcb.microcode = 1;
              c.snp->vmpl = 1;
            }),
            (V{"debug guest not allowed", "measurement " + H(Digest48("evil")) + " not in " + refs,
               "reported_tcb.microcode 1 is below minimum 115", "vmpl 1 not in [0]"}));
  // Optional lists that are absent are not checked.
  p.sev_snp->host_data.clear();
  p.sev_snp->chip_ids.clear();
  p.sev_snp->allowed_vmpls.clear();
  p.sev_snp->min_guest_svn.reset();
  EXPECT_EQ(reasons([](Claims& c) {
              c.snp->host_data = "x";
              c.snp->chip_id.clear();
              c.snp->vmpl = 3;
              c.snp->guest_svn = 0;
            }),
            V{});
  p.sev_snp->allow_migration_agent = true;
  EXPECT_EQ(reasons([](Claims& c) { c.snp->migration_agent_allowed = true; }), V{});
}

TEST(PolicyTest, TdxRules) {
  WorkerPolicy p = CpuPolicy();
  auto reasons = [&](const std::function<void(Claims&)>& edit) {
    Claims c = testing::TdxClaimsPassing();
    edit(c);
    PolicyDecision d = Evaluate(p, c);
    EXPECT_EQ(d.admit, d.reasons.empty());
    return d.reasons;
  };
  EXPECT_EQ(reasons([](Claims& c) { c.measurement = Digest48("evil"); }),
            V{"mr_td " + H(Digest48("evil")) + " not in [" + H(Digest48("tdx-worker-v1")) + "]"});
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(reasons([i](Claims& c) { c.tdx->rtmr[i] = Digest48("evil"); }),
              V{"rtmr" + std::to_string(i) + " " + H(Digest48("evil")) + " not in [" +
                H(Digest48("rtmr" + std::to_string(i))) + "]"});
  }
  EXPECT_EQ(reasons([](Claims& c) { c.tdx->rtmr.pop_back(); }),
            V{"claims carry 3 RTMRs, expected 4"});
  EXPECT_EQ(
      reasons([](Claims& c) { c.tdx->mr_config_id = std::string(48, '\x01'); }),
      V{"mr_config_id " + H(std::string(48, '\x01')) + " not in [" + std::string(96, '0') + "]"});
  EXPECT_EQ(reasons([](Claims& c) { c.tcb_status = "OutOfDate"; }),
            V{"tcb_status OutOfDate not in [UpToDate, SWHardeningNeeded]"});
  EXPECT_EQ(reasons([](Claims& c) { c.tcb_status.clear(); }),
            V{"tcb_status (empty) not in [UpToDate, SWHardeningNeeded]"});
  EXPECT_EQ(reasons([](Claims& c) {
              c.advisory_ids = {"INTEL-SA-00615", "INTEL-SA-00837"};
            }),
            V{"advisory INTEL-SA-00837 not in allowed [INTEL-SA-00615]"});
  EXPECT_EQ(reasons([](Claims& c) { c.platform_id = "\x01\x02"; }),
            V{"platform_id 0102 not in [" + H(std::string(16, '\x44')) + "]"});
  EXPECT_EQ(reasons([](Claims& c) { c.tdx.reset(); }), V{"claims carry no tdx details"});
  // The brief's example: only UpToDate.
  p.tdx->tcb_status = {"UpToDate"};
  EXPECT_EQ(reasons([](Claims& c) { c.tcb_status = "OutOfDate"; }),
            V{"tcb_status OutOfDate not in [UpToDate]"});
  // Without allowed_advisory_ids, advisories are not checked; without RTMR lists, RTMRs are not.
  p.tdx->allowed_advisory_ids.reset();
  for (auto& r : p.tdx->rtmr) r.clear();
  EXPECT_EQ(reasons([](Claims& c) {
              c.advisory_ids = {"INTEL-SA-00837"};
              c.tdx->rtmr.clear();
            }),
            V{});
}

TEST(PolicyTest, SimRules) {
  WorkerPolicy p = CpuPolicy();
  Claims c = testing::SimClaimsPassing();
  c.tcb_status = "OutOfDate";
  EXPECT_EQ(Evaluate(p, c).reasons, V{"tcb_status OutOfDate not in [UpToDate]"});
  p.sim->tcb_status.clear();
  EXPECT_TRUE(Evaluate(p, c).admit);
}

// The full policy (one Hopper GPU, RIMs and OCSP required) on TDX claims with GPUs.
V GpuReasons(const std::function<void(Claims&)>& edit,
             const std::function<void(WorkerPolicy&)>& edit_policy = {}) {
  WorkerPolicy p = Parse(FullPolicyText());
  if (edit_policy) edit_policy(p);
  Claims c = testing::WithGpus(testing::TdxClaimsPassing(), p.nvidia_gpu->count);
  edit(c);
  PolicyDecision d = Evaluate(p, c);
  EXPECT_EQ(d.admit, d.reasons.empty());
  return d.reasons;
}

TEST(PolicyTest, GpusThatMeetTheRequirementsAreAdmitted) {
  EXPECT_EQ(GpuReasons([](Claims&) {}), V{});
  // Two GPUs, each one's own, with protected PCIe.
  EXPECT_EQ(GpuReasons([](Claims&) {}, [](WorkerPolicy& p) { p.nvidia_gpu->count = 2; }), V{});
  // A policy without the section does not look at GPUs.
  Claims c = testing::WithGpus(testing::TdxClaimsPassing(), 1);
  c.gpu_cc->cc_feature = 0;
  EXPECT_TRUE(Evaluate(CpuPolicy(), c).admit);
}

TEST(PolicyTest, GpuCountAndCcState) {
  const std::string uuid0 = testing::GpuClaimsPassing(0).uuid;
  // A worker without GPU evidence.
  EXPECT_EQ(GpuReasons([](Claims& c) {
              c.gpus.clear();
              c.gpu_cc.reset();
            }),
            (V{"policy requires 1 NVIDIA GPU, the worker attested 0",
               "the claims carry no GPU confidential-computing state"}));
  // A policy that needs two GPUs and gets one.
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpus.pop_back(); },
                       [](WorkerPolicy& p) { p.nvidia_gpu->count = 2; }),
            V{"policy requires 2 NVIDIA GPUs, the worker attested 1"});
  // CC off, not production, devtools, not ready.
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpu_cc->cc_feature = 0; }),
            V{"GPU confidential computing is off (NVML cc_feature 0)"});
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpu_cc->environment = GpuCcState::kEnvironmentSim; }),
            V{"GPU confidential computing environment 1 is not production (2)"});
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpu_cc->devtools_mode = 1; }),
            V{"GPU devtools mode is on (profiling and debugging of the GPUs allowed)"});
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpu_cc->devtools_mode = 1; },
                       [](WorkerPolicy& p) { p.allow_debug = true; }),
            V{});
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpu_cc->gpus_ready = 0; }),
            V{"the GPUs do not accept work (NVML ready state 0)"});
  // Several GPUs without protected PCIe.
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpu_cc->multi_gpu_mode = 0; },
                       [](WorkerPolicy& p) { p.nvidia_gpu->count = 2; }),
            V{"2 GPUs need protected PCIe (NVML multi_gpu_mode 0, not 1)"});
}

TEST(PolicyTest, GpuVersionsArchitectureRimsAndOcsp) {
  const std::string who = "GPU 0 (" + testing::GpuClaimsPassing(0).uuid + ")";
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpus[0].architecture = "blackwell"; }),
            V{who + ": architecture blackwell not in [hopper]"});
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpus[0].architecture.clear(); }),
            V{who + ": architecture (unknown) not in [hopper]"});
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpus[0].driver_version = "535.86.09"; }),
            V{who + ": driver 535.86.09 is below minimum 550.54.15"});
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpus[0].vbios_version = "96.00.5E.00.01"; }),
            V{who + ": VBIOS 96.00.5E.00.01 is below minimum 96.00.74.00.1C"});
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpus[0].driver_version = "r550"; }),
            V{who + ": driver version \"r550\" cannot be compared"});
  // Reference measurements: none, or only the VBIOS's.
  EXPECT_EQ(GpuReasons([](Claims& c) {
              c.gpus[0].rims.clear();
              c.gpus[0].measurements_match = false;
            }),
            V{who + ": reference measurements not verified (rim: required): no driver RIM, no "
                    "VBIOS RIM"});
  EXPECT_EQ(GpuReasons([](Claims& c) {
              c.gpus[0].rims.erase(c.gpus[0].rims.begin());
              c.gpus[0].measurements_match = false;
            }),
            V{who + ": reference measurements not verified (rim: required): no driver RIM"});
  EXPECT_EQ(GpuReasons(
                [](Claims& c) {
                  c.gpus[0].rims.clear();
                  c.gpus[0].measurements_match = false;
                },
                [](WorkerPolicy& p) { p.nvidia_gpu->rim_required = false; }),
            V{});
  // Revocation.
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpus[0].device_revocation = "not checked"; }),
            V{who + ": OCSP for the device chain is not checked (ocsp: required: good)"});
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpus[0].rims[1].revocation = "incomplete"; }),
            V{who + ": OCSP for the VBIOS RIM chain is incomplete (ocsp: required: good)"});
  EXPECT_EQ(GpuReasons([](Claims& c) { c.gpus[0].device_revocation = "not checked"; },
                       [](WorkerPolicy& p) { p.nvidia_gpu->ocsp_required = false; }),
            V{});
}

TEST(PolicyTest, GpuSectionSchema) {
  EXPECT_EQ(PolicyProblems([](Json& j) { j["nvidia_gpu"]["count"] = 9; }),
            V{"/nvidia_gpu/count: 9 is greater than maximum 8"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["nvidia_gpu"]["count"] = 0; }),
            V{"/nvidia_gpu/count: 0 is less than minimum 1"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["nvidia_gpu"]["architectures"] = {"ampere"}; }),
            V{"/nvidia_gpu/architectures/0: \"ampere\" is not one of [\"hopper\",\"blackwell\"]"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["nvidia_gpu"]["rim"] = "no"; }),
            V{"/nvidia_gpu/rim: \"no\" is not one of [\"required\",\"optional\"]"});
  EXPECT_EQ(PolicyProblems([](Json& j) { j["nvidia_gpu"].erase("count"); }),
            V{"/nvidia_gpu: missing required property \"count\""});
  // rim and ocsp default to required.
  Json j = Json::parse(FullPolicyText());
  j["nvidia_gpu"].erase("rim");
  j["nvidia_gpu"].erase("ocsp");
  WorkerPolicy p = Parse(j.dump());
  EXPECT_TRUE(p.nvidia_gpu->rim_required);
  EXPECT_TRUE(p.nvidia_gpu->ocsp_required);
  EXPECT_EQ(p.ToJson()["nvidia_gpu"]["ocsp"], "required");
}

TEST(PolicyTest, NewCpuRules) {
  WorkerPolicy p = CpuPolicy();
  Claims snp = testing::SnpClaimsPassing();
  snp.snp->id_key_digest = Digest48("other id key");
  snp.snp->crl_checked = false;
  EXPECT_EQ(Evaluate(p, snp).reasons,
            (V{"id_key_digest " + H(Digest48("other id key")) + " not in [" +
                   H(Digest48("id-key")) + "]",
               "no AMD CRL was checked (require_crl): supply the ARK's CRL with the evidence"}));
  Claims tdx = testing::TdxClaimsPassing();
  tdx.tdx->tcb_evaluation_data_number = 16;
  tdx.tdx->td_attributes = 0x1;  // DEBUG set (allowed here), SEPT_VE_DISABLE clear
  p.allow_debug = true;
  tdx.debug = true;
  EXPECT_EQ(Evaluate(p, tdx).reasons,
            (V{"tcb_evaluation_data_number 16 is below minimum 17",
               "td_attributes 0x0000000000000001 & mask 0x0000000010000001 is 0x0000000000000001, "
               "required 0x0000000010000000"}));
  EXPECT_EQ(PolicyProblems([](Json& j) {
              j["tdx"]["td_attributes"] = {{"mask", "0000000000000001"},
                                           {"value", "0000000000000002"}};
            }),
            V{"/tdx/td_attributes: value 0x0000000000000002 has bits outside mask "
              "0x0000000000000001, so no TD can match"});
}

TEST(PolicyTest, Weaknesses) {
  auto codes = [](const WorkerPolicy& p) {
    V out;
    for (const PolicyWeakness& w : UnacceptedWeaknesses(p)) out.push_back(w.code);
    return out;
  };
  WorkerPolicy full = Parse(FullPolicyText());
  EXPECT_EQ(codes(full), V{});
  // A TDX policy that pins only MRTD (and RTMR0): the guest is not pinned.
  WorkerPolicy tdx = full;
  tdx.tdx->rtmr[1].clear();
  tdx.tdx->mr_config_id.clear();
  ASSERT_EQ(UnacceptedWeaknesses(tdx).size(), 1u);
  EXPECT_EQ(UnacceptedWeaknesses(tdx)[0].code, "tdx-guest-unpinned");
  EXPECT_EQ(UnacceptedWeaknesses(tdx)[0].message,
            "tdx: neither rtmr1 and rtmr2 nor mr_config_id is pinned, so any guest kernel, initrd "
            "and command line boots with an accepted MRTD (which measures only the TDVF "
            "firmware): pin rtmr1 and rtmr2 (--tdx-rtmr1, --tdx-rtmr2), or mr_config_id "
            "(--tdx-mrconfigid) when the TD's configuration id covers them");
  // MRCONFIGID alone, or RTMR1 and RTMR2, pin it.
  WorkerPolicy config_id = tdx;
  config_id.tdx->mr_config_id = {Digest48("config")};
  EXPECT_EQ(codes(config_id), V{});
  // Accepted: recorded, no longer unaccepted, still a weakness.
  tdx.accepted_weaknesses = {"tdx-guest-unpinned"};
  EXPECT_EQ(codes(tdx), V{});
  EXPECT_EQ(PolicyWeaknesses(tdx).size(), 1u);
  EXPECT_EQ(tdx.ToJson()["accepted_weaknesses"].dump(), R"(["tdx-guest-unpinned"])");
  // Without RTMR0 the host picks the ACPI tables and the firmware's configuration.
  WorkerPolicy acpi = full;
  acpi.tdx->rtmr[0].clear();
  EXPECT_EQ(codes(acpi), V{"tdx-acpi-unpinned"});
  EXPECT_EQ(UnacceptedWeaknesses(acpi)[0].message,
            "tdx: rtmr0 is not pinned, so the host chooses the ACPI tables (code the guest kernel "
            "runs), the memory map and the firmware's configuration and secure-boot keys of an "
            "admitted TD: pin rtmr0 (--tdx-rtmr0, from triad measure tdx --fw-cfg)");
  // SNP: an all-zero TCB floor, any VMPL; GPUs: optional RIMs and OCSP.
  WorkerPolicy snp = full;
  snp.sev_snp->min_tcb = SnpTcb{};
  snp.sev_snp->check_fmc = false;
  snp.sev_snp->allowed_vmpls.clear();
  snp.nvidia_gpu->rim_required = false;
  snp.nvidia_gpu->ocsp_required = false;
  snp.accepted_weaknesses.clear();
  EXPECT_EQ(codes(snp),
            (V{"snp-no-min-tcb", "snp-any-vmpl", "gpu-rim-optional", "gpu-ocsp-optional"}));
  EXPECT_EQ(PolicyProblems([](Json& j) { j["accepted_weaknesses"] = {"anything"}; }),
            V{"/accepted_weaknesses/0: \"anything\" is not one of [\"tdx-guest-unpinned\","
              "\"tdx-acpi-unpinned\",\"snp-no-min-tcb\",\"snp-any-vmpl\",\"gpu-rim-optional\","
              "\"gpu-ocsp-optional\"]"});
}

TEST(PolicyTest, HardwarePolicyFromTheDraftFlags) {
  HardwarePolicyOptions o;
  o.snp_measurements = {Digest48("snp")};
  EXPECT_EQ(HardwarePolicy(o).status().message(),
            "a minimum SEV-SNP TCB is required with an SEV-SNP measurement (bootloader, tee, snp "
            "and microcode SVNs: the oldest firmware and microcode the parties accept)");
  o.snp_min_tcb = SnpTcb{3, 0, 8, 115, 0};
  o.snp_host_data = {std::string(32, '\x01')};
  o.snp_id_key_digests = {Digest48("id")};
  o.tdx_mr_td = {Digest48("mrtd")};
  o.tdx_rtmr0 = {Digest48("vm-shape")};
  o.tdx_rtmr1 = {Digest48("kernel")};
  o.tdx_rtmr2 = {Digest48("cmdline")};
  absl::StatusOr<WorkerPolicy> p = HardwarePolicy(o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tee, (V{"sev-snp", "tdx"}));
  EXPECT_EQ(p->sev_snp->allowed_vmpls, std::vector<uint32_t>{0});  // VMPL 0 by default
  EXPECT_EQ(p->sev_snp->min_tcb, (SnpTcb{3, 0, 8, 115, 0}));
  EXPECT_EQ(p->sev_snp->host_data, V{std::string(32, '\x01')});
  EXPECT_EQ(p->sev_snp->id_key_digests, V{Digest48("id")});
  EXPECT_EQ(p->tdx->rtmr[0], V{Digest48("vm-shape")});
  EXPECT_EQ(p->tdx->rtmr[1], V{Digest48("kernel")});
  EXPECT_EQ(p->tdx->rtmr[2], V{Digest48("cmdline")});
  EXPECT_TRUE(UnacceptedWeaknesses(*p).empty());
  EXPECT_TRUE(WorkerPolicy::FromText(p->ToJson().dump()).ok());
  // MRTD alone is accepted here; the draft refuses it for its weakness.
  HardwarePolicyOptions mrtd_only;
  mrtd_only.tdx_mr_td = {Digest48("mrtd")};
  ASSERT_TRUE(HardwarePolicy(mrtd_only).ok());
  EXPECT_EQ(UnacceptedWeaknesses(*HardwarePolicy(mrtd_only))[0].code, "tdx-guest-unpinned");
  o.snp_host_data = {"short"};
  EXPECT_EQ(HardwarePolicy(o).status().message(),
            "SEV-SNP host data must be 32 bytes (64 hex digits), got 5");
  o.snp_host_data.clear();
  o.snp_vmpls = {4};
  EXPECT_EQ(HardwarePolicy(o).status().message(), "VMPL 4 is not 0 to 3");
}

TEST(PolicyTest, KindWithoutReferenceValuesBuiltInCode) {
  WorkerPolicy p;
  p.tee = {kTeeTdx};
  EXPECT_EQ(Evaluate(p, testing::TdxClaimsPassing()).reasons,
            V{"policy has no reference values for tdx"});
}

TEST(PolicyTest, CompareVersions) {
  EXPECT_EQ(*CompareVersions("550.54.15", "550.54.15", false), 0);
  EXPECT_EQ(*CompareVersions("550.54.14", "550.54.15", false), -1);
  EXPECT_EQ(*CompareVersions("550.100", "550.54.15", false), 1);  // numeric, not lexical
  EXPECT_EQ(*CompareVersions("550", "550.0.0", false), 0);
  EXPECT_EQ(*CompareVersions("96.00.74.00.1C", "96.00.74.00.1c", true), 0);
  EXPECT_EQ(*CompareVersions("96.00.74.00.1C", "96.00.74.00.9F", true), -1);
  EXPECT_EQ(*CompareVersions("96.00.A0.00.01", "96.00.74.00.9F", true), 1);
  EXPECT_EQ(CompareVersions("550.x", "1", false).status().message(), "bad version \"550.x\"");
  EXPECT_EQ(CompareVersions("1..2", "1", false).status().message(), "bad version \"1..2\"");
  EXPECT_EQ(CompareVersions("1", "0x1", true).status().message(), "bad version \"0x1\"");
  EXPECT_EQ(CompareVersions("-1", "1", false).status().message(), "bad version \"-1\"");
}

}  // namespace
}  // namespace triad::contracts
