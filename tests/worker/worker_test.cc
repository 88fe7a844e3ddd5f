// The worker (worker/worker.h) against the fake coordinator of worker_fixture.h: admission with
// bound sim evidence, delivery and the job record, loss rules, rejection, digest mismatch, contract
// refusals, canaries, and retries across an outage and a restart.
#include "worker/worker.h"

#include "tests/worker/worker_fixture.h"

namespace triad::worker::test {
namespace {

// ---- Tests
// ---------------------------------------------------------------------------------------

TEST_F(WorkerTest, AttestsWithBoundSimEvidenceAndDeliversASignedRecord) {
  contracts::Contract c = MakeContract();
  auto fake = MakeFake(c);
  JobResult r = RunOneJob(fake.get());
  EXPECT_EQ(r.outcome, JobResult::Outcome::kDelivered) << (r.reasons.empty() ? "" : r.reasons[0]);
  EXPECT_EQ(r.job_id, kJobId);
  EXPECT_EQ(fake->protocol_errors, std::vector<std::string>{});

  // Admission: the sim evidence verified with the sim verifier, measured this executable, and its
  // report data binds the nonce, the job and the ephemeral keys.
  ASSERT_EQ(fake->admissions.size(), 1u);
  const Admission& adm = fake->admissions[0];
  EXPECT_TRUE(adm.evidence_valid);
  EXPECT_TRUE(adm.binding.ok()) << adm.binding;
  EXPECT_TRUE(adm.admitted);
  EXPECT_EQ(adm.measurement, measurement_);
  ASSERT_TRUE(adm.eph_key.has_value());
  EXPECT_NE(*adm.eph_key, provider_.key.public_key());
  EXPECT_EQ(fake->downloads, (std::vector<std::string>{c.base_model.id, c.dataset.id}));

  // The job record: signed by the attested ephemeral key, its subject the uploaded ciphertext.
  ASSERT_TRUE(fake->delivery.has_value());
  EXPECT_EQ((*fake->delivery)["job_id"], kJobId);
  auto env = crypto::DsseEnvelope::FromJson((*fake->delivery)["record"].get<std::string>());
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->payload_type, "application/vnd.in-toto+json");
  EXPECT_TRUE(crypto::DsseVerifySignedBy(*env, *adm.eph_key).ok());
  EXPECT_FALSE(crypto::DsseVerifySignedBy(*env, provider_.key.public_key()).ok());
  nlohmann::json st = nlohmann::json::parse(env->payload);
  EXPECT_EQ(st["_type"], "https://in-toto.io/Statement/v1");
  EXPECT_EQ(st["predicateType"], "https://triad.dev/job-record/v1");
  ASSERT_EQ(st["subject"].size(), 1u);
  EXPECT_EQ(st["subject"][0]["name"], "job-1.adapter.tar.age");
  EXPECT_EQ(st["subject"][0]["digest"]["sha256"], base::HexEncode(crypto::Sha256(fake->uploaded)));
  const nlohmann::json& p = st["predicate"];
  auto contract_env = crypto::DsseEnvelope::FromJson(contract_json_);
  EXPECT_EQ(p["job_id"], kJobId);
  EXPECT_EQ(p["contract_id"], kContractId);
  EXPECT_EQ(p["contract_digest"], contracts::ContractDigest(*contract_env));
  EXPECT_EQ(p["inputs"],
            nlohmann::json::parse(R"([{"role":"base_model","id":")" + c.base_model.id +
                                  R"("},{"role":"dataset","id":")" + c.dataset.id + R"("}])"));
  EXPECT_EQ(p["worker"]["tee"], "sim");
  EXPECT_EQ(p["worker"]["simulated"], true);
  EXPECT_EQ(p["worker"]["evidence_digest"], adm.evidence_digest);
  EXPECT_EQ(p["worker"]["claims"], nlohmann::json::parse(adm.claims_json));
  EXPECT_EQ(p["worker"]["ed25519_public_key"], base::Base64Encode(adm.eph_key->raw()));
  EXPECT_EQ(p["worker"]["age_recipient"], adm.eph_recipient);
  EXPECT_EQ(p["training"]["steps"], 4);
  EXPECT_GT(p["training"]["tokens"].get<int64_t>(), 0);
  // No metric in the clear: it is sealed to the metrics recipients (both owners by default).
  EXPECT_FALSE(p["training"].contains("final_loss"));
  ASSERT_TRUE(p.contains("metrics"));
  auto sealed = base::Base64Decode(p["metrics"]["sealed"].get<std::string>());
  ASSERT_TRUE(sealed.ok());
  for (const Party* owner : {&model_owner_, &data_owner_}) {
    auto metrics = crypto::age::DecryptToSecret({&owner->identity, 1}, *sealed);
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    EXPECT_TRUE(nlohmann::json::parse(std::string(metrics->view())).contains("final_loss"));
  }
  auto provider_reads = crypto::age::DecryptToSecret({&provider_.identity, 1}, *sealed);
  EXPECT_EQ(crypto::age::GetErrorKind(provider_reads.status()), crypto::age::ErrorKind::kNoMatch);
  EXPECT_EQ(p["recipients"], (nlohmann::json{model_owner_.identity.recipient().ToString(),
                                             data_owner_.identity.recipient().ToString()}));
}

TEST_F(WorkerTest, TheOwnersAndStockAgeOpenTheAdapterAndTheTrainerLoadsIt) {
  contracts::Contract c = MakeContract();
  auto fake = MakeFake(c);
  ASSERT_EQ(RunOneJob(fake.get()).outcome, JobResult::Outcome::kDelivered);
  for (const Party* owner : {&model_owner_, &data_owner_}) {
    SCOPED_TRACE(owner->name);
    std::map<std::string, std::string> files = OpenAdapter(*fake, owner->identity);
    ASSERT_EQ(files.size(), 3u);
    auto weights = trainer::SafetensorsFile::Parse(files["adapter_model.safetensors"]);
    ASSERT_TRUE(weights.ok()) << weights.status().message();
    const trainer::TensorView* a = weights->Find(trainer::PeftTensorName(0, "q_proj", true));
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->shape, (std::vector<int64_t>{4, 32}));
    EXPECT_NE(weights->Find(trainer::PeftTensorName(0, "v_proj", false)), nullptr);
    EXPECT_EQ(weights->Find(trainer::PeftTensorName(0, "k_proj", true)), nullptr);
    auto lora = trainer::ParseAdapterConfig(files["adapter_config.json"]);
    ASSERT_TRUE(lora.ok()) << lora.status().message();
    EXPECT_EQ(lora->rank, 4);
    EXPECT_EQ(lora->targets, (std::vector<std::string>{"q_proj", "v_proj"}));
    nlohmann::json report = nlohmann::json::parse(files["training_report.json"]);
    EXPECT_EQ(report["steps"], 4);
    EXPECT_TRUE(report.contains("final_loss"));
    EXPECT_FALSE(report.contains("losses"));  // per_step_loss is false
  }
  // The provider (and anyone else) cannot open it.
  auto denied = crypto::age::DecryptToSecret({&provider_.identity, 1}, fake->uploaded);
  EXPECT_EQ(crypto::age::GetErrorKind(denied.status()), crypto::age::ErrorKind::kNoMatch);

  // Stock age and tar: the data owner's PEFT directory, loaded with the trainer's reader.
  testing::TempDir dir;
  testing::WriteTestFile(dir.File("adapter.tar.age"), fake->uploaded);
  testing::WriteTestFile(
      dir.File("do.identity"),
      std::string(
          crypto::age::FormatIdentityFile(data_owner_.identity, "2026-01-01T00:00:00Z").view()),
      0600);
  std::string out;
  ASSERT_EQ(
      testing::RunCommand("age -d -i " + dir.File("do.identity") + " -o " +
                              dir.File("adapter.tar") + " " + dir.File("adapter.tar.age") +
                              " && mkdir " + dir.File("adapter") + " && tar -x -f " +
                              dir.File("adapter.tar") + " -C " + dir.File("adapter") + " 2>&1",
                          &out),
      0)
      << out;
  std::string weights = testing::ReadTestFile(dir.File("adapter/adapter_model.safetensors"));
  auto loaded = trainer::SafetensorsFile::Parse(weights);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->tensors().size(), 4u);  // A and B of q_proj and v_proj, one layer
  EXPECT_TRUE(
      trainer::ParseAdapterConfig(testing::ReadTestFile(dir.File("adapter/adapter_config.json")))
          .ok());
}

TEST_F(WorkerTest, ProgressCarriesLossOnlyWhenTheContractAllowsIt) {
  {
    SCOPED_TRACE("per_step_loss false");
    auto fake = MakeFake(MakeContract());
    ASSERT_EQ(RunOneJob(fake.get()).outcome, JobResult::Outcome::kDelivered);
    ASSERT_FALSE(fake->progress.empty());
    for (const nlohmann::json& body : fake->progress) {
      EXPECT_FALSE(body.contains("loss")) << body.dump();
      EXPECT_EQ(body["job_id"], kJobId);
      EXPECT_EQ(body["total_steps"], 4);
      EXPECT_TRUE(body.contains("tokens_per_second"));
    }
    EXPECT_EQ(fake->progress.back()["step"], 4);  // the last step is always reported
  }
  {
    SCOPED_TRACE("per_step_loss true");
    contracts::Contract c = MakeContract();
    c.outputs.per_step_loss = true;
    auto fake = MakeFake(c);
    ASSERT_EQ(RunOneJob(fake.get()).outcome, JobResult::Outcome::kDelivered);
    ASSERT_FALSE(fake->progress.empty());
    for (const nlohmann::json& body : fake->progress) {
      ASSERT_TRUE(body.contains("loss")) << body.dump();
      EXPECT_TRUE(body["loss"].is_number());
    }
    nlohmann::json report =
        nlohmann::json::parse(OpenAdapter(*fake, model_owner_.identity)["training_report.json"]);
    EXPECT_EQ(report["losses"].size(), 4u);
  }
  {
    SCOPED_TRACE("no metrics recipients");
    contracts::Contract c = MakeContract();
    c.outputs.metrics_recipients.clear();
    auto fake = MakeFake(c);
    ASSERT_EQ(RunOneJob(fake.get()).outcome, JobResult::Outcome::kDelivered);
    for (const nlohmann::json& body : fake->progress) EXPECT_FALSE(body.contains("loss"));
    nlohmann::json report =
        nlohmann::json::parse(OpenAdapter(*fake, model_owner_.identity)["training_report.json"]);
    EXPECT_FALSE(report.contains("final_loss"));
    EXPECT_FALSE(report.contains("losses"));
    auto env = crypto::DsseEnvelope::FromJson((*fake->delivery)["record"].get<std::string>());
    nlohmann::json st = nlohmann::json::parse(env->payload);
    EXPECT_FALSE(st["predicate"]["training"].contains("final_loss"));
  }
}

TEST_F(WorkerTest, ARejectedAdmissionReleasesNothingAndTheWorkerPollsOn) {
  auto fake = MakeFake(MakeContract());
  fake->reject_first = 1;
  FakeServer server(fake.get(), 0);
  Worker w(Channel(server.port()), provider_.key, *attester_, *clock_, Options());
  auto first = w.RunOnce();
  ASSERT_TRUE(first.ok() && first->has_value());
  const JobResult& rejected = **first;
  EXPECT_EQ(rejected.outcome, JobResult::Outcome::kRejected);
  ASSERT_EQ(fake->admissions.size(), 1u);
  EXPECT_FALSE(fake->admissions[0].admitted);
  EXPECT_EQ(rejected.reasons, fake->admissions[0].reasons);
  ASSERT_EQ(rejected.reasons.size(), 1u);
  EXPECT_EQ(rejected.reasons[0], "measurement " + base::HexEncode(measurement_) + " not in [" +
                                     base::HexEncode(std::string(48, '\x5a')) + "]");
  EXPECT_EQ(fake->headers_released, 0);
  EXPECT_TRUE(fake->downloads.empty());
  EXPECT_TRUE(fake->failures.empty());
  EXPECT_FALSE(fake->delivery.has_value());

  // The worker goes on polling: the job comes back with a new nonce and is admitted, with new keys.
  auto second = w.RunOnce();
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((**second).outcome, JobResult::Outcome::kDelivered);
  EXPECT_EQ(fake->polls, 2);
  ASSERT_EQ(fake->admissions.size(), 2u);
  EXPECT_NE(*fake->admissions[0].eph_key, *fake->admissions[1].eph_key);
  EXPECT_NE(fake->admissions[0].eph_recipient, fake->admissions[1].eph_recipient);
  EXPECT_EQ(fake->protocol_errors, std::vector<std::string>{});
}

TEST_F(WorkerTest, RunWithOnceSkipsRejectionsAndExitsAfterTheDeliveredJob) {
  auto fake = MakeFake(MakeContract());
  fake->reject_first = 2;
  FakeServer server(fake.get(), 0);
  WorkerOptions o = Options();
  o.once = true;
  Worker w(Channel(server.port()), provider_.key, *attester_, *clock_, o);
  std::vector<JobResult::Outcome> outcomes;
  absl::Status st = w.Run([&](const JobResult& r) { outcomes.push_back(r.outcome); });
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(outcomes, (std::vector<JobResult::Outcome>{JobResult::Outcome::kRejected,
                                                       JobResult::Outcome::kRejected,
                                                       JobResult::Outcome::kDelivered}));
  EXPECT_EQ(fake->admissions.size(), 3u);
}

TEST_F(WorkerTest, ADigestMismatchFailsTheJobWithThatReason) {
  contracts::Contract c = MakeContract();
  auto fake = MakeFake(c);
  fake->tamper_id = c.dataset.id;
  std::string tampered = data_ct_;
  tampered.back() ^= 1;
  WorkerOptions o = Options();
  o.once = true;
  FakeServer server(fake.get(), 0);
  Worker w(Channel(server.port()), provider_.key, *attester_, *clock_, o);
  absl::Status st = w.Run();
  const std::string reason =
      "input " + c.dataset.id + " digest mismatch: got " + crypto::Sha256Id(tampered);
  EXPECT_EQ(st, absl::AbortedError("job job-1 failed: " + reason));
  ASSERT_EQ(fake->failures.size(), 1u);
  EXPECT_EQ(fake->failures[0].reason, reason);
  EXPECT_TRUE(fake->failures[0].by_ephemeral_key);
  EXPECT_FALSE(fake->delivery.has_value());
  EXPECT_TRUE(fake->progress.empty());
}

TEST_F(WorkerTest, RefusesAContractThatNamesAnotherProvider) {
  contracts::Contract c = MakeContract();
  c.compute_provider = other_provider_.Card();
  auto fake = MakeFake(c, other_provider_.key);
  JobResult r = RunOneJob(fake.get());
  EXPECT_EQ(r.outcome, JobResult::Outcome::kFailed);
  const std::string reason =
      "the worker refuses the assignment: contract c-worker-test names "
      "compute provider \"othercloud\" (key " +
      other_provider_.key.public_key().KeyId() + "), not this worker's provider (key " +
      provider_.key.public_key().KeyId() + ")";
  EXPECT_EQ(r.reasons, std::vector<std::string>{reason});
  ASSERT_EQ(fake->failures.size(), 1u);
  EXPECT_EQ(fake->failures[0].reason, reason);
  EXPECT_FALSE(fake->failures[0].by_ephemeral_key);
  EXPECT_TRUE(fake->admissions.empty());
}

TEST_F(WorkerTest, RefusesAnExpiredContract) {
  auto fake = MakeFake(MakeContract());
  clock_->Advance(absl::Hours(25));  // past not_after for the worker; the fake uses the same clock
  JobResult r = RunOneJob(fake.get());
  EXPECT_EQ(r.outcome, JobResult::Outcome::kFailed);
  ASSERT_EQ(r.reasons.size(), 1u);
  EXPECT_EQ(r.reasons[0],
            "the worker refuses the assignment: contract is not active: expired: now " +
                base::FormatRfc3339(now_ + absl::Hours(25)) + " is not before not_after " +
                base::FormatRfc3339(now_ + absl::Hours(24)));
  EXPECT_TRUE(fake->admissions.empty());
}

TEST_F(WorkerTest, PlaintextNeverReachesFilesLogsOrTheCoordinator) {
  // Sanity: the canaries are in the plaintext inputs, and the scan finds a planted one.
  ASSERT_TRUE(absl::StrContains(model_plaintext_, kModelCanary));
  ASSERT_TRUE(absl::StrContains(dataset_plaintext_, kDataCanary));
  testing::TempDir control;
  testing::WriteTestFile(control.File("planted"), std::string("x") + kDataCanary);
  ASSERT_EQ(FilesContaining(control.path(), kDataCanary).size(), 1u);

  // The worker runs with its working directory and TMPDIR in a directory the test scans.
  testing::TempDir work;
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  const char* old_tmp = ::getenv("TMPDIR");
  std::string saved_tmp = old_tmp ? old_tmp : "";
  ASSERT_EQ(::chdir(work.path().c_str()), 0);
  ::setenv("TMPDIR", work.path().c_str(), 1);
  std::string log;
  contracts::Contract c = MakeContract();
  c.outputs.per_step_loss = true;  // even with everything allowed out
  auto fake = MakeFake(c);
  {
    LogCapture capture;
    JobResult r = RunOneJob(fake.get());
    EXPECT_EQ(r.outcome, JobResult::Outcome::kDelivered);
    log = capture.str();
  }
  ASSERT_EQ(::chdir(cwd), 0);
  if (old_tmp) {
    ::setenv("TMPDIR", saved_tmp.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  EXPECT_NE(log.find("job job-1: admitted (SIMULATED: no hardware protection)"), std::string::npos)
      << log;
  for (const char* canary : {kModelCanary, kDataCanary}) {
    SCOPED_TRACE(canary);
    EXPECT_EQ(FilesContaining(work.path(), canary), std::vector<std::string>{});
    EXPECT_FALSE(absl::StrContains(log, canary));
    for (const std::string& m : fake->messages) EXPECT_FALSE(absl::StrContains(m, canary));
    EXPECT_FALSE(absl::StrContains(fake->uploaded, canary));
  }
  EXPECT_FALSE(fake->messages.empty());
}

TEST_F(WorkerTest, RetriesWhileTheCoordinatorIsAway) {
  auto fake = MakeFake(MakeContract());
  fake->outage_on_first_progress = 6;  // mid-training: progress and the upload see UNAVAILABLE
  JobResult r = RunOneJob(fake.get());
  EXPECT_EQ(r.outcome, JobResult::Outcome::kDelivered) << (r.reasons.empty() ? "" : r.reasons[0]);
  EXPECT_EQ(fake->unavailable_returned, 6);
  EXPECT_TRUE(fake->delivery.has_value());
  EXPECT_EQ(fake->protocol_errors, std::vector<std::string>{});
}

TEST_F(WorkerTest, SurvivesACoordinatorRestartDuringTraining) {
  contracts::Contract c = MakeContract();
  c.training.max_steps = 12;
  auto fake = MakeFake(c);
  auto server = std::make_unique<FakeServer>(fake.get(), 0);
  const int port = server->port();
  std::mutex mu;
  std::condition_variable cv;
  bool restart = false;
  fake->on_first_progress = [&] {
    std::lock_guard<std::mutex> lock(mu);
    restart = true;
    cv.notify_one();
  };
  // The server is stopped (its in-flight progress call fails) and started again on the same port.
  std::thread restarter([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return restart; });
    lock.unlock();
    server.reset();
    absl::SleepFor(absl::Milliseconds(700));
    server = std::make_unique<FakeServer>(fake.get(), port);
  });
  Worker w(Channel(port), provider_.key, *attester_, *clock_, Options());
  auto r = w.RunOnce();
  restarter.join();
  ASSERT_TRUE(r.ok() && r->has_value()) << r.status();
  EXPECT_EQ((**r).outcome, JobResult::Outcome::kDelivered)
      << ((**r).reasons.empty() ? "" : (**r).reasons[0]);
  EXPECT_TRUE(fake->delivery.has_value());
  EXPECT_EQ(fake->progress.back()["step"], 12);
}

TEST_F(WorkerTest, GivesUpWhenTheCoordinatorStaysAway) {
  WorkerOptions o = Options();
  o.retry_budget = absl::Milliseconds(300);
  // Nothing listens on this port any more.
  int port = 0;
  {
    auto fake = MakeFake(MakeContract());
    FakeServer s(fake.get(), 0);
    port = s.port();
  }
  Worker w(Channel(port), provider_.key, *attester_, *clock_, o);
  absl::Status st = w.Run();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_TRUE(absl::StartsWith(st.message(), "poll: coordinator unreachable for ")) << st;
}

// ---- Keys come from the owners' keyholders, each with its owner's receipt ----

TEST_F(WorkerTest, AKeyholderRefusalStopsTheAttemptAndNothingIsDecrypted) {
  auto fake = MakeFake(MakeContract());
  fake->refuse_keys = "keyholder of acme-bank refused: measurement not in the policy";
  JobResult r = RunOneJob(fake.get());
  EXPECT_EQ(r.outcome, JobResult::Outcome::kFailed);
  ASSERT_EQ(r.reasons.size(), 1u);
  EXPECT_EQ(
      r.reasons[0],
      "the keys were not released: keyholder of acme-bank refused: measurement not in the policy");
  EXPECT_TRUE(fake->downloads.empty());
  EXPECT_FALSE(fake->delivery.has_value());
  ASSERT_EQ(fake->failures.size(), 1u);
  EXPECT_TRUE(fake->failures[0].by_ephemeral_key);
}

TEST_F(WorkerTest, AHeaderWithoutItsOwnersReceiptIsRefused) {
  contracts::Contract c = MakeContract();
  {
    // The coordinator signs the receipts itself: it cannot speak for an owner.
    auto fake = MakeFake(c);
    crypto::Ed25519PrivateKey coordinator_key = crypto::Ed25519PrivateKey::Generate();
    fake->forge_receipts_with = &coordinator_key;
    JobResult r = RunOneJob(fake.get());
    EXPECT_EQ(r.outcome, JobResult::Outcome::kFailed);
    ASSERT_EQ(r.reasons.size(), 1u);
    EXPECT_EQ(r.reasons[0], "the header of " + c.base_model.id +
                                " came without a valid receipt of acme-models: " +
                                "release receipt is not signed by the owner's key " +
                                model_owner_.key.public_key().KeyId());
    EXPECT_TRUE(fake->downloads.empty());
  }
  {
    // A receipt of the owner, for another header.
    auto fake = MakeFake(c);
    fake->receipt_names_other_header = true;
    JobResult r = RunOneJob(fake.get());
    EXPECT_EQ(r.outcome, JobResult::Outcome::kFailed);
    ASSERT_EQ(r.reasons.size(), 1u);
    EXPECT_EQ(r.reasons[0], "the receipt of acme-models for " + c.base_model.id +
                                " does not name this job, these keys and this header");
  }
}

// The lease: a worker that cannot renew it within the contract's key_lease stops and wipes; one the
// coordinator tells to stop (revoked contract, ended job) stops at once.
TEST_F(WorkerTest, AWorkerThatCannotRenewItsKeyLeaseStopsAndWipes) {
  contracts::Contract c = MakeContract();
  c.terms.key_lease_seconds = 5;
  c.training.max_steps = 200000;  // far longer than the lease
  auto fake = MakeFake(c);
  fake->lease_unavailable = true;
  absl::Time start = absl::Now();
  JobResult r = RunOneJob(fake.get());
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.outcome, JobResult::Outcome::kFailed);
  ASSERT_EQ(r.reasons.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(
      r.reasons[0],
      "the key lease of 5s expired without a renewal (last error: fake coordinator is down)"))
      << r.reasons[0];
  EXPECT_TRUE(absl::EndsWith(r.reasons[0], "; keys and plaintext wiped, the attempt stops"))
      << r.reasons[0];
  EXPECT_LT(took, absl::Seconds(20));
  EXPECT_FALSE(fake->delivery.has_value());
  EXPECT_EQ(fake->lease_renewals, 0);
}

TEST_F(WorkerTest, AWorkerTheCoordinatorTellsToStopStopsAtTheNextRenewal) {
  contracts::Contract c = MakeContract();
  c.terms.key_lease_seconds = 8;
  c.training.max_steps = 200000;
  auto fake = MakeFake(c);
  fake->lease_stop = "contract c-worker-test is not active: revoked by acme-bank";
  absl::Time start = absl::Now();
  JobResult r = RunOneJob(fake.get());
  EXPECT_EQ(r.outcome, JobResult::Outcome::kFailed);
  ASSERT_EQ(r.reasons.size(), 1u);
  EXPECT_EQ(r.reasons[0],
            "the coordinator ended the key lease: contract c-worker-test is not active: revoked by "
            "acme-bank; keys and plaintext wiped, the attempt stops");
  EXPECT_LT(absl::Now() - start,
            absl::Seconds(15));  // the first renewal, at a quarter of the lease
  EXPECT_EQ(fake->lease_renewals, 1);
  EXPECT_FALSE(fake->delivery.has_value());
}

TEST_F(WorkerTest, RefusesABadWorkerId) {
  auto fake = MakeFake(MakeContract());
  FakeServer server(fake.get(), 0);
  WorkerOptions o = Options();
  o.worker_id = "w 1";
  Worker w(Channel(server.port()), provider_.key, *attester_, *clock_, o);
  EXPECT_EQ(w.Run(), absl::InvalidArgumentError("worker id \"w 1\" may hold only [A-Za-z0-9._:-]"));
  EXPECT_EQ(fake->polls, 0);
}

}  // namespace
}  // namespace triad::worker::test
