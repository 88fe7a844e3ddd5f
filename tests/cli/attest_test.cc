// `triad attest verify`, run as the real binary on the shared evidence.
#include <string>

#include "attestation/evidence_document.h"
#include "attestation/evidence_verifier.h"
#include "attestation/sim.h"
#include "base/encoding.h"
#include "crypto/ed25519.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"

namespace triad {
namespace {

using ::testing::HasSubstr;

std::string Snp(const std::string& rel) {
  return testing::TestdataDir() + "/attestation/snp/" + rel;
}

std::string Verify(const std::string& args) {
  return testing::TriadBinary() + " attest verify " + args;
}

nlohmann::json Json(const std::string& out) {
  nlohmann::json j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << out;
  return j;
}

const char kFixedNow[] = " --now 2025-06-01T00:00:00Z";

TEST(AttestVerifyTest, ManifestVectorsAreValidAtTheirFixedTime) {
  const std::pair<const char*, const char*> kVectors[] = {
      {"gsg-milan/report.bin", "gsg-milan/vcek.der"},
      {"virtee-milan/report.bin", "virtee-milan/vcek.der"},
      {"trustee-milan/report.bin", "trustee-milan/vcek.der"},
      {"trustee-milan-vlek/report.bin", "trustee-milan-vlek/vlek.der"},
      {"azure-genoa-hcl/report.bin", "azure-genoa-hcl/vcek.pem"},
  };
  for (const auto& [report, certs] : kVectors) {
    std::string out;
    ASSERT_EQ(testing::RunCommand(Verify("--format sev-snp --evidence " + Snp(report) +
                                         " --certs " + Snp(certs) + kFixedNow + " --json"),
                                  &out),
              0)
        << report << "\n"
        << out;
    nlohmann::json j = Json(out);
    EXPECT_EQ(j["verdict"], "valid");
    EXPECT_EQ(j["tee"], "sev-snp");
    EXPECT_EQ(j["reasons"], nlohmann::json::array());
    EXPECT_EQ(j["claims"]["tee"], "sev-snp");
    EXPECT_EQ(j["claims"]["tcb_status"], "");  // SNP has no status list
    EXPECT_EQ(j["claims"]["snp"]["crl_checked"], false);
  }
  std::string out;
  ASSERT_EQ(
      testing::RunCommand(Verify("--format sev-snp --evidence " + Snp("gsg-milan/report.bin") +
                                 " --certs " + Snp("gsg-milan/vcek.der") + kFixedNow + " --json"),
                          &out),
      0);
  nlohmann::json j = Json(out);
  // MANIFEST: policy 0xb0000 has the DEBUG bit; report_data 01 02 03 04 05 00..; TCB bl 2 tee 0 snp
  // 5 ucode 68.
  EXPECT_EQ(j["claims"]["debug"], true);
  EXPECT_EQ(j["claims"]["report_data"], "0102030405" + std::string(118, '0'));
  EXPECT_EQ(j["claims"]["snp"]["policy"], 0xb0000);
  EXPECT_EQ(
      j["claims"]["snp"]["reported_tcb"],
      nlohmann::json({{"bootloader", 2}, {"tee", 0}, {"snp", 5}, {"microcode", 68}, {"fmc", 0}}));
  EXPECT_EQ(j["claims"]["snp"]["product"], "Milan");
}

TEST(AttestVerifyTest, TextOutput) {
  std::string out;
  ASSERT_EQ(
      testing::RunCommand(Verify("--format sev-snp --evidence " + Snp("virtee-milan/report.bin") +
                                 " --certs " + Snp("virtee-milan/vcek.der") + kFixedNow),
                          &out),
      0);
  EXPECT_THAT(
      out,
      HasSubstr("verdict: valid\ntee: sev-snp\nmeasurement: 7a1e5c266c0108dbc9bb94fa9269513209"));
  EXPECT_THAT(
      out,
      HasSubstr(
          "snp: version 2, Milan, signed by vcek, policy 0x30000, vmpl 0, reported_tcb bl 3 tee 0 "
          "snp 8 ucode 115 fmc 0\n"));
  // What was verified, not a status SNP does not have.
  EXPECT_THAT(out, HasSubstr("tcb: bl 3 tee 0 snp 8 ucode 115 fmc 0 (certified by the vcek; SNP "
                             "has no TCB status: a policy's min_tcb says whether it is enough)\n"
                             "amd crl: not checked\n"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("UpToDate")));
}

TEST(AttestVerifyTest, InvalidEvidenceExitsOneWithEveryReason) {
  std::string out;
  EXPECT_EQ(
      testing::RunCommand(
          Verify("--format sev-snp --evidence " + Snp("trustee-milan/report.bin") + " --certs " +
                 Snp("trustee-milan/vcek-invalid-new.der") + kFixedNow + " --json 2>/dev/null"),
          &out),
      1);
  nlohmann::json j = Json(out);
  EXPECT_EQ(j["verdict"], "invalid");
  EXPECT_EQ(j["claims"], nlohmann::json::object());
  EXPECT_EQ(j["reasons"],
            nlohmann::json({"VCEK certificate signature does not verify under its issuer SEV-Milan",
                            "report signature does not verify with the VCEK public key",
                            "VCEK blSPL 0 does not match REPORTED_TCB boot loader SVN 3",
                            "VCEK snpSPL 0 does not match REPORTED_TCB SNP SVN 8",
                            "VCEK ucodeSPL 30 does not match REPORTED_TCB microcode SVN 115",
                            "VCEK hwID does not match the report's CHIP_ID"}));

  // The VLEK one day after it expired.
  EXPECT_EQ(
      testing::RunCommand(
          Verify("--format sev-snp --evidence " + Snp("trustee-milan-vlek/report.bin") +
                 " --certs " + Snp("trustee-milan-vlek/vlek.der") + " --now 2025-12-11T22:14:21Z"),
          &out),
      1);
  EXPECT_THAT(out, HasSubstr("verdict: invalid\ntee: sev-snp\nreason: VLEK certificate expired at "
                             "2025-12-10T22:14:21Z "
                             "(verification time 2025-12-11T22:14:21Z)\n"));
  EXPECT_THAT(out, HasSubstr("triad: the sev-snp evidence does not verify\n"));

  // No certificate at all.
  EXPECT_EQ(testing::RunCommand(
                Verify("--format sev-snp --evidence " + Snp("gsg-milan/report.bin")), &out),
            1);
  EXPECT_THAT(out, HasSubstr("reason: no VCEK or VLEK certificate was supplied with the report\n"));
}

TEST(AttestVerifyTest, ReportDataMustMatchWhenGiven) {
  std::string base =
      Verify("--format sev-snp --evidence " + Snp("gsg-milan/report.bin") + " --certs " +
             Snp("gsg-milan/vcek.der") + kFixedNow + " --json --report-data ");
  std::string out;
  EXPECT_EQ(testing::RunCommand(base + "0102030405" + std::string(118, '0'), &out), 0) << out;
  EXPECT_EQ(testing::RunCommand(base + "0102030406" + std::string(118, '0'), &out), 1) << out;
  nlohmann::json j = Json(out);
  ASSERT_EQ(j["reasons"].size(), 1u);
  EXPECT_EQ(j["reasons"][0],
            "--report-data: report data does not bind this admission (nonce, job id, Ed25519 key, "
            "age recipient): "
            "expected 0102030406" +
                std::string(118, '0') + ", evidence carries 0102030405" + std::string(118, '0'));
}

TEST(AttestVerifyTest, UsageErrorsExitTwo) {
  std::string ev = " --evidence " + Snp("gsg-milan/report.bin");
  std::string out;
  EXPECT_EQ(testing::RunCommand(Verify("--format sev-snp"), &out), 2) << out;
  EXPECT_EQ(testing::RunCommand(Verify("--format sgx" + ev), &out), 2) << out;
  EXPECT_EQ(testing::RunCommand(Verify("--format sim" + ev + " --certs x"), &out), 2);
  EXPECT_THAT(out, HasSubstr("--certs is for --format sev-snp and nvidia-gpu only"));
  EXPECT_EQ(testing::RunCommand(Verify("--format sim" + ev + " --collateral x"), &out), 2);
  EXPECT_THAT(out, HasSubstr("--collateral is for --format tdx (collateral JSON) and sev-snp (AMD "
                             "CRLs) only"));
  EXPECT_EQ(testing::RunCommand(Verify("--format sev-snp" + ev + " --rim x"), &out), 2);
  EXPECT_THAT(out, HasSubstr("--rim and --ocsp are for --format nvidia-gpu only"));
  EXPECT_EQ(testing::RunCommand(Verify("--format sev-snp" + ev + " --now yesterday"), &out), 2);
  EXPECT_THAT(out, HasSubstr("triad: --now: \"yesterday\" is not an RFC 3339 time"));
  EXPECT_EQ(testing::RunCommand(Verify("--format sev-snp" + ev + " --report-data abcd"), &out), 2);
  EXPECT_THAT(out, HasSubstr("--report-data must be 64 bytes in hex (128 hex digits)"));
  EXPECT_EQ(testing::RunCommand(testing::TriadBinary() + " attest", &out), 2);
}

TEST(AttestVerifyTest, IoFailuresExitOne) {
  std::string out;
  EXPECT_EQ(
      testing::RunCommand(Verify("--format sev-snp --evidence /nonexistent/report.bin"), &out), 1);
  EXPECT_EQ(
      out,
      "triad: reading --evidence: opening /nonexistent/report.bin: No such file or directory\n");
  EXPECT_EQ(testing::RunCommand(Verify("--format sev-snp --evidence " +
                                       Snp("gsg-milan/report.bin") + " --roots /nonexistent/roots"),
                                &out),
            1);
  EXPECT_EQ(out,
            "triad: loading the trust anchors (--roots): trust anchor directory /nonexistent/roots "
            "does not exist\n");
}

TEST(AttestVerifyTest, RootsDefaultAndOverride) {
  testing::TempDir empty;
  std::string args = "--format sev-snp --evidence " + Snp("gsg-milan/report.bin") + " --certs " +
                     Snp("gsg-milan/vcek.der") + kFixedNow;
  std::string out;
  // $TRIAD_ROOTS_DIR replaces the shipped roots; --roots replaces both.
  EXPECT_EQ(testing::RunCommand("TRIAD_ROOTS_DIR=" + empty.path() + " " + Verify(args), &out), 1);
  EXPECT_THAT(out, HasSubstr("reason: no pinned ARK for Milan in the trust anchors\n"));
  EXPECT_EQ(testing::RunCommand("TRIAD_ROOTS_DIR=" + empty.path() + " " + Verify(args) +
                                    " --roots " + testing::SourceDir() + "/attestation/roots",
                                &out),
            0)
      << out;
}

TEST(AttestVerifyTest, SimEvidence) {
  testing::TempDir dir;
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  testing::WriteTestFile(dir.File("sim_dev.pub.pem"), key.public_key().ToPem());
  attestation::SimEvidenceFields f{std::string(64, '\x01'), std::string(48, '\x02'), "UpToDate",
                                   false};
  absl::StatusOr<std::string> ev = attestation::MakeSimEvidence(key, f);
  ASSERT_TRUE(ev.ok());
  testing::WriteTestFile(dir.File("sim.bin"), *ev);
  std::string out;
  EXPECT_EQ(testing::RunCommand(
                Verify("--format sim --evidence " + dir.File("sim.bin") + " --roots " + dir.path()),
                &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("verdict: valid\ntee: sim\nSIMULATED: no hardware protection\n"));
  // The shipped roots trust no simulation key.
  EXPECT_EQ(testing::RunCommand(Verify("--format sim --evidence " + dir.File("sim.bin")), &out), 1);
  EXPECT_THAT(out,
              HasSubstr("reason: sim evidence is signed by simulation key " +
                        key.public_key().KeyId() + ", which is not among the trusted sim keys\n"));
  // Sim evidence is never SNP evidence.
  EXPECT_EQ(testing::RunCommand(Verify("--format sev-snp --evidence " + dir.File("sim.bin") +
                                       " --roots " + dir.path()),
                                &out),
            1);
  EXPECT_THAT(out,
              HasSubstr("reason: this is Triad sim evidence, not an SEV-SNP attestation report\n"));
}

TEST(AttestVerifyTest, TdxIsDispatched) {
  std::string out;
  std::string dir = testing::TestdataDir() + "/attestation/tdx/dcapqvl-v4-b0c06f/";
  int rc = testing::RunCommand(
      Verify("--format tdx --evidence " + dir + "quote.bin --collateral " + dir +
             "collateral.json --now 2025-07-01T00:00:00Z --json 2>/dev/null"),
      &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(Json(out)["claims"]["tee"], "tdx") << out;
}

// --format nvidia-gpu with --rim and --ocsp: NVIDIA's reference measurements checked offline.
TEST(AttestVerifyTest, NvidiaGpuRimsAndOcsp) {
  const std::string dir = testing::TestdataDir() + "/attestation/nvidia/nas-h100-535.86.09/";
  const std::string base = Verify("--format nvidia-gpu --evidence " + dir + "report.hex --certs " +
                                  dir + "cert_chain.pem" + kFixedNow);
  std::string out;
  ASSERT_EQ(testing::RunCommand(
                base + " --rim " + dir + "vbios_rim_1010_0200_882_96005E0001.swidtag", &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("rim: vbios 96.00.5E.00.01 signed by \"HCC RIM L4 Signer\", every "
                             "active measurement matches, OCSP not checked\n"));
  EXPECT_THAT(out, HasSubstr("measurements: 64 blocks, only partly compared (a driver and a VBIOS "
                             "RIM are needed)\n"));
  EXPECT_THAT(out, HasSubstr("device revocation (OCSP): not checked\n"));
  // The mismatching VBIOS RIM, and the tampered driver RIM: each refused with its reason.
  EXPECT_EQ(testing::RunCommand(
                base + " --rim " + dir + "vbios_rim_96005E0001_measurement_mismatch.xml", &out),
            1);
  EXPECT_THAT(out, HasSubstr("reason: VBIOS RIM 96.00.5E.00.01: measurement index 9 (block 10) is "
                             "7f3e9382785513c1…, the RIM allows 059b32e712a153f4…\n"));
  EXPECT_EQ(testing::RunCommand(
                base + " --rim " + dir + "driver_rim_535.86.09_measurement_mismatch.xml", &out),
            1);
  EXPECT_THAT(out, HasSubstr("reason: driver RIM 535.86.09: RIM signature does not verify with the "
                             "key of \"HCC RIM L4 Signer\"\n"));
  // An OCSP file that is not an OCSP response.
  EXPECT_EQ(testing::RunCommand(base + " --ocsp " + dir + "cert_chain.pem", &out), 1);
  EXPECT_THAT(out, HasSubstr("reason: OCSP response 1: not one DER OCSPResponse\n"));
  // Without a RIM: the text says the measurements were not compared.
  ASSERT_EQ(testing::RunCommand(base, &out), 0);
  EXPECT_THAT(out, HasSubstr("measurements: 64 blocks, not compared (no RIM given: --rim)\n"));
}

// The CoCo H100 report, padded: valid, and the padding is shown.
TEST(AttestVerifyTest, NvidiaGpuReportWithPadding) {
  const std::string dir = testing::TestdataDir() + "/attestation/nvidia/trustee-coco-h100/";
  std::string out;
  ASSERT_EQ(testing::RunCommand(Verify("--format nvidia-gpu --evidence " + dir +
                                       "report.hex --certs " + dir + "cert_chain.pem" + kFixedNow),
                                &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("padding: 1 zero bytes after the signature (not signed)\n"));
  EXPECT_THAT(out, HasSubstr("chip: GH100 (hopper)\n"));
}

// --format document: an evidence document as admissions record it, CPU evidence and GPUs.
TEST(AttestVerifyTest, EvidenceDocuments) {
  testing::TempDir dir;
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  testing::WriteTestFile(dir.File("sim_dev.pub.pem"), key.public_key().ToPem());
  absl::StatusOr<std::string> sim = attestation::MakeSimEvidence(
      key, {std::string(64, '\x01'), std::string(48, '\x02'), "UpToDate", false});
  ASSERT_TRUE(sim.ok());
  attestation::Evidence ev;
  ev.tee = "sim";
  ev.report = *sim;
  testing::WriteTestFile(dir.File("ev.json"), attestation::EvidenceDocument(ev));
  std::string out;
  ASSERT_EQ(testing::RunCommand(Verify("--format document --evidence " + dir.File("ev.json") +
                                       " --roots " + dir.path() + " --json"),
                                &out),
            0)
      << out;
  EXPECT_EQ(Json(out)["tee"], "sim");
  // A document whose GPU part is broken: every reason, the GPU named.
  ev.gpus.push_back({"GPU-1", "not a report", "", {}, {}});
  ev.gpu_cc = contracts::GpuCcState{};
  testing::WriteTestFile(dir.File("gpu.json"), attestation::EvidenceDocument(ev));
  EXPECT_EQ(testing::RunCommand(Verify("--format document --evidence " + dir.File("gpu.json") +
                                       " --roots " + dir.path()),
                                &out),
            1);
  EXPECT_THAT(out, HasSubstr("reason: GPU 0 (GPU-1): SPDM report: 12 bytes, shorter than the "
                             "37-byte GET_MEASUREMENTS request\n"));
  // Not a document.
  EXPECT_EQ(testing::RunCommand(Verify("--format document --evidence " + dir.File("sim_dev.pub.pem")),
                                &out),
            1);
  EXPECT_THAT(out, HasSubstr("--evidence: evidence document: JSON: "));
}

// --format nvidia-gpu: the report as NVIDIA's tools write it (hex), its chain, the nonce.
TEST(AttestVerifyTest, NvidiaGpuReports) {
  const std::string dir = testing::TestdataDir() + "/attestation/nvidia/";
  const std::string h100 = " --evidence " + dir + "nvtrust-h100-550.90.07/report.hex --certs " +
                           dir + "nvtrust-h100-550.90.07/cert_chain.pem";
  const std::string nonce = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";
  std::string out;
  ASSERT_EQ(testing::RunCommand(Verify("--format nvidia-gpu" + h100 + " --nonce " + nonce +
                                       " --json"),
                                &out),
            0)
      << out;
  nlohmann::json j = Json(out);
  EXPECT_EQ(j["verdict"], "valid");
  EXPECT_EQ(j["tee"], "nvidia-gpu");
  EXPECT_EQ(j["claims"]["nonce"], nonce);
  EXPECT_EQ(j["claims"]["driver_version"], "550.90.07");
  EXPECT_EQ(j["claims"]["vbios_version"], "96.00.9F.00.01");
  EXPECT_EQ(j["claims"]["fwid_bound"], true);
  EXPECT_EQ(j["claims"]["measurements"].size(), 64u);

  // Another nonce than the one the verifier asked for: invalid, exit 1.
  const std::string other(64, 'a');
  EXPECT_EQ(testing::RunCommand(Verify("--format nvidia-gpu" + h100 + " --nonce " + other), &out),
            1);
  EXPECT_THAT(out, HasSubstr("reason: --nonce: the report's nonce is " + nonce +
                             ", not the expected " + other + "\n"));
  // A chain without the device certificate: invalid, with the reason.
  EXPECT_EQ(testing::RunCommand(
                Verify("--format nvidia-gpu --evidence " + dir +
                       "nvtrust-h100-550.90.07/report.hex --certs " + dir +
                       "trustee-bad-chains/hopper_cert_chain_case4.pem"),
                &out),
            1);
  EXPECT_THAT(out, HasSubstr("reason: GPU certificate chain: the first certificate \"GH100 A01 "
                             "GSP BROM\" is a CA certificate, not the GPU's device certificate\n"));
  // Usage: a chain is needed, the nonce is 32 bytes, --nonce is for GPU reports only.
  EXPECT_EQ(testing::RunCommand(Verify("--format nvidia-gpu --evidence " + dir +
                                       "nvtrust-h100-550.90.07/report.hex"),
                                &out),
            2);
  EXPECT_EQ(testing::RunCommand(Verify("--format nvidia-gpu" + h100 + " --nonce 00"), &out), 2);
  EXPECT_EQ(testing::RunCommand(Verify("--format sev-snp --evidence " +
                                       Snp("virtee-milan/report.bin") + " --nonce " + nonce),
                                &out),
            2);
}

}  // namespace
}  // namespace triad
