// SEV-SNP launch digests against virtee/sev-snp-measure's published vectors
// (testdata/measure/snp/vectors.json, testdata/measure/README.md).
#include "measure/snp.h"

#include "base/encoding.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"

namespace triad::measure {
namespace {

std::string Snp(const std::string& name) {
  return testing::ReadTestFile(testing::TestdataDir() + "/measure/snp/" + name);
}

nlohmann::json Vectors() { return nlohmann::json::parse(Snp("vectors.json")); }

TEST(SnpTest, OvmfDigestMatchesSevSnpMeasure) {
  nlohmann::json v = Vectors()["ovmf_hash"];
  absl::StatusOr<std::string> d = SnpOvmfDigest(Snp(v["ovmf"]));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(base::HexEncode(*d), v["expected"].get<std::string>());
}

TEST(SnpTest, LaunchDigestsMatchSevSnpMeasure) {
  nlohmann::json vectors = Vectors();
  const std::string ovmf_hash =
      *base::HexDecode(vectors["ovmf_hash"]["expected"].get<std::string>());
  int checked = 0;
  for (const auto& v : vectors["launch_digests"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    SnpGuest g;
    g.ovmf = Snp(v["ovmf"]);
    g.vcpus = v["vcpus"];
    absl::StatusOr<uint32_t> sig = VcpuSignature(v["vcpu_type"].get<std::string>());
    ASSERT_TRUE(sig.ok()) << sig.status();
    g.vcpu_signature = *sig;
    g.guest_features = v["guest_features"];
    if (v["kernel"]) g.direct_boot = HashDirectBoot("", "", v["append"].get<std::string>());
    if (v.value("seed_ovmf_hash", false)) g.ovmf_digest = ovmf_hash;
    absl::StatusOr<std::string> d = SnpLaunchDigest(g);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(base::HexEncode(*d), v["expected"].get<std::string>());
    ++checked;
  }
  EXPECT_EQ(checked, 10);
}

TEST(SnpTest, DirectBootNeedsTheKernelHashesSection) {
  SnpGuest g;
  g.ovmf = Snp("ovmf_OvmfX64_suffix.bin");
  g.vcpu_signature = *VcpuSignature("EPYC-v4");
  g.direct_boot = HashDirectBoot("", "", "");
  absl::StatusOr<std::string> d = SnpLaunchDigest(g);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            "OVMF has no SNP_KERNEL_HASHES section: this firmware cannot measure "
            "-kernel/-initrd/-append; use the AmdSev build (OvmfPkg/AmdSev/AmdSevX64.dsc)");
}

TEST(SnpTest, CpuSignatures) {
  EXPECT_EQ(*VcpuSignature("EPYC-v4"), 0x800f12u);  // family 23 model 1 stepping 2 (upstream test)
  EXPECT_EQ(*VcpuSignature("EPYC-Milan"), 0xa00f11u);
  EXPECT_EQ(*VcpuSignature("EPYC-Genoa"), 0xa10f10u);
  EXPECT_EQ(VcpuSignature("Skylake").status().message(),
            "unknown vCPU type \"Skylake\" (expected a QEMU EPYC model such as EPYC-v4, "
            "EPYC-Milan, EPYC-Genoa, EPYC-Turin)");
}

TEST(SnpTest, RefusesWhatIsNotOvmf) {
  SnpGuest g;
  g.ovmf = std::string(4096, '\0');
  EXPECT_EQ(SnpLaunchDigest(g).status().message(),
            "OVMF image has no GUIDed footer table (not an OVMF build with SEV support)");
  g.ovmf = "short";
  EXPECT_EQ(SnpLaunchDigest(g).status().message(),
            "OVMF image of 5 bytes: expected a non-empty multiple of 4096 bytes");
  g.ovmf = Snp("ovmf_AmdSev_suffix.bin");
  g.vcpus = 0;
  EXPECT_EQ(SnpLaunchDigest(g).status().message(), "vcpus must be 1..512, got 0");
}

// Every byte of the footer region is hostile input: a flipped byte either still parses or is
// refused, never read out of bounds (the sanitizer build runs this too).
TEST(SnpTest, FlippedFooterBytesNeverCrash) {
  const std::string ovmf = Snp("ovmf_AmdSev_suffix.bin");
  SnpGuest g;
  g.vcpu_signature = *VcpuSignature("EPYC-v4");
  g.vcpus = 2;
  g.direct_boot = HashDirectBoot("", "", "");
  for (size_t i = ovmf.size() - 1024; i < ovmf.size(); ++i) {
    g.ovmf = ovmf;
    g.ovmf[i] ^= 0xff;
    (void)SnpLaunchDigest(g);
  }
}

}  // namespace
}  // namespace triad::measure
