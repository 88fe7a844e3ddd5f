#include "base/encoding.h"

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::base {
namespace {

TEST(HexTest, RoundTrip) {
  std::string bytes("\x00\x01\xab\xff", 4);
  EXPECT_EQ(HexEncode(bytes), "0001abff");
  EXPECT_EQ(HexDecode("0001ABff").value(), bytes);
}

TEST(HexTest, RejectsOddAndInvalid) {
  EXPECT_EQ(HexDecode("abc").status().message(), "hex: odd number of digits");
  EXPECT_EQ(HexDecode("zz").status().message(), "hex: invalid character");
}

// RFC 4648 section 10 test vectors.
TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> kVectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : kVectors) {
    EXPECT_EQ(Base64Encode(plain), enc);
    EXPECT_EQ(Base64Decode(enc).value(), plain);
    std::string unpadded(enc);
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    EXPECT_EQ(Base64Encode(plain, Base64Padding::kWithout), unpadded);
    EXPECT_EQ(Base64Decode(unpadded, Base64Padding::kWithout).value(), plain);
  }
}

TEST(Base64Test, StrictDecoding) {
  EXPECT_EQ(Base64Decode("Zg").status().message(), "base64: length not a multiple of 4");
  EXPECT_EQ(Base64Decode("Zg==", Base64Padding::kWithout).status().message(), "base64: invalid character");
  EXPECT_EQ(Base64Decode("Zh==").status().message(), "base64: non-canonical trailing bits");
  EXPECT_EQ(Base64Decode("Z", Base64Padding::kWithout).status().message(), "base64: impossible length");
  EXPECT_EQ(Base64Decode("Zm9v\n").status().message(), "base64: length not a multiple of 4");
  EXPECT_EQ(Base64Decode("Zm-v").status().message(), "base64: invalid character");
  EXPECT_EQ(Base64Decode("Z===").status().message(), "base64: invalid character");
}

}  // namespace
}  // namespace triad::base
