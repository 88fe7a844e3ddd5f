#include "coordinator/request.h"

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::coordinator {
namespace {

constexpr char kAud[] = "coordinator-fingerprint";

class RequestTest : public ::testing::Test {
 protected:
  crypto::Ed25519PrivateKey key_ = crypto::Ed25519PrivateKey::Generate();
  absl::Time now_ = absl::FromUnixSeconds(1800000000);
  KeyLookup lookup_ = [this](const std::string& keyid) -> absl::StatusOr<crypto::Ed25519PublicKey> {
    if (keyid == key_.public_key().KeyId()) return key_.public_key();
    return absl::PermissionDeniedError("unknown signer " + keyid);
  };
};

TEST_F(RequestTest, RoundTrip) {
  crypto::DsseEnvelope env = SignRequest("submit-job", {{"contract", "c1"}}, key_, now_, kAud);
  auto v = VerifyRequest(env.ToJson(), "submit-job", now_ + absl::Minutes(4), lookup_, kAud);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->request.body["contract"], "c1");
  EXPECT_EQ(v->request.request_id.size(), 32u);
  EXPECT_EQ(v->signer, key_.public_key());
}

TEST_F(RequestTest, EachRejection) {
  crypto::DsseEnvelope env = SignRequest("submit-job", {{"contract", "c1"}}, key_, now_, kAud);
  EXPECT_EQ(VerifyRequest(env.ToJson(), "register-party", now_, lookup_, kAud).status().message(),
            "request: action is \"submit-job\", this call performs \"register-party\"");
  auto stale = VerifyRequest(env.ToJson(), "submit-job", now_ + absl::Minutes(6), lookup_, kAud);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kDeadlineExceeded);
  auto future = VerifyRequest(env.ToJson(), "submit-job", now_ - absl::Minutes(6), lookup_, kAud);
  EXPECT_EQ(future.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(future.status().message(),
            "request: issued_at 2027-01-15T08:00:00Z is 6 minutes after the coordinator's time "
            "2027-01-15T07:54:00Z (at most 5 either way); check the clocks");
  EXPECT_TRUE(
      VerifyRequest(env.ToJson(), "submit-job", now_ - absl::Minutes(5), lookup_, kAud).ok());
  EXPECT_EQ(
      VerifyRequest(env.ToJson(), "submit-job", now_, lookup_, "another").status().message(),
      "request is addressed to coordinator coordinator-fingerprint, not to this one (another)");
  crypto::Ed25519PrivateKey other = crypto::Ed25519PrivateKey::Generate();
  crypto::DsseEnvelope by_other = SignRequest("submit-job", {}, other, now_, kAud);
  EXPECT_EQ(VerifyRequest(by_other.ToJson(), "submit-job", now_, lookup_, kAud).status().message(),
            "unknown signer " + other.public_key().KeyId());
  crypto::DsseEnvelope tampered = env;
  tampered.payload[tampered.payload.size() - 3] ^= 1;
  EXPECT_EQ(VerifyRequest(tampered.ToJson(), "submit-job", now_, lookup_, kAud).status().code(),
            absl::StatusCode::kPermissionDenied);
  crypto::DsseEnvelope two = env;
  crypto::DsseSign(two, key_);
  EXPECT_EQ(VerifyRequest(two.ToJson(), "submit-job", now_, lookup_, kAud).status().message(),
            "request: must carry exactly one signature");
  crypto::DsseEnvelope wrong_type = env;
  wrong_type.payload_type = "application/json";
  EXPECT_EQ(
      VerifyRequest(wrong_type.ToJson(), "submit-job", now_, lookup_, kAud).status().message(),
      "request: payloadType must be application/vnd.triad.request+json");
}

TEST_F(RequestTest, PayloadForm) {
  EXPECT_EQ(
      ParseRequestPayload(
          R"({"type":"triad.request/v2","action":"a","audience":"x","issued_at":"2026-01-01T00:00:00Z","request_id":"00","body":{}})")
          .status()
          .message(),
      "request: request_id must be 32 hex digits");
  EXPECT_EQ(
      ParseRequestPayload(
          R"({"type":"triad.request/v2","action":"a","audience":"x","issued_at":"yesterday","request_id":"00000000000000000000000000000000","body":{}})")
          .status()
          .message(),
      "request: issued_at is not an RFC 3339 time");
  EXPECT_EQ(
      ParseRequestPayload(
          R"({"type":"triad.request/v2","action":"a","audience":"x","issued_at":"2026-01-01T00:00:00Z","request_id":"00000000000000000000000000000000","body":[]})")
          .status()
          .message(),
      "request: \"body\" missing or not an object");
  EXPECT_EQ(
      ParseRequestPayload(
          R"({"type":"x","action":"a","audience":"x","issued_at":"2026-01-01T00:00:00Z","request_id":"00000000000000000000000000000000","body":{}})")
          .status()
          .message(),
      "request: type must be \"triad.request/v2\"");
}

}  // namespace
}  // namespace triad::coordinator
