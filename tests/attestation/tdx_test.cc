// The TDX verifier against the real quotes and collateral in testdata/attestation/tdx, at
// the fixed times of MANIFEST.md, with the verdicts MANIFEST.md gives; and every way of breaking
// them.
#include "attestation/tdx.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "attestation/internal/tdx_quote.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "crypto/ssl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/attestation/tdx_test_util.h"
#include "tests/testing/testing.h"

namespace triad::attestation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace tdx_test;

// --- MANIFEST vectors at their fixed times -------------------------------------------------------

TEST(TdxVectors, DcapQvlV4IsUpToDate) {
  Vector v = DcapQvlV4();
  Verdict r = VerifyVector(v);
  ASSERT_TRUE(r.valid) << ::testing::PrintToString(r.reasons);
  const contracts::Claims& c = r.claims;
  EXPECT_EQ(c.tee, "tdx");
  EXPECT_EQ(c.tcb_status, "UpToDate");
  EXPECT_THAT(c.advisory_ids, IsEmpty());
  EXPECT_FALSE(c.debug);
  // Field offsets from VERIFY.md §2.2: the TD report body starts at 48 in v4 quotes.
  const size_t body = 48;
  EXPECT_EQ(c.measurement, v.quote.substr(body + 0x88, 48));
  EXPECT_EQ(c.report_data, v.quote.substr(body + 0x208, 64));
  ASSERT_TRUE(c.tdx.has_value());
  const contracts::TdxClaims& t = *c.tdx;
  EXPECT_EQ(t.quote_version, 4);
  EXPECT_EQ(t.mr_td, c.measurement);
  ASSERT_EQ(t.rtmr.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(t.rtmr[i], v.quote.substr(body + 0x148 + 48 * i, 48));
  EXPECT_EQ(t.mr_config_id, v.quote.substr(body + 0xb8, 48));
  EXPECT_EQ(t.mr_owner, v.quote.substr(body + 0xe8, 48));
  EXPECT_EQ(t.mr_owner_config, v.quote.substr(body + 0x118, 48));
  EXPECT_EQ(t.mr_seam, v.quote.substr(body + 0x10, 48));
  EXPECT_EQ(t.mr_signer_seam, std::string(48, '\0'));
  EXPECT_EQ(t.mr_service_td, "");           // TD report 1.0
  EXPECT_EQ(t.td_attributes, 0x10000000u);  // SEPT_VE_DISABLE only (MANIFEST: bytes 00 00 00 10 ..)
  EXPECT_EQ(t.xfam, 0x602e7u);
  EXPECT_EQ(base::HexEncode(t.tee_tcb_svn), "06010300000000000000000000000000");
  EXPECT_EQ(base::HexEncode(t.fmspc), "b0c06f000000");
  EXPECT_EQ(t.qe_tcb_status, "UpToDate");
  EXPECT_EQ(t.tcb_evaluation_data_number, 17u);  // both documents of the collateral say 17
  // FMSPC || PPID of the PCK certificate (PPID read with Python `cryptography` from the PCK).
  EXPECT_EQ(base::HexEncode(c.platform_id), "b0c06f000000811dca2a26b952e85bb6448b097ba4fd");
}

TEST(TdxVectors, GoTdxV5WithDcapQvlCollateralIsUpToDate) {
  Vector v = GoTdxV5();
  Verdict r = VerifyVector(v);
  ASSERT_TRUE(r.valid) << ::testing::PrintToString(r.reasons);
  const contracts::Claims& c = r.claims;
  EXPECT_EQ(c.tcb_status, "UpToDate");
  EXPECT_THAT(c.advisory_ids, IsEmpty());
  EXPECT_FALSE(c.debug);
  // v5: the body (type 3, TD report 1.5) starts at 48 + 2 + 4.
  const size_t body = 54;
  EXPECT_EQ(c.measurement, v.quote.substr(body + 0x88, 48));
  EXPECT_EQ(c.report_data, v.quote.substr(body + 0x208, 64));
  const contracts::TdxClaims& t = *c.tdx;
  EXPECT_EQ(t.quote_version, 5);
  EXPECT_EQ(t.mr_service_td, std::string(48, '\0'));
  EXPECT_EQ(t.td_attributes, 0x10000000u);
  EXPECT_EQ(base::HexEncode(t.tee_tcb_svn), "0b010400000000000000000000000000");
  EXPECT_EQ(base::HexEncode(t.fmspc), "90c06f000000");
  EXPECT_EQ(t.qe_tcb_status, "UpToDate");
  // The claims survive their JSON form (records, --json output).
  auto back = contracts::Claims::FromJson(nlohmann::json::parse(c.ToJson().dump()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ToJson(), c.ToJson());
}

TEST(TdxVectors, DcapQvlV5IsTcbNotSupported) {
  Verdict r = VerifyVector(DcapQvlV5Unsupported());
  EXPECT_FALSE(r.valid);
  EXPECT_THAT(
      r.reasons,
      ElementsAre("TCB not supported: the PCK's SGX TCB (components "
                  "03030202040100030000000000000000, PCESVN 13) is below every TCB level of "
                  "the TCB info for FMSPC 90C06F000000 (tcbEvaluationDataNumber 18)"));
}

TEST(TdxVectors, GoTdxV4SapphireRapidsIsTcbNotSupported) {
  Verdict r = VerifyVector(GoTdxV4Spr());
  EXPECT_FALSE(r.valid);
  EXPECT_THAT(
      r.reasons,
      ElementsAre("TCB not supported: the PCK's SGX TCB (components "
                  "03030202020100020000000000000000, PCESVN 11) is below every TCB level of "
                  "the TCB info for FMSPC 50806F000000 (tcbEvaluationDataNumber 15)"));
}

TEST(TdxVectors, TrusteeDebugTdIsValidUpToDateAndSaysDebug) {
  Verdict r = VerifyVector(TrusteeDebug());
  ASSERT_TRUE(r.valid) << ::testing::PrintToString(r.reasons);
  EXPECT_EQ(r.claims.tcb_status, "UpToDate");
  EXPECT_TRUE(r.claims.debug);  // the policy must refuse it
  EXPECT_EQ(r.claims.tdx->td_attributes, 0x10000001u);
  EXPECT_EQ(base::HexEncode(r.claims.tdx->tee_tcb_svn), "03000500000000000000000000000000");
}

TEST(TdxVectors, NoCollateralQuoteVerifiesUpToTheTcb) {
  // Signatures, QE binding and the PCK chain all pass; only the missing collateral is reported.
  Vector v;
  v.quote = Data("tdx/no-collateral/gcp-cos113-v4-00806f050000.bin");
  v.now = absl::FromUnixSeconds(kV4Now);
  Verdict r = VerifyVector(v);
  EXPECT_FALSE(r.valid);
  EXPECT_THAT(r.reasons,
              ElementsAre("no TDX collateral: the TCB status cannot be evaluated without "
                          "the TCB info, QE identity and CRLs of the platform"));
}

TEST(TdxVectors, PcsRawFormMatchesTheAssembledCollateral) {
  // gotdx-v4-spr collateral.json was assembled from the raw PCS responses beside it: its signed
  // strings must be the exact "tcbInfo"/"enclaveIdentity" substrings, its signatures theirs.
  nlohmann::json c = nlohmann::json::parse(Data("tdx/gotdx-v4-spr-50806f/collateral.json"));
  std::string tcb = Data("tdx/gotdx-v4-spr-50806f/pcs_tcbinfo_response.json");
  std::string qe = Data("tdx/gotdx-v4-spr-50806f/pcs_qeidentity_response.json");
  EXPECT_EQ(PcsSignedObject(tcb, "tcbInfo"), c["tcb_info"].get<std::string>());
  EXPECT_EQ(PcsSignature(tcb), c["tcb_info_signature"].get<std::string>());
  EXPECT_EQ(PcsSignedObject(qe, "enclaveIdentity"), c["qe_identity"].get<std::string>());
  EXPECT_EQ(PcsSignature(qe), c["qe_identity_signature"].get<std::string>());
}

TEST(TdxVectors, GoTdxV5WithItsOwnPcsTcbInfoIsUpToDate) {
  // The PCS TCB info go-tdx-guest ships for this FMSPC (issued 2026-02-01) in place of dcap-qvl's:
  // another Intel-signed document, same verdict.
  std::string pcs = Data("tdx/gotdx-v5-90c06f/pcs_tcbinfo_v5_response.json");
  Vector v = GoTdxV5();
  v.collateral = WithFields(v.collateral, {{"tcb_info", PcsSignedObject(pcs, "tcbInfo")},
                                           {"tcb_info_signature", PcsSignature(pcs)}});
  Verdict r = VerifyVector(v);
  ASSERT_TRUE(r.valid) << ::testing::PrintToString(r.reasons);
  EXPECT_EQ(r.claims.tcb_status, "UpToDate");
  // Its window ends 2026-03-03T14:49:26Z.
  v.now = absl::FromUnixSeconds(1772548166 + 86400);
  r = VerifyVector(v);
  EXPECT_THAT(r.reasons, ElementsAre("TCB info expired at its nextUpdate 2026-03-03T14:49:26Z"));
}

// --- Time: one day after the collateral or a certificate expires
// ----------------------------------

absl::Time At(const char* rfc3339) {
  absl::Time t;
  EXPECT_TRUE(base::ParseRfc3339(rfc3339, &t)) << rfc3339;
  return t;
}

TEST(TdxTime, OneDayAfterTheCollateralExpires) {
  Vector v = DcapQvlV4();
  v.now = At("2025-07-20T10:00:35Z");  // the PCK CRL's nextUpdate + 1 day; the rest expired too
  Verdict r = VerifyVector(v);
  EXPECT_FALSE(r.valid);
  EXPECT_THAT(r.reasons, ElementsAre("PCK CRL expired at its nextUpdate 2025-07-19T10:00:35Z",
                                     "TCB info expired at its nextUpdate 2025-07-19T10:16:03Z",
                                     "QE identity expired at its nextUpdate 2025-07-19T10:32:27Z"));
  // The window's last second still verifies.
  v.now = At("2025-07-19T10:00:35Z");
  EXPECT_TRUE(VerifyVector(v).valid);
}

TEST(TdxTime, OneDayBeforeTheCollateralIsIssued) {
  Vector v = DcapQvlV4();
  v.now = At("2025-06-18T10:32:27Z");
  Verdict r = VerifyVector(v);
  EXPECT_THAT(r.reasons,
              ElementsAre("PCK CRL is not valid before its thisUpdate 2025-06-19T10:00:35Z",
                          "TCB info is not valid before its issueDate 2025-06-19T10:16:03Z",
                          "QE identity is not valid before its issueDate 2025-06-19T10:32:27Z"));
  v.now = At("2025-06-19T10:32:27Z");  // the first second all of it is valid
  EXPECT_TRUE(VerifyVector(v).valid);
}

TEST(TdxTime, OneDayAfterTheV5CollateralExpires) {
  Vector v = GoTdxV5();
  v.now = At("2026-03-21T10:41:15Z");
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("PCK CRL expired at its nextUpdate 2026-03-20T10:41:15Z",
                          "TCB info expired at its nextUpdate 2026-03-20T10:58:51Z",
                          "QE identity expired at its nextUpdate 2026-03-20T10:42:15Z"));
}

TEST(TdxTime, OneDayAfterTheTcbSigningCertificateExpires) {
  // The 2023 collateral's TCB signing certificate expired 2025-05-21T10:50:10Z.
  Vector v = TrusteeDebug();
  v.now = At("2025-05-22T10:50:10Z");
  EXPECT_THAT(
      VerifyVector(v).reasons,
      ElementsAre(
          "root CA CRL expired at its nextUpdate 2024-04-02T10:22:51Z",
          "PCK CRL expired at its nextUpdate 2023-07-08T07:27:52Z",
          "TCB info issuer chain: certificate has expired (\"Intel SGX TCB Signing\", valid "
          "until 2025-05-21T10:50:10Z)",
          "TCB info expired at its nextUpdate 2023-07-18T08:42:58Z",
          "QE identity issuer chain: certificate has expired (\"Intel SGX TCB Signing\", "
          "valid until 2025-05-21T10:50:10Z)",
          "QE identity expired at its nextUpdate 2023-07-08T07:24:59Z"));
}

TEST(TdxTime, OneDayAfterThePckCertificateExpires) {
  Vector v = DcapQvlV4();
  v.now = At("2032-02-07T23:25:51Z");  // PCK notAfter 2032-02-06T23:25:51Z + 1 day
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("PCK certificate chain: certificate has expired (\"Intel SGX PCK "
                          "Certificate\", valid until 2032-02-06T23:25:51Z)",
                          "root CA CRL expired at its nextUpdate 2026-04-03T11:21:57Z",
                          "PCK CRL expired at its nextUpdate 2025-07-19T10:00:35Z",
                          "TCB info expired at its nextUpdate 2025-07-19T10:16:03Z",
                          "QE identity expired at its nextUpdate 2025-07-19T10:32:27Z"));
}

TEST(TdxTime, BeforeThePckCertificateIsIssued) {
  Vector v = GoTdxV5();  // PCK notBefore 2026-01-27T14:36:27Z
  v.now = At("2026-01-26T14:36:27Z");
  Verdict r = VerifyVector(v);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.reasons.at(0),
            "PCK certificate chain: certificate is not yet valid (\"Intel SGX PCK Certificate\", "
            "valid from 2026-01-27T14:36:27Z)");
}

// --- Bit flips -----------------------------------------------------------------------------------

// Every byte of the signed part (header and body) of each valid quote, flipped, must invalidate it;
// so must every byte after it up to the end of the signature data: signature, attestation key, QE
// report and its signature, QE authentication data (all of them), and the PEM PCK chain (every 5th
// byte, to keep the test quick). Padding after that is signed by nobody and ignored.
void ExpectEveryFlipInvalid(const Vector& v) {
  TdxVerifier verifier(PinnedAnchors());
  absl::StatusOr<std::shared_ptr<const TdxCollateral>> collateral =
      ParseTdxCollateral(v.collateral);
  ASSERT_TRUE(collateral.ok());
  ASSERT_TRUE(verifier.VerifyQuote(v.quote, collateral->get(), v.now).valid);
  absl::StatusOr<internal::TdxQuote> parsed = internal::ParseTdxQuote(v.quote);
  ASSERT_TRUE(parsed.ok());
  const size_t signed_end = parsed->signed_part.size();
  const size_t data_end = QuoteDataEnd(v.quote);
  ASSERT_GT(data_end, signed_end);
  const size_t pem_start = data_end - parsed->pck_chain_pem.size();
  size_t checked = 0;
  for (size_t i = 0; i < data_end; i += i < pem_start ? 1 : 5) {
    std::string q = v.quote;
    q[i] = static_cast<char>(q[i] ^ 0xff);
    Verdict r = verifier.VerifyQuote(q, collateral->get(), v.now);
    ASSERT_FALSE(r.valid) << "byte " << i << " flipped still verifies";
    ASSERT_FALSE(r.reasons.empty());
    if (i < signed_end && !absl::StartsWith(r.reasons[0], "TDX quote: ")) {
      // Past the structural checks, the quote signature is what catches it.
      EXPECT_THAT(r.reasons, ::testing::Contains("TDX quote signature does not verify with the "
                                                 "attestation key"))
          << "byte " << i;
    }
    ++checked;
  }
  for (size_t i = data_end; i < v.quote.size(); ++i) {
    std::string q = v.quote;
    q[i] = static_cast<char>(q[i] ^ 0xff);
    EXPECT_TRUE(verifier.VerifyQuote(q, collateral->get(), v.now).valid) << "padding byte " << i;
  }
  EXPECT_GT(checked, pem_start);
}

TEST(TdxBitFlips, DcapQvlV4) { ExpectEveryFlipInvalid(DcapQvlV4()); }
TEST(TdxBitFlips, GoTdxV5) { ExpectEveryFlipInvalid(GoTdxV5()); }
TEST(TdxBitFlips, TrusteeDebug) { ExpectEveryFlipInvalid(TrusteeDebug()); }

// --- Tampered collateral -------------------------------------------------------------------------

// The attack the QE report's binding exists for: a genuine QE report (and its genuine PCK
// signature) next to an attacker's attestation key, with the header and body re-signed by that key.
// Only the binding check can catch it: every signature verifies.
TEST(TdxTamper, AttackersAttestationKeyBesideAGenuineQeReport) {
  Vector v = DcapQvlV4();
  absl::StatusOr<internal::TdxQuote> q = internal::ParseTdxQuote(v.quote);
  ASSERT_TRUE(q.ok());
  crypto::SslPtr<EVP_PKEY> attacker(EVP_EC_gen("P-256"));
  ASSERT_NE(attacker, nullptr);
  // Raw X || Y of the attacker's key.
  unsigned char point[65];
  size_t point_len = 0;
  ASSERT_EQ(EVP_PKEY_get_octet_string_param(attacker.get(), "encoded-pub-key", point,
                                            sizeof point, &point_len),
            1);
  ASSERT_EQ(point_len, 65u);
  q->attestation_key.assign(reinterpret_cast<const char*>(point + 1), 64);
  // The attacker's body (a report data of its choosing), signed by the attacker.
  q->signed_part.replace(48 + 0x208, 64, std::string(64, '\x66'));
  crypto::SslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  size_t der_len = 0;
  ASSERT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, attacker.get()), 1);
  ASSERT_EQ(EVP_DigestSign(ctx.get(), nullptr, &der_len,
                           reinterpret_cast<const unsigned char*>(q->signed_part.data()),
                           q->signed_part.size()),
            1);
  std::string der(der_len, '\0');
  ASSERT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len,
                           reinterpret_cast<const unsigned char*>(q->signed_part.data()),
                           q->signed_part.size()),
            1);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  crypto::SslPtr<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  ASSERT_NE(sig, nullptr);
  std::string rs(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(rs.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(rs.data()) + 32, 32);
  q->signature = rs;
  v.quote = SerializeQuote(*q);
  Verdict r = VerifyVector(v);
  EXPECT_FALSE(r.valid);
  EXPECT_THAT(r.reasons, ElementsAre("QE report data does not bind the attestation key: its first "
                                     "32 bytes are not SHA-256(attestation key || QE "
                                     "authentication data)"));
}

TEST(TdxTamper, TcbInfoByte) {
  Vector v = DcapQvlV4();
  std::string tcb = Field(v.collateral, "tcb_info");
  std::string changed = absl::StrReplaceAll(
      tcb, {{"\"tcbEvaluationDataNumber\":17", "\"tcbEvaluationDataNumber\":18"}});
  ASSERT_NE(changed, tcb);
  v.collateral = WithFields(v.collateral, {{"tcb_info", changed}});
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("TCB info signature does not verify with the key of \"Intel SGX TCB "
                          "Signing\""));
}

TEST(TdxTamper, TcbInfoForgedToAcceptAnUnsupportedPlatform) {
  // Lowering the first level's SGX components would make the platform match; the signature says no.
  Vector v = DcapQvlV5Unsupported();
  std::string tcb = Field(v.collateral, "tcb_info");
  std::string changed =
      absl::StrReplaceAll(tcb, {{"{\"svn\":5,\"category\":\"OS/VMM\",\"type\":\"SEAMLDR ACM\"}",
                                 "{\"svn\":3,\"category\":\"OS/VMM\",\"type\":\"SEAMLDR ACM\"}"}});
  ASSERT_NE(changed, tcb);
  v.collateral = WithFields(v.collateral, {{"tcb_info", changed}});
  Verdict r = VerifyVector(v);
  EXPECT_FALSE(r.valid);
  EXPECT_THAT(r.reasons,
              ElementsAre("TCB info signature does not verify with the key of \"Intel SGX TCB "
                          "Signing\""));
}

TEST(TdxTamper, QeIdentityByte) {
  Vector v = DcapQvlV4();
  std::string qe = Field(v.collateral, "qe_identity");
  std::string changed = absl::StrReplaceAll(qe, {{"\"isvprodid\":2", "\"isvprodid\":3"}});
  ASSERT_NE(changed, qe);
  v.collateral = WithFields(v.collateral, {{"qe_identity", changed}});
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("QE identity signature does not verify with the key of \"Intel SGX TCB "
                          "Signing\"",
                          "QE identity mismatch: QE report ISVPRODID 2 is not 3"));
}

TEST(TdxTamper, TcbInfoSignature) {
  Vector v = DcapQvlV4();
  std::string sig = Field(v.collateral, "tcb_info_signature");
  sig[10] = sig[10] == '0' ? '1' : '0';
  v.collateral = WithFields(v.collateral, {{"tcb_info_signature", sig}});
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("TCB info signature does not verify with the key of \"Intel SGX TCB "
                          "Signing\""));
}

std::string FlipLastHexByte(std::string hex) {
  hex.back() = hex.back() == '0' ? '1' : '0';
  return hex;
}

TEST(TdxTamper, PckCrlSignature) {
  Vector v = DcapQvlV4();
  v.collateral =
      WithFields(v.collateral, {{"pck_crl", FlipLastHexByte(Field(v.collateral, "pck_crl"))}});
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("PCK CRL signature does not verify with the key of \"Intel SGX PCK "
                          "Platform CA\""));
}

TEST(TdxTamper, RootCaCrlSignature) {
  Vector v = DcapQvlV4();
  v.collateral = WithFields(v.collateral,
                            {{"root_ca_crl", FlipLastHexByte(Field(v.collateral, "root_ca_crl"))}});
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("root CA CRL signature does not verify with the key of \"Intel SGX Root "
                          "CA\""));
}

TEST(TdxTamper, CrlsSwapped) {
  Vector v = DcapQvlV4();
  std::string root_crl = Field(v.collateral, "root_ca_crl");
  std::string pck_crl = Field(v.collateral, "pck_crl");
  v.collateral = WithFields(v.collateral, {{"root_ca_crl", pck_crl}, {"pck_crl", root_crl}});
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("root CA CRL is not issued by \"Intel SGX Root CA\"",
                          "PCK CRL is not issued by \"Intel SGX PCK Platform CA\""));
}

TEST(TdxTamper, StaleCrlsFromAnOlderCollateral) {
  Vector v = DcapQvlV4();
  std::string old = Data("tdx/gotdx-v4-spr-50806f/collateral.json");
  v.collateral = WithFields(v.collateral, {{"root_ca_crl", Field(old, "root_ca_crl")},
                                           {"pck_crl", Field(old, "pck_crl")}});
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("root CA CRL expired at its nextUpdate 2024-04-02T10:22:51Z",
                          "PCK CRL expired at its nextUpdate 2023-07-08T07:27:52Z"));
}

TEST(TdxTamper, SignerChainsSwapped) {
  Vector v = DcapQvlV4();
  std::string pck_ca = Field(v.collateral, "pck_crl_issuer_chain");
  std::string tcb_signing = Field(v.collateral, "tcb_info_issuer_chain");
  v.collateral = WithFields(
      v.collateral, {{"pck_crl_issuer_chain", tcb_signing}, {"tcb_info_issuer_chain", pck_ca}});
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("PCK CRL is not issued by \"Intel SGX TCB Signing\"",
                          "TCB info signer \"Intel SGX PCK Platform CA\" is not an Intel SGX TCB "
                          "Signing certificate"));
}

TEST(TdxTamper, CollateralOfAnotherPlatform) {
  // The v5 collateral (FMSPC 90C06F) for the v4 quote (FMSPC B0C06F), inside its own window.
  Vector v = DcapQvlV4();
  v.collateral = Data("tdx/dcapqvl-v5-90c06f-tcb-unsupported/collateral.json");
  v.now = absl::FromUnixSeconds(kV5Now);
  Verdict r = VerifyVector(v);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.reasons.at(0),
            "FMSPC B0C06F000000 of the PCK certificate differs from 90C06F000000 of the TCB info");
}

// --- Roots ---------------------------------------------------------------------------------------

TEST(TdxRoots, NoPinnedRoot) {
  TdxVerifier verifier{TrustAnchors{}};
  Vector v = DcapQvlV4();
  Verdict r = verifier.Verify(EvidenceOf(v), v.now);
  EXPECT_FALSE(r.valid);
  EXPECT_THAT(r.reasons,
              ElementsAre("no pinned Intel SGX Root CA: TrustAnchors::intel_sgx_root_ca is empty"));
}

TEST(TdxRoots, PinnedRootIsNotACertificate) {
  TrustAnchors anchors;
  anchors.intel_sgx_root_ca = "not a certificate";
  TdxVerifier verifier(anchors);
  Vector v = DcapQvlV4();
  EXPECT_THAT(verifier.Verify(EvidenceOf(v), v.now).reasons,
              ElementsAre("no pinned Intel SGX Root CA: TrustAnchors::intel_sgx_root_ca: PEM: "
                          "expected \"-----BEGIN CERTIFICATE-----\" at byte 0"));
}

TEST(TdxRoots, ForgedRootPinnedInstead) {
  // A self-made root with Intel's root name: nothing Intel signed chains to it, and the root copies
  // in the evidence are not it.
  ForgedRoot forged = MakeForgedRoot();
  TrustAnchors anchors;
  anchors.intel_sgx_root_ca = forged.pem;
  TdxVerifier verifier(anchors);
  Vector v = DcapQvlV4();
  EXPECT_THAT(
      verifier.Verify(EvidenceOf(v), v.now).reasons,
      ElementsAre(
          "PCK certificate chain: certificate 3 \"Intel SGX Root CA\" is not the pinned "
          "Intel SGX Root CA",
          "root CA CRL signature does not verify with the key of \"Intel SGX Root CA\"",
          "PCK CRL issuer chain: certificate 2 \"Intel SGX Root CA\" is not the pinned Intel "
          "SGX Root CA",
          "TCB info issuer chain: certificate 2 \"Intel SGX Root CA\" is not the pinned "
          "Intel SGX Root CA",
          "QE identity issuer chain: certificate 2 \"Intel SGX Root CA\" is not the pinned "
          "Intel SGX Root CA"));
}

TEST(TdxRoots, ForgedRootPinnedAndNoRootCopiesInTheEvidence) {
  // Without root copies to compare, the signatures themselves fail against the forged root.
  ForgedRoot forged = MakeForgedRoot();
  TrustAnchors anchors;
  anchors.intel_sgx_root_ca = forged.pem;
  TdxVerifier verifier(anchors);
  Vector v = DcapQvlV4();
  v.quote = WithPckChain(v.quote, FirstCertificates(ChainOf(v.quote), 2));
  v.collateral = WithoutRootCopies(v.collateral);
  EXPECT_THAT(
      verifier.Verify(EvidenceOf(v), v.now).reasons,
      ElementsAre("PCK certificate chain: certificate signature failure (\"Intel SGX PCK "
                  "Platform CA\")",
                  "root CA CRL signature does not verify with the key of \"Intel SGX Root CA\"",
                  "PCK CRL issuer chain: certificate signature failure (\"Intel SGX PCK "
                  "Platform CA\")",
                  "TCB info issuer chain: certificate signature failure (\"Intel SGX TCB "
                  "Signing\")",
                  "QE identity issuer chain: certificate signature failure (\"Intel SGX TCB "
                  "Signing\")"));
}

TEST(TdxRoots, RootCopiesAreOptional) {
  Vector v = DcapQvlV4();
  v.quote = WithPckChain(v.quote, FirstCertificates(ChainOf(v.quote), 2));
  v.collateral = WithoutRootCopies(v.collateral);
  Verdict r = VerifyVector(v);
  EXPECT_TRUE(r.valid) << ::testing::PrintToString(r.reasons);
}

TEST(TdxRoots, ForgedRootCopyInTheQuoteIsRejected) {
  ForgedRoot forged = MakeForgedRoot();
  Vector v = DcapQvlV4();
  v.quote = WithPckChain(v.quote, FirstCertificates(ChainOf(v.quote), 2) + forged.pem);
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("PCK certificate chain: certificate 3 \"Intel SGX Root CA\" is not the "
                          "pinned Intel SGX Root CA"));
}

TEST(TdxRoots, PckChainWithoutItsCa) {
  Vector v = DcapQvlV4();
  v.quote = WithPckChain(v.quote, FirstCertificates(ChainOf(v.quote), 1));
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("PCK certificate chain: has 1 certificate before the root; 2 expected"));
}

// --- Evidence and quote structure ----------------------------------------------------------------

TEST(TdxEvidence, WrongTeeAndStrayCertificates) {
  Vector v = DcapQvlV4();
  Evidence e = EvidenceOf(v);
  e.tee = "sev-snp";
  e.certs = "x";
  EXPECT_THAT(
      NewTdxVerifier(PinnedAnchors())->Verify(e, v.now).reasons,
      ElementsAre("evidence is for TEE \"sev-snp\", not \"tdx\"",
                  "TDX evidence carries certificates; the PCK chain must come from the quote"));
}

TEST(TdxEvidence, UnparseableCollateral) {
  Vector v = DcapQvlV4();
  v.collateral = "{}";
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("TDX collateral: collateral: missing \"pck_crl_issuer_chain\""));
}

TEST(TdxEvidence, MalformedQuotes) {
  Vector v = DcapQvlV4();
  auto reasons = [&](std::string quote) {
    v.quote = std::move(quote);
    return VerifyVector(v).reasons;
  };
  const std::string q = DcapQvlV4().quote;
  EXPECT_THAT(reasons(""), ElementsAre("TDX quote: 0 bytes is shorter than the 48-byte header"));
  std::string v3 = q;
  v3[0] = 3;
  EXPECT_THAT(reasons(v3), ElementsAre("TDX quote: version 3 is not supported; only 4 and 5 are"));
  std::string sgx = q;
  sgx[4] = 0;
  EXPECT_THAT(reasons(sgx), ElementsAre("TDX quote: TEE type 0x0 is not TDX (0x81)"));
  std::string key = q;
  key[2] = 3;
  EXPECT_THAT(
      reasons(key),
      ElementsAre("TDX quote: attestation key type 3 is not supported; only 2 (ECDSA P-256) is"));
  std::string vendor = q;
  vendor[12] ^= 1;
  EXPECT_THAT(
      reasons(vendor),
      ElementsAre("TDX quote: QE vendor ID is not Intel's (939A7233F79C4CA9940A0DB3957F0607)"));
  EXPECT_THAT(reasons(q.substr(0, 600)),
              ElementsAre("TDX quote: quote ends inside its 584-byte TD report body"));
  EXPECT_THAT(
      reasons(q.substr(0, 1000)),
      ElementsAre("TDX quote: signature data length 4300 runs past the end of the 1000-byte "
                  "quote"));
  EXPECT_THAT(reasons(std::string(internal::kTdxMaxQuoteBytes + 1, 'x')),
              ElementsAre("TDX quote: 131073 bytes is more than the 131072 a quote may have"));
}

TEST(TdxEvidence, MalformedV5Body) {
  Vector v = GoTdxV5();
  std::string sgx_body = v.quote;
  sgx_body[48] = 1;  // body type 1: SGX enclave report
  v.quote = sgx_body;
  EXPECT_THAT(
      VerifyVector(v).reasons,
      ElementsAre("TDX quote: body type 1 is not a TD report (2: TD report 1.0, 3: TD report "
                  "1.5)"));
  std::string size = GoTdxV5().quote;
  size[50] = static_cast<char>(0x48);  // 584 with type 3
  v.quote = size;
  EXPECT_THAT(VerifyVector(v).reasons,
              ElementsAre("TDX quote: body size 584 does not match body type 3 (648 bytes)"));
}

TEST(TdxEvidence, ConcurrentVerification) {
  // One verifier, one parsed collateral, several threads.
  TdxVerifier verifier(PinnedAnchors());
  Vector v = DcapQvlV4();
  auto collateral = ParseTdxCollateral(v.collateral);
  ASSERT_TRUE(collateral.ok());
  std::vector<std::thread> threads;
  std::atomic<int> valid{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (verifier.VerifyQuote(v.quote, collateral->get(), v.now).valid) ++valid;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(valid.load(), 100);
}

}  // namespace
}  // namespace triad::attestation
