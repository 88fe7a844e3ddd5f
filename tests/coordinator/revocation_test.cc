// Issue 12's revocation and lease items through the real RPCs: any one of the three parties revokes
// a contract, before admission or during training; from then on assignment, admission, inputs,
// keys, progress and delivery are refused with the reason, the worker in flight is told to stop at
// its next lease renewal, and the revocation is logged in the contract's chain. A keyholder's
// answer that arrives after the job ended changes nothing. A lease that expires requeues the job,
// and the retried attempt counts as the same job under max_jobs.
#include "absl/strings/str_join.h"
#include "base/json.h"
#include "coordinator/coordinator.h"
#include "tests/coordinator/coordinator_fixture.h"
#include "verify/receipt.h"

namespace triad::coordinator {
namespace {

constexpr char kReason[] = "the data-sharing agreement ended";

class RevocationTest : public CoordinatorTest {
 protected:
  grpc::Status Revoke(const Party& by, const std::string& reason, pb::ContractReply* out = nullptr) {
    grpc::ClientContext ctx;
    pb::ContractReply reply;
    grpc::Status st = h_.contracts->RevokeContract(
        &ctx, h_.Signed("revoke-contract", {{"contract_id", "c-0001"}, {"reason", reason}}, by.key),
        &reply);
    if (out != nullptr) *out = reply;
    return st;
  }

  grpc::Status RenewLease(const std::string& job, const Eph& eph, pb::LeaseReply* out) {
    grpc::ClientContext ctx;
    return h_.workers->RenewLease(&ctx, h_.Signed("renew-lease", {{"job_id", job}}, eph.key), out);
  }

  // One owner's keyholder polls and decides, without answering yet.
  std::vector<keyholder::Answer> Decide(const Party& owner, TestKeyholder& kh) {
    pb::KeyholderPollReply reply;
    grpc::ClientContext ctx;
    grpc::Status st = h_.keyholders->Poll(
        &ctx, h_.Signed("keyholder-poll", {{"known_tree_size", 0}}, owner.key), &reply);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<keyholder::Answer> out;
    for (const pb::ReleaseRequest& r : reply.requests()) {
      auto a = kh.k->Decide(keyholder::ReleaseContextFromProto(r));
      EXPECT_TRUE(a.ok()) << a.status();
      if (a.ok()) out.push_back(*std::move(a));
    }
    return out;
  }

  grpc::Status Answer(const Party& owner, const keyholder::Answer& a) {
    nlohmann::json body = {{"release_id", a.release_id}, {"receipt", a.receipt_json}};
    if (a.release) body["header"] = base::Base64Encode(a.header);
    grpc::ClientContext ctx;
    pb::Ack ack;
    return h_.keyholders->Answer(&ctx, h_.Signed("keyholder-answer", body, owner.key), &ack);
  }

  uint64_t TreeSize() { return h_.store().log().LatestCheckpoint()->size; }

  // The contract.revoked entry's fields.
  nlohmann::json RevokedEntry() {
    auto events = h_.store().ListEvents(0, "", 10000);
    for (const storage::Event& e : *events) {
      if (e.kind == "contract.revoked") return *base::ParseJsonStrict(e.detail_json);
    }
    ADD_FAILURE() << "no contract.revoked entry";
    return nlohmann::json();
  }
};

// Each of the three parties, by its slot.
class RevokeByEachPartyTest : public RevocationTest,
                              public ::testing::WithParamInterface<Role> {
 protected:
  const Party& Revoker() const {
    switch (GetParam()) {
      case Role::kModelOwner:
        return mo_;
      case Role::kDataOwner:
        return do_;
      default:
        return cp_;
    }
  }
  // The coordinator's reason for a contract this party revoked now.
  std::string Problem() const {
    return absl::StrCat("revoked by ", Revoker().card.name, " at 2025-07-10T00:00:00Z: ", kReason);
  }
  std::string Why() const {
    return absl::StrCat("contract c-0001 was revoked by ", Revoker().card.name, ": ", kReason);
  }
};

INSTANTIATE_TEST_SUITE_P(Slots, RevokeByEachPartyTest,
                         ::testing::Values(Role::kModelOwner, Role::kDataOwner,
                                           Role::kComputeProvider),
                         [](const ::testing::TestParamInfo<Role>& p) {
                           return std::string(p.param == Role::kModelOwner  ? "ModelOwner"
                                              : p.param == Role::kDataOwner ? "DataOwner"
                                                                            : "ComputeProvider");
                         });

TEST_P(RevokeByEachPartyTest, BeforeAdmissionNothingMoreIsAssignedAdmittedOrReleased) {
  SetUpContract();
  const std::string first = NewJob();
  const std::string second = NewJob();
  pb::Assignment a = MustPoll("w1");  // one of them (submitted in the same second)
  const std::string assigned = a.job_id();
  const std::string queued = assigned == first ? second : first;
  ASSERT_EQ(GetJob(queued).state(), "queued");

  pb::ContractReply reply;
  ASSERT_TRUE(Revoke(Revoker(), kReason, &reply).ok());
  EXPECT_EQ(reply.state(), "revoked");
  EXPECT_EQ(absl::StrJoin(reply.reasons(), "; "), Why());
  // Logged, with who and why, in the contract's own chain; its jobs fail with the reason.
  nlohmann::json revoked = RevokedEntry();
  EXPECT_EQ(revoked["party"], Revoker().card.name);
  EXPECT_EQ(revoked["key_id"], Revoker().card.fingerprint());
  EXPECT_EQ(revoked["reason"], kReason);
  EXPECT_EQ(revoked["slot"], std::string(contracts::SlotName(GetParam())));
  EXPECT_FALSE(revoked.value("prev", "").empty());
  std::vector<std::string> kinds = LogKinds();
  EXPECT_EQ(absl::StrJoin(std::vector<std::string>(kinds.end() - 3, kinds.end()), " "),
            "contract.revoked job.failed job.failed");
  for (const std::string& job : {assigned, queued}) {
    pb::JobStatus s = GetJob(job);
    EXPECT_EQ(s.state(), "failed");
    EXPECT_EQ(s.reason(), Why());
  }
  const uint64_t size = TreeSize();

  // The worker that was assigned the job cannot be admitted; no worker is assigned anything; no
  // new job is taken; the keyholders are asked nothing.
  Eph eph;
  pb::AttestReply attest;
  EXPECT_STATUS(Attest(a, "w1", eph, &attest), FAILED_PRECONDITION,
                "contract c-0001 is not active: " + Problem());
  EXPECT_TRUE(h_.store().ListAdmissions(assigned)->empty());
  pb::PollReply poll;
  ASSERT_TRUE(Poll(cp_, "w2", "sim", &poll).ok());
  EXPECT_FALSE(poll.has_job());
  EXPECT_STATUS(SubmitJob(do_, "c-0001"), FAILED_PRECONDITION,
                "contract c-0001 is not active: " + Problem());
  EXPECT_TRUE(ServeKeyholders().empty());
  EXPECT_TRUE(h_.store().ListKeyReleases(assigned)->empty());
  // A second revocation, by anyone, changes nothing.
  EXPECT_STATUS(Revoke(mo_, "again"), ALREADY_EXISTS,
                "contract c-0001 was already revoked at 2025-07-10T00:00:00Z by " +
                    Revoker().card.name);
  EXPECT_EQ(TreeSize(), size);

  // The contract reads as revoked, with the reason.
  grpc::ClientContext ctx;
  pb::GetContractRequest get;
  get.set_id("c-0001");
  *get.mutable_request() = h_.Signed("get-contract", {{"contract_id", "c-0001"}}, mo_.key);
  pb::GetContractReply got;
  ASSERT_TRUE(h_.contracts->GetContract(&ctx, get, &got).ok());
  EXPECT_EQ(got.status().state(), "revoked");
  EXPECT_EQ(absl::StrJoin(got.status().reasons(), "; "), Problem());
}

TEST_P(RevokeByEachPartyTest, DuringTrainingTheWorkerIsToldToStopAndServedNothingMore) {
  SetUpContract();
  const std::string job = NewJob();
  Eph eph;
  auto [a, admitted] = Admit("w1", eph);
  ASSERT_EQ(Keys(job, eph).size(), 2u);
  std::string got;
  ASSERT_TRUE(Download(job, crypto::Sha256Id(model_ct_), eph.key, &got).ok());
  ASSERT_TRUE(Progress(job, eph.key, 3, 10).ok());
  // While the contract holds, the lease is renewed for its key_lease_seconds.
  pb::LeaseReply lease;
  ASSERT_TRUE(RenewLease(job, eph, &lease).ok());
  EXPECT_FALSE(lease.stop());
  EXPECT_EQ(lease.expires(), "2025-07-10T00:05:00Z");

  ASSERT_TRUE(Revoke(Revoker(), kReason).ok());
  EXPECT_EQ(GetJob(job).state(), "failed");
  EXPECT_EQ(GetJob(job).reason(), Why());
  const uint64_t size = TreeSize();

  // The next renewal tells the worker to stop, with the reason; it gets no new expiry.
  ASSERT_TRUE(RenewLease(job, eph, &lease).ok());
  EXPECT_TRUE(lease.stop());
  EXPECT_EQ(lease.reason(), "job " + job + " is failed in attempt 1: " + Why());
  EXPECT_EQ(lease.expires(), "");
  // Nothing more is served to it or taken from it.
  pb::KeysReply keys;
  ASSERT_TRUE(AwaitKeys(job, eph, &keys).ok());
  EXPECT_TRUE(keys.refused());
  EXPECT_EQ(keys.headers_size(), 0);
  EXPECT_EQ(absl::StrJoin(keys.reasons(), "; "),
            "job " + job + " is failed in attempt 1; attempt 1 has ended: " + Why());
  got.clear();
  EXPECT_STATUS(Download(job, crypto::Sha256Id(data_ct_), eph.key, &got), FAILED_PRECONDITION,
                "job " + job + " is failed; inputs are served only to its admitted worker");
  EXPECT_EQ(got, "");
  EXPECT_STATUS(Progress(job, eph.key, 4, 10), FAILED_PRECONDITION,
                "job " + job + " is failed; progress is reported only while it runs");
  std::string adapter_ct = Encrypt("adapter", {mo_.card.age_recipient, do_.card.age_recipient});
  EXPECT_STATUS(Deliver(job, eph.key, Record(job, adapter_ct, eph, admitted), adapter_ct),
                FAILED_PRECONDITION,
                "job " + job + " is failed; only its running attempt delivers an output");
  EXPECT_FALSE(*h_.blobs().Contains(crypto::Sha256Id(adapter_ct)));
  EXPECT_EQ(h_.store().ListKeyReleases(job)->size(), 2u);  // the two from before, no more
  EXPECT_EQ(TreeSize(), size);
  std::vector<std::string> kinds = LogKinds();
  EXPECT_EQ(absl::StrJoin(std::vector<std::string>(kinds.end() - 2, kinds.end()), " "),
            "contract.revoked job.failed");
}

TEST_F(RevocationTest, OnlyAPartyOfTheContractRevokesIt) {
  SetUpContract();
  const std::string job = NewJob();
  const uint64_t size = TreeSize();
  EXPECT_STATUS(Revoke(eve_, kReason), PERMISSION_DENIED,
                "party eve is not a party of contract c-0001; only its model owner, data owner or "
                "compute provider revokes it");
  Party stranger = testing::MakeParty("stranger", Role::kDataOwner);
  EXPECT_STATUS(
      Revoke(stranger, kReason), PERMISSION_DENIED,
      "request is signed by key " + stranger.card.fingerprint() +
          ", which is not a registered party's; ask the coordinator's operator to add the party "
          "(triad coordinator parties add CARD)");
  EXPECT_STATUS(Revoke(do_, "bad\nreason"), INVALID_ARGUMENT,
                "request body: reason must be 1 to 1024 bytes without control characters");
  // A revocation signed for another coordinator, and a replayed one.
  grpc::ClientContext c1;
  pb::ContractReply reply;
  pb::SignedRequest elsewhere;
  elsewhere.set_envelope_json(SignRequest("revoke-contract",
                                          {{"contract_id", "c-0001"}, {"reason", kReason}},
                                          do_.key, h_.clock.Now(), "another-coordinator")
                                  .ToJson());
  EXPECT_STATUS(h_.contracts->RevokeContract(&c1, elsewhere, &reply), PERMISSION_DENIED,
                "request is addressed to coordinator another-coordinator, not to this one (" +
                    h_.fingerprint() + ")");
  EXPECT_EQ(TreeSize(), size);
  EXPECT_EQ(GetJob(job).state(), "queued");
  pb::SignedRequest once =
      h_.Signed("revoke-contract", {{"contract_id", "c-0001"}, {"reason", kReason}}, do_.key);
  grpc::ClientContext c2, c3;
  ASSERT_TRUE(h_.contracts->RevokeContract(&c2, once, &reply).ok());
  EXPECT_EQ(h_.contracts->RevokeContract(&c3, once, &reply).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

// A keyholder that decided before the revocation and answers after it: its release is not
// recorded or relayed (the job ended), and its refusal does not extend the job's history past the
// terminal entry. Either way the log does not move, and the job's bundle still verifies its chain.
TEST_F(RevocationTest, AKeyholdersAnswerAfterTheJobEndedChangesNothing) {
  SetUpContract();
  const std::string job = NewJob();
  Eph eph;
  Admit("w1", eph);
  // The model owner's keyholder decides to release; the data owner's refuses (it revoked the
  // contract on its own side first, with `triad keyholder revoke`).
  ASSERT_TRUE(do_keyholder_.journal->Revoke("c-0001", kReason, h_.clock.Now()).ok());
  std::vector<keyholder::Answer> mo_answers = Decide(mo_, mo_keyholder_);
  std::vector<keyholder::Answer> do_answers = Decide(do_, do_keyholder_);
  ASSERT_EQ(mo_answers.size(), 1u);
  ASSERT_EQ(do_answers.size(), 1u);
  ASSERT_TRUE(mo_answers[0].release);
  ASSERT_FALSE(do_answers[0].release);
  // Before either answer lands, the data owner revokes the contract at the coordinator too.
  ASSERT_TRUE(Revoke(do_, kReason).ok());
  const uint64_t size = TreeSize();
  // The job's end cancelled what its keyholders had not answered.
  EXPECT_STATUS(Answer(mo_, mo_answers[0]), FAILED_PRECONDITION,
                "release " + mo_answers[0].release_id + " is cancelled; it takes no other answer");
  EXPECT_STATUS(Answer(do_, do_answers[0]), FAILED_PRECONDITION,
                "release " + do_answers[0].release_id + " is cancelled; it takes no other answer");
  EXPECT_EQ(TreeSize(), size);
  EXPECT_TRUE(h_.store().ListKeyReleases(job)->empty());
  pb::KeysReply keys;
  ASSERT_TRUE(AwaitKeys(job, eph, &keys).ok());
  EXPECT_FALSE(keys.ready());
  EXPECT_EQ(keys.headers_size(), 0);
  // The job's history ends at its terminal entry.
  EXPECT_EQ(LogKinds().back(), "job.failed");
  pb::ExportReply exported;
  ASSERT_TRUE(Export(job, do_, &exported).ok());
  attestation::TrustAnchors anchors;
  anchors.sim_keys.push_back(h_.sim_key.public_key());
  verify::AuditReport r = verify::VerifyBundle(exported.bundle_json(), h_.card(), anchors);
  for (const verify::AuditCheck& c : r.checks) {
    if (c.name == "job history" || c.name == "contract history" || c.name == "key releases" ||
        c.name == "key refusals") {
      EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
    }
  }
}

// Keyholders are served release requests oldest first, at most 16 per poll. Requests of attempts
// that ended before their owner answered (the worker went away, the job was requeued) must not
// crowd out the request of the attempt that waits now.
TEST_F(RevocationTest, RequestsOfEndedAttemptsDoNotStarveTheCurrentOne) {
  SetUpContract();
  const std::string job = NewJob();
  // Twenty attempts admitted and abandoned before any keyholder answered.
  for (int i = 0; i < 20; ++i) {
    Eph gone;
    Admit("w1", gone);  // polling again requeues the attempt the worker held
  }
  Eph eph;
  Admit("w1", eph);
  pb::JobStatus s = GetJob(job);
  EXPECT_EQ(s.attempt(), 21u);
  EXPECT_EQ(Keys(job, eph).size(), 2u);
}

// The lease: a worker that stops renewing has its job requeued at the lease's end; the old
// attempt's keys are told to stop; the retried attempt gets the keys again under the same job, so
// a contract with max_jobs 1 still completes it and takes no second job.
TEST_F(RevocationTest, AnExpiredLeaseRequeuesTheJobAndARetryCountsOnceUnderMaxJobs) {
  contracts::Contract c = MakeContract();
  c.terms.max_jobs = 1;
  SetUpContract(&c);
  const std::string job = NewJob();
  EXPECT_STATUS(SubmitJob(do_, "c-0001"), FAILED_PRECONDITION,
                "contract c-0001 allows 1 job(s) (terms.max_jobs) and has 1; a new job needs a "
                "new contract");
  Eph first;
  Admit("w1", first);
  ASSERT_EQ(Keys(job, first).size(), 2u);
  ASSERT_TRUE(Progress(job, first.key, 2, 10).ok());
  // Silence for the whole lease: the sweep requeues the job.
  h_.clock.Advance(absl::Minutes(10));
  ASSERT_EQ(*h_.coordinator().Sweep(), 1);
  pb::JobStatus s = GetJob(job);
  EXPECT_EQ(s.state(), "queued");
  EXPECT_EQ(s.reason(), "no word from worker w1 for 10m (lease expired)");
  // The old attempt, if it comes back, is told to stop and is served nothing.
  pb::LeaseReply lease;
  ASSERT_TRUE(RenewLease(job, first, &lease).ok());
  EXPECT_TRUE(lease.stop());
  EXPECT_EQ(lease.reason(), "job " + job + " is queued in attempt 1");
  std::string got;
  EXPECT_STATUS(Download(job, crypto::Sha256Id(data_ct_), first.key, &got), FAILED_PRECONDITION,
                "job " + job + " is queued; inputs are served only to its admitted worker");
  // Still one job under max_jobs 1.
  EXPECT_STATUS(SubmitJob(mo_, "c-0001"), FAILED_PRECONDITION,
                "contract c-0001 allows 1 job(s) (terms.max_jobs) and has 1; a new job needs a "
                "new contract");
  // The retry: new keys, released again by both keyholders, who count it as the same job.
  Eph second;
  auto [a2, admitted] = Admit("w2", second);
  EXPECT_EQ(a2.job_id(), job);
  ASSERT_EQ(Keys(job, second).size(), 2u);
  std::string adapter_ct = Encrypt("adapter", {mo_.card.age_recipient, do_.card.age_recipient});
  ASSERT_TRUE(
      Deliver(job, second.key, Record(job, adapter_ct, second, admitted), adapter_ct).ok());
  EXPECT_EQ(GetJob(job).state(), "done");
  EXPECT_EQ(GetJob(job).attempt(), 2u);
  auto releases = h_.store().ListReleaseRequests(job, 0);
  ASSERT_EQ(releases->size(), 4u);
  for (const storage::ReleaseRequest& r : *releases) {
    ASSERT_EQ(r.state, storage::ReleaseState::kReleased) << r.id;
    auto env = crypto::DsseEnvelope::FromJson(r.receipt_json);
    auto receipt = verify::ReleaseReceipt::FromPayload(env->payload);
    ASSERT_TRUE(receipt.ok()) << receipt.status();
    EXPECT_EQ(receipt->job_ordinal, 1u) << r.id;
  }
  // Done, the job still counts: no second job.
  EXPECT_STATUS(SubmitJob(do_, "c-0001"), FAILED_PRECONDITION,
                "contract c-0001 allows 1 job(s) (terms.max_jobs) and has 1; a new job needs a "
                "new contract");
  // The bundle: both attempts' releases within max_jobs.
  pb::ExportReply exported;
  ASSERT_TRUE(Export(job, mo_, &exported).ok());
  attestation::TrustAnchors anchors;
  anchors.sim_keys.push_back(h_.sim_key.public_key());
  verify::AuditReport r = verify::VerifyBundle(exported.bundle_json(), h_.card(), anchors);
  EXPECT_TRUE(r.ok()) << r.ToText();
}

}  // namespace
}  // namespace triad::coordinator
