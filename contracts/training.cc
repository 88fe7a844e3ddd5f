#include "contracts/training.h"

#include "absl/strings/str_cat.h"
#include "base/json.h"
#include "base/status.h"
#include "contracts/internal/parse.h"
#include "contracts/internal/schemas.h"

namespace triad::contracts {
namespace {

constexpr size_t kMaxTrainingTextSize = 64 * 1024;

// Not sizes of anything: these layers are tied to the vocabulary, are huge, and are not part of
// what a LoRA adapter of this system may change.
constexpr const char* kRefusedModules[] = {"embed_tokens", "lm_head"};

}  // namespace

namespace internal {

void RefineTrainingErrors(const nlohmann::json& training, const std::string& prefix,
                          std::vector<SchemaError>& errors) {
  if (!training.is_object()) return;
  auto it = training.find("target_modules");
  if (it == training.end() || !it->is_array()) return;
  for (size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& m = (*it)[i];
    if (!m.is_string()) continue;
    for (const char* refused : kRefusedModules) {
      if (m.get<std::string>() != refused) continue;
      std::string path = JoinPointer(JoinPointer(prefix, "target_modules"), std::to_string(i));
      for (SchemaError& e : errors) {
        if (e.path == path) {
          e.message =
              absl::StrCat(refused,
                           " is refused: LoRA adapts only the attention and MLP projections "
                           "(q_proj k_proj v_proj o_proj gate_proj up_proj down_proj), never "
                           "embed_tokens or lm_head");
        }
      }
    }
  }
}

TrainingConfig ReadTraining(const nlohmann::json& j) {
  TrainingConfig t;
  t.rank = j.at("rank").get<int64_t>();
  t.alpha = j.at("alpha").get<double>();
  t.dropout = j.value("dropout", 0.0);
  t.use_rslora = j.value("use_rslora", false);
  t.target_modules = j.at("target_modules").get<std::vector<std::string>>();
  if (j.contains("epochs")) t.epochs = j["epochs"].get<int64_t>();
  if (j.contains("max_steps")) t.max_steps = j["max_steps"].get<int64_t>();
  t.learning_rate = j.at("learning_rate").get<double>();
  t.lr_scheduler = j.value("lr_scheduler", std::string("linear"));
  if (j.contains("warmup_steps")) t.warmup_steps = j["warmup_steps"].get<int64_t>();
  t.weight_decay = j.value("weight_decay", 0.0);
  t.batch_size = j.at("batch_size").get<int64_t>();
  if (j.contains("gradient_accumulation_steps")) {
    t.gradient_accumulation_steps = j["gradient_accumulation_steps"].get<int64_t>();
  }
  t.max_grad_norm = j.value("max_grad_norm", 1.0);
  t.sequence_length = j.at("sequence_length").get<int64_t>();
  t.packing = j.value("packing", false);
  t.eval_fraction = j.value("eval_fraction", 0.0);
  t.seed = j.at("seed").get<int64_t>();
  t.gpus = j.value("gpus", int64_t{0});
  return t;
}

}  // namespace internal

TrainingConfig TrainingConfig::Default() {
  TrainingConfig t;
  t.rank = 8;
  t.alpha = 16;
  t.dropout = 0.05;
  t.target_modules.assign(std::begin(kLoraTargetModules), std::end(kLoraTargetModules));
  t.epochs = 1;
  t.learning_rate = 2e-4;
  t.lr_scheduler = "cosine";
  t.warmup_steps = 10;
  t.batch_size = 4;
  t.sequence_length = 512;
  t.seed = 42;
  return t;
}

nlohmann::ordered_json TrainingConfig::ToJson() const {
  nlohmann::ordered_json j;
  j["method"] = "lora";
  j["rank"] = rank;
  j["alpha"] = alpha;
  j["dropout"] = dropout;
  j["use_rslora"] = use_rslora;
  j["target_modules"] = target_modules;
  j["epochs"] = epochs;
  j["max_steps"] = max_steps;
  j["learning_rate"] = learning_rate;
  j["lr_scheduler"] = lr_scheduler;
  j["warmup_steps"] = warmup_steps;
  j["weight_decay"] = weight_decay;
  j["batch_size"] = batch_size;
  j["gradient_accumulation_steps"] = gradient_accumulation_steps;
  j["max_grad_norm"] = max_grad_norm;
  j["sequence_length"] = sequence_length;
  j["packing"] = packing;
  j["eval_fraction"] = eval_fraction;
  j["seed"] = seed;
  return j;
}

nlohmann::ordered_json TrainingConfig::ToSectionJson() const {
  nlohmann::ordered_json j = ToJson();
  if (gpus > 0) j["gpus"] = gpus;
  return j;
}

absl::StatusOr<TrainingConfig> TrainingConfig::FromJson(const nlohmann::json& j,
                                                        std::vector<std::string>* problems) {
  std::vector<internal::SchemaError> errors = internal::CheckSchema(j, "#/$defs/training");
  internal::RefineTrainingErrors(j, "", errors);
  std::vector<std::string> found;
  internal::AppendErrors(errors, found);
  if (found.empty()) {
    try {
      return internal::ReadTraining(j);
    } catch (const nlohmann::json::exception& e) {
      found.push_back(absl::StrCat("/: cannot read the section: ", e.what()));
    }
  }
  if (problems != nullptr) *problems = found;
  return internal::ProblemsStatus("training", found);
}

absl::StatusOr<TrainingConfig> TrainingConfig::FromText(absl::string_view text,
                                                        std::vector<std::string>* problems) {
  base::JsonLimits limits;
  limits.max_bytes = kMaxTrainingTextSize;
  limits.max_depth = 4;
  absl::StatusOr<nlohmann::json> j = base::ParseJsonStrict(text, limits);
  if (!j.ok()) {
    if (problems != nullptr) *problems = {std::string(j.status().message())};
    return base::Annotate(j.status(), "training");
  }
  return FromJson(*j, problems);
}

}  // namespace triad::contracts
