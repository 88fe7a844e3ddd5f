// The PEFT LoRA layout: adapter_config.json as peft writes it, and the tensor names of
// adapter_model.safetensors ("base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight").
// Torch-free.
#ifndef TRIAD_TRAINER_PEFT_H_
#define TRIAD_TRAINER_PEFT_H_

#include <string>
#include <string_view>
#include <vector>

#include "trainer/status.h"

namespace triad::trainer {

struct LoraSettings {
  int64_t rank = 8;
  double alpha = 16;
  double dropout = 0;
  bool use_rslora = false;
  std::vector<std::string> targets;  // projection names, e.g. "q_proj"
  // alpha / rank, or alpha / sqrt(rank) with rsLoRA (peft LoraLayer.update_layer).
  double Scaling() const;
};

// adapter_config.json with the keys and layout peft 0.21 writes (json.dumps(indent=2,
// sort_keys=True)), target_modules sorted.
std::string AdapterConfigJson(const LoraSettings& lora);
// Reads an adapter_config.json: peft_type LORA, r, lora_alpha, lora_dropout, use_rslora,
// target_modules. Refuses what this trainer does not implement (DoRA, bias, modules_to_save,
// fan_in_fan_out, rank/alpha patterns, layer selection, ...), naming the key.
Result<LoraSettings> ParseAdapterConfig(std::string_view json);

// "base_model.model.model.layers.<layer>.<self_attn|mlp>.<proj>.lora_<A|B>.weight"
std::string PeftTensorName(int64_t layer, const std::string& proj, bool a);
// "model.layers.<layer>.<self_attn|mlp>.<proj>" (the base module of a projection)
std::string ModulePath(int64_t layer, const std::string& proj);

}  // namespace triad::trainer

#endif  // TRIAD_TRAINER_PEFT_H_
