// The SEV-SNP verifier's checks that the real vectors cannot reach, on reports and certificates
// forged with a PKI of our own (tests/attestation/snp_forge.h), and its parser on the real reports.
#include <openssl/pem.h>

#include <string>
#include <vector>

#include "attestation/internal/snp_certs.h"
#include "attestation/internal/snp_report.h"
#include "attestation/roots.h"
#include "attestation/snp.h"
#include "base/encoding.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/attestation/snp_forge.h"
#include "tests/testing/testing.h"

namespace triad::attestation {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1748736000);  // 2025-06-01T00:00:00Z

std::string RealReport(const std::string& dir) {
  return testing::ReadTestFile(testing::TestdataDir() + "/attestation/snp/" + dir +
                               "/report.bin");
}

// A forged Milan VCEK and a v2 report it signs, valid against the forged ARK.
struct Forged {
  crypto::SslPtr<EVP_PKEY> key = forge::NewEcKey();
  forge::LeafSpec leaf;
  forge::ReportSpec report;
  std::string product = "Milan";

  Forged() { leaf.hwid_ext = report.chip_id; }
  Evidence Make() const {
    crypto::SslPtr<X509> cert = forge::IssueLeaf(forge::ForgedPki(product), leaf, key.get());
    return Evidence{"sev-snp", forge::BuildReport(report, key.get()), forge::ToDer(cert.get()), ""};
  }
  Verdict Verify() const {
    return NewSnpVerifier(forge::ForgedPki(product).Anchors())->Verify(Make(), kNow);
  }
};

TEST(SnpForgedTest, ForgedChainVerifiesOnlyWhenItsRootIsPinned) {
  Forged f;
  Verdict ok = f.Verify();
  ASSERT_TRUE(ok.valid) << ::testing::PrintToString(ok.reasons);
  EXPECT_EQ(ok.claims.snp->product, "Milan");
  EXPECT_EQ(ok.claims.snp->reported_tcb, (contracts::SnpTcb{3, 0, 8, 115, 0}));

  // The same evidence, now carrying its forged ASK and ARK as a PEM bundle, against the real roots.
  const forge::Pki& pki = forge::ForgedPki("Milan");
  Evidence ev = f.Make();
  crypto::SslPtr<X509> vcek = forge::IssueLeaf(pki, f.leaf, f.key.get());
  ev.certs = forge::ToPem(vcek.get()) + forge::ToPem(pki.ask.get()) + forge::ToPem(pki.ark.get());
  absl::StatusOr<TrustAnchors> real = TrustAnchors::LoadDir(DefaultRootsDir());
  ASSERT_TRUE(real.ok()) << real.status();
  Verdict v = NewSnpVerifier(*real)->Verify(ev, kNow);
  EXPECT_FALSE(v.valid);
  EXPECT_THAT(v.reasons,
              ElementsAre("ARK-Milan certificate is self-signed and is not the pinned ARK-Milan"));
}

TEST(SnpForgedTest, Version5ReportVerifies) {
  Forged f;
  f.report.version = 5;
  f.report.cpuid_family = 0x19;
  f.report.cpuid_model = 0x01;
  f.report.cpuid_stepping = 0x01;
  f.report.launch_mit_vector = 0x1111;
  f.report.current_mit_vector = 0x2222;
  Verdict v = f.Verify();
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.snp->version, 5u);
  absl::StatusOr<internal::SnpReport> r = internal::ParseSnpReport(f.Make().report);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has_mitigation_vectors);
  EXPECT_EQ(r->launch_mit_vector, 0x1111u);
  EXPECT_EQ(r->current_mit_vector, 0x2222u);
}

TEST(SnpForgedTest, TurinReportUsesTheTurinTcbLayoutAndEightByteHwid) {
  Forged f;
  f.product = "Turin";
  f.report.version = 3;
  f.report.cpuid_family = 0x1A;
  f.report.cpuid_model = 0x02;
  // Turin TCB_VERSION: byte 0 FMC, 1 boot loader, 2 TEE, 3 SNP, 7 microcode.
  f.report.tcb = 0x0900000004030201;
  f.report.chip_id = std::string(8, '\x5a') + std::string(56, '\0');
  f.leaf.product_name = "Turin";
  f.leaf.fmc = 1;
  f.leaf.bl = 2;
  f.leaf.tee = 3;
  f.leaf.snp = 4;
  f.leaf.ucode = 9;
  f.leaf.hwid_ext = std::string(8, '\x5a');
  Verdict v = f.Verify();
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.snp->product, "Turin");
  EXPECT_EQ(v.claims.snp->reported_tcb, (contracts::SnpTcb{2, 3, 4, 9, 1}));

  f.leaf.fmc = 0;
  f.leaf.hwid_ext = forge::DerOctets(std::string(8, '\x5b'));
  EXPECT_THAT(f.Verify().reasons, ElementsAre("VCEK fmcSPL 0 does not match REPORTED_TCB FMC SVN 1",
                                              "VCEK hwID does not match the report's CHIP_ID"));
  f.leaf.fmc.reset();
  f.leaf.hwid_ext = std::string(8, '\x5a');
  EXPECT_THAT(f.Verify().reasons, ElementsAre("VCEK has no fmcSPL extension"));
}

// A CRL issued by `issuer`, listing `revoked` (by serial), valid from `from` for a week.
std::string Crl(X509* issuer, EVP_PKEY* key, const std::vector<X509*>& revoked,
                absl::Time from = kNow - absl::Hours(1), bool pem = false) {
  crypto::SslPtr<X509_CRL> crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer));
  crypto::SslPtr<ASN1_STRING> last(ASN1_TIME_set(nullptr, absl::ToTimeT(from)));
  crypto::SslPtr<ASN1_STRING> next(ASN1_TIME_set(nullptr, absl::ToTimeT(from + absl::Hours(168))));
  X509_CRL_set1_lastUpdate(crl.get(), last.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  for (X509* c : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(c));
    X509_REVOKED_set_revocationDate(r, last.get());
    X509_CRL_add0_revoked(crl.get(), r);
  }
  X509_CRL_sort(crl.get());
  EXPECT_GT(X509_CRL_sign(crl.get(), key, EVP_sha384()), 0);
  crypto::SslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (pem) {
    PEM_write_bio_X509_CRL(bio.get(), crl.get());
  } else {
    i2d_X509_CRL_bio(bio.get(), crl.get());
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

TEST(SnpForgedTest, AmdCrlsAreCheckedWhenSupplied) {
  Forged f;
  const forge::Pki& pki = forge::ForgedPki("Milan");
  auto verify = [&](const std::string& collateral) {
    Evidence ev = f.Make();
    ev.collateral = collateral;
    return NewSnpVerifier(pki.Anchors())->Verify(ev, kNow);
  };
  // None: valid, not checked.
  Verdict none = verify("");
  ASSERT_TRUE(none.valid);
  EXPECT_FALSE(none.claims.snp->crl_checked);
  EXPECT_EQ(none.claims.tcb_status, "");
  // The ARK's CRL, revoking nothing of this chain (DER, or PEM with the ASK's as well).
  Verdict ark = verify(Crl(pki.ark.get(), pki.ark_key.get(), {pki.asvk.get()}));
  ASSERT_TRUE(ark.valid) << ::testing::PrintToString(ark.reasons);
  EXPECT_TRUE(ark.claims.snp->crl_checked);
  Verdict both = verify(Crl(pki.ark.get(), pki.ark_key.get(), {}, kNow - absl::Hours(1), true) +
                        Crl(pki.ask.get(), pki.ask_key.get(), {}, kNow - absl::Hours(1), true));
  ASSERT_TRUE(both.valid) << ::testing::PrintToString(both.reasons);
  EXPECT_TRUE(both.claims.snp->crl_checked);
  // Only the ASK's: verified, but the ARK's is what a policy requires.
  Verdict ask_only = verify(Crl(pki.ask.get(), pki.ask_key.get(), {}));
  ASSERT_TRUE(ask_only.valid);
  EXPECT_FALSE(ask_only.claims.snp->crl_checked);
  // A revoked ASK.
  EXPECT_THAT(verify(Crl(pki.ark.get(), pki.ark_key.get(), {pki.ask.get()})).reasons,
              ElementsAre("\"SEV-Milan\" is revoked by the CRL of \"ARK-Milan\""));
  // Expired, or signed by the wrong key, or by someone outside the chain.
  EXPECT_THAT(
      verify(Crl(pki.ark.get(), pki.ark_key.get(), {}, kNow - absl::Hours(200))).reasons,
      ElementsAre("AMD CRL 1 of \"ARK-Milan\": it expired at 2025-05-30T16:00:00Z (verification "
                  "time 2025-06-01T00:00:00Z)"));
  EXPECT_THAT(verify(Crl(pki.ark.get(), pki.ask_key.get(), {})).reasons,
              ElementsAre("AMD CRL 1 of \"ARK-Milan\": its signature does not verify with the key "
                          "of \"ARK-Milan\""));
  const forge::Pki& genoa = forge::ForgedPki("Genoa");
  EXPECT_THAT(verify(Crl(genoa.ark.get(), genoa.ark_key.get(), {})).reasons,
              ElementsAre("AMD CRL 1 is issued by neither \"SEV-Milan\" nor \"ARK-Milan\""));
  EXPECT_THAT(verify("not a CRL").reasons,
              ElementsAre("AMD CRLs: CRL 1: not one DER CertificateList"));
}

TEST(SnpForgedTest, ReportFieldChecks) {
  Forged f;
  f.report.signature_algo = 2;
  f.report.policy = 0x10000;  // bit 17 clear
  f.report.vmpl = 4;
  EXPECT_THAT(
      f.Verify().reasons,
      ElementsAre("report SIGNATURE_ALGO is 2; only 1 (ECDSA P-384 with SHA-384) is accepted",
                  "report POLICY bit 17 (reserved, must be 1) is 0",
                  "report VMPL 4 is out of range (0 to 3)"));

  Forged none;
  none.report.key_info = 7 << 2;
  EXPECT_THAT(none.Verify().reasons,
              ElementsAre("report is not signed (KEY_INFO SIGNING_KEY is 7, none)"));
  Forged reserved;
  reserved.report.key_info = 3 << 2;
  EXPECT_THAT(reserved.Verify().reasons, ElementsAre("report KEY_INFO SIGNING_KEY 3 is reserved"));
  Forged masked_key;
  masked_key.report.key_info = 1 << 1;
  EXPECT_THAT(masked_key.Verify().reasons,
              ElementsAre("report is not signed (KEY_INFO MASK_CHIP_KEY is set)"));
}

TEST(SnpForgedTest, DebugMigrationAgentAndSmtAreClaimsNotRejections) {
  Forged f;
  f.report.policy = 0x30000 | (1 << 18) | (1 << 19);
  Verdict v = f.Verify();
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_TRUE(v.claims.debug);
  EXPECT_TRUE(v.claims.snp->migration_agent_allowed);
  EXPECT_TRUE(v.claims.snp->smt_allowed);
  f.report.policy = 0x20000;
  v = f.Verify();
  ASSERT_TRUE(v.valid);
  EXPECT_FALSE(v.claims.debug);
  EXPECT_FALSE(v.claims.snp->smt_allowed);
}

TEST(SnpForgedTest, KeyInfoMustMatchTheCertificateKind) {
  Forged vlek_says_vcek;
  vlek_says_vcek.leaf.vlek = true;
  vlek_says_vcek.leaf.hwid_ext.reset();
  EXPECT_THAT(
      vlek_says_vcek.Verify().reasons,
      ElementsAre(
          "report KEY_INFO says it is signed by a VCEK but the certificate supplied is a VLEK"));
  Forged vlek;
  vlek.leaf.vlek = true;
  vlek.leaf.hwid_ext.reset();
  vlek.report.key_info = 1 << 2;
  vlek.report.chip_id = std::string(64, '\0');
  Verdict v = vlek.Verify();
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.snp->signing_key, "vlek");
  Forged vcek_says_vlek;
  vcek_says_vlek.report.key_info = 1 << 2;
  EXPECT_THAT(
      vcek_says_vlek.Verify().reasons,
      ElementsAre(
          "report KEY_INFO says it is signed by a VLEK but the certificate supplied is a VCEK"));
}

TEST(SnpForgedTest, MaskedChipIdSkipsTheHwidComparison) {
  Forged f;
  f.report.chip_id = std::string(64, '\0');
  Verdict v = f.Verify();
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.platform_id, "");
  Forged no_hwid;
  no_hwid.leaf.hwid_ext.reset();
  EXPECT_THAT(no_hwid.Verify().reasons,
              ElementsAre("VCEK has no hwID extension (1.3.6.1.4.1.3704.1.4)"));
  Forged short_hwid;
  short_hwid.leaf.hwid_ext = short_hwid.report.chip_id.substr(0, 8);
  EXPECT_THAT(short_hwid.Verify().reasons,
              ElementsAre("VCEK hwID is 8 bytes, which only Turin certificates carry"));
  Forged bad_hwid;
  bad_hwid.leaf.hwid_ext = std::string(63, 'x');
  EXPECT_THAT(
      bad_hwid.Verify().reasons,
      ElementsAre(
          "VCEK: extension 1.3.6.1.4.1.3704.1.4 (hwID) is 63 bytes; expected 64 or 8 raw bytes, or "
          "a DER OCTET STRING of 64 or 8 bytes"));
}

TEST(SnpForgedTest, MissingOrMalformedSplExtensions) {
  Forged f;
  f.leaf.ucode.reset();
  EXPECT_THAT(f.Verify().reasons, ElementsAre("VCEK has no ucodeSPL extension"));
  Forged big;
  big.leaf.ucode = 300;
  EXPECT_THAT(
      big.Verify().reasons,
      ElementsAre("VCEK: extension 1.3.6.1.4.1.3704.1.3.8 is not a DER INTEGER from 0 to 255"));
}

TEST(SnpForgedTest, ProductFromCertificateWhenTheReportHasNoCpuid) {
  // Version 2: no CPUID. productName names the product; without it, the issuer CN does.
  Forged f;
  f.product = "Genoa";
  f.leaf.product_name = "Genoa";
  Verdict v = f.Verify();
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.snp->product, "Genoa");
  f.leaf.product_name = "";
  v = f.Verify();
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.snp->product, "Genoa");
  f.leaf.product_name = "Venice";
  EXPECT_THAT(f.Verify().reasons,
              ElementsAre("cannot tell the AMD product: the report has no CPUID fields and the "
                          "VCEK names none that is known (\"Venice\")"));
}

TEST(SnpForgedTest, UnknownCpuidAndProductMismatch) {
  Forged f;
  f.report.version = 3;
  f.report.cpuid_family = 0x17;
  f.report.cpuid_model = 0x31;
  EXPECT_THAT(f.Verify().reasons,
              ElementsAre("report CPUID family 0x17 model 0x31 is not a known SEV-SNP product"));
  // A Genoa CPUID with a Milan VCEK: the products disagree, and the CPUID's product wins the choice
  // of ARK (none is pinned for Genoa in these anchors).
  f.report.cpuid_model = 0x11;
  f.report.cpuid_family = 0x19;
  EXPECT_THAT(f.Verify().reasons, ElementsAre("VCEK is for Milan but the report's CPUID says Genoa",
                                              "no pinned ARK for Genoa in the trust anchors"));
}

TEST(SnpForgedTest, NonPssSignaturesAndOtherKeysAreRejected) {
  // An ASK signed with PKCS#1 v1.5 by the ARK.
  const forge::Pki& pki = forge::ForgedPki("Milan");
  forge::CertSpec spec;
  spec.ca = true;
  spec.pss = false;
  spec.cn = "SEV-Milan";
  crypto::SslPtr<X509> v15_ask =
      forge::Issue(spec, pki.ask_key.get(), pki.ark.get(), pki.ark_key.get());
  TrustAnchors anchors = pki.Anchors();
  anchors.amd_ask["Milan"] = forge::ToPem(v15_ask.get());
  Forged f;
  EXPECT_THAT(NewSnpVerifier(anchors)->Verify(f.Make(), kNow).reasons,
              ElementsAre("SEV-Milan certificate is not signed with RSASSA-PSS and SHA-384"));

  // A P-256 leaf key.
  Forged p256;
  p256.key = forge::NewEcKey("P-256");
  Verdict v = p256.Verify();
  EXPECT_THAT(v.reasons, ElementsAre("VCEK public key is not an ECDSA P-384 key"));
}

TEST(SnpForgedTest, LeafSignedDirectlyByTheArkIsNotAnAmdChain) {
  const forge::Pki& pki = forge::ForgedPki("Milan");
  crypto::SslPtr<EVP_PKEY> key = forge::NewEcKey();
  forge::CertSpec spec;
  spec.cn = "SEV-VCEK";
  forge::ReportSpec rs;
  spec.extensions = {{"1.3.6.1.4.1.3704.1.2", forge::DerIa5("Milan-B0")},
                     {"1.3.6.1.4.1.3704.1.3.1", forge::DerInt(3)},
                     {"1.3.6.1.4.1.3704.1.3.2", forge::DerInt(0)},
                     {"1.3.6.1.4.1.3704.1.3.3", forge::DerInt(8)},
                     {"1.3.6.1.4.1.3704.1.3.8", forge::DerInt(115)},
                     {"1.3.6.1.4.1.3704.1.4", rs.chip_id}};
  crypto::SslPtr<X509> leaf = forge::Issue(spec, key.get(), pki.ark.get(), pki.ark_key.get());
  Evidence ev{"sev-snp", forge::BuildReport(rs, key.get()), forge::ToDer(leaf.get()), ""};
  EXPECT_THAT(
      NewSnpVerifier(pki.Anchors())->Verify(ev, kNow).reasons,
      ElementsAre("certificate chain has 2 certificates; an AMD chain is VCEK, ASK/ASVK, ARK"));
}

TEST(SnpForgedTest, CertificateInputErrors) {
  Forged f;
  Evidence ev = f.Make();
  auto verify = [&](const std::string& certs) {
    Evidence e = ev;
    e.certs = certs;
    return NewSnpVerifier(forge::ForgedPki("Milan").Anchors())->Verify(e, kNow).reasons;
  };
  EXPECT_THAT(verify(""), ElementsAre("no VCEK or VLEK certificate was supplied with the report"));
  const forge::Pki& pki = forge::ForgedPki("Milan");
  EXPECT_THAT(
      verify(forge::ToPem(pki.ask.get())),
      ElementsAre(
          "the certificates hold no VCEK or VLEK (a certificate with CN=SEV-VCEK or CN=SEV-VLEK)"));
  crypto::SslPtr<X509> vcek = forge::IssueLeaf(pki, f.leaf, f.key.get());
  EXPECT_THAT(
      verify(forge::ToPem(vcek.get()) + forge::ToPem(vcek.get())),
      ElementsAre("the certificates hold more than one VCEK/VLEK (CN=SEV-VCEK or SEV-VLEK)"));
  EXPECT_THAT(verify("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
              ElementsAre("PEM certificate 1 of the bundle does not parse"));
  EXPECT_THAT(
      verify(std::string(100, '\x7f')),
      ElementsAre("certificate table: certificate table has no all-zero terminating entry"));
  EXPECT_THAT(verify(std::string(2 << 20, '\0')),
              ElementsAre("certificates are 2097152 bytes; the limit is 1048576"));
}

TEST(SnpForgedTest, WrongTeeAndSimEvidenceAreNotSnp) {
  Forged f;
  Evidence ev = f.Make();
  ev.tee = "tdx";
  EXPECT_THAT(NewSnpVerifier(forge::ForgedPki("Milan").Anchors())->Verify(ev, kNow).reasons,
              ElementsAre("evidence is for TEE \"tdx\", not sev-snp"));
  ev.tee = "sev-snp";
  ev.report = "TRIADSIM" + std::string(264, '\0');
  EXPECT_THAT(NewSnpVerifier(forge::ForgedPki("Milan").Anchors())->Verify(ev, kNow).reasons,
              ElementsAre("this is Triad sim evidence, not an SEV-SNP attestation report"));
}

// ---- Parser
// ----------------------------------------------------------------------------------------

TEST(SnpReportParserTest, FieldsOfTheRealVlekReport) {
  absl::StatusOr<internal::SnpReport> r =
      internal::ParseSnpReport(RealReport("trustee-milan-vlek"));
  ASSERT_TRUE(r.ok()) << r.status();
  // MANIFEST: v3, key_info 0x4 (VLEK), chip_id zero, vmpl 1, cpuid fam 0x19 mod 0x01 step 1.
  EXPECT_EQ(r->version, 3u);
  EXPECT_EQ(r->key_info, 4u);
  EXPECT_EQ(r->signing_key(), internal::SnpSigningKey::kVlek);
  EXPECT_TRUE(r->chip_id_masked());
  EXPECT_EQ(r->vmpl, 1u);
  EXPECT_TRUE(r->has_cpuid);
  EXPECT_EQ(r->cpuid_family, 0x19);
  EXPECT_EQ(r->cpuid_model, 0x01);
  EXPECT_EQ(r->cpuid_stepping, 0x01);
  EXPECT_EQ(r->reported_tcb, 0xd918000000000004u);
  EXPECT_FALSE(r->has_mitigation_vectors);
  EXPECT_EQ(internal::SnpProductFromCpuid(r->cpuid_family, r->cpuid_model),
            internal::SnpProduct::kMilan);
  EXPECT_EQ(r->signature_r.size(), 48u);
  EXPECT_EQ(r->signature_s.size(), 48u);

  absl::StatusOr<internal::SnpReport> v2 = internal::ParseSnpReport(RealReport("gsg-milan"));
  ASSERT_TRUE(v2.ok());
  EXPECT_FALSE(v2->has_cpuid);
  EXPECT_EQ(v2->current_major, 1);
  EXPECT_EQ(v2->current_minor, 0x31);
  EXPECT_EQ(v2->current_build, 3);
}

TEST(SnpReportParserTest, Rejections) {
  std::string r = RealReport("gsg-milan");
  EXPECT_EQ(internal::ParseSnpReport(r.substr(1)).status().message(),
            "SNP report is 1183 bytes; an ATTESTATION_REPORT is exactly 1184 (0x4A0)");
  EXPECT_EQ(internal::ParseSnpReport(r + "x").status().message(),
            "SNP report is 1185 bytes; an ATTESTATION_REPORT is exactly 1184 (0x4A0)");
  for (uint8_t version : {0, 1, 4, 6}) {
    std::string bad = r;
    bad[0] = static_cast<char>(version);
    EXPECT_EQ(internal::ParseSnpReport(bad).status().message(),
              "SNP report version " + std::to_string(version) + " is not supported (2, 3 or 5)");
  }
  // Bytes above the 48-byte R and S, and after S, are zero in a canonical signature.
  for (size_t off : {0x2A0 + 48, 0x2A0 + 71, 0x2E8 + 48, 0x330, 0x49F}) {
    std::string bad = r;
    bad[off] = 1;
    EXPECT_EQ(internal::ParseSnpReport(bad).status().message(),
              "SNP report signature field has non-zero bytes outside the 48-byte R and S values")
        << off;
  }
}

TEST(SnpReportParserTest, ProductsAndTcbLayouts) {
  using internal::SnpProduct;
  EXPECT_EQ(internal::SnpProductFromCpuid(0x19, 0x00), SnpProduct::kMilan);
  EXPECT_EQ(internal::SnpProductFromCpuid(0x19, 0x0F), SnpProduct::kMilan);
  EXPECT_EQ(internal::SnpProductFromCpuid(0x19, 0x11), SnpProduct::kGenoa);
  EXPECT_EQ(internal::SnpProductFromCpuid(0x19, 0xA0), SnpProduct::kGenoa);
  EXPECT_EQ(internal::SnpProductFromCpuid(0x19, 0x20), SnpProduct::kUnknown);
  EXPECT_EQ(internal::SnpProductFromCpuid(0x1A, 0x11), SnpProduct::kTurin);
  EXPECT_EQ(internal::SnpProductFromCpuid(0x1A, 0x12), SnpProduct::kUnknown);
  EXPECT_EQ(internal::SnpProductFromName("genoa"), SnpProduct::kGenoa);
  EXPECT_EQ(internal::SnpProductFromName("Milan-B0"), SnpProduct::kUnknown);
  // MANIFEST gsg-milan: reported_tcb 0x4405000000000002 = bl 2, tee 0, snp 5, ucode 68.
  EXPECT_EQ(internal::DecodeSnpTcb(0x4405000000000002, SnpProduct::kMilan),
            (contracts::SnpTcb{2, 0, 5, 68, 0}));
  EXPECT_EQ(internal::DecodeSnpTcb(0x0900000004030201, SnpProduct::kTurin),
            (contracts::SnpTcb{2, 3, 4, 9, 1}));
}

TEST(SnpCertTableTest, ParseAndRejections) {
  using internal::SnpCertTableEntry;
  const std::string vcek = internal::GuidBytes(internal::kSnpGuidVcek);
  const std::string ask = internal::GuidBytes(internal::kSnpGuidAsk);
  EXPECT_EQ(base::HexEncode(vcek),
            "63da758de6644564adc5f4b93be8accd");  // text order, as uuid_parse gives
  EXPECT_EQ(internal::GuidText(vcek), internal::kSnpGuidVcek);
  EXPECT_EQ(internal::GuidBytes("63da758d-e664-4564-adc5-f4b93be8acc"), "");

  std::string table = internal::SerializeSnpCertTable({{vcek, "VCEK"}, {ask, "ASK!"}});
  // Two entries, the terminator, then the data at offsets 72 and 76.
  EXPECT_EQ(table.size(), 3 * 24 + 8u);
  EXPECT_EQ(base::HexEncode(table.substr(16, 8)), "4800000004000000");
  absl::StatusOr<std::vector<SnpCertTableEntry>> parsed =
      internal::ParseSnpCertTable(table + std::string(100, '\0'));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].guid, vcek);
  EXPECT_EQ((*parsed)[0].data, "VCEK");
  EXPECT_EQ((*parsed)[1].data, "ASK!");
  EXPECT_TRUE(internal::ParseSnpCertTable(std::string(24, '\0'))->empty());

  auto error = [](const std::string& t) {
    return std::string(internal::ParseSnpCertTable(t).status().message());
  };
  EXPECT_EQ(error(""), "certificate table has no all-zero terminating entry");
  EXPECT_EQ(error(table.substr(0, 60)), "certificate table has no all-zero terminating entry");
  std::string bad = table;
  bad[48 + 16] = 1;  // terminator with a non-zero offset
  EXPECT_EQ(error(bad),
            "certificate table entry 2 has a zero GUID but a non-zero offset or length");
  bad = table;
  bad[16] = 8;  // VCEK offset 8: inside the entries
  EXPECT_EQ(error(bad), "certificate table entry 0 (" + std::string(internal::kSnpGuidVcek) +
                            ") points at bytes 8..12, outside the certificate area 72..80");
  bad = table;
  bad[20] = 9;  // VCEK length 9 runs past the end
  EXPECT_EQ(error(bad), "certificate table entry 0 (" + std::string(internal::kSnpGuidVcek) +
                            ") points at bytes 72..81, outside the certificate area 72..80");
  bad = table;
  bad[20] = 0;
  EXPECT_EQ(error(bad),
            "certificate table entry 0 (" + std::string(internal::kSnpGuidVcek) + ") is empty");
  EXPECT_EQ(
      error(internal::SerializeSnpCertTable({{vcek, "a"}, {vcek, "b"}})),
      "certificate table entry 1 (" + std::string(internal::kSnpGuidVcek) + ") appears twice");
  std::vector<SnpCertTableEntry> many;
  for (int i = 0; i < 65; ++i)
    many.push_back({std::string(15, 'g') + static_cast<char>(i + 1), "x"});
  EXPECT_EQ(error(internal::SerializeSnpCertTable(many)),
            "certificate table has more than 64 entries");
  EXPECT_EQ(error(std::string((1 << 20) + 1, '\0')),
            "certificate table is 1048577 bytes; the limit is 1048576");

  // A VCEK entry that is not a certificate, and a table without a VCEK/VLEK, fail the loader.
  EXPECT_EQ(internal::LoadSnpCerts(table).status().message(),
            "certificate table entry " + std::string(internal::kSnpGuidVcek) +
                " is not a DER X.509 certificate");
  EXPECT_EQ(
      internal::LoadSnpCerts(internal::SerializeSnpCertTable({{std::string(16, 'u'), "other"}}))
          .status()
          .message(),
      "certificate table holds no VCEK or VLEK entry");
}

}  // namespace
}  // namespace triad::attestation
