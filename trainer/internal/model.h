// The decoder (Llama / Mistral / Qwen2 / Qwen3) in LibTorch, with LoRA. Private to trainer/: it
// includes LibTorch. Numerics follow transformers: RMSNorm in float32, half-split RoPE (llama3
// scaling included), grouped-query attention, SwiGLU, float32 cross-entropy with ignore index -100;
// fully masked query rows (left padding) attend to nothing and give zeros, as torch's SDPA does.
#ifndef TRIAD_TRAINER_INTERNAL_MODEL_H_
#define TRIAD_TRAINER_INTERNAL_MODEL_H_

#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "trainer/model_buffer.h"
#include "trainer/model_config.h"
#include "trainer/peft.h"
#include "trainer/safetensors.h"
#include "trainer/status.h"

namespace triad::trainer::internal {

struct ModelOptions {
  at::Device device = at::kCPU;
  // kFloat: all float32. kBFloat16: base weights and activations bf16, LoRA weights float32 (cast
  // to bf16 for the matmuls, as autocast does), norms / softmax / loss float32.
  at::ScalarType compute_dtype = at::kFloat;
  bool activation_checkpointing = false;
  // Cross-entropy over this many rows at a time (no [N, vocab] logits kept for backward); 0:
  // automatic (float32 logits of about 32 MiB per chunk on CPU, 1 GiB on CUDA).
  int64_t loss_chunk_rows = 0;
  bool use_sdpa = true;  // at::scaled_dot_product_attention when LibTorch has it (>= 2.0)
};

struct Linear {
  at::Tensor weight, bias;    // frozen
  at::Tensor lora_a, lora_b;  // float32, trainable; undefined without LoRA
  double scaling = 0;
  double dropout = 0;
};

// One projection's rows within a fused weight, and its LoRA scaling when it has an adapter (see
// FusedLora in model.cc).
struct FusedLoraPart {
  int64_t row, rows;
  double scaling;
  bool lora;
};

struct Layer {
  at::Tensor input_norm, post_norm, q_norm, k_norm;
  // q/k/v and gate/up run as one matmul each: their weights (and biases) are row slices (views) of
  // these fused tensors.
  at::Tensor qkv_weight, qkv_bias, gate_up_weight, gate_up_bias;
  Linear q, k, v, o, gate, up, down;
};

class DecoderModel {
 public:
  // Checks the checkpoint against the config before allocating anything (every expected tensor
  // present with its exact shape, F32/F16/BF16 and the dtype config.json states, no unexpected
  // tensor), then copies the tensors, in the order their bytes lie in memory, into tensors of the
  // compute dtype on the device (vectorised conversion; none when the dtypes match; q/k/v and
  // gate/up written straight into their fused tensors). With `consume`, each tensor's bytes are
  // consumed (wiped, their pages handed back) as soon as they are copied; bytes outside it are
  // left alone.
  static Result<std::unique_ptr<DecoderModel>> Load(
      const ModelConfig& config, const std::map<std::string, TensorView>& tensors,
      const ModelOptions& options, ConsumableBuffer* consume = nullptr);
  ~DecoderModel();
  DecoderModel(const DecoderModel&) = delete;
  DecoderModel& operator=(const DecoderModel&) = delete;

  // New adapters as peft initializes them: A ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in),
  // 1/sqrt(in)) from a generator seeded with `seed`, B = 0.
  Status InitLora(const LoraSettings& lora, uint64_t seed);
  // Adapters from a peft adapter_model.safetensors (names with base_model.model.).
  Status LoadLora(const LoraSettings& lora, const std::map<std::string, TensorView>& adapter);
  // Seeds the dropout generator.
  void SeedDropout(uint64_t seed);

  // Final hidden states [B, S, H] (after the last norm). input_ids int64 [B, S] on any device;
  // attention_mask int64 [B, S] or undefined (= all ones). `train` enables LoRA dropout.
  at::Tensor Hidden(const at::Tensor& input_ids, const at::Tensor& attention_mask, bool train);
  // Float32 logits [B, S, V].
  at::Tensor Logits(const at::Tensor& hidden);
  // Sum over positions of the float32 cross-entropy of hidden[:, t] predicting labels[:, t + 1],
  // over labels != -100; and the count of such positions. Differentiable w.r.t. the LoRA weights.
  std::pair<at::Tensor, int64_t> LossSum(const at::Tensor& hidden, const at::Tensor& labels);

  // peft names -> float32 master tensors (requires_grad), in name order.
  std::vector<std::pair<std::string, at::Tensor>> LoraParameters() const;
  int64_t TrainableParameters() const;
  const LoraSettings& lora() const { return lora_; }
  const ModelConfig& config() const { return config_; }
  const ModelOptions& options() const { return options_; }

  // adapter_model.safetensors (F32, peft names).
  Result<std::string> AdapterSafetensors() const;
  // model.safetensors of the base with W + scaling * B @ A merged in (computed in float32, stored
  // in the config's dtype).
  Result<std::string> MergedSafetensors() const;

  // Zeroes every tensor this model holds (weights, adapters, their gradients, caches).
  void Wipe();

  // One decoder layer (used by activation checkpointing).
  at::Tensor LayerForward(int64_t layer, const at::Tensor& x, const at::Tensor& cos,
                          const at::Tensor& sin, const at::Tensor& bias,
                          const at::Tensor& row_valid, bool train);

 private:
  DecoderModel(ModelConfig config, ModelOptions options)
      : config_(std::move(config)), options_(options) {}
  // The outputs of projections whose weights are consecutive row blocks of `weight` (q/k/v,
  // gate/up, or one), LoRA terms included: one autograd node (FusedLora) without LoRA dropout.
  std::vector<at::Tensor> Group(const at::Tensor& x, const at::Tensor& weight,
                                const at::Tensor& bias, const std::vector<const Linear*>& parts,
                                bool train);
  // y + the LoRA term of `l` on input x (y unchanged without LoRA).
  at::Tensor AddLora(const Linear& l, const at::Tensor& x, const at::Tensor& y, bool train);
  at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& w) const;
  // Whether Attention computes it itself (LibTorch < 2, or use_sdpa off); then q comes scaled.
  bool EagerAttention() const;
  at::Tensor Attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                       const at::Tensor& bias, const at::Tensor& row_valid);
  std::vector<std::pair<std::string, Linear*>> Projections();
  std::vector<std::pair<std::string, const Linear*>> Projections() const;

  ModelConfig config_;
  ModelOptions options_;
  LoraSettings lora_;
  at::Tensor embed_, final_norm_, lm_head_;  // lm_head_ aliases embed_ when tied
  std::vector<Layer> layers_;
  at::Tensor inv_freq_;  // float32 [head_dim / 2]
  std::optional<at::Generator> dropout_gen_;
  // Descriptions of fused LoRA groups, referenced by autograd nodes; few (one per distinct layout).
  std::vector<std::unique_ptr<std::vector<internal::FusedLoraPart>>> fused_parts_;
};

// Converts a safetensors tensor into a LibTorch tensor (copying; CPU).
Result<at::Tensor> ToTensor(const TensorView& view);

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_MODEL_H_
