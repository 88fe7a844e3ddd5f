// A worker's attesters for GPU admission tests above the attestation layer (keyholder, coordinator,
// audit): sim CPU evidence of a chosen measurement, and GPUs of the forged NVIDIA PKI
// (nvidia_forge.h) that sign a report over whatever nonce they are asked for, as NVML returns
// them. With attestation::CollectEvidence they make what worker/worker.cc sends.
#ifndef TRIAD_TESTS_ATTESTATION_FORGED_GPU_WORKER_H_
#define TRIAD_TESTS_ATTESTATION_FORGED_GPU_WORKER_H_

#include <string>
#include <vector>

#include "attestation/gpu_collector.h"
#include "attestation/sim.h"
#include "base/status.h"
#include "contracts/contract.h"
#include "tests/attestation/nvidia_forge.h"

namespace triad::attestation::nvforge {

inline constexpr const char* kTestGpuUuids[] = {"GPU-6f2d1c3b-0a4e-4f5d-9c8b-7a6e5d4c3b2a",
                                                "GPU-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"};

// The worker's CPU TEE: sim evidence of `measurement`, signed by `key` (borrowed).
class SimCpu final : public Attester {
 public:
  SimCpu(const crypto::Ed25519PrivateKey& key, std::string measurement)
      : key_(key), measurement_(std::move(measurement)) {}
  const std::string& tee() const override { return tee_; }
  absl::StatusOr<Evidence> Attest(absl::string_view report_data) const override {
    TRIAD_ASSIGN_OR_RETURN(
        std::string report,
        MakeSimEvidence(key_, {std::string(report_data), measurement_, "UpToDate", false}));
    Evidence ev;
    ev.tee = tee_;
    ev.report = std::move(report);
    return ev;
  }

 private:
  const crypto::Ed25519PrivateKey& key_;
  const std::string measurement_;
  const std::string tee_ = contracts::kTeeSim;
};

// `n` (at most 2) forged Hopper GPUs in a system whose CC state is `cc`.
class ForgedGpus final : public GpuCollector {
 public:
  ForgedGpus(size_t n, contracts::GpuCcState cc) : cc_(cc) {
    for (size_t i = 0; i < n; ++i) {
      uuids_.push_back(kTestGpuUuids[i]);
      gpus_.push_back(NewGpu());
    }
  }
  const std::vector<std::string>& uuids() const override { return uuids_; }
  absl::StatusOr<contracts::GpuCcState> CcState() const override { return cc_; }
  absl::StatusOr<GpuEvidence> Attest(size_t i, absl::string_view nonce) const override {
    ReportSpec spec;
    spec.nonce = std::string(nonce);
    GpuEvidence g;
    g.uuid = uuids_.at(i);
    g.report = Report(gpus_.at(i), spec);
    g.certs = gpus_.at(i).ChainPem();
    return g;
  }

 private:
  contracts::GpuCcState cc_;
  std::vector<std::string> uuids_;
  std::vector<Gpu> gpus_;
};

// The policy and training section of a contract that trains on `count` forged Hopper GPUs: the
// nvidia_gpu section with RIMs and OCSP optional (the forged GPUs have none; tests/attestation
// covers them), accepted as the weaknesses they are, and training.gpus = count.
inline void TrainOnForgedGpus(contracts::Contract& c, uint32_t count) {
  contracts::GpuRequirements g;
  g.count = count;
  g.architectures = {"hopper"};
  g.min_driver_version = "550.54.15";
  g.min_vbios_version = "96.00.74.00.1C";
  g.rim_required = g.ocsp_required = false;
  c.worker_policy.nvidia_gpu = g;
  c.worker_policy.accepted_weaknesses = {"gpu-rim-optional", "gpu-ocsp-optional"};
  c.training.gpus = count;
}

// NVML's state of a production system with CC on and ready; protected PCIe for several GPUs.
inline contracts::GpuCcState CcOn(size_t n) { return {2, 1, 0, n > 1 ? 1u : 0u, 1}; }

}  // namespace triad::attestation::nvforge

#endif  // TRIAD_TESTS_ATTESTATION_FORGED_GPU_WORKER_H_
