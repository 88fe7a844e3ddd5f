// The CoordinatorTest fixture: a Harness (coordinator_testing.h) and the test playing three parties,
// an outsider and a sim worker over the real RPCs, up to a delivered job. Shared by the coordinator's
// tests and the audit verifier's, which verify the bundles these jobs export.
#ifndef TRIAD_TESTS_COORDINATOR_COORDINATOR_FIXTURE_H_
#define TRIAD_TESTS_COORDINATOR_COORDINATOR_FIXTURE_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "base/json.h"
#include "keyholder/client.h"
#include "keyholder/journal.h"
#include "keyholder/keyholder.h"
#include "tests/coordinator/coordinator_testing.h"
#include "tests/testing/sim_attest.h"
#include "verify/admission.h"
#include "verify/audit_verify.h"

namespace triad::coordinator {

using contracts::Role;
using testing::Eph;
using testing::GoodMeasurement;
using testing::Party;
using testing::T;
namespace pb = ::triad::v1;

constexpr char kModelCanary[] = "MODEL-PLAINTEXT-CANARY-7f3a";
constexpr char kDataCanary[] = "DATASET-PLAINTEXT-CANARY-91be";
constexpr char kAdapterCanary[] = "ADAPTER-PLAINTEXT-CANARY-c4d2";

struct AttestOptions {
  std::string measurement = GoodMeasurement();
  const Eph* bind_to = nullptr;  // evidence bound to these keys instead of the ones presented
  bool debug = false;
};

class CoordinatorTest : public ::testing::Test {
 protected:
  explicit CoordinatorTest(CoordinatorOptions options = testing::Harness::Defaults())
      : h_(options) {}

  void SetUp() override {
    model_plain_ =
        absl::StrCat("config+safetensors+tokenizer ", kModelCanary, std::string(200000, 'm'));
    data_plain_ = absl::StrCat("{\"text\": \"", kDataCanary, "\"}\n");
    // Each owner encrypts to itself alone (docs/custody.md); its keyholder releases the key.
    model_ct_ = Encrypt(model_plain_, {mo_.card.age_recipient});
    data_ct_ = Encrypt(data_plain_, {do_.card.age_recipient});
    mo_keyholder_ = MakeKeyholder(mo_, "mo.keyholder");
    do_keyholder_ = MakeKeyholder(do_, "do.keyholder");
  }

  // An owner's keyholder, in-process, over its own journal; it trusts the harness's sim key.
  struct TestKeyholder {
    std::unique_ptr<keyholder::Journal> journal;
    std::unique_ptr<std::vector<crypto::age::X25519Identity>> ids;  // stays put when this moves
    std::unique_ptr<keyholder::Keyholder> k;
  };
  TestKeyholder MakeKeyholder(const Party& owner, const std::string& dir) {
    TestKeyholder t;
    auto j = keyholder::Journal::Open(h_.dir.File(dir));
    EXPECT_TRUE(j.ok()) << j.status();
    t.journal = *std::move(j);
    t.ids = std::make_unique<std::vector<crypto::age::X25519Identity>>();
    t.ids->push_back(*crypto::age::X25519Identity::FromSecret(owner.identity.secret().Clone()));
    attestation::TrustAnchors anchors = h_.Anchors();
    t.k = std::make_unique<keyholder::Keyholder>(
        *t.journal, keyholder::Owner{owner.card, &owner.key, t.ids.get()}, h_.card(), anchors,
        h_.clock,
        [this, &owner](const std::string& id,
                       const std::function<absl::Status(absl::string_view)>& sink) {
          return keyholder::DownloadFromCoordinator(h_.channel(), owner.key, h_.fingerprint(),
                                                    h_.clock)(id, sink);
        });
    return t;
  }

  // One round of both owners' keyholders: each polls, decides every pending release and answers.
  std::vector<keyholder::Answer> ServeKeyholders() {
    std::vector<keyholder::Answer> out;
    for (auto [party, kh] :
         {std::make_pair(&mo_, &mo_keyholder_), std::make_pair(&do_, &do_keyholder_)}) {
      uint64_t known = 0;
      if (auto note = kh->journal->LastCheckpoint(); note.ok() && note->has_value()) {
        known = verify::OpenCardCheckpoint(h_.card(), **note)->size;
      }
      pb::KeyholderPollReply reply;
      grpc::ClientContext ctx;
      grpc::Status st = h_.keyholders->Poll(
          &ctx, h_.Signed("keyholder-poll", {{"known_tree_size", known}}, party->key), &reply);
      EXPECT_TRUE(st.ok()) << st.error_message();
      for (const pb::ReleaseRequest& r : reply.requests()) {
        auto a = kh->k->Decide(keyholder::ReleaseContextFromProto(r));
        EXPECT_TRUE(a.ok()) << a.status();
        if (!a.ok()) continue;
        nlohmann::json body = {{"release_id", a->release_id}, {"receipt", a->receipt_json}};
        if (a->release) body["header"] = base::Base64Encode(a->header);
        grpc::ClientContext ctx2;
        pb::Ack ack;
        grpc::Status answered =
            h_.keyholders->Answer(&ctx2, h_.Signed("keyholder-answer", body, party->key), &ack);
        EXPECT_TRUE(answered.ok()) << answered.error_message();
        out.push_back(*std::move(a));
      }
    }
    return out;
  }

  grpc::Status AwaitKeys(const std::string& job, const Eph& eph, pb::KeysReply* reply) {
    grpc::ClientContext ctx;
    return h_.workers->AwaitKeys(&ctx, h_.Signed("await-keys", {{"job_id", job}}, eph.key), reply);
  }

  // The headers the keyholders released for `eph`, by artifact id.
  std::map<std::string, std::string> Keys(const std::string& job, const Eph& eph) {
    ServeKeyholders();
    pb::KeysReply reply;
    grpc::Status st = AwaitKeys(job, eph, &reply);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(reply.ready()) << absl::StrJoin(reply.reasons(), "; ");
    std::map<std::string, std::string> out;
    for (const pb::RewrappedHeader& h : reply.headers()) out[h.artifact_id()] = h.header();
    return out;
  }

  static std::string Encrypt(absl::string_view plain,
                             std::vector<crypto::age::X25519Recipient> to) {
    auto ct = crypto::age::Encrypt(to, plain);
    EXPECT_TRUE(ct.ok()) << ct.status();
    return *ct;
  }

  // The operator adds a party (coordinator parties add).
  grpc::Status Register(const Party& p) {
    absl::StatusOr<bool> added = AddParty(h_.store(), p.card, h_.clock.Now());
    return added.ok() ? grpc::Status::OK
                      : grpc::Status(static_cast<grpc::StatusCode>(added.status().code()),
                                     std::string(added.status().message()));
  }

  // Uploads `bytes` declared as `id` and `size` (the real ones by default), in 1000-byte chunks.
  grpc::Status Upload(const Party& owner, const std::string& kind, const std::string& name,
                      const std::string& bytes, std::string id = "", int64_t size = -1,
                      pb::ArtifactInfo* info_out = nullptr) {
    if (id.empty()) id = crypto::Sha256Id(bytes);
    if (size < 0) size = static_cast<int64_t>(bytes.size());
    grpc::ClientContext ctx;
    pb::ArtifactInfo info;
    auto w = h_.registry->UploadArtifact(&ctx, &info);
    pb::ArtifactUpload first;
    *first.mutable_registration() = h_.Signed(
        "register-artifact",
        {{"kind", kind}, {"name", name}, {"id", id}, {"size", static_cast<uint64_t>(size)}},
        owner.key);
    if (w->Write(first)) {
      for (size_t i = 0; i < bytes.size(); i += 1000) {
        pb::ArtifactUpload m;
        m.mutable_chunk()->set_data(bytes.substr(i, 1000));
        if (!w->Write(m)) break;
      }
    }
    w->WritesDone();
    grpc::Status st = w->Finish();
    if (info_out != nullptr) *info_out = info;
    return st;
  }

  // Registers the three parties and the outsider, uploads the model and dataset.
  void RegisterAll() {
    for (const Party* p : {&mo_, &do_, &cp_, &eve_}) ASSERT_TRUE(Register(*p).ok());
    ASSERT_TRUE(Upload(mo_, "model", "tiny-model", model_ct_).ok());
    ASSERT_TRUE(Upload(do_, "dataset", "claims", data_ct_).ok());
  }

  contracts::Contract MakeContract() {
    contracts::WorkerPolicy policy;
    policy.tee = {contracts::kTeeSim};
    policy.sim = contracts::SimReference{{GoodMeasurement()}, {}};
    return contracts::Contract{"c-0001",
                               T("2025-07-01T00:00:00Z"),
                               T("2025-07-01T00:00:00Z"),
                               T("2025-07-31T00:00:00Z"),
                               mo_.card,
                               do_.card,
                               cp_.card,
                               {crypto::Sha256Id(model_ct_), "tiny-model"},
                               {crypto::Sha256Id(data_ct_), "claims"},
                               contracts::TrainingConfig::Default(),
                               policy,
                               contracts::Outputs::Default(),
                               contracts::Terms{10, 300},
                               {}};
  }

  std::string SignedContract(const contracts::Contract& c, std::vector<const Party*> signers) {
    auto env = contracts::DraftContract(c);
    EXPECT_TRUE(env.ok()) << env.status();
    for (const Party* p : signers)
      EXPECT_TRUE(contracts::SignContract(*env, p->key, h_.clock.Now()).ok());
    return env->ToJson();
  }

  grpc::Status SubmitContract(const std::string& envelope, pb::ContractReply* reply = nullptr) {
    grpc::ClientContext ctx;
    pb::SubmitContractRequest req;
    req.set_envelope_json(envelope);
    pb::ContractReply r;
    grpc::Status st = h_.contracts->SubmitContract(&ctx, req, &r);
    if (reply != nullptr) *reply = r;
    return st;
  }

  // Everything up to an active contract.
  void SetUpContract(contracts::Contract* c = nullptr) {
    RegisterAll();
    contracts::Contract contract = c != nullptr ? *c : MakeContract();
    grpc::Status st = SubmitContract(SignedContract(contract, {&mo_, &do_, &cp_}));
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  grpc::Status SubmitJob(const Party& by, const std::string& contract_id,
                         pb::JobStatus* out = nullptr, const std::string& envelope = "") {
    grpc::ClientContext ctx;
    pb::SignedRequest req;
    req.set_envelope_json(envelope.empty()
                              ? h_.Sign("submit-job", {{"contract_id", contract_id}}, by.key)
                              : envelope);
    pb::SubmitJobReply reply;
    grpc::Status st = h_.jobs->SubmitJob(&ctx, req, &reply);
    if (out != nullptr) *out = reply.status();
    return st;
  }

  std::string NewJob() {
    pb::JobStatus s;
    grpc::Status st = SubmitJob(do_, "c-0001", &s);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return s.id();
  }

  grpc::Status Poll(const Party& by, const std::string& worker, const std::string& tee,
                    pb::PollReply* reply) {
    grpc::ClientContext ctx;
    return h_.workers->Poll(&ctx, h_.Signed("poll", {{"worker_id", worker}, {"tee", tee}}, by.key),
                            reply);
  }

  pb::Assignment MustPoll(const std::string& worker = "w1") {
    pb::PollReply reply;
    grpc::Status st = Poll(cp_, worker, "sim", &reply);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(reply.has_job());
    return reply.assignment();
  }

  grpc::Status Attest(const pb::Assignment& a, const std::string& worker, const Eph& eph,
                      pb::AttestReply* reply, const AttestOptions& o = {}) {
    const Eph& bound = o.bind_to != nullptr ? *o.bind_to : eph;
    const crypto::Ed25519PublicKey bound_key = bound.key.public_key();
    const crypto::age::X25519Recipient eph_recipient = eph.id.recipient();
    const crypto::age::X25519Recipient bound_recipient = bound.id.recipient();
    pb::AttestRequest req = ::triad::testing::SimAttestRequest(
        {a.job_id(), worker, a.nonce(), &cp_.key, &eph.key, &eph_recipient, &bound_key,
         &bound_recipient, &h_.sim_key, o.measurement, o.debug, h_.clock.Now(), h_.fingerprint()});
    grpc::ClientContext ctx;
    return h_.workers->Attest(&ctx, req, reply);
  }

  grpc::Status Download(const std::string& job, const std::string& artifact,
                        const crypto::Ed25519PrivateKey& key, std::string* out) {
    grpc::ClientContext ctx;
    auto r = h_.workers->DownloadInput(
        &ctx, h_.Signed("download-input", {{"job_id", job}, {"artifact_id", artifact}}, key));
    return testing::ReadChunks(*r, out);
  }

  grpc::Status Progress(const std::string& job, const crypto::Ed25519PrivateKey& key, uint64_t step,
                        uint64_t total, std::optional<double> loss = std::nullopt) {
    nlohmann::json body = {
        {"job_id", job}, {"step", step}, {"total_steps", total}, {"tokens_per_second", 1234.5}};
    if (loss) body["loss"] = *loss;
    grpc::ClientContext ctx;
    pb::Ack ack;
    return h_.workers->ReportProgress(&ctx, h_.Signed("report-progress", body, key), &ack);
  }

  grpc::Status Fail(const std::string& job, const crypto::Ed25519PrivateKey& key,
                    const std::string& reason) {
    grpc::ClientContext ctx;
    pb::Ack ack;
    return h_.workers->ReportFailure(
        &ctx, h_.Signed("report-failure", {{"job_id", job}, {"reason", reason}}, key), &ack);
  }

  // The job record a worker builds (E2E-SPEC "Job record"), signed by `eph`.
  std::string Record(const std::string& job, const std::string& adapter_ct, const Eph& eph,
                     const pb::AttestReply& a,
                     const std::function<void(nlohmann::json&)>& edit = nullptr) {
    nlohmann::json st = {
        {"_type", verify::kStatementType},
        {"subject",
         {{{"name", job + ".adapter.tar.age"},
           {"digest", {{"sha256", base::HexEncode(crypto::Sha256(adapter_ct))}}}}}},
        {"predicateType", verify::kJobRecordPredicateType},
        {"predicate",
         {{"job_id", job},
          {"contract_id", "c-0001"},
          {"contract_digest", ContractDigest()},
          {"inputs",
           {{{"role", "base_model"}, {"id", crypto::Sha256Id(model_ct_)}},
            {{"role", "dataset"}, {"id", crypto::Sha256Id(data_ct_)}}}},
          {"worker",
           {{"tee", "sim"},
            {"evidence_digest", a.evidence_digest()},
            {"claims", *base::ParseJsonStrict(a.claims_json())},
            {"simulated", a.simulated()},
            {"ed25519_public_key", base::Base64Encode(eph.key.public_key().raw())},
            {"age_recipient", eph.id.recipient().ToString()}}},
          {"training", {{"steps", 10}, {"tokens", 5120}, {"wall_seconds", 12.5}}},
          {"recipients", {mo_.card.age_recipient.ToString(), do_.card.age_recipient.ToString()}},
          {"metrics",
           {{"recipients", {mo_.card.age_recipient.ToString(), do_.card.age_recipient.ToString()}},
            {"sealed",
             base::Base64Encode(Encrypt("{\"final_loss\": 1.25}\n",
                                        {mo_.card.age_recipient, do_.card.age_recipient}))}}}}}};
    if (edit) edit(st);
    crypto::DsseEnvelope env{verify::kInTotoPayloadType, st.dump(), {}};
    crypto::DsseSign(env, eph.key);
    return env.ToJson();
  }

  grpc::Status Export(const std::string& job, const Party& by, pb::ExportReply* out) {
    grpc::ClientContext ctx;
    pb::ExportRequest req;
    req.set_job_id(job);
    *req.mutable_request() = h_.Signed("export-bundle", {{"job_id", job}}, by.key);
    return h_.audit->ExportBundle(&ctx, req, out);
  }

  std::string ContractDigest() {
    grpc::ClientContext ctx;
    pb::GetContractRequest req;
    req.set_id("c-0001");
    *req.mutable_request() = h_.Signed("get-contract", {{"contract_id", "c-0001"}}, mo_.key);
    pb::GetContractReply reply;
    EXPECT_TRUE(h_.contracts->GetContract(&ctx, req, &reply).ok());
    return reply.status().digest();
  }

  grpc::Status Deliver(const std::string& job, const crypto::Ed25519PrivateKey& key,
                       const std::string& record, const std::string& bytes,
                       pb::Ack* ack = nullptr) {
    grpc::ClientContext ctx;
    pb::Ack a;
    auto w = h_.workers->UploadOutput(&ctx, &a);
    pb::OutputUpload first;
    *first.mutable_statement() =
        h_.Signed("deliver-output", {{"job_id", job}, {"record", record}}, key);
    if (w->Write(first)) {
      pb::OutputUpload m;
      m.mutable_chunk()->set_data(bytes);
      w->Write(m);
    }
    w->WritesDone();
    grpc::Status st = w->Finish();
    if (ack != nullptr) *ack = a;
    return st;
  }

  grpc::Status Fetch(const std::string& job, const Party& by, std::string* out) {
    grpc::ClientContext ctx;
    pb::FetchOutputRequest req;
    *req.mutable_request() = h_.Signed("fetch-output", {{"job_id", job}}, by.key);
    auto r = h_.jobs->FetchOutput(&ctx, req);
    return testing::ReadChunks(*r, out);
  }

  pb::JobStatus GetJob(const std::string& job, const Party* signer = nullptr) {
    grpc::ClientContext ctx;
    pb::GetJobRequest req;
    req.set_id(job);
    *req.mutable_request() =
        h_.Signed("get-job", {{"job_id", job}}, signer != nullptr ? signer->key : cp_.key);
    pb::JobStatus s;
    grpc::Status st = h_.jobs->GetJob(&ctx, req, &s);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return s;
  }

  std::vector<std::string> LogKinds() {
    std::vector<std::string> kinds;
    auto events = h_.store().ListEvents(0, "", 10000);
    for (const auto& e : *events) kinds.push_back(e.kind);
    return kinds;
  }

  // Runs a job through admission; returns the assignment and the reply.
  std::pair<pb::Assignment, pb::AttestReply> Admit(const std::string& worker, const Eph& eph) {
    pb::Assignment a = MustPoll(worker);
    pb::AttestReply reply;
    grpc::Status st = Attest(a, worker, eph, &reply);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(reply.admitted()) << absl::StrJoin(reply.reasons(), "; ");
    return {a, reply};
  }

  testing::Harness h_;
  Party mo_ = testing::MakeParty("mo", Role::kModelOwner);
  Party do_ = testing::MakeParty("do", Role::kDataOwner);
  Party cp_ = testing::MakeParty("cp", Role::kComputeProvider);
  Party eve_ = testing::MakeParty("eve", Role::kDataOwner);
  std::string model_plain_, data_plain_, model_ct_, data_ct_;
  TestKeyholder mo_keyholder_, do_keyholder_;
};

#define EXPECT_STATUS(st, code, msg)                                          \
  do {                                                                        \
    grpc::Status s_ = (st);                                                   \
    EXPECT_EQ(s_.error_code(), grpc::StatusCode::code) << s_.error_message(); \
    EXPECT_EQ(s_.error_message(), msg);                                       \
  } while (false)

}  // namespace triad::coordinator

#endif  // TRIAD_TESTS_COORDINATOR_COORDINATOR_FIXTURE_H_
