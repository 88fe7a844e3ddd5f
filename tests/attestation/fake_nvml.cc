// A stand-in for libnvidia-ml.so.1 that the GPU collector tests load with dlopen: the NVML
// functions Triad calls (attestation/gpu_collector.cc), with the same names, signatures and
// structure layouts, answering from files in $TRIAD_FAKE_NVML_DIR:
//   cc          "environment cc_feature devtools_mode multi_gpu_mode gpus_ready" (NVML's values)
//   count       the number of devices
//   uuid.<i>    device i's UUID text
//   report.<i>  device i's SPDM report (binary), returned whatever nonce is asked
//   certs.<i>   device i's attestation certificate chain (PEM)
//   nonce.<i>   written by the fake: the nonce the caller asked device i's report over
//   no_settings when present, nvmlSystemGetConfComputeSettings fails as on old drivers
//   init_error  when present, nvmlInit_v2 fails with NVML_ERROR_DRIVER_NOT_LOADED
// A missing file is NVML_ERROR_NOT_SUPPORTED. Test-only; never installed.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

namespace {

constexpr int kSuccess = 0;
constexpr int kInvalidArgument = 2;
constexpr int kNotSupported = 3;
constexpr int kDriverNotLoaded = 9;

struct SystemState {
  unsigned int environment, ccFeature, devToolsMode;
};
struct Settings {
  unsigned int version, environment, ccFeature, devToolsMode, multiGpuMode;
};
struct Certificate {
  unsigned int certChainSize, attestationCertChainSize;
  unsigned char certChain[0x1000];
  unsigned char attestationCertChain[0x1400];
};
struct Report {
  unsigned int isCecAttestationReportPresent, attestationReportSize, cecAttestationReportSize;
  unsigned char nonce[0x20];
  unsigned char attestationReport[0x2000];
  unsigned char cecAttestationReport[0x1000];
};

std::string Path(const std::string& name) {
  const char* dir = std::getenv("TRIAD_FAKE_NVML_DIR");
  return std::string(dir != nullptr ? dir : "/nonexistent") + "/" + name;
}

bool Read(const std::string& name, std::string* out) {
  std::ifstream in(Path(name), std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

bool Exists(const std::string& name) { return std::ifstream(Path(name)).good(); }

// Devices are handles 1..count (never dereferenced).
unsigned long Index(void* device) { return reinterpret_cast<unsigned long>(device) - 1; }

bool State(unsigned int v[5]) {
  std::string text;
  if (!Read("cc", &text)) return false;
  char* p = text.data();
  for (int i = 0; i < 5; ++i) v[i] = static_cast<unsigned int>(std::strtoul(p, &p, 10));
  return true;
}

}  // namespace

extern "C" {

int nvmlInit_v2() { return Exists("init_error") ? kDriverNotLoaded : kSuccess; }
int nvmlShutdown() { return kSuccess; }
const char* nvmlErrorString(int rc) {
  switch (rc) {
    case kInvalidArgument:
      return "Invalid Argument";
    case kNotSupported:
      return "Not Supported";
    case kDriverNotLoaded:
      return "Driver Not Loaded";
    default:
      return "Unknown Error";
  }
}
int nvmlDeviceGetCount_v2(unsigned int* count) {
  std::string text;
  if (!Read("count", &text)) return kNotSupported;
  *count = static_cast<unsigned int>(std::strtoul(text.c_str(), nullptr, 10));
  return kSuccess;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  *device = reinterpret_cast<void*>(static_cast<unsigned long>(index) + 1);
  return kSuccess;
}
int nvmlDeviceGetUUID(void* device, char* uuid, unsigned int length) {
  std::string text;
  if (!Read("uuid." + std::to_string(Index(device)), &text)) return kNotSupported;
  if (text.size() + 1 > length) return kInvalidArgument;
  std::memcpy(uuid, text.c_str(), text.size() + 1);
  return kSuccess;
}
int nvmlSystemGetConfComputeSettings(Settings* s) {
  unsigned int v[5];
  if (Exists("no_settings")) return kNotSupported;
  if ((s->version >> 24) != 1 || (s->version & 0xffffff) != sizeof(Settings)) {
    return kInvalidArgument;
  }
  if (!State(v)) return kNotSupported;
  s->environment = v[0];
  s->ccFeature = v[1];
  s->devToolsMode = v[2];
  s->multiGpuMode = v[3];
  return kSuccess;
}
int nvmlSystemGetConfComputeState(SystemState* s) {
  unsigned int v[5];
  if (!State(v)) return kNotSupported;
  s->environment = v[0];
  s->ccFeature = v[1];
  s->devToolsMode = v[2];
  return kSuccess;
}
int nvmlSystemGetConfComputeGpusReadyState(unsigned int* ready) {
  unsigned int v[5];
  if (!State(v)) return kNotSupported;
  *ready = v[4];
  return kSuccess;
}
int nvmlDeviceGetConfComputeGpuAttestationReport(void* device, Report* r) {
  const std::string i = std::to_string(Index(device));
  std::ofstream(Path("nonce." + i), std::ios::binary)
      .write(reinterpret_cast<const char*>(r->nonce), sizeof r->nonce);
  std::string report;
  if (!Read("report." + i, &report) || report.size() > sizeof r->attestationReport) {
    return kNotSupported;
  }
  std::memcpy(r->attestationReport, report.data(), report.size());
  r->attestationReportSize = static_cast<unsigned int>(report.size());
  r->isCecAttestationReportPresent = 0;
  return kSuccess;
}
int nvmlDeviceGetConfComputeGpuCertificate(void* device, Certificate* c) {
  std::string pem;
  if (!Read("certs." + std::to_string(Index(device)), &pem) ||
      pem.size() > sizeof c->attestationCertChain) {
    return kNotSupported;
  }
  std::memcpy(c->attestationCertChain, pem.data(), pem.size());
  c->attestationCertChainSize = static_cast<unsigned int>(pem.size());
  c->certChainSize = 0;
  return kSuccess;
}

}  // extern "C"
