// The trainer's public API: LoRA fine-tuning of Llama/Qwen-family decoders, from in-memory inputs
// to in-memory outputs. Torch-free header (LibTorch stays inside trainer/), so worker/ and cli/
// compile fast and never see LibTorch.
//
// Plaintext rule: the library never reads or writes files. Every input is a buffer the caller owns
// (ModelFiles and the dataset are views, borrowed for the duration of the call); every output is a
// buffer returned to the caller, who wipes it with Wipe() when done. Inside Train, every weight,
// gradient, optimizer state and token buffer the library made is zeroed before it is released.
// Error messages never contain weights, dataset text or token ids.
#ifndef TRIAD_TRAINER_TRAINER_H_
#define TRIAD_TRAINER_TRAINER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trainer/model_buffer.h"
#include "trainer/safetensors.h"
#include "trainer/status.h"
#include "trainer/tokenizer.h"

namespace triad::trainer {

// The contract's `training` section (the shared JSON form; see TRAINING-SECTION in the docs).
struct TrainingConfig {
  std::string method = "lora";
  int64_t rank = 8;
  double alpha = 16;
  double dropout = 0;
  bool use_rslora = false;
  // A subset of q_proj k_proj v_proj o_proj gate_proj up_proj down_proj.
  std::vector<std::string> target_modules;
  int64_t epochs = 1;
  int64_t max_steps = 0;  // > 0: bounds training and overrides epochs
  double learning_rate = 2e-4;
  std::string lr_scheduler = "linear";  // "linear", "cosine" or "constant"
  int64_t warmup_steps = 0;
  double weight_decay = 0;
  int64_t batch_size = 1;
  int64_t gradient_accumulation_steps = 1;
  double max_grad_norm = 1.0;  // 0 = no clipping
  int64_t sequence_length = 512;
  bool packing = false;
  double eval_fraction = 0;
  int64_t seed = 0;
};

// Parses the JSON form: unknown keys, wrong types and out-of-range values are errors naming the
// key; embed_tokens / lm_head in target_modules are refused with the reason. Missing optional keys
// take their defaults; missing required keys (method, rank, alpha, target_modules, learning_rate,
// batch_size, sequence_length, seed) are errors.
Result<TrainingConfig> ParseTrainingConfig(std::string_view json);
// Checks the ranges of a config built in code (ParseTrainingConfig calls it). Accepts exactly what
// the shared form allows (so contracts/ and trainer/ agree); Train additionally refuses epochs =
// max_steps = 0.
Status ValidateTrainingConfig(const TrainingConfig& config);
// The JSON form, every key written, in the table's order.
std::string TrainingConfigToJson(const TrainingConfig& config);

// A model bundle held in memory by the caller: config.json, tokenizer.json, the safetensors file(s)
// by file name, and model.safetensors.index.json when sharded (empty otherwise).
struct ModelFiles {
  std::string_view config_json;
  std::string_view tokenizer_json;
  std::vector<NamedBuffer> safetensors;
  std::string_view safetensors_index_json;
  // Optional (borrowed): the buffer that holds every safetensors file above. Train then consumes
  // those files as it loads them: each tensor's bytes are wiped, and their pages handed back, as
  // soon as the tensor is on the device, so the plaintext and the model never both exist in full;
  // the caller must not read them afterwards (the other files are left alone). Train fails with
  // kInvalidArgument, before reading anything, when a safetensors file lies outside it.
  ConsumableBuffer* consumable = nullptr;
};

struct Progress {
  int64_t step = 0;  // optimizer steps done
  int64_t total_steps = 0;
  double loss = 0;                  // mean token loss of this step
  std::optional<double> eval_loss;  // set on the steps where the held-out split was evaluated
  double tokens_per_second = 0;     // non-padding tokens through the model per wall second, so far
  int64_t tokens = 0;               // non-padding tokens so far
  double learning_rate = 0;         // the rate this step used
};

struct TrainOptions {
  std::string device = "cpu";  // "cpu", "cuda" (= cuda:0) or "cuda:N"
  int num_gpus = 1;            // with "cuda": data parallel over cuda:0..num_gpus-1 (needs NCCL)
  int threads = 0;             // CPU intra-op threads; 0 = LibTorch's default
  // "fp32": everything in float32 (the exactness tests). "bf16": base weights and activations in
  // bfloat16, LoRA weights and optimizer in float32 (autocast-like), norms, softmax and loss in
  // float32. "auto": bf16 on CUDA, fp32 on CPU.
  std::string precision = "auto";
  bool activation_checkpointing = false;  // recompute each layer in backward (needs dropout 0)
  // Cross-entropy over this many positions at a time, so that the float32 [positions, vocab] logits
  // are never all alive; 0: automatic (logits of about 32 MiB a chunk on CPU, 1 GiB on CUDA).
  int64_t loss_chunk_rows = 0;
  int64_t eval_every_steps = 0;  // 0: evaluate before the first and after the last step only
  bool merge = false;            // also return the base model with the adapter merged in
  std::function<void(const Progress&)> on_progress;  // called on the calling thread after each step
  const std::atomic<bool>* cancel = nullptr;         // set to stop at the next step (kCancelled)
  const Tokenizer* tokenizer = nullptr;  // overrides tokenizer_json (borrowed); for tests
  // Called on the calling thread once the model is loaded and before the first step, with the
  // seconds the load took (checkpoint checked and copied to the device, adapters initialized).
  std::function<void(double load_seconds)> on_model_loaded;
};

struct TrainReport {
  int64_t steps = 0;
  int64_t total_steps = 0;
  int64_t epochs = 0;  // passes over the training split begun
  int64_t train_examples = 0;
  int64_t eval_examples = 0;
  int64_t tokens = 0;          // non-padding tokens through the model in training
  int64_t loss_tokens = 0;     // tokens that carried loss
  std::vector<double> losses;  // one per step
  struct Eval {
    int64_t step;
    double loss;
  };
  std::vector<Eval> eval_losses;  // held-out loss (empty without eval_fraction)
  double load_seconds = 0;  // checkpoint to model ready on the device (all ranks)
  double wall_seconds = 0;  // the training loop
  double tokens_per_second = 0;
  int64_t trainable_parameters = 0;
  std::string device;
  std::string precision;
  // {"steps", "total_steps", "epochs", "train_examples", "eval_examples", "tokens", "loss_tokens",
  //  "losses": [..], "final_loss", "eval_losses": [{"step", "loss"}], "load_seconds", "wall_seconds",
  //  "tokens_per_second", "trainable_parameters", "device", "precision"}
  std::string ToJson() const;
};

struct OutputFile {
  std::string name;  // "adapter_config.json", "adapter_model.safetensors", "model.safetensors", ...
  std::string data;
};

struct TrainResult {
  // adapter_config.json + adapter_model.safetensors (PEFT layout, F32).
  std::vector<OutputFile> adapter;
  std::vector<OutputFile> merged;  // with merge: config.json + model.safetensors (base dtype)
  TrainReport report;
};

// Fine-tunes a LoRA adapter. The dataset is JSONL, one example per line: {"prompt","completion"}
// (loss on the completion only), {"text"} or {"messages":[{"role","content"},...]} (loss on
// assistant turns, rendered in the model family's chat format). Fails on any invalid input (naming
// it, a dataset line by number), on kCancelled when options.cancel was set, and on LibTorch errors
// (kInternal). Deterministic on CPU for a given seed and thread count. Not reentrant with different
// `threads`.
Result<TrainResult> Train(const ModelFiles& model, std::string_view dataset_jsonl,
                          const TrainingConfig& config, const TrainOptions& options);

// Makes a small random model in the Hugging Face layout for tests and the quickstart: returns
// model.safetensors (weights ~ N(0, initializer_range), norms 1, biases 0, in the config's dtype)
// and config.json (as given). Deterministic in `seed` on every platform. Torch-free.
Result<std::vector<OutputFile>> MakeRandomModel(std::string_view config_json, uint64_t seed);

// Zeroes a buffer's bytes (not optimized away), then empties it.
void Wipe(std::string& buffer);
void Wipe(TrainResult& result);

}  // namespace triad::trainer

#endif  // TRIAD_TRAINER_TRAINER_H_
