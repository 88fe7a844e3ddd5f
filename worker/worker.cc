#include "worker/worker.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attestation/binding.h"
#include "attestation/evidence_document.h"
#include "attestation/gpu_collector.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "contracts/contract.h"
#include "coordinator/request.h"
#include "crypto/age.h"
#include "crypto/age_keys.h"
#include "crypto/dsse.h"
#include "crypto/hash.h"
#include "crypto/secret.h"
#include "grpcpp/client_context.h"
#include "spdlog/spdlog.h"
#include "trainer/trainer.h"
#include "triad/v1/workers.grpc.pb.h"
#include "verify/receipt.h"
#include "worker/internal/gpu_placement.h"
#include "worker/internal/lease_keeper.h"
#include "worker/internal/model_bundle.h"
#include "worker/internal/progress_reporter.h"
#include "worker/internal/retry.h"
#include "worker/internal/streamed_input.h"
#include "worker/job_record.h"

namespace triad::worker {
namespace {

namespace v1 = ::triad::v1;
using internal::FromGrpc;

constexpr size_t kUploadChunkSize = 1 << 20;
constexpr size_t kMaxWorkerIdSize = 128;

absl::Status ValidateWorkerId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxWorkerIdSize) {
    return absl::InvalidArgumentError("worker id must be 1..128 characters");
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("worker id \"", id, "\" may hold only [A-Za-z0-9._:-]"));
    }
  }
  return absl::OkStatus();
}

absl::Status FromTrainer(const trainer::Status& st) {
  if (st.ok()) return absl::OkStatus();
  absl::StatusCode code = absl::StatusCode::kInternal;
  switch (st.code()) {
    case trainer::Code::kOk:
      return absl::OkStatus();
    case trainer::Code::kInvalidArgument:
      code = absl::StatusCode::kInvalidArgument;
      break;
    case trainer::Code::kFailedPrecondition:
      code = absl::StatusCode::kFailedPrecondition;
      break;
    case trainer::Code::kResourceExhausted:
      code = absl::StatusCode::kResourceExhausted;
      break;
    case trainer::Code::kUnimplemented:
      code = absl::StatusCode::kUnimplemented;
      break;
    case trainer::Code::kCancelled:
      code = absl::StatusCode::kCancelled;
      break;
    case trainer::Code::kInternal:
      code = absl::StatusCode::kInternal;
      break;
  }
  return absl::Status(code, st.message());
}

std::string_view Std(absl::string_view s) { return std::string_view(s.data(), s.size()); }

bool Contains(const std::vector<contracts::Role>& roles, contracts::Role r) {
  return std::find(roles.begin(), roles.end(), r) != roles.end();
}

// Every adapter recipient may see metrics (then the training report inside the adapter archive may
// carry losses).
bool AdapterRecipientsSeeMetrics(const contracts::Outputs& outputs) {
  for (contracts::Role r : outputs.adapter_recipients) {
    if (!Contains(outputs.metrics_recipients, r)) return false;
  }
  return true;
}

// The metrics the contract's metrics recipients receive, sealed to them inside the job record: the
// final loss, and the per-step and held-out losses only with per_step_loss.
std::string MetricsForRecipients(const trainer::TrainReport& report,
                                 const contracts::Outputs& outputs) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(report.ToJson());
  if (!outputs.per_step_loss) {
    j.erase("losses");
    j.erase("eval_losses");
  }
  return j.dump(2) + "\n";
}

// training_report.json for the adapter archive: the trainer's report without what the contract
// keeps inside the TEE. Per-step and held-out losses only with per_step_loss; the final loss only
// when every adapter recipient is a metrics recipient.
std::string TrainingReportForRecipients(const trainer::TrainReport& report,
                                        const contracts::Outputs& outputs) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(report.ToJson());
  const bool metrics = AdapterRecipientsSeeMetrics(outputs);
  if (!outputs.per_step_loss || !metrics) {
    j.erase("losses");
    j.erase("eval_losses");
  }
  if (!metrics) j.erase("final_loss");
  return j.dump(2) + "\n";
}

// A job the worker has accepted to attest for: the assignment and the contract it checked.
struct Job {
  std::string id;
  std::string nonce;
  crypto::DsseEnvelope envelope;
  contracts::Contract contract;
  std::string contract_digest;
  std::map<std::string, uint64_t> input_sizes;  // artifact id -> registered size (0: unknown)
};

// The ephemeral keys of one job. They live only as long as the job (the identity's secret is wiped
// when it goes; OpenSSL wipes the Ed25519 key).
struct EphemeralKeys {
  crypto::age::X25519Identity identity = crypto::age::X25519Identity::Generate();
  crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::Generate();
};

}  // namespace

class Worker::Impl {
 public:
  Impl(std::shared_ptr<grpc::Channel> channel, const crypto::Ed25519PrivateKey& provider_key,
       const attestation::Attester& attester, const base::Clock& clock, WorkerOptions options)
      : stub_(v1::Workers::NewStub(std::move(channel))),
        provider_key_(provider_key),
        attester_(attester),
        clock_(clock),
        options_(std::move(options)) {
    retry_.initial = options_.retry_initial;
    retry_.max = options_.retry_max;
    retry_.budget = options_.retry_budget;
    retry_.sleep = options_.sleep;
    retry_.stop = &stop_;
  }

  absl::Status Run(const JobCallback& on_job);
  absl::StatusOr<std::optional<JobResult>> RunOnce();
  void Stop() { stop_.store(true); }

 private:
  void Sleep(absl::Duration d) const {
    if (options_.sleep) {
      options_.sleep(d);
    } else {
      absl::SleepFor(d);
    }
  }
  std::unique_ptr<grpc::ClientContext> Context() const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_deadline));
    return ctx;
  }
  v1::SignedRequest Sign(absl::string_view action, nlohmann::json body,
                         const crypto::Ed25519PrivateKey& key) const {
    v1::SignedRequest r;
    r.set_envelope_json(coordinator::SignRequest(action, std::move(body), key, clock_.Now(),
                                                 options_.coordinator_fingerprint)
                            .ToJson());
    return r;
  }

  // The RPCs, each retried while the coordinator is away.
  absl::StatusOr<v1::PollReply> Poll();
  absl::StatusOr<v1::AttestReply> Attest(const Job& job, const EphemeralKeys& keys,
                                         const attestation::Evidence& evidence);
  // The owners' keyholders' answers: every input's re-wrapped header, each checked against its
  // owner's signed receipt. kPermissionDenied with the reasons when one refused; kDeadlineExceeded
  // after options.key_wait.
  absl::StatusOr<std::map<std::string, std::string>> AwaitKeys(const Job& job,
                                                               const EphemeralKeys& keys);
  // One lease renewal, without the long retries (a failure is a missed renewal).
  absl::StatusOr<internal::LeaseAnswer> RenewLease(const Job& job,
                                                   const crypto::Ed25519PrivateKey& key);
  absl::Status ReportProgress(const Job& job, const crypto::Ed25519PrivateKey& key,
                              const trainer::Progress& p);
  void ReportFailure(const std::string& job_id, const crypto::Ed25519PrivateKey& key,
                     absl::string_view reason);
  absl::Status Upload(const Job& job, const crypto::Ed25519PrivateKey& key,
                      const crypto::DsseEnvelope& record, const std::string& ciphertext);

  // The job, step by step.
  JobResult RunJob(const v1::Assignment& assignment);
  absl::StatusOr<Job> CheckAssignment(const v1::Assignment& assignment) const;
  absl::StatusOr<crypto::SecretBytes> FetchInput(const Job& job, const EphemeralKeys& keys,
                                                 const std::string& artifact_id,
                                                 const std::string& header_bytes);
  absl::Status TrainAndDeliver(const Job& job, const EphemeralKeys& keys,
                               const attestation::Evidence& evidence, const v1::AttestReply& reply,
                               std::map<std::string, std::string> headers);

  std::unique_ptr<v1::Workers::Stub> stub_;
  const crypto::Ed25519PrivateKey& provider_key_;
  const attestation::Attester& attester_;
  const base::Clock& clock_;
  const WorkerOptions options_;
  internal::RetryPolicy retry_;
  std::atomic<bool> stop_{false};
};

// ---- RPCs
// ----------------------------------------------------------------------------------------

absl::StatusOr<v1::PollReply> Worker::Impl::Poll() {
  v1::PollReply reply;
  absl::Status st = internal::Retry("poll", retry_, [&] {
    v1::SignedRequest req =
        Sign("poll", {{"worker_id", options_.worker_id}, {"tee", attester_.tee()}}, provider_key_);
    auto ctx = Context();
    reply.Clear();
    return FromGrpc(stub_->Poll(ctx.get(), req, &reply));
  });
  if (!st.ok()) return st;
  return reply;
}

absl::StatusOr<v1::AttestReply> Worker::Impl::Attest(const Job& job, const EphemeralKeys& keys,
                                                     const attestation::Evidence& evidence) {
  nlohmann::json body = {
      {"job_id", job.id},
      {"worker_id", options_.worker_id},
      {"nonce", base::HexEncode(job.nonce)},
      {"ed25519_public_key", base::Base64Encode(keys.signing.public_key().raw())},
      {"age_recipient", keys.identity.recipient().ToString()},
  };
  v1::AttestReply reply;
  absl::Status st = internal::Retry("attest", retry_, [&] {
    v1::AttestRequest req;
    crypto::DsseEnvelope provider_env = coordinator::SignRequest(
        "attest", body, provider_key_, clock_.Now(), options_.coordinator_fingerprint);
    // Proof of possession: the same payload bytes, signed by the ephemeral key.
    crypto::DsseEnvelope eph_env{provider_env.payload_type, provider_env.payload, {}};
    crypto::DsseSign(eph_env, keys.signing);
    req.mutable_request()->set_envelope_json(provider_env.ToJson());
    req.set_ephemeral_signature_envelope_json(eph_env.ToJson());
    v1::Evidence* e = req.mutable_evidence();
    e->set_tee(evidence.tee);
    e->set_report(evidence.report);
    e->set_certs(evidence.certs);
    e->set_collateral(evidence.collateral);
    e->set_initdata(evidence.initdata);
    for (const attestation::GpuEvidence& g : evidence.gpus) {
      v1::GpuEvidence* out = e->add_gpus();
      out->set_uuid(g.uuid);
      out->set_report(g.report);
      out->set_certs(g.certs);
      for (const std::string& rim : g.rims) out->add_rims(rim);
      for (const std::string& ocsp : g.ocsp) out->add_ocsp(ocsp);
    }
    if (evidence.gpu_cc) {
      v1::GpuCcState* cc = e->mutable_gpu_cc();
      cc->set_environment(evidence.gpu_cc->environment);
      cc->set_cc_feature(evidence.gpu_cc->cc_feature);
      cc->set_devtools_mode(evidence.gpu_cc->devtools_mode);
      cc->set_multi_gpu_mode(evidence.gpu_cc->multi_gpu_mode);
      cc->set_gpus_ready(evidence.gpu_cc->gpus_ready);
    }
    auto ctx = Context();
    reply.Clear();
    return FromGrpc(stub_->Attest(ctx.get(), req, &reply));
  });
  if (!st.ok()) return st;
  return reply;
}

absl::StatusOr<std::map<std::string, std::string>> Worker::Impl::AwaitKeys(
    const Job& job, const EphemeralKeys& keys) {
  const contracts::Contract& c = job.contract;
  const absl::Time give_up = absl::Now() + options_.key_wait;
  for (;;) {
    v1::KeysReply reply;
    absl::Status st = internal::Retry("await keys", retry_, [&] {
      v1::SignedRequest req = Sign("await-keys", {{"job_id", job.id}}, keys.signing);
      auto ctx = Context();
      reply.Clear();
      return FromGrpc(stub_->AwaitKeys(ctx.get(), req, &reply));
    });
    if (!st.ok()) return st;
    if (reply.refused()) {
      return absl::PermissionDeniedError(
          absl::StrCat("the keys were not released: ",
                       absl::StrJoin(reply.reasons().begin(), reply.reasons().end(), "; ")));
    }
    if (reply.ready()) {
      // Each header must come with its owner's receipt naming this very header and these keys: the
      // coordinator relays, it cannot speak for an owner.
      std::map<std::string, std::string> headers;
      for (const v1::RewrappedHeader& h : reply.headers()) {
        const contracts::PartyCard* owner = h.artifact_id() == c.base_model.id ? &c.model_owner
                                            : h.artifact_id() == c.dataset.id  ? &c.data_owner
                                                                               : nullptr;
        if (owner == nullptr) {
          return absl::PermissionDeniedError(absl::StrCat(
              "a header came for ", h.artifact_id(), ", which is not an input of the contract"));
        }
        absl::StatusOr<verify::ReleaseReceipt> rc =
            verify::OpenReceipt(h.receipt_json(), owner->signing_key);
        if (!rc.ok()) {
          return absl::PermissionDeniedError(
              absl::StrCat("the header of ", h.artifact_id(), " came without a valid receipt of ",
                           owner->name, ": ", rc.status().message()));
        }
        if (!rc->release || rc->job_id != job.id || rc->artifact_id != h.artifact_id() ||
            rc->recipient != keys.identity.recipient().ToString() ||
            rc->ed25519_public_key != keys.signing.public_key().raw() ||
            rc->header_digest != crypto::Sha256Id(h.header())) {
          return absl::PermissionDeniedError(
              absl::StrCat("the receipt of ", owner->name, " for ", h.artifact_id(),
                           " does not name this job, these keys and this header"));
        }
        headers[h.artifact_id()] = h.header();
      }
      for (const std::string& id : {c.base_model.id, c.dataset.id}) {
        if (!headers.count(id)) {
          return absl::PermissionDeniedError(absl::StrCat("no key was released for input ", id));
        }
      }
      return headers;
    }
    if (absl::Now() >= give_up || stop_.load()) {
      return absl::DeadlineExceededError(
          absl::StrCat("the owners' keyholders did not answer within ",
                       absl::FormatDuration(options_.key_wait)));
    }
  }
}

absl::StatusOr<internal::LeaseAnswer> Worker::Impl::RenewLease(
    const Job& job, const crypto::Ed25519PrivateKey& key) {
  v1::SignedRequest req = Sign("renew-lease", {{"job_id", job.id}}, key);
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::LeaseReply reply;
  TRIAD_RETURN_IF_ERROR(FromGrpc(stub_->RenewLease(ctx.get(), req, &reply)));
  return internal::LeaseAnswer{reply.stop(), reply.reason()};
}

absl::Status Worker::Impl::ReportProgress(const Job& job, const crypto::Ed25519PrivateKey& key,
                                          const trainer::Progress& p) {
  nlohmann::json body = {{"job_id", job.id},
                         {"step", p.step},
                         {"total_steps", p.total_steps},
                         {"tokens_per_second", p.tokens_per_second}};
  // The loss leaves the TEE only when the contract says so.
  if (job.contract.outputs.per_step_loss) body["loss"] = p.loss;
  return internal::Retry("report progress", retry_, [&] {
    v1::SignedRequest req = Sign("report-progress", body, key);
    v1::Ack ack;
    auto ctx = Context();
    return FromGrpc(stub_->ReportProgress(ctx.get(), req, &ack));
  });
}

void Worker::Impl::ReportFailure(const std::string& job_id, const crypto::Ed25519PrivateKey& key,
                                 absl::string_view reason) {
  spdlog::error("job {}: failed: {}", job_id, std::string(reason));
  absl::Status st = internal::Retry("report failure", retry_, [&] {
    v1::SignedRequest req =
        Sign("report-failure", {{"job_id", job_id}, {"reason", std::string(reason)}}, key);
    v1::Ack ack;
    auto ctx = Context();
    return FromGrpc(stub_->ReportFailure(ctx.get(), req, &ack));
  });
  if (!st.ok())
    spdlog::warn("job {}: could not report the failure: {}", job_id, std::string(st.message()));
}

absl::Status Worker::Impl::Upload(const Job& job, const crypto::Ed25519PrivateKey& key,
                                  const crypto::DsseEnvelope& record,
                                  const std::string& ciphertext) {
  bool retried = false;
  absl::Status st = internal::Retry("upload output", retry_, [&] {
    grpc::ClientContext ctx;  // no deadline: the adapter may be large
    v1::Ack ack;
    std::unique_ptr<grpc::ClientWriter<v1::OutputUpload>> writer = stub_->UploadOutput(&ctx, &ack);
    v1::OutputUpload first;
    *first.mutable_statement() =
        Sign("deliver-output", {{"job_id", job.id}, {"record", record.ToJson()}}, key);
    bool sent = writer->Write(first);
    for (size_t off = 0; sent && off < ciphertext.size(); off += kUploadChunkSize) {
      v1::OutputUpload part;
      part.mutable_chunk()->set_data(ciphertext.substr(off, kUploadChunkSize));
      sent = writer->Write(part);
    }
    if (sent) writer->WritesDone();
    absl::Status result = FromGrpc(writer->Finish());
    if (internal::IsTransient(result)) retried = true;
    return result;
  });
  // The first attempt may have landed with only its answer lost: the coordinator then knows the
  // output already.
  if (retried && absl::IsAlreadyExists(st)) return absl::OkStatus();
  return st;
}

// ---- The job
// -------------------------------------------------------------------------------------

absl::StatusOr<Job> Worker::Impl::CheckAssignment(const v1::Assignment& a) const {
  TRIAD_ASSIGN_OR_RETURN(
      crypto::DsseEnvelope envelope,
      base::Annotate(crypto::DsseEnvelope::FromJson(a.contract_envelope_json(),
                                                    contracts::kMaxContractEnvelopeSize),
                     "contract envelope"));
  contracts::ContractStatus status = contracts::CheckContract(envelope, clock_.Now());
  if (!status.active()) {
    return absl::FailedPreconditionError(
        absl::StrCat("contract is not active: ", absl::StrJoin(status.reasons, "; ")));
  }
  Job job{a.job_id(),    a.nonce(), std::move(envelope), std::move(*status.contract),
          status.digest, {}};
  const contracts::PartyCard& provider = job.contract.compute_provider;
  if (provider.signing_key != provider_key_.public_key()) {
    return absl::PermissionDeniedError(
        absl::StrCat("contract ", job.contract.id, " names compute provider \"", provider.name,
                     "\" (key ", provider.fingerprint(), "), not this worker's provider (key ",
                     provider_key_.public_key().KeyId(), ")"));
  }
  std::set<std::string> want = {job.contract.base_model.id, job.contract.dataset.id};
  std::set<std::string> got;
  for (const v1::ArtifactInfo& in : a.inputs()) {
    got.insert(in.id());
    job.input_sizes[in.id()] = in.size();
  }
  if (got != want || static_cast<size_t>(a.inputs_size()) != want.size()) {
    std::vector<std::string> ids;
    for (const v1::ArtifactInfo& in : a.inputs()) ids.push_back(in.id());
    return absl::FailedPreconditionError(absl::StrCat(
        "assignment inputs [", absl::StrJoin(ids, ", "), "] are not the contract's base model ",
        job.contract.base_model.id, " and dataset ", job.contract.dataset.id));
  }
  return job;
}

absl::StatusOr<crypto::SecretBytes> Worker::Impl::FetchInput(const Job& job,
                                                             const EphemeralKeys& keys,
                                                             const std::string& artifact_id,
                                                             const std::string& header_bytes) {
  TRIAD_ASSIGN_OR_RETURN(crypto::age::Header rewrapped,
                         base::Annotate(crypto::age::Header::Parse(header_bytes),
                                        absl::StrCat("re-wrapped header of input ", artifact_id)));
  if (rewrapped.size() != header_bytes.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("re-wrapped header of input ", artifact_id, " is followed by ",
                     header_bytes.size() - rewrapped.size(), " bytes that are not part of it"));
  }
  internal::StreamedInputOptions opts;
  opts.artifact_id = artifact_id;
  auto it = job.input_sizes.find(artifact_id);
  opts.expected_size = it != job.input_sizes.end() ? it->second : 0;
  opts.max_size = options_.max_input_size;
  opts.threads = options_.threads;
  // Decrypted as it downloads (internal/streamed_input.h): the ciphertext is never held whole
  // beside the plaintext. A stream broken by the coordinator's absence starts over.
  crypto::SecretBytes plaintext;
  absl::Status st = internal::Retry(absl::StrCat("download ", artifact_id), retry_, [&] {
    v1::SignedRequest req =
        Sign("download-input", {{"job_id", job.id}, {"artifact_id", artifact_id}}, keys.signing);
    grpc::ClientContext ctx;  // no deadline: a large model streams for a while
    std::unique_ptr<grpc::ClientReader<v1::Chunk>> reader = stub_->DownloadInput(&ctx, req);
    bool ended = false;
    internal::NextChunk next = [&]() -> absl::StatusOr<std::optional<std::string>> {
      v1::Chunk chunk;
      if (reader->Read(&chunk)) return std::optional<std::string>(std::move(*chunk.mutable_data()));
      ended = true;
      TRIAD_RETURN_IF_ERROR(FromGrpc(reader->Finish()));
      return std::optional<std::string>();
    };
    absl::StatusOr<crypto::SecretBytes> got =
        internal::DecryptStreamed(next, keys.identity, rewrapped, opts);
    if (!ended) {
      ctx.TryCancel();
      (void)reader->Finish();
    }
    if (!got.ok()) return got.status();
    plaintext = *std::move(got);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return plaintext;
}

absl::Status Worker::Impl::TrainAndDeliver(const Job& job, const EphemeralKeys& keys,
                                           const attestation::Evidence& evidence,
                                           const v1::AttestReply& reply,
                                           std::map<std::string, std::string> headers) {
  const contracts::Contract& c = job.contract;
  // Only on what was attested, decided before any input is decrypted: the CPU for a contract
  // without GPUs, and otherwise exactly the attested GPUs, which must be the only devices CUDA
  // sees.
  TRIAD_ASSIGN_OR_RETURN(
      internal::Placement placement,
      internal::PlaceTraining(c.training.gpus, attestation::GpuUuids(evidence),
                              std::getenv("CUDA_VISIBLE_DEVICES"), options_.device));
  // From here on the keys are held under the lease: everything below stops, and what it holds is
  // wiped as it goes out of scope, when the lease ends.
  std::atomic<bool> cancel{false};
  internal::LeaseKeeper lease([&] { return RenewLease(job, keys.signing); }, c.terms.key_lease(),
                              &cancel);
  auto lease_ended = [&]() -> absl::Status {
    if (std::optional<std::string> why = lease.Ended()) {
      return absl::AbortedError(
          absl::StrCat(*why, "; keys and plaintext wiped, the attempt stops"));
    }
    return absl::OkStatus();
  };
  nlohmann::ordered_json claims;
  if (!reply.claims_json().empty()) {
    // Strict first (bounded, no duplicate keys), then again keeping the coordinator's key order.
    TRIAD_RETURN_IF_ERROR(base::Annotate(base::ParseJsonStrict(reply.claims_json()).status(),
                                         "claims returned by Attest"));
    claims = nlohmann::ordered_json::parse(reply.claims_json());
  }

  // Inputs: decrypted into SecretBytes, in memory only.
  TRIAD_ASSIGN_OR_RETURN(crypto::SecretBytes model_tar,
                         FetchInput(job, keys, c.base_model.id, headers[c.base_model.id]));
  TRIAD_RETURN_IF_ERROR(lease_ended());
  TRIAD_ASSIGN_OR_RETURN(crypto::SecretBytes dataset,
                         FetchInput(job, keys, c.dataset.id, headers[c.dataset.id]));
  headers.clear();
  TRIAD_RETURN_IF_ERROR(lease_ended());
  spdlog::info("job {}: inputs verified and decrypted in memory", job.id);
  TRIAD_ASSIGN_OR_RETURN(trainer::ModelFiles model, internal::ModelFilesFromTar(model_tar.view()));
  // The trainer consumes the checkpoint as it loads it (each tensor's plaintext wiped and its pages
  // handed back once on the device), so the archive and the loaded model never both exist in full.
  trainer::ConsumableBuffer consumable(reinterpret_cast<char*>(model_tar.data()), model_tar.size());
  model.consumable = &consumable;

  // Train.
  const std::string training_json = c.training.ToJson().dump();
  trainer::Result<trainer::TrainingConfig> config =
      trainer::ParseTrainingConfig(std::string_view(training_json));
  if (!config.ok())
    return base::Annotate(FromTrainer(config.status()), "contract training section");
  internal::ProgressReporter reporter(
      [&](const trainer::Progress& p) { return ReportProgress(job, keys.signing, p); },
      options_.progress_interval, &cancel);
  trainer::TrainOptions topts;
  topts.device = placement.device;
  topts.num_gpus = placement.num_gpus;
  topts.threads = options_.threads;
  topts.precision = options_.precision;
  topts.on_progress = [&](const trainer::Progress& p) { reporter.Update(p); };
  topts.cancel = &cancel;
  spdlog::info("job {}: training on {}", job.id,
               placement.device == "cpu"
                   ? std::string("the CPU")
                   : absl::StrCat(placement.num_gpus, " attested GPU(s) ",
                                  absl::StrJoin(attestation::GpuUuids(evidence), ",")));
  trainer::Result<trainer::TrainResult> trained =
      trainer::Train(model, Std(dataset.view()), *config, topts);
  absl::Status progress_status = reporter.Finish();
  // The inputs are no longer needed: wipe them now rather than at the end of the job.
  model = trainer::ModelFiles();
  model_tar.clear();
  dataset.clear();
  if (absl::Status ended = lease_ended(); !ended.ok()) {
    if (trained.ok()) trainer::Wipe(*trained);
    return ended;
  }
  if (!trained.ok()) {
    if (!progress_status.ok()) return base::Annotate(progress_status, "reporting progress");
    return base::Annotate(FromTrainer(trained.status()), "training");
  }
  struct WipeOnExit {
    trainer::TrainResult& r;
    ~WipeOnExit() { trainer::Wipe(r); }
  } wipe_result{*trained};
  if (!progress_status.ok()) return base::Annotate(progress_status, "reporting progress");
  const trainer::TrainReport& report = trained->report;
  spdlog::info("job {}: trained {} steps, {} tokens in {:.1f} s", job.id, report.steps,
               report.tokens, report.wall_seconds);

  // Pack and seal the adapter.
  std::string report_json = TrainingReportForRecipients(report, c.outputs);
  absl::StatusOr<crypto::SecretBytes> tar = internal::PackAdapter(trained->adapter, report_json);
  trainer::Wipe(report_json);
  if (!tar.ok()) return base::Annotate(tar.status(), "packing the adapter");
  std::vector<crypto::age::X25519Recipient> recipients;
  std::vector<std::string> recipient_names;
  for (contracts::Role r : c.outputs.adapter_recipients) {
    const crypto::age::X25519Recipient& rec = c.party(r).age_recipient;
    if (std::find(recipients.begin(), recipients.end(), rec) != recipients.end()) continue;
    recipients.push_back(rec);
    recipient_names.push_back(rec.ToString());
  }
  crypto::age::EncryptOptions eopts;
  eopts.threads = options_.threads;
  absl::StatusOr<std::string> sealed = crypto::age::Encrypt(recipients, tar->view(), eopts);
  tar->clear();
  if (!sealed.ok()) return base::Annotate(sealed.status(), "encrypting the adapter");

  // The job record, signed by the attested ephemeral key.
  JobRecord record;
  record.job_id = job.id;
  record.contract_id = c.id;
  record.contract_digest = job.contract_digest;
  record.base_model_id = c.base_model.id;
  record.dataset_id = c.dataset.id;
  record.adapter_sha256 = base::HexEncode(crypto::Sha256(*sealed));
  record.tee = evidence.tee;
  record.evidence_digest =
      reply.evidence_digest().empty() ? crypto::Sha256Id(evidence.report) : reply.evidence_digest();
  record.claims = std::move(claims);
  record.simulated = reply.simulated();
  record.ed25519_public_key = keys.signing.public_key().raw();
  record.age_recipient = keys.identity.recipient().ToString();
  record.steps = report.steps;
  record.tokens = report.tokens;
  record.wall_seconds = report.wall_seconds;
  record.recipients = recipient_names;
  if (!c.outputs.metrics_recipients.empty()) {
    // The metric values travel sealed to their recipients alone; every reader sees the record.
    std::vector<crypto::age::X25519Recipient> metrics_to;
    for (contracts::Role r : c.outputs.metrics_recipients) {
      const crypto::age::X25519Recipient& rec = c.party(r).age_recipient;
      if (std::find(metrics_to.begin(), metrics_to.end(), rec) != metrics_to.end()) continue;
      metrics_to.push_back(rec);
      record.metrics_recipients.push_back(rec.ToString());
    }
    std::string metrics_json = MetricsForRecipients(report, c.outputs);
    absl::StatusOr<std::string> sealed_metrics = crypto::age::Encrypt(metrics_to, metrics_json);
    trainer::Wipe(metrics_json);
    if (!sealed_metrics.ok()) return base::Annotate(sealed_metrics.status(), "sealing the metrics");
    record.sealed_metrics = *std::move(sealed_metrics);
  }
  TRIAD_RETURN_IF_ERROR(lease_ended());
  crypto::DsseEnvelope envelope = SignJobRecord(record, keys.signing);

  TRIAD_RETURN_IF_ERROR(
      base::Annotate(Upload(job, keys.signing, envelope, *sealed), "uploading the adapter"));
  spdlog::info("job {}: adapter delivered ({} recipients), record subject sha256:{}", job.id,
               recipients.size(), record.adapter_sha256);
  return absl::OkStatus();
}

JobResult Worker::Impl::RunJob(const v1::Assignment& assignment) {
  JobResult result;
  result.job_id = assignment.job_id();
  const std::string& job_id = result.job_id;
  spdlog::info("job {}: assigned", job_id);
  auto fail = [&](const crypto::Ed25519PrivateKey& key, const absl::Status& st) {
    result.outcome = JobResult::Outcome::kFailed;
    result.reasons = {std::string(st.message())};
    ReportFailure(job_id, key, st.message());
    return result;
  };

  // Before admission: failures are reported with the provider's key.
  absl::StatusOr<Job> job = CheckAssignment(assignment);
  if (!job.ok()) {
    return fail(provider_key_, base::Annotate(job.status(), "the worker refuses the assignment"));
  }
  EphemeralKeys keys;
  attestation::BindingInputs binding{job->nonce, job->id, keys.signing.public_key(),
                                     keys.identity.recipient()};
  // A contract that trains on GPUs is attested with exactly that many GPUs, bound to the CPU
  // evidence (attestation/binding.h); one that does not, with the CPU alone.
  const int64_t contract_gpus = job->contract.training.gpus;
  if (absl::Status st = internal::CheckGpusForContract(contract_gpus, options_.gpus); !st.ok()) {
    return fail(provider_key_, base::Annotate(st, "the worker refuses the assignment"));
  }
  absl::StatusOr<attestation::Evidence> evidence;
  if (contract_gpus > 0) {
    evidence = attestation::CollectEvidence(attester_, options_.gpus, binding);
  } else {
    absl::StatusOr<std::string> report_data = attestation::ExpectedReportData(binding);
    if (!report_data.ok())
      return fail(provider_key_, base::Annotate(report_data.status(), "binding"));
    evidence = attester_.Attest(*report_data);
  }
  if (!evidence.ok()) {
    return fail(provider_key_, base::Annotate(evidence.status(), "attestation"));
  }
  if (!options_.collateral.empty()) evidence->collateral = options_.collateral;
  // GPU collateral is authenticated by its own signatures and outside the binding.
  for (attestation::GpuEvidence& g : evidence->gpus) {
    g.rims = options_.gpu_rims;
    g.ocsp = options_.gpu_ocsp;
  }

  absl::StatusOr<v1::AttestReply> reply = Attest(*job, keys, *evidence);
  if (!reply.ok()) {
    // Nothing was released to these keys; they go with this scope.
    result.outcome = JobResult::Outcome::kRejected;
    result.reasons = {absl::StrCat("attest: ", reply.status().message())};
    spdlog::warn("job {}: not admitted: {}", job_id, result.reasons[0]);
    return result;
  }
  if (!reply->admitted()) {
    result.outcome = JobResult::Outcome::kRejected;
    result.reasons.assign(reply->reasons().begin(), reply->reasons().end());
    spdlog::warn("job {}: admission rejected{}: {}", job_id,
                 reply->simulated() ? " (sim worker)" : "", absl::StrJoin(result.reasons, "; "));
    return result;
  }
  spdlog::info("job {}: admitted{}", job_id,
               reply->simulated() ? " (SIMULATED: no hardware protection)" : "");

  // After admission: failures are reported with the ephemeral key.
  absl::StatusOr<std::map<std::string, std::string>> headers = AwaitKeys(*job, keys);
  if (!headers.ok()) return fail(keys.signing, headers.status());
  spdlog::info("job {}: the owners' keyholders released both keys", job_id);
  absl::Status st = TrainAndDeliver(*job, keys, *evidence, *reply, *std::move(headers));
  if (!st.ok()) return fail(keys.signing, st);
  result.outcome = JobResult::Outcome::kDelivered;
  return result;
}

absl::StatusOr<std::optional<JobResult>> Worker::Impl::RunOnce() {
  TRIAD_RETURN_IF_ERROR(ValidateWorkerId(options_.worker_id));
  TRIAD_ASSIGN_OR_RETURN(v1::PollReply reply, Poll());
  if (!reply.has_job()) return std::optional<JobResult>();
  return std::optional<JobResult>(RunJob(reply.assignment()));
}

absl::Status Worker::Impl::Run(const JobCallback& on_job) {
  TRIAD_RETURN_IF_ERROR(ValidateWorkerId(options_.worker_id));
  spdlog::info("worker {}: polling as compute provider key {} with tee {}", options_.worker_id,
               provider_key_.public_key().KeyId(), attester_.tee());
  while (!stop_.load()) {
    absl::StatusOr<std::optional<JobResult>> r = RunOnce();
    if (!r.ok()) {
      if (stop_.load()) break;
      return r.status();
    }
    if (r->has_value() && (*r)->outcome == JobResult::Outcome::kRejected && on_job) on_job(**r);
    if (!r->has_value() || (*r)->outcome == JobResult::Outcome::kRejected) {
      Sleep(options_.poll_interval);
      continue;
    }
    const JobResult& job = **r;
    if (on_job) on_job(job);
    if (options_.once) {
      if (job.outcome == JobResult::Outcome::kDelivered) return absl::OkStatus();
      return absl::AbortedError(
          absl::StrCat("job ", job.job_id, " failed: ", absl::StrJoin(job.reasons, "; ")));
    }
  }
  return absl::OkStatus();
}

// ---- Worker
// ----------------------------------------------------------------------------------------

Worker::Worker(std::shared_ptr<grpc::Channel> channel,
               const crypto::Ed25519PrivateKey& provider_key, const attestation::Attester& attester,
               const base::Clock& clock, WorkerOptions options)
    : impl_(std::make_unique<Impl>(std::move(channel), provider_key, attester, clock,
                                   std::move(options))) {}
Worker::~Worker() = default;
absl::Status Worker::Run(const JobCallback& on_job) { return impl_->Run(on_job); }
absl::StatusOr<std::optional<JobResult>> Worker::RunOnce() { return impl_->RunOnce(); }
void Worker::Stop() { impl_->Stop(); }

}  // namespace triad::worker
