// The job record: an in-toto Statement v1 in DSSE (worker/job_record.h).
#include "worker/job_record.h"

#include "base/encoding.h"
#include "crypto/dsse.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"

namespace triad::worker {
namespace {

JobRecord Sample() {
  JobRecord r;
  r.job_id = "j-1";
  r.contract_id = "c-1";
  r.contract_digest = "sha256:" + std::string(64, 'c');
  r.base_model_id = "sha256:" + std::string(64, 'a');
  r.dataset_id = "sha256:" + std::string(64, 'b');
  r.adapter_sha256 = std::string(64, 'd');
  r.tee = "sim";
  r.evidence_digest = "sha256:" + std::string(64, 'e');
  r.claims = nlohmann::ordered_json::parse(R"({"tee":"sim","debug":false})");
  r.simulated = true;
  r.ed25519_public_key = std::string(32, '\x01');
  r.age_recipient = "age1xyz";
  r.steps = 3;
  r.tokens = 96;
  r.wall_seconds = 0.5;
  r.recipients = {"age1mo", "age1do"};
  return r;
}

TEST(JobRecordTest, PayloadIsTheSpecifiedStatement) {
  JobRecord r = Sample();
  const std::string a64(64, 'a'), b64(64, 'b'), c64(64, 'c'), d64(64, 'd'), e64(64, 'e');
  const std::string expected =
      R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"j-1.adapter.tar.age",)"
      R"("digest":{"sha256":")" +
      d64 +
      R"("}}],"predicateType":"https://triad.dev/job-record/v1",)"
      R"("predicate":{"job_id":"j-1","contract_id":"c-1","contract_digest":"sha256:)" +
      c64 + R"(","inputs":[{"role":"base_model","id":"sha256:)" + a64 +
      R"("},{"role":"dataset","id":"sha256:)" + b64 +
      R"("}],"worker":{"tee":"sim","evidence_digest":"sha256:)" + e64 +
      R"(","claims":{"tee":"sim","debug":false},"simulated":true,)"
      R"("ed25519_public_key":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=","age_recipient":"age1xyz"},)"
      R"("training":{"steps":3,"tokens":96,"wall_seconds":0.5},"recipients":["age1mo","age1do"]}})";
  EXPECT_EQ(r.ToPayload(), expected);
  // Metrics only sealed, and only when there are metrics recipients.
  r.metrics_recipients = {"age1mo"};
  r.sealed_metrics = "sealed";
  EXPECT_NE(
      r.ToPayload().find(
          R"("recipients":["age1mo","age1do"],"metrics":{"recipients":["age1mo"],"sealed":"c2VhbGVk"}})"),
      std::string::npos)
      << r.ToPayload();
  EXPECT_EQ(r.ToPayload().find("final_loss"), std::string::npos);
}

TEST(JobRecordTest, SignedByTheGivenKeyOnly) {
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  crypto::Ed25519PrivateKey other = crypto::Ed25519PrivateKey::Generate();
  crypto::DsseEnvelope env = SignJobRecord(Sample(), key);
  EXPECT_EQ(env.payload_type, "application/vnd.in-toto+json");
  EXPECT_EQ(env.payload, Sample().ToPayload());
  EXPECT_TRUE(crypto::DsseVerifySignedBy(env, key.public_key()).ok());
  EXPECT_FALSE(crypto::DsseVerifySignedBy(env, other.public_key()).ok());
  env.payload[10] ^= 1;
  EXPECT_FALSE(crypto::DsseVerifySignedBy(env, key.public_key()).ok());
}

}  // namespace
}  // namespace triad::worker
