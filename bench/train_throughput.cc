// Training throughput of Triad's trainer: LoRA on a random model of a given shape, packed sequences
// of synthetic text, every step timed. Prints one JSON object. Uses only the public API (trainer.h)
// and a byte tokenizer (id = byte), so it runs without the BPE tokenizer and feeds the same ids as
// the PyTorch peer script (bench/train_throughput_torch.py) does.
//
//   train_throughput --shape cpu-tiny|qwen2.5-0.5b|llama3-8b [--device cpu|cuda] [--precision
//   fp32|bf16]
//                    [--seq 256] [--batch 4] [--steps 20] [--rank 16] [--threads 2]
//                    [--checkpointing] [--init normal|fast]
//
// --init fast fills the weights with uniform noise of the initializer's standard deviation from a
// xorshift generator instead of MakeRandomModel's Box-Muller normals (which take minutes at 8B);
// the throughput does not depend on the values. tokens_per_second counts every step, as the CPU peer
// does; tokens_per_second_after_warmup leaves out the first two, as the GPU peer (PEFT) does.
#include <sys/resource.h>

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "nlohmann/json.hpp"
#include "bench/trainer_bench_util.h"
#include "trainer/model_config.h"
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

// A checkpoint of the config's shapes filled with uniform noise of the initializer's standard
// deviation (norms 1, biases 0), quickly: xorshift64, one pass.
Result<std::vector<OutputFile>> FastRandomModel(const std::string& config_json) {
  TRAINER_ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(config_json));
  const bool bf16 = config.dtype == "bfloat16";
  const float half_width = static_cast<float>(config.initializer_range * std::sqrt(3.0));
  uint64_t x = 0x9E3779B97F4A7C15ull;
  std::vector<TensorToWrite> tensors;
  for (const ExpectedTensor& e : ExpectedTensors(config)) {
    size_t n = 1;
    for (int64_t d : e.shape) n *= static_cast<size_t>(d);
    TensorToWrite t{e.name, bf16 ? Dtype::kBF16 : Dtype::kF32, e.shape, std::string()};
    t.data.resize(n * (bf16 ? 2 : 4));
    for (size_t i = 0; i < n; ++i) {
      float v = e.kind == ExpectedTensor::kNorm ? 1.0f : 0.0f;
      if (e.kind == ExpectedTensor::kEmbedding || e.kind == ExpectedTensor::kLinear) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        v = half_width * (static_cast<float>(x >> 40) * (2.0f / 16777216.0f) - 1.0f);
      }
      if (bf16) {
        const uint16_t h = FloatToBf16(v);
        std::memcpy(&t.data[2 * i], &h, 2);
      } else {
        std::memcpy(&t.data[4 * i], &v, 4);
      }
    }
    tensors.push_back(std::move(t));
  }
  TRAINER_ASSIGN_OR_RETURN(std::string file, WriteSafetensors(tensors, {}));
  return std::vector<OutputFile>{{"config.json", config_json}, {"model.safetensors", std::move(file)}};
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
  std::string init = "normal";
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
    else if (a == "--init")
      init = next();
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
  const std::string config_json = ConfigJson(shape, precision == "bf16" ? "bfloat16" : "float32");
  auto model = init == "fast" ? FastRandomModel(config_json) : MakeRandomModel(config_json, 1);
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
  // Step times, for the rate after two warm-up steps.
  std::vector<std::pair<double, int64_t>> at_step;  // (seconds since start, tokens so far)
  const auto t0 = std::chrono::steady_clock::now();
  o.on_progress = [&](const Progress& p) {
    at_step.emplace_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), p.tokens);
  };
  auto r = Train(files, data, c, o);
  const double cpu_seconds = CpuSeconds() - cpu_at_loaded;
  if (!r.ok()) {
    std::cerr << r.status().message() << "\n";
    return 1;
  }
  double after_warmup = 0;
  if (at_step.size() > 2) {
    after_warmup = static_cast<double>(at_step.back().second - at_step[1].second) /
                   (at_step.back().first - at_step[1].first);
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
                                {"tokens_per_second_after_warmup", after_warmup},
                                {"flops_per_token_6n", 6 * MatmulParams(shape)},
                                {"peak_rss_mib", ru.ru_maxrss / 1024.0},
                                {"first_loss", r->report.losses.front()},
                                {"last_loss", r->report.losses.back()}};
  std::cout << out.dump() << "\n";
  return 0;
}
