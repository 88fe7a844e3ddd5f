// End to end through a test-only stand-in for Intel's PKI (tdx_fake_pki.h): the real dcapqvl-v4
// quote's header, body and QE report, re-signed; the real v4 TCB info and QE identity, edited and
// re-signed. Reaches the paths real vectors do not: statuses below UpToDate in the claims, revoked
// certificates, revoked TCB levels, unusual keys and QE authentication data.
#include "tests/attestation/tdx_fake_pki.h"

#include <functional>
#include <string>

#include "attestation/internal/tdx_quote.h"
#include "attestation/tdx.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/attestation/tdx_test_util.h"
#include "tests/testing/testing.h"

namespace triad::attestation::tdx_test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class TdxFakePkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto q = internal::ParseTdxQuote(Data("tdx/dcapqvl-v4-b0c06f/quote.bin"));
    ASSERT_TRUE(q.ok());
    quote_ = *q;
    std::string real = Data("tdx/dcapqvl-v4-b0c06f/collateral.json");
    tcb_info_ = nlohmann::json::parse(Field(real, "tcb_info"));
    qe_identity_ = nlohmann::json::parse(Field(real, "qe_identity"));
    now_ = absl::FromUnixSeconds(kV4Now);
    options_.crl_this_update = now_ - absl::Hours(24);
    options_.crl_next_update = now_ + absl::Hours(24);
  }

  Verdict Verify() {
    options_.tcb_info_json = tcb_info_.dump();
    options_.qe_identity_json = qe_identity_.dump();
    Evidence e;
    e.tee = "tdx";
    e.report = pki_.Sign(quote_);
    e.collateral = pki_.Collateral(options_);
    return TdxVerifier(pki_.Anchors()).Verify(e, now_);
  }

  FakeIntelPki pki_;
  internal::TdxQuote quote_;
  nlohmann::json tcb_info_;
  nlohmann::json qe_identity_;
  FakeIntelPki::CollateralOptions options_;
  absl::Time now_;
};

TEST_F(TdxFakePkiTest, ResignedVectorIsUpToDate) {
  Verdict r = Verify();
  ASSERT_TRUE(r.valid) << ::testing::PrintToString(r.reasons);
  EXPECT_EQ(r.claims.tcb_status, "UpToDate");
  // The same quote is not valid under Intel's real root.
  Evidence e;
  e.tee = "tdx";
  e.report = pki_.Sign(quote_);
  e.collateral = pki_.Collateral(options_);
  EXPECT_FALSE(TdxVerifier(PinnedAnchors()).Verify(e, now_).valid);
}

TEST_F(TdxFakePkiTest, StatusesBelowUpToDateAreValidWithStatusAndAdvisories) {
  for (const char* status : {"OutOfDate", "ConfigurationNeeded", "SWHardeningNeeded",
                             "ConfigurationAndSWHardeningNeeded", "OutOfDateConfigurationNeeded"}) {
    tcb_info_["tcbLevels"][0]["tcbStatus"] = status;
    tcb_info_["tcbLevels"][0]["advisoryIDs"] = {"INTEL-SA-00837", "INTEL-SA-01036"};
    Verdict r = Verify();
    ASSERT_TRUE(r.valid) << status << ": " << ::testing::PrintToString(r.reasons);
    EXPECT_EQ(r.claims.tcb_status, status);
    EXPECT_THAT(r.claims.advisory_ids, ElementsAre("INTEL-SA-00837", "INTEL-SA-01036"));
  }
}

TEST_F(TdxFakePkiTest, OutOfDateQeAndModuleConverge) {
  // The quote's QE (ISVSVN 6) is below the new UpToDate level 7 and meets an OutOfDate level 5.
  qe_identity_["tcbLevels"] = {
      {{"tcb", {{"isvsvn", 7}}}, {"tcbDate", "2025-01-01T00:00:00Z"}, {"tcbStatus", "UpToDate"}},
      {{"tcb", {{"isvsvn", 5}}},
       {"tcbDate", "2024-01-01T00:00:00Z"},
       {"tcbStatus", "OutOfDate"},
       {"advisoryIDs", {"INTEL-SA-QE"}}}};
  Verdict r = Verify();
  ASSERT_TRUE(r.valid) << ::testing::PrintToString(r.reasons);
  EXPECT_EQ(r.claims.tcb_status, "OutOfDate");
  EXPECT_EQ(r.claims.tdx->qe_tcb_status, "OutOfDate");
  EXPECT_THAT(r.claims.advisory_ids, ElementsAre("INTEL-SA-QE"));
}

TEST_F(TdxFakePkiTest, PceIdMismatch) {
  tcb_info_["pceId"] = "0001";
  EXPECT_THAT(Verify().reasons,
              ElementsAre("PCE-ID 0000 of the PCK certificate differs from 0001 of the TCB info"));
}

TEST_F(TdxFakePkiTest, RevokedTcbLevelIsInvalid) {
  tcb_info_["tcbLevels"][0]["tcbStatus"] = "Revoked";
  EXPECT_THAT(Verify().reasons,
              ElementsAre("TCB revoked: the matched platform TCB level has status Revoked"));
}

TEST_F(TdxFakePkiTest, RevokedPck) {
  options_.pck_crl_revoked = {1, FakeIntelPki::kPckSerial, 99};
  EXPECT_THAT(
      Verify().reasons,
      ElementsAre("PCK certificate \"Intel SGX PCK Certificate\" (serial 13) is revoked by the "
                  "PCK CRL"));
}

TEST_F(TdxFakePkiTest, RevokedPckCa) {
  options_.root_crl_revoked = {FakeIntelPki::kPckCaSerial};
  EXPECT_THAT(
      Verify().reasons,
      ElementsAre("PCK CA \"Intel SGX PCK Platform CA\" (serial 11) is revoked by the root CA "
                  "CRL",
                  "PCK CRL issuer \"Intel SGX PCK Platform CA\" (serial 11) is revoked by the "
                  "root CA CRL"));
}

TEST_F(TdxFakePkiTest, RevokedTcbSigningCertificate) {
  options_.root_crl_revoked = {FakeIntelPki::kTcbSigningSerial};
  EXPECT_THAT(
      Verify().reasons,
      ElementsAre("TCB info signer \"Intel SGX TCB Signing\" (serial 12) is revoked by the root "
                  "CA CRL",
                  "QE identity signer \"Intel SGX TCB Signing\" (serial 12) is revoked by the "
                  "root CA CRL"));
}

TEST_F(TdxFakePkiTest, CrlsNotYetValid) {
  options_.crl_this_update = now_ + absl::Seconds(1);
  EXPECT_THAT(Verify().reasons,
              ElementsAre("root CA CRL is not valid before its thisUpdate 2025-07-01T00:00:01Z",
                          "PCK CRL is not valid before its thisUpdate 2025-07-01T00:00:01Z"));
}

TEST_F(TdxFakePkiTest, QeAuthenticationDataOfAnyLength) {
  for (size_t n : {0, 1, 100, 4000}) {
    quote_.qe_auth_data = std::string(n, '\x5a');
    Verdict r = Verify();
    EXPECT_TRUE(r.valid) << n << ": " << ::testing::PrintToString(r.reasons);
  }
}

TEST_F(TdxFakePkiTest, QeReportBindingAndIdentity) {
  // A QE report of another enclave (other MRSIGNER), properly signed and bound.
  quote_.qe_report.raw[128] ^= 1;
  EXPECT_THAT(Verify().reasons,
              ElementsAre("QE identity mismatch: QE report MRSIGNER "
                          "dd9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5 is not "
                          "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5"));
}

TEST_F(TdxFakePkiTest, PckKeyOnAnotherCurve) {
  FakeIntelPki p384("P-384");
  Evidence e;
  e.tee = "tdx";
  options_.tcb_info_json = tcb_info_.dump();
  options_.qe_identity_json = qe_identity_.dump();
  e.collateral = p384.Collateral(options_);
  // A P-384 PCK key cannot produce the P-256 signature the QE report needs; FakeIntelPki signs with
  // it anyway (ECDSA over SHA-256), and the verifier refuses the key.
  e.report = p384.Sign(quote_);
  EXPECT_THAT(TdxVerifier(p384.Anchors()).Verify(e, now_).reasons,
              ElementsAre("QE report signature does not verify with the PCK certificate's key"));
}

TEST_F(TdxFakePkiTest, ModuleIdentitiesMissing) {
  tcb_info_.erase("tdxModuleIdentities");
  EXPECT_THAT(Verify().reasons,
              ElementsAre("TDX module mismatch: the TCB info has no TDX module identity TDX_01 for "
                          "TEE_TCB_SVN[1] = 1"));
}

}  // namespace
}  // namespace triad::attestation::tdx_test
