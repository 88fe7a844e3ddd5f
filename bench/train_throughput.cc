// Training throughput of Triad's trainer: LoRA on a random model of a given shape, packed sequences
// of synthetic text, every step timed. Prints one JSON object. Uses only the public API (trainer.h)
// and a byte tokenizer (id = byte), so it runs without the BPE tokenizer and feeds the same ids as
// the PyTorch peer script (bench/train_throughput_torch.py) does.
//
//   train_throughput --shape cpu-tiny|qwen2.5-0.5b|llama3-8b [--device cpu|cuda] [--precision
//   fp32|bf16]
//                    [--seq 256] [--batch 4] [--steps 20] [--rank 16] [--threads 2]
//                    [--checkpointing]
#include <sys/resource.h>

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "nlohmann/json.hpp"
#include "bench/trainer_bench_util.h"
#include "trainer/trainer.h"

namespace {

using namespace triad::trainer;
using triad::bench::ByteTokenizer;

double CpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct Shape {
  int64_t vocab, hidden, inter, layers, heads, kv;
  bool tied;
  const char* type;
  double theta;
};

bool GetShape(const std::string& name, Shape& s) {
  if (name == "cpu-tiny")
    s = {1024, 256, 704, 4, 4, 2, true, "qwen2", 1e6};
  else if (name == "cpu-small")  // Qwen2.5-0.5B's widths and vocabulary, 2 layers
    s = {151936, 896, 4864, 2, 14, 2, true, "qwen2", 1e6};
  else if (name == "qwen2.5-0.5b")
    s = {151936, 896, 4864, 24, 14, 2, true, "qwen2", 1e6};
  else if (name == "llama3-8b")
    s = {128256, 4096, 14336, 32, 32, 8, false, "llama", 5e5};
  else
    return false;
  return true;
}

std::string ConfigJson(const Shape& s, const std::string& dtype) {
  nlohmann::json j = {
      {"architectures", {std::string(s.type) == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"}},
      {"model_type", s.type},
      {"vocab_size", s.vocab},
      {"hidden_size", s.hidden},
      {"intermediate_size", s.inter},
      {"num_hidden_layers", s.layers},
      {"num_attention_heads", s.heads},
      {"num_key_value_heads", s.kv},
      {"rms_norm_eps", 1e-6},
      {"rope_theta", s.theta},
      {"tie_word_embeddings", s.tied},
      {"torch_dtype", dtype},
      {"eos_token_id", 0},
      {"initializer_range", 0.02},
      {"max_position_embeddings", 32768}};
  return j.dump();
}

// Non-embedding parameters (the matmuls a token goes through), for the 6N FLOP convention.
double MatmulParams(const Shape& s) {
  const double hd = static_cast<double>(s.hidden) / s.heads;
  const double attn = s.hidden * (s.heads * hd) * 2 + s.hidden * (s.kv * hd) * 2;
  const double mlp = 3.0 * s.hidden * s.inter;
  return s.layers * (attn + mlp) + static_cast<double>(s.vocab) * s.hidden;  // + lm_head
}

}  // namespace

int main(int argc, char** argv) {
  std::string shape_name = "cpu-tiny", device = "cpu", precision = "fp32";
  int64_t seq = 256, batch = 4, steps = 20, rank = 16;
  int threads = 2;
  bool checkpointing = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "missing value for " << a << "\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--shape")
      shape_name = next();
    else if (a == "--device")
      device = next();
    else if (a == "--precision")
      precision = next();
    else if (a == "--seq")
      seq = std::stoll(next());
    else if (a == "--batch")
      batch = std::stoll(next());
    else if (a == "--steps")
      steps = std::stoll(next());
    else if (a == "--rank")
      rank = std::stoll(next());
    else if (a == "--threads")
      threads = std::stoi(next());
    else if (a == "--checkpointing")
      checkpointing = true;
    else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  Shape shape;
  if (!GetShape(shape_name, shape)) {
    std::cerr << "unknown shape " << shape_name << "\n";
    return 2;
  }
  auto model = MakeRandomModel(ConfigJson(shape, precision == "bf16" ? "bfloat16" : "float32"), 1);
  if (!model.ok()) {
    std::cerr << model.status().message() << "\n";
    return 1;
  }
  // Enough deterministic text for `steps` packed batches: the same generator as the Python peer.
  std::string data;
  uint64_t x = 88172645463325252ull;
  const int64_t need = (steps * batch + 1) * seq;
  int64_t have = 0;
  while (have < need) {
    std::string line;
    for (int k = 0; k < 200; ++k) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      line.push_back(static_cast<char>('a' + x % 26));
    }
    data += "{\"text\":\"" + line + "\"}\n";
    have += 200;
  }
  ModelFiles files;
  files.config_json = (*model)[0].data;
  files.safetensors = {{"model.safetensors", (*model)[1].data}};
  TrainingConfig c;
  c.rank = rank;
  c.alpha = 2.0 * rank;
  c.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  c.learning_rate = 1e-4;
  c.lr_scheduler = "constant";
  c.batch_size = batch;
  c.sequence_length = seq;
  c.max_steps = steps;
  c.packing = true;
  c.max_grad_norm = 1.0;
  c.seed = 0;
  ByteTokenizer tok;
  TrainOptions o;
  o.device = device;
  o.precision = precision;
  o.threads = threads;
  o.tokenizer = &tok;
  o.activation_checkpointing = checkpointing;
  if (device != "cpu") o.loss_chunk_rows = 4096;
  // Process CPU time of the training loop: under load from other processes wall time stretches,
  // CPU time much less, so both are reported.
  double cpu_at_loaded = 0;
  o.on_model_loaded = [&](double) { cpu_at_loaded = CpuSeconds(); };
  auto r = Train(files, data, c, o);
  const double cpu_seconds = CpuSeconds() - cpu_at_loaded;
  if (!r.ok()) {
    std::cerr << r.status().message() << "\n";
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  nlohmann::ordered_json out = {{"implementation", "triad"},
                                {"shape", shape_name},
                                {"device", device},
                                {"precision", precision},
                                {"seq", seq},
                                {"batch", batch},
                                {"steps", steps},
                                {"rank", rank},
                                {"threads", threads},
                                {"tokens", r->report.tokens},
                                {"wall_seconds", r->report.wall_seconds},
                                {"tokens_per_second", r->report.tokens_per_second},
                                {"cpu_seconds", cpu_seconds},
                                {"tokens_per_cpu_second", r->report.tokens / cpu_seconds},
                                {"flops_per_token_6n", 6 * MatmulParams(shape)},
                                {"peak_rss_mib", ru.ru_maxrss / 1024.0},
                                {"first_loss", r->report.losses.front()},
                                {"last_loss", r->report.losses.back()}};
  std::cout << out.dump() << "\n";
  return 0;
}
