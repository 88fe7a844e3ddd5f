#include "keyholder/client.h"

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/status.h"
#include "coordinator/client.h"
#include "coordinator/request.h"
#include "crypto/note.h"
#include "spdlog/spdlog.h"
#include "triad/v1/audit.grpc.pb.h"
#include "triad/v1/keyholders.grpc.pb.h"
#include "triad/v1/registry.grpc.pb.h"
#include "verify/audit_verify.h"

namespace triad::keyholder {
namespace {

namespace v1 = ::triad::v1;

bool Transient(const absl::Status& st) {
  return absl::IsUnavailable(st) || absl::IsDeadlineExceeded(st) || absl::IsAborted(st) ||
         absl::IsCancelled(st) || absl::IsResourceExhausted(st);
}

}  // namespace

verify::ReleaseContext ReleaseContextFromProto(const v1::ReleaseRequest& p) {
  verify::ReleaseContext r;
  r.release_id = p.release_id();
  r.job_id = p.job_id();
  r.attempt = p.attempt();
  r.artifact_id = p.artifact_id();
  r.contract_envelope_json = p.contract_envelope_json();
  r.submission_envelope_json = p.submission_envelope_json();
  r.evidence_document = p.evidence_document();
  for (const v1::ProvenEntry& e : p.job_entries()) {
    verify::ReleaseContext::ProvenEntry pe;
    pe.index = e.index();
    pe.entry = e.entry();
    pe.inclusion_proof.assign(e.inclusion_proof().begin(), e.inclusion_proof().end());
    r.job_entries.push_back(std::move(pe));
  }
  r.checkpoint = p.checkpoint();
  r.consistency_proof.assign(p.consistency_proof().begin(), p.consistency_proof().end());
  r.consistency_from = p.consistency_from();
  r.contract_revoked = p.contract_revoked();
  return r;
}

namespace {

class Session {
 public:
  Session(Keyholder& k, std::shared_ptr<grpc::Channel> channel, const ServeOptions& o)
      : k_(k),
        keyholders_(v1::Keyholders::NewStub(channel)),
        audit_(v1::Audit::NewStub(channel)),
        options_(o),
        audience_(k.coordinator().signing_key.KeyId()) {}

  std::string Sign(absl::string_view action, nlohmann::json body) const {
    return coordinator::SignRequest(action, std::move(body), *k_.owner().signing_key,
                                    k_.clock().Now(), audience_)
        .ToJson();
  }

  absl::StatusOr<uint64_t> KnownSize() {
    TRIAD_ASSIGN_OR_RETURN(std::optional<std::string> note, k_.journal().LastCheckpoint());
    if (!note) return uint64_t{0};
    TRIAD_ASSIGN_OR_RETURN(crypto::Checkpoint cp,
                           verify::OpenCardCheckpoint(k_.coordinator(), *note));
    return cp.size;
  }

  // One round: the pending requests, decided and answered; then the log witnessed.
  absl::Status Round() {
    TRIAD_ASSIGN_OR_RETURN(uint64_t known, KnownSize());
    v1::SignedRequest req;
    req.set_envelope_json(Sign("keyholder-poll", {{"known_tree_size", known}}));
    v1::KeyholderPollReply reply;
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.poll_deadline));
      TRIAD_RETURN_IF_ERROR(coordinator::FromGrpcStatus(keyholders_->Poll(&ctx, req, &reply)));
    }
    for (const v1::ReleaseRequest& p : reply.requests()) {
      TRIAD_ASSIGN_OR_RETURN(Answer a, k_.Decide(ReleaseContextFromProto(p)));
      if (options_.on_decision && !a.replayed) options_.on_decision(a);
      nlohmann::json body = {{"release_id", a.release_id}, {"receipt", a.receipt_json}};
      if (a.release) body["header"] = base::Base64Encode(a.header);
      v1::SignedRequest answer;
      answer.set_envelope_json(Sign("keyholder-answer", body));
      v1::Ack ack;
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      absl::Status st = coordinator::FromGrpcStatus(keyholders_->Answer(&ctx, answer, &ack));
      if (!st.ok() && !Transient(st)) {
        // The attempt ended meanwhile, or the coordinator will not take this answer: the decision
        // stands in the journal either way, and nothing was released that was not journaled.
        spdlog::warn("release {}: the coordinator did not take the answer: {}", a.release_id,
                     std::string(st.message()));
        continue;
      }
      TRIAD_RETURN_IF_ERROR(st);
    }
    if (options_.witness) TRIAD_RETURN_IF_ERROR(WitnessOnce());
    return absl::OkStatus();
  }

  absl::Status WitnessOnce() {
    v1::CheckpointReply cp;
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      TRIAD_RETURN_IF_ERROR(
          coordinator::FromGrpcStatus(audit_->GetCheckpoint(&ctx, v1::CheckpointRequest(), &cp)));
    }
    TRIAD_ASSIGN_OR_RETURN(crypto::Checkpoint shown,
                           verify::OpenCardCheckpoint(k_.coordinator(), cp.signed_note()));
    TRIAD_ASSIGN_OR_RETURN(uint64_t known, KnownSize());
    if (shown.size == known && known == witnessed_) return absl::OkStatus();  // cosigned already
    std::vector<std::string> proof;
    if (known > 0 && shown.size > known) {
      v1::ConsistencyRequest req;
      req.set_from_size(known);
      req.set_to_size(shown.size);
      v1::ProofReply p;
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      TRIAD_RETURN_IF_ERROR(
          coordinator::FromGrpcStatus(audit_->GetConsistencyProof(&ctx, req, &p)));
      proof.assign(p.hashes().begin(), p.hashes().end());
    }
    absl::StatusOr<std::string> cosigned = k_.Witness(cp.signed_note(), known, proof);
    if (!cosigned.ok()) {
      spdlog::error("witness: {}", std::string(cosigned.status().message()));
      return absl::OkStatus();  // kept as evidence; releases already refuse such a log
    }
    v1::CosignRequest req;
    req.set_signed_note(*cosigned);
    v1::CosignReply ack;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    TRIAD_RETURN_IF_ERROR(coordinator::FromGrpcStatus(audit_->AddCosignature(&ctx, req, &ack)));
    witnessed_ = shown.size;
    return absl::OkStatus();
  }

 private:
  Keyholder& k_;
  std::unique_ptr<v1::Keyholders::Stub> keyholders_;
  std::unique_ptr<v1::Audit::Stub> audit_;
  const ServeOptions& options_;
  std::string audience_;
  uint64_t witnessed_ = 0;
};

}  // namespace

ArtifactReader DownloadFromCoordinator(std::shared_ptr<grpc::Channel> channel,
                                       const crypto::Ed25519PrivateKey& owner_key,
                                       std::string coordinator_fingerprint,
                                       const base::Clock& clock) {
  auto stub = std::shared_ptr<v1::Registry::Stub>(v1::Registry::NewStub(std::move(channel)));
  return [stub, &owner_key, &clock, audience = std::move(coordinator_fingerprint)](
             const std::string& artifact_id,
             const std::function<absl::Status(absl::string_view)>& sink) -> absl::Status {
    v1::DownloadRequest req;
    req.mutable_request()->set_envelope_json(
        coordinator::SignRequest("download-artifact", {{"artifact_id", artifact_id}}, owner_key,
                                 clock.Now(), audience)
            .ToJson());
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::Chunk>> reader = stub->DownloadArtifact(&ctx, req);
    v1::Chunk chunk;
    absl::Status local;
    while (local.ok() && reader->Read(&chunk)) {
      local = sink(chunk.data());
      if (!local.ok()) ctx.TryCancel();
    }
    absl::Status st = coordinator::FromGrpcStatus(reader->Finish());
    TRIAD_RETURN_IF_ERROR(local);
    return st;
  };
}

absl::Status Serve(Keyholder& keyholder, std::shared_ptr<grpc::Channel> channel,
                   const ServeOptions& options, const std::atomic<bool>& stop) {
  Session session(keyholder, std::move(channel), options);
  absl::Duration backoff = options.retry_initial;
  bool away = false;
  while (!stop.load()) {
    absl::Status st = session.Round();
    if (st.ok()) {
      if (away) spdlog::info("the coordinator is back");
      away = false;
      backoff = options.retry_initial;
      continue;
    }
    if (!Transient(st)) return st;
    if (!away) {
      spdlog::warn("the coordinator is away ({}); retrying with backoff",
                   std::string(st.message()));
    }
    away = true;
    auto until = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(backoff);
    while (!stop.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    backoff = std::min(backoff * 2, options.retry_max);
  }
  return absl::OkStatus();
}

}  // namespace triad::keyholder
