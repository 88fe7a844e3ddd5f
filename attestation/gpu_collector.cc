#include "attestation/gpu_collector.h"

#include <dlfcn.h>

#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "attestation/internal/nvidia_spdm.h"
#include "base/encoding.h"
#include "base/status.h"
#include "crypto/hash.h"

namespace triad::attestation {
namespace {

// ---- The part of nvml.h Triad uses (NVIDIA NVML API Reference; values and layouts as published).

using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t NVML_SUCCESS = 0;
constexpr nvmlReturn_t NVML_ERROR_NOT_SUPPORTED = 3;
constexpr nvmlReturn_t NVML_ERROR_FUNCTION_NOT_FOUND = 13;
constexpr unsigned NVML_DEVICE_UUID_V2_BUFFER_SIZE = 96;
constexpr unsigned NVML_CC_GPU_CEC_NONCE_SIZE = 0x20;
constexpr unsigned NVML_CC_GPU_ATTESTATION_REPORT_SIZE = 0x2000;
constexpr unsigned NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE = 0x1000;
constexpr unsigned NVML_GPU_CERT_CHAIN_SIZE = 0x1000;
constexpr unsigned NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE = 0x1400;

struct nvmlConfComputeSystemState_t {
  unsigned int environment;
  unsigned int ccFeature;
  unsigned int devToolsMode;
};

struct nvmlSystemConfComputeSettings_v1_t {
  unsigned int version;
  unsigned int environment;
  unsigned int ccFeature;
  unsigned int devToolsMode;
  unsigned int multiGpuMode;
};
// NVML_STRUCT_VERSION(SystemConfComputeSettings, 1): the size, and the version in the top byte.
constexpr unsigned int kSettingsV1 =
    static_cast<unsigned int>(sizeof(nvmlSystemConfComputeSettings_v1_t)) | (1u << 24);

struct nvmlConfComputeGpuCertificate_t {
  unsigned int certChainSize;
  unsigned int attestationCertChainSize;
  unsigned char certChain[NVML_GPU_CERT_CHAIN_SIZE];
  unsigned char attestationCertChain[NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE];
};

struct nvmlConfComputeGpuAttestationReport_t {
  unsigned int isCecAttestationReportPresent;
  unsigned int attestationReportSize;
  unsigned int cecAttestationReportSize;
  unsigned char nonce[NVML_CC_GPU_CEC_NONCE_SIZE];
  unsigned char attestationReport[NVML_CC_GPU_ATTESTATION_REPORT_SIZE];
  unsigned char cecAttestationReport[NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE];
};

struct NvmlApi {
  nvmlReturn_t (*Init)();
  nvmlReturn_t (*Shutdown)();
  const char* (*ErrorString)(nvmlReturn_t);
  nvmlReturn_t (*DeviceGetCount)(unsigned int*);
  nvmlReturn_t (*DeviceGetHandleByIndex)(unsigned int, nvmlDevice_t*);
  nvmlReturn_t (*DeviceGetUUID)(nvmlDevice_t, char*, unsigned int);
  nvmlReturn_t (*GetConfComputeSettings)(nvmlSystemConfComputeSettings_v1_t*);  // may be null
  nvmlReturn_t (*GetConfComputeState)(nvmlConfComputeSystemState_t*);
  nvmlReturn_t (*GetGpusReadyState)(unsigned int*);
  nvmlReturn_t (*GetAttestationReport)(nvmlDevice_t, nvmlConfComputeGpuAttestationReport_t*);
  nvmlReturn_t (*GetCertificate)(nvmlDevice_t, nvmlConfComputeGpuCertificate_t*);
};

struct DlClose {
  void operator()(void* h) const { dlclose(h); }
};
using Library = std::unique_ptr<void, DlClose>;

template <typename F>
absl::Status Resolve(void* lib, const char* name, F* out, bool required = true) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  if (*out == nullptr && required) {
    return absl::FailedPreconditionError(absl::StrCat("NVML: the library has no ", name,
                                                      " (a driver older than r535, without "
                                                      "confidential computing?)"));
  }
  return absl::OkStatus();
}

class NvmlCollector final : public GpuCollector {
 public:
  static absl::StatusOr<std::unique_ptr<GpuCollector>> Make(const NvmlOptions& options) {
    Library lib(dlopen(options.library.c_str(), RTLD_NOW | RTLD_LOCAL));
    if (lib == nullptr) {
      const char* why = dlerror();
      return absl::NotFoundError(absl::StrCat("NVML: cannot load ", options.library, " (",
                                              why != nullptr ? why : "?",
                                              "): no NVIDIA driver on this machine"));
    }
    NvmlApi api{};
    void* h = lib.get();
    TRIAD_RETURN_IF_ERROR(Resolve(h, "nvmlInit_v2", &api.Init));
    TRIAD_RETURN_IF_ERROR(Resolve(h, "nvmlShutdown", &api.Shutdown));
    TRIAD_RETURN_IF_ERROR(Resolve(h, "nvmlErrorString", &api.ErrorString));
    TRIAD_RETURN_IF_ERROR(Resolve(h, "nvmlDeviceGetCount_v2", &api.DeviceGetCount));
    TRIAD_RETURN_IF_ERROR(Resolve(h, "nvmlDeviceGetHandleByIndex_v2", &api.DeviceGetHandleByIndex));
    TRIAD_RETURN_IF_ERROR(Resolve(h, "nvmlDeviceGetUUID", &api.DeviceGetUUID));
    TRIAD_RETURN_IF_ERROR(
        Resolve(h, "nvmlSystemGetConfComputeSettings", &api.GetConfComputeSettings, false));
    TRIAD_RETURN_IF_ERROR(Resolve(h, "nvmlSystemGetConfComputeState", &api.GetConfComputeState));
    TRIAD_RETURN_IF_ERROR(
        Resolve(h, "nvmlSystemGetConfComputeGpusReadyState", &api.GetGpusReadyState));
    TRIAD_RETURN_IF_ERROR(
        Resolve(h, "nvmlDeviceGetConfComputeGpuAttestationReport", &api.GetAttestationReport));
    TRIAD_RETURN_IF_ERROR(
        Resolve(h, "nvmlDeviceGetConfComputeGpuCertificate", &api.GetCertificate));
    std::unique_ptr<NvmlCollector> c(new NvmlCollector(std::move(lib), api));
    TRIAD_RETURN_IF_ERROR(c->Check(api.Init(), "nvmlInit_v2"));
    c->initialized_ = true;
    TRIAD_RETURN_IF_ERROR(c->FindDevices(options.indices));
    return std::unique_ptr<GpuCollector>(std::move(c));
  }

  ~NvmlCollector() override {
    if (initialized_) api_.Shutdown();
  }

  const std::vector<std::string>& uuids() const override { return uuids_; }

  absl::StatusOr<contracts::GpuCcState> CcState() const override {
    contracts::GpuCcState s;
    nvmlSystemConfComputeSettings_v1_t settings{};
    settings.version = kSettingsV1;
    const nvmlReturn_t rc = api_.GetConfComputeSettings != nullptr
                                ? api_.GetConfComputeSettings(&settings)
                                : NVML_ERROR_FUNCTION_NOT_FOUND;
    if (rc == NVML_SUCCESS) {
      s.environment = settings.environment;
      s.cc_feature = settings.ccFeature;
      s.devtools_mode = settings.devToolsMode;
      s.multi_gpu_mode = settings.multiGpuMode;
    } else if (rc != NVML_ERROR_NOT_SUPPORTED && rc != NVML_ERROR_FUNCTION_NOT_FOUND) {
      return Check(rc, "nvmlSystemGetConfComputeSettings");
    } else {
      // Drivers without the settings query know no multi-GPU mode: none.
      nvmlConfComputeSystemState_t state{};
      TRIAD_RETURN_IF_ERROR(
          Check(api_.GetConfComputeState(&state), "nvmlSystemGetConfComputeState"));
      s.environment = state.environment;
      s.cc_feature = state.ccFeature;
      s.devtools_mode = state.devToolsMode;
    }
    unsigned int ready = 0;
    TRIAD_RETURN_IF_ERROR(
        Check(api_.GetGpusReadyState(&ready), "nvmlSystemGetConfComputeGpusReadyState"));
    s.gpus_ready = ready;
    return s;
  }

  absl::StatusOr<GpuEvidence> Attest(size_t i, absl::string_view nonce) const override {
    if (i >= devices_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("GPU ", i, " is not one of the ", devices_.size(), " attested"));
    }
    if (nonce.size() != NVML_CC_GPU_CEC_NONCE_SIZE) {
      return absl::InvalidArgumentError(absl::StrCat("a GPU nonce is ", NVML_CC_GPU_CEC_NONCE_SIZE,
                                                     " bytes, got ", nonce.size()));
    }
    const std::string who = absl::StrCat("GPU ", i, " (", uuids_[i], ")");
    // Large structures (12 KiB, 9 KiB): on the heap.
    auto report = std::make_unique<nvmlConfComputeGpuAttestationReport_t>();
    std::memcpy(report->nonce, nonce.data(), nonce.size());
    TRIAD_RETURN_IF_ERROR(base::Annotate(Check(api_.GetAttestationReport(devices_[i], report.get()),
                                               "nvmlDeviceGetConfComputeGpuAttestationReport"),
                                         who));
    if (report->attestationReportSize == 0 ||
        report->attestationReportSize > NVML_CC_GPU_ATTESTATION_REPORT_SIZE) {
      return absl::FailedPreconditionError(absl::StrCat(who, ": NVML returned a report of ",
                                                        report->attestationReportSize, " bytes"));
    }
    auto cert = std::make_unique<nvmlConfComputeGpuCertificate_t>();
    TRIAD_RETURN_IF_ERROR(base::Annotate(Check(api_.GetCertificate(devices_[i], cert.get()),
                                               "nvmlDeviceGetConfComputeGpuCertificate"),
                                         who));
    if (cert->attestationCertChainSize > NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE) {
      return absl::FailedPreconditionError(absl::StrCat(who,
                                                        ": NVML returned a certificate chain of ",
                                                        cert->attestationCertChainSize, " bytes"));
    }
    GpuEvidence ev;
    ev.uuid = uuids_[i];
    ev.report.assign(reinterpret_cast<const char*>(report->attestationReport),
                     report->attestationReportSize);
    ev.certs.assign(reinterpret_cast<const char*>(cert->attestationCertChain),
                    cert->attestationCertChainSize);
    while (!ev.certs.empty() && ev.certs.back() == '\0') ev.certs.pop_back();
    return ev;
  }

 private:
  NvmlCollector(Library lib, const NvmlApi& api) : lib_(std::move(lib)), api_(api) {}

  absl::Status Check(nvmlReturn_t rc, const char* call) const {
    if (rc == NVML_SUCCESS) return absl::OkStatus();
    const char* text = api_.ErrorString(rc);
    return absl::FailedPreconditionError(
        absl::StrCat("NVML: ", call, ": ", text != nullptr ? text : "error", " (", rc, ")"));
  }

  absl::Status FindDevices(const std::vector<unsigned>& wanted) {
    unsigned int count = 0;
    TRIAD_RETURN_IF_ERROR(Check(api_.DeviceGetCount(&count), "nvmlDeviceGetCount_v2"));
    if (count == 0) return absl::FailedPreconditionError("NVML: no NVIDIA GPU on this machine");
    std::vector<unsigned> indices = wanted;
    if (indices.empty()) {
      for (unsigned i = 0; i < count; ++i) indices.push_back(i);
    }
    if (indices.size() > contracts::kMaxGpus) {
      return absl::FailedPreconditionError(
          absl::StrCat(indices.size(), " GPUs; Triad attests at most ", contracts::kMaxGpus));
    }
    std::set<unsigned> seen;
    for (unsigned index : indices) {
      if (index >= count || !seen.insert(index).second) {
        return absl::FailedPreconditionError(absl::StrCat(
            "NVML: GPU index ", index, index >= count ? " does not exist" : " is given twice", " (",
            count, " GPUs)"));
      }
    }
    for (unsigned index : indices) {
      nvmlDevice_t dev = nullptr;
      TRIAD_RETURN_IF_ERROR(
          Check(api_.DeviceGetHandleByIndex(index, &dev), "nvmlDeviceGetHandleByIndex_v2"));
      char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
      TRIAD_RETURN_IF_ERROR(Check(api_.DeviceGetUUID(dev, uuid, sizeof uuid), "nvmlDeviceGetUUID"));
      devices_.push_back(dev);
      uuids_.emplace_back(uuid, strnlen(uuid, sizeof uuid));
    }
    return absl::OkStatus();
  }

  Library lib_;
  NvmlApi api_;
  bool initialized_ = false;
  std::vector<nvmlDevice_t> devices_;
  std::vector<std::string> uuids_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<GpuCollector>> NewNvmlGpuCollector(const NvmlOptions& options) {
  return NvmlCollector::Make(options);
}

absl::StatusOr<Evidence> CollectEvidence(const Attester& cpu, const GpuCollector* gpus,
                                         const BindingInputs& in) {
  TRIAD_ASSIGN_OR_RETURN(std::string d1, ExpectedReportData(in));
  if (gpus == nullptr) return cpu.Attest(d1);

  const std::vector<std::string>& uuids = gpus->uuids();
  if (uuids.empty() || uuids.size() > contracts::kMaxGpus) {
    return absl::FailedPreconditionError(
        absl::StrCat(uuids.size(), " GPUs to attest; 1 to ", contracts::kMaxGpus, " may be"));
  }
  TRIAD_ASSIGN_OR_RETURN(contracts::GpuCcState cc, gpus->CcState());
  std::vector<GpuEvidence> evidence;
  std::vector<GpuSetEntry> entries;
  for (size_t i = 0; i < uuids.size(); ++i) {
    TRIAD_ASSIGN_OR_RETURN(std::string nonce, GpuNonce(in, static_cast<uint32_t>(i)));
    TRIAD_ASSIGN_OR_RETURN(GpuEvidence g, gpus->Attest(i, nonce));
    const std::string who = absl::StrCat("GPU ", i, " (", g.uuid, ")");
    absl::StatusOr<internal::SpdmReport> rep = internal::ParseSpdmReport(g.report);
    if (!rep.ok()) return base::Annotate(rep.status(), who);
    if (rep->nonce != nonce) {
      return absl::FailedPreconditionError(
          absl::StrCat(who, ": NVML returned a report over nonce ", base::HexEncode(rep->nonce),
                       ", not the requested ", base::HexEncode(nonce)));
    }
    entries.push_back({g.uuid, crypto::Sha384(g.report)});
    evidence.push_back(std::move(g));
  }
  TRIAD_ASSIGN_OR_RETURN(std::string set, GpuSetDigest(cc, entries));
  TRIAD_ASSIGN_OR_RETURN(std::string d2, ExpectedReportData(in, set));
  TRIAD_ASSIGN_OR_RETURN(Evidence ev, cpu.Attest(d2));
  ev.gpus = std::move(evidence);
  ev.gpu_cc = cc;
  return ev;
}

}  // namespace triad::attestation
