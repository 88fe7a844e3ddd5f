// The NVIDIA GPU report verifier against the real reports and chains in
// testdata/attestation/nvidia (MANIFEST.md gives each verdict), and every way to break
// them: bit flips, truncation, trailing bytes, chains without the device certificate, without an
// intermediate, or of the root alone, an FWID that differs from the certificate's, no pinned root.
#include "attestation/nvidia_gpu.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "attestation/internal/nvidia_spdm.h"
#include "base/encoding.h"
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
  EXPECT_FALSE(Verify(report, "").valid);
}

TEST(GpuReport, NeedsThePinnedRootAndItsTime) {
  const std::string report = Report("nvtrust-h100-550.90.07");
  const std::string chain = Data("nvtrust-h100-550.90.07/cert_chain.pem");
  EXPECT_EQ(Verify(report, chain, TrustAnchors()).reasons,
            std::vector<std::string>{"no pinned NVIDIA Device Identity CA "
                                     "(nvidia_device_identity_ca.pem in the roots)"});
  // Another root pinned (Intel's): no path.
  TrustAnchors intel;
  intel.nvidia_device_identity_ca = testing::ReadTestFile(
      testing::TestdataDir() + "/attestation/roots/intel_sgx_root_ca.pem");
  EXPECT_FALSE(Verify(report, chain, intel).valid);
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
  for (size_t i = 0; i < report.size(); i += (i < signed_size ? 7 : 1)) {
    std::string bad = report;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(Verify(bad, chain).valid) << "byte " << i;
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
  EXPECT_EQ(reason(report + "x"), "SPDM report: 1 byte follows the signature");
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

}  // namespace
}  // namespace triad::attestation
