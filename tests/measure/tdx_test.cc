// TDX MRTD of Debian's OVMF.fd (a TDVF Config-A build) against quex-tech/td-report-web's
// independent implementation (testdata/measure/tdx/vectors.json).
#include "measure/tdx.h"

#include "base/encoding.h"
#include "crypto/hash.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/measure/gunzip.h"
#include "tests/testing/testing.h"

namespace triad::measure {
namespace {

using testing_util::Gunzip;

class TdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = testing::TestdataDir() + "/measure/tdx/";
    v_ = nlohmann::json::parse(testing::ReadTestFile(dir + "vectors.json"));
    fw_ = Gunzip(testing::ReadTestFile(dir + v_["firmware"].get<std::string>()));
    ASSERT_EQ(base::HexEncode(crypto::Sha256(fw_)), v_["firmware_sha256"].get<std::string>());
  }
  nlohmann::json v_;
  std::string fw_;
};

TEST_F(TdxTest, MrtdMatchesAnIndependentImplementation) {
  absl::StatusOr<std::string> m = TdxMrtd(fw_, PageAddOrder::kPerSection);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(base::HexEncode(*m), v_["mrtd_per_section"].get<std::string>());
}

TEST_F(TdxTest, TheHostsOrderChangesMrtd) {
  absl::StatusOr<std::string> a = TdxMrtd(fw_, PageAddOrder::kInterleaved);
  absl::StatusOr<std::string> b = TdxMrtd(fw_, PageAddOrder::kPerSection);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST_F(TdxTest, MetadataOfDebianOvmf) {
  absl::StatusOr<std::vector<TdvfSection>> s = ParseTdvfMetadata(fw_);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_FALSE(s->empty());
  // The first section is the boot firmware volume, measured (MR.EXTEND).
  EXPECT_EQ((*s)[0].type, 0u);
  EXPECT_EQ((*s)[0].attributes & 1u, 1u);
}

TEST_F(TdxTest, RefusesWhatIsNotTdvf) {
  EXPECT_EQ(TdxMrtd(std::string(8192, '\0')).status().message(),
            "not a TDVF image: the OVMF footer table has no TDX metadata entry");
  // Flipped bytes in the last 4 KiB (footer, metadata): refused or measured, never out of bounds.
  for (size_t i = fw_.size() - 4096; i < fw_.size(); i += 31) {
    std::string f = fw_;
    f[i] ^= 0x5a;
    (void)TdxMrtd(f);
  }
}

}  // namespace
}  // namespace triad::measure
