// Where a job trains, decided from its contract and its attested evidence (issue 14, "GPU evidence,
// collected and bound"). A contract whose training section asks for N GPUs is attested with
// exactly N GPUs, and trains only on those: the worker hands CUDA the attested UUIDs as
// CUDA_VISIBLE_DEVICES before CUDA starts (cli/worker.cc), so no other device exists for the
// process, and checks here, before any tensor is placed, that this is still so. A contract without
// GPUs trains on the CPU, whatever the worker was started with.
#ifndef TRIAD_WORKER_INTERNAL_GPU_PLACEMENT_H_
#define TRIAD_WORKER_INTERNAL_GPU_PLACEMENT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "attestation/gpu_collector.h"

namespace triad::worker::internal {

// Before attesting: OK when the worker can attest what the contract asks (`contract_gpus`, the
// training section's gpus). kFailedPrecondition otherwise: "the contract trains on 2 attested
// GPUs (training.gpus); this worker has no attested GPUs (start it with --device cuda on a machine
// whose NVIDIA GPUs are in confidential-computing mode)" or "…; this worker attests 1 GPU
// (GPU-…)".
absl::Status CheckGpusForContract(int64_t contract_gpus, const attestation::GpuCollector* gpus);

struct Placement {
  std::string device = "cpu";  // "cpu" or "cuda"
  int num_gpus = 1;
};

// After admission, before training: where to train. `contract_gpus` 0: the CPU. Otherwise the
// evidence's GPUs (`attested`, in order) must be exactly `contract_gpus` and exactly the devices
// CUDA sees (`cuda_visible_devices`, the environment variable; null when unset), in that order,
// and `worker_device` (the worker's --device) must be "cuda"; kFailedPrecondition naming what
// differs ("the worker trains only on the GPUs it attested: CUDA_VISIBLE_DEVICES is \"0,1\", the
// evidence attests GPU-…,GPU-…").
absl::StatusOr<Placement> PlaceTraining(int64_t contract_gpus,
                                        const std::vector<std::string>& attested,
                                        const char* cuda_visible_devices,
                                        const std::string& worker_device);

}  // namespace triad::worker::internal

#endif  // TRIAD_WORKER_INTERNAL_GPU_PLACEMENT_H_
