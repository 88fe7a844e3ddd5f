// The whole three-party job on real processes: `triad coordinator serve`, the owners'
// `triad keyholder serve` and `triad worker run` (sim TEE) as child processes on 127.0.0.1 with TLS
// pinned to the coordinator card, and the parties' `triad` commands. The worker's measurement is
// the SHA-384 of the built `triad-worker`, pinned by each contract's policy. The negative paths
// that need a misbehaving worker (a replayed nonce, evidence bound to other keys) are played over
// gRPC by the test itself. Outside references: stock `age`, GNU `tar` and `grep`.
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "attestation/binding.h"
#include "attestation/sim.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/json.h"
#include "coordinator/card.h"
#include "coordinator/client.h"
#include "coordinator/request.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "tests/testing/sim_attest.h"
#include "tests/testing/canary.h"
#include "tests/testing/testing.h"
#include "trainer/safetensors.h"
#include "triad/v1/workers.grpc.pb.h"

namespace triad {
namespace {

namespace pb = ::triad::v1;
using testing::ChildProcess;

// Marker strings carried by the model (safetensors metadata) and by every dataset line. They must
// never appear outside the worker's memory and the owners' own files.
constexpr char kModelCanary[] = "E2E-MODEL-CANARY-7d41c2";
constexpr char kDataCanary[] = "E2E-DATA-CANARY-e90b13";

std::string Triad() { return testing::TriadBinary(); }

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

nlohmann::json Json(const std::string& text) {
  auto j = base::ParseJsonStrict(text);
  EXPECT_TRUE(j.ok()) << j.status() << "\n" << text;
  return j.ok() ? *j : nlohmann::json::object();
}

class E2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    measurement_ = new std::string(
        base::HexEncode(crypto::Sha384(testing::ReadTestFile(testing::TriadWorkerBinary()))));
  }
  static void TearDownTestSuite() { delete measurement_; }

  void SetUp() override {
    for (const char* d : {"keys", "worker", "model-owner"}) {
      std::filesystem::create_directories(F(d));
    }
    for (const char* p : {"mo:model-owner", "do:data-owner", "cp:compute-provider",
                          "eve:data-owner"}) {
      std::string name(p, strchr(p, ':') - p);
      Sh(absl::StrCat(Triad(), " keygen --name ", name, " --role ", strchr(p, ':') + 1, " --dir ",
                      F("keys")));
    }
    Sh(Triad() + " coordinator init --dir " + F("state"));
    Sh(Triad() + " coordinator card --dir " + F("state") + " --out " + F("card.json"));
    testing::WriteTestFile(F("sim.pem"), std::string(sim_key_.ToPem().view()), 0600);
    testing::WriteTestFile(F("sim.pub.pem"), sim_key_.public_key().ToPem());
    for (const char* p : {"mo", "do", "cp", "eve"}) {
      Sh(Triad() + " coordinator parties add " + F(absl::StrCat("keys/", p, ".card.json")) +
         " --dir " + F("state"));
    }
    StartCoordinator("127.0.0.1:0");
    fingerprint_ = coordinator::CoordinatorCard::FromFile(F("card.json"))->signing_key.KeyId();
    MakeInputs();
    StartKeyholders();
  }

  // On failure, the processes' logs say why.
  void TearDown() override {
    if (!HasFailure()) return;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path())) {
      const std::string p = e.path().string();
      if (e.is_regular_file() && (absl::EndsWith(p, ".log") || absl::EndsWith(p, ".out"))) {
        std::string text = testing::ReadTestFile(p);
        if (text.size() > 6000) text = "…" + text.substr(text.size() - 6000);
        std::cerr << "---- " << p << "\n" << text << "\n";
      }
    }
  }

  std::string F(const std::string& name) const { return dir_.File(name); }
  std::string Client() const {
    return absl::StrCat(" --coordinator 127.0.0.1:", port_, " --coordinator-card ", F("card.json"));
  }
  std::string As(const std::string& who) const { return " --as " + F("keys/" + who); }

  // Runs a command that must succeed; everything a command prints is also kept in outputs_, which
  // the canary check searches (the RPC responses as the parties see them).
  std::string Sh(const std::string& cmd, int* rc = nullptr) {
    std::string out;
    int code = testing::RunCommand(cmd, &out);
    outputs_ += out;
    if (rc != nullptr) {
      *rc = code;
    } else {
      EXPECT_EQ(code, 0) << cmd << "\n" << out;
    }
    return out;
  }

  void StartCoordinator(const std::string& listen) {
    ++coordinator_runs_;
    coordinator_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{Triad(), "--log-level", "debug", "coordinator", "serve", "--dir",
                                 F("state"), "--listen", listen, "--trust-sim-key",
                                 F("sim.pub.pem"), "--poll-wait", "1s"},
        // A new stdout file per run, so that the last run's "listening on" line is not taken for
        // this one's.
        F(absl::StrCat("coordinator.", coordinator_runs_, ".out")),
        F(absl::StrCat("coordinator.", coordinator_runs_, ".log")));
    port_ = coordinator_->ListeningPort();
    ASSERT_GT(port_, 0) << coordinator_->Err();
  }

  // The owners' keyholders, each on its owner's side with its journal beside the owner's keys.
  void StartKeyholders() {
    for (const char* p : {"mo", "do"}) {
      keyholders_.push_back(std::make_unique<ChildProcess>(
          std::vector<std::string>{Triad(), "--log-level", "debug", "keyholder", "serve", "--as",
                                   F(absl::StrCat("keys/", p)), "--coordinator",
                                   absl::StrCat("127.0.0.1:", port_), "--coordinator-card",
                                   F("card.json"), "--trust-sim-key", F("sim.pub.pem")},
          F(absl::StrCat(p, ".keyholder.out")), F(absl::StrCat(p, ".keyholder.log"))));
      ASSERT_NE(keyholders_.back()->WaitForLine(absl::StrCat("keyholder of ", p, " (")), "")
          << keyholders_.back()->Err();
    }
  }

  std::unique_ptr<ChildProcess> StartWorker(bool once, const std::string& name = "w1") {
    std::vector<std::string> argv = {Triad(),     "--log-level", "debug", "worker",
                                     "run",       "--coordinator", absl::StrCat("127.0.0.1:", port_),
                                     "--coordinator-card", F("card.json"), "--as", F("keys/cp"),
                                     "--tee",     "sim",         "--sim-key", F("sim.pem"),
                                     "--worker-id", name,        "--threads", "2"};
    if (once) argv.push_back("--once");
    return std::make_unique<ChildProcess>(argv, F("worker/" + name + ".out"),
                                          F("worker/" + name + ".log"), F("worker"));
  }

  // A random small Qwen2-style model whose safetensors metadata carries the model canary, and a
  // dataset whose every line carries the data canary: the owners' plaintext, on their side.
  void MakeInputs() {
    const std::string qs = testing::SourceDir() + "/examples/quickstart/";
    Sh(Triad() + " model init --config " + qs + "config.json --tokenizer " + qs +
       "tokenizer.json --seed 3 --out " + F("model-owner/model"));
    std::string weights = testing::ReadTestFile(F("model-owner/model/model.safetensors"));
    const std::string marked = testing::WithProvenanceMarker(weights, kModelCanary);
    ASSERT_FALSE(marked.empty());
    testing::WriteTestFile(F("model-owner/model/model.safetensors"), marked);
    std::string data;
    for (int i = 0; i < 48; ++i) {
      data += absl::StrCat("{\"prompt\": \"", kDataCanary, " case ", i,
                           ": convert 12 cm to m.\", \"completion\": \" 0.12 m.\"}\n");
    }
    testing::WriteTestFile(F("data.jsonl"), data);
    model_id_ = Trim(Sh(Triad() + " model push" + Client() + As("mo") + " --name tiny-qwen2 --in " +
                        F("model-owner/model")));
    data_id_ = Trim(Sh(Triad() + " dataset push" + Client() + As("do") + " --name notes --in " +
                       F("data.jsonl")));
    ASSERT_EQ(model_id_.substr(0, 7), "sha256:");
    ASSERT_EQ(data_id_.substr(0, 7), "sha256:");
  }

  // Drafts, signs (by all three unless `signers` says otherwise) and, when `submit`, submits a
  // contract; returns the file.
  std::string Contract(const std::string& id, const std::string& measurement, int steps = 12,
                       bool submit = true, std::vector<std::string> signers = {"mo", "do", "cp"},
                       const std::string& extra = " --valid-for 1d") {
    testing::WriteTestFile(F(id + ".policy.json"),
                           absl::StrCat("{\"tee\": [\"sim\"], \"sim\": {\"measurements\": [\"",
                                        measurement, "\"]}}"));
    testing::WriteTestFile(
        F(id + ".training.json"),
        absl::StrCat("{\"method\": \"lora\", \"rank\": 4, \"alpha\": 8, \"target_modules\": "
                     "[\"q_proj\", \"v_proj\"], \"max_steps\": ",
                     steps,
                     ", \"learning_rate\": 0.001, \"batch_size\": 4, \"sequence_length\": 64, "
                     "\"seed\": 5}"));
    std::string file = F(id + ".contract.json");
    Sh(absl::StrCat(Triad(), " contract draft --model-owner ", F("keys/mo.card.json"),
                    " --data-owner ", F("keys/do.card.json"), " --provider ",
                    F("keys/cp.card.json"), " --model ", model_id_, " --model-name tiny-qwen2",
                    " --dataset ", data_id_, " --dataset-name notes --policy ",
                    F(id + ".policy.json"), " --training ", F(id + ".training.json"), " --id ",
                    id, extra, " --out ", file));
    for (const std::string& p : signers) {
      Sh(Triad() + " contract sign " + file + As(p) +
         (absl::StrContains(extra, "--now") ? extra.substr(extra.find(" --now")) : ""));
    }
    if (submit) Sh(Triad() + " contract submit " + file + Client());
    return file;
  }

  std::string SubmitJob(const std::string& contract_id) {
    std::string job = Trim(Sh(Triad() + " job submit" + Client() + " --contract " + contract_id +
                              As("do")));
    EXPECT_EQ(job.substr(0, 2), "j-") << job;
    return job;
  }

  nlohmann::json Status(const std::string& job) {
    return Json(Sh(Triad() + " job status --json" + Client() + " " + job + As("do")));
  }

  nlohmann::json Bundle(const std::string& job) {
    return Json(Sh(Triad() + " audit export" + Client() + " " + job + As("do")));
  }

  // `triad job fetch` of an owner, verifying the bundle against the simulation key first.
  std::string Fetch(const std::string& job, const std::string& who, const std::string& rest) {
    return Sh(Triad() + " job fetch" + Client() + " " + job + As(who) + " --trust-sim-key " +
              F("sim.pub.pem") + rest);
  }

  // Polls the job's status until `done(status)` or the timeout.
  template <typename Pred>
  nlohmann::json WaitFor(const std::string& job, Pred done,
                         absl::Duration timeout = absl::Seconds(120)) {
    absl::Time deadline = absl::Now() + timeout;
    nlohmann::json s;
    while (absl::Now() < deadline) {
      s = Status(job);
      if (done(s)) return s;
      absl::SleepFor(absl::Milliseconds(300));
    }
    ADD_FAILURE() << "timed out waiting on " << job << ": " << s.dump();
    return s;
  }

  // Every file under `dir` whose bytes contain either canary.
  static std::vector<std::string> FilesWithCanaries(const std::string& dir) {
    std::vector<std::string> hits;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      std::string bytes = testing::ReadTestFile(e.path().string());
      if (absl::StrContains(bytes, kModelCanary) || absl::StrContains(bytes, kDataCanary)) {
        hits.push_back(e.path().string());
      }
    }
    return hits;
  }

  testing::TempDir dir_;
  crypto::Ed25519PrivateKey sim_key_ = crypto::Ed25519PrivateKey::Generate();
  std::unique_ptr<ChildProcess> coordinator_;
  std::vector<std::unique_ptr<ChildProcess>> keyholders_;
  std::string fingerprint_;  // the coordinator's: the audience of every request
  int coordinator_runs_ = 0;
  int port_ = 0;
  std::string model_id_, data_id_, outputs_;
  static std::string* measurement_;
};

std::string* E2eTest::measurement_ = nullptr;

TEST_F(E2eTest, WholeJobOnRealProcessesLeavesNoPlaintextOutsideTheWorker) {
  Contract("c-good", *measurement_);
  auto worker = StartWorker(/*once=*/true);
  std::string job = SubmitJob("c-good");
  std::string watched = Sh(Triad() + " job status --watch" + Client() + " " + job + As("mo"));
  EXPECT_TRUE(absl::StrContains(watched, "SIMULATED: no hardware protection")) << watched;
  EXPECT_TRUE(absl::StrContains(watched, job + "  done  step 12/12 (100%)")) << watched;
  ASSERT_EQ(worker->Wait(absl::Seconds(60)), 0) << worker->Err();

  nlohmann::json s = Status(job);
  EXPECT_EQ(s["state"], "done");
  EXPECT_EQ(s["simulated"], true);
  EXPECT_EQ(s["worker_id"], "w1");
  // Both owners fetch; the kept ciphertext is the delivered output and opens with stock age.
  Fetch(job, "do", " --out " + F("do-adapter") + " --keep-ciphertext " + F("adapter.tar.age"));
  Fetch(job, "mo", " --out " + F("mo-adapter"));
  EXPECT_EQ(crypto::Sha256Id(testing::ReadTestFile(F("adapter.tar.age"))), s["output_id"]);
  EXPECT_EQ(testing::ReadTestFile(F("do-adapter/adapter_model.safetensors")),
            testing::ReadTestFile(F("mo-adapter/adapter_model.safetensors")));
  EXPECT_EQ(Sh("age -d -i " + F("keys/mo.identity") + " " + F("adapter.tar.age") + " | tar -t"),
            "adapter_config.json\nadapter_model.safetensors\ntraining_report.json\n");
  auto adapter = trainer::SafetensorsFile::Parse(
      testing::ReadTestFile(F("do-adapter/adapter_model.safetensors")));
  ASSERT_TRUE(adapter.ok());
  EXPECT_EQ(adapter->tensors().size(), 4u * 2u * 2u);  // 4 layers x (q_proj, v_proj) x (A, B)
  nlohmann::json report = Json(testing::ReadTestFile(F("do-adapter/training_report.json")));
  EXPECT_EQ(report["steps"], 12);

  // The audit bundle: one admission, admitted; one key release per input, by its owner's
  // keyholder, with the keyholder's signed receipt.
  nlohmann::json bundle = Bundle(job);
  ASSERT_EQ(bundle["admissions"].size(), 1u);
  EXPECT_EQ(bundle["admissions"][0]["admitted"], true);
  EXPECT_EQ(bundle["admissions"][0]["simulated"], true);
  EXPECT_EQ(bundle["key_releases"].size(), 2u);
  // The auditor verifies it offline, with the delivered file.
  Sh(Triad() + " audit export" + Client() + " " + job + As("cp") + " --out " + F("bundle.json"));
  std::string audit = Sh(Triad() + " audit verify " + F("bundle.json") + " --coordinator-card " +
                         F("card.json") + " --trust-sim-key " + F("sim.pub.pem") + " --adapter " +
                         F("adapter.tar.age"));
  EXPECT_TRUE(absl::StrContains(audit,
                                "SIMULATED: no hardware protection\nverdict: OK, all 23 "
                                "checks hold for job " +
                                    job))
      << audit;

  // Each keyholder journaled its release.
  for (const char* p : {"mo", "do"}) {
    std::string log =
        Sh(Triad() + " keyholder log --state " + F(absl::StrCat("keys/", p, ".keyholder")));
    EXPECT_TRUE(absl::StrContains(log, "  RELEASED  sha256:")) << log;
    EXPECT_TRUE(absl::StrContains(log, "job " + job + " attempt 1 (contract c-good) to age1"))
        << log;
  }

  // Canaries: nowhere in the coordinator's state, the keyholders' journals, the worker's directory,
  // any process's log, or any response the parties got (status, watch, audit bundle, every
  // command's output).
  EXPECT_EQ(FilesWithCanaries(F("state")), std::vector<std::string>{});
  EXPECT_EQ(FilesWithCanaries(F("keys/mo.keyholder")), std::vector<std::string>{});
  EXPECT_EQ(FilesWithCanaries(F("keys/do.keyholder")), std::vector<std::string>{});
  EXPECT_EQ(FilesWithCanaries(F("worker")), std::vector<std::string>{});
  std::string logs = coordinator_->Err() + worker->Err() + worker->Out();
  for (const auto& k : keyholders_) logs += k->Err() + k->Out();
  EXPECT_GT(logs.size(), 500u);  // debug logs were written
  EXPECT_FALSE(absl::StrContains(logs, kModelCanary));
  EXPECT_FALSE(absl::StrContains(logs, kDataCanary));
  EXPECT_FALSE(absl::StrContains(outputs_, kModelCanary));
  EXPECT_FALSE(absl::StrContains(outputs_, kDataCanary));
  // The canaries are really in the inputs the owners pushed (the check above can fail).
  EXPECT_TRUE(absl::StrContains(testing::ReadTestFile(F("data.jsonl")), kDataCanary));
  EXPECT_EQ(Sh("grep -rlaF " + std::string(kModelCanary) + " " + F("model-owner/model")),
            F("model-owner/model/model.safetensors") + "\n");
  EXPECT_EQ(coordinator_->Signal(SIGTERM), 0) << coordinator_->Err();
}

TEST_F(E2eTest, AWorkerWhoseMeasurementIsNotInThePolicyIsRejectedAndGetsNoKey) {
  const std::string other = base::HexEncode(crypto::Sha384("another worker build"));
  Contract("c-other", other);
  std::string job = SubmitJob("c-other");
  auto worker = StartWorker(/*once=*/false);
  nlohmann::json bundle;
  for (int i = 0; i < 200 && bundle["admissions"].empty(); ++i) {
    absl::SleepFor(absl::Milliseconds(200));
    bundle = Bundle(job);
  }
  ASSERT_FALSE(bundle["admissions"].empty()) << worker->Err();
  const nlohmann::json& a = bundle["admissions"][0];
  EXPECT_EQ(a["admitted"], false);
  EXPECT_EQ(a["reasons"],
            nlohmann::json({absl::StrCat("measurement ", *measurement_, " not in [", other, "]")}));
  EXPECT_TRUE(bundle["key_releases"].empty());
  EXPECT_EQ(Status(job)["state"], "queued");
  worker->Signal(SIGTERM);
  EXPECT_TRUE(absl::StrContains(worker->Err(), "admission rejected (sim worker): measurement "))
      << worker->Err();
}

// A worker of the provider that misbehaves, over gRPC with the pinned card: evidence bound to keys
// other than the ones it presents, then the same nonce again. Neither gets a key; an honest worker
// then does the job.
TEST_F(E2eTest, EvidenceBoundToOtherKeysAndAReplayedNonceGetNothing) {
  Contract("c-good", *measurement_);
  std::string job = SubmitJob("c-good");
  auto card = coordinator::CoordinatorCard::FromFile(F("card.json"));
  ASSERT_TRUE(card.ok());
  auto channel = coordinator::OpenChannel({absl::StrCat("127.0.0.1:", port_), *card, false});
  ASSERT_TRUE(channel.ok());
  auto stub = pb::Workers::NewStub(*channel);
  auto cp = crypto::Ed25519PrivateKey::FromPemFile(F("keys/cp.signing.pem"));
  ASSERT_TRUE(cp.ok());
  pb::PollReply poll;
  {
    pb::SignedRequest r;
    r.set_envelope_json(coordinator::SignRequest("poll", {{"worker_id", "rogue"}, {"tee", "sim"}},
                                                 *cp, base::SystemClock().Now(), fingerprint_)
                            .ToJson());
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->Poll(&ctx, r, &poll).ok());
  }
  ASSERT_TRUE(poll.has_job());
  ASSERT_EQ(poll.assignment().job_id(), job);
  const std::string& nonce = poll.assignment().nonce();
  std::string measurement = *base::HexDecode(*measurement_);
  // Attests with keys `eph`, evidence bound to `bound`.
  auto attest = [&](const crypto::Ed25519PrivateKey& eph, const crypto::age::X25519Identity& id,
                    const crypto::Ed25519PrivateKey& bound,
                    const crypto::age::X25519Identity& bound_id, pb::AttestReply* reply) {
    const crypto::Ed25519PublicKey bound_key = bound.public_key();
    const crypto::age::X25519Recipient eph_recipient = id.recipient();
    const crypto::age::X25519Recipient bound_recipient = bound_id.recipient();
    pb::AttestRequest a = testing::SimAttestRequest(
        {job, "rogue", nonce, &*cp, &eph, &eph_recipient, &bound_key, &bound_recipient, &sim_key_,
         measurement, false, base::SystemClock().Now(), fingerprint_});
    grpc::ClientContext ctx;
    return stub->Attest(&ctx, a, reply);
  };
  crypto::Ed25519PrivateKey eph = crypto::Ed25519PrivateKey::Generate(),
                            other = crypto::Ed25519PrivateKey::Generate();
  crypto::age::X25519Identity eph_id = crypto::age::X25519Identity::Generate(),
                              other_id = crypto::age::X25519Identity::Generate();
  pb::AttestReply reply;
  grpc::Status st = attest(eph, eph_id, other, other_id, &reply);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(reply.admitted());
  ASSERT_EQ(reply.reasons_size(), 1);
  EXPECT_EQ(reply.reasons(0).substr(0, 86),
            "report data does not bind this admission (nonce, job id, Ed25519 key, age recipient): "
            "");
  // Nothing was asked of the keyholders for it.
  pb::KeysReply keys;
  {
    pb::SignedRequest r;
    r.set_envelope_json(coordinator::SignRequest("await-keys", {{"job_id", job}}, eph,
                                                 base::SystemClock().Now(), fingerprint_)
                            .ToJson());
    grpc::ClientContext ctx;
    grpc::Status awaited = stub->AwaitKeys(&ctx, r, &keys);
    ASSERT_TRUE(awaited.ok()) << awaited.error_message();
    EXPECT_TRUE(keys.refused());
    EXPECT_EQ(keys.headers_size(), 0);
    ASSERT_EQ(keys.reasons_size(), 1);
    EXPECT_EQ(keys.reasons(0), "job " + job + " is queued in attempt 1; attempt 1 has ended");
  }

  // The same nonce again, now with evidence bound to the keys presented: refused.
  st = attest(eph, eph_id, eph, eph_id, &reply);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(st.error_message().substr(0, 25), "nonce was already used at") << st.error_message();

  nlohmann::json bundle = Bundle(job);
  EXPECT_TRUE(bundle["key_releases"].empty());
  ASSERT_EQ(bundle["admissions"].size(), 1u);
  EXPECT_EQ(bundle["admissions"][0]["worker_id"], "rogue");

  // The job went back to the queue; an honest worker does it.
  auto worker = StartWorker(/*once=*/true, "honest");
  nlohmann::json s = WaitFor(job, [](const nlohmann::json& s) {
    return s["state"] == "done" || s["state"] == "failed";
  });
  EXPECT_EQ(s["state"], "done") << s.dump();
  EXPECT_EQ(s["worker_id"], "honest");
  EXPECT_EQ(worker->Wait(absl::Seconds(30)), 0) << worker->Err();
  bundle = Bundle(job);
  ASSERT_EQ(bundle["key_releases"].size(), 2u);
  for (const auto& k : bundle["key_releases"]) EXPECT_NE(k["recipient"], eph_id.recipient().ToString());
}

TEST_F(E2eTest, ContractsMustBeSignedByAllThreeAndCurrentAndJobsComeFromTheirParties) {
  int rc = 0;
  // Two of three signatures.
  std::string two = Contract("c-two", *measurement_, 12, /*submit=*/false, {"mo", "do"});
  std::string out = Sh(Triad() + " contract submit " + two + Client(), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_TRUE(absl::StrContains(out, "no signature by compute_provider \"cp\"")) << out;
  // Signed by all three, but its validity ended yesterday.
  std::string old = Contract("c-old", *measurement_, 12, /*submit=*/false, {"mo", "do", "cp"},
                             " --valid-for 1d --now " +
                                 base::FormatRfc3339(absl::Now() - absl::Hours(72)));
  out = Sh(Triad() + " contract submit " + old + Client(), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_TRUE(absl::StrContains(out, "expired")) << out;
  // Neither can take a job.
  for (const char* id : {"c-two", "c-old"}) {
    out = Sh(Triad() + " job submit" + Client() + " --contract " + id + As("do"), &rc);
    EXPECT_EQ(rc, 1) << out;
  }
  // An active contract, and a registered party that is not in it.
  Contract("c-good", *measurement_);
  out = Sh(Triad() + " job submit" + Client() + " --contract c-good" + As("eve"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: party eve is not the model owner or data owner of contract c-good\n");
  // The compute provider cannot submit either: only the owners can.
  out = Sh(Triad() + " job submit" + Client() + " --contract c-good" + As("cp"), &rc);
  EXPECT_EQ(rc, 1) << out;
}

// The stored ciphertext of the dataset is changed on the coordinator's disk after registration:
// the job fails with the digest mismatch as its reason, and the worker gets no plaintext of it.
TEST_F(E2eTest, ATamperedArtifactFailsTheJobWithThatReason) {
  Contract("c-good", *measurement_);
  std::string blob =
      F("state/blobs/objects/" + data_id_.substr(7, 2) + "/" + data_id_.substr(9));
  ASSERT_TRUE(std::filesystem::exists(blob)) << blob;
  std::string bytes = testing::ReadTestFile(blob);
  bytes[bytes.size() / 2] ^= 0x01;
  std::filesystem::permissions(blob, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  testing::WriteTestFile(blob, bytes);
  auto worker = StartWorker(/*once=*/true);
  std::string job = SubmitJob("c-good");
  nlohmann::json s = WaitFor(job, [](const nlohmann::json& s) {
    return s["state"] == "done" || s["state"] == "failed";
  });
  EXPECT_EQ(s["state"], "failed") << s.dump();
  EXPECT_TRUE(absl::StartsWith(s["reason"].get<std::string>(),
                               absl::StrCat("input ", data_id_, ": blob ", data_id_,
                                            " is corrupt: its content is sha256:")))
      << s.dump();
  // Refused at admission: no key was released for it, and it was not requeued.
  nlohmann::json bundle = Bundle(job);
  EXPECT_TRUE(bundle["key_releases"].empty());
  ASSERT_EQ(bundle["admissions"].size(), 1u);
  EXPECT_EQ(bundle["admissions"][0]["admitted"], false);
  // The auditor finds the job failed, with nothing to verify after it, and for that reason only:
  // the policy admitted the worker, and the input failure that followed is logged.
  Sh(Triad() + " audit export" + Client() + " " + job + As("do") + " --out " +
     F("bundle-failed.json"));
  int rc = 0;
  nlohmann::json audit = Json(Sh(Triad() + " audit verify " + F("bundle-failed.json") +
                                     " --coordinator-card " + F("card.json") + " --trust-sim-key " +
                                     F("sim.pub.pem") + " --json",
                                 &rc));
  EXPECT_EQ(rc, 1);
  std::vector<std::string> failed;
  for (const auto& c : audit["checks"]) {
    if (!c["ok"].get<bool>()) failed.push_back(c["name"].get<std::string>());
    if (c["name"] == "job state") {
      EXPECT_TRUE(absl::StrContains(c["detail"].get<std::string>(),
                                    absl::StrCat("is failed (input ", data_id_, ": blob ")))
          << c.dump();
    }
    if (c["name"] == "admission 1 policy decision") {
      EXPECT_TRUE(c["ok"].get<bool>()) << c.dump();
      EXPECT_TRUE(absl::StrContains(c["detail"].get<std::string>(),
                                    "admit; the coordinator then refused to release the inputs"))
          << c.dump();
    }
  }
  EXPECT_EQ(failed, (std::vector<std::string>{"job state", "job record worker signature",
                                              "job record coordinator signature",
                                              "job record statement", "adapter digest"}))
      << audit.dump(1);
  worker->Signal(SIGTERM);
}

// SIGKILL of the coordinator while the worker trains; the coordinator comes back on the same
// address from its state directory; the worker and the keyholders carry on and the worker
// delivers. No input key is released twice to the same ephemeral key, and the log holds one
// admission for the attempt.
TEST_F(E2eTest, KillingTheCoordinatorDuringTrainingLosesNothing) {
  Contract("c-long", *measurement_, /*steps=*/200);
  auto worker = StartWorker(/*once=*/true);
  std::string job = SubmitJob("c-long");
  // The worker is stopped as soon as it logs that training began (its log is read every 5 ms; 200
  // steps take seconds), the coordinator is killed and restarted meanwhile, and the worker goes on
  // from where it was: the kill lands mid-training however fast this machine trains.
  absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (!absl::StrContains(worker->Err(), "job " + job + ": training on") && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(::kill(worker->pid(), SIGSTOP), 0);
  ASSERT_FALSE(absl::StrContains(worker->Err(), "job " + job + ": trained "))
      << "training ended before the worker was stopped: " << worker->Err();
  ASSERT_TRUE(absl::StrContains(worker->Err(), "job " + job + ": training on")) << worker->Err();
  const int port = port_;
  coordinator_->Signal(SIGKILL);
  absl::SleepFor(absl::Seconds(1));
  StartCoordinator(absl::StrCat("127.0.0.1:", port));
  ASSERT_EQ(port_, port);
  EXPECT_EQ(Status(job)["state"], "running");
  ASSERT_EQ(::kill(worker->pid(), SIGCONT), 0);
  nlohmann::json s = WaitFor(
      job, [](const nlohmann::json& s) { return s["state"] == "done" || s["state"] == "failed"; },
      absl::Seconds(300));
  EXPECT_EQ(s["state"], "done") << s.dump();
  EXPECT_EQ(s["attempt"], 1) << s.dump();
  EXPECT_EQ(worker->Wait(absl::Seconds(60)), 0) << worker->Err();
  nlohmann::json bundle = Bundle(job);
  std::set<std::pair<std::string, std::string>> releases;
  for (const auto& k : bundle["key_releases"]) {
    EXPECT_TRUE(releases.insert({k["artifact_id"].get<std::string>(), k["recipient"].get<std::string>()})
                    .second)
        << k.dump();
  }
  EXPECT_EQ(releases.size(), 2u);
  EXPECT_EQ(bundle["admissions"].size(), 1u);
  Fetch(job, "mo", " --out " + F("adapter"));
  EXPECT_TRUE(std::filesystem::exists(F("adapter/adapter_model.safetensors")));
  // The keyholders stayed up through the coordinator's restart (they asked again) and released
  // each key once.
  for (const auto& k : keyholders_) EXPECT_TRUE(k->running()) << k->Err();
}

}  // namespace
}  // namespace triad
