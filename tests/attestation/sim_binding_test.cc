// The sim TEE (evidence format, verifier, attester), the binding helper, the dispatch and trust
// anchor loading.
#include <sys/stat.h>

#include <string>

#include "attestation/attester.h"
#include "attestation/binding.h"
#include "attestation/evidence_verifier.h"
#include "attestation/internal/sim_evidence.h"
#include "attestation/roots.h"
#include "attestation/sim.h"
#include "attestation/snp.h"
#include "base/encoding.h"
#include "crypto/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::attestation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1748736000);

std::string Bytes(char c, size_t n) { return std::string(n, c); }

struct SimSetup {
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  TrustAnchors anchors;
  SimSetup() { anchors.sim_keys.push_back(key.public_key()); }
};

TEST(SimTest, RoundTripThroughTheAttesterAndVerifier) {
  SimSetup s;
  testing::TempDir dir;
  std::string exe = dir.File("worker");
  testing::WriteTestFile(exe, "pretend worker binary", 0755);
  SimAttesterOptions opts;
  opts.executable = exe;
  absl::StatusOr<std::unique_ptr<Attester>> a =
      NewSimAttester(*crypto::Ed25519PrivateKey::FromPem(s.key.ToPem()), opts);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->tee(), "sim");
  absl::StatusOr<Evidence> ev = (*a)->Attest(Bytes('\x5c', 64));
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->tee, "sim");
  EXPECT_EQ(ev->report.size(), 272u);
  EXPECT_EQ(ev->report.substr(0, 8), "TRIADSIM");

  Verdict v = NewSimVerifier(s.anchors)->Verify(*ev, kNow);
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.tee, "sim");
  EXPECT_TRUE(v.claims.simulated());
  EXPECT_EQ(v.claims.report_data, Bytes('\x5c', 64));
  // The measurement is SHA-384 of the executable, as `sha384sum` computes it.
  std::string out;
  ASSERT_EQ(testing::RunCommand("sha384sum " + exe + " | cut -c1-96", &out), 0);
  EXPECT_EQ(base::HexEncode(v.claims.measurement) + "\n", out);
  EXPECT_FALSE(v.claims.debug);
  EXPECT_EQ(v.claims.tcb_status, "UpToDate");
  ASSERT_TRUE(v.claims.sim.has_value());
  EXPECT_EQ(v.claims.sim->signer_key_id, s.key.public_key().KeyId());
  EXPECT_FALSE(v.claims.snp.has_value());
  EXPECT_EQ(v.claims.platform_id, "");

  EXPECT_EQ((*a)->Attest("short").status().message(), "report data must be 64 bytes, got 5");
}

TEST(SimTest, SelfMeasurementIsOfProcSelfExe) {
  SimSetup s;
  absl::StatusOr<std::unique_ptr<Attester>> a =
      NewSimAttester(crypto::Ed25519PrivateKey::Generate());
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<std::string> m = MeasureExecutable("/proc/self/exe");
  ASSERT_TRUE(m.ok());
  absl::StatusOr<Evidence> ev = (*a)->Attest(Bytes(0, 64));
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->report.substr(0x50, 48), *m);
  EXPECT_EQ(MeasureExecutable("/nonexistent/x").status().message(),
            "opening /nonexistent/x to measure it: No such file or directory");
}

TEST(SimTest, DebugAndTcbStatusAreCarried) {
  SimSetup s;
  SimEvidenceFields f{Bytes(1, 64), Bytes(2, 48), "OutOfDate", true};
  absl::StatusOr<std::string> report = MakeSimEvidence(s.key, f);
  ASSERT_TRUE(report.ok());
  Verdict v = NewSimVerifier(s.anchors)->Verify(Evidence{"sim", *report, "", ""}, kNow);
  ASSERT_TRUE(v.valid);
  EXPECT_TRUE(v.claims.debug);
  EXPECT_EQ(v.claims.tcb_status, "OutOfDate");
  f.tcb_status = "ConfigurationAndSWHardeningNeeded";  // the longest name fits
  EXPECT_TRUE(MakeSimEvidence(s.key, f).ok());
  f.tcb_status = "Fine";
  EXPECT_EQ(MakeSimEvidence(s.key, f).status().message(),
            "\"Fine\" is not a known TCB status name");
  f.tcb_status = "UpToDate";
  f.report_data = "x";
  EXPECT_EQ(MakeSimEvidence(s.key, f).status().message(),
            "sim evidence fields have the wrong sizes");
}

TEST(SimTest, Rejections) {
  SimSetup s;
  absl::StatusOr<std::string> good =
      MakeSimEvidence(s.key, SimEvidenceFields{Bytes(1, 64), Bytes(2, 48)});
  ASSERT_TRUE(good.ok());
  std::unique_ptr<Verifier> v = NewSimVerifier(s.anchors);
  auto reasons = [&](const std::string& report, const std::string& tee = "sim") {
    return v->Verify(Evidence{tee, report, "", ""}, kNow).reasons;
  };
  EXPECT_THAT(reasons(*good), IsEmpty());
  EXPECT_THAT(reasons(*good, "sev-snp"), ElementsAre("evidence is for TEE \"sev-snp\", not sim"));
  EXPECT_THAT(reasons(good->substr(0, 271)),
              ElementsAre("sim evidence is 271 bytes; it is exactly 272"));
  std::string snp = testing::ReadTestFile(testing::TestdataDir() +
                                          "/attestation/snp/gsg-milan/report.bin");
  EXPECT_THAT(
      reasons(snp),
      ElementsAre("evidence is not Triad sim evidence (it does not start with \"TRIADSIM\")"));

  // Every byte matters: the signed part (a field check or the signature fails) and the signature.
  for (size_t i = 0; i < good->size(); ++i) {
    std::string bad = *good;
    bad[i] ^= 0x01;
    EXPECT_THAT(reasons(bad), Not(IsEmpty())) << i;
  }
  std::string bad = *good;
  bad[0x08] = 2;
  EXPECT_THAT(reasons(bad), ElementsAre("sim evidence version 2 is not supported (1)"));
  bad = *good;
  bad[0x0C] = 2;
  EXPECT_THAT(reasons(bad), ElementsAre("sim evidence flags 0x00000002 have unknown bits set"));
  bad = *good;
  bad[0x80 + 20] = 'x';  // after "UpToDate\0"
  EXPECT_THAT(reasons(bad),
              ElementsAre("sim evidence TCB status is not a known status name padded with NULs"));
  bad = *good;
  bad[0x10] ^= 1;  // report data
  EXPECT_THAT(reasons(bad), ElementsAre("sim evidence signature does not verify"));

  // A key the verifier does not trust.
  crypto::Ed25519PrivateKey other = crypto::Ed25519PrivateKey::Generate();
  absl::StatusOr<std::string> foreign =
      MakeSimEvidence(other, SimEvidenceFields{Bytes(1, 64), Bytes(2, 48)});
  EXPECT_THAT(reasons(*foreign),
              ElementsAre("sim evidence is signed by simulation key " + other.public_key().KeyId() +
                          ", which is not among the trusted sim keys"));
  // Certificates or collateral with sim evidence are refused rather than ignored.
  EXPECT_THAT(
      v->Verify(Evidence{"sim", *good, "x", ""}, kNow).reasons,
      ElementsAre("sim evidence carries no certificates or collateral, but some were supplied"));
}

TEST(SimTest, SimNeverVerifiesAsHardwareAndHardwareNeverAsSim) {
  SimSetup s;
  absl::StatusOr<TrustAnchors> real = TrustAnchors::LoadDir(DefaultRootsDir());
  ASSERT_TRUE(real.ok());
  real->sim_keys = s.anchors.sim_keys;
  std::unique_ptr<Verifier> all = NewEvidenceVerifier(*real);
  absl::StatusOr<std::string> sim =
      MakeSimEvidence(s.key, SimEvidenceFields{Bytes(1, 64), Bytes(2, 48)});
  ASSERT_TRUE(sim.ok());
  EXPECT_TRUE(all->Verify(Evidence{"sim", *sim, "", ""}, kNow).valid);
  EXPECT_THAT(all->Verify(Evidence{"sev-snp", *sim, "", ""}, kNow).reasons,
              ElementsAre("this is Triad sim evidence, not an SEV-SNP attestation report"));
  Verdict as_tdx = all->Verify(Evidence{"tdx", *sim, "", ""}, kNow);
  EXPECT_FALSE(as_tdx.valid);
  EXPECT_THAT(as_tdx.reasons, Not(IsEmpty()));

  const std::string dir = testing::TestdataDir() + "/attestation/snp/gsg-milan/";
  Evidence snp{"sev-snp", testing::ReadTestFile(dir + "report.bin"),
               testing::ReadTestFile(dir + "vcek.der"), ""};
  Verdict ok = all->Verify(snp, kNow);
  EXPECT_TRUE(ok.valid);
  EXPECT_EQ(ok.claims.tee, "sev-snp");
  snp.tee = "sim";
  EXPECT_THAT(
      all->Verify(snp, kNow).reasons,
      ElementsAre("evidence is not Triad sim evidence (it does not start with \"TRIADSIM\")"));
}

TEST(DispatchTest, UnknownKindsAndTdx) {
  std::unique_ptr<Verifier> all = NewEvidenceVerifier(TrustAnchors{});
  EXPECT_THAT(all->Verify(Evidence{"sgx", "x", "", ""}, kNow).reasons,
              ElementsAre("unknown TEE kind \"sgx\" (expected sev-snp, tdx or sim)"));
  EXPECT_THAT(all->Verify(Evidence{"", "x", "", ""}, kNow).reasons,
              ElementsAre("unknown TEE kind \"\" (expected sev-snp, tdx or sim)"));
  // "tdx" goes to the TDX verifier, which finds no pinned Intel root here.
  EXPECT_FALSE(all->Verify(Evidence{"tdx", "x", "", ""}, kNow).valid);
  // No anchors: SNP evidence has no pinned root.
  const std::string dir = testing::TestdataDir() + "/attestation/snp/gsg-milan/";
  Evidence snp{"sev-snp", testing::ReadTestFile(dir + "report.bin"),
               testing::ReadTestFile(dir + "vcek.der"), ""};
  EXPECT_THAT(VerifyEvidence(snp, TrustAnchors{}, kNow).reasons,
              ElementsAre("no pinned ARK for Milan in the trust anchors"));
}

// ---- Binding
// ----------------------------------------------------------------------------------------

BindingInputs KatInputs() {
  std::string nonce;
  for (int i = 0; i < 32; ++i) nonce.push_back(static_cast<char>(i));
  // RFC 8032 section 7.1 TEST 1 public key; the age test kit identity's recipient (`age-keygen
  // -y`).
  absl::StatusOr<std::string> raw =
      base::HexDecode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  return BindingInputs{nonce, "job-0001", *crypto::Ed25519PublicKey::FromRaw(*raw),
                       *crypto::age::X25519Recipient::Parse(
                           "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj")};
}

TEST(BindingTest, KnownAnswer) {
  // Computed independently: hashlib.sha512(b"triad/attest/v1" + bytes(range(32)) + b"job-0001" +
  // key + recipient).
  absl::StatusOr<std::string> rd = ExpectedReportData(KatInputs());
  ASSERT_TRUE(rd.ok()) << rd.status();
  EXPECT_EQ(base::HexEncode(*rd),
            "389ba6983a814659870600a06ac04f90bceb4ddf717e5292953d0744385f81fa"
            "d256f32c5d87bdfc1ff85ada9918b79d4250e33e3fc24326fb6ad406ed582e2f");
}

TEST(BindingTest, CheckAcceptsOnlyTheSameInputs) {
  BindingInputs in = KatInputs();
  contracts::Claims c;
  c.report_data = *ExpectedReportData(in);
  EXPECT_TRUE(CheckBinding(c, in).ok());

  std::string expected_hex = base::HexEncode(c.report_data);
  auto mismatch = [&](const BindingInputs& other) {
    absl::Status st = CheckBinding(c, other);
    EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(
        st.message(),
        "report data does not bind this admission (nonce, job id, Ed25519 key, age recipient): "
        "expected " +
            base::HexEncode(*ExpectedReportData(other)) + ", evidence carries " + expected_hex);
  };
  BindingInputs other = in;
  other.nonce[31] ^= 1;
  mismatch(other);
  other = in;
  other.job_id = "job-0002";
  mismatch(other);
  other = in;
  other.key = crypto::Ed25519PrivateKey::Generate().public_key();
  mismatch(other);
  other = in;
  other.recipient = crypto::age::X25519Identity::Generate().recipient();
  mismatch(other);

  contracts::Claims short_rd;
  short_rd.report_data = "abc";
  EXPECT_EQ(CheckBinding(short_rd, in).message(),
            "evidence carries 3 bytes of report data, expected 64");
  other = in;
  other.nonce = "short";
  EXPECT_EQ(CheckBinding(c, other).message(), "attestation nonce must be 32 bytes, got 5");
  other = in;
  other.job_id = "";
  EXPECT_EQ(CheckBinding(c, other).message(), "job id must be 1 to 256 bytes, got 0");
  other.job_id = std::string(257, 'j');
  EXPECT_EQ(CheckBinding(c, other).message(), "job id must be 1 to 256 bytes, got 257");
  EXPECT_EQ(CheckReportData(c, "x").message(), "expected report data must be 64 bytes, got 1");
}

TEST(BindingTest, RoundTripThroughSimEvidence) {
  SimSetup s;
  BindingInputs in = KatInputs();
  absl::StatusOr<std::unique_ptr<Attester>> a =
      NewSimAttester(*crypto::Ed25519PrivateKey::FromPem(s.key.ToPem()));
  ASSERT_TRUE(a.ok());
  absl::StatusOr<Evidence> ev = (*a)->Attest(*ExpectedReportData(in));
  ASSERT_TRUE(ev.ok());
  Verdict v = NewEvidenceVerifier(s.anchors)->Verify(*ev, kNow);
  ASSERT_TRUE(v.valid);
  EXPECT_TRUE(CheckBinding(v.claims, in).ok());
  in.job_id = "another job";
  EXPECT_FALSE(CheckBinding(v.claims, in).ok());
}

// ---- Trust anchors
// ----------------------------------------------------------------------------------

TEST(TrustAnchorsTest, ShippedRootsLoad) {
  absl::StatusOr<TrustAnchors> a =
      TrustAnchors::LoadDir(testing::SourceDir() + "/attestation/roots");
  ASSERT_TRUE(a.ok()) << a.status();
  for (const char* p : {"Milan", "Genoa", "Turin"}) {
    EXPECT_EQ(a->amd_ark.count(p), 1u) << p;
    EXPECT_EQ(a->amd_ask.count(p), 1u) << p;
    EXPECT_EQ(a->amd_asvk.count(p), 1u) << p;
  }
  EXPECT_EQ(a->amd_ark.size(), 3u);
  EXPECT_EQ(a->amd_ark["Milan"],
            testing::ReadTestFile(testing::TestdataDir() +
                                  "/attestation/roots/amd_ark_milan.pem"));
  EXPECT_EQ(a->intel_sgx_root_ca,
            testing::ReadTestFile(testing::TestdataDir() +
                                  "/attestation/roots/intel_sgx_root_ca.pem"));
  EXPECT_THAT(a->sim_keys, IsEmpty());  // no simulation key is ever shipped
}

TEST(TrustAnchorsTest, DefaultDirAndOverride) {
  ::unsetenv(kRootsDirEnv);
  EXPECT_EQ(DefaultRootsDir(), testing::SourceDir() + "/attestation/roots");
  ::setenv(kRootsDirEnv, "/somewhere/else", 1);
  EXPECT_EQ(DefaultRootsDir(), "/somewhere/else");
  ::unsetenv(kRootsDirEnv);
}

TEST(TrustAnchorsTest, SimKeysAndErrors) {
  testing::TempDir dir;
  crypto::Ed25519PrivateKey k = crypto::Ed25519PrivateKey::Generate();
  testing::WriteTestFile(dir.File("sim_dev.pub.pem"), k.public_key().ToPem());
  testing::WriteTestFile(dir.File("README.md"), "not a key");
  absl::StatusOr<TrustAnchors> a = TrustAnchors::LoadDir(dir.path());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->sim_keys.size(), 1u);
  EXPECT_EQ(a->sim_keys[0], k.public_key());
  EXPECT_THAT(a->amd_ark, IsEmpty());

  testing::WriteTestFile(dir.File("amd_ark_milan.pem"), "garbage");
  EXPECT_EQ(TrustAnchors::LoadDir(dir.path()).status().message(),
            dir.File("amd_ark_milan.pem") + ": PEM bundle holds no certificate");
  std::string ark =
      testing::ReadTestFile(testing::SourceDir() + "/attestation/roots/amd_ark_milan.pem");
  testing::WriteTestFile(dir.File("amd_ark_milan.pem"), ark + ark);
  EXPECT_EQ(TrustAnchors::LoadDir(dir.path()).status().message(),
            dir.File("amd_ark_milan.pem") + ": expected one PEM certificate, found 2");
  testing::WriteTestFile(dir.File("amd_ark_milan.pem"), ark);
  testing::WriteTestFile(dir.File("amd_ark_Milan.pem"), ark);
  EXPECT_EQ(TrustAnchors::LoadDir(dir.path()).status().message(),
            dir.File("amd_ark_Milan.pem") +
                ": the product in the file name must be lower-case letters and digits");
  ::unlink(dir.File("amd_ark_Milan.pem").c_str());
  testing::WriteTestFile(dir.File("sim_bad.pub.pem"), ark);
  EXPECT_THAT(std::string(TrustAnchors::LoadDir(dir.path()).status().message()),
              HasSubstr(dir.File("sim_bad.pub.pem") + ": "));
  EXPECT_EQ(TrustAnchors::LoadDir(dir.File("nope")).status().message(),
            "trust anchor directory " + dir.File("nope") + " does not exist");
}

}  // namespace
}  // namespace triad::attestation
