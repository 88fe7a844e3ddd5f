// The worker: runs inside a TEE for a compute provider, takes jobs from the coordinator, attests,
// receives the input keys, trains in memory, and delivers the encrypted adapter with a signed job
// record (E2E-SPEC steps 5-7).
//
// One job, in order:
//   1. Poll (signed by the provider's key) until the coordinator assigns a job and a nonce.
//   2. Check the contract itself: active at the clock's now, naming this provider's key as
//      compute_provider, with the assignment's inputs being its base model and dataset.
//   3. Make an ephemeral age identity and Ed25519 key for this job only; ask the attester for
//      evidence over attestation::ExpectedReportData(nonce, job id, eph key, eph recipient) or,
//      when the contract trains on GPUs, collect the GPUs' reports and the CPU evidence committing
//      to them (attestation::CollectEvidence); Attest with the request signed by the provider's key
//      and by the ephemeral key (proof of possession).
//   4. Rejected: log the reasons; nothing was released; go on polling.
//   5. Admitted: await the owners' keyholders (AwaitKeys): each input's header re-wrapped to the
//      ephemeral recipient, with its owner's signed receipt naming this job, these keys and that
//      header (checked). From then on the keys are held under the contract's key lease (renewed
//      every quarter of it; when it ends, everything stops and is wiped). Download each input,
//      check sha256(ciphertext) == artifact id, splice the re-wrapped
//      header with the original payload, decrypt into SecretBytes on all cores (never to disk);
//      unpack the model tar in memory; train with the contract's training section, reporting
//      progress (loss only when outputs.per_step_loss); pack the adapter as a tar in memory;
//      age-encrypt it to outputs.adapter_recipients; seal the metrics to outputs.metrics_recipients
//      inside the job record; sign the job record with the ephemeral key; upload. Plaintext and
//      keys are wiped when the job ends, whatever its outcome.
//   A failure after admission is reported (ReportFailure, signed by the ephemeral key) with its
//   reason; before admission, with the provider's key.
//
// RPCs that fail because the coordinator is away (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED,
// CANCELLED) are retried with exponential backoff, for up to `retry_budget` each; training never
// waits on the coordinator (progress is sent from a separate thread), so a coordinator restart
// mid-training does not abort the job.
//
// Nothing secret is logged: no key, no plaintext, no dataset line, no loss.
#ifndef TRIAD_WORKER_WORKER_H_
#define TRIAD_WORKER_WORKER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attestation/attester.h"
#include "attestation/gpu_collector.h"
#include "base/clock.h"
#include "crypto/ed25519.h"
#include "grpcpp/channel.h"

namespace triad::worker {

struct WorkerOptions {
  // Names this worker to the coordinator (Poll/Attest bodies). Required: 1..128 of [A-Za-z0-9._:-].
  std::string worker_id;
  // The coordinator card's key fingerprint: the audience of every request. Required.
  std::string coordinator_fingerprint;
  // How long to wait for the owners' keyholders after admission before giving the attempt up.
  absl::Duration key_wait = absl::Minutes(15);
  // Training: "cpu" or "cuda"/"cuda:N"; with "cuda", data parallel over num_gpus GPUs.
  std::string device = "cpu";
  int num_gpus = 1;
  std::string precision = "auto";
  // Threads for decryption and CPU training; 0: one per hardware thread.
  int threads = 0;
  // TDX collateral JSON sent with the evidence (the coordinator verifies offline); empty: none.
  std::string collateral;
  // The NVIDIA GPUs this worker attests and trains on (borrowed, must outlive the worker; null:
  // none). A job whose contract asks for N GPUs (training.gpus) is attested with
  // attestation::CollectEvidence over exactly these N GPUs, and trained only on them
  // (internal/gpu_placement.h); a job without GPUs is attested and trained on the CPU.
  const attestation::GpuCollector* gpus = nullptr;
  // Collateral attached to every GPU's evidence: NVIDIA RIMs (SWID XML) and DER OCSP responses.
  std::vector<std::string> gpu_rims;
  std::vector<std::string> gpu_ocsp;
  // Run(): stop after the first job this worker was admitted to.
  bool once = false;

  // Wait between polls that returned no job, and after a rejected admission.
  absl::Duration poll_interval = absl::Seconds(2);
  // Deadline of each unary RPC (Poll waits server-side for a few seconds).
  absl::Duration rpc_deadline = absl::Seconds(60);
  // Backoff while the coordinator is away: initial, doubling up to max, for at most budget per RPC.
  absl::Duration retry_initial = absl::Milliseconds(200);
  absl::Duration retry_max = absl::Seconds(10);
  absl::Duration retry_budget = absl::Minutes(30);
  // At most one ReportProgress per interval; the last step is always reported.
  absl::Duration progress_interval = absl::Seconds(2);
  // Largest input ciphertext accepted when the assignment does not state its size.
  uint64_t max_input_size = uint64_t{256} << 30;
  // Sleeps between retries and polls; null: absl::SleepFor. Tests shorten it.
  std::function<void(absl::Duration)> sleep;
};

// How one assigned job ended.
struct JobResult {
  enum class Outcome {
    kDelivered,  // the adapter and job record were uploaded and acknowledged
    kRejected,   // the coordinator did not admit this worker; nothing was released
    kFailed,     // the job failed (reported to the coordinator when it could be)
  };
  std::string job_id;
  Outcome outcome = Outcome::kFailed;
  // kRejected: the coordinator's reasons; kFailed: the one reason reported.
  std::vector<std::string> reasons;
};

// Called by Run() after each assigned job, on Run()'s thread (the CLI prints a line).
using JobCallback = std::function<void(const JobResult&)>;

class Worker {
 public:
  // `provider_key` is the compute provider's signing key (the worker acts for it); `attester` makes
  // the evidence; `clock` dates requests and checks the contract. All three are borrowed and must
  // outlive the worker. `channel` is a channel to the coordinator (coordinator::OpenChannel).
  Worker(std::shared_ptr<grpc::Channel> channel, const crypto::Ed25519PrivateKey& provider_key,
         const attestation::Attester& attester, const base::Clock& clock, WorkerOptions options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Polls and runs jobs until Stop(), or with options.once until the first admitted job ends: then
  // OK when it was delivered and the job's failure otherwise (kAborted "job J failed: reason").
  // Fails with kUnavailable when the coordinator stayed away for longer than retry_budget, and with
  // kInvalidArgument for a bad worker id.
  absl::Status Run(const JobCallback& on_job = nullptr);

  // One poll; when a job is assigned, runs it to its end. nullopt when no job was assigned. Errors
  // only for failures that are not about a job (the coordinator refusing the poll, or away).
  absl::StatusOr<std::optional<JobResult>> RunOnce();

  // Makes Run() return after the poll or job in progress. Thread-safe; callable from a signal
  // handler's helper thread.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace triad::worker

#endif  // TRIAD_WORKER_WORKER_H_
