#include "crypto/age_keys.h"

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::crypto::age {
namespace {

TEST(AgeKeysTest, GeneratedIdentityAgreesWithAgeKeygen) {
  X25519Identity id = X25519Identity::Generate();
  testing::TempDir dir;
  ASSERT_TRUE(WriteSecretFile(dir.File("id"), FormatIdentityFile(id, "2026-01-01T00:00:00Z")).ok());
  std::string out;
  ASSERT_EQ(testing::RunCommand("age-keygen -y " + dir.File("id"), &out), 0) << out;
  EXPECT_EQ(out, id.recipient().ToString() + "\n");
  auto ids = ReadIdentityFile(dir.File("id"));
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_TRUE((*ids)[0].secret().ConstantTimeEquals(id.secret()));
}

TEST(AgeKeysTest, ParsesAgeKeygenOutput) {
  testing::TempDir dir;
  std::string out;
  ASSERT_EQ(testing::RunCommand("age-keygen -o " + dir.File("k") + " && age-keygen -y " + dir.File("k"), &out), 0);
  auto ids = ReadIdentityFile(dir.File("k"));
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ((*ids)[0].recipient().ToString() + "\n", out.substr(out.find("age1")));
  auto r = X25519Recipient::Parse((*ids)[0].recipient().ToString());
  ASSERT_TRUE(r.ok());
}

TEST(AgeKeysTest, IdentityFileRules) {
  X25519Identity a = X25519Identity::Generate();
  X25519Identity b = X25519Identity::Generate();
  SecretBytes file = SecretBytes::CopyFrom("# comment\r\n\r\n");
  file.append(a.ToString().view());
  file.append("\r\n# another\n");
  file.append(b.ToString().view());
  auto ids = ParseIdentityFile(file);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(ids->size(), 2u);

  EXPECT_EQ(ParseIdentityFile(SecretBytes::CopyFrom("# only comments\n")).status().message(),
            "identity file holds no identity");
  EXPECT_EQ(ParseIdentityFile(SecretBytes::CopyFrom("# c\nsomething else\n")).status().message(),
            "identity file line 2: not an X25519 identity (\"AGE-SECRET-KEY-1…\")");
  SecretBytes lower = a.ToString();
  for (size_t i = 0; i < lower.size(); ++i) lower.data()[i] = static_cast<uint8_t>(tolower(lower.data()[i]));
  EXPECT_EQ(X25519Identity::Parse(lower).status().message(), "age identity: must be upper case");
}

TEST(AgeKeysTest, RecipientRules) {
  X25519Identity a = X25519Identity::Generate();
  std::string r = a.recipient().ToString();
  std::string upper = r;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_EQ(X25519Recipient::Parse(upper).status().message(), "age recipient: must be lower case");
  std::string bad = r;
  bad[10] = bad[10] == 'q' ? 'p' : 'q';
  EXPECT_EQ(X25519Recipient::Parse(bad).status().message(), "age recipient: bech32: bad checksum");
  EXPECT_EQ(X25519Recipient::Parse(std::string(a.ToString().view())).status().message(),
            "age recipient: not an \"age1…\" X25519 recipient");
}

TEST(AgeKeysTest, X25519Rfc7748Vector) {
  // RFC 7748 section 6.1 (Diffie-Hellman).
  auto unhex = [](const char* h) {
    std::string s;
    for (size_t i = 0; h[i]; i += 2) s.push_back(static_cast<char>(std::stoi(std::string(h + i, 2), nullptr, 16)));
    return s;
  };
  SecretBytes alice = SecretBytes::CopyFrom(unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  std::string bob_pub = unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  EXPECT_EQ(X25519PublicKey(alice), unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
  auto shared = X25519(alice, bob_pub);
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(shared->view(), unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"));
  EXPECT_FALSE(X25519(alice, std::string(32, '\0')).ok());
}

}  // namespace
}  // namespace triad::crypto::age
