#include "storage/store.h"

#include <thread>

#include "absl/strings/match.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "tests/storage/storage_testing.h"
#include "tests/testing/testing.h"

namespace triad::storage {
namespace {

using testing::Digest;
using testing::Registry;
using testing::SetUpRegistry;
using testing::StoreFixture;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f_.Open();
    r_ = SetUpRegistry(store(), f_.clock().Now());
  }
  Store& store() { return f_.store(); }
  WriteTxn Begin() {
    auto txn = store().Begin();
    EXPECT_TRUE(txn.ok()) << txn.status();
    return *std::move(txn);
  }
  // A queued job in its own committed transaction.
  Job NewQueuedJob(const std::string& id) {
    WriteTxn txn = Begin();
    auto job = txn.InsertJob({id, r_.contract, "bob", "{\"submit\":1}"});
    EXPECT_TRUE(job.ok()) << job.status();
    EXPECT_TRUE(txn.Commit().ok());
    return *job;
  }
  absl::StatusOr<Job> Move(WriteTxn& txn, const std::string& job, const JobTransition& t) {
    return txn.TransitionJob(job, t);
  }
  // Takes a job from queued to admitted with fresh keys; returns the recipient.
  std::string Admit(WriteTxn& txn, const std::string& job) {
    EXPECT_TRUE(Move(txn, job, JobTransition::Assign(r_.worker)).ok());
    EXPECT_TRUE(Move(txn, job, JobTransition::To(JobState::kAttesting)).ok());
    std::string recipient = "age1" + std::to_string(++keys_made_);
    auto keys = txn.RecordJobKeys({job, 0, r_.worker, recipient, crypto::RandomString(32), {}});
    EXPECT_TRUE(keys.ok()) << keys.status();
    Admission a;
    a.job_id = job;
    a.worker_id = r_.worker;
    a.evidence = "evidence bytes";
    a.evidence_digest = Digest("evidence bytes");
    a.claims_json = "{\"tee\":\"sim\"}";
    a.admitted = true;
    a.reasons_json = "[]";
    a.simulated = true;
    EXPECT_TRUE(txn.RecordAdmission(a).ok());
    auto admitted = Move(txn, job, JobTransition::To(JobState::kAdmitted));
    EXPECT_TRUE(admitted.ok()) << admitted.status();
    return recipient;
  }

  StoreFixture f_;
  Registry r_;
  int keys_made_ = 0;
};

TEST_F(StoreTest, Parties) {
  auto p = store().GetParty("alice");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->role, "model-owner");
  EXPECT_EQ(p->registered_at, f_.clock().Now());
  EXPECT_EQ(store().GetPartyByKeyId(std::string(64, 'b'))->name, "bob");
  EXPECT_EQ(store().GetParty("dave").status().message(), "party dave not found");
  EXPECT_EQ(store().ListParties()->size(), 3u);

  WriteTxn txn = Begin();
  EXPECT_EQ(txn.InsertParty({"alice", "auditor", "new", "{}", "{}", {}}).message(), "party alice already exists");
  EXPECT_EQ(txn.InsertParty({"dave", "auditor", std::string(64, 'a'), "{}", "{}", {}}).message(),
            "key id " + std::string(64, 'a') + " is already registered to party alice");
  EXPECT_EQ(txn.InsertParty({"", "auditor", "k", "{}", "{}", {}}).message(), "party name is empty");
  EXPECT_EQ(txn.InsertParty({std::string(257, 'n'), "auditor", "k", "{}", "{}", {}}).message(),
            "party name is longer than 256 bytes");
  EXPECT_EQ(txn.InsertParty({"da\nve", "auditor", "k", "{}", "{}", {}}).message(),
            "party name contains a control character");
  EXPECT_EQ(txn.InsertParty({"dave", "auditor", "k", "", "{}", {}}).message(), "party card is empty");
  EXPECT_EQ(txn.InsertParty({"dave", "auditor", "k", "{}", std::string(kMaxDocumentBytes + 1, ' '), {}}).message(),
            "party registration envelope is larger than 1048576 bytes");
}

TEST_F(StoreTest, Artifacts) {
  auto a = store().GetArtifact(r_.model);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, ArtifactKind::kModel);
  EXPECT_EQ(a->owner, "alice");
  EXPECT_EQ(a->size, 1000u);

  WriteTxn txn = Begin();
  EXPECT_EQ(txn.InsertArtifact({r_.model, ArtifactKind::kModel, "m", "alice", 1, "{}", {}}).message(),
            "artifact " + r_.model + " already exists");
  EXPECT_EQ(txn.InsertArtifact({"sha256:AB", ArtifactKind::kModel, "m", "alice", 1, "{}", {}}).message(),
            "artifact id is not sha256:<64 lower-case hex digits>");
  EXPECT_EQ(txn.InsertArtifact({Digest("x"), ArtifactKind::kModel, "m", "dave", 1, "{}", {}}).message(),
            "artifact owner dave is not a registered party");
  EXPECT_EQ(txn.InsertArtifact({Digest("x"), ArtifactKind::kDataset, "d", "", 1, "{}", {}}).message(),
            "a dataset artifact needs an owner party");
  EXPECT_EQ(txn.InsertArtifact({Digest("x"), ArtifactKind::kAdapter, "a", "bob", 1, "{}", {}}).message(),
            "an adapter artifact has no owner party");
  EXPECT_TRUE(txn.InsertArtifact({r_.adapter, ArtifactKind::kAdapter, "adapter", "", 5, "{}", {}}).ok());
  EXPECT_EQ(txn.GetArtifact(r_.adapter)->owner, "");
  EXPECT_EQ(txn.ListArtifacts()->size(), 3u);
}

TEST_F(StoreTest, ContractStates) {
  for (ContractState from : {ContractState::kDraft, ContractState::kActive, ContractState::kExpired}) {
    for (ContractState to : {ContractState::kDraft, ContractState::kActive, ContractState::kExpired}) {
      bool legal = (from == ContractState::kDraft && to != ContractState::kDraft) ||
                   (from == ContractState::kActive && to == ContractState::kExpired);
      absl::Status st = CheckContractTransition(from, to);
      EXPECT_EQ(st.ok(), legal) << ContractStateName(from) << " -> " << ContractStateName(to);
      if (!legal) {
        EXPECT_EQ(st.message(), absl::StrCat("illegal contract state transition ", ContractStateName(from), " -> ",
                                             ContractStateName(to)));
      }
    }
  }
  WriteTxn txn = Begin();
  Contract c;
  c.id = "draft-1";
  c.digest = Digest("draft");
  c.envelope_json = "{}";
  c.expires_at = f_.clock().Now() + absl::Hours(1);
  ASSERT_TRUE(txn.InsertContract(c).ok());
  EXPECT_EQ(txn.InsertContract(c).message(), "contract draft-1 already exists");
  c.id = "draft-2";
  EXPECT_EQ(txn.InsertContract(c).message(), "contract draft-1 already has digest " + Digest("draft"));
  EXPECT_EQ(txn.InsertJob({"j", "draft-1", "bob", "{}"}).status().message(), "contract draft-1 is draft, not active");
  EXPECT_EQ(txn.SetContractState("draft-1", ContractState::kActive)->state, ContractState::kActive);
  EXPECT_EQ(txn.SetContractState("draft-1", ContractState::kDraft).status().message(),
            "contract draft-1: illegal contract state transition active -> draft");
  EXPECT_EQ(txn.SetContractState("nope", ContractState::kActive).status().message(), "contract nope not found");
}

TEST_F(StoreTest, JobsNeedAnActiveUnexpiredContractAndAKnownSubmitter) {
  WriteTxn txn = Begin();
  auto job = txn.InsertJob({"j1", r_.contract, "bob", "{}"});
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state, JobState::kQueued);
  EXPECT_EQ(job->attempt, 0);
  EXPECT_EQ(job->created_at, f_.clock().Now());
  EXPECT_EQ(txn.InsertJob({"j1", r_.contract, "bob", "{}"}).status().message(), "job j1 already exists");
  EXPECT_EQ(txn.InsertJob({"j2", "nope", "bob", "{}"}).status().message(), "contract nope not found");
  EXPECT_EQ(txn.InsertJob({"j2", r_.contract, "mallory", "{}"}).status().message(),
            "submitter mallory is not a registered party");
  f_.clock().Advance(absl::Hours(24 * 30));
  EXPECT_EQ(txn.InsertJob({"j2", r_.contract, "bob", "{}"}).status().message(),
            "contract contract-1 expired at 2025-07-15T15:06:40Z");
}

// The state machine, exhaustively: every (from, to) pair is legal exactly when the table in
// records.h says so, with the exact reason otherwise.
TEST(JobStateMachine, EveryPair) {
  const JobState all[] = {JobState::kQueued,  JobState::kAssigned, JobState::kAttesting, JobState::kAdmitted,
                          JobState::kRunning, JobState::kSealing,  JobState::kDone,      JobState::kFailed};
  auto legal = [](JobState from, JobState to) {
    using S = JobState;
    switch (from) {
      case S::kQueued: return to == S::kAssigned || to == S::kFailed;
      case S::kAssigned: return to == S::kAttesting || to == S::kQueued || to == S::kFailed;
      case S::kAttesting: return to == S::kAdmitted || to == S::kQueued || to == S::kFailed;
      case S::kAdmitted: return to == S::kRunning || to == S::kQueued || to == S::kFailed;
      case S::kRunning: return to == S::kSealing || to == S::kQueued || to == S::kFailed;
      case S::kSealing: return to == S::kDone || to == S::kQueued || to == S::kFailed;
      case S::kDone: case S::kFailed: return false;
    }
    return false;
  };
  int legal_count = 0;
  for (JobState from : all) {
    for (JobState to : all) {
      absl::Status st = CheckJobTransition(from, to);
      EXPECT_EQ(st.ok(), legal(from, to)) << JobStateName(from) << " -> " << JobStateName(to);
      legal_count += st.ok();
      if (!st.ok()) {
        EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
        std::string want = absl::StrCat("illegal job state transition ", JobStateName(from), " -> ", JobStateName(to));
        if (IsTerminal(from)) absl::StrAppend(&want, ", ", JobStateName(from), " is final");
        EXPECT_EQ(st.message(), want);
      }
    }
  }
  EXPECT_EQ(legal_count, 17);
  for (JobState s : all) EXPECT_EQ(*ParseJobState(JobStateName(s)), s);
  EXPECT_EQ(ParseJobState("paused").status().message(), "unknown job state \"paused\"");
}

TEST_F(StoreTest, JobLifecycleToDone) {
  NewQueuedJob("j1");
  WriteTxn txn = Begin();
  EXPECT_EQ(Move(txn, "j1", JobTransition::To(JobState::kAssigned)).status().message(), "worker id is empty");
  EXPECT_EQ(Move(txn, "j1", JobTransition::Assign("w-unknown")).status().message(),
            "job j1: worker w-unknown is not registered");
  EXPECT_EQ(Move(txn, "j1", JobTransition::To(JobState::kRunning)).status().message(),
            "job j1: illegal job state transition queued -> running");
  std::string recipient = Admit(txn, "j1");
  Job j = *txn.GetJob("j1");
  EXPECT_EQ(j.state, JobState::kAdmitted);
  EXPECT_EQ(j.attempt, 1);
  EXPECT_EQ(j.worker_id, r_.worker);
  ASSERT_TRUE(txn.RecordKeyRelease("j1", r_.model, recipient).ok());
  ASSERT_TRUE(txn.RecordKeyRelease("j1", r_.dataset, recipient).ok());

  EXPECT_EQ(txn.UpdateJobProgress("j1", {}).status().message(),
            "job j1 is admitted; progress is reported only while running");
  ASSERT_TRUE(Move(txn, "j1", JobTransition::To(JobState::kRunning).From(JobState::kAdmitted).ByWorker(r_.worker)).ok());
  f_.clock().Advance(absl::Seconds(10));
  JobProgress p;
  p.step = 5;
  p.total_steps = 100;
  p.tokens_per_second = 1234.5;
  p.loss = 2.25;
  auto after = txn.UpdateJobProgress("j1", p);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->progress.step, 5);
  EXPECT_EQ(after->progress.total_steps, 100);
  EXPECT_EQ(after->progress.tokens_per_second, 1234.5);
  EXPECT_EQ(after->progress.loss, 2.25);
  EXPECT_EQ(after->progress.updated_at, f_.clock().Now());
  p.loss.reset();
  EXPECT_FALSE(txn.UpdateJobProgress("j1", p)->progress.loss.has_value());

  ASSERT_TRUE(Move(txn, "j1", JobTransition::To(JobState::kSealing)).ok());
  EXPECT_EQ(Move(txn, "j1", JobTransition::To(JobState::kDone)).status().message(),
            "job j1: output artifact \"\" is not a registered adapter");
  EXPECT_EQ(Move(txn, "j1", JobTransition::Done(r_.model)).status().message(),
            "job j1: output artifact \"" + r_.model + "\" is not a registered adapter");
  ASSERT_TRUE(txn.InsertArtifact({r_.adapter, ArtifactKind::kAdapter, "adapter", "", 5, "{}", {}}).ok());
  auto done = Move(txn, "j1", JobTransition::Done(r_.adapter));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->output_artifact, r_.adapter);
  EXPECT_EQ(Move(txn, "j1", JobTransition::Fail("late")).status().message(),
            "job j1: illegal job state transition done -> failed, done is final");
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(store().GetJob("j1")->state, JobState::kDone);
  EXPECT_EQ(store().ListKeyReleases("j1")->size(), 2u);
}

TEST_F(StoreTest, TransitionChecks) {
  NewQueuedJob("j1");
  WriteTxn txn = Begin();
  EXPECT_EQ(Move(txn, "j1", JobTransition::To(JobState::kFailed)).status().message(), "job j1: a failed job needs a failure reason");
  EXPECT_EQ(Move(txn, "j1", JobTransition::Fail(std::string(kMaxReasonBytes + 1, 'r'))).status().message(),
            "job j1: failure reason is longer than 4096 bytes");
  EXPECT_EQ(Move(txn, "j1", [] { auto t = JobTransition::Fail(""); t.worker_id = "w"; return t; }()).status().message(),
            "job j1: worker_id is not used by a transition to failed");
  EXPECT_EQ(Move(txn, "j1", [&] { auto t = JobTransition::Assign(r_.worker); t.failure_reason = "why"; return t; }()).status().message(),
            "job j1: failure_reason is not used by a transition to assigned");
  EXPECT_EQ(Move(txn, "j1", JobTransition::Assign(r_.worker).From(JobState::kAttesting)).status().message(),
            "job j1 is queued, not attesting");
  ASSERT_TRUE(Move(txn, "j1", JobTransition::Assign(r_.worker).From(JobState::kQueued)).ok());
  EXPECT_EQ(Move(txn, "j1", JobTransition::To(JobState::kAttesting).ByWorker("worker-2")).status().message(),
            "job j1 is not assigned to worker worker-2");
  ASSERT_TRUE(Move(txn, "j1", JobTransition::To(JobState::kAttesting).ByWorker(r_.worker)).ok());
  // Admission needs keys and a positive decision for this attempt.
  EXPECT_EQ(Move(txn, "j1", JobTransition::To(JobState::kAdmitted)).status().message(),
            "job j1: attempt 1 has no recorded ephemeral keys");
  ASSERT_TRUE(txn.RecordJobKeys({"j1", 0, r_.worker, "age1k", std::string(32, 'k'), {}}).ok());
  EXPECT_EQ(Move(txn, "j1", JobTransition::To(JobState::kAdmitted)).status().message(),
            "job j1: attempt 1 has no admission decision that admits it");
  Admission reject;
  reject.job_id = "j1";
  reject.worker_id = r_.worker;
  reject.evidence = "e";
  reject.evidence_digest = Digest("e");
  reject.claims_json = "{}";
  reject.admitted = false;
  reject.reasons_json = "[\"measurement not in policy\"]";
  auto recorded = txn.RecordAdmission(reject);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(recorded->attempt, 1);
  EXPECT_GT(recorded->id, 0);
  EXPECT_EQ(Move(txn, "j1", JobTransition::To(JobState::kAdmitted)).status().message(),
            "job j1: attempt 1 has no admission decision that admits it");
  // The rejected worker's job goes back to the queue and gets nothing.
  auto requeued = Move(txn, "j1", JobTransition::To(JobState::kQueued));
  ASSERT_TRUE(requeued.ok());
  EXPECT_EQ(requeued->worker_id, "");
  EXPECT_EQ(txn.RecordKeyRelease("j1", r_.model, "age1k").status().message(),
            "releasing the key of artifact " + r_.model + " for job j1: the job is queued; keys are released only when admitted");
  EXPECT_EQ(txn.ListAdmissions("j1")->size(), 1u);
  auto failed = Move(txn, "j1", JobTransition::Fail("no worker passed the policy"));
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->failure_reason, "no worker passed the policy");
  EXPECT_EQ(Move(txn, "nope", JobTransition::Fail("x")).status().message(), "job nope not found");
}

TEST_F(StoreTest, NoncesAreSingleUseAndExpire) {
  NewQueuedJob("j1");
  WriteTxn txn = Begin();
  EXPECT_EQ(txn.IssueNonce("j1", r_.worker, absl::Minutes(5)).status().message(),
            "job j1 is not assigned to worker worker-1 for attestation");
  ASSERT_TRUE(Move(txn, "j1", JobTransition::Assign(r_.worker)).ok());
  auto n = txn.IssueNonce("j1", r_.worker, absl::Minutes(5));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->value.size(), 32u);
  EXPECT_EQ(n->attempt, 1);
  EXPECT_EQ(n->expires_at - n->issued_at, absl::Minutes(5));
  auto n2 = txn.IssueNonce("j1", r_.worker, absl::Minutes(5));
  EXPECT_NE(n->value, n2->value);
  EXPECT_EQ(txn.IssueNonce("j1", r_.worker, absl::ZeroDuration()).status().message(), "nonce lifetime must be positive");
  ASSERT_TRUE(txn.Commit().ok());

  WriteTxn t2 = Begin();
  EXPECT_EQ(t2.ConsumeNonce("unknown", "j1", r_.worker).message(), "nonce is unknown");
  EXPECT_EQ(t2.ConsumeNonce(n->value, "j2", r_.worker).message(), "nonce was issued for job j1, not j2");
  EXPECT_EQ(t2.ConsumeNonce(n->value, "j1", "worker-2").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(t2.ConsumeNonce(n->value, "j1", "worker-2").message(), "nonce was issued to worker worker-1, not worker-2");
  f_.clock().Advance(absl::Seconds(30));
  ASSERT_TRUE(t2.ConsumeNonce(n->value, "j1", r_.worker).ok());
  absl::Status replay = t2.ConsumeNonce(n->value, "j1", r_.worker);
  EXPECT_EQ(replay.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(replay.message(), "nonce was already used at 2025-06-15T15:07:10Z");
  ASSERT_TRUE(t2.Commit().ok());
  // Still used after commit and in a fresh transaction.
  EXPECT_TRUE(store().GetNonce(n->value)->used_at.has_value());
  WriteTxn t3 = Begin();
  EXPECT_EQ(t3.ConsumeNonce(n->value, "j1", r_.worker).message(), "nonce was already used at 2025-06-15T15:07:10Z");
  // The second nonce expires.
  f_.clock().Advance(absl::Minutes(5));
  absl::Status expired = t3.ConsumeNonce(n2->value, "j1", r_.worker);
  EXPECT_EQ(expired.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(expired.message(), "nonce expired at 2025-06-15T15:11:40Z");
  EXPECT_FALSE(t3.GetNonce(n2->value)->used_at.has_value());
}

TEST_F(StoreTest, NonceOfAnEarlierAttemptIsRefused) {
  NewQueuedJob("j1");
  WriteTxn txn = Begin();
  ASSERT_TRUE(Move(txn, "j1", JobTransition::Assign(r_.worker)).ok());
  auto old = txn.IssueNonce("j1", r_.worker, absl::Minutes(5));
  ASSERT_TRUE(Move(txn, "j1", JobTransition::To(JobState::kQueued)).ok());
  EXPECT_EQ(txn.ConsumeNonce(old->value, "j1", r_.worker).message(),
            "job j1 is queued and no longer attesting with worker worker-1");
  ASSERT_TRUE(Move(txn, "j1", JobTransition::Assign(r_.worker)).ok());
  absl::Status st = txn.ConsumeNonce(old->value, "j1", r_.worker);
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(st.message(), "nonce was issued for attempt 1 of job j1, which is at attempt 2");
}

TEST_F(StoreTest, KeysAreReleasedOnceToAnEphemeralKeyAndOnlyAfterAdmission) {
  NewQueuedJob("j1");
  WriteTxn txn = Begin();
  std::string recipient = Admit(txn, "j1");
  EXPECT_EQ(txn.RecordKeyRelease("j1", r_.model, "age1other").status().message(),
            "releasing the key of artifact " + r_.model + " for job j1: age1other is not the attested ephemeral recipient of attempt 1");
  EXPECT_EQ(txn.RecordKeyRelease("j1", Digest("unknown"), recipient).status().message(),
            "releasing the key of artifact " + Digest("unknown") + " for job j1: the artifact is not registered");
  auto first = txn.RecordKeyRelease("j1", r_.model, recipient);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->recipient, recipient);
  auto again = txn.RecordKeyRelease("j1", r_.model, recipient);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "key of artifact " + r_.model + " was already released to recipient " + recipient);
  ASSERT_TRUE(txn.Commit().ok());

  // A retry after a restart: the job is requeued and admitted again with new keys; the old
  // recipient can never be used again, the new one gets each key once.
  WriteTxn t2 = Begin();
  ASSERT_TRUE(Move(t2, "j1", JobTransition::To(JobState::kQueued)).ok());
  ASSERT_TRUE(Move(t2, "j1", JobTransition::Assign(r_.worker)).ok());
  EXPECT_EQ(t2.RecordJobKeys({"j1", 0, r_.worker, recipient, crypto::RandomString(32), {}}).status().message(),
            "ephemeral keys were already used for job j1; a worker makes new ones per attempt");
  ASSERT_TRUE(Move(t2, "j1", JobTransition::To(JobState::kQueued)).ok());
  std::string second = Admit(t2, "j1");
  EXPECT_NE(second, recipient);
  EXPECT_EQ(t2.GetJob("j1")->attempt, 3);
  EXPECT_EQ(t2.RecordKeyRelease("j1", r_.model, recipient).status().message(),
            "releasing the key of artifact " + r_.model + " for job j1: " + recipient +
                " is not the attested ephemeral recipient of attempt 3");
  EXPECT_TRUE(t2.RecordKeyRelease("j1", r_.model, second).ok());
  EXPECT_EQ(t2.RecordKeyRelease("j1", r_.model, second).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(t2.RecordJobKeys({"j1", 0, r_.worker, "age1fresh", crypto::RandomString(32), {}}).status().message(),
            "job j1 is not assigned to worker worker-1 for attestation");
  ASSERT_TRUE(t2.Commit().ok());
  EXPECT_EQ(store().ListKeyReleases("j1")->size(), 2u);
  EXPECT_EQ(store().GetJobKeys("j1", 1)->age_recipient, recipient);
  EXPECT_EQ(store().GetJobKeys("j1", 2).status().message(), "job j1 has no keys for attempt 2");
}

// Release requests to the owners' keyholders: asked for an admitted attempt only, answered once,
// a release recorded as the key release of that attempt's recipient; requeueing cancels what is
// still pending.
TEST_F(StoreTest, ReleaseRequestsAreAskedForAnAdmittedAttemptAndAnsweredOnce) {
  NewQueuedJob("j1");
  const std::string id = "j1/1/" + r_.model;
  ReleaseRequest req{id, "j1", 1, r_.model, "alice"};
  {
    WriteTxn txn = Begin();
    EXPECT_EQ(txn.InsertReleaseRequest(req).message(),
              "release " + id +
                  ": job j1 is queued in attempt 0; keys are asked for an admitted attempt only");
  }
  WriteTxn txn = Begin();
  std::string recipient = Admit(txn, "j1");
  ASSERT_TRUE(txn.InsertReleaseRequest(req).ok());
  EXPECT_EQ(txn.InsertReleaseRequest(req).code(), absl::StatusCode::kAlreadyExists);
  ReleaseRequest data_req{"j1/1/" + r_.dataset, "j1", 1, r_.dataset, "bob"};
  ASSERT_TRUE(txn.InsertReleaseRequest(data_req).ok());
  ASSERT_TRUE(txn.Commit().ok());
  ASSERT_EQ(store().ListPendingReleases("alice")->size(), 1u);
  EXPECT_EQ(store().ListPendingReleases("bob")->size(), 1u);
  EXPECT_EQ(store().ListAllPendingReleases()->size(), 2u);

  WriteTxn t2 = Begin();
  ReleaseRequest answer = req;
  answer.state = ReleaseState::kReleased;
  answer.header = "age-encryption.org/v1\n…";
  answer.receipt_json = "{\"receipt\":1}";
  EXPECT_EQ(t2.AnswerReleaseRequest(answer, "age1other").status().message(),
            "releasing the key of artifact " + r_.model +
                " for job j1: age1other is not the attested ephemeral recipient of attempt 1");
  auto released = t2.AnswerReleaseRequest(answer, recipient);
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->state, ReleaseState::kReleased);
  EXPECT_EQ(released->header, answer.header);
  EXPECT_TRUE(released->answered_at.has_value());
  EXPECT_EQ(t2.AnswerReleaseRequest(answer, recipient).status().message(),
            "release " + id + " was already answered (released)");
  ASSERT_TRUE(t2.Commit().ok());
  EXPECT_EQ(store().ListKeyReleases("j1")->size(), 1u);
  EXPECT_TRUE(store().ListPendingReleases("alice")->empty());

  // The attempt ends before bob's keyholder answers: its request is cancelled, not left pending.
  WriteTxn t3 = Begin();
  ASSERT_TRUE(Move(t3, "j1", JobTransition::To(JobState::kQueued)).ok());
  ASSERT_TRUE(t3.Commit().ok());
  EXPECT_EQ(store().GetReleaseRequest(data_req.id)->state, ReleaseState::kCancelled);
  EXPECT_TRUE(store().ListAllPendingReleases()->empty());
  EXPECT_EQ(store().ListReleaseRequests("j1", 1)->size(), 2u);
  EXPECT_EQ(store().ListReleaseRequests("j1", 2)->size(), 0u);
}

TEST_F(StoreTest, RevocationsAndRemovedParties) {
  WriteTxn txn = Begin();
  EXPECT_EQ(txn.InsertRevocation({"no-such", "bob", "why", "{}"}).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(txn.InsertRevocation({r_.contract, "bob", "", "{}"}).message(),
            "revocation reason must be 1 to 4096 bytes");
  ASSERT_TRUE(txn.InsertRevocation({r_.contract, "bob", "consent withdrawn", "{}"}).ok());
  auto again = txn.InsertRevocation({r_.contract, "alice", "me too", "{}"});
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(absl::StrContains(again.message(), " by bob")) << again;
  ASSERT_TRUE(txn.RemoveParty("carol").ok());
  EXPECT_EQ(txn.RemoveParty("carol").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(txn.RemoveParty("nobody").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(store().GetRevocation(r_.contract)->reason, "consent withdrawn");
  EXPECT_TRUE(store().GetParty("carol")->removed_at.has_value());
  EXPECT_FALSE(store().GetParty("alice")->removed_at.has_value());
}

TEST_F(StoreTest, WorkersAndEvents) {
  WriteTxn txn = Begin();
  EXPECT_EQ(txn.UpsertWorker({"w2", "dave", "sim", {}, {}}).status().message(),
            "worker provider dave is not a registered party");
  EXPECT_EQ(txn.UpsertWorker({r_.worker, "alice", "sim", {}, {}}).status().message(),
            "worker worker-1 belongs to provider carol, not alice");
  f_.clock().Advance(absl::Minutes(1));
  auto w = txn.UpsertWorker({r_.worker, "carol", "tdx", {}, {}});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->tee, "tdx");
  EXPECT_EQ(w->last_seen - w->joined_at, absl::Minutes(1));
  f_.clock().Advance(absl::Minutes(1));
  ASSERT_TRUE(txn.TouchWorker(r_.worker).ok());
  EXPECT_EQ(txn.GetWorker(r_.worker)->last_seen, f_.clock().Now());
  EXPECT_EQ(txn.TouchWorker("ghost").message(), "worker ghost not found");

  auto idx = txn.AppendLog("{\"event\":\"worker.joined\"}");
  ASSERT_TRUE(idx.ok());
  auto e1 = txn.AddEvent({"", "worker.joined", "{\"worker\":\"worker-1\"}", *idx});
  ASSERT_TRUE(e1.ok()) << e1.status();
  EXPECT_EQ(txn.AddEvent({"", "x", "{}", *idx + 1}).status().message(),
            "event names log entry 1, beyond the log's 1 entries");
  EXPECT_EQ(txn.AddEvent({"ghost-job", "x", "{}", {}}).status().message(), "event about unknown job ghost-job");
  ASSERT_TRUE(txn.Commit().ok());
  NewQueuedJob("j1");
  WriteTxn t2 = Begin();
  auto e2 = t2.AddEvent({"j1", "job.submitted", "{}", {}});
  ASSERT_TRUE(t2.Commit().ok());
  auto all = store().ListEvents(0);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].log_index, 0u);
  EXPECT_EQ((*all)[0].kind, "worker.joined");
  EXPECT_EQ(store().ListEvents(e1->id)->size(), 1u);
  EXPECT_EQ(store().ListEvents(0, "j1")->at(0).id, e2->id);
  EXPECT_EQ(store().ListEvents(0, "", 1)->size(), 1u);

  // An event and its log entry in one call, committed together with a new checkpoint.
  WriteTxn t3 = Begin();
  auto logged = t3.AddLoggedEvent({"j1", "job.failed", "{\"reason\":\"x\"}", {}}, "{\"entry\":2}");
  ASSERT_TRUE(logged.ok()) << logged.status();
  EXPECT_EQ(logged->log_index, 1u);
  EXPECT_EQ(t3.AddLoggedEvent({"j1", "k", "{}", 0}, "e").status().message(),
            "a logged event gets its log index from its entry");
  auto committed = t3.Commit();
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->checkpoint->size, 2u);
  EXPECT_EQ(*store().log().Entry(1), "{\"entry\":2}");
  EXPECT_EQ(store().ListEvents(e2->id)->at(0).log_index, 1u);
}

TEST_F(StoreTest, RequestIdsAreUsedOnceAndOnlyUnkeptOnesArePruned) {
  absl::Time t0 = f_.clock().Now();
  WriteTxn txn = Begin();
  ASSERT_TRUE(txn.RecordRequest({"r1", "poll", "key-a", t0, {}, ""}).ok());
  ASSERT_TRUE(txn.RecordRequest({"r2", "submit-job", "key-a", t0, {}, "{\"env\":1}"}).ok());
  EXPECT_EQ(txn.RecordRequest({"r1", "poll", "key-b", t0, {}, ""}).message(), "request r1 was already used");
  EXPECT_EQ(txn.RecordRequest({"", "poll", "key-b", t0, {}, ""}).message(), "request id is empty");
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(store().GetRequest("r2")->envelope_json, "{\"env\":1}");
  EXPECT_EQ(store().GetRequest("r1")->envelope_json, "");
  EXPECT_EQ(store().GetRequest("r1")->received_at, t0);
  EXPECT_EQ(store().GetRequest("r3").status().message(), "request r3 not found");

  WriteTxn t2 = Begin();
  EXPECT_EQ(*t2.PruneRequests(t0), 0);  // issued_at is not before t0
  EXPECT_EQ(*t2.PruneRequests(t0 + absl::Seconds(1)), 1);
  ASSERT_TRUE(t2.Commit().ok());
  EXPECT_EQ(store().GetRequest("r1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store().GetRequest("r2").ok());  // kept: it changed state
}

TEST_F(StoreTest, JobRecords) {
  NewQueuedJob("j1");
  WriteTxn txn = Begin();
  EXPECT_EQ(txn.InsertJobRecord({"ghost", "{\"w\":1}", "{\"c\":1}", {}}).message(), "job ghost not found");
  EXPECT_EQ(txn.InsertJobRecord({"j1", "", "{\"c\":1}", {}}).message(), "worker job record envelope is empty");
  ASSERT_TRUE(txn.InsertJobRecord({"j1", "{\"w\":1}", "{\"c\":1}", {}}).ok());
  EXPECT_EQ(txn.InsertJobRecord({"j1", "{\"w\":2}", "{\"c\":2}", {}}).message(), "job j1 already has a record");
  ASSERT_TRUE(txn.Commit().ok());
  auto r = store().GetJobRecord("j1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->worker_envelope_json, "{\"w\":1}");
  EXPECT_EQ(r->coordinator_envelope_json, "{\"c\":1}");
  EXPECT_EQ(store().GetJobRecord("j2").status().message(), "job j2 has no record");
}

TEST_F(StoreTest, UncommittedTransactionLeavesNothing) {
  {
    WriteTxn txn = Begin();
    ASSERT_TRUE(txn.InsertJob({"j1", r_.contract, "bob", "{}"}).ok());
    ASSERT_TRUE(txn.AppendLog("entry").ok());
    // The transaction sees its own writes; the store does not.
    EXPECT_TRUE(txn.GetJob("j1").ok());
    EXPECT_EQ(*txn.log().Size(), 1u);
    EXPECT_EQ(store().GetJob("j1").status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(*store().log().Size(), 0u);
  }
  EXPECT_EQ(store().GetJob("j1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*store().log().Size(), 0u);
  // A failed call does not spoil what came before in the same transaction.
  WriteTxn txn = Begin();
  ASSERT_TRUE(txn.InsertJob({"j1", r_.contract, "bob", "{}"}).ok());
  EXPECT_FALSE(txn.InsertJob({"j1", r_.contract, "bob", "{}"}).ok());
  auto done = txn.Commit();
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->checkpoint.has_value());
  EXPECT_TRUE(store().GetJob("j1").ok());
  EXPECT_EQ(txn.Commit().status().message(), "write transaction is finished");
  EXPECT_EQ(txn.InsertJob({"j3", r_.contract, "bob", "{}"}).status().message(), "write transaction is finished");
}

TEST_F(StoreTest, ReadersRunWhileAWriterHoldsItsTransaction) {
  WriteTxn txn = Begin();
  ASSERT_TRUE(txn.InsertJob({"j1", r_.contract, "bob", "{}"}).ok());
  // Another thread reads the committed state meanwhile, and a second writer waits.
  bool reader_saw_job = true;
  std::thread reader([&] { reader_saw_job = store().GetJob("j1").ok(); });
  reader.join();
  EXPECT_FALSE(reader_saw_job);
  bool second_writer_done = false;
  std::thread writer([&] {
    auto t2 = store().Begin();
    ASSERT_TRUE(t2.ok());
    EXPECT_TRUE(t2->GetJob("j1").ok());  // it started after the first committed
    second_writer_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(second_writer_done);
  ASSERT_TRUE(txn.Commit().ok());
  writer.join();
  EXPECT_TRUE(second_writer_done);
}

}  // namespace
}  // namespace triad::storage
