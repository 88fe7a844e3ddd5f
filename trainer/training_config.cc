// The `training` section: parsing, checking, writing. Also the torch-free parts of trainer.h.
#include <cmath>
#include <cstring>
#include <set>

#include "trainer/internal/json_util.h"
#include "trainer/trainer.h"

namespace triad::trainer {
namespace {

using nlohmann::json;

const char* const kTargets[] = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                "gate_proj", "up_proj", "down_proj"};

Status Bad(const std::string& m) { return InvalidArgument("training: " + m); }

Status GetInt(const json& j, const char* key, bool required, int64_t& out) {
  if (!j.contains(key))
    return required ? Bad("missing \"" + std::string(key) + "\"") : Status::Ok();
  const json& v = j[key];
  if (!v.is_number_integer())
    return Bad("\"" + std::string(key) + "\" must be an integer, not " + internal::JsonTypeName(v));
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return Bad("\"" + std::string(key) + "\" is too large");
  }
  out = v.get<int64_t>();
  return Status::Ok();
}

Status GetNumber(const json& j, const char* key, bool required, double& out) {
  if (!j.contains(key))
    return required ? Bad("missing \"" + std::string(key) + "\"") : Status::Ok();
  const json& v = j[key];
  if (!v.is_number())
    return Bad("\"" + std::string(key) + "\" must be a number, not " + internal::JsonTypeName(v));
  out = v.get<double>();
  return Status::Ok();
}

Status GetBool(const json& j, const char* key, bool& out) {
  if (!j.contains(key)) return Status::Ok();
  if (!j[key].is_boolean())
    return Bad("\"" + std::string(key) + "\" must be true or false, not " +
               internal::JsonTypeName(j[key]));
  out = j[key].get<bool>();
  return Status::Ok();
}

Status GetString(const json& j, const char* key, bool required, std::string& out) {
  if (!j.contains(key))
    return required ? Bad("missing \"" + std::string(key) + "\"") : Status::Ok();
  if (!j[key].is_string())
    return Bad("\"" + std::string(key) + "\" must be a string, not " +
               internal::JsonTypeName(j[key]));
  out = j[key].get<std::string>();
  return Status::Ok();
}

}  // namespace

Status ValidateTrainingConfig(const TrainingConfig& c) {
  if (c.method != "lora")
    return Bad("method \"" + c.method + "\" is not supported (only \"lora\")");
  if (c.rank < 1 || c.rank > 256)
    return Bad("rank " + std::to_string(c.rank) + " is outside 1..256");
  if (!(c.alpha > 0) || !std::isfinite(c.alpha)) return Bad("alpha must be a positive number");
  if (!(c.dropout >= 0 && c.dropout < 1)) return Bad("dropout must be in [0, 1)");
  if (c.target_modules.empty()) return Bad("target_modules is empty");
  std::set<std::string> seen;
  for (const std::string& t : c.target_modules) {
    if (t == "embed_tokens" || t == "lm_head") {
      return Bad("target module \"" + t +
                 "\" is refused: an adapter on it would carry the model owner's embedding or "
                 "output weights");
    }
    bool known = false;
    for (const char* k : kTargets) known |= t == k;
    if (!known) {
      return Bad("unknown target module \"" + t +
                 "\" (choose from q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)");
    }
    if (!seen.insert(t).second) return Bad("target module \"" + t + "\" is listed twice");
  }
  if (c.epochs < 0) return Bad("epochs must be >= 0");
  if (c.max_steps < 0) return Bad("max_steps must be >= 0");
  if (!(c.learning_rate > 0) || !std::isfinite(c.learning_rate))
    return Bad("learning_rate must be a positive number");
  if (c.lr_scheduler != "linear" && c.lr_scheduler != "cosine" && c.lr_scheduler != "constant") {
    return Bad("lr_scheduler \"" + c.lr_scheduler +
               "\" is not supported (linear, cosine, constant)");
  }
  if (c.warmup_steps < 0) return Bad("warmup_steps must be >= 0");
  if (!(c.weight_decay >= 0) || !std::isfinite(c.weight_decay))
    return Bad("weight_decay must be >= 0");
  if (c.batch_size < 1) return Bad("batch_size must be >= 1");
  if (c.gradient_accumulation_steps < 1) return Bad("gradient_accumulation_steps must be >= 1");
  if (!(c.max_grad_norm >= 0) || !std::isfinite(c.max_grad_norm))
    return Bad("max_grad_norm must be >= 0");
  if (c.sequence_length < 8 || c.sequence_length > 131072) {
    return Bad("sequence_length " + std::to_string(c.sequence_length) + " is outside 8..131072");
  }
  if (!(c.eval_fraction >= 0 && c.eval_fraction < 1)) return Bad("eval_fraction must be in [0, 1)");
  if (c.seed < 0) return Bad("seed must be >= 0");
  return Status::Ok();
}

Result<TrainingConfig> ParseTrainingConfig(std::string_view text) {
  TRAINER_ASSIGN_OR_RETURN(json j, internal::ParseJson(text, "training", 8));
  if (!j.is_object()) return Bad("not a JSON object");
  static const std::set<std::string> known = {"method",        "rank",
                                              "alpha",         "dropout",
                                              "use_rslora",    "target_modules",
                                              "epochs",        "max_steps",
                                              "learning_rate", "lr_scheduler",
                                              "warmup_steps",  "weight_decay",
                                              "batch_size",    "gradient_accumulation_steps",
                                              "max_grad_norm", "sequence_length",
                                              "packing",       "eval_fraction",
                                              "seed"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!known.count(it.key())) return Bad("unknown key \"" + it.key() + "\"");
  }
  TrainingConfig c;
  c.target_modules.clear();
  TRAINER_RETURN_IF_ERROR(GetString(j, "method", true, c.method));
  TRAINER_RETURN_IF_ERROR(GetInt(j, "rank", true, c.rank));
  TRAINER_RETURN_IF_ERROR(GetNumber(j, "alpha", true, c.alpha));
  TRAINER_RETURN_IF_ERROR(GetNumber(j, "dropout", false, c.dropout));
  TRAINER_RETURN_IF_ERROR(GetBool(j, "use_rslora", c.use_rslora));
  if (!j.contains("target_modules")) return Bad("missing \"target_modules\"");
  if (!j["target_modules"].is_array()) return Bad("\"target_modules\" must be an array of strings");
  for (const json& t : j["target_modules"]) {
    if (!t.is_string()) return Bad("\"target_modules\" must be an array of strings");
    c.target_modules.push_back(t.get<std::string>());
  }
  TRAINER_RETURN_IF_ERROR(GetInt(j, "epochs", false, c.epochs));
  TRAINER_RETURN_IF_ERROR(GetInt(j, "max_steps", false, c.max_steps));
  TRAINER_RETURN_IF_ERROR(GetNumber(j, "learning_rate", true, c.learning_rate));
  TRAINER_RETURN_IF_ERROR(GetString(j, "lr_scheduler", false, c.lr_scheduler));
  TRAINER_RETURN_IF_ERROR(GetInt(j, "warmup_steps", false, c.warmup_steps));
  TRAINER_RETURN_IF_ERROR(GetNumber(j, "weight_decay", false, c.weight_decay));
  TRAINER_RETURN_IF_ERROR(GetInt(j, "batch_size", true, c.batch_size));
  TRAINER_RETURN_IF_ERROR(
      GetInt(j, "gradient_accumulation_steps", false, c.gradient_accumulation_steps));
  TRAINER_RETURN_IF_ERROR(GetNumber(j, "max_grad_norm", false, c.max_grad_norm));
  TRAINER_RETURN_IF_ERROR(GetInt(j, "sequence_length", true, c.sequence_length));
  TRAINER_RETURN_IF_ERROR(GetBool(j, "packing", c.packing));
  TRAINER_RETURN_IF_ERROR(GetNumber(j, "eval_fraction", false, c.eval_fraction));
  TRAINER_RETURN_IF_ERROR(GetInt(j, "seed", true, c.seed));
  TRAINER_RETURN_IF_ERROR(ValidateTrainingConfig(c));
  return c;
}

std::string TrainingConfigToJson(const TrainingConfig& c) {
  nlohmann::ordered_json j;
  j["method"] = c.method;
  j["rank"] = c.rank;
  j["alpha"] = c.alpha;
  j["dropout"] = c.dropout;
  j["use_rslora"] = c.use_rslora;
  j["target_modules"] = c.target_modules;
  j["epochs"] = c.epochs;
  j["max_steps"] = c.max_steps;
  j["learning_rate"] = c.learning_rate;
  j["lr_scheduler"] = c.lr_scheduler;
  j["warmup_steps"] = c.warmup_steps;
  j["weight_decay"] = c.weight_decay;
  j["batch_size"] = c.batch_size;
  j["gradient_accumulation_steps"] = c.gradient_accumulation_steps;
  j["max_grad_norm"] = c.max_grad_norm;
  j["sequence_length"] = c.sequence_length;
  j["packing"] = c.packing;
  j["eval_fraction"] = c.eval_fraction;
  j["seed"] = c.seed;
  return j.dump();
}

std::string TrainReport::ToJson() const {
  nlohmann::ordered_json j;
  j["steps"] = steps;
  j["total_steps"] = total_steps;
  j["epochs"] = epochs;
  j["train_examples"] = train_examples;
  j["eval_examples"] = eval_examples;
  j["tokens"] = tokens;
  j["loss_tokens"] = loss_tokens;
  j["losses"] = losses;
  j["final_loss"] =
      losses.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(losses.back());
  nlohmann::ordered_json ev = nlohmann::ordered_json::array();
  for (const Eval& e : eval_losses) ev.push_back({{"step", e.step}, {"loss", e.loss}});
  j["eval_losses"] = ev;
  j["load_seconds"] = load_seconds;
  j["wall_seconds"] = wall_seconds;
  j["tokens_per_second"] = tokens_per_second;
  j["trainable_parameters"] = trainable_parameters;
  j["device"] = device;
  j["precision"] = precision;
  return j.dump();
}

void Wipe(std::string& buffer) {
  if (!buffer.empty()) {
    volatile char* p = buffer.data();
    for (size_t i = 0; i < buffer.size(); ++i) p[i] = 0;
  }
  buffer.clear();
  buffer.shrink_to_fit();
}

void Wipe(TrainResult& result) {
  for (auto* files : {&result.adapter, &result.merged}) {
    for (OutputFile& f : *files) Wipe(f.data);
    files->clear();
  }
  result.report = TrainReport();
}

}  // namespace triad::trainer
