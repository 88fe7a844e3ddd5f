#include "trainer/peft.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "trainer/internal/json_util.h"

namespace triad::trainer {
namespace {
using nlohmann::json;
Status Bad(const std::string& m) { return InvalidArgument("adapter_config.json: " + m); }
}  // namespace

double LoraSettings::Scaling() const {
  return use_rslora ? alpha / std::sqrt(static_cast<double>(rank))
                    : alpha / static_cast<double>(rank);
}

std::string ModulePath(int64_t layer, const std::string& proj) {
  bool attn = proj == "q_proj" || proj == "k_proj" || proj == "v_proj" || proj == "o_proj";
  return "model.layers." + std::to_string(layer) + (attn ? ".self_attn." : ".mlp.") + proj;
}

std::string PeftTensorName(int64_t layer, const std::string& proj, bool a) {
  return "base_model.model." + ModulePath(layer, proj) + (a ? ".lora_A.weight" : ".lora_B.weight");
}

std::string AdapterConfigJson(const LoraSettings& lora) {
  std::vector<std::string> targets = lora.targets;
  std::sort(targets.begin(), targets.end());
  json j = json::object();  // std::map-backed: keys sorted, as sort_keys=True
  j["alora_invocation_tokens"] = nullptr;
  j["alpha_pattern"] = json::object();
  j["arrow_config"] = nullptr;
  j["auto_mapping"] = nullptr;
  j["base_model_name_or_path"] = nullptr;
  j["bias"] = "none";
  j["corda_config"] = nullptr;
  j["ensure_weight_tying"] = false;
  j["eva_config"] = nullptr;
  j["exclude_modules"] = nullptr;
  j["fan_in_fan_out"] = false;
  j["inference_mode"] = true;
  j["init_lora_weights"] = true;
  j["kasa_config"] = nullptr;
  j["layer_replication"] = nullptr;
  j["layers_pattern"] = nullptr;
  j["layers_to_transform"] = nullptr;
  j["loftq_config"] = json::object();
  if (lora.alpha == std::floor(lora.alpha) && std::fabs(lora.alpha) < 1e15) {
    j["lora_alpha"] = static_cast<int64_t>(lora.alpha);
  } else {
    j["lora_alpha"] = lora.alpha;
  }
  j["lora_bias"] = false;
  j["lora_dropout"] = lora.dropout;
  j["lora_ga_config"] = nullptr;
  j["megatron_config"] = nullptr;
  j["megatron_core"] = "megatron.core";
  j["modules_to_save"] = nullptr;
  j["monteclora_config"] = nullptr;
  j["peft_type"] = "LORA";
  j["peft_version"] = "0.21.0";
  j["qalora_group_size"] = 16;
  j["r"] = lora.rank;
  j["rank_pattern"] = json::object();
  j["revision"] = nullptr;
  j["target_modules"] = targets;
  j["target_parameters"] = nullptr;
  j["task_type"] = "CAUSAL_LM";
  j["trainable_token_indices"] = nullptr;
  j["use_bdlora"] = nullptr;
  j["use_dora"] = false;
  j["use_qalora"] = false;
  j["use_rslora"] = lora.use_rslora;
  j["velora_config"] = nullptr;
  return j.dump(2);
}

Result<LoraSettings> ParseAdapterConfig(std::string_view text) {
  TRAINER_ASSIGN_OR_RETURN(json j, internal::ParseJson(text, "adapter_config.json", 16));
  if (!j.is_object()) return Bad("not a JSON object");
  auto is_empty = [](const json& v) {
    return v.is_null() || (v.is_object() && v.empty()) || (v.is_array() && v.empty());
  };
  if (!j.contains("peft_type") || j["peft_type"] != "LORA") return Bad("peft_type is not \"LORA\"");
  // Keys whose non-default values change the computation and are not implemented.
  const std::pair<const char*, json> must_be[] = {
      {"use_dora", false},  {"fan_in_fan_out", false}, {"bias", "none"},
      {"lora_bias", false}, {"use_qalora", false},
  };
  for (const auto& [key, want] : must_be) {
    if (j.contains(key) && !j[key].is_null() && j[key] != want)
      return Bad("\"" + std::string(key) + "\" " + j[key].dump() + " is not supported");
  }
  for (const char* key :
       {"modules_to_save", "rank_pattern", "alpha_pattern", "layers_to_transform", "layers_pattern",
        "layer_replication", "exclude_modules", "trainable_token_indices", "target_parameters",
        "alora_invocation_tokens", "use_bdlora", "monteclora_config", "kasa_config"}) {
    if (j.contains(key) && !is_empty(j[key]))
      return Bad("\"" + std::string(key) + "\" is set; that is not supported");
  }
  LoraSettings s;
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int64_t>() < 1)
    return Bad("\"r\" must be a positive integer");
  s.rank = j["r"].get<int64_t>();
  if (!j.contains("lora_alpha") || !j["lora_alpha"].is_number())
    return Bad("\"lora_alpha\" must be a number");
  s.alpha = j["lora_alpha"].get<double>();
  if (j.contains("lora_dropout") && j["lora_dropout"].is_number())
    s.dropout = j["lora_dropout"].get<double>();
  if (j.contains("use_rslora") && j["use_rslora"].is_boolean())
    s.use_rslora = j["use_rslora"].get<bool>();
  if (!j.contains("target_modules") || !j["target_modules"].is_array()) {
    return Bad("\"target_modules\" must be a list (a regex string is not supported)");
  }
  static const std::set<std::string> allowed = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                "gate_proj", "up_proj", "down_proj"};
  for (const json& t : j["target_modules"]) {
    if (!t.is_string() || !allowed.count(t.get<std::string>())) {
      return Bad("target module " + t.dump() + " is not supported");
    }
    s.targets.push_back(t.get<std::string>());
  }
  std::sort(s.targets.begin(), s.targets.end());
  s.targets.erase(std::unique(s.targets.begin(), s.targets.end()), s.targets.end());
  return s;
}

}  // namespace triad::trainer
