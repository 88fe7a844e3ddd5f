// The AMD SEV-SNP verifier on the real hardware evidence of testdata/attestation/snp,
// with the verdicts, claims and reasons its MANIFEST.md gives.
#include <openssl/pem.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "attestation/internal/snp_certs.h"
#include "attestation/roots.h"
#include "attestation/snp.h"
#include "attestation/verifier.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "crypto/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::attestation {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string Snp(const std::string& rel) {
  return testing::ReadTestFile(testing::TestdataDir() + "/attestation/snp/" + rel);
}
std::string Roots(const std::string& rel) {
  return testing::ReadTestFile(testing::TestdataDir() + "/attestation/roots/" + rel);
}

absl::Time At(const char* rfc3339) {
  absl::Time t;
  EXPECT_TRUE(base::ParseRfc3339(rfc3339, &t)) << rfc3339;
  return t;
}

// MANIFEST: the VLEK vector's fixed time; every VCEK of the SNP vectors is valid then too.
const absl::Time kNow = absl::FromUnixSeconds(1748736000);  // 2025-06-01T00:00:00Z

TrustAnchors ShippedAnchors() {
  absl::StatusOr<TrustAnchors> a =
      TrustAnchors::LoadDir(testing::SourceDir() + "/attestation/roots");
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : TrustAnchors{};
}

Evidence SnpEvidence(const std::string& report, const std::string& certs) {
  return Evidence{"sev-snp", Snp(report), Snp(certs), ""};
}

std::string Hex(const std::string& b) { return base::HexEncode(b); }

struct Expected {
  const char* name;
  const char* report;
  const char* certs;
  uint32_t version;
  const char* product;
  const char* signing_key;
  uint64_t policy;
  uint32_t vmpl;
  uint32_t guest_svn;
  bool debug;
  contracts::SnpTcb reported_tcb;  // bootloader, tee, snp, microcode, fmc
  const char* measurement;
  const char* report_data;
  const char* chip_id_prefix;  // "" when masked
};

// Values from MANIFEST.md (TCBs, policy, debug) and the report bytes at the ABI offsets.
const Expected kValid[] = {
    {"gsg-milan",
     "gsg-milan/report.bin",
     "gsg-milan/vcek.der",
     2,
     "Milan",
     "vcek",
     0xb0000,
     0,
     0,
     true,
     {2, 0, 5, 68, 0},
     "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872"
     "b01",
     "0102030405000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000",
     "3ac3fe21e13fb0990eb28a802e3fb6a2"},
    {"virtee-milan",
     "virtee-milan/report.bin",
     "virtee-milan/vcek.der",
     2,
     "Milan",
     "vcek",
     0x30000,
     0,
     0,
     false,
     {3, 0, 8, 115, 0},
     "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd818"
     "41f",
     "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a829"
     "3f0"
     "f3f8dae7b79fecb3d1cd82bd6a93ebfd",
     "d49554ec717f4e5b0fe6b143bcf0405b"},
    {"trustee-milan",
     "trustee-milan/report.bin",
     "trustee-milan/vcek.der",
     2,
     "Milan",
     "vcek",
     0x3001f,
     0,
     4,
     false,
     {3, 0, 8, 115, 0},
     "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d"
     "38c",
     "ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2"
     "0000000000000000000000000000000000000000000000000000000000000000",
     "c38427a30d4c7af9d96f7a15b9726982"},
    {"trustee-milan-vlek",
     "trustee-milan-vlek/report.bin",
     "trustee-milan-vlek/vlek.der",
     3,
     "Milan",
     "vlek",
     0x30000,
     1,
     0,
     false,
     {4, 0, 24, 217, 0},
     "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7"
     "bf0",
     "819770b7e6ea6df8dd8fd4dd146b073c0bf4f3ce5b0977ecac486e3a05ed1bd54e2a7ac1f5d1ca02e7d7d5ef9f73b"
     "857"
     "4fd9359e3a480d741a4478e8a7bc27ca",
     ""},
    {"azure-genoa-hcl",
     "azure-genoa-hcl/report.bin",
     "azure-genoa-hcl/vcek.pem",
     3,
     "Genoa",
     "vcek",
     0x3001f,
     0,
     65547,
     false,
     {10, 0, 23, 84, 0},
     "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c8"
     "9ae",
     "b581f12e29a2d7d64e5e0b738d563879a78b51c644d0fa0cce02b48699f6bf5f"
     "0000000000000000000000000000000000000000000000000000000000000000",
     "0506ffba875e939c2729d20c74eb72b4"},
};

class SnpVectorTest : public ::testing::TestWithParam<Expected> {};

TEST_P(SnpVectorTest, ValidWithManifestClaims) {
  const Expected& x = GetParam();
  std::unique_ptr<Verifier> v = NewSnpVerifier(ShippedAnchors());
  Verdict verdict = v->Verify(SnpEvidence(x.report, x.certs), kNow);
  ASSERT_TRUE(verdict.valid) << ::testing::PrintToString(verdict.reasons);
  EXPECT_THAT(verdict.reasons, IsEmpty());
  const contracts::Claims& c = verdict.claims;
  EXPECT_EQ(c.tee, "sev-snp");
  EXPECT_EQ(Hex(c.measurement), x.measurement);
  EXPECT_EQ(Hex(c.report_data), x.report_data);
  EXPECT_EQ(c.debug, x.debug);
  EXPECT_EQ(c.tcb_status, "");  // SNP has no status list; never "UpToDate"
  EXPECT_THAT(c.advisory_ids, IsEmpty());
  ASSERT_TRUE(c.snp.has_value());
  EXPECT_FALSE(c.tdx.has_value());
  EXPECT_FALSE(c.sim.has_value());
  const contracts::SnpClaims& s = *c.snp;
  EXPECT_EQ(s.version, x.version);
  EXPECT_EQ(s.product, x.product);
  EXPECT_EQ(s.signing_key, x.signing_key);
  EXPECT_EQ(s.policy, x.policy);
  EXPECT_EQ(s.vmpl, x.vmpl);
  EXPECT_EQ(s.guest_svn, x.guest_svn);
  EXPECT_EQ(s.reported_tcb, x.reported_tcb);
  EXPECT_EQ(s.measurement, c.measurement);
  EXPECT_EQ(s.chip_id.size(), 64u);
  EXPECT_EQ(s.host_data, std::string(32, '\0'));
  EXPECT_TRUE(s.smt_allowed);  // policy bit 16 is set in every vector
  EXPECT_FALSE(s.migration_agent_allowed);
  if (*x.chip_id_prefix == '\0') {
    EXPECT_EQ(s.chip_id, std::string(64, '\0'));
    EXPECT_EQ(c.platform_id, "");
  } else {
    EXPECT_EQ(Hex(s.chip_id).substr(0, 32), x.chip_id_prefix);
    EXPECT_EQ(c.platform_id, s.chip_id);
  }
  // Claims survive their JSON form (records and --json output).
  absl::StatusOr<contracts::Claims> back = contracts::Claims::FromJson(c.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ToJson(), c.ToJson());
}

// Flipping one bit in any byte of the signed part (0x000..0x29F) makes the report invalid.
TEST_P(SnpVectorTest, EveryByteOfTheSignedPartMatters) {
  const Expected& x = GetParam();
  std::unique_ptr<Verifier> v = NewSnpVerifier(ShippedAnchors());
  Evidence ev = SnpEvidence(x.report, x.certs);
  ASSERT_TRUE(v->Verify(ev, kNow).valid);
  int still_valid = 0;
  for (size_t i = 0; i < 0x2A0; ++i) {
    Evidence flipped = ev;
    flipped.report[i] ^= 0x01;
    Verdict verdict = v->Verify(flipped, kNow);
    if (verdict.valid || verdict.reasons.empty()) {
      ++still_valid;
      ADD_FAILURE() << x.name << ": flipping byte 0x" << std::hex << i << " still verifies";
    }
  }
  EXPECT_EQ(still_valid, 0);
}

INSTANTIATE_TEST_SUITE_P(Manifest, SnpVectorTest, ::testing::ValuesIn(kValid),
                         [](const ::testing::TestParamInfo<Expected>& i) {
                           std::string n = i.param.name;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(SnpVectorsTest, AzureReportDataBindsTheHclRuntimeJson) {
  // MANIFEST: report_data[0:32] == SHA-256(runtime JSON), the JSON at 0x4C0+20 in the HCL report,
  // its length the u32 at 0x4C0+16.
  std::string hcl = Snp("azure-genoa-hcl/hcl_report.bin");
  ASSERT_GT(hcl.size(), 0x4C0u + 20);
  uint32_t len = 0;
  for (int i = 3; i >= 0; --i) len = (len << 8) | static_cast<uint8_t>(hcl[0x4C0 + 16 + i]);
  ASSERT_LE(0x4C0u + 20 + len, hcl.size());
  std::string json = hcl.substr(0x4C0 + 20, len);
  EXPECT_EQ(hcl.substr(0x20, 0x4A0), Snp("azure-genoa-hcl/report.bin"));
  Verdict verdict =
      NewSnpVerifier(ShippedAnchors())
          ->Verify(SnpEvidence("azure-genoa-hcl/report.bin", "azure-genoa-hcl/vcek.pem"), kNow);
  ASSERT_TRUE(verdict.valid);
  EXPECT_EQ(verdict.claims.report_data.substr(0, 32), crypto::Sha256(json));
}

TEST(SnpVectorsTest, TrusteeInvalidVceksAreRejectedForEveryFailedCheck) {
  std::unique_ptr<Verifier> v = NewSnpVerifier(ShippedAnchors());
  // Legacy hwID encoding (raw 64 bytes). Report REPORTED_TCB: bl 3, tee 0, snp 8, ucode 115.
  Verdict legacy = v->Verify(
      SnpEvidence("trustee-milan/report.bin", "trustee-milan/vcek-invalid-legacy.der"), kNow);
  EXPECT_FALSE(legacy.valid);
  EXPECT_THAT(legacy.reasons,
              ElementsAre("VCEK certificate signature does not verify under its issuer SEV-Milan",
                          "report signature does not verify with the VCEK public key",
                          "VCEK snpSPL 10 does not match REPORTED_TCB SNP SVN 8",
                          "VCEK ucodeSPL 169 does not match REPORTED_TCB microcode SVN 115",
                          "VCEK hwID does not match the report's CHIP_ID"));
  // New hwID encoding (DER OCTET STRING).
  Verdict fresh = v->Verify(
      SnpEvidence("trustee-milan/report.bin", "trustee-milan/vcek-invalid-new.der"), kNow);
  EXPECT_FALSE(fresh.valid);
  EXPECT_THAT(fresh.reasons,
              ElementsAre("VCEK certificate signature does not verify under its issuer SEV-Milan",
                          "report signature does not verify with the VCEK public key",
                          "VCEK blSPL 0 does not match REPORTED_TCB boot loader SVN 3",
                          "VCEK snpSPL 0 does not match REPORTED_TCB SNP SVN 8",
                          "VCEK ucodeSPL 30 does not match REPORTED_TCB microcode SVN 115",
                          "VCEK hwID does not match the report's CHIP_ID"));
}

TEST(SnpVectorsTest, BothHwidEncodingsDecodeToTheSame64Bytes) {
  // trustee's parse tests: both invalid VCEKs carry hwID 00 01 02 .. 3f, one raw, one DER-wrapped.
  std::string expected;
  for (int i = 0; i < 64; ++i) expected.push_back(static_cast<char>(i));
  for (const char* f :
       {"trustee-milan/vcek-invalid-legacy.der", "trustee-milan/vcek-invalid-new.der"}) {
    absl::StatusOr<internal::SnpCertSet> set = internal::LoadSnpCerts(Snp(f));
    ASSERT_TRUE(set.ok()) << set.status();
    internal::AmdExtensions ext = internal::ReadAmdExtensions(set->leaf.get());
    EXPECT_THAT(ext.errors, IsEmpty());
    ASSERT_TRUE(ext.hwid.has_value());
    EXPECT_EQ(*ext.hwid, expected) << f;
  }
}

TEST(SnpVectorsTest, VlekExpiresOneDayAfterItsNotAfter) {
  std::unique_ptr<Verifier> v = NewSnpVerifier(ShippedAnchors());
  Evidence ev = SnpEvidence("trustee-milan-vlek/report.bin", "trustee-milan-vlek/vlek.der");
  // OpenSSL counts the notAfter second itself as expired; the second before is the last valid one.
  EXPECT_TRUE(v->Verify(ev, At("2025-12-10T22:14:20Z")).valid);
  Verdict late = v->Verify(ev, At("2025-12-11T22:14:21Z"));
  EXPECT_FALSE(late.valid);
  EXPECT_THAT(late.reasons, ElementsAre("VLEK certificate expired at 2025-12-10T22:14:21Z "
                                        "(verification time 2025-12-11T22:14:21Z)"));
  Verdict early = v->Verify(ev, At("2024-12-09T22:14:21Z"));
  EXPECT_THAT(early.reasons,
              ElementsAre("VLEK certificate is not valid before 2024-12-10T22:14:21Z "
                          "(verification time 2024-12-09T22:14:21Z)"));
}

TEST(SnpVectorsTest, VcekExpiresToo) {
  Verdict v = NewSnpVerifier(ShippedAnchors())
                  ->Verify(SnpEvidence("gsg-milan/report.bin", "gsg-milan/vcek.der"),
                           At("2029-09-25T00:55:28Z"));
  EXPECT_THAT(v.reasons, ElementsAre("VCEK certificate expired at 2029-09-24T00:55:28Z "
                                     "(verification time 2029-09-25T00:55:28Z)"));
}

TEST(SnpVectorsTest, ProductChainIsTheOneOfTheReport) {
  // The Genoa report (CPUID family 0x19 model 0x11) with a Milan VCEK: product mismatch, and the
  // Milan VCEK does not chain to the Genoa ARK.
  Verdict v =
      NewSnpVerifier(ShippedAnchors())
          ->Verify(SnpEvidence("azure-genoa-hcl/report.bin", "virtee-milan/vcek.der"), kNow);
  EXPECT_FALSE(v.valid);
  EXPECT_THAT(
      v.reasons,
      ElementsAre("VCEK is for Milan but the report's CPUID says Genoa",
                  "VCEK certificate (issuer SEV-Milan) does not chain to the pinned ARK-Genoa",
                  "report signature does not verify with the VCEK public key",
                  "VCEK blSPL 3 does not match REPORTED_TCB boot loader SVN 10",
                  "VCEK snpSPL 8 does not match REPORTED_TCB SNP SVN 23",
                  "VCEK ucodeSPL 115 does not match REPORTED_TCB microcode SVN 84",
                  "VCEK hwID does not match the report's CHIP_ID"));
}

std::string VcekPem(const std::string& der_file) {
  absl::StatusOr<internal::SnpCertSet> set = internal::LoadSnpCerts(Snp(der_file));
  EXPECT_TRUE(set.ok());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, set->leaf.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

TEST(SnpVectorsTest, MissingPinnedArkIsNotReplacedByTheEvidenceBundle) {
  // The bundle carries ASK, ARK and ASVK of Milan; with no Milan ARK pinned, nothing verifies.
  TrustAnchors anchors = ShippedAnchors();
  anchors.amd_ark.erase("Milan");
  Evidence ev{"sev-snp", Snp("virtee-milan/report.bin"),
              Roots("amd_milan_ask_ark_asvk.pem") + VcekPem("virtee-milan/vcek.der"), ""};
  Verdict v = NewSnpVerifier(anchors)->Verify(ev, kNow);
  EXPECT_THAT(v.reasons, ElementsAre("no pinned ARK for Milan in the trust anchors"));
}

TEST(SnpVectorsTest, PemBundleIntermediatesAreUsedButItsRootIsNot) {
  // VCEK + the trustee ASK/ARK/ASVK bundle; the pinned ASK removed, so the chain must use the
  // bundle's.
  TrustAnchors anchors = ShippedAnchors();
  anchors.amd_ask.clear();
  anchors.amd_asvk.clear();
  Evidence ev{"sev-snp", Snp("virtee-milan/report.bin"),
              Roots("amd_milan_ask_ark_asvk.pem") + VcekPem("virtee-milan/vcek.der"), ""};
  Verdict ok = NewSnpVerifier(anchors)->Verify(ev, kNow);
  EXPECT_TRUE(ok.valid) << ::testing::PrintToString(ok.reasons);
  // The bundle's ARK does not stand in for a pinned one.
  anchors.amd_ark.erase("Milan");
  EXPECT_THAT(NewSnpVerifier(anchors)->Verify(ev, kNow).reasons,
              ElementsAre("no pinned ARK for Milan in the trust anchors"));
  // Without any ASK the VCEK has no path to the ARK.
  TrustAnchors no_ask = ShippedAnchors();
  no_ask.amd_ask.clear();
  EXPECT_THAT(
      NewSnpVerifier(no_ask)
          ->Verify(SnpEvidence("virtee-milan/report.bin", "virtee-milan/vcek.der"), kNow)
          .reasons,
      ElementsAre("VCEK certificate (issuer SEV-Milan) does not chain to the pinned ARK-Milan"));
}

TEST(SnpVectorsTest, CertificateTableFromTheHostVerifies) {
  // The configfs-tsm auxblob form: VCEK, ASK, ARK by GUID.
  absl::StatusOr<internal::SnpCertSet> ask =
      internal::LoadSnpCerts(Roots("amd_ask_milan.pem") + VcekPem("gsg-milan/vcek.der"));
  ASSERT_TRUE(ask.ok()) << ask.status();
  std::vector<internal::SnpCertTableEntry> entries = {
      {internal::GuidBytes(internal::kSnpGuidVcek), Snp("gsg-milan/vcek.der")},
  };
  for (const auto& [guid, pem] :
       {std::make_pair(internal::kSnpGuidAsk, Roots("amd_ask_milan.pem")),
        std::make_pair(internal::kSnpGuidArk, Roots("amd_ark_milan.pem"))}) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    unsigned char* der = nullptr;
    int n = i2d_X509(x, &der);
    entries.push_back({internal::GuidBytes(guid),
                       std::string(reinterpret_cast<char*>(der), static_cast<size_t>(n))});
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(bio);
  }
  std::string table =
      internal::SerializeSnpCertTable(entries) + std::string(4096, '\0');  // page padding
  TrustAnchors anchors = ShippedAnchors();
  anchors.amd_ask.clear();
  Verdict v = NewSnpVerifier(anchors)->Verify(
      Evidence{"sev-snp", Snp("gsg-milan/report.bin"), table, ""}, kNow);
  EXPECT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
}

TEST(SnpVectorsTest, TurinVcekChainsToTheTurinArkOnly) {
  // MANIFEST: VCEK -> ASK-Turin -> ARK-Turin is VALID; the Turin TCB layout carries fmcSPL.
  absl::StatusOr<internal::SnpCertSet> set =
      internal::LoadSnpCerts(Snp("virtee-turin-vcek-only/vcek.der"));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->kind, internal::AmdLeafKind::kVcek);
  absl::StatusOr<internal::SnpCertSet> chain = internal::LoadSnpCerts(
      Snp("virtee-turin-vcek-only/ask_ark.pem") + VcekPem("virtee-turin-vcek-only/vcek.der"));
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->intermediates.size(), 2u);
  absl::StatusOr<crypto::SslPtr<X509>> turin_ark =
      internal::ParsePemCertificate(Roots("amd_ark_turin.pem"));
  absl::StatusOr<crypto::SslPtr<X509>> milan_ark =
      internal::ParsePemCertificate(Roots("amd_ark_milan.pem"));
  ASSERT_TRUE(turin_ark.ok() && milan_ark.ok());
  std::vector<X509*> untrusted;
  for (auto& c : chain->intermediates) untrusted.push_back(c.get());
  EXPECT_THAT(internal::VerifyAmdChain(set->leaf.get(), untrusted, turin_ark->get(), kNow, "VCEK"),
              IsEmpty());
  // The evidence's own ARK-Turin is in `untrusted`, yet against the pinned Milan ARK nothing
  // chains.
  EXPECT_THAT(internal::VerifyAmdChain(set->leaf.get(), untrusted, milan_ark->get(), kNow, "VCEK"),
              ElementsAre("ARK-Turin certificate is self-signed and is not the pinned ARK-Milan"));
  EXPECT_THAT(internal::VerifyAmdChain(set->leaf.get(), untrusted, turin_ark->get(),
                                       At("2031-11-07T21:14:00Z"), "VCEK"),
              ElementsAre("VCEK certificate expired at 2031-11-06T21:14:00Z (verification time "
                          "2031-11-07T21:14:00Z)"));

  internal::AmdExtensions ext = internal::ReadAmdExtensions(set->leaf.get());
  EXPECT_THAT(ext.errors, IsEmpty());
  EXPECT_EQ(ext.product_name, "Turin");
  EXPECT_EQ(ext.fmc_spl, 0);
  EXPECT_EQ(ext.bl_spl, 0);
  EXPECT_EQ(ext.tee_spl, 0);
  EXPECT_EQ(ext.snp_spl, 0);
  EXPECT_EQ(ext.ucode_spl, 9);
  ASSERT_TRUE(ext.hwid.has_value());
  EXPECT_EQ(Hex(*ext.hwid), "1e550a8ee5cf9f4d");  // Turin identifies chips by 8 bytes
  EXPECT_EQ(internal::AmdProductFromCert(set->leaf.get(), ext), "Turin");
}

TEST(SnpVectorsTest, OneVerifierServesManyThreads) {
  std::unique_ptr<Verifier> v = NewSnpVerifier(ShippedAnchors());
  const Evidence good = SnpEvidence("virtee-milan/report.bin", "virtee-milan/vcek.der");
  const Evidence bad =
      SnpEvidence("trustee-milan/report.bin", "trustee-milan/vcek-invalid-legacy.der");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        bool expect_valid = (i + t) % 2 == 0;
        Verdict verdict = v->Verify(expect_valid ? good : bad, kNow);
        if (verdict.valid != expect_valid || (!expect_valid && verdict.reasons.size() != 5))
          ++wrong;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(SnpVectorsTest, ShippedRootsHaveTheManifestFingerprints) {
  // Fingerprints (SHA-256 of the DER) from attestation/roots/README.md; prefixes and suffixes from
  // MANIFEST.md.
  const std::pair<const char*, const char*> kRoots[] = {
      {"amd_ark_milan.pem", "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"},
      {"amd_ark_genoa.pem", "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"},
      {"amd_ark_turin.pem", "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"},
      {"intel_sgx_root_ca.pem", "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"},
      {"nvidia_device_identity_ca.pem",
       "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48"},
      {"nvidia_corim_signing_root_ca.pem",
       "12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1"},
  };
  for (const auto& [file, fp] : kRoots) {
    std::string pem = testing::ReadTestFile(testing::SourceDir() + "/attestation/roots/" + file);
    absl::StatusOr<crypto::SslPtr<X509>> cert = internal::ParsePemCertificate(pem);
    ASSERT_TRUE(cert.ok()) << file;
    unsigned char* der = nullptr;
    int n = i2d_X509(cert->get(), &der);
    std::string d(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
    EXPECT_EQ(Hex(crypto::Sha256(d)), fp) << file;
    // And byte-identical to the shared copy.
    EXPECT_EQ(pem, Roots(file)) << file;
  }
}

}  // namespace
}  // namespace triad::attestation
