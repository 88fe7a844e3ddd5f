#include "coordinator/service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/status.h"
#include "coordinator/client.h"
#include "storage/log.h"
#include "triad/v1/audit.grpc.pb.h"
#include "triad/v1/contracts.grpc.pb.h"
#include "triad/v1/jobs.grpc.pb.h"
#include "triad/v1/keyholders.grpc.pb.h"
#include "triad/v1/registry.grpc.pb.h"
#include "triad/v1/workers.grpc.pb.h"

namespace triad::coordinator {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share their numbering (both are google.rpc.Code).
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

namespace {

namespace pb = ::triad::v1;

void SetArtifactInfo(const ArtifactInfo& a, pb::ArtifactInfo* out) {
  out->set_id(a.id);
  out->set_kind(a.kind);
  out->set_name(a.name);
  out->set_owner(a.owner);
  out->set_size(a.size);
  if (a.registered != absl::Time()) out->set_registered(base::FormatRfc3339(a.registered));
}

void SetJobStatus(const JobView& v, pb::JobStatus* out) {
  const storage::Job& j = v.job;
  out->set_id(j.id);
  out->set_contract_id(j.contract_id);
  out->set_state(std::string(storage::JobStateName(j.state)));
  out->set_reason(v.reason);
  out->set_simulated(v.simulated);
  out->set_step(static_cast<uint64_t>(j.progress.step));
  out->set_total_steps(static_cast<uint64_t>(j.progress.total_steps));
  out->set_tokens_per_second(j.progress.tokens_per_second);
  if (v.loss_visible && j.progress.loss) {
    out->set_has_loss(true);
    out->set_loss(*j.progress.loss);
  }
  out->set_output_id(j.output_artifact);
  out->set_created(base::FormatRfc3339(j.created_at));
  out->set_updated(base::FormatRfc3339(j.updated_at));
  out->set_attempt(static_cast<uint64_t>(j.attempt));
  out->set_worker_id(j.worker_id);
}

// Streams a blob out. The reader verifies the bytes as they go; a blob that turns out corrupt ends
// the stream with DATA_LOSS, and the client, which checks the digest, discards what it got.
grpc::Status StreamBlob(storage::BlobReader& reader, grpc::ServerContext* ctx,
                        grpc::ServerWriter<pb::Chunk>* writer) {
  pb::Chunk chunk;
  for (;;) {
    if (ctx->IsCancelled())
      return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
    absl::StatusOr<absl::string_view> data = reader.Next();
    if (!data.ok()) return ToGrpcStatus(data.status());
    if (data->empty()) return grpc::Status::OK;
    chunk.set_data(data->data(), data->size());
    if (!writer->Write(chunk))
      return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  }
}

class RegistryService final : public pb::Registry::Service {
 public:
  explicit RegistryService(Coordinator& c) : c_(c) {}

  grpc::Status RegisterParty(grpc::ServerContext*, const pb::SignedRequest* req,
                             pb::RegisterPartyReply* reply) override {
    absl::StatusOr<RegisterPartyResult> r = c_.RegisterParty(req->envelope_json());
    if (!r.ok()) return ToGrpcStatus(r.status());
    reply->set_fingerprint(r->fingerprint);
    reply->set_already_registered(r->already_registered);
    return grpc::Status::OK;
  }

  grpc::Status UploadArtifact(grpc::ServerContext*, grpc::ServerReader<pb::ArtifactUpload>* reader,
                              pb::ArtifactInfo* reply) override {
    pb::ArtifactUpload msg;
    if (!reader->Read(&msg) || !msg.has_registration()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "upload: the first message must be the registration");
    }
    absl::StatusOr<std::unique_ptr<Upload>> up =
        c_.BeginArtifactUpload(msg.registration().envelope_json());
    if (!up.ok()) return ToGrpcStatus(up.status());
    while (reader->Read(&msg)) {
      if (!msg.has_chunk()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "upload: only chunks may follow the registration");
      }
      if (absl::Status st = (*up)->Write(msg.chunk().data()); !st.ok()) return ToGrpcStatus(st);
    }
    absl::StatusOr<ArtifactInfo> info = (*up)->Finish();
    if (!info.ok()) return ToGrpcStatus(info.status());
    SetArtifactInfo(*info, reply);
    return grpc::Status::OK;
  }

  grpc::Status DownloadArtifact(grpc::ServerContext* ctx, const pb::DownloadRequest* req,
                                grpc::ServerWriter<pb::Chunk>* writer) override {
    absl::StatusOr<std::unique_ptr<storage::BlobReader>> r =
        c_.OpenArtifact(req->request().envelope_json());
    if (!r.ok()) return ToGrpcStatus(r.status());
    return StreamBlob(**r, ctx, writer);
  }

  grpc::Status ListArtifacts(grpc::ServerContext*, const pb::SignedRequest* req,
                             pb::ArtifactList* reply) override {
    absl::StatusOr<PartyArtifacts> r = c_.ListArtifacts(req->envelope_json());
    if (!r.ok()) return ToGrpcStatus(r.status());
    reply->set_party(r->party);
    reply->set_role(r->role);
    reply->set_fingerprint(r->fingerprint);
    for (const ArtifactInfo& a : r->artifacts) SetArtifactInfo(a, reply->add_artifacts());
    return grpc::Status::OK;
  }

 private:
  Coordinator& c_;
};

class ContractsService final : public pb::Contracts::Service {
 public:
  explicit ContractsService(Coordinator& c) : c_(c) {}

  grpc::Status SubmitContract(grpc::ServerContext*, const pb::SubmitContractRequest* req,
                              pb::ContractReply* reply) override {
    absl::StatusOr<ContractInfo> info = c_.SubmitContract(req->envelope_json());
    if (!info.ok()) return ToGrpcStatus(info.status());
    Set(*info, reply);
    return grpc::Status::OK;
  }

  grpc::Status GetContract(grpc::ServerContext*, const pb::GetContractRequest* req,
                           pb::GetContractReply* reply) override {
    std::string envelope;
    absl::StatusOr<ContractInfo> info =
        c_.GetContract(req->id(), req->request().envelope_json(), &envelope);
    if (!info.ok()) return ToGrpcStatus(info.status());
    Set(*info, reply->mutable_status());
    reply->set_envelope_json(envelope);
    return grpc::Status::OK;
  }

  grpc::Status RevokeContract(grpc::ServerContext*, const pb::SignedRequest* req,
                              pb::ContractReply* reply) override {
    absl::StatusOr<ContractInfo> info = c_.RevokeContract(req->envelope_json());
    if (!info.ok()) return ToGrpcStatus(info.status());
    Set(*info, reply);
    return grpc::Status::OK;
  }

  grpc::Status ListContracts(grpc::ServerContext*, const pb::SignedRequest* req,
                             pb::ContractList* reply) override {
    absl::StatusOr<std::vector<ContractListing>> list = c_.ListContracts(req->envelope_json());
    if (!list.ok()) return ToGrpcStatus(list.status());
    for (const ContractListing& l : *list) {
      pb::ContractSummary* s = reply->add_contracts();
      Set(l.info, s->mutable_status());
      s->set_role(l.place);
      s->set_model_name(l.model_name);
      s->set_dataset_name(l.dataset_name);
      s->set_not_after(base::FormatRfc3339(l.not_after));
    }
    return grpc::Status::OK;
  }

 private:
  static void Set(const ContractInfo& info, pb::ContractReply* out) {
    out->set_id(info.id);
    out->set_state(info.state);
    out->set_digest(info.digest);
    for (const std::string& r : info.reasons) out->add_reasons(r);
  }
  Coordinator& c_;
};

class JobsService final : public pb::Jobs::Service {
 public:
  explicit JobsService(Coordinator& c) : c_(c) {}

  grpc::Status SubmitJob(grpc::ServerContext*, const pb::SignedRequest* req,
                         pb::SubmitJobReply* reply) override {
    absl::StatusOr<JobView> v = c_.SubmitJob(req->envelope_json());
    if (!v.ok()) return ToGrpcStatus(v.status());
    SetJobStatus(*v, reply->mutable_status());
    return grpc::Status::OK;
  }

  grpc::Status GetJob(grpc::ServerContext*, const pb::GetJobRequest* req,
                      pb::JobStatus* reply) override {
    absl::StatusOr<JobView> v = c_.GetJob(req->id(), req->request().envelope_json());
    if (!v.ok()) return ToGrpcStatus(v.status());
    SetJobStatus(*v, reply);
    return grpc::Status::OK;
  }

  grpc::Status WatchJob(grpc::ServerContext* ctx, const pb::GetJobRequest* req,
                        grpc::ServerWriter<pb::JobStatus>* writer) override {
    // The signed request is checked at the start and on every update; the stream ends when it is
    // no longer fresh (the client signs a new one and watches on).
    uint64_t seen = c_.ChangeCount();
    absl::Time valid_until;
    absl::StatusOr<JobView> v = c_.GetJob(req->id(), req->request().envelope_json(), &valid_until);
    if (!v.ok()) return ToGrpcStatus(v.status());
    absl::StatusOr<std::shared_ptr<void>> slot = c_.OpenWatch(req->request().envelope_json());
    if (!slot.ok()) return ToGrpcStatus(slot.status());
    std::string last;
    for (;;) {
      pb::JobStatus status;
      SetJobStatus(*v, &status);
      std::string bytes = status.SerializeAsString();
      if (bytes != last) {
        if (!writer->Write(status))
          return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
        last = std::move(bytes);
      }
      if (storage::IsTerminal(v->job.state)) return grpc::Status::OK;
      if (ctx->IsCancelled())
        return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
      seen = c_.WaitForChange(seen, absl::Seconds(1));
      if (c_.clock().Now() >= valid_until) {
        return grpc::Status(
            grpc::StatusCode::DEADLINE_EXCEEDED,
            "the signed watch request is no longer fresh; sign a new one to watch on");
      }
      v = c_.GetJob(req->id(), req->request().envelope_json());
      if (!v.ok()) return ToGrpcStatus(v.status());
    }
  }

  grpc::Status FetchOutput(grpc::ServerContext* ctx, const pb::FetchOutputRequest* req,
                           grpc::ServerWriter<pb::Chunk>* writer) override {
    absl::StatusOr<std::unique_ptr<storage::BlobReader>> r =
        c_.OpenOutput(req->request().envelope_json());
    if (!r.ok()) return ToGrpcStatus(r.status());
    return StreamBlob(**r, ctx, writer);
  }

  grpc::Status ListJobs(grpc::ServerContext*, const pb::SignedRequest* req,
                        pb::JobList* reply) override {
    absl::StatusOr<std::vector<JobView>> jobs = c_.ListJobs(req->envelope_json());
    if (!jobs.ok()) return ToGrpcStatus(jobs.status());
    for (const JobView& v : *jobs) SetJobStatus(v, reply->add_jobs());
    return grpc::Status::OK;
  }

  grpc::Status CancelJob(grpc::ServerContext*, const pb::SignedRequest* req,
                         pb::JobStatus* reply) override {
    absl::StatusOr<JobView> v = c_.CancelJob(req->envelope_json());
    if (!v.ok()) return ToGrpcStatus(v.status());
    SetJobStatus(*v, reply);
    return grpc::Status::OK;
  }

 private:
  Coordinator& c_;
};

class WorkersService final : public pb::Workers::Service {
 public:
  explicit WorkersService(Coordinator& c) : c_(c) {}

  grpc::Status Poll(grpc::ServerContext* ctx, const pb::SignedRequest* req,
                    pb::PollReply* reply) override {
    absl::StatusOr<std::optional<Assignment>> a =
        c_.Poll(req->envelope_json(), [ctx] { return ctx->IsCancelled(); });
    if (!a.ok()) return ToGrpcStatus(a.status());
    if (!a->has_value()) return grpc::Status::OK;
    reply->set_has_job(true);
    pb::Assignment* out = reply->mutable_assignment();
    out->set_job_id((*a)->job_id);
    out->set_contract_envelope_json((*a)->contract_envelope_json);
    out->set_nonce((*a)->nonce);
    out->set_nonce_expires(base::FormatRfc3339((*a)->nonce_expires));
    for (const ArtifactInfo& i : (*a)->inputs) SetArtifactInfo(i, out->add_inputs());
    return grpc::Status::OK;
  }

  grpc::Status Attest(grpc::ServerContext*, const pb::AttestRequest* req,
                      pb::AttestReply* reply) override {
    AttestInput in;
    in.request_envelope_json = req->request().envelope_json();
    in.evidence.tee = req->evidence().tee();
    in.evidence.report = req->evidence().report();
    in.evidence.certs = req->evidence().certs();
    in.evidence.collateral = req->evidence().collateral();
    in.evidence.initdata = req->evidence().initdata();
    // GPUs: copied as they came; Coordinator::Attest bounds them and the verifier judges them.
    for (const pb::GpuEvidence& g : req->evidence().gpus()) {
      in.evidence.gpus.push_back({g.uuid(),
                                  g.report(),
                                  g.certs(),
                                  {g.rims().begin(), g.rims().end()},
                                  {g.ocsp().begin(), g.ocsp().end()}});
    }
    if (req->evidence().has_gpu_cc()) {
      const pb::GpuCcState& cc = req->evidence().gpu_cc();
      in.evidence.gpu_cc =
          contracts::GpuCcState{cc.environment(), cc.cc_feature(), cc.devtools_mode(),
                                cc.multi_gpu_mode(), cc.gpus_ready()};
    }
    in.ephemeral_signature_envelope_json = req->ephemeral_signature_envelope_json();
    absl::StatusOr<AttestResult> r = c_.Attest(in);
    if (!r.ok()) return ToGrpcStatus(r.status());
    reply->set_admitted(r->admitted);
    for (const std::string& reason : r->reasons) reply->add_reasons(reason);
    reply->set_simulated(r->simulated);
    reply->set_claims_json(r->claims_json);
    reply->set_evidence_digest(r->evidence_digest);
    return grpc::Status::OK;
  }

  grpc::Status AwaitKeys(grpc::ServerContext* ctx, const pb::SignedRequest* req,
                         pb::KeysReply* reply) override {
    absl::StatusOr<KeysResult> r =
        c_.AwaitKeys(req->envelope_json(), [ctx] { return ctx->IsCancelled(); });
    if (!r.ok()) return ToGrpcStatus(r.status());
    reply->set_ready(r->ready);
    reply->set_refused(r->refused);
    for (const std::string& reason : r->reasons) reply->add_reasons(reason);
    for (const RewrappedHeader& h : r->headers) {
      pb::RewrappedHeader* out = reply->add_headers();
      out->set_artifact_id(h.artifact_id);
      out->set_header(h.header);
      out->set_receipt_json(h.receipt_json);
    }
    return grpc::Status::OK;
  }

  grpc::Status RenewLease(grpc::ServerContext*, const pb::SignedRequest* req,
                          pb::LeaseReply* reply) override {
    absl::StatusOr<LeaseResult> r = c_.RenewLease(req->envelope_json());
    if (!r.ok()) return ToGrpcStatus(r.status());
    if (!r->stop) reply->set_expires(base::FormatRfc3339(r->expires));
    reply->set_stop(r->stop);
    reply->set_reason(r->reason);
    return grpc::Status::OK;
  }

  grpc::Status DownloadInput(grpc::ServerContext* ctx, const pb::SignedRequest* req,
                             grpc::ServerWriter<pb::Chunk>* writer) override {
    absl::StatusOr<std::unique_ptr<storage::BlobReader>> r = c_.OpenInput(req->envelope_json());
    if (!r.ok()) return ToGrpcStatus(r.status());
    return StreamBlob(**r, ctx, writer);
  }

  grpc::Status ReportProgress(grpc::ServerContext*, const pb::SignedRequest* req,
                              pb::Ack* reply) override {
    absl::Status st = c_.ReportProgress(req->envelope_json());
    if (st.ok()) reply->set_message("progress recorded");
    return ToGrpcStatus(st);
  }

  grpc::Status ReportFailure(grpc::ServerContext*, const pb::SignedRequest* req,
                             pb::Ack* reply) override {
    absl::Status st = c_.ReportFailure(req->envelope_json());
    if (st.ok()) reply->set_message("failure recorded");
    return ToGrpcStatus(st);
  }

  grpc::Status UploadOutput(grpc::ServerContext*, grpc::ServerReader<pb::OutputUpload>* reader,
                            pb::Ack* reply) override {
    pb::OutputUpload msg;
    if (!reader->Read(&msg) || !msg.has_statement()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "upload: the first message must be the statement");
    }
    absl::StatusOr<std::unique_ptr<Upload>> up =
        c_.BeginOutputUpload(msg.statement().envelope_json());
    if (!up.ok()) return ToGrpcStatus(up.status());
    while (reader->Read(&msg)) {
      if (!msg.has_chunk()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "upload: only chunks may follow the statement");
      }
      if (absl::Status st = (*up)->Write(msg.chunk().data()); !st.ok()) return ToGrpcStatus(st);
    }
    absl::StatusOr<ArtifactInfo> info = (*up)->Finish();
    if (!info.ok()) return ToGrpcStatus(info.status());
    reply->set_message(absl::StrCat("delivered ", info->id));
    return grpc::Status::OK;
  }

 private:
  Coordinator& c_;
};

class AuditService final : public pb::Audit::Service {
 public:
  explicit AuditService(Coordinator& c) : c_(c) {}

  grpc::Status GetCheckpoint(grpc::ServerContext*, const pb::CheckpointRequest*,
                             pb::CheckpointReply* reply) override {
    absl::StatusOr<std::string> note = c_.CheckpointWithCosignatures();
    if (!note.ok()) return ToGrpcStatus(note.status());
    reply->set_signed_note(*std::move(note));
    return grpc::Status::OK;
  }

  grpc::Status GetConsistencyProof(grpc::ServerContext*, const pb::ConsistencyRequest* req,
                                   pb::ProofReply* reply) override {
    return Proof(c_.store().log().ConsistencyProof(req->from_size(), req->to_size()), reply);
  }

  grpc::Status GetInclusionProof(grpc::ServerContext*, const pb::InclusionRequest* req,
                                 pb::ProofReply* reply) override {
    return Proof(
        c_.GetInclusionProof(req->request().envelope_json(), req->index(), req->tree_size()),
        reply);
  }

  grpc::Status GetEntries(grpc::ServerContext*, const pb::EntriesRequest* req,
                          pb::EntriesReply* reply) override {
    std::vector<std::string> entries, leaves;
    absl::Status st =
        c_.GetEntries(req->request().envelope_json(), req->start(), req->end(), &entries, &leaves);
    if (!st.ok()) return ToGrpcStatus(st);
    for (std::string& e : entries) reply->add_entries(std::move(e));
    for (std::string& h : leaves) reply->add_leaf_hashes(std::move(h));
    return grpc::Status::OK;
  }

  grpc::Status ExportBundle(grpc::ServerContext*, const pb::ExportRequest* req,
                            pb::ExportReply* reply) override {
    absl::StatusOr<std::string> b = c_.ExportBundle(req->job_id(), req->request().envelope_json());
    if (!b.ok()) return ToGrpcStatus(b.status());
    reply->set_bundle_json(*std::move(b));
    return grpc::Status::OK;
  }

  grpc::Status AddCosignature(grpc::ServerContext*, const pb::CosignRequest* req,
                              pb::CosignReply* reply) override {
    absl::StatusOr<int> n = c_.AddCosignatures(req->signed_note());
    if (!n.ok()) return ToGrpcStatus(n.status());
    reply->set_accepted(static_cast<uint32_t>(*n));
    return grpc::Status::OK;
  }

 private:
  static grpc::Status Proof(absl::StatusOr<std::vector<std::string>> p, pb::ProofReply* reply) {
    if (!p.ok()) return ToGrpcStatus(p.status());
    for (std::string& h : *p) reply->add_hashes(std::move(h));
    return grpc::Status::OK;
  }
  Coordinator& c_;
};

class KeyholdersService final : public pb::Keyholders::Service {
 public:
  explicit KeyholdersService(Coordinator& c) : c_(c) {}

  grpc::Status Poll(grpc::ServerContext* ctx, const pb::SignedRequest* req,
                    pb::KeyholderPollReply* reply) override {
    absl::StatusOr<std::vector<ReleaseRequestView>> r =
        c_.KeyholderPoll(req->envelope_json(), [ctx] { return ctx->IsCancelled(); });
    if (!r.ok()) return ToGrpcStatus(r.status());
    for (const ReleaseRequestView& v : *r) {
      pb::ReleaseRequest* out = reply->add_requests();
      out->set_release_id(v.release_id);
      out->set_job_id(v.job_id);
      out->set_attempt(static_cast<uint64_t>(v.attempt));
      out->set_artifact_id(v.artifact_id);
      out->set_contract_envelope_json(v.contract_envelope_json);
      out->set_submission_envelope_json(v.submission_envelope_json);
      out->set_evidence_document(v.evidence_document);
      for (const ProvenEntry& e : v.job_entries) {
        pb::ProvenEntry* pe = out->add_job_entries();
        pe->set_index(e.index);
        pe->set_entry(e.entry);
        for (const std::string& h : e.inclusion_proof) pe->add_inclusion_proof(h);
      }
      out->set_checkpoint(v.checkpoint);
      for (const std::string& h : v.consistency_proof) out->add_consistency_proof(h);
      out->set_consistency_from(v.consistency_from);
      out->set_contract_revoked(v.contract_revoked);
    }
    return grpc::Status::OK;
  }

  grpc::Status Answer(grpc::ServerContext*, const pb::SignedRequest* req, pb::Ack* reply) override {
    absl::Status st = c_.KeyholderAnswer(req->envelope_json());
    if (st.ok()) reply->set_message("answer recorded");
    return ToGrpcStatus(st);
  }

 private:
  Coordinator& c_;
};

}  // namespace

std::vector<std::unique_ptr<grpc::Service>> NewServices(Coordinator& coordinator) {
  std::vector<std::unique_ptr<grpc::Service>> s;
  s.push_back(std::make_unique<RegistryService>(coordinator));
  s.push_back(std::make_unique<ContractsService>(coordinator));
  s.push_back(std::make_unique<JobsService>(coordinator));
  s.push_back(std::make_unique<WorkersService>(coordinator));
  s.push_back(std::make_unique<AuditService>(coordinator));
  s.push_back(std::make_unique<KeyholdersService>(coordinator));
  return s;
}

}  // namespace triad::coordinator
