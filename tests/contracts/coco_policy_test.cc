// The worker policy's coco section: HOST_DATA / MRCONFIGID against the contract's init-data
// digests, and the worker image the init-data pins.
#include "contracts/policy.h"

#include "base/encoding.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::contracts {
namespace {

const std::string kDigest(48, '\x11');  // a sha384 init-data digest
const std::string kImage = "sha256:" + std::string(64, 'b');

WorkerPolicy Policy() {
  absl::StatusOr<WorkerPolicy> p = WorkerPolicy::FromJson(nlohmann::json{
      {"tee", {"sev-snp", "tdx"}},
      {"sev_snp",
       {{"measurements", {base::HexEncode(std::string(48, '\x22'))}},
        {"min_tcb", {{"bootloader", 0}, {"tee", 0}, {"snp", 0}, {"microcode", 0}}}}},
      {"tdx", {{"mr_td", {base::HexEncode(std::string(48, '\x33'))}}, {"tcb_status", {"UpToDate"}}}},
      {"coco", {{"initdata_digests", {base::HexEncode(kDigest)}}, {"image_digests", {kImage}}}}});
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

Claims Snp() {
  Claims c;
  c.tee = kTeeSevSnp;
  c.measurement = std::string(48, '\x22');
  c.tcb_status = "UpToDate";
  c.snp = SnpClaims{};
  c.snp->measurement = c.measurement;
  c.snp->host_data = kDigest.substr(0, 32);
  c.coco = CocoClaims{"sha384", kDigest, "r/w@" + kImage, kImage};
  return c;
}

TEST(CocoPolicyTest, AdmitsThePinnedWorker) {
  PolicyDecision d = Evaluate(Policy(), Snp());
  EXPECT_TRUE(d.admit) << (d.reasons.empty() ? "" : d.reasons[0]);
  // The section round-trips through JSON.
  absl::StatusOr<WorkerPolicy> back = WorkerPolicy::FromJson(Policy().ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->coco->initdata_digests, std::vector<std::string>{kDigest});
}

TEST(CocoPolicyTest, RefusesOtherHostData) {
  Claims c = Snp();
  c.snp->host_data = std::string(32, '\0');
  PolicyDecision d = Evaluate(Policy(), c);
  ASSERT_FALSE(d.admit);
  EXPECT_EQ(d.reasons, std::vector<std::string>{absl::StrCat(
                           "HOST_DATA ", std::string(64, '0'),
                           " is not the contract's init-data digest (expected one of [",
                           base::HexEncode(kDigest.substr(0, 32)), "])")});
}

TEST(CocoPolicyTest, RefusesOtherMrConfigId) {
  Claims c;
  c.tee = kTeeTdx;
  c.measurement = std::string(48, '\x33');
  c.tcb_status = "UpToDate";
  c.tdx = TdxClaims{};
  c.tdx->mr_td = c.measurement;
  c.tdx->mr_config_id = std::string(48, '\x44');
  c.coco = Snp().coco;
  PolicyDecision d = Evaluate(Policy(), c);
  EXPECT_EQ(d.reasons, std::vector<std::string>{absl::StrCat(
                           "MRCONFIGID ", base::HexEncode(std::string(48, '\x44')),
                           " is not the contract's init-data digest (expected one of [",
                           base::HexEncode(kDigest), "])")});
}

TEST(CocoPolicyTest, RefusesAnotherImage) {
  Claims c = Snp();
  c.coco->image_digest = "sha256:" + std::string(64, 'c');
  c.coco->image = "evil/worker@" + c.coco->image_digest;
  PolicyDecision d = Evaluate(Policy(), c);
  EXPECT_EQ(d.reasons, std::vector<std::string>{absl::StrCat(
                           "coco: worker image ", c.coco->image_digest, " (", c.coco->image,
                           ") not in [", kImage, "]")});
}

TEST(CocoPolicyTest, RefusesEvidenceWithoutInitData) {
  Claims c = Snp();
  c.coco.reset();
  EXPECT_EQ(Evaluate(Policy(), c).reasons,
            std::vector<std::string>{
                "coco: the evidence carries no init-data, so the worker image cannot be checked"});
}

TEST(CocoPolicyTest, SchemaAndRules) {
  std::vector<std::string> problems;
  EXPECT_FALSE(WorkerPolicy::FromJson(
                   nlohmann::json{{"tee", {"sim"}},
                                  {"sim", {{"measurements", {base::HexEncode(std::string(48, 'x'))}}}},
                                  {"coco", {{"initdata_digests", {base::HexEncode(kDigest)}},
                                            {"image_digests", {kImage}}}}},
                   &problems)
                   .ok());
  EXPECT_EQ(problems, std::vector<std::string>{
                          "/coco: there is a coco section but tee lists neither sev-snp nor tdx"});
  EXPECT_FALSE(WorkerPolicy::FromJson(
                   nlohmann::json{{"tee", {"tdx"}},
                                  {"tdx", {{"mr_td", {base::HexEncode(std::string(48, 'x'))}},
                                           {"tcb_status", {"UpToDate"}}}},
                                  {"coco", {{"initdata_digests", {"abcd"}}, {"image_digests", {"latest"}}}}})
                   .ok());
}

}  // namespace
}  // namespace triad::contracts
