// The NVIDIA GPU report verifier against the real reports and chains in
// testdata/attestation/nvidia (MANIFEST.md gives each verdict), and every way to break
// them: bit flips, truncation, trailing bytes, chains without the device certificate, without an
// intermediate, or of the root alone, an FWID that differs from the certificate's, no pinned root.
#include "attestation/nvidia_gpu.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "attestation/internal/nvidia_rim.h"
#include "attestation/internal/nvidia_spdm.h"
#include "attestation/internal/revocation.h"
#include "base/encoding.h"
#include "contracts/policy.h"
#include "tests/attestation/nvidia_forge.h"
#include "tests/attestation/rim_forge.h"
#include "tests/attestation/snp_forge.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::attestation {
namespace {

std::string Data(const std::string& relative) {
  return testing::ReadTestFile(testing::TestdataDir() + "/attestation/nvidia/" + relative);
}

std::string Report(const std::string& dir) {
  absl::StatusOr<std::string> bytes = GpuReportBytes(Data(dir + "/report.hex"));
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : "";
}

TrustAnchors Pinned() {
  TrustAnchors a;
  a.nvidia_device_identity_ca =
      testing::ReadTestFile(testing::TestdataDir() + "/attestation/roots/" +
                            "nvidia_device_identity_ca.pem");
  a.nvidia_corim_signing_root_ca =
      testing::ReadTestFile(testing::TestdataDir() + "/attestation/roots/" +
                            "nvidia_corim_signing_root_ca.pem");
  return a;
}

// Every certificate is valid until 9999; any time after their issue will do.
const absl::Time kNow = absl::FromUnixSeconds(1751328000);  // 2025-07-01T00:00:00Z

GpuVerdict Verify(const std::string& report, const std::string& chain,
                  const TrustAnchors& anchors = Pinned(), absl::Time now = kNow) {
  return VerifyNvidiaGpuReport(report, chain, anchors, now);
}

struct Expected {
  std::string dir;
  std::string nonce;
  std::string driver;
  std::string vbios;
  std::string chip_sku;
  std::string project;
  std::string project_sku;
  std::string device;
  bool fwid_bound;
};

class GpuVectors : public ::testing::TestWithParam<Expected> {};

TEST_P(GpuVectors, VerifyWithTheirClaims) {
  const Expected& e = GetParam();
  GpuVerdict v = Verify(Report(e.dir), Data(e.dir + "/cert_chain.pem"));
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(base::HexEncode(v.claims.nonce), e.nonce);
  EXPECT_EQ(v.claims.driver_version, e.driver);
  EXPECT_EQ(v.claims.vbios_version, e.vbios);
  EXPECT_EQ(v.claims.chip_sku, e.chip_sku);
  EXPECT_EQ(v.claims.project, e.project);
  EXPECT_EQ(v.claims.project_sku, e.project_sku);
  EXPECT_EQ(v.claims.device_certificate, e.device);
  EXPECT_EQ(v.claims.fwid_bound, e.fwid_bound);
  ASSERT_EQ(v.claims.measurements.size(), 64u);
  for (size_t i = 0; i < 64; ++i) {
    EXPECT_EQ(v.claims.measurements[i].first, static_cast<int>(i + 1));
    EXPECT_EQ(v.claims.measurements[i].second.size(), 48u);
  }
  nlohmann::ordered_json j = v.claims.ToJson();
  EXPECT_EQ(j["driver_version"], e.driver);
  EXPECT_EQ(j["measurements"].size(), 64u);
}

INSTANTIATE_TEST_SUITE_P(
    Manifest, GpuVectors,
    ::testing::Values(
        // Hopper, driver 550: the report's FWID equals the device certificate's.
        Expected{"nvtrust-h100-550.90.07",
                 "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb", "550.90.07",
                 "96.00.9F.00.01", "882", "1010", "0200", "GH100 A01 GSP FMC LF", true},
        // Hopper, driver 535: the report carries no FWID to compare.
        Expected{"nas-h100-535.86.09",
                 "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66", "535.86.09",
                 "96.00.5E.00.01", "882", "1010", "0200", "GH100 A01 GSP FMC LF", false},
        // Blackwell: the device certificate has no DICE TcbInfo extension.
        Expected{"nas-b100-575.32",
                 "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb", "575.32",
                 "97.00.88.00.0F", "886", "G525", "0220", "GB100 A01 GSP FMC LF", false}),
    [](const ::testing::TestParamInfo<Expected>& info) {
      std::string name = info.param.dir;
      for (char& c : name) {
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

// A report whose signature does not verify; its FWID is not the certificate's either.
TEST(GpuReport, InvalidSignature) {
  GpuVerdict v = Verify(Report("nas-h100-invalid-signature"),
                        Data("nas-h100-invalid-signature/cert_chain.pem"));
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.reasons,
            (std::vector<std::string>{
                "the report signature does not verify with the key of \"GH100 A01 GSP FMC LF\"",
                "the report's FWID 87a829120716b55b… is not the one in the device certificate "
                "\"GH100 A01 GSP FMC LF\""}));
}

TEST(GpuReport, BadChains) {
  const std::string report = Report("nvtrust-h100-550.90.07");
  // The root alone.
  EXPECT_EQ(Verify(report, Data("trustee-bad-chains/hopper_cert_chain_case2.pem")).reasons,
            std::vector<std::string>{"GPU certificate chain: it holds only the root; the GPU's "
                                     "device certificate is missing"});
  // The Provisioner ICA missing: no path to the root.
  std::vector<std::string> reasons =
      Verify(report, Data("trustee-bad-chains/hopper_cert_chain_case3.pem")).reasons;
  ASSERT_FALSE(reasons.empty());
  EXPECT_TRUE(absl::StartsWith(reasons[0], "GPU certificate chain: unable to get local issuer "
                                           "certificate (\""))
      << reasons[0];
  // The device certificate missing: the first one is the BROM's CA certificate.
  EXPECT_EQ(Verify(report, Data("trustee-bad-chains/hopper_cert_chain_case4.pem")).reasons,
            std::vector<std::string>{"GPU certificate chain: the first certificate \"GH100 A01 GSP "
                                     "BROM\" is a CA certificate, not the GPU's device "
                                     "certificate"});
  // A chain from another GPU: it verifies, but its key did not sign this report, and its FWID is
  // another firmware's.
  EXPECT_EQ(Verify(report, Data("nas-h100-535.86.09/cert_chain.pem")).reasons,
            (std::vector<std::string>{
                "the report signature does not verify with the key of \"GH100 A01 GSP FMC LF\"",
                "the report's FWID f5c384aebb579217… is not the one in the device certificate "
                "\"GH100 A01 GSP FMC LF\""}));
  // No chain at all.
  EXPECT_EQ(Verify(report, "").reasons,
            std::vector<std::string>{"GPU certificate chain: PEM: no certificate"});
}

TEST(GpuReport, NeedsThePinnedRootAndItsTime) {
  const std::string report = Report("nvtrust-h100-550.90.07");
  const std::string chain = Data("nvtrust-h100-550.90.07/cert_chain.pem");
  EXPECT_EQ(Verify(report, chain, TrustAnchors()).reasons,
            std::vector<std::string>{"no pinned NVIDIA Device Identity CA "
                                     "(nvidia_device_identity_ca.pem in the roots)"});
  // Another root pinned (Intel's): the chain's own copy of NVIDIA's root is then a root that is
  // not the pinned one, and there is no path.
  TrustAnchors intel;
  intel.nvidia_device_identity_ca = testing::ReadTestFile(
      testing::TestdataDir() + "/attestation/roots/intel_sgx_root_ca.pem");
  std::vector<std::string> intel_reasons = Verify(report, chain, intel).reasons;
  ASSERT_EQ(intel_reasons.size(), 2u) << ::testing::PrintToString(intel_reasons);
  EXPECT_EQ(intel_reasons[0],
            "GPU certificate chain: certificate 5 \"NVIDIA Device Identity CA\" is a root that is "
            "not the pinned one");
  EXPECT_EQ(intel_reasons[1],
            "GPU certificate chain: self-signed certificate in certificate chain (\"NVIDIA Device "
            "Identity CA\")");
  // Before the certificates were issued.
  std::vector<std::string> reasons = Verify(report, chain, Pinned(), absl::FromUnixSeconds(0)).reasons;
  ASSERT_FALSE(reasons.empty());
  EXPECT_TRUE(absl::StartsWith(reasons[0], "GPU certificate chain: certificate is not yet valid"))
      << reasons[0];
}

TEST(GpuReport, EveryFlippedByteOfTheSignedPartFails) {
  const std::string report = Report("nvtrust-h100-550.90.07");
  const std::string chain = Data("nvtrust-h100-550.90.07/cert_chain.pem");
  auto parsed = internal::ParseSpdmReport(report);
  ASSERT_TRUE(parsed.ok());
  const size_t signed_size = parsed->signed_part.size();
  const std::string sig_reason =
      "the report signature does not verify with the key of \"GH100 A01 GSP FMC LF\"";
  for (size_t i = 0; i < report.size(); i += (i < signed_size ? 7 : 1)) {
    std::string bad = report;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    GpuVerdict v = Verify(bad, chain);
    EXPECT_FALSE(v.valid) << "byte " << i;
    ASSERT_FALSE(v.reasons.empty()) << "byte " << i;
    // A flip that still parses is caught by the signature; one that does not, by the parser.
    if (internal::ParseSpdmReport(bad).ok()) {
      EXPECT_NE(std::find(v.reasons.begin(), v.reasons.end(), sig_reason), v.reasons.end())
          << "byte " << i << ": " << ::testing::PrintToString(v.reasons);
    } else {
      EXPECT_TRUE(absl::StartsWith(v.reasons[0], "SPDM report: ")) << "byte " << i;
    }
  }
}

TEST(GpuReport, AnFwidThatIsNotTheCertificatesFails) {
  const std::string report = Report("nvtrust-h100-550.90.07");
  auto parsed = internal::ParseSpdmReport(report);
  ASSERT_TRUE(parsed.ok());
  const std::string* fwid = parsed->Opaque(internal::kOpaqueFwid);
  ASSERT_NE(fwid, nullptr);
  size_t at = report.find(*fwid);
  ASSERT_NE(at, std::string::npos);
  std::string bad = report;
  bad[at + 47] = static_cast<char>(bad[at + 47] ^ 0x80);
  EXPECT_EQ(Verify(bad, Data("nvtrust-h100-550.90.07/cert_chain.pem")).reasons,
            (std::vector<std::string>{
                "the report signature does not verify with the key of \"GH100 A01 GSP FMC LF\"",
                "the report's FWID " + base::HexEncode(fwid->substr(0, 8)) +
                    "… is not the one in the device certificate \"GH100 A01 GSP FMC LF\""}));
}

TEST(GpuReport, MalformedReportsSayWhy) {
  const std::string report = Report("nvtrust-h100-550.90.07");
  auto reason = [](const std::string& bytes) {
    GpuVerdict v = Verify(bytes, Data("nvtrust-h100-550.90.07/cert_chain.pem"));
    EXPECT_FALSE(v.valid);
    return v.reasons.empty() ? std::string() : v.reasons[0];
  };
  EXPECT_EQ(reason(report + "x"), "SPDM report: 1 byte follows the signature and not all are zero");
  EXPECT_EQ(reason(report + std::string(3, '\0') + "\x01"),
            "SPDM report: 4 bytes follow the signature and not all are zero");
  EXPECT_EQ(reason(report.substr(0, report.size() - 1)),
            "SPDM report: the signature is truncated: 95 of 96 bytes");
  EXPECT_EQ(reason(report.substr(0, 20)),
            "SPDM report: 20 bytes, shorter than the 37-byte GET_MEASUREMENTS request");
  EXPECT_EQ(reason(report.substr(0, 40)),
            "SPDM report: the MEASUREMENTS response header is truncated");
  std::string wrong = report;
  wrong[1] = 0x61;
  EXPECT_EQ(reason(wrong), "SPDM report: the request code is 0x61, not GET_MEASUREMENTS (0xe0)");
  wrong = report;
  wrong[37] = 0x12;
  EXPECT_EQ(reason(wrong), "SPDM report: the response is SPDM version 0x12, the request 0x11");
  wrong = report;
  wrong[37 + 4] = 63;  // announces 63 blocks, holds 64
  EXPECT_EQ(reason(wrong),
            "SPDM report: the response announces 63 measurement blocks; the record holds 64");
  wrong = report;
  wrong[37 + 8 + 1] = 2;  // the first block's specification
  EXPECT_EQ(reason(wrong),
            "SPDM report: measurement block 1: specification 0x02 is not DMTF (0x01)");
  wrong = report;
  wrong[2] = 0x00;  // no signature asked for
  EXPECT_EQ(reason(wrong), "the GET_MEASUREMENTS request did not ask for a signature");
  EXPECT_EQ(reason(std::string(internal::kMaxGpuReportSize + 1, '\x11')),
            "SPDM report: 65537 bytes, more than 65536");
}

TEST(GpuReport, FileFormats) {
  const std::string hex = Data("nvtrust-h100-550.90.07/report.hex");
  absl::StatusOr<std::string> bytes = GpuReportBytes("\n " + hex + "\n");
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), hex.size() / 2);
  // Binary passes through as it is.
  EXPECT_EQ(*GpuReportBytes(*bytes), *bytes);
  EXPECT_EQ(GpuReportBytes(hex.substr(1)).status().message(),
            "the GPU report is hex text of odd length (8233 digits)");
}

// The H100 report the Confidential Containers stack hands to its verifier: one zero byte follows
// the signature. NVIDIA's verifier and Trustee accept it, and so does Triad, saying so.
TEST(GpuReport, CocoReportWithPaddingVerifies) {
  GpuVerdict v = Verify(Report("trustee-coco-h100"), Data("trustee-coco-h100/cert_chain.pem"));
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.trailing_zero_bytes, 1u);
  EXPECT_EQ(base::HexEncode(v.claims.nonce),
            "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec");
  EXPECT_EQ(v.claims.driver_version, "580.95.05");
  EXPECT_EQ(v.claims.vbios_version, "96.00.74.00.1A");
  EXPECT_EQ(v.claims.chip, "GH100");
  EXPECT_EQ(v.claims.architecture, "hopper");
  EXPECT_TRUE(v.claims.fwid_bound);
  EXPECT_EQ(v.claims.ToJson()["trailing_zero_bytes"], 1);
}

// Both shapes of one report: without padding, and with zero padding of any length; the claims are
// the same but for the padding, which is outside the signature.
TEST(GpuReport, ZeroPaddingAfterTheSignatureIsAcceptedAndReported) {
  const std::string report = Report("nvtrust-h100-550.90.07");
  const std::string chain = Data("nvtrust-h100-550.90.07/cert_chain.pem");
  GpuVerdict bare = Verify(report, chain);
  ASSERT_TRUE(bare.valid);
  EXPECT_EQ(bare.claims.trailing_zero_bytes, 0u);
  for (size_t pad : {1u, 3u, 4096u}) {
    GpuVerdict padded = Verify(report + std::string(pad, '\0'), chain);
    ASSERT_TRUE(padded.valid) << pad;
    EXPECT_EQ(padded.claims.trailing_zero_bytes, pad);
    EXPECT_EQ(padded.claims.measurements, bare.claims.measurements);
    EXPECT_EQ(padded.claims.nonce, bare.claims.nonce);
  }
  // The CoCo report without its padding is still the same, valid report.
  std::string coco = Report("trustee-coco-h100");
  coco.pop_back();
  GpuVerdict unpadded = Verify(coco, Data("trustee-coco-h100/cert_chain.pem"));
  ASSERT_TRUE(unpadded.valid);
  EXPECT_EQ(unpadded.claims.trailing_zero_bytes, 0u);
}

TEST(GpuReport, ClaimsNameTheChipAndTheDevice) {
  GpuVerdict h = Verify(Report("nvtrust-h100-550.90.07"), Data("nvtrust-h100-550.90.07/cert_chain.pem"));
  GpuVerdict b = Verify(Report("nas-b100-575.32"), Data("nas-b100-575.32/cert_chain.pem"));
  ASSERT_TRUE(h.valid && b.valid);
  EXPECT_EQ(h.claims.chip, "GH100");
  EXPECT_EQ(h.claims.architecture, "hopper");
  EXPECT_EQ(b.claims.chip, "GB100");
  EXPECT_EQ(b.claims.architecture, "blackwell");
  EXPECT_EQ(h.claims.device_id.size(), 32u);
  EXPECT_NE(h.claims.device_id, b.claims.device_id);
  EXPECT_EQ(h.claims.report_digest.size(), 48u);
  EXPECT_EQ(h.claims.device_revocation, "not checked");
  EXPECT_TRUE(h.claims.rims.empty());
  EXPECT_FALSE(h.claims.measurements_match);
}

// ---- RIMs (NVIDIA's reference measurements), the real ones of testdata/attestation/nvidia.

// Inside the validity of the VBIOS RIM's signer (2023-06-23..2025-06-22) and of the 535.86.09
// driver RIM's (from 2025-05-24).
const absl::Time kRimTime = absl::FromUnixSeconds(1748736000);  // 2025-06-01T00:00:00Z
const char kVbiosRim[] = "nas-h100-535.86.09/vbios_rim_1010_0200_882_96005E0001.swidtag";
const char kVbiosRimMismatch[] = "nas-h100-535.86.09/vbios_rim_96005E0001_measurement_mismatch.xml";
const char kDriverRimTampered[] = "nas-h100-535.86.09/driver_rim_535.86.09_measurement_mismatch.xml";

GpuVerdict VerifyNas(const std::vector<std::string>& rims, absl::Time now = kRimTime) {
  GpuCollateral collateral;
  for (const std::string& r : rims) collateral.rims.push_back(Data(r));
  return VerifyNvidiaGpu(Report("nas-h100-535.86.09"), Data("nas-h100-535.86.09/cert_chain.pem"),
                         collateral, Pinned(), now);
}

TEST(GpuRim, TheVbiosRimMatchesEveryActiveMeasurement) {
  GpuVerdict v = VerifyNas({kVbiosRim});
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  ASSERT_EQ(v.claims.rims.size(), 1u);
  const contracts::GpuRimClaims& r = v.claims.rims[0];
  EXPECT_EQ(r.kind, "vbios");
  EXPECT_EQ(r.version, "96.00.5E.00.01");
  EXPECT_EQ(r.signer, "HCC RIM L4 Signer");
  EXPECT_EQ(r.revocation, "not checked");
  EXPECT_EQ(r.tag_id,
            "560b6686b372407d02dea1bd3bcedf3865fff39a281705348b27edd21e5f32c6541642eb5db0a494a2488"
            "4d60b009cfe");
  // Only the VBIOS's half of the reference values: no driver RIM, so not all measurements.
  EXPECT_FALSE(v.claims.measurements_match);
}

TEST(GpuRim, AMismatchingVbiosRimIsRefusedAtItsIndex) {
  EXPECT_EQ(VerifyNas({kVbiosRimMismatch}).reasons,
            std::vector<std::string>{
                "VBIOS RIM 96.00.5E.00.01: measurement index 9 (block 10) is 7f3e9382785513c1…, "
                "the RIM allows 059b32e712a153f4…"});
}

TEST(GpuRim, ATamperedDriverRimIsRefusedForItsSignature) {
  EXPECT_EQ(VerifyNas({kVbiosRim, kDriverRimTampered}).reasons,
            std::vector<std::string>{"driver RIM 535.86.09: RIM signature does not verify with "
                                     "the key of \"HCC RIM L4 Signer\""});
}

TEST(GpuRim, AnExpiredSignerIsRefusedWithItsDate) {
  // 2025-07-01: the VBIOS RIM's L4 signer expired on 2025-06-22.
  EXPECT_EQ(VerifyNas({kVbiosRim}, absl::FromUnixSeconds(1751328000)).reasons,
            std::vector<std::string>{"VBIOS RIM 96.00.5E.00.01 certificate chain: certificate has "
                                     "expired (\"HCC RIM L4 Signer\", valid until "
                                     "2025-06-22T09:30:33Z)"});
}

TEST(GpuRim, ARimForAnotherVersionOrTwoOfAKindIsRefused) {
  EXPECT_EQ(VerifyNas({"rims/driver_rim_GH100_550.144.03.xml"}).reasons,
            std::vector<std::string>{"RIM 1 is for version 550.144.03, neither this GPU's driver "
                                     "535.86.09 nor its VBIOS 96.00.5E.00.01"});
  EXPECT_EQ(VerifyNas({kVbiosRim, kVbiosRim}).reasons,
            std::vector<std::string>{
                "RIM 2 is a second VBIOS RIM; at most one of each may be given"});
}

TEST(GpuRim, NoPinnedCorimRootNoRim) {
  TrustAnchors a = Pinned();
  a.nvidia_corim_signing_root_ca.clear();
  GpuVerdict v = VerifyNvidiaGpu(Report("nas-h100-535.86.09"),
                                 Data("nas-h100-535.86.09/cert_chain.pem"),
                                 GpuCollateral{{Data(kVbiosRim)}, {}}, a, kRimTime);
  EXPECT_EQ(v.reasons,
            std::vector<std::string>{"no pinned NVIDIA CoRIM signing Root CA "
                                     "(nvidia_corim_signing_root_ca.pem in the roots)"});
}

// Each real RIM on its own, with its verdict (MANIFEST.md).
TEST(GpuRim, EveryRealRimWithItsVerdict) {
  const absl::Time mid2025 = absl::FromUnixSeconds(1751328000);  // 2025-07-01
  struct Case {
    std::string file;
    absl::Time now;
    std::vector<std::string> reasons;  // empty: valid
  };
  const std::vector<Case> cases = {
      {kVbiosRim, kRimTime, {}},
      {kVbiosRimMismatch, kRimTime, {}},  // validly signed: it mismatches only against a report
      {"rims/driver_rim_GH100_550.144.03.xml", mid2025, {}},
      {kDriverRimTampered, mid2025,
       {"RIM 535.86.09: RIM signature does not verify with the key of \"HCC RIM L4 Signer\""}},
      {"rims/driver_rim_incorrect_signature.xml", mid2025,
       {"RIM 550.144.03: RIM signature does not verify with the key of \"HCC RIM L4 Signer\""}},
      {"rims/driver_rim_incorrect_cert_chain.xml", mid2025,
       {"RIM 97.00.83.00.09 certificate chain: certificate 2 \"NVIDIA CoRIM L1 Root CA Debug "
        "Only\" is a root that is not the pinned one",
        "RIM 97.00.83.00.09 certificate chain: unable to get local issuer certificate (\"HCC RIM "
        "L4 Signer\")"}},
      {"rims/driver_rim_GH100_570.124.03_expired.xml", mid2025,
       {"RIM 570.124.03 certificate chain: certificate has expired (\"RIM L4 Signer\", valid "
        "until 2025-01-02T00:00:00Z)"}},
      {"rims/driver_rim_GH100_550.144.03.xml", kRimTime - absl::Hours(24 * 200),
       {"RIM 550.144.03 certificate chain: certificate is not yet valid (\"HCC RIM L4 Signer\", "
        "valid from 2024-12-30T16:56:50Z)"}},
  };
  for (const Case& c : cases) {
    RimVerdict v = VerifyNvidiaRim(Data(c.file), {}, Pinned(), c.now);
    EXPECT_EQ(v.reasons, c.reasons) << c.file;
    EXPECT_EQ(v.valid, c.reasons.empty()) << c.file;
  }
  RimVerdict driver =
      VerifyNvidiaRim(Data("rims/driver_rim_GH100_550.144.03.xml"), {}, Pinned(), mid2025);
  EXPECT_EQ(driver.version, "550.144.03");
  EXPECT_EQ(driver.product, "GH100");
  EXPECT_GT(driver.active_indices, 0u);
}

TEST(GpuRim, TheParserReadsWhatIsSigned) {
  absl::StatusOr<internal::Rim> rim = internal::ParseRim(Data(kVbiosRim));
  ASSERT_TRUE(rim.ok()) << rim.status();
  EXPECT_EQ(rim->version, "96.00.5E.00.01");
  EXPECT_EQ(rim->product, "GH100");
  EXPECT_EQ(rim->measurements.size(), 64u);
  EXPECT_EQ(rim->certificates.size(), 4u);
  size_t active = 0;
  for (const internal::RimMeasurement& m : rim->measurements) active += m.active ? 1 : 0;
  EXPECT_EQ(active, 12u);
  // A Payload hidden inside the Signature is not read: moving the real one there leaves none.
  std::string xml = Data(kVbiosRim);
  EXPECT_EQ(internal::ParseRim("<!DOCTYPE x [<!ENTITY a \"b\">]>" + xml).status().message(),
            "RIM: it has a document type declaration (refused: no DTDs, no entities)");
  EXPECT_EQ(internal::ParseRim(xml.substr(0, xml.size() / 2)).status().message(),
            "RIM: not well-formed XML");
  EXPECT_EQ(internal::ParseRim("<a/>").status().message(),
            "RIM: the root element is not an ISO 19770-2 SoftwareIdentity");
  EXPECT_EQ(internal::ParseRim(std::string(internal::kMaxRimSize + 1, ' ')).status().code(),
            absl::StatusCode::kResourceExhausted);
}

// Changing one signed byte of a genuine RIM (a measurement) breaks its signature.
TEST(GpuRim, AnEditedMeasurementBreaksTheSignature) {
  std::string xml = Data(kVbiosRim);
  const std::string needle = "c3f65ef79a19c029";
  size_t at = xml.find(needle);
  ASSERT_NE(at, std::string::npos);
  xml[at] = 'd';
  RimVerdict v = VerifyNvidiaRim(xml, {}, Pinned(), kRimTime);
  EXPECT_EQ(v.reasons, std::vector<std::string>{"RIM 96.00.5E.00.01: RIM signature does not "
                                                "verify with the key of \"HCC RIM L4 Signer\""});
}

// ---- OCSP, with a forged PKI (NVIDIA's responses are online only).

class GpuOcsp : public ::testing::Test {
 protected:
  GpuOcsp() : gpu_(nvforge::NewGpu()) {
    nvforge::ReportSpec spec;
    report_ = nvforge::Report(gpu_, spec);
  }
  GpuVerdict Run(const std::vector<std::string>& ocsp) {
    return VerifyNvidiaGpu(report_, gpu_.ChainPem(), GpuCollateral{{}, ocsp},
                           nvforge::ForgedPki().Anchors(), kNow);
  }
  // Good responses for the identity (by the intermediate) and the intermediate (by the root).
  std::string IdentityOcsp(const nvforge::OcspSpec& spec = {}) {
    const nvforge::Pki& pki = nvforge::ForgedPki();
    return nvforge::OcspResponse(gpu_.identity.get(), pki.ica.get(), pki.ica_key.get(), spec);
  }
  std::string IcaOcsp(const nvforge::OcspSpec& spec = {}) {
    const nvforge::Pki& pki = nvforge::ForgedPki();
    return nvforge::OcspResponse(pki.ica.get(), pki.root.get(), pki.root_key.get(), spec);
  }
  nvforge::Gpu gpu_;
  std::string report_;
};

TEST_F(GpuOcsp, NoResponseIsNotChecked) {
  GpuVerdict v = Run({});
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.device_revocation, "not checked");
}

TEST_F(GpuOcsp, GoodForEveryCertificateBelowTheRoot) {
  GpuVerdict v = Run({IdentityOcsp(), IcaOcsp()});
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.device_revocation, "good");
  GpuVerdict half = Run({IcaOcsp()});
  ASSERT_TRUE(half.valid);
  EXPECT_EQ(half.claims.device_revocation, "incomplete");
}

TEST_F(GpuOcsp, RevokedIsRefused) {
  nvforge::OcspSpec revoked;
  revoked.status = V_OCSP_CERTSTATUS_REVOKED;
  EXPECT_EQ(Run({IdentityOcsp(revoked), IcaOcsp()}).reasons,
            std::vector<std::string>{"GPU certificate \"GH100 A01 GSP BROM\" is revoked (OCSP)"});
  nvforge::OcspSpec unknown;
  unknown.status = V_OCSP_CERTSTATUS_UNKNOWN;
  EXPECT_EQ(Run({IcaOcsp(unknown)}).reasons,
            std::vector<std::string>{"GPU certificate \"Forged GH100 Identity\": the OCSP responder "
                                     "does not know it (status unknown)"});
}

TEST_F(GpuOcsp, UntrustworthyResponsesAreRefusedWithTheirReason) {
  nvforge::OcspSpec wrong_key;
  wrong_key.sign_with_wrong_key = true;
  EXPECT_EQ(Run({IdentityOcsp(wrong_key)}).reasons,
            std::vector<std::string>{
                "OCSP response 1 for GPU certificate \"GH100 A01 GSP BROM\": its signature does "
                "not verify with the key of \"Forged GH100 Identity\""});
  nvforge::OcspSpec expired;
  expired.this_update = kNow - absl::Hours(48);
  expired.next_update = kNow - absl::Hours(24);
  EXPECT_EQ(Run({IdentityOcsp(expired)}).reasons,
            std::vector<std::string>{
                "OCSP response 1 for GPU certificate \"GH100 A01 GSP BROM\": it expired at "
                "2025-06-30T00:00:00Z (verification time 2025-07-01T00:00:00Z)"});
  nvforge::OcspSpec future;
  future.this_update = kNow + absl::Hours(1);
  EXPECT_EQ(Run({IdentityOcsp(future)}).reasons,
            std::vector<std::string>{
                "OCSP response 1 for GPU certificate \"GH100 A01 GSP BROM\": thisUpdate is after "
                "the verification time 2025-07-01T00:00:00Z"});
  nvforge::OcspSpec forever;
  forever.next_update = std::nullopt;
  EXPECT_EQ(Run({IdentityOcsp(forever)}).reasons,
            std::vector<std::string>{
                "OCSP response 1 for GPU certificate \"GH100 A01 GSP BROM\": it has no "
                "nextUpdate, so it never expires"});
  // Signed by the root about the identity (which the intermediate issued): not its issuer.
  const nvforge::Pki& pki = nvforge::ForgedPki();
  nvforge::OcspSpec by_root;
  by_root.signer = pki.root.get();
  by_root.signer_key = pki.root_key.get();
  EXPECT_EQ(Run({IdentityOcsp(by_root)}).reasons,
            std::vector<std::string>{
                "OCSP response 1 for GPU certificate \"GH100 A01 GSP BROM\": it is signed by "
                "\"Forged NVIDIA Device Identity CA\", which is neither the issuer \"Forged GH100 "
                "Identity\" nor certified by it"});
  // Signed by a responder the issuer certified, but not for OCSP signing.
  nvforge::Gpu other = nvforge::NewGpu();
  nvforge::OcspSpec delegated;
  delegated.signer = other.identity.get();  // issued by the intermediate, no id-kp-OCSPSigning
  delegated.signer_key = other.identity_key.get();
  EXPECT_EQ(Run({IdentityOcsp(delegated)}).reasons,
            std::vector<std::string>{
                "OCSP response 1 for GPU certificate \"GH100 A01 GSP BROM\": its signer \"GH100 "
                "A01 GSP BROM\" is not certified for OCSP signing (id-kp-OCSPSigning)"});
  EXPECT_EQ(Run({"not DER"}).reasons,
            std::vector<std::string>{"OCSP response 1: not one DER OCSPResponse"});
}

// A response about another GPU's identity covers nothing here.
TEST_F(GpuOcsp, AResponseForAnotherCertificateCoversNothing) {
  nvforge::Gpu other = nvforge::NewGpu();
  const nvforge::Pki& pki = nvforge::ForgedPki();
  nvforge::OcspSpec revoked;
  revoked.status = V_OCSP_CERTSTATUS_REVOKED;
  GpuVerdict v = Run({nvforge::OcspResponse(other.identity.get(), pki.ica.get(),
                                            pki.ica_key.get(), revoked)});
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.device_revocation, "not checked");
}

// The forged report is a report like the real ones: the parser reads what the forge wrote.
TEST(GpuForge, ForgedReportsVerifyOnlyUnderTheForgedRoot) {
  nvforge::Gpu gpu = nvforge::NewGpu();
  nvforge::ReportSpec spec;
  spec.nonce = std::string(32, '\x07');
  std::string report = nvforge::Report(gpu, spec);
  GpuVerdict v = VerifyNvidiaGpu(report, gpu.ChainPem(), {}, nvforge::ForgedPki().Anchors(), kNow);
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.nonce, spec.nonce);
  EXPECT_EQ(v.claims.driver_version, "550.90.07");
  EXPECT_EQ(v.claims.vbios_version, "96.00.9F.00.01");
  EXPECT_EQ(v.claims.measurements.size(), 64u);
  EXPECT_EQ(v.claims.measurements[9].second, nvforge::BlockValue(10));
  std::vector<std::string> reasons = Verify(report, gpu.ChainPem()).reasons;
  ASSERT_FALSE(reasons.empty());
  EXPECT_EQ(reasons[0],
            "GPU certificate chain: certificate 4 \"Forged NVIDIA Device Identity CA\" is a root "
            "that is not the pinned one");
}

// ---- RIMs signed under a forged CoRIM root: the paths the real RIMs cannot reach.

class GpuRimForged : public ::testing::Test {
 protected:
  GpuRimForged() : gpu_(nvforge::NewGpu()) {
    report_ = nvforge::Report(gpu_, nvforge::ReportSpec());
    anchors_ = nvforge::ForgedPki().Anchors();
    rimforge::ForgedPki().Pin(anchors_);
  }
  // Indices [from, to) active with the report's values, the rest of 0..63 inactive.
  static rimforge::RimSpec Rim(const std::string& version, int from, int to) {
    rimforge::RimSpec r;
    r.version = version;
    for (int i = 0; i < 64; ++i) {
      bool active = i >= from && i < to;
      r.measurements.push_back({i, active, {active ? nvforge::BlockValue(i + 1) : std::string(48, '\0')}});
    }
    return r;
  }
  GpuVerdict Run(const std::vector<rimforge::RimSpec>& rims, const std::vector<std::string>& ocsp = {}) {
    GpuCollateral c;
    for (const rimforge::RimSpec& r : rims) c.rims.push_back(rimforge::SignedRim(r));
    c.ocsp = ocsp;
    return VerifyNvidiaGpu(report_, gpu_.ChainPem(), c, anchors_, kNow);
  }
  nvforge::Gpu gpu_;
  std::string report_;
  TrustAnchors anchors_;
};

const char kDriver[] = "550.90.07";
const char kVbios[] = "96.00.9F.00.01";

TEST_F(GpuRimForged, DriverAndVbiosRimsThatMatchEveryActiveIndex) {
  GpuVerdict v = Run({Rim(kDriver, 0, 10), Rim(kVbios, 10, 20)});
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_TRUE(v.claims.measurements_match);
  ASSERT_EQ(v.claims.rims.size(), 2u);
  EXPECT_EQ(v.claims.rims[0].kind, "driver");
  EXPECT_EQ(v.claims.rims[1].kind, "vbios");
  EXPECT_EQ(v.claims.rims[1].signer, "Forged RIM Signer");
  // Alternatives: any of them will do.
  rimforge::RimSpec alt = Rim(kDriver, 0, 10);
  alt.measurements[3].values = {std::string(48, '\x01'), nvforge::BlockValue(4)};
  EXPECT_TRUE(Run({alt, Rim(kVbios, 10, 20)}).valid);
}

TEST_F(GpuRimForged, EachMismatchIsRefusedWithItsIndex) {
  rimforge::RimSpec bad = Rim(kDriver, 0, 10);
  bad.measurements[4].values = {std::string(48, '\x01')};
  EXPECT_EQ(Run({bad, Rim(kVbios, 10, 20)}).reasons,
            std::vector<std::string>{"driver RIM 550.90.07: measurement index 4 (block 5) is " +
                                     base::HexEncode(nvforge::BlockValue(5).substr(0, 8)) +
                                     "…, the RIM allows 0101010101010101…"});
  // An index active in both RIMs.
  EXPECT_EQ(Run({Rim(kDriver, 0, 11), Rim(kVbios, 10, 20)}).reasons,
            std::vector<std::string>{"measurement index 10 is active in both the driver RIM "
                                     "550.90.07 and the VBIOS RIM 96.00.9F.00.01"});
  // An active index with no block in the report.
  rimforge::RimSpec beyond = Rim(kVbios, 10, 20);
  beyond.measurements.push_back({70, true, {std::string(48, '\x02')}});
  EXPECT_EQ(Run({Rim(kDriver, 0, 10), beyond}).reasons,
            std::vector<std::string>{
                "VBIOS RIM 96.00.9F.00.01: measurement index 70 has no block 71 in the report"});
  // Another chip's RIM.
  rimforge::RimSpec blackwell = Rim(kDriver, 0, 10);
  blackwell.product = "GB100";
  EXPECT_EQ(Run({blackwell}).reasons,
            std::vector<std::string>{
                "driver RIM 550.90.07 is for product \"GB100\", not this GPU's GH100"});
  // The real CoRIM root pinned instead: the forged chain is refused.
  TrustAnchors real = anchors_;
  real.nvidia_corim_signing_root_ca = testing::ReadTestFile(
      testing::TestdataDir() + "/attestation/roots/nvidia_corim_signing_root_ca.pem");
  GpuCollateral c{{rimforge::SignedRim(Rim(kDriver, 0, 10))}, {}};
  std::vector<std::string> reasons =
      VerifyNvidiaGpu(report_, gpu_.ChainPem(), c, real, kNow).reasons;
  ASSERT_FALSE(reasons.empty());
  EXPECT_EQ(reasons[0],
            "driver RIM 550.90.07 certificate chain: certificate 3 \"Forged CoRIM Root\" is a root "
            "that is not the pinned one");
}

// Signature wrapping: measurements hidden inside the Signature element (which the enveloped
// transform leaves out of the digest) are never read; the signed Payload is.
TEST_F(GpuRimForged, APayloadInsideTheSignatureIsNotRead) {
  rimforge::RimSpec wrapped = Rim(kDriver, 0, 10);
  wrapped.inside_signature =
      R"(<ds:Object><ns0:Payload xmlns:ns0="http://standards.iso.org/iso/19770/-2/2015/schema.xsd">)"
      R"(<ns0:Resource type="Measurement" index="0" active="True" alternatives="1" )"
      R"(xmlns:ns2="http://www.w3.org/2001/04/xmlenc#sha384" ns2:Hash0=")" +
      std::string(96, 'e') + R"(" size="48" name="evil"/></ns0:Payload></ds:Object>)";
  const std::string xml = rimforge::SignedRim(wrapped);
  absl::StatusOr<internal::Rim> rim = internal::ParseRim(xml);
  ASSERT_TRUE(rim.ok()) << rim.status();
  EXPECT_EQ(rim->measurements[0].values[0], nvforge::BlockValue(1));
  GpuVerdict v = VerifyNvidiaGpu(report_, gpu_.ChainPem(),
                                 GpuCollateral{{xml, rimforge::SignedRim(Rim(kVbios, 10, 20))}, {}},
                                 anchors_, kNow);
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_TRUE(v.claims.measurements_match);
  // Moving the evil Payload next to the real one is seen: two Payloads.
  std::string two = rimforge::SignedRim(Rim(kDriver, 0, 10));
  two.insert(two.find("<ds:Signature"), "<ns0:Payload></ns0:Payload>");
  EXPECT_EQ(internal::ParseRim(two).status().message(), "RIM: more than one Payload element");
  // And editing the signed Payload breaks the signature.
  std::string edited = rimforge::SignedRim(Rim(kDriver, 0, 10));
  const std::string first = base::HexEncode(nvforge::BlockValue(1));
  edited.replace(edited.find(first), 2, "00");
  EXPECT_EQ(VerifyNvidiaRim(edited, {}, anchors_, kNow).reasons,
            std::vector<std::string>{"RIM 550.90.07: RIM signature does not verify with the key of "
                                     "\"Forged RIM Signer\""});
}

// Everything a fully required policy asks for: RIMs matched, OCSP good on every chain.
TEST_F(GpuRimForged, RimsAndOcspEverywhereMeetAStrictPolicy) {
  const nvforge::Pki& dev = nvforge::ForgedPki();
  const rimforge::Pki& rim = rimforge::ForgedPki();
  std::vector<std::string> ocsp = {
      nvforge::OcspResponse(gpu_.identity.get(), dev.ica.get(), dev.ica_key.get()),
      nvforge::OcspResponse(dev.ica.get(), dev.root.get(), dev.root_key.get()),
      nvforge::OcspResponse(rim.signer.get(), rim.ca.get(), rim.ca_key.get()),
      nvforge::OcspResponse(rim.ca.get(), rim.root.get(), rim.root_key.get())};
  GpuVerdict v = Run({Rim(kDriver, 0, 10), Rim(kVbios, 10, 20)}, ocsp);
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.device_revocation, "good");
  EXPECT_EQ(v.claims.rims[0].revocation, "good");
  EXPECT_EQ(v.claims.rims[1].revocation, "good");
  contracts::Claims claims;
  claims.tee = contracts::kTeeSim;
  claims.measurement = std::string(48, '\x01');
  v.claims.uuid = "GPU-1";
  claims.gpus = {v.claims};
  contracts::GpuCcState cc;
  cc.environment = contracts::GpuCcState::kEnvironmentProd;
  cc.cc_feature = 1;
  cc.gpus_ready = 1;
  claims.gpu_cc = cc;
  contracts::WorkerPolicy p;
  p.tee = {contracts::kTeeSim};
  p.sim = contracts::SimReference{{claims.measurement}, {}};
  contracts::GpuRequirements g;
  g.count = 1;
  g.architectures = {"hopper"};
  g.min_driver_version = "550.54.15";
  g.min_vbios_version = "96.00.74.00.1C";
  p.nvidia_gpu = g;  // rim and ocsp required
  contracts::PolicyDecision d = contracts::Evaluate(p, claims);
  EXPECT_TRUE(d.admit) << ::testing::PrintToString(d.reasons);
  // Without the RIM chain's responses, OCSP is not complete.
  GpuVerdict partial = Run({Rim(kDriver, 0, 10), Rim(kVbios, 10, 20)},
                           {ocsp[0], ocsp[1], ocsp[2]});
  ASSERT_TRUE(partial.valid);
  EXPECT_EQ(partial.claims.rims[0].revocation, "incomplete");
}

// A delegated OCSP responder: certified by the issuer for OCSP signing.
TEST_F(GpuOcsp, ADelegatedResponderIsAccepted) {
  const nvforge::Pki& pki = nvforge::ForgedPki();
  crypto::SslPtr<EVP_PKEY> key = forge::NewEcKey("P-384");
  forge::CertSpec spec;
  spec.cn = "Forged OCSP Responder";
  spec.pss = false;
  // extendedKeyUsage: SEQUENCE { id-kp-OCSPSigning }
  spec.extensions.push_back({"2.5.29.37", std::string("\x30\x0a\x06\x08\x2b\x06\x01\x05\x05\x07\x03\x09", 12)});
  crypto::SslPtr<X509> responder = forge::Issue(spec, key.get(), pki.ica.get(), pki.ica_key.get());
  nvforge::OcspSpec delegated;
  delegated.signer = responder.get();
  delegated.signer_key = key.get();
  GpuVerdict v = Run({IdentityOcsp(delegated), IcaOcsp()});
  ASSERT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.device_revocation, "good");
}

}  // namespace
}  // namespace triad::attestation
