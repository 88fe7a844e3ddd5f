#include "crypto/hash.h"

#include "base/encoding.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::crypto {
namespace {

TEST(HashTest, KnownAnswers) {
  EXPECT_EQ(base::HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(base::HexEncode(Sha384("abc")),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(base::HexEncode(Sha512("abc")).substr(0, 32), "ddaf35a193617abacc417349ae204131");
  EXPECT_EQ(Sha256Id(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HashTest, IncrementalEqualsOneShot) {
  Hasher h(HashAlg::kSha384);
  h.Update("a");
  h.Update("");
  h.Update("bc");
  EXPECT_EQ(h.Finish(), Sha384("abc"));
  EXPECT_EQ(DigestSize(HashAlg::kSha512), 64u);
}

}  // namespace
}  // namespace triad::crypto
