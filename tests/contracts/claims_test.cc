#include "contracts/claims.h"

#include "base/encoding.h"
#include "gtest/gtest.h"
#include "tests/contracts/contract_testing.h"
#include "tests/testing/testing.h"

namespace triad::contracts {
namespace {

using Json = nlohmann::json;

Claims RoundTrip(const Claims& c) {
  // Through text, as records carry it.
  absl::StatusOr<Claims> back = Claims::FromJson(Json::parse(c.ToJson().dump()));
  EXPECT_TRUE(back.ok()) << back.status();
  return back.ok() ? *back : Claims{};
}

TEST(ClaimsTest, SnpRoundTrip) {
  Claims c = testing::SnpClaimsPassing();
  c.advisory_ids = {"AMD-SB-3009"};
  c.snp->vmpl = 1;
  c.snp->id_key_digest = std::string(48, '\x0a');
  c.snp->author_key_digest = std::string(48, '\x0b');
  c.snp->report_id = std::string(32, '\x0c');
  c.snp->committed_tcb = SnpTcb{1, 2, 3, 4, 5};
  c.snp->current_tcb = SnpTcb{255, 254, 253, 252, 251};
  c.snp->smt_allowed = true;
  c.snp->migration_agent_allowed = true;
  c.snp->policy = 0xFFFFFFFFFFFFFFFFull;
  Claims b = RoundTrip(c);
  EXPECT_EQ(b.ToJson(), c.ToJson());
  EXPECT_EQ(b.tee, "sev-snp");
  EXPECT_EQ(b.measurement, c.measurement);
  EXPECT_EQ(b.report_data, c.report_data);
  EXPECT_EQ(b.platform_id, c.platform_id);
  EXPECT_EQ(b.advisory_ids, c.advisory_ids);
  ASSERT_TRUE(b.snp.has_value());
  EXPECT_FALSE(b.tdx.has_value());
  EXPECT_FALSE(b.sim.has_value());
  EXPECT_EQ(b.snp->policy, 0xFFFFFFFFFFFFFFFFull);
  EXPECT_EQ(b.snp->vmpl, 1u);
  EXPECT_EQ(b.snp->guest_svn, 1u);
  EXPECT_EQ(b.snp->product, "Genoa");
  EXPECT_EQ(b.snp->host_data, c.snp->host_data);
  EXPECT_EQ(b.snp->id_key_digest, c.snp->id_key_digest);
  EXPECT_EQ(b.snp->report_id, c.snp->report_id);
  EXPECT_EQ(b.snp->committed_tcb, (SnpTcb{1, 2, 3, 4, 5}));
  EXPECT_EQ(b.snp->current_tcb, (SnpTcb{255, 254, 253, 252, 251}));
  EXPECT_TRUE(b.snp->smt_allowed);
  EXPECT_TRUE(b.snp->migration_agent_allowed);
  EXPECT_FALSE(b.simulated());
}

TEST(ClaimsTest, TdxRoundTrip) {
  Claims c = testing::TdxClaimsPassing();
  c.debug = true;
  c.tdx->td_attributes = 1;
  c.tdx->xfam = 0xe7;
  c.tdx->mr_service_td = std::string(48, '\x07');
  Claims b = RoundTrip(c);
  EXPECT_EQ(b.ToJson(), c.ToJson());
  ASSERT_TRUE(b.tdx.has_value());
  EXPECT_TRUE(b.debug);
  EXPECT_EQ(b.tdx->rtmr, c.tdx->rtmr);
  EXPECT_EQ(b.tdx->quote_version, 4);
  EXPECT_EQ(b.tdx->xfam, 0xe7u);
  EXPECT_EQ(b.tdx->fmspc, std::string(6, '\x50'));
  EXPECT_EQ(b.tdx->mr_service_td, std::string(48, '\x07'));
  EXPECT_EQ(b.tdx->qe_tcb_status, "UpToDate");
}

TEST(ClaimsTest, SimJsonFormIsStable) {
  Claims c;
  c.tee = kTeeSim;
  c.report_data = "\x01\xff";
  c.measurement = "\xab";
  c.tcb_status = "UpToDate";
  c.sim = SimClaims{"k1"};
  EXPECT_EQ(
      c.ToJson().dump(),
      R"({"tee":"sim","report_data":"01ff","measurement":"ab","debug":false,"tcb_status":"UpToDate",)"
      R"("advisory_ids":[],"platform_id":"","sim":{"signer_key_id":"k1"}})");
  Claims b = RoundTrip(c);
  EXPECT_TRUE(b.simulated());
  EXPECT_EQ(b.sim->signer_key_id, "k1");
  // Hex may come in upper case; it is written back in lower case.
  Json j = c.ToJson();
  j["report_data"] = "01FF";
  absl::StatusOr<Claims> upper = Claims::FromJson(j);
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(upper->report_data, "\x01\xff");
}

TEST(ClaimsTest, GpusRoundTripAndAreAbsentWithoutThem) {
  Claims c = testing::WithGpus(testing::TdxClaimsPassing(), 2);
  c.gpus[1].trailing_zero_bytes = 1;
  c.gpus[1].fwid = std::string(48, '\x09');
  c.gpus[1].fwid_bound = true;
  Claims b = RoundTrip(c);
  EXPECT_EQ(b.ToJson(), c.ToJson());
  ASSERT_EQ(b.gpus.size(), 2u);
  EXPECT_EQ(b.gpus[1].uuid, c.gpus[1].uuid);
  EXPECT_EQ(b.gpus[1].report_digest, c.gpus[1].report_digest);
  EXPECT_EQ(b.gpus[1].device_id, c.gpus[1].device_id);
  EXPECT_EQ(b.gpus[1].measurements, c.gpus[1].measurements);
  EXPECT_EQ(b.gpus[1].rims.size(), 2u);
  EXPECT_EQ(b.gpus[1].rims[1].kind, "vbios");
  EXPECT_TRUE(b.gpus[1].measurements_match);
  EXPECT_EQ(b.gpus[1].trailing_zero_bytes, 1u);
  ASSERT_TRUE(b.gpu_cc.has_value());
  EXPECT_EQ(*b.gpu_cc, *c.gpu_cc);
  EXPECT_EQ(b.tdx->tcb_evaluation_data_number, 17u);
  // CPU-only claims have no GPU keys, so their JSON is what it was before GPUs existed.
  nlohmann::ordered_json cpu = testing::SnpClaimsPassing().ToJson();
  EXPECT_FALSE(cpu.contains("gpus"));
  EXPECT_FALSE(cpu.contains("gpu_cc"));
  // Records written before tcb_evaluation_data_number and crl_checked existed still read.
  Json old = Json::parse(testing::TdxClaimsPassing().ToJson().dump());
  old["tdx"].erase("tcb_evaluation_data_number");
  ASSERT_TRUE(Claims::FromJson(old).ok());
  EXPECT_EQ(Claims::FromJson(old)->tdx->tcb_evaluation_data_number, 0u);
  Json old_snp = Json::parse(testing::SnpClaimsPassing().ToJson().dump());
  old_snp["snp"].erase("crl_checked");
  ASSERT_TRUE(Claims::FromJson(old_snp).ok());
  EXPECT_FALSE(Claims::FromJson(old_snp)->snp->crl_checked);
  // Bounded and typed.
  Json bad = Json::parse(c.ToJson().dump());
  bad["gpus"][0]["measurements"] = 3;
  EXPECT_EQ(Claims::FromJson(bad).status().message(),
            "claims.gpus[0]: \"measurements\" must be an array");
  bad = Json::parse(c.ToJson().dump());
  bad["gpu_cc"]["cc_feature"] = "on";
  EXPECT_EQ(Claims::FromJson(bad).status().message(),
            "claims.gpu_cc: \"cc_feature\" must be an integer from 0 to 4294967295");
  bad = Json::parse(c.ToJson().dump());
  for (int i = 0; i < 8; ++i) bad["gpus"].push_back(bad["gpus"][0]);
  EXPECT_EQ(Claims::FromJson(bad).status().message(),
            "claims: \"gpus\" must be an array of at most 8");
}

TEST(ClaimsTest, FromJsonRejections) {
  Json good = testing::SnpClaimsPassing().ToJson();
  auto message = [](const Json& j) { return std::string(Claims::FromJson(j).status().message()); };
  Json j = good;
  j.erase("tee");
  EXPECT_EQ(message(j), "claims: missing \"tee\"");
  j = good;
  j["debug"] = "no";
  EXPECT_EQ(message(j), "claims: \"debug\" must be a boolean");
  j = good;
  j["measurement"] = "abc";
  EXPECT_EQ(message(j), "claims: \"measurement\": hex: odd number of digits");
  j = good;
  j["report_data"] = "zz";
  EXPECT_EQ(message(j), "claims: \"report_data\": hex: invalid character");
  j = good;
  j["advisory_ids"] = {1};
  EXPECT_EQ(message(j), "claims: \"advisory_ids\" must hold strings");
  j = good;
  j["snp"]["vmpl"] = -1;
  EXPECT_EQ(message(j), "claims.snp: \"vmpl\" must be an integer from 0 to 4294967295");
  j = good;
  j["snp"]["reported_tcb"]["microcode"] = 256;
  EXPECT_EQ(message(j), "claims.snp.reported_tcb: \"microcode\" must be an integer from 0 to 255");
  j = good;
  j["snp"]["current_tcb"] = 5;
  EXPECT_EQ(message(j), "claims.snp.current_tcb: not an object");
  j = good;
  j["snp"].erase("chip_id");
  EXPECT_EQ(message(j), "claims.snp: missing \"chip_id\"");
  j = testing::TdxClaimsPassing().ToJson();
  j["tdx"]["quote_version"] = 65536;
  EXPECT_EQ(message(j), "claims.tdx: \"quote_version\" must be an integer from 0 to 65535");
  j = testing::TdxClaimsPassing().ToJson();
  j["tdx"]["rtmr"] = "00";
  EXPECT_EQ(message(j), "claims.tdx: \"rtmr\" must be an array");
  j = testing::SimClaimsPassing().ToJson();
  j["sim"] = Json::object();
  EXPECT_EQ(message(j), "claims.sim: missing \"signer_key_id\"");
  EXPECT_EQ(message(Json::array()), "claims: not an object");
}

}  // namespace
}  // namespace triad::contracts
