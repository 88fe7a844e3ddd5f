#include "worker/internal/gpu_placement.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace triad::worker::internal {
namespace {

std::string Gpus(size_t n) { return absl::StrCat(n, n == 1 ? " GPU" : " GPUs"); }

}  // namespace

absl::Status CheckGpusForContract(int64_t contract_gpus, const attestation::GpuCollector* gpus) {
  if (contract_gpus <= 0) return absl::OkStatus();
  const std::string want =
      absl::StrCat("the contract trains on ", contract_gpus, " attested GPU",
                   contract_gpus == 1 ? "" : "s", " (training.gpus); this worker ");
  if (gpus == nullptr || gpus->uuids().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        want,
        "has no attested GPUs (start it with --device cuda on a machine whose NVIDIA GPUs are in "
        "confidential-computing mode)"));
  }
  if (gpus->uuids().size() != static_cast<size_t>(contract_gpus)) {
    return absl::FailedPreconditionError(absl::StrCat(want, "attests ", Gpus(gpus->uuids().size()),
                                                      " (", absl::StrJoin(gpus->uuids(), ","),
                                                      "; choose them with --gpus)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Placement> PlaceTraining(int64_t contract_gpus,
                                        const std::vector<std::string>& attested,
                                        const char* cuda_visible_devices,
                                        const std::string& worker_device) {
  if (contract_gpus <= 0) {
    if (!attested.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the contract trains on the CPU, but the evidence attests ", Gpus(attested.size())));
    }
    return Placement{"cpu", 1};
  }
  if (attested.size() != static_cast<size_t>(contract_gpus)) {
    return absl::FailedPreconditionError(absl::StrCat("the contract trains on ", contract_gpus,
                                                      " GPUs; the evidence attests ",
                                                      Gpus(attested.size())));
  }
  if (worker_device.rfind("cuda", 0) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the contract trains on attested GPUs; this worker was started with --device ",
                     worker_device));
  }
  const std::string expected = absl::StrJoin(attested, ",");
  if (cuda_visible_devices == nullptr || expected != cuda_visible_devices) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the worker trains only on the GPUs it attested: CUDA_VISIBLE_DEVICES is ",
        cuda_visible_devices == nullptr ? "unset" : absl::StrCat("\"", cuda_visible_devices, "\""),
        ", the evidence attests ", expected));
  }
  return Placement{"cuda", static_cast<int>(attested.size())};
}

}  // namespace triad::worker::internal
