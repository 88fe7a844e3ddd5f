// The real `triad` binary as the coordinator (`coordinator init | card | serve | parties`, a child
// process on 127.0.0.1 with TLS pinned to its card), as the owners' keyholders (`keyholder serve`,
// child processes) and as the parties (`model/dataset push|register`, `contract submit`,
// `job submit | status | fetch`). The worker is played by this test over gRPC with sim evidence
// from a simulation key the coordinator and the keyholders are told to trust, so nothing here needs
// the worker binary. Outside references: stock `age` and GNU `tar`.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "attestation/binding.h"
#include "attestation/sim.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/json.h"
#include "base/tar.h"
#include "contracts/card.h"
#include "coordinator/card.h"
#include "coordinator/client.h"
#include "coordinator/request.h"
#include "crypto/age.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "crypto/note.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "storage/sqlite.h"
#include "tests/testing/process.h"
#include "tests/testing/sim_attest.h"
#include "tests/testing/testing.h"
#include "triad/v1/audit.grpc.pb.h"
#include "triad/v1/jobs.grpc.pb.h"
#include "triad/v1/workers.grpc.pb.h"
#include "verify/job_record.h"

namespace triad {
namespace {

namespace pb = ::triad::v1;
using testing::RunCommand;
using testing::TempDir;

constexpr char kModelCanary[] = "CLI-MODEL-CANARY-0b7e";
constexpr char kDataCanary[] = "CLI-DATA-CANARY-55a1";

std::string Triad() { return testing::TriadBinary(); }

using testing::ReadIfExists;

// `triad coordinator serve …` as a child process; stdout and stderr go to files.
class ServeProcess : public testing::ChildProcess {
 public:
  ServeProcess(const std::vector<std::string>& args, std::string out, std::string err)
      : ChildProcess(Argv(args), std::move(out), std::move(err)) {}
  // The port it listens on, or 0 when it exits or does not say within 30 s.
  int Port() { return ListeningPort(); }
  // SIGTERM, then the exit status.
  int Stop() { return Signal(SIGTERM); }

 private:
  static std::vector<std::string> Argv(const std::vector<std::string>& args) {
    std::vector<std::string> all = {Triad(), "coordinator", "serve"};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }
};

std::string Sh(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  int code = RunCommand(cmd, &out);
  if (rc != nullptr) {
    *rc = code;
  } else {
    EXPECT_EQ(code, 0) << cmd << "\n" << out;
  }
  return out;
}

// The client's own error line: gRPC logs a failed handshake on stderr too, before it (a line of its
// own, "E1207 … Handshake failed …"), which is the library's, not the reason this test asserts.
std::string TriadLine(const std::string& out) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, "triad: ")) return std::string(line);
  }
  return "";
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void WriteTinyModel(const std::string& dir) { testing::WriteTinyModel(dir, kModelCanary); }

class CoordinatorCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Only what each command line says: no saved context or TRIAD_* default of the user's.
    ::setenv("XDG_CONFIG_HOME", F("config").c_str(), 1);
    for (const char* v : {"TRIAD_COORDINATOR", "TRIAD_COORDINATOR_CARD", "TRIAD_AS", "TRIAD_CONTEXT"}) {
      ::unsetenv(v);
    }
    Sh(Triad() + " coordinator init --dir " + F("state"));
    Sh(Triad() + " coordinator card --dir " + F("state") + " --out " + F("card.json"));
    for (const char* p :
         {"mo:model-owner", "do:data-owner", "cp:compute-provider", "eve:data-owner"}) {
      std::vector<std::string> nr = absl::StrSplit(p, ':');
      Sh(absl::StrCat(Triad(), " keygen --name ", nr[0], " --role ", nr[1], " --dir ", F("keys")));
    }
    // The operator adds the contract's parties from their cards; eve stays a stranger.
    for (const char* p : {"mo", "do", "cp"}) {
      EXPECT_EQ(Sh(absl::StrCat(Triad(), " coordinator parties add ",
                                F("keys/" + std::string(p) + ".card.json"), " --dir ", F("state")))
                    .substr(0, 6),
                "added ");
    }
    testing::WriteTestFile(F("sim.pub.pem"), sim_key_.public_key().ToPem());
    auto card = coordinator::CoordinatorCard::FromFile(F("card.json"));
    ASSERT_TRUE(card.ok()) << card.status();
    fingerprint_ = card->signing_key.KeyId();
  }

  std::string F(const std::string& name) const { return dir_.File(name); }
  std::string Client() const {
    return absl::StrCat(" --coordinator 127.0.0.1:", port_, " --coordinator-card ", F("card.json"));
  }
  std::string As(const std::string& who) const { return " --as " + F("keys/" + who); }

  void StartServer() {
    server_ = std::make_unique<ServeProcess>(
        std::vector<std::string>{"--dir", F("state"), "--listen", "127.0.0.1:0", "--trust-sim-key",
                                 F("sim.pub.pem"), "--poll-wait", "1s"},
        F("serve.out"), F("serve.err"));
    port_ = server_->Port();
    ASSERT_GT(port_, 0) << server_->Err();
  }

  // The model owner's and the data owner's keyholders, each with its own journal, trusting the
  // simulation key as the coordinator does.
  void StartKeyholders() {
    for (const char* p : {"mo", "do"}) {
      keyholders_.push_back(std::make_unique<testing::ChildProcess>(
          std::vector<std::string>{Triad(), "keyholder", "serve", "--as",
                                   F(std::string("keys/") + p), "--coordinator",
                                   absl::StrCat("127.0.0.1:", port_), "--coordinator-card",
                                   F("card.json"), "--trust-sim-key", F("sim.pub.pem")},
          F(std::string(p) + ".keyholder.out"), F(std::string(p) + ".keyholder.err")));
      EXPECT_NE(keyholders_.back()->WaitForLine("keyholder of " + std::string(p) + " ("), "")
          << keyholders_.back()->Err();
    }
  }

  // The parties push their artifacts, sign and submit the contract.
  // `extra`: more `contract draft` flags (an auditor, terms).
  void SetUpContract(const std::string& extra = "") {
    WriteTinyModel(F("model"));
    testing::WriteTestFile(F("data.jsonl"), absl::StrCat("{\"text\": \"", kDataCanary, "\"}\n"));
    model_id_ =
        Trim(Sh(Triad() + " model push" + Client() + As("mo") + " --name tiny --in " + F("model")));
    data_id_ = Trim(Sh(Triad() + " dataset push" + Client() + As("do") + " --name claims --in " +
                       F("data.jsonl")));
    ASSERT_EQ(model_id_.substr(0, 7), "sha256:");
    ASSERT_EQ(data_id_.substr(0, 7), "sha256:");
    measurement_ = crypto::Sha384("cli-test-worker");
    testing::WriteTestFile(F("policy.json"),
                           absl::StrCat("{\"tee\": [\"sim\"], \"sim\": {\"measurements\": [\"",
                                        base::HexEncode(measurement_), "\"]}}"));
    Sh(absl::StrCat(Triad(), " contract draft --model-owner ", F("keys/mo.card.json"),
                    " --data-owner ", F("keys/do.card.json"), " --provider ",
                    F("keys/cp.card.json"), " --model ", model_id_, " --model-name tiny --dataset ",
                    data_id_, " --dataset-name claims --policy ", F("policy.json"),
                    " --valid-for 1d --id c-1", extra, " --out ", F("contract.json")));
    for (const char* p : {"mo", "do"}) Sh(Triad() + " contract sign " + F("contract.json") + As(p));
    EXPECT_EQ(Sh(Triad() + " contract sign --json " + F("contract.json") + As("cp")),
              "{\"file\":\"" + F("contract.json") +
                  "\",\"signed_as\":\"compute_provider\",\"name\":\"cp\",\"signatures\":{"
                  "\"model_owner\":\"valid\",\"data_owner\":\"valid\",\"compute_provider\":"
                  "\"valid\"},\"active\":true,\"reasons\":[]}\n");
    EXPECT_EQ(Trim(Sh(Triad() + " contract submit " + F("contract.json") + Client())).substr(0, 22),
              "contract c-1 is active");
  }

  // The worker's side, over gRPC with the pinned card: poll, attest, await the keys the owners'
  // keyholders release, download both inputs and open them with the released headers, report
  // progress, deliver `adapter_tar` encrypted to both owners.
  void PlayWorker(const std::string& job, const std::string& adapter_tar) {
    auto card = coordinator::CoordinatorCard::FromFile(F("card.json"));
    ASSERT_TRUE(card.ok());
    auto channel = coordinator::OpenChannel({absl::StrCat("127.0.0.1:", port_), *card, false});
    ASSERT_TRUE(channel.ok());
    auto stub = pb::Workers::NewStub(*channel);
    auto cp = crypto::Ed25519PrivateKey::FromPemFile(F("keys/cp.signing.pem"));
    ASSERT_TRUE(cp.ok());
    auto sign = [this](absl::string_view action, nlohmann::json body,
                       const crypto::Ed25519PrivateKey& key) {
      pb::SignedRequest r;
      r.set_envelope_json(coordinator::SignRequest(action, std::move(body), key,
                                                   base::SystemClock().Now(), fingerprint_)
                              .ToJson());
      return r;
    };
    pb::PollReply poll;
    {
      grpc::ClientContext ctx;
      ASSERT_TRUE(
          stub->Poll(&ctx, sign("poll", {{"worker_id", "cli-w1"}, {"tee", "sim"}}, *cp), &poll)
              .ok());
    }
    ASSERT_TRUE(poll.has_job());
    ASSERT_EQ(poll.assignment().job_id(), job);
    crypto::Ed25519PrivateKey eph = crypto::Ed25519PrivateKey::Generate();
    crypto::age::X25519Identity eph_id = crypto::age::X25519Identity::Generate();
    const std::string& nonce = poll.assignment().nonce();
    const crypto::age::X25519Recipient eph_recipient = eph_id.recipient();
    pb::AttestRequest attest = testing::SimAttestRequest(
        {job, "cli-w1", nonce, &*cp, &eph, &eph_recipient, nullptr, nullptr, &sim_key_,
         measurement_, false, base::SystemClock().Now(), fingerprint_});
    pb::AttestReply admitted;
    {
      grpc::ClientContext ctx;
      grpc::Status st = stub->Attest(&ctx, attest, &admitted);
      ASSERT_TRUE(st.ok()) << st.error_message();
    }
    ASSERT_TRUE(admitted.admitted());
    // The keyholders decide on their own; the coordinator only carries their answers.
    pb::KeysReply keys;
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (!keys.ready() && absl::Now() < deadline) {
      grpc::ClientContext ctx;
      grpc::Status st = stub->AwaitKeys(&ctx, sign("await-keys", {{"job_id", job}}, eph), &keys);
      ASSERT_TRUE(st.ok()) << st.error_message();
      ASSERT_FALSE(keys.refused()) << absl::StrJoin(keys.reasons(), "; ");
    }
    ASSERT_TRUE(keys.ready()) << "no keys within 60 s";
    ASSERT_EQ(keys.headers_size(), 2);
    testing::WriteTestFile(F("eph.identity"), std::string(eph_id.ToString().view()) + "\n");
    for (const auto& input : poll.assignment().inputs()) {
      grpc::ClientContext ctx;
      auto r = stub->DownloadInput(
          &ctx, sign("download-input", {{"job_id", job}, {"artifact_id", input.id()}}, eph));
      pb::Chunk c;
      std::string ct;
      while (r->Read(&c)) ct += c.data();
      ASSERT_TRUE(r->Finish().ok());
      ASSERT_EQ(crypto::Sha256Id(ct), input.id());
      // The released header with the stored payload opens with the worker's key, in stock age.
      const pb::RewrappedHeader* header = nullptr;
      for (const auto& h : keys.headers()) {
        if (h.artifact_id() == input.id()) header = &h;
      }
      ASSERT_NE(header, nullptr) << input.id();
      EXPECT_FALSE(header->receipt_json().empty());
      auto own = crypto::age::Header::Parse(ct);
      ASSERT_TRUE(own.ok()) << own.status();
      testing::WriteTestFile(F("opened.age"), header->header() + ct.substr(own->size()));
      std::string plain = Sh("age -d -i " + F("eph.identity") + " " + F("opened.age"));
      if (input.kind() == "model") {
        EXPECT_EQ(Sh("age -d -i " + F("eph.identity") + " " + F("opened.age") + " | tar -t"),
                  "config.json\nmodel.safetensors\ntokenizer.json\n");
      } else {
        EXPECT_NE(plain.find(kDataCanary), std::string::npos) << plain;
      }
      // Without the released header, the worker's key opens nothing.
      int rc = 0;
      testing::WriteTestFile(F("opened.age.orig"), ct);
      Sh("age -d -i " + F("eph.identity") + " -o /dev/null " + F("opened.age.orig"), &rc);
      EXPECT_NE(rc, 0);
    }
    {
      grpc::ClientContext ctx;
      pb::Ack ack;
      ASSERT_TRUE(stub->ReportProgress(&ctx,
                                       sign("report-progress",
                                            {{"job_id", job},
                                             {"step", 3},
                                             {"total_steps", 3},
                                             {"tokens_per_second", 99.0}},
                                            eph),
                                       &ack)
                      .ok());
    }
    std::vector<crypto::age::X25519Recipient> to;
    for (const char* p : {"mo", "do"}) {
      to.push_back(
          contracts::PartyCard::FromFile(F(absl::StrCat("keys/", p, ".card.json")))->age_recipient);
    }
    std::string adapter_ct = *crypto::age::Encrypt(to, adapter_tar);
    // The contract sends metrics to both owners (draft's default): sealed to them in the record.
    std::string sealed = *crypto::age::Encrypt(to, "{\"final_loss\": 1.25}");
    auto contract_env = crypto::DsseEnvelope::FromJson(testing::ReadTestFile(F("contract.json")));
    nlohmann::json st = {
        {"_type", verify::kStatementType},
        {"subject",
         {{{"name", job + ".adapter.tar.age"},
           {"digest", {{"sha256", base::HexEncode(crypto::Sha256(adapter_ct))}}}}}},
        {"predicateType", verify::kJobRecordPredicateType},
        {"predicate",
         {{"job_id", job},
          {"contract_id", "c-1"},
          {"contract_digest", crypto::Sha256Id(contract_env->payload)},
          {"inputs",
           {{{"role", "base_model"}, {"id", model_id_}}, {{"role", "dataset"}, {"id", data_id_}}}},
          {"worker",
           {{"tee", "sim"},
            {"evidence_digest", admitted.evidence_digest()},
            {"claims", *base::ParseJsonStrict(admitted.claims_json())},
            {"simulated", true},
            {"ed25519_public_key", base::Base64Encode(eph.public_key().raw())},
            {"age_recipient", eph_id.recipient().ToString()}}},
          {"training", {{"steps", 3}, {"tokens", 300}, {"wall_seconds", 1.5}}},
          {"recipients", {to[0].ToString(), to[1].ToString()}},
          {"metrics",
           {{"recipients", {to[0].ToString(), to[1].ToString()}},
            {"sealed", base::Base64Encode(sealed)}}}}}};
    crypto::DsseEnvelope record{verify::kInTotoPayloadType, st.dump(), {}};
    crypto::DsseSign(record, eph);
    grpc::ClientContext ctx;
    pb::Ack ack;
    auto w = stub->UploadOutput(&ctx, &ack);
    pb::OutputUpload first;
    *first.mutable_statement() =
        sign("deliver-output", {{"job_id", job}, {"record", record.ToJson()}}, eph);
    ASSERT_TRUE(w->Write(first));
    pb::OutputUpload chunk;
    chunk.mutable_chunk()->set_data(adapter_ct);
    ASSERT_TRUE(w->Write(chunk));
    w->WritesDone();
    grpc::Status done = w->Finish();
    ASSERT_TRUE(done.ok()) << done.error_message();
  }

  static std::string AdapterTar() {
    std::string tar;
    auto w = base::TarWriter::Create([&tar](absl::string_view d) {
      tar.append(d.data(), d.size());
      return absl::OkStatus();
    });
    EXPECT_TRUE((*w)->AddFile("adapter_config.json", "{\"r\": 8}").ok());
    EXPECT_TRUE((*w)->AddFile("adapter_model.safetensors", std::string(5000, '\7')).ok());
    EXPECT_TRUE((*w)->AddFile("training_report.json", "{\"steps\": 3}").ok());
    EXPECT_TRUE((*w)->Finish().ok());
    return tar;
  }

  TempDir dir_;
  crypto::Ed25519PrivateKey sim_key_ = crypto::Ed25519PrivateKey::Generate();
  std::string fingerprint_;  // the coordinator's: the audience of every request
  std::unique_ptr<ServeProcess> server_;
  std::vector<std::unique_ptr<testing::ChildProcess>> keyholders_;
  int port_ = 0;
  std::string model_id_, data_id_, measurement_;
};

TEST_F(CoordinatorCliTest, ThreePartiesThroughTheRealBinary) {
  // init made the state directory with owner-only secrets; card prints what init wrote.
  auto mode = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
  };
  EXPECT_EQ(mode(F("state")), 0700);
  for (const char* f : {"coordinator.signing.pem", "tls.key.pem"}) {
    EXPECT_EQ(mode(F(absl::StrCat("state/", f))), 0600) << f;
  }
  EXPECT_FALSE(std::filesystem::exists(F("state/coordinator.identity")));  // no key broker
  EXPECT_EQ(Sh(Triad() + " coordinator card --dir " + F("state")),
            testing::ReadTestFile(F("card.json")));
  EXPECT_EQ(testing::ReadTestFile(F("card.json")),
            testing::ReadTestFile(F("state/coordinator.card.json")));
  int rc = 0;
  std::string out = Sh(Triad() + " coordinator init --dir " + F("state"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(
      out,
      "triad: " + F("state") +
          " is not empty; a coordinator state directory is created once, in a new directory\n");

  StartServer();
  SetUpContract();
  // Parties do not add themselves here: the operator did (coordinator parties add).
  out = Sh(Triad() + " party register" + Client() + As("eve"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out,
            "triad: this coordinator does not take self-registrations: its operator adds parties "
            "(triad coordinator parties add CARD); send your card to the operator\n");
  EXPECT_TRUE(
      absl::StrContains(Sh(Triad() + " coordinator parties list --dir " + F("state")), "\nmo "));

  // The model went up as a tar of exactly the model's files, encrypted to its owner alone: the
  // owner's identity opens it with stock age, and no file the coordinator has opens it or any other
  // blob; no plaintext is on the coordinator's disk.
  std::string blob = F("state/blobs/objects/" + model_id_.substr(7, 2) + "/" + model_id_.substr(9));
  std::string data_blob =
      F("state/blobs/objects/" + data_id_.substr(7, 2) + "/" + data_id_.substr(9));
  EXPECT_EQ(Sh("age -d -i " + F("keys/mo.identity") + " " + blob + " | tar -t"),
            "config.json\nmodel.safetensors\ntokenizer.json\n");
  int tried = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(F("state"))) {
    if (!e.is_regular_file() || absl::StrContains(e.path().string(), "/blobs/objects/")) continue;
    for (const std::string& b : {blob, data_blob}) {
      Sh("age -d -i " + e.path().string() + " -o /dev/null " + b, &rc);
      EXPECT_NE(rc, 0) << e.path() << " opens " << b;
      ++tried;
    }
  }
  EXPECT_GE(tried, 8);
  EXPECT_EQ(Sh(absl::StrCat("grep -rlaF -e ", kModelCanary, " -e ", kDataCanary, " ", F("state"),
                            " || true")),
            "");

  // A dataset encrypted with stock age to its owner registers too; the id is the file's SHA-256.
  std::string recipient =
      contracts::PartyCard::FromFile(F("keys/do.card.json"))->age_recipient.ToString();
  Sh("echo '{\"text\": \"more\"}' | age -r " + recipient + " -o " + F("more.jsonl.age"));
  EXPECT_EQ(Trim(Sh(Triad() + " dataset register" + Client() + As("do") + " --name more --file " +
                    F("more.jsonl.age"))),
            crypto::Sha256Id(testing::ReadTestFile(F("more.jsonl.age"))));
  Sh("echo x | age -r " + recipient + " -a -o " + F("armored.age"));
  out = Sh(
      Triad() + " dataset register" + Client() + As("do") + " --name x --file " + F("armored.age"),
      &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: " + F("armored.age") +
                     " is ASCII-armored; register the binary age file (encrypt without -a)\n");
  // A file someone else can open too is refused: only the owner's keyholder may hold its key.
  std::string eve =
      contracts::PartyCard::FromFile(F("keys/eve.card.json"))->age_recipient.ToString();
  Sh("echo x | age -r " + recipient + " -r " + eve + " -o " + F("shared.age"));
  out = Sh(
      Triad() + " dataset register" + Client() + As("do") + " --name x --file " + F("shared.age"),
      &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: " + F("shared.age") +
                     " is encrypted to 2 recipient(s); an artifact is encrypted to its owner's "
                     "release recipient alone (age -r " +
                     recipient + ")\n");
  Sh("echo x | age -r " + eve + " -o " + F("eves.age"));
  out =
      Sh(Triad() + " dataset register" + Client() + As("do") + " --name x --file " + F("eves.age"),
         &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: " + F("eves.age") + " is not encrypted to do's release recipient " +
                     recipient +
                     " (age: none of the 1 identities opens any of the file's 1 recipient "
                     "stanzas)\n");
  out = Sh(Triad() + " model push" + Client() + As("do") + " --name m2 --in " + F("model"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: party do is a data-owner; only a model-owner registers a model\n");

  // Jobs.
  StartKeyholders();
  out = Sh(Triad() + " job submit" + Client() + " --contract c-1" + As("eve"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: request is signed by key " +
                     contracts::PartyCard::FromFile(F("keys/eve.card.json"))->fingerprint() +
                     ", which is not a registered party's; ask the coordinator's operator to add "
                     "the party (triad coordinator parties add CARD)\n");
  std::string job = Trim(Sh(Triad() + " job submit" + Client() + " --contract c-1" + As("do")));
  ASSERT_EQ(job.size(), 18u);
  EXPECT_EQ(Sh(Triad() + " job status" + Client() + " " + job + As("do")), job + "  queued\n");
  // Only the contract's parties and auditors read its jobs (eve is registered by now, but not in
  // contract c-1).
  Sh(Triad() + " coordinator parties add " + F("keys/eve.card.json") + " --dir " + F("state"));
  out = Sh(Triad() + " job status" + Client() + " " + job + As("eve"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: request is signed by key " +
                     contracts::PartyCard::FromFile(F("keys/eve.card.json"))->fingerprint() +
                     ", which is neither a party of contract c-1 nor an auditor it names\n");
  out = Sh(Triad() + " job fetch" + Client() + " " + job + As("do") + " --out " + F("early"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: job " + job + " is queued; nothing to fetch yet\n");

  // A watcher follows it to the end while the worker runs.
  std::string watched;
  int watch_rc = -1;
  std::thread watcher([&] {
    watch_rc =
        RunCommand(Triad() + " job status --watch" + Client() + " " + job + As("cp"), &watched);
  });
  absl::SleepFor(absl::Milliseconds(500));
  PlayWorker(job, AdapterTar());
  watcher.join();
  EXPECT_EQ(watch_rc, 0) << watched;
  EXPECT_NE(watched.find("SIMULATED: no hardware protection\n"), std::string::npos) << watched;
  EXPECT_NE(watched.find(job + "  done  step 3/3 (100%)  output sha256:"), std::string::npos)
      << watched;

  auto status =
      base::ParseJsonStrict(Sh(Triad() + " job status --json" + Client() + " " + job + As("mo")));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["state"], "done");
  EXPECT_EQ((*status)["simulated"], true);
  EXPECT_EQ((*status)["worker_id"], "cli-w1");
  EXPECT_EQ((*status)["attempt"], 1);
  std::string output_id = (*status)["output_id"];

  // The keyholders' journals: each released its owner's input to this attempt's worker.
  for (const char* p : {"mo", "do"}) {
    out = Sh(Triad() + " keyholder log --state " + F(std::string("keys/") + p + ".keyholder"));
    EXPECT_NE(out.find("  RELEASED  sha256:"), std::string::npos) << out;
    EXPECT_NE(out.find("job " + job + " attempt 1 (contract c-1) to age1"), std::string::npos)
        << out;
  }

  // Fetch: the bundle is verified first (here against the simulation key), then the adapter is
  // decrypted and unpacked; the kept ciphertext opens with stock age and lists with tar.
  out = Sh(Triad() + " job fetch" + Client() + " " + job + As("do") + " --out " + F("unverified"),
           &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out.substr(0, out.find(" at 20")),
            "triad: job " + job +
                " does not verify, nothing was decrypted or written: admission 1 evidence: does "
                "not verify against the pinned roots")
      << out;
  EXPECT_FALSE(std::filesystem::exists(F("unverified")));
  const std::string sim = " --trust-sim-key " + F("sim.pub.pem");
  out = Sh(Triad() + " job fetch" + Client() + " " + job + As("do") + sim + " --out " +
           F("adapter") + " --keep-ciphertext " + F("adapter.tar.age"));
  EXPECT_EQ(out, "SIMULATED: no hardware protection\nverified job " + job +
                     " (22 checks) and wrote " + F("adapter") +
                     ": adapter_config.json, adapter_model.safetensors, training_report.json, "
                     "metrics.json\nkept the encrypted adapter in " +
                     F("adapter.tar.age") + "\n");
  // The metrics the worker sealed in the record, opened by a metrics recipient.
  EXPECT_EQ(testing::ReadTestFile(F("adapter/metrics.json")), "{\"final_loss\": 1.25}");
  EXPECT_EQ(testing::ReadTestFile(F("adapter/adapter_config.json")), "{\"r\": 8}");
  EXPECT_EQ(testing::ReadTestFile(F("adapter/adapter_model.safetensors")), std::string(5000, '\7'));
  EXPECT_EQ(crypto::Sha256Id(testing::ReadTestFile(F("adapter.tar.age"))), output_id);
  EXPECT_EQ(Sh("age -d -i " + F("keys/mo.identity") + " " + F("adapter.tar.age") + " | tar -t"),
            "adapter_config.json\nadapter_model.safetensors\ntraining_report.json\n");
  // --json: one object that says what was verified and written.
  out = Sh(Triad() + " job fetch --json" + Client() + " " + job + As("mo") + sim + " --out " +
           F("adapter-mo"));
  EXPECT_EQ(out, "SIMULATED: no hardware protection\n{\"job_id\":\"" + job +
                     "\",\"checks\":22,\"simulated\":true,\"notice\":\"SIMULATED: no hardware "
                     "protection\",\"out\":\"" + F("adapter-mo") +
                     "\",\"files\":[\"adapter_config.json\",\"adapter_model.safetensors\","
                     "\"training_report.json\",\"metrics.json\"]}\n");
  out =
      Sh(Triad() + " job fetch" + Client() + " " + job + As("mo") + sim + " --out " + F("adapter"),
         &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: " + F("adapter") + " is not empty; fetch into a new directory\n");
  out = Sh(
      Triad() + " job fetch" + Client() + " " + job + As("cp") + sim + " --out " + F("cp-adapter"),
      &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out,
            "SIMULATED: no hardware protection\ntriad: party cp is not an adapter recipient of "
            "contract c-1\n");
  EXPECT_FALSE(std::filesystem::exists(F("cp-adapter")));

  // The auditor's bundle, exported to a new file.
  out = Sh(Triad() + " audit export" + Client() + " " + job + As("cp") + " --out " +
           F("bundle.json"));
  EXPECT_EQ(out, "wrote " + F("bundle.json") + "\n");
  out = Sh(Triad() + " audit export --json" + Client() + " " + job + As("cp") + " --out " +
           F("bundle2.json"));
  EXPECT_EQ(out, absl::StrCat("{\"job_id\":\"", job, "\",\"out\":\"", F("bundle2.json"),
                              "\",\"bytes\":", testing::ReadTestFile(F("bundle2.json")).size(),
                              "}\n"));
  auto bundle = base::ParseJsonStrict(testing::ReadTestFile(F("bundle.json")));
  ASSERT_TRUE(bundle.ok());
  EXPECT_EQ((*bundle)["type"], "triad.audit-bundle/v1");
  EXPECT_EQ((*bundle)["job"]["output_id"], output_id);
  EXPECT_EQ((*bundle)["admissions"].size(), 1u);
  // --json without --out: the bundle itself, one object on one line (the file form is indented).
  out = Sh(Triad() + " audit export --json" + Client() + " " + job + As("cp"));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_TRUE(absl::EndsWith(out, "}\n")) << out;
  auto inline_bundle = base::ParseJsonStrict(out);
  ASSERT_TRUE(inline_bundle.ok()) << inline_bundle.status();
  EXPECT_EQ((*inline_bundle)["type"], "triad.audit-bundle/v1");
  EXPECT_EQ((*inline_bundle)["job"], (*bundle)["job"]);
  out = Sh(Triad() + " audit export" + Client() + " j-nope" + As("cp"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: job j-nope not found\n");

  for (auto& k : keyholders_) EXPECT_EQ(k->Signal(SIGTERM), 0) << k->Err();
  EXPECT_EQ(server_->Stop(), 0) << server_->Err();
}

// The auditor's commands: `audit verify` on the bundle the real binary exported, and `audit watch`
// against the served coordinator's log.
TEST_F(CoordinatorCliTest, AuditorVerifiesTheBundleOfflineAndWatchesTheLog) {
  StartServer();
  std::string watch = Triad() + " audit watch" + Client() + " --state " + F("seen.note");
  std::string out = Sh(watch);
  EXPECT_EQ(out.substr(0, 29), "saved checkpoint: tree size 3") << out;
  EXPECT_NE(out.find("(first view; " + F("seen.note") + " had none)\n"), std::string::npos);
  EXPECT_EQ(Sh(watch).substr(0, 23), "checkpoint: tree size 3");

  SetUpContract();
  StartKeyholders();
  std::string job = Trim(Sh(Triad() + " job submit" + Client() + " --contract c-1" + As("do")));
  PlayWorker(job, AdapterTar());
  Sh(Triad() + " job fetch" + Client() + " " + job + As("do") + " --trust-sim-key " +
     F("sim.pub.pem") + " --out " + F("adapter") + " --keep-ciphertext " + F("adapter.tar.age"));
  Sh(Triad() + " audit export" + Client() + " " + job + As("do") + " --out " + F("bundle.json"));
  auto bundle = base::ParseJsonStrict(testing::ReadTestFile(F("bundle.json")));
  ASSERT_TRUE(bundle.ok());
  uint64_t size = (*bundle)["log"]["tree_size"];
  // TRIAD_WRITE_FUZZ_SEED=DIR: this run's bundle and what verifies it become the audit bundle
  // fuzzer's seed and fixture (tests/fuzz/audit_bundle_fuzzer.cc).
  if (const char* seed = std::getenv("TRIAD_WRITE_FUZZ_SEED"); seed != nullptr && *seed != '\0') {
    auto card = coordinator::CoordinatorCard::FromFile(F("card.json"));
    ASSERT_TRUE(card.ok());
    testing::WriteTestFile(std::string(seed) + "/bundle.json",
                           testing::ReadTestFile(F("bundle.json")));
    testing::WriteTestFile(
        std::string(seed) + "/fixture.txt",
        absl::StrCat("card_key ", base::Base64Encode(card->signing_key.raw()), "\norigin ",
                     card->log_origin, "\nsim_key ",
                     base::Base64Encode(sim_key_.public_key().raw()), "\nadapter ",
                     crypto::Sha256Id(testing::ReadTestFile(F("adapter.tar.age"))), "\n"));
  }

  // The log grew: the new checkpoint extends the saved one, and replaces it.
  out = Sh(watch);
  EXPECT_EQ(out.substr(0, 28 + std::to_string(size).size()),
            "saved checkpoint: tree size " + std::to_string(size));
  EXPECT_NE(out.find(", extends the saved tree size 3 (consistency proof verified)\n"),
            std::string::npos)
      << out;
  std::string seen = testing::ReadTestFile(F("seen.note"));
  EXPECT_EQ(seen, (*bundle)["log"]["checkpoint"]);

  // Offline: everything holds with the simulation key the coordinator trusted, given as a flag
  // or in a roots directory (sim_*.pub.pem), as `coordinator serve` takes it.
  std::string verify =
      Triad() + " audit verify " + F("bundle.json") + " --coordinator-card " + F("card.json");
  int rc = 0;
  out = Sh(verify + " --trust-sim-key " + F("sim.pub.pem") + " --adapter " + F("adapter.tar.age"),
           &rc);
  EXPECT_EQ(rc, 0) << out;
  std::vector<std::string> lines = absl::StrSplit(Trim(out), '\n');
  ASSERT_EQ(lines.size(), 25u) << out;
  for (size_t i = 0; i < 23; ++i) EXPECT_EQ(lines[i].substr(0, 5), "ok   ") << lines[i];
  EXPECT_EQ(lines[20].substr(0, 18), "ok   key releases:");
  EXPECT_EQ(lines[21].substr(0, 18), "ok   key refusals:");
  EXPECT_EQ(lines[22].substr(0, 18), "ok   adapter file:");
  EXPECT_EQ(lines[23], "SIMULATED: no hardware protection");
  EXPECT_EQ(lines[24], "verdict: OK, all 23 checks hold for job " + job);
  std::filesystem::create_directories(F("roots"));
  std::filesystem::copy_file(F("sim.pub.pem"), F("roots/sim_cli.pub.pem"));
  out = Sh(verify + " --roots " + F("roots"), &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("verdict: OK, all 22 checks hold for job " + job), std::string::npos);

  // The auditor's own anchors decide: without the simulation key the evidence does not verify.
  out = Sh(verify, &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("\nFAIL admission 1 evidence: does not verify against the pinned roots at "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("SIMULATED: no hardware protection\nverdict: FAIL, 4 of 22 checks failed "
                     "for job " +
                     job + "\n"),
            std::string::npos)
      << out;

  // Another file than the delivered adapter; a tampered bundle.
  out = Sh(verify + " --roots " + F("roots") + " --adapter " + F("contract.json"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("\nFAIL adapter file: the file hashes to " +
                     crypto::Sha256Id(testing::ReadTestFile(F("contract.json")))),
            std::string::npos)
      << out;
  nlohmann::json tampered = *bundle;
  tampered["log"]["tree_size"] = size + 1;
  testing::WriteTestFile(F("tampered.json"), tampered.dump());
  out = Sh(Triad() + " audit verify " + F("tampered.json") + " --coordinator-card " +
               F("card.json") + " --roots " + F("roots"),
           &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find(absl::StrCat("\nFAIL checkpoint signature: the bundle says tree_size ",
                                  size + 1, ", the signed checkpoint says ", size, "\n")),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("verdict: FAIL, 1 of 22 checks failed for job " + job), std::string::npos);

  // --json: the same report as a document.
  out = Sh(verify + " --roots " + F("roots") + " --json", &rc);
  EXPECT_EQ(rc, 0);
  auto report = base::ParseJsonStrict(out);
  ASSERT_TRUE(report.ok()) << out;
  EXPECT_EQ((*report)["job_id"], job);
  EXPECT_EQ((*report)["ok"], true);
  EXPECT_EQ((*report)["simulated"], true);
  EXPECT_EQ((*report)["notice"], "SIMULATED: no hardware protection");
  EXPECT_EQ((*report)["adapter_checked"], false);
  ASSERT_EQ((*report)["checks"].size(), 22u);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;  // one object, one line
  std::vector<std::string> ids;
  for (const auto& c : (*report)["checks"]) {
    EXPECT_EQ(c["ok"], true) << c.dump();
    EXPECT_TRUE(c["name"].is_string() && c["detail"].is_string());
    // A stable id to key on, and the attempt apart for the admission checks.
    ids.push_back(c["id"].get<std::string>() +
                  (c.contains("attempt") ? absl::StrCat("#", c["attempt"].get<int>()) : ""));
  }
  EXPECT_EQ((*report)["checks"][0]["name"], "bundle");
  EXPECT_EQ(absl::StrJoin(ids, " "),
            "bundle checkpoint_signature log_inclusion contract_signatures contract_digest "
            "contract_terms registrations job_submission admission.evidence_digest#1 "
            "admission.evidence#1 admission.claims#1 admission.report_data_binding#1 "
            "admission.policy_decision#1 job_history contract_history job_state "
            "job_record_worker_signature job_record_coordinator_signature job_record_statement "
            "adapter_digest key_releases key_refusals");
  out = Sh(Triad() + " audit verify " + F("bundle.json"), &rc);
  EXPECT_EQ(rc, 2) << out;

  // Watch: a view that is not an extension of the saved one fails, and the state file stays.
  auto key = crypto::Ed25519PrivateKey::FromPemFile(F("state/coordinator.signing.pem"));
  ASSERT_TRUE(key.ok());
  auto card = coordinator::CoordinatorCard::FromFile(F("card.json"));
  auto signer = crypto::NoteSigner::Create(card->log_origin, *std::move(key));
  ASSERT_TRUE(signer.ok());
  auto real = crypto::OpenCheckpoint(seen, signer->verifier(), card->log_origin);
  ASSERT_TRUE(real.ok()) << real.status();
  auto forge = [&](uint64_t size, const std::string& root) {
    crypto::Checkpoint cp = *real;
    cp.size = size;
    cp.root_hash = root;
    std::string note = *signer->Sign(cp.ToText());
    testing::WriteTestFile(F("seen.note"), note);
    return note;
  };
  std::string conflict = "; " + F("seen.note") +
                         " is left as it was, the conflicting checkpoint is in " +
                         F("seen.note.conflict") + "\n";
  // Another root at the same size: two views of one log, both signed by the coordinator.
  std::string forged = forge(size, crypto::Sha256("another log"));
  out = Sh(watch, &rc);
  EXPECT_EQ(rc, 3);  // not an extension: its own exit code
  EXPECT_EQ(out, absl::StrCat("triad: coordinator 127.0.0.1:", port_,
                              " shows a log that is not an extension: the coordinator shows root ",
                              base::Base64Encode(real->root_hash), " for tree size ", size,
                              ", the saved checkpoint has root ",
                              base::Base64Encode(crypto::Sha256("another log")),
                              " (two views of one log)", conflict));
  EXPECT_EQ(testing::ReadTestFile(F("seen.note")), forged);
  // The conflicting checkpoint is the coordinator's, as served: the same tree as `seen`, signed by
  // the card's key, with whatever cosignatures the keyholders have added meanwhile.
  auto kept = crypto::OpenCheckpoint(testing::ReadTestFile(F("seen.note.conflict")),
                                     signer->verifier(), card->log_origin);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->size, real->size);
  EXPECT_EQ(kept->root_hash, real->root_hash);
  // A larger saved tree: the coordinator shows less than it showed before.
  forged = forge(size + 5, real->root_hash);
  out = Sh(watch, &rc);
  EXPECT_EQ(rc, 3);  // not an extension: its own exit code
  EXPECT_EQ(out, absl::StrCat("triad: coordinator 127.0.0.1:", port_,
                              " shows a log that is not an extension: the coordinator shows tree "
                              "size ",
                              size, ", smaller than the saved ", size + 5, conflict));
  EXPECT_EQ(testing::ReadTestFile(F("seen.note")), forged);
  // A smaller saved tree that is not a prefix of the shown one.
  forged = forge(size - 3, crypto::Sha256("another past"));
  out = Sh(watch, &rc);
  EXPECT_EQ(rc, 3);  // not an extension: its own exit code
  EXPECT_EQ(out.substr(0, out.find(" consistency proof from")),
            absl::StrCat("triad: coordinator 127.0.0.1:", port_,
                         " shows a log that is not an extension:"));
  EXPECT_EQ(testing::ReadTestFile(F("seen.note")), forged);
  // A saved checkpoint the coordinator's key did not sign is refused before anything is fetched.
  auto other = crypto::NoteSigner::Create(card->log_origin, crypto::Ed25519PrivateKey::Generate());
  forged = *other->Sign(real->ToText());
  testing::WriteTestFile(F("seen.note"), forged);
  out = Sh(watch, &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out.substr(0, 7 + F("seen.note").size() + 24),
            "triad: " + F("seen.note") + ": the saved checkpoint: ");
  EXPECT_EQ(testing::ReadTestFile(F("seen.note")), forged);
  // The real one again: consistent, unchanged.
  testing::WriteTestFile(F("seen.note"), seen);
  out = Sh(watch);
  EXPECT_EQ(out,
            absl::StrCat("checkpoint: tree size ", size, ", root ",
                         base::Base64Encode(real->root_hash), ", unchanged since the saved one\n"));
  EXPECT_EQ(Sh(watch + " --json"),
            absl::StrCat("{\"event\":\"unchanged\",\"tree_size\":", size, ",\"root\":\"",
                         base::Base64Encode(real->root_hash), "\"}\n"));
  EXPECT_EQ(server_->Stop(), 0) << server_->Err();
}

// `audit watch --every`: the state file follows the log as it grows, an unchanged log prints
// nothing, the first view that does not extend the saved one ends the watch with exit code 3, and a
// coordinator that cannot be reached is asked again rather than given up on.
TEST_F(CoordinatorCliTest, AuditWatchEveryFollowsTheLogUntilAForkedView) {
  StartServer();
  const std::vector<std::string> argv = {Triad(),       "audit",
                                         "watch",       "--coordinator",
                                         absl::StrCat("127.0.0.1:", port_),
                                         "--coordinator-card", F("card.json"),
                                         "--state",     F("seen.note"),
                                         "--every",     "100ms"};
  int rc = 0;
  std::string usage = Sh(Triad() + " audit watch" + Client() + " --state " + F("seen.note") +
                             " --every 0s",
                         &rc);
  EXPECT_EQ(rc, 2) << usage;
  EXPECT_TRUE(absl::StrContains(usage, "--every: \"0s\" is not a positive duration")) << usage;
  testing::ChildProcess watch(argv, F("watch.out"), F("watch.err"));
  EXPECT_NE(watch.WaitForLine("saved checkpoint: tree size 3, root "), "") << watch.Err();

  // The operator adds a party while the coordinator serves: the log grows by one entry and the
  // watcher saves the new checkpoint on its own.
  Sh(Triad() + " coordinator parties add " + F("keys/eve.card.json") + " --dir " + F("state"));
  std::string extended = watch.WaitForLine("saved checkpoint: tree size 4, root ");
  EXPECT_TRUE(absl::EndsWith(extended, " (consistency proof verified)")) << extended << watch.Err();
  // Several more turns with nothing new to say: nothing more is printed.
  std::string out = watch.Out();
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(watch.Out(), out);
  EXPECT_TRUE(absl::EndsWith(out, extended + "\n")) << out;
  EXPECT_TRUE(watch.running());

  // Someone shows the watcher another root for the same size: it stops, and says why.
  auto key = crypto::Ed25519PrivateKey::FromPemFile(F("state/coordinator.signing.pem"));
  ASSERT_TRUE(key.ok());
  auto card = coordinator::CoordinatorCard::FromFile(F("card.json"));
  auto signer = crypto::NoteSigner::Create(card->log_origin, *std::move(key));
  ASSERT_TRUE(signer.ok());
  auto real = crypto::OpenCheckpoint(testing::ReadTestFile(F("seen.note")), signer->verifier(),
                                     card->log_origin);
  ASSERT_TRUE(real.ok()) << real.status();
  crypto::Checkpoint other = *real;
  other.root_hash = crypto::Sha256("another log");
  // Replaced as the watcher replaces it (atomically), so that it never reads half a file.
  ASSERT_TRUE(base::WriteFileAtomic(F("seen.note"), *signer->Sign(other.ToText()), 0644).ok());
  EXPECT_EQ(watch.Wait(absl::Seconds(10)), 3) << watch.Err();
  EXPECT_TRUE(absl::StrContains(watch.Err(), " shows a log that is not an extension: ")) << watch.Err();

  // Without a coordinator to ask, the watcher reports it and keeps asking.
  EXPECT_EQ(server_->Stop(), 0) << server_->Err();
  testing::WriteTestFile(F("seen.note"), *signer->Sign(real->ToText()));
  std::vector<std::string> again = argv;
  testing::ChildProcess orphan(again, F("orphan.out"), F("orphan.err"));
  absl::SleepFor(absl::Seconds(1));
  EXPECT_TRUE(orphan.running()) << orphan.Err();
  EXPECT_TRUE(absl::StartsWith(orphan.Err(),
                               "triad: audit watch: the coordinator is unreachable, asking again "
                               "every 100ms: coordinator 127.0.0.1:"))
      << orphan.Err();
  // Said once per outage, not at every turn.
  EXPECT_EQ(Lines(orphan.Err()).size(), 1u) << orphan.Err();
  EXPECT_EQ(orphan.Signal(SIGTERM), 0) << orphan.Err();
}

// `audit watch --every` outlives a coordinator restart (killed, and started again on the same state
// directory and port): it says on stderr that the coordinator is unreachable, once, and that it
// answers again; it checks, saves and cosigns the next checkpoint as if nothing happened, and
// SIGTERM ends it with exit 0. A coordinator restarted on the same port from a copy of its state
// that grew another way (a fork) ends the watch with its own exit code, 3, the state file
// untouched.
TEST_F(CoordinatorCliTest, AuditWatchEveryOutlivesACoordinatorRestart) {
  StartServer();
  const int port = port_;
  auto serve_again = [&](const std::string& dir) {
    server_ = std::make_unique<ServeProcess>(
        std::vector<std::string>{"--dir", F(dir), "--listen", absl::StrCat("127.0.0.1:", port),
                                 "--trust-sim-key", F("sim.pub.pem"), "--poll-wait", "1s"},
        F(dir + ".serve.out"), F(dir + ".serve.err"));
    ASSERT_EQ(server_->Port(), port) << server_->Err();
  };
  // The rest of stderr's first line that starts with `prefix`, within 30 s.
  auto err_line = [](testing::ChildProcess& p, const std::string& prefix) -> std::string {
    for (int i = 0; i < 300; ++i) {
      for (absl::string_view line : absl::StrSplit(p.Err(), '\n')) {
        if (absl::StartsWith(line, prefix)) return std::string(line.substr(prefix.size()));
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return "<none>";
  };
  const std::vector<std::string> argv = {Triad(),
                                         "audit",
                                         "watch",
                                         "--coordinator",
                                         absl::StrCat("127.0.0.1:", port),
                                         "--coordinator-card",
                                         F("card.json"),
                                         "--state",
                                         F("seen.note"),
                                         "--every",
                                         "200ms",
                                         "--witness",
                                         F("keys/do")};
  testing::ChildProcess watch(argv, F("watch.out"), F("watch.err"));
  EXPECT_NE(watch.WaitForLine("saved checkpoint: tree size 3, root "), "") << watch.Err();
  EXPECT_EQ(watch.WaitForLine("cosigned tree size 3 as witness "), "do") << watch.Err();

  // The coordinator goes away; the log grows while it is down (an operator's party) and it comes
  // back on the same state directory and port. A copy of the state taken before is kept for later.
  ASSERT_EQ(server_->Stop(), 0) << server_->Err();
  EXPECT_TRUE(absl::StartsWith(
      err_line(watch,
               "triad: audit watch: the coordinator is unreachable, asking again every "
               "200ms: "),
      absl::StrCat("coordinator 127.0.0.1:", port)))
      << watch.Err();
  std::filesystem::copy(F("state"), F("fork"), std::filesystem::copy_options::recursive);
  auto eve = contracts::PartyCard::FromFile(F("keys/eve.card.json"));
  ASSERT_TRUE(eve.ok()) << eve.status();
  EXPECT_EQ(Sh(Triad() + " coordinator parties add --json " + F("keys/eve.card.json") + " --dir " +
               F("state")),
            "{\"name\":\"eve\",\"role\":\"data-owner\",\"fingerprint\":\"" + eve->fingerprint() +
                "\",\"added\":true}\n");
  absl::SleepFor(absl::Milliseconds(500));  // a few more turns without an answer
  EXPECT_TRUE(watch.running()) << watch.Err();
  serve_again("state");
  std::string extended = watch.WaitForLine("saved checkpoint: tree size 4, root ");
  EXPECT_TRUE(absl::EndsWith(extended,
                             ", extends the saved tree size 3 (consistency proof "
                             "verified)"))
      << extended << watch.Err();
  EXPECT_EQ(watch.WaitForLine("cosigned tree size 4 as witness "), "do") << watch.Err();
  EXPECT_EQ(err_line(watch, "triad: audit watch: the coordinator answers again"), "")
      << watch.Err();
  // One line each for the outage, and nothing else on stderr.
  EXPECT_EQ(Lines(watch.Err()).size(), 2u) << watch.Err();
  EXPECT_TRUE(watch.running());
  EXPECT_EQ(watch.Signal(SIGTERM), 0) << watch.Err();
  const std::string seen = testing::ReadTestFile(F("seen.note"));
  auto card = coordinator::CoordinatorCard::FromFile(F("card.json"));
  ASSERT_TRUE(card.ok()) << card.status();
  auto key = crypto::Ed25519PrivateKey::FromPemFile(F("state/coordinator.signing.pem"));
  ASSERT_TRUE(key.ok());
  auto signer = crypto::NoteSigner::Create(card->log_origin, *std::move(key));
  ASSERT_TRUE(signer.ok());
  auto saved = crypto::OpenCheckpoint(seen, signer->verifier(), card->log_origin);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->size, 4u);

  // The copy grows its own entry 4 and serves on the same port: the watch stops at its first look.
  ASSERT_EQ(server_->Stop(), 0) << server_->Err();
  Sh(Triad() + " keygen --name zed --role data-owner --dir " + F("keys"));
  Sh(Triad() + " coordinator parties add " + F("keys/zed.card.json") + " --dir " + F("fork"));
  serve_again("fork");
  testing::ChildProcess forked(argv, F("forked.out"), F("forked.err"));
  EXPECT_EQ(forked.Wait(absl::Seconds(30)), 3) << forked.Err();
  EXPECT_TRUE(absl::StrContains(forked.Err(), " shows a log that is not an extension: "))
      << forked.Err();
  EXPECT_EQ(testing::ReadTestFile(F("seen.note")), seen);
  EXPECT_TRUE(std::filesystem::exists(F("seen.note.conflict")));
  EXPECT_EQ(server_->Stop(), 0) << server_->Err();
  // The operator's commands say what they did as JSON too, one object per line.
  EXPECT_EQ(Sh(Triad() + " coordinator parties remove --json zed --dir " + F("fork")),
            "{\"name\":\"zed\",\"removed\":true}\n");
  const std::string listed = Sh(Triad() + " coordinator parties list --json --dir " + F("fork"));
  EXPECT_EQ(Lines(listed).size(), 4u) << listed;
  EXPECT_TRUE(absl::StrContains(listed, "{\"name\":\"zed\",\"role\":\"data-owner\",")) << listed;
  EXPECT_TRUE(absl::EndsWith(listed, "\"removed\":true}\n")) << listed;
}

TEST_F(CoordinatorCliTest, FetchRefusesPathTraversalInTheAdapterArchive) {
  StartServer();
  SetUpContract();
  StartKeyholders();
  std::string job = Trim(Sh(Triad() + " job submit" + Client() + " --contract c-1" + As("mo")));
  // A hostile worker's archive: a member that climbs out of the output directory.
  testing::WriteTestFile(F("make.py"), R"(import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.USTAR_FORMAT) as t:
    for name in ["adapter_config.json", "../escaped.txt"]:
        i = tarfile.TarInfo(name); i.size = 2; t.addfile(i, io.BytesIO(b"{}"))
)");
  Sh("python3 " + F("make.py") + " " + F("evil.tar"));
  PlayWorker(job, testing::ReadTestFile(F("evil.tar")));
  int rc = 0;
  const std::string fetch = Triad() + " job fetch" + Client() + " " + job + As("mo") +
                            " --trust-sim-key " + F("sim.pub.pem") + " --out " + F("out/adapter");
  std::string out = Sh(fetch, &rc);
  EXPECT_EQ(rc, 1);
  std::filesystem::create_directories(F("out"));
  out = Sh(fetch, &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out,
            "SIMULATED: no hardware protection\ntriad: unpacking the adapter: tar member path "
            "\"../escaped.txt\": \"..\" path component\n");
  EXPECT_FALSE(std::filesystem::exists(F("out/escaped.txt")));
  EXPECT_FALSE(std::filesystem::exists(F("out/adapter")));  // what was written is removed
}

// A coordinator that lies, served with this coordinator's own TLS key (its operator holds it): the
// job's real audit bundle, and any bytes it likes as the job's output.
class LyingCoordinator final : public pb::Audit::Service, public pb::Jobs::Service {
 public:
  LyingCoordinator(std::string bundle, std::string output)
      : bundle_(std::move(bundle)), output_(std::move(output)) {}
  grpc::Status ExportBundle(grpc::ServerContext*, const pb::ExportRequest*,
                            pb::ExportReply* reply) override {
    reply->set_bundle_json(bundle_);
    return grpc::Status::OK;
  }
  grpc::Status FetchOutput(grpc::ServerContext*, const pb::FetchOutputRequest*,
                           grpc::ServerWriter<pb::Chunk>* writer) override {
    pb::Chunk c;
    c.set_data(output_);
    writer->Write(c);
    return grpc::Status::OK;
  }

 private:
  std::string bundle_, output_;
};

// Issue 13 point 3. Tried: with the coordinator stopped, a forged age file (encrypted to the owner,
// whose recipient is public) put in its blob store as the job's output; `job fetch` wrote the
// forger's file. Now the owner verifies before it decrypts, and writes nothing otherwise: whether
// the operator swaps the stored blob, re-points the job at another blob, or serves other bytes
// under the real bundle.
TEST_F(CoordinatorCliTest, FetchRefusesAnOutputTheOperatorForgedAndWritesNothing) {
  StartServer();
  SetUpContract();
  StartKeyholders();
  std::string job = Trim(Sh(Triad() + " job submit" + Client() + " --contract c-1" + As("mo")));
  PlayWorker(job, AdapterTar());
  auto status =
      base::ParseJsonStrict(Sh(Triad() + " job status --json" + Client() + " " + job + As("mo")));
  ASSERT_TRUE(status.ok());
  const std::string real_id = (*status)["output_id"];
  Sh(Triad() + " audit export" + Client() + " " + job + As("mo") + " --out " + F("bundle.json"));
  for (auto& k : keyholders_) EXPECT_EQ(k->Signal(SIGTERM), 0) << k->Err();
  EXPECT_EQ(server_->Stop(), 0) << server_->Err();

  // The forgery: an adapter archive the owners open with their own identities (stock age).
  std::string forged_tar;
  {
    auto w = base::TarWriter::Create([&forged_tar](absl::string_view d) {
      forged_tar.append(d.data(), d.size());
      return absl::OkStatus();
    });
    ASSERT_TRUE(
        (*w)->AddFile("adapter_config.json", "{\"note\":\"FORGED BY COORDINATOR OPERATOR\"}").ok());
    ASSERT_TRUE((*w)->Finish().ok());
  }
  std::vector<crypto::age::X25519Recipient> owners;
  for (const char* p : {"mo", "do"}) {
    owners.push_back(
        contracts::PartyCard::FromFile(F(absl::StrCat("keys/", p, ".card.json")))->age_recipient);
  }
  const std::string forged = *crypto::age::Encrypt(owners, forged_tar);
  const std::string forged_id = crypto::Sha256Id(forged);
  testing::WriteTestFile(F("forged.age"), forged);
  EXPECT_NE(Sh("age -d -i " + F("keys/mo.identity") + " " + F("forged.age") + " | tar -xO")
                .find("FORGED BY COORDINATOR OPERATOR"),
            std::string::npos);
  auto blob = [&](const std::string& id) {
    return F("state/blobs/objects/" + id.substr(7, 2) + "/" + id.substr(9));
  };
  const std::string sim = " --trust-sim-key " + F("sim.pub.pem");
  auto fetch = [&](const std::string& out, int* rc) {
    return Sh(Triad() + " job fetch" + Client() + " " + job + As("mo") + sim + " --out " + F(out) +
                  " --keep-ciphertext " + F(out + ".age"),
              rc);
  };
  auto nothing_written = [&](const std::string& out) {
    EXPECT_FALSE(std::filesystem::exists(F(out))) << out;
    EXPECT_FALSE(std::filesystem::exists(F(out + ".age"))) << out;
  };
  int rc = 0;

  // 1. The stored output swapped in place for the forgery: the coordinator's own store finds
  // that the blob does not hash to its name, and the fetch ends with nothing decrypted or written.
  const std::string real = testing::ReadTestFile(blob(real_id));
  std::filesystem::remove(blob(real_id));
  testing::WriteTestFile(blob(real_id), forged);
  StartServer();
  std::string out = fetch("swapped", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_EQ(out, absl::StrCat("SIMULATED: no hardware protection\ntriad: blob ", real_id,
                              " is corrupt: its content is ", forged_id, "\n"));
  nothing_written("swapped");
  EXPECT_EQ(server_->Stop(), 0) << server_->Err();

  // 2. The job re-pointed at the forgery, stored under its own digest (the operator edits the
  // database): the signed record names another output, so the bundle does not verify.
  std::filesystem::remove(blob(real_id));
  testing::WriteTestFile(blob(real_id), real);
  std::filesystem::create_directories(std::filesystem::path(blob(forged_id)).parent_path());
  testing::WriteTestFile(blob(forged_id), forged);
  {
    auto db = storage::sqlite::Db::Open(F("state/state.db"), /*create=*/false);
    ASSERT_TRUE(db.ok()) << db.status();
    absl::Status edited = (*db)->Exec(absl::StrCat(
        "INSERT INTO artifacts (id, kind, name, owner, size, envelope_json, registered_at) ",
        "SELECT '", forged_id, "', kind, name, owner, ", forged.size(),
        ", envelope_json, registered_at FROM artifacts WHERE id = '", real_id,
        "'; UPDATE jobs SET output_artifact = '", forged_id, "' WHERE id = '", job, "';"));
    ASSERT_TRUE(edited.ok()) << edited;
  }
  StartServer();
  EXPECT_EQ(
      base::ParseJsonStrict(Sh(Triad() + " job status --json" + Client() + " " + job + As("mo")))
          ->at("output_id"),
      forged_id);
  out = fetch("repointed", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_EQ(out, "triad: job " + job +
                     " does not verify, nothing was decrypted or written: adapter digest: the "
                     "record's subject is " +
                     real_id + "; the bundle's job.output_id is " + forged_id + "\n");
  nothing_written("repointed");
  EXPECT_EQ(server_->Stop(), 0) << server_->Err();

  // 3. A coordinator that serves the job's real bundle (it verifies) and the forgery as its output:
  // the downloaded file is not the one the worker's signed record names.
  LyingCoordinator liar(testing::ReadTestFile(F("bundle.json")), forged);
  grpc::SslServerCredentialsOptions ssl;
  auto card = coordinator::CoordinatorCard::FromFile(F("card.json"));
  ASSERT_TRUE(card.ok());
  ssl.pem_key_cert_pairs.push_back(
      {testing::ReadTestFile(F("state/tls.key.pem")), card->tls_certificate_pem});
  grpc::ServerBuilder b;
  b.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &port_);
  b.RegisterService(static_cast<pb::Audit::Service*>(&liar));
  b.RegisterService(static_cast<pb::Jobs::Service*>(&liar));
  std::unique_ptr<grpc::Server> server = b.BuildAndStart();
  ASSERT_NE(port_, 0);
  out = fetch("served", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_EQ(out, "SIMULATED: no hardware protection\ntriad: the downloaded adapter is " +
                     forged_id + ", not the one the worker's signed record names (" + real_id +
                     "); nothing was decrypted\n");
  nothing_written("served");
  // The same liar serving the real output: the honest path through the same code writes it.
  server->Shutdown();
  LyingCoordinator honest(testing::ReadTestFile(F("bundle.json")), real);
  grpc::ServerBuilder b2;
  b2.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &port_);
  b2.RegisterService(static_cast<pb::Audit::Service*>(&honest));
  b2.RegisterService(static_cast<pb::Jobs::Service*>(&honest));
  server = b2.BuildAndStart();
  out = fetch("real", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(testing::ReadTestFile(F("real/adapter_config.json")), "{\"r\": 8}");
  server->Shutdown();
}

// Issue 13: pinned-certificate mismatch was asserted only as UNAVAILABLE, which a server that is
// down gives too. The client says which it is.
TEST_F(CoordinatorCliTest, AClientSaysWhenTheCardPinsAnotherCertificate) {
  StartServer();
  Sh(Triad() + " coordinator init --dir " + F("other"));
  Sh(Triad() + " coordinator card --dir " + F("other") + " --out " + F("other.json"));
  const std::string addr = absl::StrCat("127.0.0.1:", port_);
  const std::string status = " job status j-0000000000000000" + As("do");
  int rc = 0;
  // The right card: the coordinator answers.
  std::string out = Sh(Triad() + status + Client(), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: job j-0000000000000000 not found\n");
  // Another coordinator's card: the handshake fails, and the client says why.
  out = Sh(Triad() + status + " --coordinator " + addr + " --coordinator-card " + F("other.json"),
           &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_TRUE(absl::StartsWith(
      TriadLine(out),
      "triad: coordinator " + addr +
          ": the server's TLS certificate is not the one the coordinator card pins (another "
          "server answers at this address, or the card is not this coordinator's); "))
      << out;
  // A keyholder given that card stops at once with the reason, instead of retrying forever.
  out = Sh("timeout 60 " + Triad() + " keyholder serve --as " + F("keys/mo") + " --coordinator " +
               addr + " --coordinator-card " + F("other.json") + " --state " + F("mo.kh"),
           &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(absl::StrContains(
      out,
      "triad: the keyholder never reached its coordinator (check --coordinator and "
      "--coordinator-card): the server's TLS certificate is not the one the coordinator card pins"))
      << out;
  // The coordinator down: unreachable, no word of certificates.
  EXPECT_EQ(server_->Stop(), 0) << server_->Err();
  out = Sh(Triad() + status + Client(), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_TRUE(
      absl::StartsWith(TriadLine(out), "triad: coordinator " + addr + ": failed to connect"))
      << out;
  EXPECT_FALSE(absl::StrContains(TriadLine(out), "TLS")) << out;
}

TEST_F(CoordinatorCliTest, PlaintextServingIsForLoopbackOnly) {
  int rc = 0;
  ServeProcess wide({"--dir", F("state"), "--listen", "0.0.0.0:0", "--insecure"}, F("wide.out"),
                    F("wide.err"));
  EXPECT_EQ(wide.Port(), 0);
  EXPECT_EQ(wide.Err(),
            "triad: plaintext serving is allowed only on a loopback address, not 0.0.0.0:0\n");
  ServeProcess local(
      {"--dir", F("state"), "--listen", "127.0.0.1:0", "--insecure", "--open-registration"},
      F("local.out"), F("local.err"));
  port_ = local.Port();
  ASSERT_GT(port_, 0) << local.Err();
  const std::string card = " --coordinator-card " + F("card.json");
  std::string out = Sh(absl::StrCat(Triad(), " party register --coordinator 127.0.0.1:", port_,
                                    " --insecure", card, As("eve")));
  EXPECT_EQ(out.substr(0, 15), "registered eve ");
  // A client refuses plaintext to anything but loopback, and any call without the card.
  out = Sh(absl::StrCat(Triad(), " party register --coordinator 10.1.2.3:", port_, " --insecure",
                        card, As("mo")),
           &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out,
            absl::StrCat("triad: --insecure is allowed only to a loopback address, not 10.1.2.3:",
                         port_, "; pin the coordinator card with --coordinator-card instead\n"));
  out = Sh(absl::StrCat(Triad(), " party register --coordinator 127.0.0.1:", port_, " --insecure",
                        As("mo")),
           &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(out,
            "triad: --coordinator-card is needed: it names the coordinator, which every signed "
            "request is addressed to, and pins its TLS certificate (or TRIAD_COORDINATOR_CARD, or "
            "a context: triad context add)\n");
  EXPECT_EQ(local.Stop(), 0);
}

// --max-threads sizes the server; three quarters of it may wait for changes (tested at the
// coordinator: WaitingCallsTest). --max-transport-memory bounds gRPC's buffers (measured by
// bench/load.sh). Values too small to serve anything are usage errors.
TEST_F(CoordinatorCliTest, ServeTakesItsThreadsAndTransportMemoryWithinBounds) {
  int rc = 0;
  std::string out = Sh(absl::StrCat(Triad(), " coordinator serve --dir ", F("state"),
                                    " --listen 127.0.0.1:0 --max-threads 8"),
                       &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(out,
            "triad: --max-threads: Value 8 not in range 16 to 16384; see 'triad coordinator serve "
            "--help'\n");
  out = Sh(absl::StrCat(Triad(), " coordinator serve --dir ", F("state"),
                        " --listen 127.0.0.1:0 --max-transport-memory 1MiB"),
           &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(out, "triad: --max-transport-memory: at least 64MiB\n");
  ServeProcess s({"--dir", F("state"), "--listen", "127.0.0.1:0", "--max-threads", "64",
                  "--max-transport-memory", "64MiB"},
                 F("s.out"), F("s.err"));
  EXPECT_GT(s.Port(), 0) << s.Err();
  EXPECT_EQ(s.Stop(), 0);
}

TEST_F(CoordinatorCliTest, ServeRefusesAStateDirectoryWhoseKeysDoNotMatchItsCard) {
  // Another coordinator's card in this state directory.
  Sh(Triad() + " coordinator init --dir " + F("other"));
  std::filesystem::remove(F("state/coordinator.card.json"));
  std::filesystem::copy_file(F("other/coordinator.card.json"), F("state/coordinator.card.json"));
  ServeProcess s({"--dir", F("state"), "--listen", "127.0.0.1:0"}, F("s.out"), F("s.err"));
  EXPECT_EQ(s.Port(), 0);
  EXPECT_EQ(s.Err(), "triad: " + F("state/coordinator.signing.pem") + " does not match " +
                         F("state/coordinator.card.json") + "\n");
}

// Witnesses (docs/custody.md): an auditor the contract names cosigns, with `audit watch
// --witness`, every checkpoint it checked; a bundle exported `--witnessed` is proven into a
// checkpoint it cosigned, and `audit verify --witness --min-witnesses --state` holds the bundle to
// that view and the admission's time between two cosignatures. Then a split view: the coordinator's
// state directory is copied and both copies serve, each growing its own log under the same key; the
// witness that follows one refuses to cosign the other, and a bundle from the other fails
// "witnesses" (and cannot be exported --witnessed at all).
TEST_F(CoordinatorCliTest, WitnessesCosignAndASplitViewFailsTheirCheck) {
  Sh(Triad() + " keygen --name aud --role auditor --dir " + F("keys"));
  StartServer();
  SetUpContract(" --auditor " + F("keys/aud.card.json") + " --max-jobs 2");
  StartKeyholders();
  std::string watch = Triad() + " audit watch" + Client() + " --state " + F("aud.note") +
                      " --witness " + F("keys/aud");
  std::string out = Sh(watch);
  EXPECT_TRUE(absl::StrContains(out, "cosigned tree size ")) << out;
  EXPECT_TRUE(absl::StrContains(out, " as witness aud\n")) << out;

  std::string job = Trim(Sh(Triad() + " job submit" + Client() + " --contract c-1" + As("do")));
  PlayWorker(job, AdapterTar());
  int rc = 0;
  // Until a witness cosigned a checkpoint that holds the whole job, a witnessed export is refused
  // (the keyholders witness too: retry until the auditor has cosigned one).
  std::string exported;
  for (int i = 0; i < 50; ++i) {
    Sh(watch);
    exported = Sh(Triad() + " audit export" + Client() + " " + job + As("aud") +
                      " --witnessed 2 --state " + F("aud.note") + " --out " + F("bundle.json"),
                  &rc);
    if (rc == 0) break;
    EXPECT_TRUE(absl::StrContains(exported, "cosignature(s) holds every entry of job " + job))
        << exported;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(rc, 0) << exported;
  const std::string verify = Triad() + " audit verify " + F("bundle.json") +
                             " --coordinator-card " + F("card.json") + " --trust-sim-key " +
                             F("sim.pub.pem");
  out = Sh(verify + " --witness " + F("keys/aud.card.json") + " --min-witnesses 1 --state " +
               F("aud.note"),
           &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "\nok   saved view: the bundle's checkpoint")) << out;
  EXPECT_TRUE(absl::StrContains(out, "\nok   witnesses: cosigned by aud at ")) << out;
  EXPECT_TRUE(absl::StrContains(out, "\nok   admission times: job.admission entry ")) << out;
  EXPECT_TRUE(absl::StrContains(out, "verdict: OK, all 25 checks hold for job " + job)) << out;
  // Another witness the auditor trusts, who never cosigned: one of two is not enough for 2.
  Sh(Triad() + " keygen --name aud2 --role auditor --dir " + F("keys"));
  out = Sh(verify + " --witness " + F("keys/aud.card.json") + " --witness " +
               F("keys/aud2.card.json") + " --min-witnesses 2",
           &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(absl::StrContains(out, "\nFAIL witnesses: 1 of the given witnesses cosigned")) << out;
  EXPECT_TRUE(absl::StrContains(out, "\nFAIL admission times: no witnessed checkpoint")) << out;
  out = Sh(verify + " --witness " + F("keys/aud.card.json") + " --min-witnesses 3", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out,
            "triad: --min-witnesses 3 is more than the 1 witness card(s) given with --witness\n");

  // The fork: the state directory copied while the coordinator is stopped; both serve.
  ASSERT_EQ(server_->Stop(), 0) << server_->Err();
  for (auto& k : keyholders_) k->Signal(SIGTERM);
  keyholders_.clear();
  std::filesystem::copy(F("state"), F("fork"), std::filesystem::copy_options::recursive);
  StartServer();
  watch = Triad() + " audit watch" + Client() + " --state " + F("aud.note") + " --witness " +
          F("keys/aud");
  ServeProcess fork({"--dir", F("fork"), "--listen", "127.0.0.1:0", "--trust-sim-key",
                     F("sim.pub.pem"), "--poll-wait", "1s"},
                    F("fork.out"), F("fork.err"));
  const int port_b = fork.Port();
  ASSERT_GT(port_b, 0) << fork.Err();
  // Each copy logs something the other does not: an operator's party on one, a job on the other.
  Sh(Triad() + " keygen --name zed --role data-owner --dir " + F("keys"));
  Sh(Triad() + " coordinator parties add " + F("keys/zed.card.json") + " --dir " + F("state"));
  const std::string client_b =
      absl::StrCat(" --coordinator 127.0.0.1:", port_b, " --coordinator-card ", F("card.json"));
  std::string forked_job =
      Trim(Sh(Triad() + " job submit" + client_b + " --contract c-1" + As("mo")));
  out = Sh(watch);  // the auditor follows the first copy and cosigns it
  ASSERT_TRUE(absl::StrContains(out, "cosigned tree size ")) << out << server_->Err();
  // Shown the other copy, the same witness refuses: not an extension of what it cosigned.
  const std::string watch_b = Triad() + " audit watch" + client_b + " --state " + F("aud.note") +
                              " --witness " + F("keys/aud");
  out = Sh(watch_b, &rc);
  EXPECT_EQ(rc, 3) << out;  // not an extension: its own exit code
  EXPECT_TRUE(absl::StrContains(out, " shows a log that is not an extension")) << out;
  EXPECT_FALSE(absl::StrContains(out, "cosigned")) << out;
  // A bundle of the job from the other copy: no witnessed checkpoint holds it there, and its own
  // checkpoint is one the witness never cosigned.
  out = Sh(Triad() + " audit export" + client_b + " " + job + As("aud") + " --witnessed 1 --out " +
               F("fork-witnessed.json"),
           &rc);
  EXPECT_EQ(rc, 0) << out;  // the job's entries predate the fork: the shared past is witnessed
  if (absl::StartsWith(forked_job, "j-")) {
    out = Sh(Triad() + " audit export" + client_b + " " + forked_job + As("aud") +
                 " --witnessed 1 --out " + F("never.json"),
             &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_TRUE(absl::StrContains(
        out, "no checkpoint with 1 cosignature(s) holds every entry of job " + forked_job))
        << out;
    Sh(Triad() + " audit export" + client_b + " " + forked_job + As("aud") + " --out " +
       F("fork.json"));
    out = Sh(Triad() + " audit verify " + F("fork.json") + " --coordinator-card " + F("card.json") +
                 " --trust-sim-key " + F("sim.pub.pem") + " --witness " + F("keys/aud.card.json") +
                 " --state " + F("aud.note"),
             &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_TRUE(absl::StrContains(out, "\nFAIL witnesses: 0 of the given witnesses cosigned"))
        << out;
    EXPECT_TRUE(absl::StrContains(out, "\nFAIL saved view: ")) << out;
  } else {
    ADD_FAILURE() << "the fork did not take the job: " << forked_job;
  }
  EXPECT_EQ(fork.Stop(), 0) << fork.Err();
  EXPECT_EQ(server_->Stop(), 0) << server_->Err();
}


// Issue 18, as a data owner meets it: push checks the plaintext with the trainer's own checks and
// the coordinator (address, pinned certificate, registered party, role) before it encrypts or
// uploads anything; the same content under the same name is said, not uploaded twice; one line
// for each way the connection can be wrong.
TEST_F(CoordinatorCliTest, PushChecksTheInputsAndTheCoordinatorFirst) {
  StartServer();
  const std::string addr = absl::StrCat("127.0.0.1:", port_);
  int rc = 0;
  // A file the worker would refuse: line 17 broken. `dataset check` and `push` say the same.
  std::string lines;
  for (int i = 1; i <= 20; ++i) {
    absl::StrAppend(&lines, i == 17 ? "{\"text\": broken" : absl::StrCat("{\"text\": \"t", i, "\"}"),
                    "\n");
  }
  testing::WriteTestFile(F("bad.jsonl"), lines);
  const std::string bad_line = "triad: " + F("bad.jsonl") +
                               ": dataset line 17: invalid JSON (syntax error at byte 10)\n";
  std::string out = Sh(Triad() + " dataset check " + F("bad.jsonl"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, bad_line);
  out = Sh(Triad() + " dataset push " + F("bad.jsonl") + Client() + As("do") + " --name d", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, bad_line);
  testing::WriteTestFile(F("foo.jsonl"), "{\"foo\": 1}\n{\"foo\": 2}\n");
  out = Sh(Triad() + " dataset push " + F("foo.jsonl") + Client() + As("do") + " --name d", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: " + F("foo.jsonl") +
                     ": dataset line 1: unknown key (expected prompt+completion, text, or "
                     "messages)\n");
  // Nothing went up.
  out = Sh(Triad() + " artifact list" + Client() + As("do"));
  EXPECT_EQ(out, "triad: do (data-owner) has no artifact at this coordinator\n");

  // A model whose architecture the trainer does not support, and one whose weights are cut short.
  WriteTinyModel(F("gpt2"));
  std::string config = testing::ReadTestFile(F("gpt2/config.json"));
  config.replace(config.find("\"qwen2\""), 7, "\"gpt2\"");
  testing::WriteTestFile(F("gpt2/config.json"), config);
  out = Sh(Triad() + " model check " + F("gpt2"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: " + F("gpt2") +
                     ": config.json: model_type \"gpt2\" is not supported (supported: llama, "
                     "mistral, qwen2, qwen3)\n");
  WriteTinyModel(F("cut"));
  ASSERT_EQ(::truncate(F("cut/model.safetensors").c_str(), 100000), 0);
  out = Sh(Triad() + " model push " + F("cut") + Client() + As("mo") + " --name m", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: " + F("cut") +
                     ": model.safetensors: safetensors: tensor \"model.embed_tokens.weight\": "
                     "data_offsets end 131072 is past the 97336-byte data section\n");
  WriteTinyModel(F("good"));
  out = Sh(Triad() + " model check " + F("good"));
  EXPECT_EQ(out, F("good") +
                     ": qwen2, 2 layers, hidden size 64, vocabulary 512, 119.4k parameters "
                     "(float32) in 1 safetensors file; tokenizer.json has 500 ids, chat format "
                     "none; the trainer accepts it\n");

  // A stranger is told before anything is encrypted, with what to do.
  testing::WriteTestFile(F("good.jsonl"), "{\"prompt\": \"q\", \"completion\": \"a\"}\n");
  out = Sh(Triad() + " dataset push " + F("good.jsonl") + Client() + As("eve") + " --name d", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: request is signed by key " +
                     contracts::PartyCard::FromFile(F("keys/eve.card.json"))->fingerprint() +
                     ", which is not a registered party's; ask the coordinator's operator to add "
                     "the party (triad coordinator parties add CARD)\n");

  // The same content under the same name: the artifact the owner has, nothing uploaded.
  const std::string id = Trim(
      Sh(Triad() + " dataset push " + F("good.jsonl") + Client() + As("do") + " --name d"));
  ASSERT_EQ(id.substr(0, 7), "sha256:");
  out = Sh(Triad() + " dataset push " + F("good.jsonl") + Client() + As("do") + " --name d");
  EXPECT_TRUE(absl::StartsWith(out, "triad: dataset d with this content is already registered as " +
                                        id + " (")) << out;
  EXPECT_TRUE(absl::EndsWith(out, "); nothing was uploaded\n" + id + "\n")) << out;
  out = Sh(Triad() + " artifact list --json" + Client() + As("do"));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_TRUE(absl::StartsWith(out, "{\"id\":\"" + id + "\",\"kind\":\"dataset\",\"name\":\"d\""))
      << out;

  // One line for each wrong connection, exit 1, nothing uploaded.
  Sh(Triad() + " coordinator init --dir " + F("other"));
  Sh(Triad() + " coordinator card --dir " + F("other") + " --out " + F("other.json"));
  const std::string push = Triad() + " dataset push " + F("good.jsonl") + As("do") + " --name e";
  out = Sh(push + " --coordinator " + addr + " --coordinator-card " + F("other.json"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_TRUE(absl::StartsWith(
      out, "triad: coordinator " + addr +
               ": the server's TLS certificate is not the one the coordinator card pins (another "
               "server answers at this address, or the card is not this coordinator's); it "
               "presents "))
      << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;  // no gRPC log line
  out = Sh(push + " --coordinator " + addr + " --coordinator-card " + F("keys/do.card.json"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: --coordinator-card " + F("keys/do.card.json") +
                     " is a party's card (do, data-owner), not a coordinator card; the "
                     "coordinator's operator gives out its card (triad coordinator card)\n");
  out = Sh(push + " --coordinator " + addr + " --coordinator-card " + F("card.json") + " --insecure",
           &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: coordinator " + addr +
                     ": it serves TLS; leave out --insecure and pin its card with "
                     "--coordinator-card\n");
  out = Sh(push + " --coordinator localhost --coordinator-card " + F("card.json"), &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(out, "triad: --coordinator: \"localhost\" has no port: give HOST:PORT "
                 "(coordinator.example:7443); see 'triad dataset push --help'\n");
  out = Sh(Triad() + " artifact list" + Client() + As("do"));
  EXPECT_TRUE(absl::StartsWith(out, id + "  dataset  d  ")) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_EQ(server_->Stop(), 0) << server_->Err();
  out = Sh(push + Client(), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: coordinator " + addr +
                     ": failed to connect (Connection refused); is it serving at that address?\n");
  // serve needs the port too.
  out = Sh(Triad() + " coordinator serve --dir " + F("state") + " --listen 127.0.0.1", &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(out, "triad: --listen: \"127.0.0.1\" has no port: give HOST:PORT (127.0.0.1:7443 or "
                 "0.0.0.0:7443; port 0 picks one); see 'triad coordinator serve --help'\n");
}

// Issue 18: a saved context instead of the same flags in every command (flags and TRIAD_* still
// override it); job submit with the contract file and --watch; job list, job cancel, contract
// list, each scoped to the caller; a watch that says when the coordinator is unreachable.
TEST_F(CoordinatorCliTest, ContextsListsCancelAndAWatchThatSaysItIsRetrying) {
  StartServer();
  SetUpContract();
  const std::string addr = absl::StrCat("127.0.0.1:", port_);
  int rc = 0;
  // No coordinator anywhere: a usage error that says where one may come from.
  std::string out = Sh(Triad() + " contract list" + As("do"), &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(out, "triad: --coordinator is required: the coordinator's HOST:PORT (or "
                 "TRIAD_COORDINATOR, or a context: triad context add); see 'triad contract list "
                 "--help'\n");
  // A party's card is no coordinator card: nothing is saved.
  out = Sh(Triad() + " context add main --coordinator " + addr + " --coordinator-card " +
               F("keys/do.card.json"),
           &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: --coordinator-card " + F("keys/do.card.json") +
                     " is a party's card (do, data-owner), not a coordinator card; the "
                     "coordinator's operator gives out its card (triad coordinator card)\n");
  EXPECT_FALSE(std::filesystem::exists(F("config/triad/contexts.json")));
  out = Sh(Triad() + " context add main --coordinator " + addr + " --coordinator-card " +
           F("card.json") + As("do"));
  EXPECT_TRUE(absl::StartsWith(out, "added context main: coordinator ")) << out;
  EXPECT_TRUE(absl::EndsWith(out, " at " + addr + ", as " + F("keys/do") +
                                      "; it is the current context\n"))
      << out;
  struct stat st;
  ASSERT_EQ(::stat(F("config/triad/contexts.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Sh(Triad() + " context list"), "* main  " + addr + "  " + F("keys/do") + "\n");
  out = Sh(Triad() + " context use nope", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: no context nope (triad context list)\n");

  // The context alone; TRIAD_AS over it; the flag over both.
  out = Sh(Triad() + " contract list");
  EXPECT_TRUE(absl::StartsWith(out, "c-1  active  you: data-owner  model tiny, dataset claims  until "))
      << out;
  out = Sh("TRIAD_AS=" + F("keys/mo") + " " + Triad() + " contract list");
  EXPECT_TRUE(absl::StartsWith(out, "c-1  active  you: model-owner  ")) << out;
  out = Sh("TRIAD_AS=" + F("keys/mo") + " " + Triad() + " contract list" + As("cp"));
  EXPECT_TRUE(absl::StartsWith(out, "c-1  active  you: compute-provider  ")) << out;
  out = Sh("TRIAD_CONTEXT=nope " + Triad() + " contract list", &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(out, "triad: TRIAD_CONTEXT: no context nope in " + F("config/triad/contexts.json") +
                     "; see 'triad contract list --help'\n");
  // eve is no party of c-1: she sees no contract.
  out = Sh(Triad() + " contract list" + As("eve"), &rc);
  EXPECT_EQ(rc, 1);  // and eve is not even registered here
  EXPECT_TRUE(absl::StartsWith(out, "triad: request is signed by key ")) << out;

  // job submit takes the contract file; the job shows in job list; its owner cancels it.
  const std::string job = Trim(Sh(Triad() + " job submit " + F("contract.json")));
  ASSERT_EQ(job.size(), 18u) << job;
  EXPECT_EQ(Sh(Triad() + " job list"), "c-1  " + job + "  queued\n");
  out = Sh(Triad() + " job cancel " + job + " --reason 'wrong dataset'" + As("cp"), &rc);
  EXPECT_EQ(rc, 1);  // the provider may not
  out = Sh(Triad() + " job cancel " + job + " --reason 'wrong dataset'");
  EXPECT_EQ(out, job + "  failed: cancelled by do: wrong dataset\n");
  EXPECT_EQ(Sh(Triad() + " job list --json").substr(0, 29), "{\"id\":\"" + job + "\",\"c");
  // A failed job: fetch says why and writes nothing; a watch gives the reason once.
  out = Sh(Triad() + " job fetch " + job + " --out " + F("adapter"), &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "triad: job " + job +
                     " failed: cancelled by do: wrong dataset; there is nothing to fetch\n");
  EXPECT_FALSE(std::filesystem::exists(F("adapter")));
  out = Sh(Triad() + " job status --watch " + job, &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, job + "  failed: cancelled by do: wrong dataset\ntriad: job " + job + " failed\n");

  // --watch: the coordinator goes away; the watcher says so on stderr and keeps asking.
  const std::string job2 = Trim(Sh(Triad() + " job submit c-1"));
  testing::ChildProcess watch({Triad(), "job", "status", job2, "--watch"}, F("watch.out"),
                              F("watch.err"));
  EXPECT_EQ(watch.WaitForLine(job2 + "  "), "queued") << watch.Err();
  EXPECT_EQ(server_->Stop(), 0) << server_->Err();
  for (int i = 0; i < 100 && !absl::StrContains(watch.Err(), "retrying"); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(watch.Err(), "triad: coordinator " + addr +
                             " is unreachable; retrying every second for up to 60 s\n");
  EXPECT_TRUE(watch.running());
  watch.Signal(SIGTERM);
}

}  // namespace
}  // namespace triad
