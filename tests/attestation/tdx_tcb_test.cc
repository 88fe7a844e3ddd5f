// Intel QVL's TCB evaluation (attestation/internal/tdx_tcb.h), step by step, on the real TCB info
// and QE identity of FMSPC 90C06F000000 (dcap-qvl v5 collateral, tcbEvaluationDataNumber 18) with
// controlled platform inputs. That TCB info has, highest first:
//   L0 SGX 3 3 2 2 4 1 0 5 ..  PCESVN 13  TDX 5 0 3 ..  UpToDate
//   L1 SGX 2 2 2 2 3 1 0 5 ..  PCESVN 13  TDX 5 0 2 ..  OutOfDate  (5 advisories, INTEL-SA-01036..)
//   L2 SGX 2 2 2 2 3 1 0 5 ..  PCESVN  5  TDX 5 0 2 ..  OutOfDate  (19 advisories,
//   INTEL-SA-00106..)
// TDX module identities TDX_03 {3: UpToDate} and TDX_01 {6: UpToDate, 4: OutOfDate, 2: OutOfDate};
// QE identity levels {4: UpToDate}.
#include "attestation/internal/tdx_tcb.h"

#include <algorithm>
#include <string>
#include <vector>

#include "attestation/internal/tdx_collateral.h"
#include "attestation/internal/tdx_pck.h"
#include "attestation/internal/tdx_quote.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/attestation/tdx_test_util.h"
#include "tests/testing/testing.h"

namespace triad::attestation::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::array<uint8_t, 16> kL0Sgx = {3, 3, 2, 2, 4, 1, 0, 5};
const std::array<uint8_t, 16> kL1Sgx = {2, 2, 2, 2, 3, 1, 0, 5};
const std::vector<std::string> kL1Advisories = {
    "INTEL-SA-01036", "INTEL-SA-01079", "INTEL-SA-01099", "INTEL-SA-01103", "INTEL-SA-01111"};

class TdxTcbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string collateral =
        tdx_test::Data("tdx/dcapqvl-v5-90c06f-tcb-unsupported/collateral.json");
    auto info = ParseTdxTcbInfo(tdx_test::Field(collateral, "tcb_info"));
    auto qe = ParseQeIdentity(tdx_test::Field(collateral, "qe_identity"));
    auto quote = ParseTdxQuote(tdx_test::Data("tdx/gotdx-v5-90c06f/quote.bin"));
    ASSERT_TRUE(info.ok() && qe.ok() && quote.ok());
    info_ = *info;
    qe_ = *qe;
    quote_ = *quote;
    pck_.sgx_tcb_components = kL0Sgx;
    pck_.pce_svn = 13;
    SetTee({11, 1, 4});
    quote_.qe_report.isv_svn = 7;
  }

  // TEE_TCB_SVN, and the same TEE_TCB_SVN2 (no update loaded) unless SetTee2 says otherwise.
  void SetTee(std::vector<uint8_t> svn) {
    quote_.body.tee_tcb_svn = std::string(16, '\0');
    for (size_t i = 0; i < svn.size(); ++i) quote_.body.tee_tcb_svn[i] = static_cast<char>(svn[i]);
    quote_.body.tee_tcb_svn2 = quote_.body.tee_tcb_svn;
  }
  void SetTee2(std::vector<uint8_t> svn) {
    quote_.body.tee_tcb_svn2 = std::string(16, '\0');
    for (size_t i = 0; i < svn.size(); ++i) quote_.body.tee_tcb_svn2[i] = static_cast<char>(svn[i]);
  }
  TdxTcbResult Evaluate() { return EvaluateTdxTcb(info_, qe_, quote_, pck_); }
  std::string Status() {
    TdxTcbResult r = Evaluate();
    EXPECT_THAT(r.failures, IsEmpty());
    return std::string(TcbStatusName(r.status));
  }

  TdxTcbInfo info_;
  QeIdentity qe_;
  TdxQuote quote_;
  PckSgxExtensions pck_;
};

TEST_F(TdxTcbTest, TopLevelIsUpToDate) {
  TdxTcbResult r = Evaluate();
  EXPECT_THAT(r.failures, IsEmpty());
  EXPECT_EQ(TcbStatusName(r.status), "UpToDate");
  EXPECT_EQ(r.qe_status, "UpToDate");
  EXPECT_THAT(r.advisory_ids, IsEmpty());
}

TEST_F(TdxTcbTest, LowerSgxComponentsSelectALowerLevelWithItsAdvisories) {
  pck_.sgx_tcb_components = kL1Sgx;
  TdxTcbResult r = Evaluate();
  EXPECT_EQ(TcbStatusName(r.status), "OutOfDate");
  EXPECT_EQ(r.advisory_ids, kL1Advisories);
}

TEST_F(TdxTcbTest, LowerPceSvnSelectsTheLevelBelow) {
  pck_.sgx_tcb_components = kL1Sgx;
  pck_.pce_svn = 12;
  TdxTcbResult r = Evaluate();
  EXPECT_EQ(TcbStatusName(r.status), "OutOfDate");
  ASSERT_EQ(r.advisory_ids.size(), 19u);
  EXPECT_EQ(r.advisory_ids.front(), "INTEL-SA-00106");
}

TEST_F(TdxTcbTest, EverySgxComponentCounts) {
  for (size_t i = 0; i < 16; ++i) {
    if (kL1Sgx[i] == 0) continue;
    pck_.sgx_tcb_components = kL1Sgx;
    pck_.sgx_tcb_components[i] -= 1;
    TdxTcbResult r = Evaluate();
    ASSERT_EQ(r.failures.size(), 1u) << "component " << i;
    EXPECT_THAT(r.failures[0], ::testing::StartsWith("TCB not supported: the PCK's SGX TCB"));
  }
}

TEST_F(TdxTcbTest, TdxComponentsCanSelectALowerLevelThanSgx) {
  // SGX TCB meets L0, but TEE_TCB_SVN[2] = 2 only meets L1's TDX components: L1 decides.
  SetTee({11, 1, 2});
  TdxTcbResult r = Evaluate();
  EXPECT_EQ(TcbStatusName(r.status), "OutOfDate");
  EXPECT_EQ(r.advisory_ids, kL1Advisories);
}

TEST_F(TdxTcbTest, ModuleVersionAboveZeroSkipsTheFirstTwoTdxComponents) {
  // TEE_TCB_SVN[0] = 4 is below every level's TDX component 0 (5), but for a version-1 module it is
  // judged by the TDX_01 identity instead: level 4 is OutOfDate.
  SetTee({4, 1, 3});
  TdxTcbResult r = Evaluate();
  EXPECT_THAT(r.failures, IsEmpty());
  EXPECT_EQ(TcbStatusName(r.status), "OutOfDate");
  EXPECT_THAT(r.advisory_ids, ElementsAre("INTEL-SA-01036", "INTEL-SA-01099"));
}

TEST_F(TdxTcbTest, ModuleVersionZeroComparesEveryTdxComponent) {
  SetTee({4, 0, 3});
  EXPECT_THAT(
      Evaluate().failures,
      ElementsAre("TCB not supported: TEE_TCB_SVN 04000300000000000000000000000000 is below "
                  "the TDX components of every TCB level the PCK's SGX TCB meets"));
  SetTee({5, 0, 3});
  EXPECT_EQ(Status(), "UpToDate");  // tdxModule (no levels) for version 0
}

TEST_F(TdxTcbTest, ModuleBelowEveryModuleLevel) {
  SetTee({1, 1, 3});
  EXPECT_THAT(Evaluate().failures,
              ElementsAre("TCB not supported: TDX module ISVSVN 1 is below every TCB level of TDX "
                          "module identity TDX_01"));
}

TEST_F(TdxTcbTest, ModuleIdentityMissing) {
  SetTee({11, 2, 3});
  EXPECT_THAT(Evaluate().failures,
              ElementsAre("TDX module mismatch: the TCB info has no TDX module identity TDX_02 for "
                          "TEE_TCB_SVN[1] = 2"));
}

TEST_F(TdxTcbTest, ModuleSignerAndAttributes) {
  quote_.body.mr_signer_seam[0] = 1;
  quote_.body.seam_attributes[7] = 1;
  EXPECT_THAT(Evaluate().failures,
              ElementsAre("TDX module mismatch: MRSIGNERSEAM 01" + std::string(94, '0') +
                              " is not " + std::string(96, '0'),
                          "TDX module mismatch: SEAMATTRIBUTES 0000000000000001 is not zero and "
                          "equal to 0000000000000000"));
}

TEST_F(TdxTcbTest, QeIdentityMismatches) {
  quote_.qe_report.mr_signer[0] ^= 1;
  quote_.qe_report.isv_prod_id = 1;
  quote_.qe_report.misc_select[0] = 1;     // mask FFFFFFFF: must be 0
  quote_.qe_report.attributes[0] ^= 0x04;  // masked out by FB: fine
  EXPECT_EQ(Evaluate().failures.size(), 3u);
  quote_.qe_report.attributes[0] ^= 0x01;  // not masked: mismatch
  EXPECT_THAT(
      Evaluate().failures,
      ElementsAre(
          "QE identity mismatch: QE report MISCSELECT 01000000 under mask ffffffff is not 00000000",
          "QE identity mismatch: QE report ATTRIBUTES 1000000000000000e700000000000000 under "
          "mask fbffffffffffffff0000000000000000 is not 11000000000000000000000000000000",
          "QE identity mismatch: QE report MRSIGNER "
          "dd9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5 is not "
          "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5",
          "QE identity mismatch: QE report ISVPRODID 1 is not 2"));
}

TEST_F(TdxTcbTest, QeBelowEveryLevel) {
  quote_.qe_report.isv_svn = 3;
  EXPECT_THAT(
      Evaluate().failures,
      ElementsAre("TCB not supported: QE ISVSVN 3 is below every TCB level of the QE identity"));
}

TEST_F(TdxTcbTest, QeOutOfDateDowngrades) {
  qe_.levels.push_back({3, TcbStatus::kOutOfDate, {"INTEL-SA-QE"}});
  quote_.qe_report.isv_svn = 3;
  TdxTcbResult r = Evaluate();
  EXPECT_EQ(TcbStatusName(r.status), "OutOfDate");
  EXPECT_EQ(r.qe_status, "OutOfDate");
  EXPECT_THAT(r.advisory_ids, ElementsAre("INTEL-SA-QE"));
  // Configuration statuses become OutOfDateConfigurationNeeded; QE ConfigurationNeeded counts as
  // out of date (QVL: anything but UpToDate and Revoked).
  qe_.levels.back().status = TcbStatus::kConfigurationNeeded;
  info_.levels[0].status = TcbStatus::kConfigurationAndSwHardeningNeeded;
  EXPECT_EQ(Status(), "OutOfDateConfigurationNeeded");
  EXPECT_EQ(Evaluate().qe_status, "ConfigurationNeeded");
}

TEST_F(TdxTcbTest, ModuleOutOfDateDowngrades) {
  SetTee({4, 1, 3});  // TDX_01 level 4: OutOfDate
  info_.levels[0].status = TcbStatus::kSwHardeningNeeded;
  EXPECT_EQ(Status(), "OutOfDate");
  info_.levels[0].status = TcbStatus::kConfigurationNeeded;
  EXPECT_EQ(Status(), "OutOfDateConfigurationNeeded");
  info_.levels[0].status = TcbStatus::kOutOfDateConfigurationNeeded;
  EXPECT_EQ(Status(), "OutOfDateConfigurationNeeded");
}

TEST_F(TdxTcbTest, LevelStatusesPassThroughWhenEverythingElseIsCurrent) {
  for (TcbStatus s :
       {TcbStatus::kSwHardeningNeeded, TcbStatus::kConfigurationNeeded,
        TcbStatus::kConfigurationAndSwHardeningNeeded, TcbStatus::kOutOfDateConfigurationNeeded}) {
    info_.levels[0].status = s;
    EXPECT_EQ(Status(), TcbStatusName(s));
  }
}

TEST_F(TdxTcbTest, Revocations) {
  info_.levels[0].status = TcbStatus::kRevoked;
  EXPECT_THAT(Evaluate().failures,
              ElementsAre("TCB revoked: the matched platform TCB level has status Revoked"));
  SetUp();
  info_.tdx_module_identities[1].levels[0].status = TcbStatus::kRevoked;  // TDX_01 level 6
  EXPECT_THAT(Evaluate().failures,
              ElementsAre("TCB revoked: the matched TDX module level has status Revoked"));
  SetUp();
  qe_.levels[0].status = TcbStatus::kRevoked;
  EXPECT_THAT(Evaluate().failures,
              ElementsAre("TCB revoked: the matched QE identity level has status Revoked"));
}

TEST_F(TdxTcbTest, RelaunchAdvisedForTdReport15) {
  // The running module (TEE_TCB_SVN[0] = 4) is out of date, but the loaded one (TEE_TCB_SVN2[0] =
  // 6, TDX_01's latest) is current: QVL advises a TD relaunch.
  ASSERT_TRUE(quote_.body.is_td15);
  SetTee({4, 1, 3});
  SetTee2({6, 1, 3});
  EXPECT_EQ(Status(), "TDRelaunchAdvised");
  info_.levels[0].status = TcbStatus::kConfigurationNeeded;
  EXPECT_EQ(Status(), "TDRelaunchAdvisedConfigurationNeeded");
  info_.levels[0].status = TcbStatus::kUpToDate;
  SetTee2({5, 1, 3});  // the loaded module is not the latest either
  EXPECT_EQ(Status(), "OutOfDate");
  SetTee2({6, 1, 2});  // nor is the microcode
  EXPECT_EQ(Status(), "OutOfDate");
  SetTee2({6, 0, 3});  // version-0 rule: TEE_TCB_SVN2[0] against L0's TDX component 0 (5)
  EXPECT_EQ(Status(), "TDRelaunchAdvised");
  SetTee2({6, 2, 3});
  EXPECT_THAT(Evaluate().failures,
              ElementsAre("TDX module mismatch: the TCB info has no TDX module identity TDX_02 for "
                          "TEE_TCB_SVN2[1] = 2"));
}

TEST_F(TdxTcbTest, NoRelaunchAdviceWhenTheQeIsOutOfDateOrTheBodyIsTd10) {
  SetTee({4, 1, 3});
  SetTee2({6, 1, 3});
  qe_.levels.push_back({3, TcbStatus::kOutOfDate, {}});
  quote_.qe_report.isv_svn = 3;
  EXPECT_EQ(Status(), "OutOfDate");
  SetUp();
  SetTee({4, 1, 3});
  SetTee2({6, 1, 3});
  quote_.body.is_td15 = false;
  EXPECT_EQ(Status(), "OutOfDate");
}

TEST_F(TdxTcbTest, AdvisoriesAreMergedWithoutDuplicates) {
  SetTee({4, 1, 2});  // L1 (5 advisories) and TDX_01 level 4 (01036, 01099: both already there)
  qe_.levels.push_back({3, TcbStatus::kOutOfDate, {"INTEL-SA-01036", "INTEL-SA-09999"}});
  quote_.qe_report.isv_svn = 3;
  std::vector<std::string> want = kL1Advisories;
  want.push_back("INTEL-SA-09999");
  EXPECT_EQ(Evaluate().advisory_ids, want);
}

// --- The TCB info parser orders levels as QVL's set does -----------------------------------------

TEST(TdxTcbInfoParse, LevelOrderDoesNotDependOnTheDocument) {
  std::string collateral = tdx_test::Data("tdx/dcapqvl-v5-90c06f-tcb-unsupported/collateral.json");
  std::string json = tdx_test::Field(collateral, "tcb_info");
  nlohmann::json j = nlohmann::json::parse(json);
  std::reverse(j["tcbLevels"].begin(), j["tcbLevels"].end());
  auto original = ParseTdxTcbInfo(json);
  auto reversed = ParseTdxTcbInfo(j.dump());
  ASSERT_TRUE(original.ok() && reversed.ok());
  ASSERT_EQ(original->levels.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(original->levels[i].sgx_components, reversed->levels[i].sgx_components);
    EXPECT_EQ(original->levels[i].pce_svn, reversed->levels[i].pce_svn);
    EXPECT_EQ(original->levels[i].advisory_ids, reversed->levels[i].advisory_ids);
  }
  EXPECT_EQ(original->levels[0].sgx_components, kL0Sgx);
  EXPECT_EQ(original->levels[2].pce_svn, 5u);

  j["tcbLevels"].push_back(j["tcbLevels"][0]);
  EXPECT_EQ(ParseTdxTcbInfo(j.dump()).status().message(),
            "tcb_info: two TCB levels have the same SGX components, PCESVN and TDX components");
}

}  // namespace
}  // namespace triad::attestation::internal
