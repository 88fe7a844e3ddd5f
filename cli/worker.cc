// triad worker run: the TEE worker of a compute provider (worker/worker.h). Built only with the
// trainer.
#include "worker/worker.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attestation/attester.h"
#include "attestation/gpu_collector.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/hardening.h"
#include "base/status.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "cli/keys.h"
#include "contracts/card.h"
#include "coordinator/card.h"
#include "coordinator/client.h"

namespace triad::cli {
namespace {

constexpr size_t kMaxCollateralSize = 4 << 20;
constexpr size_t kMaxGpuCollateralSize = 1 << 20;  // one RIM or OCSP response

struct WorkerFlags {
  std::string coordinator;
  std::string coordinator_card;
  bool insecure = false;
  std::string as;
  std::string tee;
  std::string sim_key;
  std::string collateral;
  int threads = 0;
  std::string device;
  std::string precision = "auto";
  std::string gpus;
  DeviceChoice resolved;  // --device and --gpus together (cli/flags.h)
  std::vector<std::string> gpu_rims, gpu_ocsp;
  std::string coco_agent, coco_initdata;
  bool once = false;
  std::string worker_id;
};

std::string DefaultWorkerId() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return "worker";
  std::string id;
  for (const char* p = host; *p; ++p) {
    const char c = *p;
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    id.push_back(ok ? c : '-');
  }
  return id.substr(0, 128);
}

absl::Status RunWorker(const WorkerFlags& f) {
  // Before any key or plaintext exists in this process.
  TRIAD_RETURN_IF_ERROR(base::Annotate(base::DisableCoreDumps(), "disabling core dumps"));

  worker::WorkerOptions options;
  options.worker_id = f.worker_id.empty() ? DefaultWorkerId() : f.worker_id;
  options.threads = f.threads;
  options.once = f.once;
  options.device = f.resolved.cuda ? "cuda" : "cpu";
  options.precision = f.precision;
  const std::vector<unsigned> nvml_indices(f.resolved.gpus.begin(), f.resolved.gpus.end());
  if ((!f.gpu_rims.empty() || !f.gpu_ocsp.empty()) && options.device.rfind("cuda", 0) != 0) {
    return absl::InvalidArgumentError("--gpu-rim and --gpu-ocsp need --device cuda");
  }
  // GPUs are attested before they are used (attestation/gpu_collector.h): NVML names them, and
  // CUDA is handed exactly those, by UUID, before it initializes, so that no other device exists
  // for this process (the worker checks again before training: worker/internal/gpu_placement.h).
  std::unique_ptr<attestation::GpuCollector> gpu_collector;
  if (options.device.rfind("cuda", 0) == 0) {
    attestation::NvmlOptions nvml;
    nvml.indices = nvml_indices;
    if (const char* lib = std::getenv("TRIAD_NVML_LIBRARY"); lib != nullptr && *lib != '\0') {
      nvml.library = lib;  // tests: a fake libnvidia-ml
    }
    TRIAD_ASSIGN_OR_RETURN(gpu_collector, base::Annotate(attestation::NewNvmlGpuCollector(nvml),
                                                         "--device cuda: the GPUs must attest"));
    ::setenv("CUDA_VISIBLE_DEVICES", absl::StrJoin(gpu_collector->uuids(), ",").c_str(), 1);
    options.num_gpus = static_cast<int>(gpu_collector->uuids().size());
    options.gpus = gpu_collector.get();
    for (const std::string& file : f.gpu_rims) {
      TRIAD_ASSIGN_OR_RETURN(std::string rim, base::ReadFile(file, kMaxGpuCollateralSize));
      options.gpu_rims.push_back(std::move(rim));
    }
    for (const std::string& file : f.gpu_ocsp) {
      TRIAD_ASSIGN_OR_RETURN(std::string der, base::ReadFile(file, kMaxGpuCollateralSize));
      options.gpu_ocsp.push_back(std::move(der));
    }
    std::cerr << "triad: worker: attesting " << gpu_collector->uuids().size()
              << " GPU(s) through NVML: " << absl::StrJoin(gpu_collector->uuids(), ",") << "\n";
  }
  if (!f.collateral.empty()) {
    TRIAD_ASSIGN_OR_RETURN(options.collateral, base::ReadFile(f.collateral, kMaxCollateralSize));
  }

  // The compute provider this worker acts for.
  TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard card,
                         contracts::PartyCard::FromFile(f.as + ".card.json"));
  if (card.role != contracts::Role::kComputeProvider) {
    return absl::FailedPreconditionError(
        absl::StrCat(f.as, ".card.json is a ", contracts::RoleName(card.role),
                     " card; a worker acts for a compute-provider"));
  }
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, LoadSigningKey(f.as));
  if (key.public_key() != card.signing_key) {
    return absl::FailedPreconditionError(
        absl::StrCat(f.as, ".signing.pem is not the key of ", f.as, ".card.json"));
  }

  attestation::AttesterConfig config;
  config.sim_key_file = f.sim_key;
  if ((!f.coco_agent.empty() || !f.coco_initdata.empty()) && f.tee != "coco") {
    return absl::InvalidArgumentError("--coco-agent and --coco-initdata need --tee coco");
  }
  // --tee coco: the pod's attestation agent makes the evidence, and the init-data the pod was
  // started with travels with it (attestation/coco.h); a worker whose TEE does not report that
  // init-data stops here, before it polls.
  if (!f.coco_agent.empty()) config.coco.agent = f.coco_agent;
  if (!f.coco_initdata.empty()) config.coco.initdata_file = f.coco_initdata;
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<attestation::Attester> attester,
                         attestation::NewAttester(f.tee, config));
  if (!options.collateral.empty() && attester->tee() != "tdx") {
    return absl::InvalidArgumentError(
        absl::StrCat("--collateral is TDX collateral; this worker attests with ", attester->tee()));
  }
  if (attester->tee() == "sim") {
    std::cerr << "triad: worker: SIMULATED: no hardware protection (--tee sim)\n";
  }

  coordinator::ChannelOptions channel_options;
  channel_options.address = f.coordinator;
  channel_options.insecure = f.insecure;
  if (f.coordinator_card.empty()) {
    return absl::FailedPreconditionError(
        "--coordinator-card is needed: it names the coordinator every request is addressed to");
  }
  TRIAD_ASSIGN_OR_RETURN(channel_options.card,
                         coordinator::CoordinatorCard::FromFile(f.coordinator_card));
  options.coordinator_fingerprint = channel_options.card->signing_key.KeyId();
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                         coordinator::OpenChannel(channel_options));

  worker::Worker w(std::move(channel), key, *attester, base::SystemClock(), std::move(options));
  return w.Run([](const worker::JobResult& job) {
    switch (job.outcome) {
      case worker::JobResult::Outcome::kDelivered:
        std::cout << "job " << job.job_id << ": delivered" << std::endl;
        break;
      case worker::JobResult::Outcome::kRejected:
        std::cout << "job " << job.job_id << ": not admitted: " << absl::StrJoin(job.reasons, "; ")
                  << std::endl;
        break;
      case worker::JobResult::Outcome::kFailed:
        std::cout << "job " << job.job_id << ": failed: " << absl::StrJoin(job.reasons, "; ")
                  << std::endl;
        break;
    }
  });
}

}  // namespace

void AddWorkerCommands(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<WorkerFlags>();
  CLI::App* group = app.add_subcommand("worker", "The TEE worker of a compute provider");
  group->require_subcommand(1);
  CLI::App* cmd = group->add_subcommand(
      "run", "Take jobs from a coordinator: attest, decrypt in memory, train, deliver the adapter");
  cmd->add_option("--coordinator", f->coordinator, "Coordinator address HOST:PORT")->required();
  cmd->add_option(
      "--coordinator-card", f->coordinator_card,
      "The coordinator card: names the coordinator requests are addressed to, and pins its "
      "TLS certificate");
  cmd->add_flag("--insecure", f->insecure, "Plaintext gRPC to a loopback coordinator (testing)");
  cmd->add_option("--as", f->as, "DIR/NAME of the compute provider's keys (triad keygen)")
      ->required();
  cmd->add_option("--tee", f->tee,
                  "auto, sim, tdx, sev-snp, or coco (a Confidential Containers pod: evidence from "
                  "its attestation agent)")
      ->required()
      ->check(CLI::IsMember({"auto", "sim", "tdx", "sev-snp", "coco"}));
  cmd->add_option("--coco-agent", f->coco_agent,
                  absl::StrCat("With --tee coco: the attestation agent, http://HOST:PORT on "
                               "loopback (default ",
                               attestation::kDefaultCocoAgent, ")"));
  cmd->add_option("--coco-initdata", f->coco_initdata,
                  absl::StrCat("With --tee coco: the pod's init-data document (default ",
                               attestation::kDefaultCocoInitData, ")"));
  cmd->add_option("--sim-key", f->sim_key, "Simulation key (Ed25519 PEM) for --tee sim");
  cmd->add_option("--collateral", f->collateral, "TDX collateral JSON to send with the evidence");
  cmd->add_option("--threads", f->threads, "Threads for decryption and CPU training (0: all cores)")
      ->capture_default_str();
  cmd->add_option("--device", f->device,
                  "cpu, cuda or cuda:N (default cpu; cuda with --gpus; cuda:N is --device cuda "
                  "--gpus N): cuda attests the NVIDIA GPUs through NVML; jobs whose contract has "
                  "no GPUs train on the CPU")
      ->check(DeviceValue());
  cmd->add_option("--precision", f->precision,
                  "Compute precision of the base weights: fp32, bf16 or auto (bf16 on CUDA, fp32 "
                  "on the CPU; fp32 holds a bf16 checkpoint at twice its size)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}));
  cmd->add_option(
         "--gpus", f->gpus,
         "The GPUs to attest and train on, data parallel, by index as nvidia-smi numbers them "
         "(e.g. 0,1; implies --device cuda; default: all)")
      ->check(GpuListValue());
  cmd->add_option("--gpu-rim", f->gpu_rims,
                  "NVIDIA RIM (SWID XML, driver or VBIOS) sent with every GPU's evidence "
                  "(repeatable)");
  cmd->add_option("--gpu-ocsp", f->gpu_ocsp,
                  "DER OCSP response for a GPU or RIM chain, sent with every GPU's evidence "
                  "(repeatable)");
  cmd->add_flag("--once", f->once, "Exit after the first job this worker is admitted to");
  cmd->add_option("--worker-id", f->worker_id, "Name of this worker (default: the host name)");
  AfterParse(cmd, [f] {
    absl::StatusOr<DeviceChoice> d = ResolveDevice(f->device, f->gpus);
    if (!d.ok()) throw CLI::ValidationError(std::string(d.status().message()));
    f->resolved = *std::move(d);
  });
  cmd->callback([f, &ctx] {
    if (f->coordinator_card.empty()) {
      Fail(
          "worker run: give --coordinator-card FILE: it names the coordinator every request is "
          "addressed to (and pins its TLS certificate unless --insecure)");
      ctx.exit_code = kExitUsage;
      return;
    }
    absl::Status st = RunWorker(*f);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });
}

}  // namespace triad::cli
