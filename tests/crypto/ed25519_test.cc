#include "crypto/ed25519.h"

#include "base/encoding.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::crypto {
namespace {

std::string Unhex(absl::string_view h) { return base::HexDecode(h).value(); }

// RFC 8032 section 7.1, TEST 1 and TEST 2, loaded through PKCS#8 PEM built from the seed.
SecretBytes Pkcs8Pem(absl::string_view seed_hex) {
  std::string der = Unhex("302e020100300506032b657004220420") + Unhex(seed_hex);
  return SecretBytes::CopyFrom("-----BEGIN PRIVATE KEY-----\n" + base::Base64Encode(der) +
                               "\n-----END PRIVATE KEY-----\n");
}

TEST(Ed25519Test, Rfc8032Vectors) {
  struct Vector {
    const char* seed;
    const char* pub;
    const char* msg;
    const char* sig;
  } kVectors[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
  };
  for (const Vector& v : kVectors) {
    auto key = Ed25519PrivateKey::FromPem(Pkcs8Pem(v.seed));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(base::HexEncode(key->public_key().raw()), v.pub);
    std::string sig = key->Sign(Unhex(v.msg));
    EXPECT_EQ(base::HexEncode(sig), v.sig);
    EXPECT_TRUE(key->public_key().Verify(Unhex(v.msg), sig).ok());
  }
}

TEST(Ed25519Test, VerifyRejectsTampering) {
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  std::string sig = key.Sign("message");
  EXPECT_TRUE(key.public_key().Verify("message", sig).ok());
  EXPECT_EQ(key.public_key().Verify("messagf", sig).message(), "Ed25519 signature does not verify");
  for (size_t i = 0; i < sig.size(); ++i) {
    std::string bad = sig;
    bad[i] ^= 0x01;
    EXPECT_FALSE(key.public_key().Verify("message", bad).ok()) << "byte " << i;
  }
  EXPECT_EQ(key.public_key().Verify("message", sig.substr(1)).message(),
            "Ed25519 signature must be 64 bytes, got 63");
  Ed25519PrivateKey other = Ed25519PrivateKey::Generate();
  EXPECT_FALSE(other.public_key().Verify("message", sig).ok());
}

TEST(Ed25519Test, PemRoundTripAndOpenSslInterop) {
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  SecretBytes pem = key.ToPem();
  EXPECT_EQ(pem.view().substr(0, 27), "-----BEGIN PRIVATE KEY-----");
  auto again = Ed25519PrivateKey::FromPem(pem);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), key.public_key());

  // `openssl pkey` reads the private key and derives the same public key and key id.
  testing::TempDir dir;
  ASSERT_TRUE(WriteSecretFile(dir.File("k.pem"), pem).ok());
  std::string out;
  ASSERT_EQ(testing::RunCommand("openssl pkey -in " + dir.File("k.pem") + " -pubout", &out), 0) << out;
  EXPECT_EQ(out, key.public_key().ToPem());
  ASSERT_EQ(testing::RunCommand("openssl pkey -in " + dir.File("k.pem") +
                                    " -pubout -outform DER | sha256sum | cut -c1-64",
                                &out),
            0);
  EXPECT_EQ(out, key.public_key().KeyId() + "\n");
  auto from_file = Ed25519PrivateKey::FromPemFile(dir.File("k.pem"));
  ASSERT_TRUE(from_file.ok()) << from_file.status();

  auto pub = Ed25519PublicKey::FromPem(key.public_key().ToPem());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*pub, key.public_key());
}

TEST(Ed25519Test, RejectsWrongKeys) {
  EXPECT_EQ(Ed25519PublicKey::FromRaw("short").status().message(),
            "Ed25519 public key must be 32 bytes, got 5");
  EXPECT_FALSE(Ed25519PrivateKey::FromPem(SecretBytes::CopyFrom("not pem")).ok());
  testing::TempDir dir;
  ASSERT_EQ(testing::RunCommand("openssl genpkey -algorithm X25519 -out " + dir.File("x.pem")), 0);
  auto x = Ed25519PrivateKey::FromPem(SecretBytes::CopyFrom(testing::ReadTestFile(dir.File("x.pem"))));
  EXPECT_EQ(x.status().message(), "private key is not an Ed25519 key");
  // A key file others can read is refused.
  ASSERT_EQ(testing::RunCommand("openssl genpkey -algorithm ED25519 -out " + dir.File("e.pem") +
                                " && chmod 644 " + dir.File("e.pem")),
            0);
  EXPECT_EQ(Ed25519PrivateKey::FromPemFile(dir.File("e.pem")).status().code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace triad::crypto
