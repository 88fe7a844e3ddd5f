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
        {"min_guest_svn", 1},
        {"allowed_vmpls", {0}},
        {"allow_migration_agent", false},
        {"chip_ids", {H(std::string(64, '\x22'))}}}},
      {"tdx",
       {{"mr_td", {H(Digest48("tdx-worker-v1"))}},
        {"rtmr0", {H(Digest48("rtmr0"))}},
        {"rtmr1", {H(Digest48("rtmr1"))}},
        {"rtmr2", {H(Digest48("rtmr2"))}},
        {"rtmr3", {H(Digest48("rtmr3"))}},
        {"mr_config_id", {H(std::string(48, '\0'))}},
        {"tcb_status", {"UpToDate", "SWHardeningNeeded"}},
        {"allowed_advisory_ids", {"INTEL-SA-00615"}},
        {"platform_ids", {H(std::string(16, '\x44'))}}}},
      {"sim", {{"measurements", {H(Digest48("sim-worker-v1"))}}, {"tcb_status", {"UpToDate"}}}},
      {"nvidia_gpu",
       {{"cc_mode", "on"},
        {"min_driver_version", "550.54.15"},
        {"min_vbios_version", "96.00.74.00.1C"}}}};
  return j.dump();
}

WorkerPolicy Parse(const std::string& text) {
  absl::StatusOr<WorkerPolicy> p = WorkerPolicy::FromText(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : WorkerPolicy{};
}

// The full policy without the GPU requirement (which no claims can meet yet).
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
          R"("],"min_tcb":{"bootloader":0,"tee":0,"snp":0,"microcode":0},"allow_migration_agent":false}})");
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

TEST(PolicyTest, GpuRequirementRejectsUntilGpuClaimsExist) {
  WorkerPolicy p = Parse(FullPolicyText());
  PolicyDecision d = Evaluate(p, testing::TdxClaimsPassing());
  EXPECT_FALSE(d.admit);
  EXPECT_EQ(d.reasons,
            V{"policy requires nvidia-gpu attestation (cc_mode on, driver >= 550.54.15, VBIOS >= "
              "96.00.74.00.1C), but the claims carry no GPU evidence"});
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
