#include "crypto/dsse.h"

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::crypto {
namespace {

TEST(DsseTest, PaeMatchesSpecExample) {
  // secure-systems-lab/dsse protocol.md example.
  EXPECT_EQ(DssePae("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(DssePae("", ""), "DSSEv1 0  0 ");
}

TEST(DsseTest, SignVerifyAndJsonRoundTrip) {
  Ed25519PrivateKey a = Ed25519PrivateKey::Generate();
  Ed25519PrivateKey b = Ed25519PrivateKey::Generate();
  DsseEnvelope env{"application/vnd.test+json", "{\"x\":1}", {}};
  DsseSign(env, a);
  DsseSign(env, b);
  ASSERT_EQ(env.signatures.size(), 2u);
  EXPECT_EQ(env.signatures[0].keyid, a.public_key().KeyId());

  auto parsed = DsseEnvelope::FromJson(env.ToJson());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->payload, env.payload);
  EXPECT_EQ(parsed->ToJson(), env.ToJson());
  EXPECT_TRUE(DsseVerifySignedBy(*parsed, a.public_key()).ok());
  EXPECT_TRUE(DsseVerifySignedBy(*parsed, b.public_key()).ok());

  Ed25519PrivateKey c = Ed25519PrivateKey::Generate();
  EXPECT_EQ(DsseVerifySignedBy(*parsed, c.public_key()).message(),
            "no signature by " + c.public_key().KeyId());

  DsseEnvelope tampered = *parsed;
  tampered.payload[2] ^= 1;
  EXPECT_EQ(DsseVerifySignedBy(tampered, a.public_key()).message(),
            "signature by " + a.public_key().KeyId() + ": Ed25519 signature does not verify");
  tampered = *parsed;
  tampered.payload_type = "application/other";
  EXPECT_FALSE(DsseVerifySignedBy(tampered, a.public_key()).ok());

  DsseEnvelope dup = *parsed;
  dup.signatures.push_back(dup.signatures[0]);
  EXPECT_EQ(DsseVerifySignedBy(dup, a.public_key()).message(),
            "more than one signature by " + a.public_key().KeyId());
}

TEST(DsseTest, FromJsonIsStrict) {
  EXPECT_EQ(DsseEnvelope::FromJson("[]").status().message(), "DSSE envelope: not a JSON object");
  EXPECT_EQ(DsseEnvelope::FromJson(R"({"payload":"","payloadType":"t","signatures":[],"x":1})")
                .status()
                .message(),
            "DSSE envelope: unknown field \"x\"");
  EXPECT_EQ(DsseEnvelope::FromJson(R"({"payloadType":"t","signatures":[]})").status().message(),
            "DSSE envelope: \"payload\" missing or not a string");
  EXPECT_EQ(DsseEnvelope::FromJson(R"({"payload":"!!!!","payloadType":"t","signatures":[]})")
                .status()
                .message(),
            "DSSE envelope: payload: base64: invalid character");
  EXPECT_EQ(DsseEnvelope::FromJson(R"({"payload":"","payloadType":"t","signatures":[{"keyid":"a"}]})")
                .status()
                .message(),
            "DSSE envelope: each signature must be {\"keyid\": string, \"sig\": string}");
  EXPECT_EQ(DsseEnvelope::FromJson(R"({"payload":"","payload":"","payloadType":"t","signatures":[]})")
                .status()
                .message(),
            "DSSE envelope: JSON: duplicate key \"payload\"");
}

}  // namespace
}  // namespace triad::crypto
