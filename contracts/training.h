// The `training` section of a contract: how the worker may fine-tune. The same JSON form is read by
// `triad train --config` (trainer/, which parses it on its own: trainer depends on nothing of
// Triad); the keys, types, ranges and defaults are those of TRAINING-SECTION and contracts/schema.
//
//   {"method": "lora", "rank": 8, "alpha": 16, "dropout": 0.05,
//    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj",
//                       "gate_proj", "up_proj", "down_proj"],
//    "epochs": 1, "learning_rate": 0.0002, "lr_scheduler": "cosine", "warmup_steps": 10,
//    "batch_size": 4, "sequence_length": 512, "seed": 42}
//
// Unknown keys are rejected; missing optional keys take their defaults. LoRA on embed_tokens or
// lm_head is refused with its own reason.
#ifndef TRIAD_CONTRACTS_TRAINING_H_
#define TRIAD_CONTRACTS_TRAINING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace triad::contracts {

// The projections LoRA may adapt, in the canonical order.
inline constexpr const char* kLoraTargetModules[] = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                     "gate_proj", "up_proj", "down_proj"};

struct TrainingConfig {
  // method is always "lora".
  int64_t rank = 8;    // 1..256
  double alpha = 16;   // > 0
  double dropout = 0;  // [0, 1)
  bool use_rslora = false;
  std::vector<std::string> target_modules;  // non-empty, distinct, from kLoraTargetModules
  int64_t epochs = 1;                       // >= 0
  int64_t max_steps = 0;                // >= 0; when > 0 it bounds training and overrides epochs
  double learning_rate = 2e-4;          // > 0
  std::string lr_scheduler = "linear";  // "linear", "cosine", "constant"
  int64_t warmup_steps = 0;             // >= 0
  double weight_decay = 0;              // >= 0
  int64_t batch_size = 4;               // >= 1
  int64_t gradient_accumulation_steps = 1;  // >= 1
  double max_grad_norm = 1.0;               // >= 0; 0 = no clipping
  int64_t sequence_length = 512;            // 8..131072
  bool packing = false;
  double eval_fraction = 0;  // [0, 1)
  int64_t seed = 42;         // >= 0
  // How many attested NVIDIA GPUs the worker trains on, data parallel; 0: its CPU. Not part of the
  // trainer's form (ToJson): the worker places the training on those GPUs and no other. A contract
  // with gpus > 0 needs worker_policy.nvidia_gpu with that count (contracts/contract.h).
  int64_t gpus = 0;  // 0..contracts::kMaxGpus

  // The section drafted when a contract names none: the example above (LoRA r=8 on every
  // projection, cosine schedule, 1 epoch).
  static TrainingConfig Default();

  // Every key, defaults written out, in the order of TRAINING-SECTION; integers as JSON integers.
  // This is the form to hand to the trainer: without "gpus".
  nlohmann::ordered_json ToJson() const;
  // The contract's section: ToJson() and, when gpus > 0, "gpus" last (so contracts without GPUs
  // keep their bytes).
  nlohmann::ordered_json ToSectionJson() const;

  // Checks `j` against the schema's training section and reads it. On failure: kInvalidArgument
  // "training: <problem>; <problem>…", and every problem, one per entry, in `problems` when given
  // ("/rank: 0 is less than minimum 1", "/target_modules/1: lm_head is refused: …").
  static absl::StatusOr<TrainingConfig> FromJson(const nlohmann::json& j,
                                                 std::vector<std::string>* problems = nullptr);
  // Strict JSON text (bounded, no duplicate keys), then FromJson.
  static absl::StatusOr<TrainingConfig> FromText(absl::string_view text,
                                                 std::vector<std::string>* problems = nullptr);
};

}  // namespace triad::contracts

#endif  // TRIAD_CONTRACTS_TRAINING_H_
