#include "contracts/contract.h"

#include <algorithm>
#include <array>

#include "base/encoding.h"
#include "gtest/gtest.h"
#include "tests/contracts/contract_testing.h"
#include "tests/testing/testing.h"

namespace triad::contracts {
namespace {

using testing::MakeParty;
using testing::Party;
using testing::T;
using OJson = nlohmann::ordered_json;
using V = std::vector<std::string>;

class ContractTest : public ::testing::Test {
 protected:
  ContractTest()
      : mo_(MakeParty("acme-ai", Role::kModelOwner)),
        do_(MakeParty("acme-bank", Role::kDataOwner)),
        cp_(MakeParty("gpu-cloud", Role::kComputeProvider)),
        contract_(testing::SampleContract(mo_, do_, cp_)) {}

  const Party& party(int i) const { return i == 0 ? mo_ : (i == 1 ? do_ : cp_); }

  crypto::DsseEnvelope Draft() {
    absl::StatusOr<crypto::DsseEnvelope> env = DraftContract(contract_);
    EXPECT_TRUE(env.ok()) << env.status();
    return *env;
  }
  crypto::DsseEnvelope SignedByAll() {
    crypto::DsseEnvelope env = Draft();
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(SignContract(env, party(i).key, kNow).ok());
    return env;
  }

  // The validation problems of the sample payload after `edit`.
  template <typename Edit>
  V ProblemsAfter(Edit edit) {
    OJson j = contract_.ToJsonValue();
    edit(j);
    V problems;
    absl::StatusOr<Contract> c = Contract::FromPayload(j.dump(), &problems);
    EXPECT_FALSE(c.ok());
    return problems;
  }
  V ProblemsWith(const std::string& pointer, const OJson& value) {
    return ProblemsAfter([&](OJson& j) { j[OJson::json_pointer(pointer)] = value; });
  }
  V ProblemsWithout(const std::string& pointer) {
    return ProblemsAfter([&](OJson& j) {
      OJson::json_pointer p(pointer);
      j[p.parent_pointer()].erase(p.back());
    });
  }

  std::string Label(int i) const {
    const char* slots[] = {"model_owner", "data_owner", "compute_provider"};
    return std::string(slots[i]) + " \"" + party(i).card.name + "\" (key " +
           party(i).card.fingerprint() + ")";
  }

  static inline const absl::Time kNow = T("2025-07-10T12:00:00Z");
  Party mo_, do_, cp_;
  Contract contract_;
};

TEST_F(ContractTest, DraftRoundTripsAndPayloadIsCanonical) {
  crypto::DsseEnvelope env = Draft();
  EXPECT_EQ(env.payload_type, "application/vnd.triad.contract+json");
  EXPECT_TRUE(env.signatures.empty());
  EXPECT_EQ(env.payload, contract_.ToPayload());
  absl::StatusOr<Contract> back = Contract::FromPayload(env.payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ToPayload(), env.payload);
  EXPECT_EQ(back->id, "c-0001");
  EXPECT_EQ(back->data_owner.signing_key, do_.card.signing_key);
  EXPECT_EQ(back->worker_policy.sim->measurements, contract_.worker_policy.sim->measurements);
  EXPECT_EQ(back->training.target_modules.size(), 7u);
  EXPECT_EQ(ContractDigest(env), crypto::Sha256Id(env.payload));
  // Keys in schema order, times in RFC 3339 UTC.
  OJson j = OJson::parse(env.payload);
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (V{"type", "id", "created", "not_before", "not_after", "parties", "base_model",
                     "dataset", "training", "worker_policy", "outputs", "terms"}));
  EXPECT_EQ(j["not_after"], "2025-07-31T00:00:00Z");
  EXPECT_EQ(
      j["outputs"].dump(),
      R"({"adapter_recipients":["model_owner","data_owner"],"metrics_recipients":["model_owner","data_owner"],"per_step_loss":false})");
}

TEST_F(ContractTest, ThreeSignaturesInEverySixOrdersMakeItActive) {
  std::array<int, 3> order{0, 1, 2};
  int orders = 0;
  std::string payload = Draft().payload;
  do {
    crypto::DsseEnvelope env = Draft();
    ASSERT_EQ(env.payload, payload);  // drafting the same terms gives the same bytes
    for (int step = 0; step < 3; ++step) {
      ContractStatus before = CheckContract(env, kNow);
      EXPECT_FALSE(before.active());
      ASSERT_TRUE(SignContract(env, party(order[step]).key, kNow).ok());
      EXPECT_EQ(env.payload, payload);  // signing never changes the payload
    }
    // Through the envelope's JSON form, as a file would carry it.
    absl::StatusOr<crypto::DsseEnvelope> reread = crypto::DsseEnvelope::FromJson(env.ToJson());
    ASSERT_TRUE(reread.ok());
    ContractStatus st = CheckContract(*reread, kNow);
    EXPECT_TRUE(st.active()) << ::testing::PrintToString(st.reasons);
    EXPECT_EQ(st.reasons, V{});
    ASSERT_TRUE(st.contract.has_value());
    for (SignatureState s : st.signatures) EXPECT_EQ(s, SignatureState::kValid);
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(orders, 6);
}

TEST_F(ContractTest, StatusListsMissingSignatures) {
  crypto::DsseEnvelope env = Draft();
  ASSERT_TRUE(SignContract(env, do_.key, kNow).ok());
  ContractStatus st = CheckContract(env, kNow);
  EXPECT_EQ(st.reasons, (V{"no signature by " + Label(0), "no signature by " + Label(2)}));
  EXPECT_EQ(st.signatures[0], SignatureState::kMissing);
  EXPECT_EQ(st.signatures[1], SignatureState::kValid);
  EXPECT_EQ(st.ToJson()["signatures"].dump(),
            R"({"model_owner":"missing","data_owner":"valid","compute_provider":"missing"})");
  EXPECT_EQ(st.ToJson()["active"], false);
  EXPECT_EQ(st.ToJson()["id"], "c-0001");
}

TEST_F(ContractTest, TamperingWithAnyPayloadByteDeactivates) {
  crypto::DsseEnvelope good = SignedByAll();
  ASSERT_TRUE(CheckContract(good, kNow).active());
  // One value changed, the JSON still valid: every signature fails.
  crypto::DsseEnvelope env = good;
  size_t at = env.payload.find("\"rank\": 8");
  ASSERT_NE(at, std::string::npos);
  env.payload[at + 8] = '9';
  ContractStatus st = CheckContract(env, kNow);
  EXPECT_EQ(st.reasons, (V{"signature by " + Label(0) + " does not verify",
                           "signature by " + Label(1) + " does not verify",
                           "signature by " + Label(2) + " does not verify"}));
  EXPECT_EQ(st.signatures[0], SignatureState::kInvalid);
  // And every single-bit change anywhere in the payload.
  for (size_t i = 0; i < good.payload.size(); ++i) {
    crypto::DsseEnvelope e = good;
    e.payload[i] ^= 0x01;
    EXPECT_FALSE(CheckContract(e, kNow).active()) << "byte " << i;
  }
}

TEST_F(ContractTest, SwappedSignaturesDoNotVerify) {
  crypto::DsseEnvelope env = SignedByAll();
  std::swap(env.signatures[0].sig, env.signatures[1].sig);
  EXPECT_EQ(CheckContract(env, kNow).reasons, (V{"signature by " + Label(0) + " does not verify",
                                                 "signature by " + Label(1) + " does not verify"}));
}

TEST_F(ContractTest, DuplicatedSignerIsRejected) {
  crypto::DsseEnvelope env = SignedByAll();
  env.signatures.push_back(env.signatures[1]);
  ContractStatus st = CheckContract(env, kNow);
  EXPECT_EQ(st.reasons, V{Label(1) + " signed more than once"});
  EXPECT_EQ(st.signatures[1], SignatureState::kDuplicate);
}

TEST_F(ContractTest, FourthSignatureIsRejected) {
  crypto::DsseEnvelope env = SignedByAll();
  Party auditor = MakeParty("auditor", Role::kAuditor);
  crypto::DsseSign(env, auditor.key);
  EXPECT_EQ(CheckContract(env, kNow).reasons,
            V{"signature 3 with key id \"" + auditor.card.fingerprint() +
              "\" is not by a party of the contract"});
}

TEST_F(ContractTest, SignatureUnderAPartyKeyIdByAnotherKeyDoesNotVerify) {
  crypto::DsseEnvelope env = SignedByAll();
  Party mallory = MakeParty("mallory", Role::kDataOwner);
  crypto::DsseSign(env, mallory.key);
  env.signatures[2] = env.signatures[3];
  env.signatures[2].keyid = cp_.card.fingerprint();
  env.signatures.pop_back();
  EXPECT_EQ(CheckContract(env, kNow).reasons, V{"signature by " + Label(2) + " does not verify"});
}

TEST_F(ContractTest, ValidityWindow) {
  crypto::DsseEnvelope env = SignedByAll();
  EXPECT_TRUE(CheckContract(env, T("2025-07-01T00:00:00Z")).active());  // not_before is inside
  EXPECT_TRUE(CheckContract(env, T("2025-07-30T23:59:59Z")).active());
  EXPECT_EQ(CheckContract(env, T("2025-06-30T23:59:59Z")).reasons,
            V{"not yet valid: now 2025-06-30T23:59:59Z is before not_before 2025-07-01T00:00:00Z"});
  EXPECT_EQ(CheckContract(env, T("2025-07-31T00:00:00Z")).reasons,
            V{"expired: now 2025-07-31T00:00:00Z is not before not_after 2025-07-31T00:00:00Z"});
}

TEST_F(ContractTest, WrongPayloadTypeIsRejected) {
  crypto::DsseEnvelope env = SignedByAll();
  env.payload_type = "application/vnd.in-toto+json";
  // The signatures cover the payload type too (DSSE PAE).
  ContractStatus st = CheckContract(env, kNow);
  ASSERT_EQ(st.reasons.size(), 4u);
  EXPECT_EQ(st.reasons[0],
            "payloadType \"application/vnd.in-toto+json\" is not "
            "\"application/vnd.triad.contract+json\"");
  EXPECT_EQ(st.reasons[1], "signature by " + Label(0) + " does not verify");
}

TEST_F(ContractTest, InvalidPayloadListsEveryProblemAndNoSignatureChecks) {
  crypto::DsseEnvelope env = SignedByAll();
  OJson j = OJson::parse(env.payload);
  j["training"]["rank"] = 0;
  j["extra"] = 1;
  env.payload = j.dump();
  ContractStatus st = CheckContract(env, kNow);
  EXPECT_EQ(st.reasons,
            (V{"/: unknown property \"extra\"", "/training/rank: 0 is less than minimum 1"}));
  EXPECT_FALSE(st.contract.has_value());
}

TEST_F(ContractTest, PartiesThatAreNotDistinctKeysAreNotActive) {
  // The data owner's slot holds the model owner's key: one signature would count for two parties.
  OJson j = contract_.ToJsonValue();
  OJson twin = mo_.card.ToJsonValue();
  twin["role"] = "data-owner";
  twin["age_recipient"] = do_.card.age_recipient.ToString();
  j["parties"]["data_owner"] = twin;
  crypto::DsseEnvelope env{std::string(kContractPayloadType), j.dump(2), {}};
  crypto::DsseSign(env, mo_.key);
  crypto::DsseSign(env, cp_.key);
  ContractStatus st = CheckContract(env, kNow);
  EXPECT_EQ(st.reasons, V{"/parties: model_owner and data_owner have the same signing key " +
                          mo_.card.fingerprint()});
  EXPECT_FALSE(st.active());
  EXPECT_EQ(SignContract(env, mo_.key, kNow).message(),
            "refusing to sign an invalid contract: /parties: model_owner and data_owner have the same "
            "signing key " +
                mo_.card.fingerprint());
}

TEST_F(ContractTest, SignRefusals) {
  crypto::DsseEnvelope env = Draft();
  Party outsider = MakeParty("outsider", Role::kDataOwner);
  EXPECT_EQ(SignContract(env, outsider.key, kNow).message(),
            "key " + outsider.card.fingerprint() +
                " is not a party of contract c-0001 (model_owner " + mo_.card.fingerprint() +
                ", data_owner " + do_.card.fingerprint() + ", compute_provider " +
                cp_.card.fingerprint() + ")");
  ASSERT_TRUE(SignContract(env, mo_.key, kNow).ok());
  absl::Status again = SignContract(env, mo_.key, kNow);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.message(), Label(0) + " has already signed contract c-0001");
  EXPECT_EQ(env.signatures.size(), 1u);
  EXPECT_EQ(SignContract(env, do_.key, T("2025-07-31T00:00:00Z")).message(),
            "contract c-0001 expired at 2025-07-31T00:00:00Z; draft a new one");
  crypto::DsseEnvelope other = env;
  other.payload_type = "text/plain";
  EXPECT_EQ(
      SignContract(other, do_.key, kNow).message(),
      "not a contract: payloadType \"text/plain\" is not \"application/vnd.triad.contract+json\"");
  other = env;
  other.payload = "[]";
  EXPECT_EQ(SignContract(other, do_.key, kNow).message(),
            "refusing to sign an invalid contract: /: expected object, got array");
}

TEST_F(ContractTest, DraftRefusesAnInvalidContract) {
  contract_.training.rank = 0;
  contract_.not_after = contract_.not_before;
  EXPECT_EQ(DraftContract(contract_).status().message(),
            "contract: /training/rank: 0 is less than minimum 1");
  contract_.training.rank = 8;
  EXPECT_EQ(
      DraftContract(contract_).status().message(),
      "contract: /not_after: 2025-07-01T00:00:00Z is not after not_before 2025-07-01T00:00:00Z");
}

// Training on GPUs needs a policy that attests them, and exactly as many.
TEST_F(ContractTest, GpuTrainingNeedsTheGpuPolicy) {
  contract_.training.gpus = 2;
  EXPECT_EQ(DraftContract(contract_).status().message(),
            "contract: /worker_policy: training asks for 2 GPUs but the policy has no nvidia_gpu "
            "section: a worker would train on GPUs no one attested (add nvidia_gpu with count 2)");
  GpuRequirements g;
  g.count = 1;
  g.architectures = {"hopper"};
  g.min_driver_version = "550.54.15";
  g.min_vbios_version = "96.00.74.00.1C";
  contract_.worker_policy.nvidia_gpu = g;
  EXPECT_EQ(DraftContract(contract_).status().message(),
            "contract: /worker_policy/nvidia_gpu/count: 1, but training asks for 2 GPUs "
            "(/training/gpus)");
  EXPECT_EQ(CheckGpuContract(contract_.training, contract_.worker_policy).message(),
            "contract: /worker_policy/nvidia_gpu/count: 1, but training asks for 2 GPUs "
            "(/training/gpus)");
  contract_.worker_policy.nvidia_gpu->count = 2;
  absl::StatusOr<crypto::DsseEnvelope> env = DraftContract(contract_);
  ASSERT_TRUE(env.ok()) << env.status();
  OJson j = OJson::parse(env->payload);
  EXPECT_EQ(j["training"]["gpus"], 2);
  EXPECT_EQ(j["worker_policy"]["nvidia_gpu"]["count"], 2);
  // The trainer's form does not carry it.
  EXPECT_FALSE(contract_.training.ToJson().contains("gpus"));
  // A GPU policy with CPU training.
  contract_.training.gpus = 0;
  EXPECT_EQ(GpuContractProblems(contract_.training, contract_.worker_policy),
            V{"/worker_policy/nvidia_gpu/count: 2, but training asks for 0 GPUs (/training/gpus)"});
  // Without GPUs the training section keeps its bytes: no "gpus" key.
  contract_.worker_policy.nvidia_gpu.reset();
  EXPECT_FALSE(OJson::parse(Draft().payload)["training"].contains("gpus"));
  EXPECT_EQ(ProblemsWith("/training/gpus", 9),
            V{"/training/gpus: 9 is greater than maximum 8"});
}

TEST_F(ContractTest, DocumentRules) {
  EXPECT_EQ(ProblemsWith("/extra", 1), V{"/: unknown property \"extra\""});
  EXPECT_EQ(ProblemsWith("/type", "triad.contract/v2"),
            V{"/type: \"triad.contract/v2\" is not \"triad.contract/v1\""});
  EXPECT_EQ(ProblemsWithout("/id"), V{"/: missing required property \"id\""});
  EXPECT_EQ(ProblemsWith("/id", "-x"),
            V{"/id: \"-x\" does not match ^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$"});
  EXPECT_EQ(ProblemsWith("/created", "2025-07-01 00:00:00"),
            V{"/created: \"2025-07-01 00:00:00\" does not match "
              "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"});
  EXPECT_EQ(ProblemsWith("/created", "2025-02-30T00:00:00Z"),
            V{"/created: \"2025-02-30T00:00:00Z\" is not a valid time"});
  EXPECT_EQ(ProblemsWith("/not_before", "2025-06-30T00:00:00Z"),
            V{"/not_before: 2025-06-30T00:00:00Z is before created 2025-07-01T00:00:00Z"});
  EXPECT_EQ(ProblemsWith("/not_after", "2025-07-01T00:00:00Z"),
            V{"/not_after: 2025-07-01T00:00:00Z is not after not_before 2025-07-01T00:00:00Z"});
  EXPECT_EQ(ProblemsWith("/not_after", 5), V{"/not_after: expected string, got integer"});
}

TEST_F(ContractTest, PartyRules) {
  EXPECT_EQ(ProblemsWith("/parties/model_owner/role", "data-owner"),
            V{"/parties/model_owner/role: \"data-owner\" is not \"model-owner\""});
  EXPECT_EQ(ProblemsWith("/parties/compute_provider/role", "auditor"),
            V{"/parties/compute_provider/role: \"auditor\" is not \"compute-provider\""});
  EXPECT_EQ(ProblemsWith("/parties/auditor", do_.card.ToJsonValue()),
            V{"/parties: unknown property \"auditor\""});
  EXPECT_EQ(ProblemsWithout("/parties/data_owner"),
            V{"/parties: missing required property \"data_owner\""});
  EXPECT_EQ(ProblemsWith("/parties/data_owner/x", 1),
            V{"/parties/data_owner: unknown property \"x\""});
  EXPECT_EQ(ProblemsWith("/parties/data_owner/fingerprint", mo_.card.fingerprint()),
            V{"/parties/data_owner: party card: fingerprint does not match ed25519_public_key"});
  EXPECT_EQ(
      ProblemsWith("/parties/data_owner/name", "a b"),
      V{"/parties/data_owner/name: \"a b\" does not match ^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$"});
  EXPECT_EQ(ProblemsWith("/parties/data_owner/ed25519_public_key", "AAAA"),
            V{"/parties/data_owner/ed25519_public_key: \"AAAA\" does not match "
              "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$"});
  std::string recipient = do_.card.age_recipient.ToString();
  recipient[10] = recipient[10] == 'q' ? 'p' : 'q';
  EXPECT_EQ(ProblemsWith("/parties/data_owner/age_recipient", recipient),
            V{"/parties/data_owner: party card: age recipient: bech32: bad checksum"});
}

TEST_F(ContractTest, PartiesMustBeDistinctKeys) {
  // The data owner's slot holds a card with the model owner's keys.
  OJson same_keys = mo_.card.ToJsonValue();
  same_keys["role"] = "data-owner";
  EXPECT_EQ(
      ProblemsWith("/parties/data_owner", same_keys),
      (V{"/parties: model_owner and data_owner have the same signing key " + mo_.card.fingerprint(),
         "/parties: model_owner and data_owner have the same age recipient"}));
  OJson same_signing = cp_.card.ToJsonValue();
  same_signing["role"] = "data-owner";
  same_signing["age_recipient"] = do_.card.age_recipient.ToString();
  EXPECT_EQ(ProblemsWith("/parties/data_owner", same_signing),
            V{"/parties: data_owner and compute_provider have the same signing key " +
              cp_.card.fingerprint()});
  EXPECT_EQ(
      ProblemsWith("/parties/compute_provider/age_recipient", mo_.card.age_recipient.ToString()),
      V{"/parties: model_owner and compute_provider have the same age recipient"});
}

TEST_F(ContractTest, ArtifactRules) {
  EXPECT_EQ(ProblemsWith("/base_model/id", "sha256:ABC"),
            V{"/base_model/id: \"sha256:ABC\" does not match ^sha256:[0-9a-f]{64}$"});
  EXPECT_EQ(ProblemsWith("/dataset/id", contract_.base_model.id),
            V{"/dataset/id: the same artifact as base_model"});
  EXPECT_EQ(ProblemsWith("/dataset/name", ".hidden"),
            V{"/dataset/name: \".hidden\" does not match ^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$"});
  EXPECT_EQ(ProblemsWithout("/dataset/name"), V{"/dataset: missing required property \"name\""});
  EXPECT_EQ(ProblemsWith("/dataset/size", 5), V{"/dataset: unknown property \"size\""});
}

TEST_F(ContractTest, SectionRulesAreReportedWithTheirContractPaths) {
  EXPECT_EQ(ProblemsWith("/training/rank", 0), V{"/training/rank: 0 is less than minimum 1"});
  EXPECT_EQ(ProblemsWith("/training/target_modules/6", "lm_head"),
            V{"/training/target_modules/6: lm_head is refused: LoRA adapts only the attention and "
              "MLP projections "
              "(q_proj k_proj v_proj o_proj gate_proj up_proj down_proj), never embed_tokens or "
              "lm_head"});
  EXPECT_EQ(
      ProblemsWith("/worker_policy/tee", OJson::array({"tdx", "nvidia-gpu"})),
      (V{"/worker_policy/tee/1: \"nvidia-gpu\" is not one of [\"sev-snp\",\"tdx\",\"sim\"]"}));
  EXPECT_EQ(ProblemsWith("/worker_policy/tee", OJson::array({"tdx", "sim"})),
            V{"/worker_policy/sev_snp: there is a sev_snp section but tee does not list sev-snp"});
  EXPECT_EQ(ProblemsWith("/outputs/adapter_recipients", OJson::array({"compute_provider"})),
            V{"/outputs/adapter_recipients/0: \"compute_provider\" is not one of "
              "[\"model_owner\",\"data_owner\"]"});
  EXPECT_EQ(ProblemsWith("/outputs/adapter_recipients", OJson::array()),
            V{"/outputs/adapter_recipients: has 0 items, fewer than the minimum 1"});
  EXPECT_EQ(ProblemsWith("/outputs/metrics_recipients", OJson::array({"data_owner", "data_owner"})),
            V{"/outputs/metrics_recipients: items 0 and 1 are equal (\"data_owner\")"});
  EXPECT_EQ(ProblemsWithout("/outputs/per_step_loss"),
            V{"/outputs: missing required property \"per_step_loss\""});
  EXPECT_EQ(ProblemsWith("/outputs/per_step_loss", "yes"),
            V{"/outputs/per_step_loss: expected boolean, got string"});
}

TEST_F(ContractTest, BytesThatAreNotAContract) {
  V problems;
  EXPECT_FALSE(Contract::FromPayload("not json", &problems).ok());
  EXPECT_EQ(problems, V{"JSON: syntax error at byte 2"});
  EXPECT_EQ(Contract::FromPayload(R"({"id": "a", "id": "b"})", &problems).status().message(),
            "contract: JSON: duplicate key \"id\"");
  EXPECT_EQ(Contract::FromPayload("[[[[[[[[[[1]]]]]]]]]]", &problems).status().message(),
            "contract: JSON: nesting deeper than 8");
  std::string big(kMaxContractPayloadSize + 1, ' ');
  EXPECT_EQ(Contract::FromPayload(big, &problems).status().message(),
            "contract: payload is 262145 bytes, more than the limit of 262144");
  EXPECT_EQ(Contract::FromPayload("[]", &problems).status().message(),
            "contract: /: expected object, got array");
  // A payload that is valid except for a trailing newline after a value is still the same JSON; the
  // pretty form drafting writes is accepted, and so is compact JSON.
  EXPECT_TRUE(Contract::FromPayload(contract_.ToJsonValue().dump()).ok());
}

TEST_F(ContractTest, OutputsStandalone) {
  V problems;
  absl::StatusOr<Outputs> o = Outputs::FromText(
      R"({"adapter_recipients": ["data_owner"], "metrics_recipients": ["compute_provider"],
                            "per_step_loss": true})");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->adapter_recipients, std::vector<Role>{Role::kDataOwner});
  EXPECT_EQ(o->metrics_recipients, std::vector<Role>{Role::kComputeProvider});
  EXPECT_TRUE(o->per_step_loss);
  EXPECT_EQ(
      Outputs::FromText(R"({"adapter_recipients": []})", &problems).status().message(),
      "outputs: /: missing required property \"metrics_recipients\"; /: missing required property "
      "\"per_step_loss\"; /adapter_recipients: has 0 items, fewer than the minimum 1");
  EXPECT_EQ(problems.size(), 3u);
}

}  // namespace
}  // namespace triad::contracts

namespace triad::contracts {
namespace {

// The contract fuzzer's seeds stay valid documents as the schema evolves (a seed that no longer
// parses would leave the fuzzer exploring only rejections). The first byte picks the parser.
TEST(ContractFuzzSeedsTest, SeedsAreValidDocuments) {
  std::string dir = ::triad::testing::SourceDir() + "/tests/fuzz/seeds/contract/";
  auto text = [&](const char* name, char mode) {
    std::string t = ::triad::testing::ReadTestFile(dir + name);
    EXPECT_FALSE(t.empty()) << name;
    EXPECT_EQ(t.empty() ? '\0' : t[0], mode) << name;
    return t.empty() ? t : t.substr(1);
  };
  EXPECT_TRUE(Contract::FromPayload(text("payload.json", '0')).ok());
  EXPECT_TRUE(Contract::FromPayload(text("payload-compact.json", '0')).ok());
  auto signed_env = crypto::DsseEnvelope::FromJson(text("envelope-signed.json", '1'));
  ASSERT_TRUE(signed_env.ok());
  EXPECT_TRUE(CheckContract(*signed_env, testing::T("2025-07-10T00:00:00Z")).active());
  auto sim_env = crypto::DsseEnvelope::FromJson(text("envelope-sim-unsigned.json", '1'));
  ASSERT_TRUE(sim_env.ok());
  EXPECT_TRUE(CheckContract(*sim_env, testing::T("2025-07-09T12:00:00Z")).contract.has_value());
  EXPECT_TRUE(WorkerPolicy::FromText(text("policy-full.json", '2')).ok());
  EXPECT_TRUE(WorkerPolicy::FromText(text("policy-hardware.json", '2')).ok());
  EXPECT_TRUE(TrainingConfig::FromText(text("training.json", '3')).ok());
  EXPECT_TRUE(Outputs::FromText(text("outputs.json", '4')).ok());
  for (const char* name : {"claims-snp.json", "claims-tdx.json", "claims-sim.json"}) {
    auto j = nlohmann::json::parse(text(name, '5'));
    EXPECT_TRUE(Claims::FromJson(j).ok()) << name;
  }
}

}  // namespace
}  // namespace triad::contracts
