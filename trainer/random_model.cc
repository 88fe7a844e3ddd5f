// MakeRandomModel: a deterministic random checkpoint for tests and the quickstart. Torch-free.
#include <cmath>
#include <cstring>

#include "trainer/model_config.h"
#include "trainer/trainer.h"

namespace triad::trainer {
namespace {

class Rng {  // SplitMix64 + Box-Muller: the same numbers on every platform and compiler
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform() {
    return (static_cast<double>(Next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
  }  // (0,1)
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u = Uniform(), v = Uniform();
    double r = std::sqrt(-2.0 * std::log(u));
    spare_ = r * std::sin(2.0 * M_PI * v);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * v);
  }

 private:
  uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0;
};

void Put(Dtype dtype, float v, std::string& out, size_t i) {
  if (dtype == Dtype::kF32) {
    std::memcpy(&out[4 * i], &v, 4);
  } else {
    uint16_t h = dtype == Dtype::kBF16 ? FloatToBf16(v) : FloatToF16(v);
    out[2 * i] = static_cast<char>(h & 0xFF);
    out[2 * i + 1] = static_cast<char>(h >> 8);
  }
}

}  // namespace

Result<std::vector<OutputFile>> MakeRandomModel(std::string_view config_json, uint64_t seed) {
  TRAINER_ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(config_json));
  Dtype dtype = config.dtype == "bfloat16"  ? Dtype::kBF16
                : config.dtype == "float16" ? Dtype::kF16
                                            : Dtype::kF32;
  std::vector<TensorToWrite> tensors;
  Rng rng(seed);
  for (const ExpectedTensor& e : ExpectedTensors(config)) {
    TensorToWrite t;
    t.name = e.name;
    t.dtype = dtype;
    t.shape = e.shape;
    size_t n = 1;
    for (int64_t d : e.shape) n *= static_cast<size_t>(d);
    t.data.assign(n * DtypeSize(dtype), '\0');
    for (size_t i = 0; i < n; ++i) {
      float v = 0;
      switch (e.kind) {
        case ExpectedTensor::kEmbedding:
        case ExpectedTensor::kLinear:
          v = static_cast<float>(rng.Normal() * config.initializer_range);
          break;
        case ExpectedTensor::kNorm:
          v = 1.0f;
          break;
        case ExpectedTensor::kBias:
          v = 0.0f;
          break;
      }
      Put(dtype, v, t.data, i);
    }
    tensors.push_back(std::move(t));
  }
  TRAINER_ASSIGN_OR_RETURN(std::string st, WriteSafetensors(tensors, {{"format", "pt"}}));
  std::vector<OutputFile> out;
  out.push_back({"config.json", std::string(config_json)});
  out.push_back({"model.safetensors", std::move(st)});
  return out;
}

}  // namespace triad::trainer
