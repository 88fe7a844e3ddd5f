// The relay between admitted workers and the owners' keyholders (docs/custody.md): keyholders poll
// for release requests and answer with re-wrapped headers and signed receipts; workers await those
// headers and keep their key lease.
#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "coordinator/coordinator.h"
#include "coordinator/internal/common.h"
#include "coordinator/request.h"
#include "crypto/age.h"
#include "crypto/hash.h"
#include "verify/receipt.h"

namespace triad::coordinator {

using internal::AddLog;
using internal::BodyString;
using internal::BodyUint;
using internal::CheckBodyKeys;
using internal::IsOneOf;
using internal::ToStored;
using storage::JobState;
using storage::JobTransition;

namespace {

constexpr size_t kMaxReleasesPerPoll = 16;

std::vector<std::string> ReasonsOf(const std::string& reasons_json) {
  std::vector<std::string> out;
  absl::StatusOr<nlohmann::json> j = base::ParseJsonStrict(reasons_json);
  if (j.ok() && j->is_array()) {
    for (const nlohmann::json& r : *j) {
      if (r.is_string()) out.push_back(r.get<std::string>());
    }
  }
  return out;
}

// Waits in real time, whatever clock decides validity, until `try_once` says it is done.
template <typename F>
absl::Status WaitLoop(const Coordinator& c, absl::Duration wait,
                      const std::function<bool()>& cancelled, F try_once) {
  auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(wait);
  std::shared_ptr<void> held;  // taken before the first wait
  for (;;) {
    uint64_t seen = c.ChangeCount();
    auto left = deadline - std::chrono::steady_clock::now();
    bool last = left <= std::chrono::nanoseconds(0) || (cancelled && cancelled());
    TRIAD_ASSIGN_OR_RETURN(bool done, try_once());
    if (done || last) return absl::OkStatus();
    if (!held) {
      TRIAD_ASSIGN_OR_RETURN(held, c.HoldWaitingCall(/*watch=*/false));
    }
    c.WaitForChange(seen, std::min(absl::FromChrono(left), absl::Seconds(1)));
  }
}

}  // namespace

// ---- Workers: keys and leases ----

absl::StatusOr<KeysResult> Coordinator::AwaitKeys(absl::string_view envelope_json,
                                                  const std::function<bool()>& cancelled) {
  TRIAD_ASSIGN_OR_RETURN(EphemeralRequest req, VerifyEphemeralRequest(envelope_json, "await-keys"));
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(req.body(), {"job_id"}));
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.verified.request.request_id));
  {
    TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
    TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/false)));
    // Waiting for the keyholders is word from the worker: its lease holds meanwhile.
    TRIAD_ASSIGN_OR_RETURN(storage::Job now_job, txn.GetJob(req.job.id));
    if (!now_job.worker_id.empty()) TRIAD_RETURN_IF_ERROR(txn.TouchWorker(now_job.worker_id));
    TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  }
  const int64_t attempt = req.keys.attempt;
  KeysResult result;
  TRIAD_RETURN_IF_ERROR(
      WaitLoop(*this, options_.poll_wait, cancelled, [&]() -> absl::StatusOr<bool> {
        result = KeysResult();
        TRIAD_ASSIGN_OR_RETURN(storage::Job job, store_.GetJob(req.job.id));
        if (job.attempt != attempt ||
            !IsOneOf(job.state, {JobState::kAdmitted, JobState::kRunning})) {
          result.refused = true;
          result.reasons.push_back(
              absl::StrCat("job ", job.id, " is ", storage::JobStateName(job.state), " in attempt ",
                           job.attempt, "; attempt ", attempt, " has ended",
                           job.failure_reason.empty() ? "" : ": ", job.failure_reason));
          return true;
        }
        std::vector<std::string> problems = ContractProblems(*req.contract, clock_.Now());
        if (!problems.empty()) {
          result.refused = true;
          result.reasons.push_back(absl::StrCat("contract ", job.contract_id,
                                                " is not active: ", absl::StrJoin(problems, "; ")));
          return true;
        }
        TRIAD_ASSIGN_OR_RETURN(std::vector<storage::ReleaseRequest> releases,
                               store_.ListReleaseRequests(job.id, attempt));
        size_t released = 0;
        for (const storage::ReleaseRequest& r : releases) {
          if (r.state == storage::ReleaseState::kRefused) {
            result.refused = true;
            for (const std::string& why : ReasonsOf(r.reasons_json)) {
              result.reasons.push_back(
                  absl::StrCat("keyholder of ", r.owner, " refused ", r.artifact_id, ": ", why));
            }
          } else if (r.state == storage::ReleaseState::kReleased) {
            ++released;
            result.headers.push_back({r.artifact_id, r.header, r.receipt_json});
          }
        }
        if (result.refused) {
          result.headers.clear();
          return true;
        }
        result.ready = released == 2 && releases.size() == 2;
        if (!result.ready) result.headers.clear();
        return result.ready;
      }));
  return result;
}

absl::StatusOr<LeaseResult> Coordinator::RenewLease(absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(EphemeralRequest req,
                         VerifyEphemeralRequest(envelope_json, "renew-lease"));
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(req.body(), {"job_id"}));
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.verified.request.request_id));
  absl::Time now = clock_.Now();
  LeaseResult lease;
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/false)));
  TRIAD_ASSIGN_OR_RETURN(storage::Job job, txn.GetJob(req.job.id));
  std::vector<std::string> problems = ContractProblems(*req.contract, now);
  if (job.attempt != req.keys.attempt ||
      !IsOneOf(job.state, {JobState::kAdmitted, JobState::kRunning, JobState::kSealing})) {
    lease.stop = true;
    lease.reason =
        absl::StrCat("job ", job.id, " is ", storage::JobStateName(job.state), " in attempt ",
                     job.attempt, job.failure_reason.empty() ? "" : ": ", job.failure_reason);
  } else if (!problems.empty()) {
    lease.stop = true;
    lease.reason = absl::StrCat("contract ", job.contract_id,
                                " is not active: ", absl::StrJoin(problems, "; "));
  } else {
    TRIAD_RETURN_IF_ERROR(txn.TouchWorker(job.worker_id));
    lease.expires = now + req.contract->contract.terms.key_lease();
  }
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  return lease;
}

// ---- Keyholders ----

absl::StatusOr<std::vector<ReleaseRequestView>> Coordinator::KeyholderPoll(
    absl::string_view envelope_json, const std::function<bool()>& cancelled) {
  TRIAD_ASSIGN_OR_RETURN(PartyRequest req, VerifyPartyRequest(envelope_json, "keyholder-poll"));
  if (req.card.role != contracts::Role::kModelOwner &&
      req.card.role != contracts::Role::kDataOwner) {
    return absl::PermissionDeniedError(absl::StrCat("party ", req.party.name, " is a ",
                                                    contracts::RoleName(req.card.role),
                                                    "; only model and data owners run keyholders"));
  }
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(req.body(), {"known_tree_size"}));
  TRIAD_ASSIGN_OR_RETURN(uint64_t known, BodyUint(req.body(), "known_tree_size"));
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.request().request_id));
  {
    TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
    TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/false)));
    TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  }
  std::vector<storage::ReleaseRequest> pending;
  TRIAD_RETURN_IF_ERROR(
      WaitLoop(*this, options_.poll_wait, cancelled, [&]() -> absl::StatusOr<bool> {
        TRIAD_ASSIGN_OR_RETURN(pending,
                               store_.ListPendingReleases(req.party.name, kMaxReleasesPerPoll));
        return !pending.empty();
      }));
  std::vector<ReleaseRequestView> out;
  if (pending.empty()) return out;
  // One checkpoint for every request of this answer; proofs lead to it.
  TRIAD_ASSIGN_OR_RETURN(storage::LogCheckpoint cp, store_.log().LatestCheckpoint());
  std::vector<std::string> consistency;
  uint64_t from = 0;
  if (known > 0 && known < cp.size) {
    TRIAD_ASSIGN_OR_RETURN(consistency, store_.log().ConsistencyProof(known, cp.size));
    from = known;
  }
  for (const storage::ReleaseRequest& r : pending) {
    TRIAD_ASSIGN_OR_RETURN(storage::Job job, store_.GetJob(r.job_id));
    if (job.attempt != r.attempt || job.state != JobState::kAdmitted) continue;  // being cancelled
    TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<const CachedContract> c, LoadContract(job.contract_id));
    ReleaseRequestView v;
    v.release_id = r.id;
    v.job_id = r.job_id;
    v.attempt = r.attempt;
    v.artifact_id = r.artifact_id;
    v.contract_envelope_json = c->stored.envelope_json;
    v.submission_envelope_json = job.envelope_json;
    v.contract_revoked = store_.GetRevocation(job.contract_id).ok();
    TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Admission> admissions,
                           store_.ListAdmissions(job.id));
    for (const storage::Admission& a : admissions) {
      if (a.attempt == r.attempt && a.admitted) v.evidence_document = a.evidence;
    }
    // The job's chain from its submission to this attempt's admission (the newest admission
    // entry of the job, which the committed admission put there).
    int64_t after = 0;
    std::vector<uint64_t> indexes;
    std::optional<size_t> admission_at;
    for (;;) {
      TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Event> events,
                             store_.ListEvents(after, job.id, 1000));
      for (const storage::Event& e : events) {
        after = e.id;
        if (!e.log_index || *e.log_index >= cp.size) continue;
        indexes.push_back(*e.log_index);
        if (e.kind == "job.admission") admission_at = indexes.size();
      }
      if (events.size() < 1000) break;
    }
    if (!admission_at) continue;  // not in the checkpoint yet
    indexes.resize(*admission_at);
    for (uint64_t index : indexes) {
      ProvenEntry pe;
      pe.index = index;
      TRIAD_ASSIGN_OR_RETURN(pe.entry, store_.log().Entry(index));
      TRIAD_ASSIGN_OR_RETURN(pe.inclusion_proof, store_.log().InclusionProof(index, cp.size));
      v.job_entries.push_back(std::move(pe));
    }
    v.checkpoint = cp.signed_note;
    v.consistency_proof = consistency;
    v.consistency_from = from;
    out.push_back(std::move(v));
  }
  return out;
}

absl::Status Coordinator::KeyholderAnswer(absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(PartyRequest req, VerifyPartyRequest(envelope_json, "keyholder-answer"));
  TRIAD_ASSIGN_OR_RETURN(internal::KeyholderAnswerBody body,
                         internal::DecodeKeyholderAnswerBody(req.body()));
  const std::string& release_id = body.release_id;
  const std::string& receipt_json = body.receipt_json;
  const std::string& header = body.header;
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.request().request_id));
  absl::StatusOr<storage::ReleaseRequest> r = store_.GetReleaseRequest(release_id);
  if (absl::IsNotFound(r.status())) {
    return absl::NotFoundError(absl::StrCat("release ", absl::CHexEscape(release_id.substr(0, 200)),
                                            " was never requested"));
  }
  TRIAD_RETURN_IF_ERROR(r.status());
  if (r->owner != req.party.name) {
    return absl::PermissionDeniedError(absl::StrCat("party ", req.party.name, " does not own ",
                                                    r->artifact_id, "; release ", r->id, " is for ",
                                                    r->owner));
  }
  if (r->state != storage::ReleaseState::kPending) {
    // The same answer again (its first acknowledgement was lost) is not an error.
    if (r->receipt_json == receipt_json) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat("release ", r->id, " is ",
                                                      storage::ReleaseStateName(r->state),
                                                      "; it takes no other answer"));
  }
  TRIAD_ASSIGN_OR_RETURN(verify::ReleaseReceipt rc,
                         verify::OpenReceipt(receipt_json, req.card.signing_key));
  TRIAD_ASSIGN_OR_RETURN(storage::Job job, store_.GetJob(r->job_id));
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<const CachedContract> c, LoadContract(job.contract_id));
  auto mismatch = [&](absl::string_view field, absl::string_view got, absl::string_view want) {
    return absl::InvalidArgumentError(absl::StrCat("release receipt: ", field, " is ",
                                                   absl::CHexEscape(got.substr(0, 200)),
                                                   ", release ", r->id, " is about ", want));
  };
  if (rc.release_id != r->id) return mismatch("release_id", rc.release_id, r->id);
  if (rc.job_id != r->job_id) return mismatch("job_id", rc.job_id, r->job_id);
  if (rc.attempt != static_cast<uint64_t>(r->attempt)) {
    return mismatch("attempt", absl::StrCat(rc.attempt), absl::StrCat(r->attempt));
  }
  if (rc.artifact_id != r->artifact_id)
    return mismatch("artifact_id", rc.artifact_id, r->artifact_id);
  // A refusal may leave out what the keyholder could not read (a contract it cannot parse).
  if ((rc.release || !rc.contract_id.empty()) && rc.contract_id != job.contract_id) {
    return mismatch("contract_id", rc.contract_id, job.contract_id);
  }
  if ((rc.release || !rc.contract_digest.empty()) && rc.contract_digest != c->stored.digest) {
    return mismatch("contract_digest", rc.contract_digest, c->stored.digest);
  }
  const std::string receipt_digest = crypto::Sha256Id(
      crypto::DsseEnvelope::FromJson(receipt_json, 2 * verify::kMaxReceiptSize)->payload);
  absl::Time now = clock_.Now();
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/true)));
  storage::ReleaseRequest answer = *r;
  answer.receipt_json = receipt_json;
  if (rc.release) {
    TRIAD_ASSIGN_OR_RETURN(storage::JobKeys keys, txn.GetJobKeys(job.id, r->attempt));
    if (rc.recipient != keys.age_recipient)
      return mismatch("recipient", rc.recipient, keys.age_recipient);
    if (rc.ed25519_public_key != keys.ed25519_public_key) {
      return mismatch("ed25519_public_key", base::Base64Encode(rc.ed25519_public_key),
                      base::Base64Encode(keys.ed25519_public_key));
    }
    TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Admission> admissions, txn.ListAdmissions(job.id));
    std::string evidence_digest;
    for (const storage::Admission& a : admissions) {
      if (a.attempt == r->attempt && a.admitted) evidence_digest = a.evidence_digest;
    }
    if (rc.evidence_digest != evidence_digest) {
      return mismatch("evidence_digest", rc.evidence_digest, evidence_digest);
    }
    absl::StatusOr<crypto::age::Header> h = crypto::age::Header::Parse(header);
    if (!h.ok() || h->size() != header.size() || h->stanzas().size() != 1) {
      return absl::InvalidArgumentError(
          "release: the header is not one binary age header with exactly one stanza (the "
          "worker's)");
    }
    if (rc.header_digest != crypto::Sha256Id(header)) {
      return mismatch("header_digest", rc.header_digest, crypto::Sha256Id(header));
    }
    answer.state = storage::ReleaseState::kReleased;
    answer.header = header;
    TRIAD_RETURN_IF_ERROR(txn.AnswerReleaseRequest(answer, keys.age_recipient).status());
    TRIAD_RETURN_IF_ERROR(AddLog(txn, job.id, "key.released", now,
                                 {{"job_id", job.id},
                                  {"attempt", r->attempt},
                                  {"artifact_id", r->artifact_id},
                                  {"owner", r->owner},
                                  {"recipient", keys.age_recipient},
                                  {"header_digest", rc.header_digest},
                                  {"receipt_digest", receipt_digest}}));
  } else {
    if (!header.empty())
      return absl::InvalidArgumentError("request body: a refusal carries no header");
    answer.state = storage::ReleaseState::kRefused;
    answer.final = rc.final;
    answer.reasons_json =
        nlohmann::json(rc.reasons).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    TRIAD_RETURN_IF_ERROR(txn.AnswerReleaseRequest(answer, "").status());
    TRIAD_RETURN_IF_ERROR(AddLog(txn, job.id, "key.refused", now,
                                 {{"job_id", job.id},
                                  {"attempt", r->attempt},
                                  {"artifact_id", r->artifact_id},
                                  {"owner", r->owner},
                                  {"final", rc.final},
                                  {"reasons", rc.reasons},
                                  {"receipt_digest", receipt_digest}}));
    // The attempt cannot go on. A final refusal ends the job; another may admit a later attempt.
    std::string why = absl::StrCat("the keyholder of ", r->owner, " refused to release ",
                                   r->artifact_id, ": ", absl::StrJoin(rc.reasons, "; "));
    if (why.size() > storage::kMaxReasonBytes) why.resize(storage::kMaxReasonBytes);
    TRIAD_ASSIGN_OR_RETURN(storage::Job current, txn.GetJob(job.id));
    if (current.attempt == r->attempt &&
        IsOneOf(current.state, {JobState::kAdmitted, JobState::kRunning})) {
      if (rc.final) {
        TRIAD_RETURN_IF_ERROR(
            txn.TransitionJob(job.id, JobTransition::Fail(why).From(current.state)).status());
        TRIAD_RETURN_IF_ERROR(
            AddLog(txn, job.id, "job.failed", now,
                   {{"job_id", job.id}, {"attempt", current.attempt}, {"reason", why}}));
      } else {
        TRIAD_RETURN_IF_ERROR(
            txn.TransitionJob(job.id, JobTransition::To(JobState::kQueued).From(current.state))
                .status());
        TRIAD_RETURN_IF_ERROR(AddLog(txn, job.id, "job.requeued", now,
                                     {{"job_id", job.id},
                                      {"attempt", current.attempt},
                                      {"worker_id", current.worker_id},
                                      {"reason", why},
                                      {"cooloff", true}}));
      }
    }
  }
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  NotifyChange();
  return absl::OkStatus();
}

}  // namespace triad::coordinator
