// Worker side, GPUs: collecting NVIDIA confidential-computing evidence through NVML, and the whole
// evidence of one admission (CPU and GPUs, bound together as attestation/binding.h says).
//
// NVML (NVIDIA Management Library, libnvidia-ml.so.1, shipped with the driver) is loaded at run
// time with dlopen, so the worker runs on machines without an NVIDIA driver and builds without
// NVIDIA's headers: only the functions and structures used are declared, from NVIDIA's public NVML
// reference (nvml.h, "Confidential Computing" queries):
//   nvmlInit_v2, nvmlShutdown, nvmlErrorString, nvmlDeviceGetCount_v2,
//   nvmlDeviceGetHandleByIndex_v2, nvmlDeviceGetUUID,
//   nvmlSystemGetConfComputeSettings (nvmlSystemConfComputeSettings_v1_t), falling back to
//   nvmlSystemGetConfComputeState on drivers without it, nvmlSystemGetConfComputeGpusReadyState,
//   nvmlDeviceGetConfComputeGpuAttestationReport (nonce in, SPDM report out),
//   nvmlDeviceGetConfComputeGpuCertificate (the attestation certificate chain, PEM).
#ifndef TRIAD_ATTESTATION_GPU_COLLECTOR_H_
#define TRIAD_ATTESTATION_GPU_COLLECTOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attestation/attester.h"
#include "attestation/binding.h"
#include "attestation/verifier.h"
#include "contracts/claims.h"

namespace triad::attestation {

// The GPUs a worker attests and trains on. Thread-safe.
class GpuCollector {
 public:
  virtual ~GpuCollector() = default;
  // The GPUs, in the order they are attested (their index in the binding), by NVML UUID
  // ("GPU-…"). Fixed when the collector is made.
  virtual const std::vector<std::string>& uuids() const = 0;
  // The system's confidential-computing state now.
  virtual absl::StatusOr<contracts::GpuCcState> CcState() const = 0;
  // GPU `i`'s attestation report over `nonce` (32 bytes) with its attestation certificate chain;
  // uuid set, no collateral.
  virtual absl::StatusOr<GpuEvidence> Attest(size_t i, absl::string_view nonce) const = 0;
};

inline constexpr char kNvmlLibrary[] = "libnvidia-ml.so.1";

struct NvmlOptions {
  std::string library = kNvmlLibrary;  // a path or a name for dlopen
  // NVML device indices to attest, in this order (distinct); empty: every device, 0..count-1.
  // NVML orders devices by PCI bus id, CUDA by speed unless CUDA_DEVICE_ORDER=PCI_BUS_ID: place
  // the training by UUID (CUDA_VISIBLE_DEVICES accepts "GPU-…"), never by index.
  std::vector<unsigned> indices;
};

// Loads NVML, initializes it, and looks the devices up. Fails with kNotFound "NVML: cannot load
// libnvidia-ml.so.1 (…): no NVIDIA driver on this machine" when the library is missing,
// kFailedPrecondition naming NVML's error when a call fails ("NVML: nvmlInit_v2: Driver Not
// Loaded"), a function is missing, no device exists, or an index is out of range or repeated.
// NVML is shut down and unloaded when the collector is destroyed.
absl::StatusOr<std::unique_ptr<GpuCollector>> NewNvmlGpuCollector(const NvmlOptions& options = {});

// Everything a worker hands over for one admission:
//  1. D1 from `in` (binding.h; kInvalidArgument for an invalid nonce or job id);
//  2. with `gpus` (null: a CPU-only worker): the CC state, then each GPU i's report over its nonce
//     N_i; each report must parse and carry N_i ("GPU 0 (GPU-…): NVML returned a report over nonce
//     <hex>, not the requested <hex>") and at most contracts::kMaxGpus GPUs;
//  3. the CPU evidence over D1 (no GPUs) or D2 (committing to the GPU set and CC state).
// The CC state is collected as it is, even when it cannot be admitted (CC off): the verifiers and
// the policy decide, and say why. The evidence's GPU UUIDs (GpuUuids in evidence_document.h) are
// the only devices the worker may train on.
absl::StatusOr<Evidence> CollectEvidence(const Attester& cpu, const GpuCollector* gpus,
                                         const BindingInputs& in);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_GPU_COLLECTOR_H_
