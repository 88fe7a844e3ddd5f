// What the worker's NVML code reads from a real NVIDIA driver (bench/gpu/nvml_probe.sh runs it on a
// lent GPU machine): NVML loaded at run time exactly as `triad worker run --device cuda` loads it
// (attestation/gpu_collector.h), the confidential-computing state, each GPU's UUID, and for each
// GPU an attestation report over a fresh random nonce with its certificate chain. Each report is
// written with its chain and nonce to OUT_DIR so that the script verifies it with
// `triad attest verify --format nvidia-gpu`, the verifier the coordinator and keyholders run.
//
//   nvml_probe OUT_DIR [--library PATH]
//
// Prints one JSON object per line: {"cc_state": …}, then one {"gpu": i, …} per GPU (with "error"
// where NVML refused the report: on a GPU with CC off the driver answers NOT_SUPPORTED or similar,
// which is a finding, not a failure of the probe). Exit 0 when NVML loaded and every step either
// succeeded or was refused by the driver with its reason; 1 when NVML could not be loaded.
#include <openssl/rand.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "attestation/gpu_collector.h"
#include "base/encoding.h"
#include "nlohmann/json.hpp"

namespace {

bool WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && !(argc == 4 && std::string(argv[2]) == "--library")) {
    std::cerr << "usage: nvml_probe OUT_DIR [--library PATH]" << std::endl;
    return 2;
  }
  const std::string out_dir = argv[1];
  triad::attestation::NvmlOptions options;
  if (argc == 4) options.library = argv[3];
  auto collector = triad::attestation::NewNvmlGpuCollector(options);
  if (!collector.ok()) {
    std::cout << nlohmann::json{{"nvml", "unavailable"},
                                {"error", std::string(collector.status().message())}}
                     .dump()
              << std::endl;
    return 1;
  }
  auto state = (*collector)->CcState();
  nlohmann::json cc;
  if (state.ok()) {
    cc = {{"environment", state->environment},     {"cc_feature", state->cc_feature},
          {"devtools_mode", state->devtools_mode}, {"multi_gpu_mode", state->multi_gpu_mode},
          {"gpus_ready", state->gpus_ready},       {"cc_on", state->cc_on()},
          {"production", state->production()},     {"ready", state->ready()}};
  } else {
    cc = {{"error", std::string(state.status().message())}};
  }
  std::cout << nlohmann::json{{"cc_state", cc}, {"gpus", (*collector)->uuids().size()}}.dump()
            << std::endl;

  for (size_t i = 0; i < (*collector)->uuids().size(); ++i) {
    nlohmann::json line = {{"gpu", i}, {"uuid", (*collector)->uuids()[i]}};
    std::string nonce(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), 32) != 1) {
      std::cerr << "nvml_probe: no randomness" << std::endl;
      return 1;
    }
    const std::string nonce_hex = triad::base::HexEncode(nonce);
    line["nonce"] = nonce_hex;
    auto ev = (*collector)->Attest(i, nonce);
    if (!ev.ok()) {
      line["error"] = std::string(ev.status().message());
    } else {
      const std::string stem = out_dir + "/gpu" + std::to_string(i);
      line["report_bytes"] = ev->report.size();
      line["chain_bytes"] = ev->certs.size();
      if (!WriteFile(stem + ".report.bin", ev->report) ||
          !WriteFile(stem + ".certs.pem", ev->certs) ||
          !WriteFile(stem + ".nonce.hex", nonce_hex + "\n")) {
        std::cerr << "nvml_probe: cannot write under " << out_dir << std::endl;
        return 1;
      }
      line["files"] = stem + ".{report.bin,certs.pem,nonce.hex}";
    }
    std::cout << line.dump() << std::endl;
  }
  return 0;
}
