// Load throughput: from a decrypted checkpoint in memory to the model ready (checked, copied into
// tensors of the compute dtype, LoRA initialized), against memcpy of the same bytes in the same
// process. Prints one JSON object.
//
//   load_throughput --model DIR [--precision bf16|fp32] [--threads 2] [--no-consume]
//
// DIR is a `triad model init` directory (config.json, model.safetensors). The file is read into a
// trainer::ConsumableBuffer first (not timed), as the worker holds the decrypted archive; then:
//   memcpy_fresh  memcpy of the file's bytes into memory just mapped (page faults included: the
//                 model's tensors are new memory too), one thread
//   memcpy_warm   the same copy again into the now resident memory, one thread
//   load          Train's own measure (TrainReport::load_seconds) of the load, with the buffer
//                 consumed as the worker does (--no-consume: left alone), `threads` intra-op threads;
//                 Train then runs one step of 16 tokens, which is not timed.
// Peak RSS: VmHWM is reset once the file is in memory, and read when the model is ready.
#include <sys/mman.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "nlohmann/json.hpp"
#include "bench/trainer_bench_util.h"
#include "trainer/trainer.h"

namespace {

using namespace triad::trainer;
using triad::bench::ByteTokenizer;
using triad::bench::ProcStatusBytes;
using triad::bench::ResetPeakRss;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// memcpy of `src` into fresh anonymous memory, then again into the same (warm) memory.
std::pair<double, double> TimeMemcpy(const char* src, size_t n) {
  void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return {0, 0};
  auto t0 = std::chrono::steady_clock::now();
  std::memcpy(p, src, n);
  const double fresh = Seconds(t0);
  t0 = std::chrono::steady_clock::now();
  std::memcpy(p, src, n);
  const double warm = Seconds(t0);
  std::memset(p, 0, n);
  ::munmap(p, n);
  return {fresh, warm};
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, precision = "bf16";
  int threads = 2;
  bool consume = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--model") dir = next();
    else if (a == "--precision") precision = next();
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--no-consume") consume = false;
    else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  const std::string config = ReadFile(dir + "/config.json");
  std::string file = ReadFile(dir + "/model.safetensors");
  if (config.empty() || file.empty()) {
    std::cerr << "load_throughput: " << dir << " lacks config.json or model.safetensors\n";
    return 1;
  }
  auto buf = ConsumableBuffer::Allocate(file.size());
  if (!buf.ok()) {
    std::cerr << buf.status().message() << "\n";
    return 1;
  }
  std::memcpy((*buf)->data(), file.data(), file.size());
  Wipe(file);
  file.shrink_to_fit();

  const auto [memcpy_fresh, memcpy_warm] = TimeMemcpy((*buf)->data(), (*buf)->size());
  ResetPeakRss();
  const uint64_t rss_before = ProcStatusBytes("VmRSS:");

  ModelFiles files;
  files.config_json = config;
  files.safetensors = {{"model.safetensors", (*buf)->view()}};
  if (consume) files.consumable = buf->get();
  TrainingConfig c;
  c.rank = 16;
  c.alpha = 32;
  c.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  c.max_steps = 1;
  c.batch_size = 1;
  c.sequence_length = 16;
  c.packing = true;
  ByteTokenizer tok;
  TrainOptions o;
  o.precision = precision;
  o.threads = threads;
  o.tokenizer = &tok;
  uint64_t peak_loaded = 0, rss_loaded = 0;
  o.on_model_loaded = [&](double) {
    peak_loaded = ProcStatusBytes("VmHWM:");
    rss_loaded = ProcStatusBytes("VmRSS:");
  };
  auto r = Train(files, std::string("{\"text\":\"") + std::string(64, 'a') + "\"}\n", c, o);
  if (!r.ok()) {
    std::cerr << r.status().message() << "\n";
    return 1;
  }
  const double mib = 1024.0 * 1024.0, bytes = static_cast<double>((*buf)->size());
  const double load = r->report.load_seconds;
  nlohmann::ordered_json out = {
      {"implementation", "triad"},
      {"model", dir},
      {"precision", precision},
      {"threads", threads},
      {"consume", consume},
      {"bytes", (*buf)->size()},
      {"memcpy_fresh_seconds", memcpy_fresh},
      {"memcpy_warm_seconds", memcpy_warm},
      {"load_seconds", load},
      {"load_gb_per_s", bytes / load / 1e9},
      {"load_over_memcpy_fresh", load / memcpy_fresh},
      {"load_over_memcpy_warm", load / memcpy_warm},
      {"rss_before_load_mib", rss_before / mib},
      {"peak_until_model_ready_mib", peak_loaded / mib},
      {"rss_model_ready_mib", rss_loaded / mib},
      {"released_mib", (*buf)->released_bytes() / mib}};
  std::cout << out.dump() << "\n";
  return 0;
}
