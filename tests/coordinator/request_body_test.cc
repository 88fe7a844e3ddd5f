// The pure decoders of request bodies (coordinator/internal/request_body.h): each accepts the body
// its handler takes and refuses each malformation with its exact reason. Counts are unsigned JSON
// numbers, as base::ParseJsonStrict reads a non-negative integer.
#include "coordinator/internal/request_body.h"

#include "absl/strings/match.h"
#include "base/encoding.h"
#include "crypto/age_keys.h"
#include "gtest/gtest.h"

namespace triad::coordinator::internal {
namespace {

using nlohmann::json;

std::string Message(const absl::Status& st) {
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  return std::string(st.message());
}

constexpr char kId[] = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(RequestBodyTest, RegisterArtifact) {
  json ok = {{"kind", "dataset"}, {"name", "claims"}, {"id", kId}, {"size", 7u}};
  auto a = DecodeRegisterArtifactBody(ok);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->owner_role, contracts::Role::kDataOwner);
  EXPECT_EQ(a->name, "claims");
  EXPECT_EQ(a->id, kId);
  EXPECT_EQ(a->size, 7u);
  json extra = ok;
  extra["owner"] = "x";
  EXPECT_EQ(Message(DecodeRegisterArtifactBody(extra).status()),
            "request body: unknown field \"owner\"");
  json kind = ok;
  kind["kind"] = "weights";
  EXPECT_EQ(Message(DecodeRegisterArtifactBody(kind).status()),
            "request body: kind \"weights\" is not \"model\" or \"dataset\"");
  json id = ok;
  id["id"] = "sha256:ABC";
  EXPECT_EQ(Message(DecodeRegisterArtifactBody(id).status()),
            "request body: id is not sha256:<64 lower-case hex digits>");
  json size = ok;
  size["size"] = 0u;
  EXPECT_EQ(Message(DecodeRegisterArtifactBody(size).status()),
            "request body: size must be at least 1 byte");
  size["size"] = -1;
  EXPECT_EQ(Message(DecodeRegisterArtifactBody(size).status()),
            "request body: \"size\" missing or not a non-negative integer");
}

TEST(RequestBodyTest, Poll) {
  auto p = DecodePollBody({{"worker_id", "w1"}, {"tee", "tdx"}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->worker_id, "w1");
  EXPECT_EQ(p->tee, "tdx");
  EXPECT_EQ(Message(DecodePollBody({{"worker_id", "w1"}, {"tee", "sgx"}}).status()),
            "request body: tee \"sgx\" is not sev-snp, tdx or sim");
  EXPECT_EQ(Message(DecodePollBody({{"worker_id", "w1"}}).status()),
            "request body: \"tee\" missing or not a string");
}

TEST(RequestBodyTest, Attest) {
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  crypto::age::X25519Identity id = crypto::age::X25519Identity::Generate();
  json ok = {{"job_id", "j-1"},
             {"worker_id", "w1"},
             {"nonce", std::string(64, 'a')},
             {"ed25519_public_key", base::Base64Encode(key.public_key().raw())},
             {"age_recipient", id.recipient().ToString()}};
  auto a = DecodeAttestBody(ok);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->nonce, std::string(32, '\xaa'));
  EXPECT_EQ(a->ed25519_public_key, key.public_key());
  EXPECT_EQ(a->age_recipient, id.recipient());
  json nonce = ok;
  nonce["nonce"] = std::string(62, 'a');
  EXPECT_EQ(Message(DecodeAttestBody(nonce).status()), "request body: nonce is not 64 hex digits");
  json b64 = ok;
  b64["ed25519_public_key"] = "not base64!";
  EXPECT_EQ(Message(DecodeAttestBody(b64).status()),
            "request body: ed25519_public_key is not base64");
  json recipient = ok;
  recipient["age_recipient"] = "age1x";
  EXPECT_TRUE(absl::StartsWith(Message(DecodeAttestBody(recipient).status()),
                               "request body: age_recipient: "));
}

TEST(RequestBodyTest, Progress) {
  auto p = DecodeProgressBody({{"job_id", "j"},
                               {"step", 3u},
                               {"total_steps", 10u},
                               {"tokens_per_second", 1.5},
                               {"loss", 2}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->step, 3u);
  EXPECT_EQ(p->total_steps, 10u);
  EXPECT_EQ(p->tokens_per_second, 1.5);
  EXPECT_EQ(
      Message(DecodeProgressBody({{"step", 11u}, {"total_steps", 10u}, {"tokens_per_second", 1}})
                  .status()),
      "request body: step 11 of total_steps 10 is not a step of a run");
  EXPECT_EQ(
      Message(DecodeProgressBody({{"step", 1u}, {"total_steps", 10u}, {"tokens_per_second", -1}})
                  .status()),
      "request body: tokens_per_second is negative");
}

TEST(RequestBodyTest, KeyholderAnswer) {
  auto a = DecodeKeyholderAnswerBody({{"release_id", "r"}, {"receipt", "{}"}, {"header", "AAE="}});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->header, std::string("\x00\x01", 2));
  auto none = DecodeKeyholderAnswerBody({{"release_id", "r"}, {"receipt", "{}"}});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->header, "");
  EXPECT_EQ(
      Message(DecodeKeyholderAnswerBody({{"release_id", "r"}, {"receipt", "{}"}, {"header", "!"}})
                  .status()),
      "request body: header is not base64");
}

TEST(RequestBodyTest, ExportBundle) {
  auto b = DecodeExportBundleBody(
      {{"job_id", "j-1"}, {"consistency_from", {3u, 7u}}, {"witnessed", 2u}}, "j-1");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->consistency_from, (std::vector<uint64_t>{3, 7}));
  EXPECT_EQ(b->witnessed, 2);
  EXPECT_EQ(Message(DecodeExportBundleBody({{"job_id", "j-2"}}, "j-1").status()),
            "request body: job_id is j-2, not j-1");
  EXPECT_EQ(
      Message(
          DecodeExportBundleBody({{"job_id", "j-1"}, {"consistency_from", {-1}}}, "j-1").status()),
      "request body: consistency_from holds a value that is not a size");
  EXPECT_EQ(
      Message(DecodeExportBundleBody({{"job_id", "j-1"}, {"witnessed", 17u}}, "j-1").status()),
      "request body: witnessed is not a count from 1 to 16");
}

TEST(RequestBodyTest, RegisterPartyAndDeliverOutput) {
  EXPECT_EQ(Message(DecodeRegisterPartyBody(json::object()).status()),
            "request body: \"card\" missing");
  EXPECT_TRUE(
      absl::StartsWith(Message(DecodeRegisterPartyBody({{"card", 1}}).status()), "request body: "));
  auto r = DecodeDeliverOutputBody({{"job_id", "j"}, {"record", "{}"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "{}");
  EXPECT_EQ(Message(DecodeDeliverOutputBody({{"record", 1}}).status()),
            "request body: \"record\" missing or not a string");
}

TEST(RequestBodyTest, Reason) {
  EXPECT_TRUE(CheckReason("out of memory").ok());
  EXPECT_EQ(Message(CheckReason("a\nb")),
            "request body: reason must be 1 to 1024 bytes without control characters");
  EXPECT_EQ(Message(CheckReason("")),
            "request body: reason must be 1 to 1024 bytes without control characters");
}

}  // namespace
}  // namespace triad::coordinator::internal
