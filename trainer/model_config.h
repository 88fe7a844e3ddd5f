// A decoder's Hugging Face config.json: the Llama family (Llama 2, 3, 3.x with llama3 RoPE scaling;
// Mistral), Qwen2/Qwen2.5 (q/k/v bias, tied embeddings) and Qwen3 (per-head q/k RMSNorm). Both the
// transformers 4 form (rope_theta, rope_scaling, torch_dtype) and the 5 form (rope_parameters,
// dtype). Torch-free.
#ifndef TRIAD_TRAINER_MODEL_CONFIG_H_
#define TRIAD_TRAINER_MODEL_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trainer/safetensors.h"
#include "trainer/status.h"

namespace triad::trainer {

enum class ModelFamily { kLlama, kMistral, kQwen2, kQwen3 };

struct RopeConfig {
  double theta = 10000.0;
  std::string type = "default";  // "default" or "llama3"
  // llama3 scaling (transformers _compute_llama3_parameters).
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  ModelFamily family = ModelFamily::kLlama;
  std::string model_type;  // "llama", "mistral", "qwen2", "qwen3"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double initializer_range = 0.02;
  RopeConfig rope;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // q/k/v projections have a bias (Qwen2; Llama attention_bias)
  bool o_bias = false;    // o_proj has a bias (Llama attention_bias)
  bool mlp_bias = false;  // gate/up/down have a bias (Llama mlp_bias)
  bool qk_norm = false;   // Qwen3: RMSNorm over head_dim on q and k before RoPE
  int64_t sliding_window =
      0;  // Mistral: keys more than this many positions back are masked; 0 = none
  std::string dtype = "float32";  // "float32", "bfloat16" or "float16"
  bool dtype_stated = false;      // config.json names it (else float32 is assumed, unchecked)
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> bos_token_id;
  std::optional<int64_t> pad_token_id;
};

// Parses and checks config.json. An unknown architecture, model_type, key or option value is an
// error naming it ("config.json: rope type \"yarn\" is not supported"), never a silent
// approximation.
Result<ModelConfig> ParseModelConfig(std::string_view config_json);

// "model.layers.3.self_attn.q_proj" etc.; the names of a checkpoint's tensors that the config
// implies, with their shapes, in a fixed order. Used to check a checkpoint and to make random
// models.
struct ExpectedTensor {
  std::string name;
  std::vector<int64_t> shape;
  enum Kind { kEmbedding, kLinear, kBias, kNorm } kind;
};
std::vector<ExpectedTensor> ExpectedTensors(const ModelConfig& config);

// Checks a checkpoint's tensors (LoadCheckpoint's result) against the config before anything is
// allocated: every tensor ExpectedTensors names is there with that shape and dtype F32, F16 or BF16
// (the config's dtype, when config.json states one), and no other tensor is, except the
// *.rotary_emb.inv_freq buffers older Llama checkpoints keep. Errors start "checkpoint: " and name
// the tensor. The trainer's load runs it first; so do `triad model check` and `triad model push`.
Status CheckCheckpoint(const ModelConfig& config,
                       const std::map<std::string, TensorView>& tensors);

}  // namespace triad::trainer

#endif  // TRIAD_TRAINER_MODEL_CONFIG_H_
