#include "measure/oci.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "crypto/hash.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::measure {
namespace {

std::string Digest(const std::string& b) { return "sha256:" + base::HexEncode(crypto::Sha256(b)); }

// A one-layer layout written by hand, the way deploy/image/build.sh writes one.
class OciTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::mkdir(dir_.File("blobs").c_str(), 0755);
    ::mkdir(dir_.File("blobs/sha256").c_str(), 0755);
    layer_ = "not really a tar, but a blob is a blob";
    config_ = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
    manifest_ = absl::StrCat(
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)",
        R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")",
        Digest(config_), R"(","size":)", config_.size(), R"(},"layers":[{"mediaType":)",
        R"("application/vnd.oci.image.layer.v1.tar","digest":")", Digest(layer_),
        R"(","size":)", layer_.size(), "}]}");
    for (const std::string* b : {&layer_, &config_, &manifest_}) Blob(*b, *b);
    testing::WriteTestFile(dir_.File("oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
    testing::WriteTestFile(
        dir_.File("index.json"),
        absl::StrCat(R"({"schemaVersion":2,"manifests":[{"mediaType":)",
                     R"("application/vnd.oci.image.manifest.v1+json","digest":")",
                     Digest(manifest_), R"(","size":)", manifest_.size(), "}]}"));
  }
  void Blob(const std::string& named_for, const std::string& content) {
    testing::WriteTestFile(dir_.File("blobs/sha256/" + Digest(named_for).substr(7)), content);
  }
  testing::TempDir dir_;
  std::string layer_, config_, manifest_;
};

TEST_F(OciTest, DigestIsTheManifests) {
  absl::StatusOr<OciImage> img = MeasureOciLayout(dir_.path());
  ASSERT_TRUE(img.ok()) << img.status();
  EXPECT_EQ(img->digest, Digest(manifest_));
  EXPECT_EQ(img->config_digest, Digest(config_));
  ASSERT_EQ(img->layer_digests.size(), 1u);
  EXPECT_EQ(img->total_size, layer_.size() + config_.size() + manifest_.size());
}

TEST_F(OciTest, RefusesATamperedLayer) {
  Blob(layer_, layer_ + "!");
  EXPECT_EQ(MeasureOciLayout(dir_.path()).status().message(),
            absl::StrCat("blob ", Digest(layer_), " has SHA-256 ", Digest(layer_ + "!"),
                         ": the layout is corrupt"));
}

TEST_F(OciTest, RefusesAMissingBlobAndANonLayout) {
  ::unlink(dir_.File("blobs/sha256/" + Digest(config_).substr(7)).c_str());
  EXPECT_FALSE(MeasureOciLayout(dir_.path()).ok());
  testing::TempDir empty;
  EXPECT_FALSE(MeasureOciLayout(empty.path()).ok());
}

}  // namespace
}  // namespace triad::measure
