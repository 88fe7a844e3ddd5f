// Test fixture for the worker: an in-process fake of the coordinator's Workers service, written
// here by hand, with real crypto throughout: signed requests (coordinator/request.h), sim evidence
// checked by the sim verifier and the binding, the worker policy (contracts::Evaluate), age
// re-wrapping by the owners (as their keyholders, with signed receipts); and the three parties, a
// signed contract, and a tiny random model and dataset carrying canary strings. Included by
// worker_test.cc and worker_cli_test.cc.
#ifndef TRIAD_TESTS_WORKER_WORKER_FIXTURE_H_
#define TRIAD_TESTS_WORKER_WORKER_FIXTURE_H_

#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "attestation/attester.h"
#include "attestation/binding.h"
#include "attestation/evidence_verifier.h"
#include "attestation/sim.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/tar.h"
#include "contracts/contract.h"
#include "coordinator/request.h"
#include "crypto/age.h"
#include "crypto/age_keys.h"
#include "crypto/dsse.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "tests/testing/canary.h"
#include "tests/testing/testing.h"
#include "trainer/peft.h"
#include "trainer/safetensors.h"
#include "trainer/trainer.h"
#include "triad/v1/workers.grpc.pb.h"
#include "verify/receipt.h"
#include "worker/worker.h"

namespace triad::worker::test {

namespace v1 = ::triad::v1;

inline constexpr char kJobId[] = "job-1";
inline constexpr char kContractId[] = "c-worker-test";
// Unique markers in the plaintext inputs: they must never leave the worker's memory.
inline constexpr char kModelCanary[] = "TRIAD-CANARY-MODEL-5e1b7c0d41";
inline constexpr char kDataCanary[] = "TRIAD-CANARY-DATA-93a4f2e8c7";

// A tiny Qwen2 model for the tiny Qwen-style tokenizer of testdata/trainer (vocab 608).
inline constexpr char kModelConfig[] =
    R"({"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","vocab_size":608,
  "hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":2,
  "num_key_value_heads":1,"rms_norm_eps":1e-6,"tie_word_embeddings":true,"torch_dtype":"float32",
  "eos_token_id":0,"initializer_range":0.2})";

inline grpc::Status ToGrpc(const absl::Status& st) {
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()), std::string(st.message()));
}

struct Party {
  std::string name;
  contracts::Role role;
  crypto::age::X25519Identity identity = crypto::age::X25519Identity::Generate();
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  contracts::PartyCard Card() const { return {name, role, identity.recipient(), key.public_key()}; }
};

// ---- The fake coordinator
// ------------------------------------------------------------------------

struct FakeInput {
  std::string id;
  std::string kind;
  std::string ciphertext;
};

// What the fake saw of one Attest call.
struct Admission {
  bool evidence_valid = false;
  absl::Status binding;
  bool admitted = false;
  std::vector<std::string> reasons;
  std::optional<crypto::Ed25519PublicKey> eph_key;
  std::string eph_recipient;
  std::string measurement;
  std::string claims_json;
  std::string evidence_digest;
  std::string tee;       // as the evidence names it
  std::string initdata;  // the CoCo init-data the evidence carried
};

// The audience the worker's requests name (its options' coordinator_fingerprint).
inline constexpr char kFakeCoordinatorFingerprint[] = "fake-coordinator-fingerprint";

// An input's owner, as its keyholder: re-wraps the file key to the admitted worker and signs the
// receipt (the fake plays the owners' keyholders too, since it is not the logic under test here).
struct FakeOwner {
  const crypto::age::X25519Identity* identity;
  const crypto::Ed25519PrivateKey* key;
};

class FakeCoordinator final : public v1::Workers::Service {
 public:
  FakeCoordinator(const base::Clock& clock, const crypto::Ed25519PublicKey& provider,
                  std::vector<FakeOwner> owners, attestation::TrustAnchors anchors,
                  std::string contract_json, contracts::WorkerPolicy policy,
                  std::vector<FakeInput> inputs)
      : clock_(clock),
        provider_(provider),
        owners_(std::move(owners)),
        anchors_(std::move(anchors)),
        contract_json_(std::move(contract_json)),
        policy_(std::move(policy)),
        inputs_(std::move(inputs)) {}

  // ---- knobs
  // The first n admissions use a policy whose sim measurement is not the worker's.
  int reject_first = 0;
  // Serve this input with its last byte flipped.
  std::string tamper_id;
  // On the first ReportProgress, answer this many calls (that one included) with UNAVAILABLE.
  int outage_on_first_progress = 0;
  // Called (outside the lock) on the first ReportProgress.
  std::function<void()> on_first_progress;
  // Keyholders: refuse with this reason instead of releasing; sign the receipts with this key
  // instead of the owner's (a coordinator forging one); name another header in the receipt.
  std::string refuse_keys;
  const crypto::Ed25519PrivateKey* forge_receipts_with = nullptr;
  bool receipt_names_other_header = false;
  // The audience the worker's requests must name.
  std::string audience = kFakeCoordinatorFingerprint;
  // Leases: every renewal fails (the coordinator is gone), or answers stop with this reason.
  bool lease_unavailable = false;
  std::string lease_stop;

  // ---- observations (read after the worker returned)
  std::mutex mu;
  int polls = 0;
  int unavailable_returned = 0;
  std::vector<Admission> admissions;
  int headers_released = 0;
  int lease_renewals = 0;
  std::vector<std::string> downloads;  // artifact ids requested
  std::vector<nlohmann::json> progress;
  struct Failure {
    std::string reason;
    bool by_ephemeral_key = false;
  };
  std::vector<Failure> failures;
  std::optional<nlohmann::json> delivery;  // the deliver-output body
  std::string uploaded;                    // the adapter ciphertext
  std::vector<std::string> protocol_errors;
  std::vector<std::string> messages;  // every request payload the worker sent, for canary scans

  grpc::Status Poll(grpc::ServerContext*, const v1::SignedRequest* req,
                    v1::PollReply* reply) override {
    std::lock_guard<std::mutex> lock(mu);
    if (Down()) return Unavailable();
    ++polls;
    auto v = Verify(req->envelope_json(), "poll", ProviderOnly());
    if (!v.ok()) return ToGrpc(v.status());
    if (v->request.body.value("worker_id", "") != "w-1" ||
        v->request.body.value("tee", "") != "sim") {
      protocol_errors.push_back("poll body: " + v->request.body.dump());
    }
    if (state_ != State::kQueued) {
      reply->set_has_job(false);
      return grpc::Status::OK;
    }
    nonce_ = crypto::RandomString(attestation::kBindingNonceSize);
    nonce_used_ = false;
    state_ = State::kAssigned;
    reply->set_has_job(true);
    v1::Assignment* a = reply->mutable_assignment();
    a->set_job_id(kJobId);
    a->set_contract_envelope_json(contract_json_);
    a->set_nonce(nonce_);
    a->set_nonce_expires(base::FormatRfc3339(clock_.Now() + absl::Minutes(2)));
    for (const FakeInput& in : inputs_) {
      v1::ArtifactInfo* info = a->add_inputs();
      info->set_id(in.id);
      info->set_kind(in.kind);
      info->set_size(in.ciphertext.size());
    }
    return grpc::Status::OK;
  }

  grpc::Status Attest(grpc::ServerContext*, const v1::AttestRequest* req,
                      v1::AttestReply* reply) override {
    std::lock_guard<std::mutex> lock(mu);
    if (Down()) return Unavailable();
    auto v = Verify(req->request().envelope_json(), "attest", ProviderOnly());
    if (!v.ok()) return ToGrpc(v.status());
    const nlohmann::json& body = v->request.body;
    if (state_ != State::kAssigned || nonce_used_ || body.value("job_id", "") != kJobId ||
        body.value("nonce", "") != base::HexEncode(nonce_) ||
        body.value("worker_id", "") != "w-1") {
      protocol_errors.push_back("attest: wrong job, nonce or worker: " + body.dump());
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "nonce not valid for this job");
    }
    nonce_used_ = true;
    Admission adm;
    auto raw = base::Base64Decode(body.value("ed25519_public_key", ""));
    auto eph = raw.ok() ? crypto::Ed25519PublicKey::FromRaw(*raw)
                        : absl::StatusOr<crypto::Ed25519PublicKey>(raw.status());
    auto rec = crypto::age::X25519Recipient::Parse(body.value("age_recipient", ""));
    if (!eph.ok() || !rec.ok()) {
      protocol_errors.push_back("attest: bad ephemeral keys");
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad keys");
    }
    // Proof of possession: the same payload, signed by the ephemeral key.
    auto eph_env = crypto::DsseEnvelope::FromJson(req->ephemeral_signature_envelope_json());
    if (!eph_env.ok() || eph_env->payload != v->envelope.payload ||
        eph_env->payload_type != coordinator::kRequestPayloadType ||
        !crypto::DsseVerifySignedBy(*eph_env, *eph).ok()) {
      protocol_errors.push_back("attest: no proof of possession of the ephemeral key");
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no proof of possession");
    }
    adm.eph_key = *eph;
    adm.eph_recipient = rec->ToString();
    attestation::Evidence evidence{req->evidence().tee(), req->evidence().report(),
                                   req->evidence().certs(), req->evidence().collateral()};
    for (const v1::GpuEvidence& g : req->evidence().gpus()) {
      evidence.gpus.push_back({g.uuid(), g.report(), g.certs(), {}, {}});
    }
    if (req->evidence().has_gpu_cc()) {
      const v1::GpuCcState& cc = req->evidence().gpu_cc();
      evidence.gpu_cc = contracts::GpuCcState{cc.environment(), cc.cc_feature(), cc.devtools_mode(),
                                              cc.multi_gpu_mode(), cc.gpus_ready()};
    }
    evidence.initdata = req->evidence().initdata();
    adm.tee = evidence.tee;
    adm.initdata = evidence.initdata;
    attestation::Verdict verdict = attestation::VerifyEvidence(evidence, anchors_, clock_.Now());
    adm.evidence_valid = verdict.valid;
    adm.measurement = verdict.claims.measurement;
    adm.binding = attestation::CheckBinding(verdict.claims, {nonce_, kJobId, *eph, *rec});
    contracts::WorkerPolicy policy = policy_;
    if (reject_first > 0) {
      --reject_first;
      policy.sim->measurements = {std::string(48, '\x5a')};
    }
    contracts::PolicyDecision decision = contracts::Evaluate(policy, verdict.claims);
    adm.reasons = verdict.valid ? decision.reasons : verdict.reasons;
    if (!adm.binding.ok()) adm.reasons.push_back(std::string(adm.binding.message()));
    adm.admitted = verdict.valid && adm.binding.ok() && decision.admit;
    adm.claims_json = verdict.claims.ToJson().dump();
    // Not the plain sha256 of the report: the worker must copy the coordinator's digest.
    adm.evidence_digest = crypto::Sha256Id("fake evidence:" + evidence.report);
    reply->set_admitted(adm.admitted);
    for (const std::string& r : adm.reasons) reply->add_reasons(r);
    reply->set_simulated(decision.simulated);
    reply->set_claims_json(adm.claims_json);
    reply->set_evidence_digest(adm.evidence_digest);
    if (!adm.admitted) {
      state_ = State::kQueued;  // back to the queue, a new nonce on the next poll
      admissions.push_back(std::move(adm));
      return grpc::Status::OK;
    }
    eph_key_ = *eph;
    eph_recipient_ = *rec;
    state_ = State::kAdmitted;
    admissions.push_back(std::move(adm));
    return grpc::Status::OK;
  }

  grpc::Status AwaitKeys(grpc::ServerContext*, const v1::SignedRequest* req,
                         v1::KeysReply* reply) override {
    std::lock_guard<std::mutex> lock(mu);
    if (Down()) return Unavailable();
    auto v = Verify(req->envelope_json(), "await-keys", EphemeralOnly());
    if (!v.ok()) return ToGrpc(v.status());
    if (!refuse_keys.empty()) {
      reply->set_refused(true);
      reply->add_reasons(refuse_keys);
      return grpc::Status::OK;
    }
    for (size_t i = 0; i < inputs_.size(); ++i) {
      const FakeInput& in = inputs_[i];
      const FakeOwner& owner = owners_[i];
      auto header = crypto::age::Header::Parse(in.ciphertext);
      auto rewrapped =
          crypto::age::RewrapHeader(*header, {owner.identity, 1}, {&*eph_recipient_, 1});
      if (!rewrapped.ok()) return ToGrpc(rewrapped.status());
      verify::ReleaseReceipt rc;
      rc.release = true;
      rc.release_id = absl::StrCat(kJobId, "/1/", in.id);
      rc.contract_id = kContractId;
      rc.job_id = kJobId;
      rc.attempt = 1;
      rc.artifact_id = in.id;
      rc.recipient = eph_recipient_->ToString();
      rc.ed25519_public_key = eph_key_->raw();
      rc.checkpoint_root = std::string(32, '\0');
      rc.header_digest =
          crypto::Sha256Id(receipt_names_other_header ? "another header" : rewrapped->encoded());
      rc.job_ordinal = 1;
      rc.time = clock_.Now();
      v1::RewrappedHeader* h = reply->add_headers();
      h->set_artifact_id(in.id);
      h->set_header(rewrapped->encoded());
      h->set_receipt_json(verify::SignReceipt(rc, forge_receipts_with != nullptr
                                                      ? *forge_receipts_with
                                                      : *owner.key)
                              .ToJson());
      ++headers_released;
    }
    reply->set_ready(true);
    return grpc::Status::OK;
  }

  grpc::Status RenewLease(grpc::ServerContext*, const v1::SignedRequest* req,
                          v1::LeaseReply* reply) override {
    std::lock_guard<std::mutex> lock(mu);
    if (lease_unavailable) return Unavailable();
    auto v = Verify(req->envelope_json(), "renew-lease", EphemeralOnly());
    if (!v.ok()) return ToGrpc(v.status());
    ++lease_renewals;
    if (!lease_stop.empty()) {
      reply->set_stop(true);
      reply->set_reason(lease_stop);
      return grpc::Status::OK;
    }
    reply->set_expires(base::FormatRfc3339(clock_.Now() + absl::Minutes(5)));
    return grpc::Status::OK;
  }

  grpc::Status DownloadInput(grpc::ServerContext*, const v1::SignedRequest* req,
                             grpc::ServerWriter<v1::Chunk>* writer) override {
    std::string data;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (Down()) return Unavailable();
      auto v = Verify(req->envelope_json(), "download-input", EphemeralOnly());
      if (!v.ok()) return ToGrpc(v.status());
      const std::string id = v->request.body.value("artifact_id", "");
      downloads.push_back(id);
      for (const FakeInput& in : inputs_) {
        if (in.id == id) data = in.ciphertext;
      }
      if (data.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such input");
      if (id == tamper_id) data.back() ^= 1;
    }
    for (size_t off = 0; off < data.size(); off += 64 * 1024) {
      v1::Chunk c;
      c.set_data(data.substr(off, 64 * 1024));
      if (!writer->Write(c)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status ReportProgress(grpc::ServerContext*, const v1::SignedRequest* req,
                              v1::Ack*) override {
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!progress_seen_) {
        progress_seen_ = true;
        unavailable_remaining_ = outage_on_first_progress;
        hook = on_first_progress;
      }
    }
    if (hook) hook();
    std::lock_guard<std::mutex> lock(mu);
    if (Down()) return Unavailable();
    auto v = Verify(req->envelope_json(), "report-progress", EphemeralOnly());
    if (!v.ok()) return ToGrpc(v.status());
    progress.push_back(v->request.body);
    return grpc::Status::OK;
  }

  grpc::Status ReportFailure(grpc::ServerContext*, const v1::SignedRequest* req,
                             v1::Ack*) override {
    std::lock_guard<std::mutex> lock(mu);
    if (Down()) return Unavailable();
    auto by_eph = Verify(req->envelope_json(), "report-failure", EphemeralOnly());
    auto by_provider = Verify(req->envelope_json(), "report-failure", ProviderOnly());
    const auto& v = by_eph.ok() ? by_eph : by_provider;
    if (!v.ok()) return ToGrpc(v.status());
    failures.push_back({v->request.body.value("reason", ""), by_eph.ok()});
    state_ = State::kFailed;
    return grpc::Status::OK;
  }

  grpc::Status UploadOutput(grpc::ServerContext*, grpc::ServerReader<v1::OutputUpload>* reader,
                            v1::Ack* ack) override {
    v1::OutputUpload first, part;
    if (!reader->Read(&first) || !first.has_statement()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "first message must be the statement");
    }
    std::string data;
    while (reader->Read(&part)) {
      if (!part.has_chunk())
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "chunk expected");
      data += part.chunk().data();
    }
    std::lock_guard<std::mutex> lock(mu);
    if (Down()) return Unavailable();
    auto v = Verify(first.statement().envelope_json(), "deliver-output", EphemeralOnly());
    if (!v.ok()) return ToGrpc(v.status());
    if (state_ != State::kAdmitted) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "job is not admitted");
    }
    delivery = v->request.body;
    uploaded = std::move(data);
    state_ = State::kDone;
    ack->set_message("delivered");
    return grpc::Status::OK;
  }

 private:
  enum class State { kQueued, kAssigned, kAdmitted, kFailed, kDone };

  bool Down() {
    if (unavailable_remaining_ <= 0) return false;
    --unavailable_remaining_;
    ++unavailable_returned;
    return true;
  }
  static grpc::Status Unavailable() {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake coordinator is down");
  }
  coordinator::KeyLookup ProviderOnly() const {
    return [this](const std::string& keyid) -> absl::StatusOr<crypto::Ed25519PublicKey> {
      if (keyid == provider_.KeyId()) return provider_;
      return absl::PermissionDeniedError("unknown signer " + keyid);
    };
  }
  coordinator::KeyLookup EphemeralOnly() const {
    return [this](const std::string& keyid) -> absl::StatusOr<crypto::Ed25519PublicKey> {
      if (eph_key_ && keyid == eph_key_->KeyId()) return *eph_key_;
      return absl::PermissionDeniedError("not the job's admitted ephemeral key: " + keyid);
    };
  }
  absl::StatusOr<coordinator::VerifiedRequest> Verify(const std::string& json,
                                                      absl::string_view action,
                                                      const coordinator::KeyLookup& lookup) {
    auto v = coordinator::VerifyRequest(json, action, clock_.Now(), lookup, audience);
    if (v.ok()) {
      if (!request_ids_.insert(v->request.request_id).second) {
        protocol_errors.push_back("replayed request id");
        return absl::PermissionDeniedError("request was already used");
      }
      messages.push_back(v->envelope.payload);
    }
    return v;
  }

  const base::Clock& clock_;
  crypto::Ed25519PublicKey provider_;
  std::vector<FakeOwner> owners_;
  attestation::TrustAnchors anchors_;
  std::string contract_json_;
  contracts::WorkerPolicy policy_;
  std::vector<FakeInput> inputs_;

  State state_ = State::kQueued;
  std::string nonce_;
  bool nonce_used_ = false;
  std::optional<crypto::Ed25519PublicKey> eph_key_;
  std::optional<crypto::age::X25519Recipient> eph_recipient_;
  std::set<std::string> request_ids_;
  bool progress_seen_ = false;
  int unavailable_remaining_ = 0;
};

// ---- Helpers
// -------------------------------------------------------------------------------------

// An in-process gRPC server for the fake, on a loopback port (the same port again after a restart).
class FakeServer {
 public:
  FakeServer(FakeCoordinator* service, int port) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                       &port_);
    b.RegisterService(service);
    server_ = b.BuildAndStart();
  }
  ~FakeServer() { server_->Shutdown(); }
  int port() const { return port_; }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

inline std::shared_ptr<grpc::Channel> Channel(int port) {
  grpc::ChannelArguments args;
  // Reconnect quickly after the fake coordinator comes back (the defaults start at 1 s).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials(), args);
}

// Routes spdlog's default logger into a string for the duration of a test.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string str() {
    sink_->flush();
    return stream_.str();
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream stream_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

// Files under `dir` whose bytes contain `needle`.
inline std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    if (absl::StrContains(testing::ReadTestFile(e.path().string()), needle)) {
      hits.push_back(e.path().string());
    }
  }
  return hits;
}

inline std::map<std::string, std::string> UntarToMap(absl::string_view tar) {
  std::map<std::string, std::string> files;
  auto reader = base::TarReader::Open(tar);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return files;
  while (true) {
    auto member = (*reader)->Next();
    EXPECT_TRUE(member.ok()) << member.status();
    if (!member.ok() || !member->has_value()) return files;
    auto data = (*reader)->View();
    EXPECT_TRUE(data.ok()) << data.status();
    if (!data.ok()) return files;
    files[(*member)->path] = std::string(*data);
  }
}

// ---- The fixture
// ---------------------------------------------------------------------------------

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
    clock_ = std::make_unique<base::FixedClock>(now_);
    model_owner_.name = "acme-models";
    model_owner_.role = contracts::Role::kModelOwner;
    data_owner_.name = "acme-bank";
    data_owner_.role = contracts::Role::kDataOwner;
    provider_.name = "cloudco";
    provider_.role = contracts::Role::kComputeProvider;
    other_provider_.name = "othercloud";
    other_provider_.role = contracts::Role::kComputeProvider;

    auto measurement = attestation::MeasureExecutable("/proc/self/exe");
    ASSERT_TRUE(measurement.ok()) << measurement.status();
    measurement_ = *measurement;
    auto attester =
        attestation::NewSimAttester(*crypto::Ed25519PrivateKey::FromPem(sim_key_.ToPem()));
    ASSERT_TRUE(attester.ok()) << attester.status();
    attester_ = std::move(*attester);

    // The model owner's bundle: a random tiny model whose safetensors metadata and NOTICE carry the
    // canary, packed as the tar `triad model push` makes.
    auto made = trainer::MakeRandomModel(kModelConfig, 11);
    ASSERT_TRUE(made.ok()) << made.status().message();
    std::string config_json, weights;
    for (const auto& f : *made) (f.name == "config.json" ? config_json : weights) = f.data;
    const std::string marked = testing::WithProvenanceMarker(weights, kModelCanary);
    ASSERT_FALSE(marked.empty());
    std::string tokenizer = testing::ReadTestFile(
        testing::TestdataDir() + "/trainer/tiny_qwen_style.tokenizer.json");
    ASSERT_FALSE(tokenizer.empty());
    std::string notice = std::string("Licensed weights. Marker: ") + kModelCanary + "\n";
    auto tar = base::TarWriter::Create([this](absl::string_view bytes) {
      model_plaintext_.append(bytes.data(), bytes.size());
      return absl::OkStatus();
    });
    ASSERT_TRUE(tar.ok());
    ASSERT_TRUE((*tar)->AddFile("config.json", config_json).ok());
    ASSERT_TRUE((*tar)->AddFile("model.safetensors", marked).ok());
    ASSERT_TRUE((*tar)->AddFile("tokenizer.json", tokenizer).ok());
    ASSERT_TRUE((*tar)->AddFile("NOTICE.txt", notice).ok());
    ASSERT_TRUE((*tar)->Finish().ok());
    for (int i = 0; i < 16; ++i) {
      dataset_plaintext_ += std::string("{\"prompt\":\"") + kDataCanary + " count: 1 2 " +
                            std::to_string(i) + "\",\"completion\":\" 4 5 6\"}\n";
    }
    // Each owner encrypts to itself alone.
    auto mo = model_owner_.identity.recipient();
    auto dr = data_owner_.identity.recipient();
    auto model_ct = crypto::age::Encrypt({&mo, 1}, model_plaintext_);
    auto data_ct = crypto::age::Encrypt({&dr, 1}, dataset_plaintext_);
    ASSERT_TRUE(model_ct.ok() && data_ct.ok());
    model_ct_ = *model_ct;
    data_ct_ = *data_ct;
  }

  // A contract between the three parties for the test's inputs, whose sim policy admits a worker
  // executable with this measurement (by default: this test binary's).
  contracts::Contract MakeContract(const std::string& measurement) const {
    contracts::Contract c{
        kContractId,
        now_ - absl::Hours(2),
        now_ - absl::Hours(1),
        now_ + absl::Hours(24),
        model_owner_.Card(),
        data_owner_.Card(),
        provider_.Card(),
        {crypto::Sha256Id(model_ct_), "tiny-qwen"},
        {crypto::Sha256Id(data_ct_), "canary-data"},
        contracts::TrainingConfig::Default(),
        {},
        contracts::Outputs::Default(),
        contracts::Terms{},
        {},
    };
    c.training.rank = 4;
    c.training.alpha = 8;
    c.training.dropout = 0;
    c.training.target_modules = {"q_proj", "v_proj"};
    c.training.max_steps = 4;
    c.training.batch_size = 2;
    c.training.sequence_length = 32;
    c.training.learning_rate = 0.01;
    c.training.lr_scheduler = "constant";
    c.training.warmup_steps = 0;
    c.training.seed = 1;
    c.worker_policy.tee = {contracts::kTeeSim};
    c.worker_policy.sim = contracts::SimReference{{measurement}, {}};
    return c;
  }
  contracts::Contract MakeContract() const { return MakeContract(measurement_); }

  std::string SignedContract(const contracts::Contract& c,
                             const crypto::Ed25519PrivateKey& provider_key) const {
    auto env = contracts::DraftContract(c);
    EXPECT_TRUE(env.ok()) << env.status();
    for (const crypto::Ed25519PrivateKey* k :
         {&model_owner_.key, &data_owner_.key, &provider_key}) {
      absl::Status st = contracts::SignContract(*env, *k, now_);
      EXPECT_TRUE(st.ok()) << st;
    }
    return env->ToJson();
  }

  // A fake coordinator for `c`; the worker polls as provider_.
  std::unique_ptr<FakeCoordinator> MakeFake(
      const contracts::Contract& c, const crypto::Ed25519PrivateKey& contract_provider_key) {
    attestation::TrustAnchors anchors = extra_anchors_;
    anchors.sim_keys.push_back(sim_key_.public_key());
    contract_json_ = SignedContract(c, contract_provider_key);
    return std::make_unique<FakeCoordinator>(
        *clock_, provider_.key.public_key(),
        std::vector<FakeOwner>{{&model_owner_.identity, &model_owner_.key},
                               {&data_owner_.identity, &data_owner_.key}},
        anchors, contract_json_, c.worker_policy,
        std::vector<FakeInput>{{c.base_model.id, "model", model_ct_},
                               {c.dataset.id, "dataset", data_ct_}});
  }
  std::unique_ptr<FakeCoordinator> MakeFake(const contracts::Contract& c) {
    return MakeFake(c, provider_.key);
  }

  WorkerOptions Options() const {
    WorkerOptions o;
    o.worker_id = "w-1";
    o.coordinator_fingerprint = kFakeCoordinatorFingerprint;
    o.threads = 2;
    o.poll_interval = absl::Milliseconds(10);
    o.retry_initial = absl::Milliseconds(20);
    o.retry_max = absl::Milliseconds(200);
    o.retry_budget = absl::Seconds(60);
    o.progress_interval = absl::ZeroDuration();
    return o;
  }

  // One poll and the job it brings.
  JobResult RunOneJob(FakeCoordinator* fake, WorkerOptions options) {
    FakeServer server(fake, 0);
    Worker w(Channel(server.port()), provider_.key, *attester_, *clock_, std::move(options));
    auto r = w.RunOnce();
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || !r->has_value()) {
      ADD_FAILURE() << "no job was assigned";
      return {};
    }
    return **r;
  }
  JobResult RunOneJob(FakeCoordinator* fake) { return RunOneJob(fake, Options()); }

  // The delivered adapter archive, decrypted with `identity`.
  std::map<std::string, std::string> OpenAdapter(FakeCoordinator& fake,
                                                 const crypto::age::X25519Identity& identity) {
    auto plain = crypto::age::DecryptToSecret({&identity, 1}, fake.uploaded);
    EXPECT_TRUE(plain.ok()) << plain.status();
    if (!plain.ok()) return {};
    return UntarToMap(plain->view());
  }

  absl::Time now_;
  std::unique_ptr<base::FixedClock> clock_;
  Party model_owner_, data_owner_, provider_, other_provider_;
  crypto::Ed25519PrivateKey sim_key_ = crypto::Ed25519PrivateKey::Generate();
  // Roots the fake coordinator pins beside the sim key (a forged NVIDIA root for GPU tests).
  attestation::TrustAnchors extra_anchors_;
  std::string measurement_;
  std::unique_ptr<attestation::Attester> attester_;
  std::string model_plaintext_, dataset_plaintext_, model_ct_, data_ct_;
  std::string contract_json_;
};

}  // namespace triad::worker::test

#endif  // TRIAD_TESTS_WORKER_WORKER_FIXTURE_H_
