// Delivery: the worker uploads the encrypted adapter with its signed job record; the coordinator
// checks the record against what it knows, stores the ciphertext, countersigns the record and
// finishes the job.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "coordinator/coordinator.h"
#include "coordinator/internal/common.h"
#include "crypto/age.h"
#include "crypto/hash.h"
#include "verify/job_record.h"

namespace triad::coordinator {

using internal::AddLog;
using internal::BodyString;
using internal::CheckBodyKeys;
using internal::ToStored;
using storage::JobState;
using storage::JobTransition;

class Coordinator::OutputUpload : public Upload {
 public:
  OutputUpload(Coordinator* c, EphemeralRequest req, verify::CheckedJobRecord record,
               std::string record_json, std::vector<std::string> recipients,
               std::unique_ptr<storage::BlobWriter> writer)
      : c_(c),
        req_(std::move(req)),
        record_(std::move(record)),
        record_json_(std::move(record_json)),
        recipients_(std::move(recipients)),
        writer_(std::move(writer)) {}

  absl::Status Write(absl::string_view chunk) override {
    TRIAD_RETURN_IF_ERROR(status_);
    if (chunk.size() > c_->options_.max_output_bytes - received_) {
      return status_ = absl::InvalidArgumentError(absl::StrCat(
                 "output is larger than the limit of ", c_->options_.max_output_bytes, " bytes"));
    }
    received_ += chunk.size();
    prefix_.Take(chunk);
    return status_ = writer_->Write(chunk);
  }

  absl::StatusOr<ArtifactInfo> Finish() override {
    TRIAD_RETURN_IF_ERROR(status_);
    status_ = absl::FailedPreconditionError("upload is finished");
    TRIAD_ASSIGN_OR_RETURN(crypto::age::Header header, prefix_.Parse("output"));
    // X25519 stanzas do not say whom they are for; their number at least must match.
    size_t x25519 = 0;
    for (const crypto::age::Stanza& s : header.stanzas())
      x25519 += !s.args.empty() && s.args[0] == "X25519";
    if (x25519 != recipients_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("output has ", x25519, " X25519 recipient stanzas; the contract names ",
                       recipients_.size(), " adapter recipients"));
    }
    TRIAD_ASSIGN_OR_RETURN(bool existed, c_->blobs_.Contains(record_.subject_id));
    absl::StatusOr<std::string> id = writer_->Commit();
    if (!id.ok())
      return base::Annotate(id.status(), "output digest differs from the job record's subject");
    return internal::DiscardBlobUnlessRecorded(c_->blobs_, *id, existed, Record(*id));
  }

 private:
  // The database side of a delivery whose blob `adapter_id` is stored: the job's state, the
  // adapter, both records and the log, in one transaction.
  absl::StatusOr<ArtifactInfo> Record(const std::string& adapter_id) {
    // The coordinator's envelope: the same payload, signed by its key.
    crypto::DsseEnvelope countersigned{record_.envelope.payload_type, record_.envelope.payload, {}};
    crypto::DsseSign(countersigned, c_->signing_key_);

    const storage::Job& job = req_.job;
    absl::Time now = c_->clock_.Now();
    TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, c_->store_.Begin());
    TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req_.verified, /*keep=*/true)));
    TRIAD_ASSIGN_OR_RETURN(storage::Job current, txn.GetJob(job.id));
    if (current.attempt != req_.keys.attempt ||
        (current.state != JobState::kAdmitted && current.state != JobState::kRunning)) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", job.id, " is ", storage::JobStateName(current.state),
                       "; only its running attempt delivers an output"));
    }
    if (current.state == JobState::kAdmitted) {
      TRIAD_RETURN_IF_ERROR(
          txn.TransitionJob(job.id, JobTransition::To(JobState::kRunning)).status());
    }
    TRIAD_RETURN_IF_ERROR(
        txn.TransitionJob(job.id, JobTransition::To(JobState::kSealing)).status());
    storage::Artifact a;
    a.id = adapter_id;
    a.kind = storage::ArtifactKind::kAdapter;
    a.name = record_.subject_name;
    a.size = received_;
    a.envelope_json = record_json_;
    TRIAD_RETURN_IF_ERROR(txn.InsertArtifact(a));
    TRIAD_RETURN_IF_ERROR(txn.InsertJobRecord({job.id, record_json_, countersigned.ToJson(), {}}));
    TRIAD_RETURN_IF_ERROR(AddLog(txn, job.id, "job.output", now,
                                 {{"job_id", job.id},
                                  {"attempt", current.attempt},
                                  {"adapter_id", adapter_id},
                                  {"size", received_},
                                  {"record_digest", crypto::Sha256Id(record_.envelope.payload)},
                                  {"recipients", recipients_}}));
    TRIAD_RETURN_IF_ERROR(txn.TransitionJob(job.id, JobTransition::Done(adapter_id)).status());
    TRIAD_RETURN_IF_ERROR(
        AddLog(txn, job.id, "job.done", now, {{"job_id", job.id}, {"adapter_id", adapter_id}}));
    TRIAD_RETURN_IF_ERROR(txn.Commit().status());
    c_->NotifyChange();
    return ArtifactInfo{adapter_id, "adapter", record_.subject_name, "", received_};
  }

  Coordinator* c_;
  EphemeralRequest req_;
  verify::CheckedJobRecord record_;
  std::string record_json_;
  std::vector<std::string> recipients_;
  std::unique_ptr<storage::BlobWriter> writer_;
  std::unique_ptr<Transfer> transfer_ =
      c_->StartTransfer(req_.job.id);  // holds the lease meanwhile
  internal::HeaderPrefix prefix_;
  uint64_t received_ = 0;
  absl::Status status_;
};

absl::StatusOr<std::unique_ptr<Upload>> Coordinator::BeginOutputUpload(
    absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(EphemeralRequest req,
                         VerifyEphemeralRequest(envelope_json, "deliver-output"));
  TRIAD_ASSIGN_OR_RETURN(std::string record_json, internal::DecodeDeliverOutputBody(req.body()));
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.verified.request.request_id));
  const storage::Job& job = req.job;
  if (job.state == JobState::kDone) {
    // A worker retrying a delivery whose answer it lost: say so, distinctly.
    absl::StatusOr<storage::JobRecord> stored = store_.GetJobRecord(job.id);
    absl::StatusOr<crypto::DsseEnvelope> theirs =
        stored.ok() ? crypto::DsseEnvelope::FromJson(stored->worker_envelope_json)
                    : stored.status();
    absl::StatusOr<crypto::DsseEnvelope> mine =
        crypto::DsseEnvelope::FromJson(record_json, verify::kMaxJobRecordSize);
    if (theirs.ok() && mine.ok() && theirs->payload == mine->payload) {
      return absl::AlreadyExistsError(absl::StrCat(
          "job ", job.id, " already delivered this output (", job.output_artifact, ")"));
    }
  }
  if (job.state != JobState::kAdmitted && job.state != JobState::kRunning) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job.id, " is ", storage::JobStateName(job.state),
                     "; only its running attempt delivers an output"));
  }
  if (std::vector<std::string> problems = ContractProblems(*req.contract, clock_.Now());
      !problems.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("contract ", job.contract_id,
                     " is not active: ", absl::StrJoin(problems, "; "), "; the output is refused"));
  }
  // The admission of the current attempt: what the record must repeat.
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Admission> admissions, store_.ListAdmissions(job.id));
  const storage::Admission* admitted = nullptr;
  for (const storage::Admission& a : admissions) {
    if (a.attempt == job.attempt && a.admitted) admitted = &a;
  }
  if (admitted == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job.id, " has no admission for attempt ", job.attempt));
  }
  const contracts::Contract& contract = req.contract->contract;
  verify::ExpectedJobRecord e;
  e.job_id = job.id;
  e.contract_id = contract.id;
  e.contract_digest = req.contract->stored.digest;
  e.base_model_id = contract.base_model.id;
  e.dataset_id = contract.dataset.id;
  TRIAD_ASSIGN_OR_RETURN(e.claims, base::ParseJsonStrict(admitted->claims_json));
  e.tee = e.claims.value("tee", "");
  e.evidence_digest = admitted->evidence_digest;
  e.simulated = admitted->simulated;
  e.age_recipient = req.keys.age_recipient;
  verify::SetContractRecipients(contract, &e);
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey worker_key,
                         crypto::Ed25519PublicKey::FromRaw(req.keys.ed25519_public_key));
  TRIAD_ASSIGN_OR_RETURN(verify::CheckedJobRecord record, verify::CheckJobRecord(record_json, worker_key, e));
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobWriter> writer,
                         blobs_.NewWriter(record.subject_id));
  std::vector<std::string> recipients = e.recipients;
  return std::unique_ptr<Upload>(new OutputUpload(this, std::move(req), std::move(record),
                                                  std::move(record_json), std::move(recipients),
                                                  std::move(writer)));
}

}  // namespace triad::coordinator
