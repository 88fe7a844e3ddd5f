// The worker's side of the coordinator: polling, admission and key release, inputs, progress and
// failure.
#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attestation/binding.h"
#include "attestation/evidence_document.h"
#include "attestation/evidence_verifier.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "contracts/policy.h"
#include "coordinator/coordinator.h"
#include "coordinator/internal/common.h"
#include "coordinator/request.h"
#include "crypto/age.h"
#include "crypto/hash.h"
#include "storage/records.h"

namespace triad::coordinator {

using internal::AddLog;
using internal::BodyNumber;
using internal::BodyString;
using internal::BodyUint;
using internal::CheckBodyKeys;
using internal::IsOneOf;
using internal::ToStored;
using storage::JobState;
using storage::JobTransition;

namespace {

// Bounds on the parts of the evidence (the stored document, base64, must fit
// storage::kMaxEvidenceBytes).
constexpr size_t kMaxEvidencePartBytes = 1 << 20;

// Moves an admitted job to running (logged), when it is still admitted.
absl::Status StartRunning(storage::WriteTxn& txn, const storage::Job& job, absl::Time now) {
  if (job.state != JobState::kAdmitted) return absl::OkStatus();
  TRIAD_RETURN_IF_ERROR(txn.TransitionJob(job.id, JobTransition::To(JobState::kRunning)
                                                      .From(JobState::kAdmitted)
                                                      .ByWorker(job.worker_id))
                            .status());
  return AddLog(txn, job.id, "job.running", now,
                {{"job_id", job.id}, {"attempt", job.attempt}, {"worker_id", job.worker_id}});
}

}  // namespace

namespace internal {

absl::StatusOr<crypto::age::Header> ReadArtifactHeader(storage::BlobStore& blobs,
                                                       const std::string& artifact_id) {
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobReader> reader, blobs.Open(artifact_id));
  std::string prefix;
  while (prefix.size() < crypto::age::kMaxHeaderSize) {
    TRIAD_ASSIGN_OR_RETURN(absl::string_view chunk, reader->Next());
    if (chunk.empty()) break;
    prefix.append(chunk.data(), chunk.size());
  }
  return base::Annotate(crypto::age::Header::Parse(prefix), absl::StrCat("artifact ", artifact_id));
}

}  // namespace internal

absl::StatusOr<Coordinator::EphemeralRequest> Coordinator::VerifyEphemeralRequest(
    absl::string_view envelope_json, absl::string_view action) {
  // The signer is the key the job's current attempt attested with: find the job first.
  TRIAD_ASSIGN_OR_RETURN(crypto::DsseEnvelope env,
                         crypto::DsseEnvelope::FromJson(envelope_json, kMaxRequestSize));
  TRIAD_ASSIGN_OR_RETURN(Request unverified, ParseRequestPayload(env.payload));
  TRIAD_ASSIGN_OR_RETURN(std::string job_id, BodyString(unverified.body, "job_id"));
  TRIAD_ASSIGN_OR_RETURN(storage::Job job, store_.GetJob(job_id));
  absl::StatusOr<storage::JobKeys> keys = store_.GetJobKeys(job_id, job.attempt);
  if (absl::IsNotFound(keys.status())) {
    return absl::PermissionDeniedError(absl::StrCat("job ", job_id, " has no attested worker"));
  }
  TRIAD_RETURN_IF_ERROR(keys.status());
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey eph,
                         crypto::Ed25519PublicKey::FromRaw(keys->ed25519_public_key));
  KeyLookup lookup = [&](const std::string& keyid) -> absl::StatusOr<crypto::Ed25519PublicKey> {
    if (keyid == eph.KeyId()) return eph;
    return absl::PermissionDeniedError(
        absl::StrCat("request is not signed by the attested ephemeral key of job ", job_id));
  };
  TRIAD_ASSIGN_OR_RETURN(VerifiedRequest v,
                         VerifyRequest(envelope_json, action, clock_.Now(), lookup, fingerprint_));
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<const CachedContract> c, LoadContract(job.contract_id));
  return EphemeralRequest{std::move(v), std::move(job), *std::move(keys), std::move(c)};
}

// ---- Poll ----

absl::StatusOr<std::optional<Assignment>> Coordinator::Poll(
    absl::string_view envelope_json, const std::function<bool()>& cancelled) {
  TRIAD_ASSIGN_OR_RETURN(PartyRequest req, VerifyPartyRequest(envelope_json, "poll"));
  if (req.card.role != contracts::Role::kComputeProvider) {
    return absl::PermissionDeniedError(absl::StrCat("party ", req.party.name, " is a ",
                                                    contracts::RoleName(req.card.role),
                                                    "; only a compute provider polls for jobs"));
  }
  TRIAD_ASSIGN_OR_RETURN(internal::PollBody poll, internal::DecodePollBody(req.body()));
  std::string worker_id = std::move(poll.worker_id);
  std::string tee = std::move(poll.tee);
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.request().request_id));
  if (!store_.GetWorker(worker_id).ok()) {
    TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Worker> workers, store_.ListWorkers());
    int mine = 0;
    for (const storage::Worker& w : workers) mine += w.provider == req.party.name ? 1 : 0;
    if (mine >= options_.max_workers_per_provider) {
      return absl::ResourceExhaustedError(
          absl::StrCat("compute provider ", req.party.name, " has ", mine,
                       " workers, the most this coordinator takes (",
                       options_.max_workers_per_provider, "); reuse a worker id"));
    }
  }
  // The wait is in real time, whatever clock decides validity.
  auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(options_.poll_wait);
  std::shared_ptr<void> held;  // taken before the first wait
  for (;;) {
    uint64_t seen = ChangeCount();
    auto left = deadline - std::chrono::steady_clock::now();
    bool last = left <= std::chrono::nanoseconds(0) || (cancelled && cancelled());
    TRIAD_ASSIGN_OR_RETURN(std::optional<Assignment> a, TryAssign(req, worker_id, tee, last));
    if (a || last) return a;
    if (!held) {
      TRIAD_ASSIGN_OR_RETURN(held, HoldWaitingCall(/*watch=*/false));
    }
    WaitForChange(seen, std::min(absl::FromChrono(left), absl::Seconds(1)));
  }
}

absl::StatusOr<std::optional<Assignment>> Coordinator::TryAssign(const PartyRequest& req,
                                                                 const std::string& worker_id,
                                                                 const std::string& tee,
                                                                 bool last_try) {
  absl::Time now = clock_.Now();
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  TRIAD_RETURN_IF_ERROR(txn.UpsertWorker({worker_id, req.party.name, tee, {}, {}}).status());
  bool changed = false;
  // A worker runs one job at a time: one that asks for work has let go of any job it still holds
  // (it restarted, or gave up without a word). Queue those again now rather than at lease expiry.
  {
    TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Job> held, txn.ListJobsHeldBy(worker_id));
    for (const storage::Job& job : held) {
      const JobState s = job.state;
      TRIAD_RETURN_IF_ERROR(
          txn.TransitionJob(job.id,
                            JobTransition::To(JobState::kQueued).From(s).ByWorker(worker_id))
              .status());
      TRIAD_RETURN_IF_ERROR(
          AddLog(txn, job.id, "job.requeued", now,
                 {{"job_id", job.id},
                  {"attempt", job.attempt},
                  {"worker_id", worker_id},
                  {"reason",
                   absl::StrCat("worker ", worker_id, " asked for new work while it held the job (",
                                storage::JobStateName(s), ")")}}));
      changed = true;
    }
  }
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Job> queued, txn.ListJobs(JobState::kQueued));
  for (const storage::Job& job : queued) {
    absl::StatusOr<std::shared_ptr<const CachedContract>> c = LoadContract(job.contract_id);
    if (!c.ok()) continue;
    const contracts::Contract& contract = (*c)->contract;
    if (contract.compute_provider.fingerprint() != req.card.fingerprint()) continue;
    std::vector<std::string> inactive = ContractProblems(**c, now);
    if (!inactive.empty()) {
      std::string reason = absl::StrCat("contract ", job.contract_id,
                                        " is not active: ", absl::StrJoin(inactive, "; "));
      TRIAD_RETURN_IF_ERROR(
          txn.TransitionJob(job.id, JobTransition::Fail(reason).From(JobState::kQueued)).status());
      TRIAD_RETURN_IF_ERROR(
          AddLog(txn, job.id, "job.failed", now,
                 {{"job_id", job.id}, {"attempt", job.attempt}, {"reason", reason}}));
      changed = true;
      continue;
    }
    if (!contract.worker_policy.Accepts(tee)) continue;
    // A worker that was refused this job, or gave it back, is not offered it again for a while
    // (another worker may take it meanwhile).
    TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Event> events, txn.ListEvents(0, job.id, 10000));
    bool cooling = false;
    for (const storage::Event& e : events) {
      if (e.kind != "job.requeued" || now - e.time >= options_.reject_cooloff) continue;
      absl::StatusOr<nlohmann::json> d = base::ParseJsonStrict(e.detail_json);
      cooling = cooling ||
                (d.ok() && d->value("worker_id", "") == worker_id && d->value("cooloff", false));
    }
    if (cooling) continue;

    TRIAD_ASSIGN_OR_RETURN(
        storage::Job assigned,
        txn.TransitionJob(job.id, JobTransition::Assign(worker_id).From(JobState::kQueued)));
    TRIAD_ASSIGN_OR_RETURN(storage::Nonce nonce,
                           txn.IssueNonce(job.id, worker_id, options_.nonce_ttl));
    TRIAD_RETURN_IF_ERROR(AddLog(txn, job.id, "job.assigned", now,
                                 {{"job_id", job.id},
                                  {"attempt", assigned.attempt},
                                  {"worker_id", worker_id},
                                  {"provider", req.party.name},
                                  {"tee", tee},
                                  {"nonce_expires", base::FormatRfc3339(nonce.expires_at)}}));
    TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/true)));
    Assignment out;
    out.job_id = job.id;
    out.contract_envelope_json = (*c)->stored.envelope_json;
    out.nonce = nonce.value;
    out.nonce_expires = nonce.expires_at;
    for (const std::string& id : {contract.base_model.id, contract.dataset.id}) {
      TRIAD_ASSIGN_OR_RETURN(storage::Artifact a, txn.GetArtifact(id));
      out.inputs.push_back(ArtifactInfo{a.id, std::string(storage::ArtifactKindName(a.kind)),
                                        a.name, a.owner, a.size});
    }
    TRIAD_RETURN_IF_ERROR(txn.Commit().status());
    NotifyChange();
    return std::optional<Assignment>(std::move(out));
  }
  if (last_try) TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/false)));
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  if (changed) NotifyChange();
  return std::optional<Assignment>();
}

// ---- Attest ----

absl::StatusOr<AttestResult> Coordinator::Attest(const AttestInput& in) {
  TRIAD_ASSIGN_OR_RETURN(PartyRequest req, VerifyPartyRequest(in.request_envelope_json, "attest"));
  if (req.card.role != contracts::Role::kComputeProvider) {
    return absl::PermissionDeniedError(absl::StrCat("party ", req.party.name, " is a ",
                                                    contracts::RoleName(req.card.role),
                                                    ", not a compute provider"));
  }
  TRIAD_ASSIGN_OR_RETURN(internal::AttestBody body, internal::DecodeAttestBody(req.body()));
  const std::string& job_id = body.job_id;
  const std::string& worker_id = body.worker_id;
  const std::string& nonce = body.nonce;
  const crypto::Ed25519PublicKey& eph_key = body.ed25519_public_key;
  const crypto::age::X25519Recipient& eph_recipient = body.age_recipient;
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.request().request_id));

  // The worker and the job belong to this provider.
  absl::StatusOr<storage::Worker> worker = store_.GetWorker(worker_id);
  if (!worker.ok())
    return absl::PermissionDeniedError(
        absl::StrCat("worker ", worker_id, " is not registered; poll first"));
  if (worker->provider != req.party.name) {
    return absl::PermissionDeniedError(absl::StrCat("worker ", worker_id, " belongs to provider ",
                                                    worker->provider, ", not ", req.party.name));
  }
  TRIAD_ASSIGN_OR_RETURN(storage::Job job, store_.GetJob(job_id));
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<const CachedContract> c, LoadContract(job.contract_id));
  const contracts::Contract& contract = c->contract;
  if (contract.compute_provider.fingerprint() != req.card.fingerprint()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "party ", req.party.name, " is not the compute provider of contract ", job.contract_id));
  }
  if (std::vector<std::string> problems = ContractProblems(*c, clock_.Now()); !problems.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "contract ", job.contract_id, " is not active: ", absl::StrJoin(problems, "; ")));
  }

  // Proof of possession: the same request payload, signed by the ephemeral key it names.
  absl::StatusOr<crypto::DsseEnvelope> eph_env =
      crypto::DsseEnvelope::FromJson(in.ephemeral_signature_envelope_json, kMaxRequestSize);
  if (!eph_env.ok() || eph_env->payload_type != kRequestPayloadType ||
      eph_env->payload != req.verified.envelope.payload) {
    return absl::PermissionDeniedError(
        "the ephemeral signature envelope does not carry the same request");
  }
  if (eph_env->signatures.size() != 1 ||
      !crypto::DsseVerifySignature(*eph_env, eph_env->signatures[0], eph_key).ok()) {
    return absl::PermissionDeniedError(
        "the request is not signed by the ephemeral key it names (proof of possession failed)");
  }

  // The evidence, checked outside the transaction (it is pure and may take milliseconds).
  const attestation::Evidence& ev = in.evidence;
  if (ev.report.size() > kMaxEvidencePartBytes || ev.certs.size() > kMaxEvidencePartBytes ||
      ev.collateral.size() > kMaxEvidencePartBytes || ev.tee.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("evidence: report, certs and collateral are limited to ",
                     kMaxEvidencePartBytes, " bytes each"));
  }
  AttestResult result;
  // The evidence document (attestation/evidence_document.h): what is stored, hashed, relayed to
  // the keyholders and exported.
  std::string evidence_doc = attestation::EvidenceDocument(ev);
  // The document is what is stored, relayed to the keyholders and exported, GPUs and their
  // collateral included: within the store's bound, and within every bound of the parser the
  // keyholders and auditors read it with (GPU count, report and collateral sizes).
  if (evidence_doc.size() > storage::kMaxEvidenceBytes) {
    return absl::InvalidArgumentError(absl::StrCat("evidence: the evidence document is ",
                                                   evidence_doc.size(), " bytes; at most ",
                                                   storage::kMaxEvidenceBytes));
  }
  if (absl::Status parsed = attestation::ParseEvidenceDocument(evidence_doc).status();
      !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("evidence: ", parsed.message()));
  }
  result.evidence_digest = crypto::Sha256Id(evidence_doc);
  result.claims_json = "{}";
  absl::Time now = clock_.Now();
  attestation::Verdict verdict = attestation::VerifyEvidence(ev, anchors_, now);
  nlohmann::ordered_json claims_value = nlohmann::ordered_json::object();
  if (!verdict.valid) {
    for (const std::string& r : verdict.reasons)
      result.reasons.push_back(absl::StrCat("evidence: ", r));
  } else {
    claims_value = verdict.claims.ToJson();
    result.claims_json =
        claims_value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    result.simulated = verdict.claims.simulated();
    absl::Status bound =
        attestation::CheckBinding(verdict.claims, {nonce, job_id, eph_key, eph_recipient});
    if (!bound.ok()) result.reasons.push_back(std::string(bound.message()));
    contracts::PolicyDecision decision =
        contracts::Evaluate(contract.worker_policy, verdict.claims);
    for (const std::string& r : decision.reasons) result.reasons.push_back(r);
  }
  result.admitted = result.reasons.empty();

  // An input whose stored ciphertext is missing or no longer an age file can never be released to
  // any worker: the job fails with that reason instead of going back to the queue. (The keyholders
  // check the rest: the coordinator cannot open any header.)
  std::string input_failure;
  if (result.admitted) {
    for (const std::string& id : {contract.base_model.id, contract.dataset.id}) {
      absl::StatusOr<crypto::age::Header> header = internal::ReadArtifactHeader(blobs_, id);
      if (!header.ok()) {
        if (!absl::IsDataLoss(header.status()) && !absl::IsInvalidArgument(header.status()) &&
            !absl::IsNotFound(header.status())) {
          return header.status();  // I/O: the worker may try again
        }
        input_failure = absl::StrCat("input ", id, ": ", header.status().message());
        break;
      }
    }
    if (!input_failure.empty()) {
      result.admitted = false;
      result.reasons.push_back(input_failure);
    }
  }

  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/true)));
  absl::Status consumed = txn.ConsumeNonce(nonce, job_id, worker_id);
  // An expired nonce is a state, not a slow call: clients must not retry it as they retry a
  // deadline.
  if (absl::IsDeadlineExceeded(consumed)) return absl::FailedPreconditionError(consumed.message());
  TRIAD_RETURN_IF_ERROR(consumed);
  TRIAD_ASSIGN_OR_RETURN(
      storage::Job attesting,
      txn.TransitionJob(
          job_id,
          JobTransition::To(JobState::kAttesting).From(JobState::kAssigned).ByWorker(worker_id)));
  TRIAD_RETURN_IF_ERROR(
      txn.RecordJobKeys({job_id, 0, worker_id, eph_recipient.ToString(), eph_key.raw(), {}})
          .status());
  storage::Admission admission;
  admission.job_id = job_id;
  admission.worker_id = worker_id;
  admission.evidence = evidence_doc;
  admission.evidence_digest = result.evidence_digest;
  admission.claims_json = result.claims_json;
  admission.admitted = result.admitted;
  admission.reasons_json =
      nlohmann::json(result.reasons).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  admission.simulated = result.simulated;
  TRIAD_RETURN_IF_ERROR(txn.RecordAdmission(admission).status());
  TRIAD_RETURN_IF_ERROR(AddLog(txn, job_id, "job.admission", now,
                               {{"job_id", job_id},
                                {"attempt", attesting.attempt},
                                {"worker_id", worker_id},
                                {"tee", ev.tee},
                                {"evidence_digest", result.evidence_digest},
                                {"claims", claims_value},
                                {"decision", result.admitted ? "admit" : "reject"},
                                {"reasons", result.reasons},
                                {"simulated", result.simulated},
                                {"ed25519_public_key", base::Base64Encode(eph_key.raw())},
                                {"age_recipient", eph_recipient.ToString()},
                                // Spent by now; an auditor needs it to recompute the binding.
                                {"nonce", base::HexEncode(nonce)}}));
  if (result.admitted) {
    TRIAD_RETURN_IF_ERROR(
        txn.TransitionJob(job_id, JobTransition::To(JobState::kAdmitted)).status());
    // Each owner's keyholder decides its own release (docs/custody.md); KeyholderPoll serves these.
    for (const contracts::Artifact* a : {&contract.base_model, &contract.dataset}) {
      TRIAD_ASSIGN_OR_RETURN(storage::Artifact held, txn.GetArtifact(a->id));
      storage::ReleaseRequest r;
      r.id = absl::StrCat(job_id, "/", attesting.attempt, "/", a->id);
      r.job_id = job_id;
      r.attempt = attesting.attempt;
      r.artifact_id = a->id;
      r.owner = held.owner;
      TRIAD_RETURN_IF_ERROR(txn.InsertReleaseRequest(r));
    }
  } else if (!input_failure.empty()) {
    TRIAD_RETURN_IF_ERROR(
        txn.TransitionJob(job_id, JobTransition::Fail(input_failure).From(JobState::kAttesting))
            .status());
    TRIAD_RETURN_IF_ERROR(AddLog(txn, job_id, "job.failed", now,
                                 {{"job_id", job_id},
                                  {"attempt", attesting.attempt},
                                  {"worker_id", worker_id},
                                  {"reason", input_failure}}));
  } else {
    TRIAD_RETURN_IF_ERROR(txn.TransitionJob(job_id, JobTransition::To(JobState::kQueued)).status());
    TRIAD_RETURN_IF_ERROR(
        AddLog(txn, job_id, "job.requeued", now,
               {{"job_id", job_id},
                {"attempt", attesting.attempt},
                {"worker_id", worker_id},
                {"reason", absl::StrCat("admission of worker ", worker_id,
                                        " refused: ", absl::StrJoin(result.reasons, "; "))},
                {"cooloff", true}}));
  }
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  NotifyChange();
  return result;
}

// ---- Inputs, progress, failure ----

absl::StatusOr<std::unique_ptr<storage::BlobReader>> Coordinator::OpenInput(
    absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(EphemeralRequest req,
                         VerifyEphemeralRequest(envelope_json, "download-input"));
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(req.body(), {"job_id", "artifact_id"}));
  TRIAD_ASSIGN_OR_RETURN(std::string artifact_id, BodyString(req.body(), "artifact_id"));
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.verified.request.request_id));
  const storage::Job& job = req.job;
  if (!IsOneOf(job.state, {JobState::kAdmitted, JobState::kRunning, JobState::kSealing})) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job.id, " is ", storage::JobStateName(job.state),
                     "; inputs are served only to its admitted worker"));
  }
  const contracts::Contract& contract = req.contract->contract;
  if (std::vector<std::string> problems = ContractProblems(*req.contract, clock_.Now());
      !problems.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("contract ", contract.id, " is not active: ", absl::StrJoin(problems, "; ")));
  }
  if (artifact_id != contract.base_model.id && artifact_id != contract.dataset.id) {
    return absl::PermissionDeniedError(absl::StrCat("artifact ",
                                                    absl::CHexEscape(artifact_id.substr(0, 80)),
                                                    " is not an input of job ", job.id));
  }
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::KeyRelease> releases, store_.ListKeyReleases(job.id));
  bool released = false;
  for (const storage::KeyRelease& r : releases) {
    released = released || (r.artifact_id == artifact_id && r.recipient == req.keys.age_recipient);
  }
  if (!released) {
    return absl::FailedPreconditionError(
        absl::StrCat("the key of artifact ", artifact_id, " was not released to this worker"));
  }
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/false)));
  TRIAD_ASSIGN_OR_RETURN(storage::Job current, txn.GetJob(job.id));
  TRIAD_RETURN_IF_ERROR(StartRunning(txn, current, clock_.Now()));
  TRIAD_RETURN_IF_ERROR(txn.TouchWorker(job.worker_id));
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  NotifyChange();
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobReader> reader, blobs_.Open(artifact_id));
  // While the stream runs (a large model takes a while), the job's lease holds.
  class Tracked : public storage::BlobReader {
   public:
    Tracked(std::unique_ptr<storage::BlobReader> r, std::unique_ptr<Transfer> t)
        : r_(std::move(r)), t_(std::move(t)) {}
    uint64_t size() const override { return r_->size(); }
    absl::StatusOr<absl::string_view> Next() override { return r_->Next(); }

   private:
    std::unique_ptr<storage::BlobReader> r_;
    std::unique_ptr<Transfer> t_;
  };
  return std::unique_ptr<storage::BlobReader>(
      new Tracked(std::move(reader), StartTransfer(job.id)));
}

absl::Status Coordinator::ReportProgress(absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(EphemeralRequest req,
                         VerifyEphemeralRequest(envelope_json, "report-progress"));
  const nlohmann::json& body = req.body();
  TRIAD_ASSIGN_OR_RETURN(internal::ProgressBody decoded, internal::DecodeProgressBody(body));
  storage::JobProgress p;
  uint64_t step = decoded.step;
  uint64_t total = decoded.total_steps;
  p.tokens_per_second = decoded.tokens_per_second;
  const contracts::Contract& contract = req.contract->contract;
  if (body.contains("loss")) {
    if (!contract.outputs.per_step_loss) {
      return absl::PermissionDeniedError(absl::StrCat(
          "contract ", contract.id,
          " does not let per-step loss leave the TEE (outputs.per_step_loss is false)"));
    }
    TRIAD_ASSIGN_OR_RETURN(double loss, BodyNumber(body, "loss"));
    p.loss = loss;
  }
  p.step = static_cast<int64_t>(step);
  p.total_steps = static_cast<int64_t>(total);
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.verified.request.request_id));

  absl::Time now = clock_.Now();
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/false)));
  TRIAD_ASSIGN_OR_RETURN(storage::Job job, txn.GetJob(req.job.id));
  if (job.attempt != req.keys.attempt ||
      !IsOneOf(job.state, {JobState::kAdmitted, JobState::kRunning})) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job.id, " is ",
                                                      storage::JobStateName(job.state),
                                                      "; progress is reported only while it runs"));
  }
  TRIAD_RETURN_IF_ERROR(StartRunning(txn, job, now));
  // Milestones (25, 50, 75, 100 %) go to the log; every report updates the job.
  auto percent = [](int64_t s, int64_t t) -> int64_t {
    return t <= 0 ? 0
                  : static_cast<int64_t>(static_cast<unsigned __int128>(s) * 100 /
                                         static_cast<uint64_t>(t));
  };
  int64_t before = job.progress.total_steps == p.total_steps
                       ? percent(job.progress.step, job.progress.total_steps)
                       : 0;
  int64_t after = percent(p.step, p.total_steps);
  for (int64_t m : {25, 50, 75, 100}) {
    if (before < m && after >= m) {
      TRIAD_RETURN_IF_ERROR(AddLog(txn, job.id, "job.progress", now,
                                   {{"job_id", job.id},
                                    {"attempt", job.attempt},
                                    {"milestone", m},
                                    {"step", p.step},
                                    {"total_steps", p.total_steps}}));
    }
  }
  TRIAD_RETURN_IF_ERROR(txn.UpdateJobProgress(job.id, p).status());
  TRIAD_RETURN_IF_ERROR(txn.TouchWorker(job.worker_id));
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  NotifyChange();
  return absl::OkStatus();
}

absl::Status Coordinator::ReportFailure(absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(crypto::DsseEnvelope env,
                         crypto::DsseEnvelope::FromJson(envelope_json, kMaxRequestSize));
  TRIAD_ASSIGN_OR_RETURN(Request unverified, ParseRequestPayload(env.payload));
  TRIAD_ASSIGN_OR_RETURN(std::string job_id, BodyString(unverified.body, "job_id"));
  TRIAD_ASSIGN_OR_RETURN(storage::Job job, store_.GetJob(job_id));
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<const CachedContract> c, LoadContract(job.contract_id));
  absl::StatusOr<storage::JobKeys> keys = store_.GetJobKeys(job_id, job.attempt);
  std::optional<crypto::Ed25519PublicKey> eph;
  if (keys.ok()) {
    TRIAD_ASSIGN_OR_RETURN(eph, crypto::Ed25519PublicKey::FromRaw(keys->ed25519_public_key));
  }
  bool by_ephemeral = false;
  KeyLookup lookup = [&](const std::string& keyid) -> absl::StatusOr<crypto::Ed25519PublicKey> {
    if (eph && keyid == eph->KeyId()) {
      by_ephemeral = true;
      return *eph;
    }
    if (keyid == c->contract.compute_provider.fingerprint())
      return c->contract.compute_provider.signing_key;
    return absl::PermissionDeniedError(
        absl::StrCat("request is not signed by job ", job_id,
                     "'s attested ephemeral key or by its compute provider"));
  };
  TRIAD_ASSIGN_OR_RETURN(VerifiedRequest v, VerifyRequest(envelope_json, "report-failure",
                                                          clock_.Now(), lookup, fingerprint_));
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(v.request.body, {"job_id", "reason"}));
  TRIAD_ASSIGN_OR_RETURN(std::string reason, BodyString(v.request.body, "reason"));
  TRIAD_RETURN_IF_ERROR(internal::CheckReason(reason));
  TRIAD_RETURN_IF_ERROR(CheckUnused(v.request.request_id));

  absl::Time now = clock_.Now();
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(v, /*keep=*/true)));
  TRIAD_ASSIGN_OR_RETURN(storage::Job current, txn.GetJob(job_id));
  if (by_ephemeral) {
    // After admission the attested worker speaks for the job: it fails.
    if (current.attempt != keys->attempt ||
        !IsOneOf(current.state, {JobState::kAdmitted, JobState::kRunning, JobState::kSealing})) {
      return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " is ",
                                                        storage::JobStateName(current.state),
                                                        "; its worker can no longer fail it"));
    }
    TRIAD_RETURN_IF_ERROR(
        txn.TransitionJob(job_id, JobTransition::Fail(reason).From(current.state)).status());
    TRIAD_RETURN_IF_ERROR(AddLog(txn, job_id, "job.failed", now,
                                 {{"job_id", job_id},
                                  {"attempt", current.attempt},
                                  {"worker_id", current.worker_id},
                                  {"reason", reason}}));
  } else {
    // Before admission the provider may hand the job back (its worker cannot attest, or refuses the
    // contract): it is queued for another worker.
    if (!IsOneOf(current.state, {JobState::kAssigned, JobState::kAttesting})) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", job_id, " is ", storage::JobStateName(current.state),
                       "; its compute provider reports failure only before admission, the admitted "
                       "worker after it"));
    }
    TRIAD_RETURN_IF_ERROR(
        txn.TransitionJob(job_id, JobTransition::To(JobState::kQueued).From(current.state))
            .status());
    TRIAD_RETURN_IF_ERROR(AddLog(
        txn, job_id, "job.requeued", now,
        {{"job_id", job_id},
         {"attempt", current.attempt},
         {"worker_id", current.worker_id},
         {"reason", absl::StrCat("worker ", current.worker_id, " gave the job back: ", reason)},
         {"cooloff", true}}));
  }
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  NotifyChange();
  return absl::OkStatus();
}

}  // namespace triad::coordinator
