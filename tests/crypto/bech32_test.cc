#include "crypto/internal/bech32.h"

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::crypto::internal {
namespace {

// BIP 173 valid bech32 strings.
TEST(Bech32Test, Bip173Valid) {
  for (const char* s : {"A12UEL5L", "a12uel5l", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w"}) {
    auto d = Bech32Decode(s);
    EXPECT_TRUE(d.ok()) << s << ": " << d.status();
  }
  auto d = Bech32Decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->hrp, "abcdef");
}

TEST(Bech32Test, Bip173Invalid) {
  EXPECT_EQ(Bech32Decode("A1G7SGD8").status().message(), "bech32: bad checksum");
  EXPECT_EQ(Bech32Decode("10a06t8").status().message(), "bech32: separator missing or misplaced");
  EXPECT_EQ(Bech32Decode("1qzzfhee").status().message(), "bech32: separator missing or misplaced");
  EXPECT_EQ(Bech32Decode("a12UEL5L").status().message(), "bech32: mixed case");
  EXPECT_EQ(Bech32Decode("x1b4n0q5v").status().message(), "bech32: invalid data character");
  EXPECT_EQ(Bech32Decode(std::string("a1\x7f", 3) + "uel5l").status().message(), "bech32: invalid character");
}

TEST(Bech32Test, RoundTrip) {
  for (size_t n : {0, 1, 5, 32, 33}) {
    std::string data(n, '\x5a');
    SecretBytes enc = Bech32Encode("age", data);
    auto dec = Bech32Decode(enc.view());
    ASSERT_TRUE(dec.ok());
    EXPECT_EQ(dec->data.view(), data);
  }
}

}  // namespace
}  // namespace triad::crypto::internal
