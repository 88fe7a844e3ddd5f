// Issue 13 points 1 and 2, tried as an outsider or a curious party would, through the real RPCs:
// every read about a contract is a signed request of one of its parties or of an auditor it names
// (a stranger, a registered party of another contract, an unsigned, misaddressed, stale or
// future-dated request learns nothing), metrics reach only their recipients, self-registration
// and name squatting, removed parties, and the limits (artifact size, party quota, the age header
// from the first chunk, watches per party, workers per provider). Each refusal is asserted with its
// exact reason, next to the honest request that passes the same path.
#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "base/json.h"
#include "coordinator/coordinator.h"
#include "crypto/merkle.h"
#include "tests/coordinator/coordinator_fixture.h"

namespace triad::coordinator {
namespace {

// Every regular file under `dir` (the blob store: objects and temporary files alike).
std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class ScopeTest : public CoordinatorTest {
 protected:
  explicit ScopeTest(CoordinatorOptions o = testing::Harness::Defaults()) : CoordinatorTest(o) {}

  // The contract names an auditor; it is no party and is not registered here.
  contracts::Contract AuditedContract() {
    contracts::Contract c = MakeContract();
    c.auditors = {aud_.card};
    return c;
  }

  // A done job under the audited contract.
  std::string DoneJob(const std::function<void(nlohmann::json&)>& edit_record = nullptr) {
    contracts::Contract c = AuditedContract();
    SetUpContract(&c);
    std::string job = NewJob();
    Eph eph;
    auto [a, reply] = Admit("w1", eph);
    EXPECT_EQ(Keys(job, eph).size(), 2u);
    std::string adapter_ct = Encrypt("adapter", {mo_.card.age_recipient, do_.card.age_recipient});
    grpc::Status st =
        Deliver(job, eph.key, Record(job, adapter_ct, eph, reply, edit_record), adapter_ct);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return job;
  }

  // A request for `action` with `body`, signed by `key` at `at`, addressed to `audience`.
  std::string SignAt(absl::string_view action, nlohmann::json body,
                     const crypto::Ed25519PrivateKey& key, absl::Time at,
                     const std::string& audience) {
    return SignRequest(action, std::move(body), key, at, audience).ToJson();
  }

  // The reads of issue 13 point 1, each taking the request envelope ("" for none).
  grpc::Status ReadContract(const std::string& env, pb::GetContractReply* out = nullptr) {
    grpc::ClientContext ctx;
    pb::GetContractRequest req;
    req.set_id("c-0001");
    if (!env.empty()) req.mutable_request()->set_envelope_json(env);
    pb::GetContractReply reply;
    grpc::Status st = h_.contracts->GetContract(&ctx, req, &reply);
    if (out != nullptr) *out = reply;
    return st;
  }
  grpc::Status ReadJob(const std::string& job, const std::string& env,
                       pb::JobStatus* out = nullptr) {
    grpc::ClientContext ctx;
    pb::GetJobRequest req;
    req.set_id(job);
    if (!env.empty()) req.mutable_request()->set_envelope_json(env);
    pb::JobStatus reply;
    grpc::Status st = h_.jobs->GetJob(&ctx, req, &reply);
    if (out != nullptr) *out = reply;
    return st;
  }
  // A watch of a job that has ended: one status, then the stream ends.
  grpc::Status WatchDone(const std::string& job, const std::string& env,
                         std::vector<pb::JobStatus>* out = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    pb::GetJobRequest req;
    req.set_id(job);
    if (!env.empty()) req.mutable_request()->set_envelope_json(env);
    auto r = h_.jobs->WatchJob(&ctx, req);
    pb::JobStatus s;
    while (r->Read(&s)) {
      if (out != nullptr) out->push_back(s);
    }
    return r->Finish();
  }
  grpc::Status ReadBundle(const std::string& job, const std::string& env,
                          std::string* out = nullptr) {
    grpc::ClientContext ctx;
    pb::ExportRequest req;
    req.set_job_id(job);
    if (!env.empty()) req.mutable_request()->set_envelope_json(env);
    pb::ExportReply reply;
    grpc::Status st = h_.audit->ExportBundle(&ctx, req, &reply);
    if (out != nullptr) *out = reply.bundle_json();
    return st;
  }
  grpc::Status ReadEntries(uint64_t start, uint64_t end, const std::string& env,
                           pb::EntriesReply* out = nullptr) {
    grpc::ClientContext ctx;
    pb::EntriesRequest req;
    req.set_start(start);
    req.set_end(end);
    if (!env.empty()) req.mutable_request()->set_envelope_json(env);
    pb::EntriesReply reply;
    grpc::Status st = h_.audit->GetEntries(&ctx, req, &reply);
    if (out != nullptr) *out = reply;
    return st;
  }
  grpc::Status ReadInclusion(uint64_t index, uint64_t size, const std::string& env) {
    grpc::ClientContext ctx;
    pb::InclusionRequest req;
    req.set_index(index);
    req.set_tree_size(size);
    if (!env.empty()) req.mutable_request()->set_envelope_json(env);
    pb::ProofReply reply;
    return h_.audit->GetInclusionProof(&ctx, req, &reply);
  }

  uint64_t TreeSize() { return h_.store().log().LatestCheckpoint()->size; }

  // The index of the first log entry of `kind`.
  uint64_t IndexOf(const std::string& kind) {
    for (uint64_t i = 0; i < TreeSize(); ++i) {
      if (base::ParseJsonStrict(*h_.store().log().Entry(i))->at("kind") == kind) return i;
    }
    ADD_FAILURE() << "no " << kind;
    return 0;
  }

  Party aud_ = testing::MakeParty("aud", Role::kAuditor);
  Party stranger_ = testing::MakeParty("stranger", Role::kDataOwner);
};

// ---- 1. Reads are scoped ----

// Tried: `audit export JOB` with no keys printed the whole contract, the evidence and the loss;
// GetContract, GetJob, WatchJob and Audit.* answered anyone. Now each read is a signed request of a
// party of the contract or an auditor it names; everyone else is refused with the reason, and the
// honest reader on the same path gets its answer.
TEST_F(ScopeTest, EveryReadNeedsAFreshRequestSignedForThisCoordinatorByAPartyOrAnAuditor) {
  const std::string job = DoneJob();
  ASSERT_TRUE(Register(eve_).ok());  // registered, but in no contract
  const uint64_t size = TreeSize();
  const uint64_t activated = IndexOf("contract.activated");
  const absl::Time now = h_.clock.Now();
  const std::string fp = h_.fingerprint();

  // The bodies of each read, and each read taking an envelope.
  const nlohmann::json contract_body = {{"contract_id", "c-0001"}};
  const nlohmann::json job_body = {{"job_id", job}};
  const nlohmann::json entries_body = {{"start", 0}, {"end", size}};
  const nlohmann::json inclusion_body = {{"index", activated}, {"tree_size", size}};
  struct Read {
    std::string name;
    std::string action;
    nlohmann::json body;
    std::function<grpc::Status(const std::string&)> call;
    bool contract_scoped;  // a read about the contract (else a log read)
  };
  std::vector<Read> reads = {
      {"GetContract", "get-contract", contract_body,
       [&](const std::string& e) { return ReadContract(e); }, true},
      {"GetJob", "get-job", job_body, [&](const std::string& e) { return ReadJob(job, e); }, true},
      {"WatchJob", "get-job", job_body, [&](const std::string& e) { return WatchDone(job, e); },
       true},
      {"ExportBundle", "export-bundle", job_body,
       [&](const std::string& e) { return ReadBundle(job, e); }, true},
      {"GetEntries", "get-entries", entries_body,
       [&](const std::string& e) { return ReadEntries(0, size, e); }, false},
      {"GetInclusionProof", "get-inclusion-proof", inclusion_body,
       [&](const std::string& e) { return ReadInclusion(activated, size, e); }, false},
  };
  const std::string not_in_contract =
      " which is neither a party of contract c-0001 nor an auditor it names";
  for (const Read& r : reads) {
    SCOPED_TRACE(r.name);
    // The honest readers: each party, and the auditor the contract names (not registered here).
    for (const Party* p : {&mo_, &do_, &cp_, &aud_}) {
      grpc::Status st = r.call(SignAt(r.action, r.body, p->key, now, fp));
      EXPECT_TRUE(st.ok()) << p->card.name << ": " << st.error_message();
    }
    // Unsigned.
    if (r.contract_scoped) {
      EXPECT_STATUS(r.call(""), UNAUTHENTICATED,
                    "reading contract c-0001 needs a request signed by one of its parties or an "
                    "auditor it names");
    } else {
      EXPECT_STATUS(r.call(""), UNAUTHENTICATED,
                    "reading log entries needs a request signed by a registered party or by an "
                    "auditor a contract names; anyone may read signed checkpoints and "
                    "consistency proofs");
    }
    // A stranger (no registered party, no auditor).
    if (r.contract_scoped) {
      EXPECT_STATUS(r.call(SignAt(r.action, r.body, stranger_.key, now, fp)), PERMISSION_DENIED,
                    "request is signed by key " + stranger_.card.fingerprint() + "," +
                        not_in_contract);
    } else {
      EXPECT_STATUS(r.call(SignAt(r.action, r.body, stranger_.key, now, fp)), PERMISSION_DENIED,
                    "request is signed by key " + stranger_.card.fingerprint() +
                        ", which is neither a registered party's nor an auditor's of a contract "
                        "here");
    }
    // A registered party of no contract here: nothing about this one (the log read: below).
    if (r.contract_scoped) {
      EXPECT_STATUS(r.call(SignAt(r.action, r.body, eve_.key, now, fp)), PERMISSION_DENIED,
                    "request is signed by key " + eve_.card.fingerprint() + "," + not_in_contract);
    }
    // Signed for another coordinator, by a party.
    EXPECT_STATUS(r.call(SignAt(r.action, r.body, mo_.key, now, "another-coordinator")),
                  PERMISSION_DENIED,
                  "request is addressed to coordinator another-coordinator, not to this one (" +
                      fp + ")");
    // Stale (replayed 6 minutes later) and dated 7 minutes in the future.
    EXPECT_STATUS(r.call(SignAt(r.action, r.body, mo_.key, now - absl::Minutes(6), fp)),
                  DEADLINE_EXCEEDED,
                  "request: issued_at 2025-07-09T23:54:00Z is 6 minutes before the coordinator's "
                  "time 2025-07-10T00:00:00Z (at most 5 either way); check the clocks");
    EXPECT_STATUS(r.call(SignAt(r.action, r.body, mo_.key, now + absl::Minutes(7), fp)),
                  DEADLINE_EXCEEDED,
                  "request: issued_at 2025-07-10T00:07:00Z is 7 minutes after the coordinator's "
                  "time 2025-07-10T00:00:00Z (at most 5 either way); check the clocks");
    // Within the allowed skew both ways: read.
    EXPECT_TRUE(r.call(SignAt(r.action, r.body, mo_.key, now - absl::Minutes(4), fp)).ok());
    EXPECT_TRUE(r.call(SignAt(r.action, r.body, mo_.key, now + absl::Minutes(4), fp)).ok());
    // A party's signed request for another read is no key to this one.
    EXPECT_STATUS(r.call(SignAt("submit-job", r.body, do_.key, now, fp)), INVALID_ARGUMENT,
                  "request: action is \"submit-job\", this call performs \"" + r.action + "\"");
  }

  // A request about one job does not read another (a party signs what it reads).
  std::string other_job = NewJob();
  EXPECT_STATUS(ReadJob(other_job, SignAt("get-job", job_body, do_.key, now, fp)),
                INVALID_ARGUMENT, "request body: job_id is " + job + ", not " + other_job);
  EXPECT_STATUS(ReadBundle(other_job, SignAt("export-bundle", job_body, do_.key, now, fp)),
                INVALID_ARGUMENT, "request body: job_id is " + job + ", not " + other_job);

  // A registered party of another contract signs log reads: it gets the leaf hashes of every entry
  // (the tree is public) and the text of its own registration only; no inclusion proof of this
  // contract's entries.
  pb::EntriesReply entries;
  const uint64_t now_size = TreeSize();
  ASSERT_TRUE(
      ReadEntries(0, now_size,
                  SignAt("get-entries", {{"start", 0}, {"end", now_size}}, eve_.key, now, fp),
                  &entries)
          .ok());
  ASSERT_EQ(entries.entries_size(), static_cast<int>(now_size));
  ASSERT_EQ(entries.leaf_hashes_size(), static_cast<int>(now_size));
  std::vector<std::string> readable;
  for (int i = 0; i < entries.entries_size(); ++i) {
    EXPECT_EQ(entries.leaf_hashes(i),
              crypto::merkle::LeafHash(*h_.store().log().Entry(static_cast<uint64_t>(i))));
    if (!entries.entries(i).empty()) {
      auto e = base::ParseJsonStrict(entries.entries(i));
      readable.push_back(absl::StrCat(e->at("kind").get<std::string>(), ":",
                                      e->value("name", e->value("job_id", ""))));
    }
  }
  EXPECT_EQ(readable, std::vector<std::string>{"party.registered:eve"});
  EXPECT_STATUS(ReadInclusion(activated, size,
                              SignAt("get-inclusion-proof", inclusion_body, eve_.key, now, fp)),
                PERMISSION_DENIED,
                absl::StrCat("log entry ", activated, " is not readable by this signer"));

  // The same log read by the contract's auditor: every entry about the contract and its jobs (not
  // the parties' own registrations, nor eve's).
  ASSERT_TRUE(
      ReadEntries(0, now_size,
                  SignAt("get-entries", {{"start", 0}, {"end", now_size}}, aud_.key, now, fp),
                  &entries)
          .ok());
  int contract_entries = 0;
  for (int i = 0; i < entries.entries_size(); ++i) {
    std::string kind =
        base::ParseJsonStrict(*h_.store().log().Entry(static_cast<uint64_t>(i)))->at("kind");
    bool about_contract = absl::StartsWith(kind, "contract.") || absl::StartsWith(kind, "job.") ||
                          absl::StartsWith(kind, "key.");
    EXPECT_EQ(!entries.entries(i).empty(), about_contract) << i << " " << kind;
    contract_entries += about_contract ? 1 : 0;
  }
  EXPECT_GT(contract_entries, 10);

  // Refused reads change nothing.
  EXPECT_EQ(TreeSize(), now_size);
}

// What anyone may read without a key: the signed checkpoint (with its cosignatures) and the
// consistency proofs between checkpoints, which witnesses need; they carry no entry.
TEST_F(ScopeTest, CheckpointsAndConsistencyProofsStayPublic) {
  RegisterAll();
  grpc::ClientContext c1;
  pb::CheckpointReply before;
  ASSERT_TRUE(h_.audit->GetCheckpoint(&c1, pb::CheckpointRequest(), &before).ok());
  contracts::Contract c = AuditedContract();
  ASSERT_TRUE(SubmitContract(SignedContract(c, {&mo_, &do_, &cp_})).ok());
  grpc::ClientContext c2;
  pb::CheckpointReply after;
  ASSERT_TRUE(h_.audit->GetCheckpoint(&c2, pb::CheckpointRequest(), &after).ok());
  auto old_cp = verify::OpenCardCheckpoint(h_.card(), before.signed_note());
  auto new_cp = verify::OpenCardCheckpoint(h_.card(), after.signed_note());
  ASSERT_TRUE(old_cp.ok()) << old_cp.status();
  ASSERT_TRUE(new_cp.ok()) << new_cp.status();
  ASSERT_LT(old_cp->size, new_cp->size);
  grpc::ClientContext c3;
  pb::ConsistencyRequest cr;
  cr.set_from_size(old_cp->size);
  cr.set_to_size(new_cp->size);
  pb::ProofReply proof;
  ASSERT_TRUE(h_.audit->GetConsistencyProof(&c3, cr, &proof).ok());
  EXPECT_TRUE(verify::CheckCheckpointExtends(
                  *old_cp, *new_cp, std::vector<std::string>(proof.hashes().begin(),
                                                             proof.hashes().end()))
                  .ok());
}

// A WatchJob stream lives only as long as its signed request is fresh: it ends with the reason
// when the request goes stale, not before.
TEST_F(ScopeTest, AWatchEndsWhenItsSignedRequestGoesStale) {
  contracts::Contract c = AuditedContract();
  SetUpContract(&c);
  const std::string job = NewJob();  // stays queued: the watch never sees an end
  pb::GetJobRequest req;
  req.set_id(job);
  *req.mutable_request() = h_.Signed("get-job", {{"job_id", job}}, aud_.key);
  absl::Notification first;
  std::vector<std::string> states;
  grpc::Status ended;
  std::thread watcher([&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    auto r = h_.jobs->WatchJob(&ctx, req);
    pb::JobStatus s;
    while (r->Read(&s)) {
      states.push_back(s.state());
      if (!first.HasBeenNotified()) first.Notify();
    }
    ended = r->Finish();
    if (!first.HasBeenNotified()) first.Notify();
  });
  ASSERT_TRUE(first.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // Four minutes on, the request is still fresh: the stream goes on (it looks at the clock at
  // least once a second).
  h_.clock.Advance(absl::Minutes(4));
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_TRUE(ended.ok() && ended.error_message().empty());  // not ended yet
  // Five minutes after it was signed, it is stale: the stream ends with the reason.
  h_.clock.Advance(absl::Minutes(1));
  watcher.join();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << ended.error_message();
  EXPECT_EQ(ended.error_message(),
            "the signed watch request is no longer fresh; sign a new one to watch on");
  EXPECT_EQ(states, std::vector<std::string>{"queued"});
  // A fresh request watches on.
  *req.mutable_request() = h_.Signed("get-job", {{"job_id", job}}, aud_.key);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  auto r = h_.jobs->WatchJob(&ctx, req);
  pb::JobStatus s;
  ASSERT_TRUE(r->Read(&s));
  EXPECT_EQ(s.state(), "queued");
  ctx.TryCancel();
  r->Finish();
}

// ---- Metrics go only to their recipients ----

// Tried: with metrics_recipients ["data_owner"] the worker's job record, readable by anyone,
// carried "final_loss". Now nothing the model owner, the provider or an auditor reads (the job's
// status and watch, its bundle with the record, the log) carries a loss; the data owner sees the
// per-step loss in the status and the final metrics sealed to it alone.
TEST_F(ScopeTest, MetricsReachTheirRecipientsOnly) {
  contracts::Contract c = AuditedContract();
  c.outputs.per_step_loss = true;
  c.outputs.metrics_recipients = {Role::kDataOwner};
  SetUpContract(&c);
  const std::string job = NewJob();
  Eph eph;
  auto [a, reply] = Admit("w1", eph);
  ASSERT_EQ(Keys(job, eph).size(), 2u);
  // A loss value no other number in these documents is.
  ASSERT_TRUE(Progress(job, eph.key, 3, 10, 2.71828).ok());
  ASSERT_TRUE(Progress(job, eph.key, 10, 10, 1.41421).ok());
  std::string adapter_ct = Encrypt("adapter", {mo_.card.age_recipient, do_.card.age_recipient});
  const std::string sealed_for_do =
      Encrypt("{\"final_loss\": 1.41421}\n", {do_.card.age_recipient});
  auto seal_to = [&](const std::string& sealed, std::vector<std::string> to) {
    return [sealed, to](nlohmann::json& st) {
      st["predicate"]["metrics"]["recipients"] = to;
      st["predicate"]["metrics"]["sealed"] = base::Base64Encode(sealed);
    };
  };
  // A record that seals the metrics to both owners is refused (the contract names one recipient).
  EXPECT_STATUS(
      Deliver(job, eph.key,
              Record(job, adapter_ct, eph, reply,
                     seal_to(Encrypt("{\"final_loss\": 1.41421}\n",
                                     {mo_.card.age_recipient, do_.card.age_recipient}),
                             {do_.card.age_recipient.ToString()})),
              adapter_ct),
      INVALID_ARGUMENT,
      "job record: predicate.metrics.sealed is not an age file with one X25519 stanza for each "
      "of the 1 metrics recipients");
  EXPECT_STATUS(Deliver(job, eph.key,
                        Record(job, adapter_ct, eph, reply,
                               seal_to(sealed_for_do, {mo_.card.age_recipient.ToString()})),
                        adapter_ct),
                INVALID_ARGUMENT,
                "job record: predicate.metrics.recipients are not the age recipients of the "
                "contract's metrics recipients");
  ASSERT_TRUE(Deliver(job, eph.key,
                      Record(job, adapter_ct, eph, reply,
                             seal_to(sealed_for_do, {do_.card.age_recipient.ToString()})),
                      adapter_ct)
                  .ok());

  // The values; and, but in the bundle (whose contract has outputs.per_step_loss), the word.
  auto no_loss = [](const std::string& what, const std::string& text) {
    EXPECT_EQ(text.find("2.71828"), std::string::npos) << what;
    EXPECT_EQ(text.find("1.41421"), std::string::npos) << what;
    if (what != "bundle") {
      EXPECT_EQ(text.find("loss"), std::string::npos) << what;
    }
  };
  for (const Party* p : {&mo_, &cp_, &aud_}) {
    SCOPED_TRACE(p->card.name);
    pb::JobStatus s;
    ASSERT_TRUE(ReadJob(job, h_.Sign("get-job", {{"job_id", job}}, p->key), &s).ok());
    EXPECT_FALSE(s.has_loss());
    std::vector<pb::JobStatus> watched;
    ASSERT_TRUE(WatchDone(job, h_.Sign("get-job", {{"job_id", job}}, p->key), &watched).ok());
    ASSERT_FALSE(watched.empty());
    for (const pb::JobStatus& w : watched) EXPECT_FALSE(w.has_loss());
    std::string bundle;
    ASSERT_TRUE(ReadBundle(job, h_.Sign("export-bundle", {{"job_id", job}}, p->key), &bundle).ok());
    no_loss("bundle", bundle);
    // The record in the bundle carries the metrics sealed to the data owner only.
    auto b = base::ParseJsonStrict(bundle);
    auto record = crypto::DsseEnvelope::FromJson((*b)["job_record"]["worker"].dump());
    ASSERT_TRUE(record.ok()) << record.status();
    no_loss("record", record->payload);
    auto st = base::ParseJsonStrict(record->payload);
    auto sealed = base::Base64Decode((*st)["predicate"]["metrics"]["sealed"].get<std::string>());
    ASSERT_TRUE(sealed.ok());
    EXPECT_EQ(crypto::age::GetErrorKind(
                  crypto::age::DecryptToSecret(absl::MakeConstSpan(&p->identity, 1), *sealed)
                      .status()),
              crypto::age::ErrorKind::kNoMatch);
    // The log, as this reader sees it.
    uint64_t size = TreeSize();
    pb::EntriesReply entries;
    ASSERT_TRUE(
        ReadEntries(0, size, h_.Sign("get-entries", {{"start", 0}, {"end", size}}, p->key),
                    &entries)
            .ok());
    for (const std::string& e : entries.entries()) no_loss("log entry", e);
  }
  // The data owner: the per-step loss in the status, and the final metrics open with its identity.
  pb::JobStatus s;
  ASSERT_TRUE(ReadJob(job, h_.Sign("get-job", {{"job_id", job}}, do_.key), &s).ok());
  ASSERT_TRUE(s.has_loss());
  EXPECT_DOUBLE_EQ(s.loss(), 1.41421);
  auto record = h_.store().GetJobRecord(job);
  ASSERT_TRUE(record.ok());
  auto st = base::ParseJsonStrict(crypto::DsseEnvelope::FromJson(record->worker_envelope_json)
                                      ->payload);
  auto metrics = crypto::age::DecryptToSecret(
      absl::MakeConstSpan(&do_.identity, 1),
      *base::Base64Decode((*st)["predicate"]["metrics"]["sealed"].get<std::string>()));
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->view(), "{\"final_loss\": 1.41421}\n");
}

// ---- 2. Parties are invited ----

TEST_F(ScopeTest, ARemovedPartysRequestsAreRefused) {
  const std::string job = DoneJob();
  ASSERT_TRUE(RemoveParty(h_.store(), "cp", h_.clock.Now()).ok());
  const uint64_t size = TreeSize();
  EXPECT_STATUS(ReadContract(h_.Sign("get-contract", {{"contract_id", "c-0001"}}, cp_.key)),
                PERMISSION_DENIED, "party cp was removed by the operator");
  EXPECT_STATUS(ReadJob(job, h_.Sign("get-job", {{"job_id", job}}, cp_.key)), PERMISSION_DENIED,
                "party cp was removed by the operator");
  EXPECT_STATUS(ReadBundle(job, h_.Sign("export-bundle", {{"job_id", job}}, cp_.key)),
                PERMISSION_DENIED, "party cp was removed by the operator");
  EXPECT_STATUS(
      ReadEntries(0, size, h_.Sign("get-entries", {{"start", 0}, {"end", size}}, cp_.key)),
      PERMISSION_DENIED, "party cp was removed by the operator at 2025-07-10T00:00:00Z");
  pb::PollReply poll;
  EXPECT_STATUS(Poll(cp_, "w1", "sim", &poll), PERMISSION_DENIED,
                "party cp was removed by the operator at 2025-07-10T00:00:00Z");
  grpc::ClientContext ctx;
  pb::ContractReply revoked;
  EXPECT_STATUS(
      h_.contracts->RevokeContract(
          &ctx,
          h_.Signed("revoke-contract", {{"contract_id", "c-0001"}, {"reason", "leaving"}}, cp_.key),
          &revoked),
      PERMISSION_DENIED, "party cp was removed by the operator at 2025-07-10T00:00:00Z");
  // The other parties read on; the removal is the last entry, nothing after it.
  pb::JobStatus s;
  EXPECT_TRUE(ReadJob(job, h_.Sign("get-job", {{"job_id", job}}, mo_.key), &s).ok());
  EXPECT_EQ(LogKinds().back(), "party.removed");
  EXPECT_EQ(TreeSize(), size);
}

class OpenRegistrationScopeTest : public ScopeTest {
 protected:
  static CoordinatorOptions Open() {
    CoordinatorOptions o = testing::Harness::Defaults();
    o.open_registration = true;
    return o;
  }
  OpenRegistrationScopeTest() : ScopeTest(Open()) {}

  grpc::Status SelfRegister(const Party& p) {
    grpc::ClientContext ctx;
    pb::RegisterPartyReply reply;
    return h_.registry->RegisterParty(
        &ctx, h_.Signed("register-party", {{"card", p.card.ToJsonValue()}}, p.key), &reply);
  }
};

// Tried: with registration open to anyone, an outsider registered "st-marys" first and the real
// hospital got ALREADY_EXISTS forever. What happens now, documented: open registration is an
// explicit choice of the operator (off by default, announced at start); under it a name goes to
// whoever registers it first, and it stays bound to that key for good, removed or not (the log's
// entries name the party by name and key, and a name that changed hands would make the old entries
// read as the new party's). The real party registers under another name: contracts pin parties by
// card (key), so a squatted name gains its holder nothing.
TEST_F(OpenRegistrationScopeTest, ANameSquattedUnderOpenRegistrationStaysTheSquattersForGood) {
  Party squatter = testing::MakeParty("st-marys", Role::kDataOwner);
  Party hospital = testing::MakeParty("st-marys", Role::kDataOwner);
  ASSERT_TRUE(SelfRegister(squatter).ok());
  EXPECT_STATUS(
      SelfRegister(hospital), ALREADY_EXISTS,
      "party st-marys is already registered with another card (key " +
          squatter.card.fingerprint() + ")");
  EXPECT_STATUS(Register(hospital), ALREADY_EXISTS,
                "party st-marys is already registered with another card (key " +
                    squatter.card.fingerprint() + ")");
  // The operator removes the squatter: its requests are refused from then on, and the name stays
  // bound to its key.
  ASSERT_TRUE(RemoveParty(h_.store(), "st-marys", h_.clock.Now()).ok());
  EXPECT_STATUS(Register(hospital), ALREADY_EXISTS,
                "party st-marys is already registered (and removed) with another card (key " +
                    squatter.card.fingerprint() + ")");
  EXPECT_STATUS(SelfRegister(hospital), ALREADY_EXISTS,
                "party st-marys is already registered with another card (key " +
                    squatter.card.fingerprint() + ")");
  EXPECT_STATUS(Upload(squatter, "dataset", "records", data_ct_), PERMISSION_DENIED,
                "party st-marys was removed by the operator at 2025-07-10T00:00:00Z");
  // The hospital under another name; a contract naming the squatter's card does not activate.
  Party renamed{*crypto::Ed25519PrivateKey::FromPem(hospital.key.ToPem()),
                *crypto::age::X25519Identity::FromSecret(hospital.identity.secret().Clone()),
                hospital.card};
  renamed.card.name = "st-marys-hospital";
  ASSERT_TRUE(SelfRegister(renamed).ok());
  for (const Party* p : {&mo_, &cp_}) ASSERT_TRUE(SelfRegister(*p).ok());
  ASSERT_TRUE(Upload(mo_, "model", "tiny-model", model_ct_).ok());
  ASSERT_TRUE(Upload(renamed, "dataset", "claims", data_ct_).ok());
  contracts::Contract c = MakeContract();
  c.data_owner = squatter.card;
  EXPECT_STATUS(SubmitContract(SignedContract(c, {&mo_, &squatter, &cp_})), FAILED_PRECONDITION,
                "contract c-0001 cannot be accepted: data_owner \"st-marys\" was removed by the "
                "operator; dataset " +
                    c.dataset.id + " was registered by st-marys-hospital, not by st-marys");
  c.data_owner = renamed.card;
  ASSERT_TRUE(SubmitContract(SignedContract(c, {&mo_, &renamed, &cp_})).ok());
}

// ---- 2. Resources are bounded ----

class LimitsTest : public ScopeTest {
 protected:
  static CoordinatorOptions Limits() {
    CoordinatorOptions o = testing::Harness::Defaults();
    o.max_artifact_bytes = 300000;
    o.party_quota_bytes = 450000;
    o.max_watches_per_party = 1;
    o.max_workers_per_provider = 1;
    return o;
  }
  LimitsTest() : ScopeTest(Limits()) {}
};

TEST_F(LimitsTest, ArtifactSizeAndQuotaAreRefusedBeforeAnyByteIsStored) {
  RegisterAll();  // mo holds the model (about 200 kB)
  const std::vector<std::string> stored = FilesUnder(h_.dir.File("blobs"));
  const uint64_t held = model_ct_.size();
  ASSERT_GT(held, 150000u);
  ASSERT_LT(held, 300000u);
  // Larger than any artifact this coordinator takes: refused at the registration, before a chunk.
  std::string big = Encrypt(std::string(310000, 'b'), {mo_.card.age_recipient});
  auto refused = h_.coordinator().BeginArtifactUpload(h_.Sign(
      "register-artifact",
      {{"kind", "model"}, {"name", "big"}, {"id", crypto::Sha256Id(big)}, {"size", big.size()}},
      mo_.key));
  EXPECT_EQ(refused.status(),
            absl::ResourceExhaustedError(absl::StrCat(
                "artifact of ", big.size(),
                " bytes is larger than this coordinator accepts (300000 bytes; the operator sets "
                "it: coordinator serve --max-artifact-size)")));
  EXPECT_STATUS(Upload(mo_, "model", "big", big), RESOURCE_EXHAUSTED,
                std::string(refused.status().message()));
  // One that fits, but not in the party's quota with what it holds.
  std::string second = Encrypt(std::string(260000, 's'), {mo_.card.age_recipient});
  EXPECT_STATUS(Upload(mo_, "model", "second", second), RESOURCE_EXHAUSTED,
                absl::StrCat("party mo holds ", held, " bytes here; ", second.size(),
                             " more would pass its quota of 450000 bytes (the operator sets it: "
                             "coordinator serve --party-quota)"));
  // An upload that declares less than it sends is cut at the declared size.
  std::string small = Encrypt("w", {mo_.card.age_recipient});
  EXPECT_STATUS(Upload(mo_, "model", "small", big, crypto::Sha256Id(big), 1000), INVALID_ARGUMENT,
                "upload is longer than the declared size of 1000 bytes");
  // Nothing of it was stored, registered or logged; the honest upload that fits goes through.
  EXPECT_EQ(FilesUnder(h_.dir.File("blobs")), stored);
  EXPECT_EQ(h_.store().ListArtifacts()->size(), 2u);
  EXPECT_EQ(LogKinds().back(), "artifact.registered");
  EXPECT_TRUE(Upload(mo_, "model", "small", small).ok());
}

// An artifact also encrypted to someone else (the coordinator, say) is refused from the header in
// its first chunk: the upload object refuses that chunk, and nothing was written.
TEST_F(LimitsTest, AHeaderForAnyoneButTheOwnerAloneIsRefusedAtTheFirstChunk) {
  RegisterAll();
  const std::vector<std::string> stored = FilesUnder(h_.dir.File("blobs"));
  Party broker = testing::MakeParty("broker", Role::kModelOwner);
  std::string two = Encrypt(std::string(100000, 'w'),
                            {mo_.card.age_recipient, broker.card.age_recipient});
  std::string one = Encrypt(std::string(100000, 'w'), {mo_.card.age_recipient});
  for (const std::string* ct : {&two, &one}) {
    const bool honest = ct == &one;
    SCOPED_TRACE(honest ? "one stanza" : "two stanzas");
    auto up = h_.coordinator().BeginArtifactUpload(h_.Sign("register-artifact",
                                                           {{"kind", "model"},
                                                            {"name", "m2"},
                                                            {"id", crypto::Sha256Id(*ct)},
                                                            {"size", ct->size()}},
                                                           mo_.key));
    ASSERT_TRUE(up.ok()) << up.status();
    absl::Status first = (*up)->Write(absl::string_view(*ct).substr(0, 1000));
    if (!honest) {
      EXPECT_EQ(first, absl::FailedPreconditionError(
                           "artifact's age header has 2 stanza(s) (X25519, X25519); an artifact "
                           "is encrypted to its owner's release recipient alone: exactly one "
                           "X25519 stanza (the coordinator holds no key and accepts nothing also "
                           "encrypted to another recipient)"));
      // It stays refused; nothing is committed.
      EXPECT_EQ((*up)->Write(absl::string_view(*ct).substr(1000)), first);
      EXPECT_EQ((*up)->Finish().status(), first);
      up->reset();
      EXPECT_EQ(FilesUnder(h_.dir.File("blobs")), stored);
      continue;
    }
    ASSERT_TRUE(first.ok()) << first;
    ASSERT_TRUE((*up)->Write(absl::string_view(*ct).substr(1000)).ok());
    ASSERT_TRUE((*up)->Finish().ok());
  }
  EXPECT_FALSE(*h_.blobs().Contains(crypto::Sha256Id(two)));
  EXPECT_TRUE(*h_.blobs().Contains(crypto::Sha256Id(one)));
}

TEST_F(LimitsTest, WatchesPerPartyAreBounded) {
  contracts::Contract c = AuditedContract();
  SetUpContract(&c);
  const std::string job = NewJob();
  auto start_watch = [&](const Party& p, grpc::ClientContext* ctx, pb::JobStatus* first) {
    pb::GetJobRequest req;
    req.set_id(job);
    *req.mutable_request() = h_.Signed("get-job", {{"job_id", job}}, p.key);
    auto r = h_.jobs->WatchJob(ctx, req);
    bool read = r->Read(first);
    return std::make_pair(std::move(r), read);
  };
  grpc::ClientContext c1;
  pb::JobStatus s;
  auto [open, read] = start_watch(mo_, &c1, &s);
  ASSERT_TRUE(read);
  // A second stream by the same party is refused while the first is open.
  {
    grpc::ClientContext c2;
    auto [second, read2] = start_watch(mo_, &c2, &s);
    EXPECT_FALSE(read2);
    EXPECT_STATUS(second->Finish(), RESOURCE_EXHAUSTED,
                  "key " + mo_.card.fingerprint() +
                      " already watches 1 jobs, the most one party may watch at once (1); close "
                      "one first");
  }
  // Another party watches on.
  {
    grpc::ClientContext c3;
    auto [other, read3] = start_watch(aud_, &c3, &s);
    EXPECT_TRUE(read3);
    c3.TryCancel();
    other->Finish();
  }
  // When the first stream closes, its slot is free again (the server notices within a second).
  c1.TryCancel();
  open->Finish();
  bool again = false;
  for (int i = 0; i < 50 && !again; ++i) {
    grpc::ClientContext c4;
    auto [next, read4] = start_watch(mo_, &c4, &s);
    again = read4;
    c4.TryCancel();
    next->Finish();
    if (!again) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(again);
}

TEST_F(LimitsTest, WorkersPerProviderAreBounded) {
  SetUpContract();
  pb::PollReply reply;
  ASSERT_TRUE(Poll(cp_, "w1", "sim", &reply).ok());
  EXPECT_STATUS(Poll(cp_, "w2", "sim", &reply), RESOURCE_EXHAUSTED,
                "compute provider cp has 1 workers, the most this coordinator takes (1); reuse a "
                "worker id");
  // The known worker polls on and is assigned the job; another provider has its own bound.
  NewJob();
  ASSERT_TRUE(Poll(cp_, "w1", "sim", &reply).ok());
  EXPECT_TRUE(reply.has_job());
  Party cp2 = testing::MakeParty("cp2", Role::kComputeProvider);
  ASSERT_TRUE(Register(cp2).ok());
  EXPECT_TRUE(Poll(cp2, "w9", "sim", &reply).ok());
  std::vector<std::string> workers;
  auto listed = h_.store().ListWorkers();
  ASSERT_TRUE(listed.ok());
  for (const storage::Worker& w : *listed) workers.push_back(w.id);
  EXPECT_EQ(workers, (std::vector<std::string>{"w1", "w9"}));
}

// ---- 2. A request names its coordinator ----

// A request signed for one coordinator is refused by another that knows the same party: neither a
// write nor a read can be replayed across coordinators.
TEST_F(ScopeTest, ARequestSignedForOneCoordinatorIsRefusedByAnother) {
  RegisterAll();
  testing::Harness other;
  ASSERT_TRUE(AddParty(other.store(), mo_.card, other.clock.Now()).ok());
  const uint64_t other_size = other.store().log().LatestCheckpoint()->size;
  const std::string for_this = h_.Sign("get-entries", {{"start", 0}, {"end", 1}}, mo_.key);
  std::vector<std::string> entries, leaves;
  EXPECT_EQ(other.coordinator().GetEntries(for_this, 0, 1, &entries, &leaves),
            absl::PermissionDeniedError("request is addressed to coordinator " + h_.fingerprint() +
                                        ", not to this one (" + other.fingerprint() + ")"));
  EXPECT_TRUE(entries.empty());
  EXPECT_TRUE(h_.coordinator().GetEntries(for_this, 0, 1, &entries, &leaves).ok());
  std::string ct = Encrypt("weights v2", {mo_.card.age_recipient});
  const std::string upload = h_.Sign(
      "register-artifact",
      {{"kind", "model"}, {"name", "m2"}, {"id", crypto::Sha256Id(ct)}, {"size", ct.size()}},
      mo_.key);
  EXPECT_EQ(other.coordinator().BeginArtifactUpload(upload).status(),
            absl::PermissionDeniedError("request is addressed to coordinator " + h_.fingerprint() +
                                        ", not to this one (" + other.fingerprint() + ")"));
  EXPECT_TRUE(other.store().ListArtifacts()->empty());
  EXPECT_EQ(other.store().log().LatestCheckpoint()->size, other_size);
  auto here = h_.coordinator().BeginArtifactUpload(upload);
  ASSERT_TRUE(here.ok()) << here.status();
}

}  // namespace
}  // namespace triad::coordinator
