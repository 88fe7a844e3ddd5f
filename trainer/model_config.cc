#include "trainer/model_config.h"

#include <cmath>
#include <set>

#include "trainer/internal/json_util.h"

namespace triad::trainer {
namespace {

using nlohmann::json;

// Keys of PretrainedConfig and of the model configs that do not change the decoder's forward pass
// or that this parser reads below. Anything else is refused by name.
const std::set<std::string>& IgnoredKeys() {
  static const std::set<std::string> k = {
      "architectures",
      "model_type",
      "transformers_version",
      "_name_or_path",
      "name_or_path",
      "bos_token_id",
      "eos_token_id",
      "pad_token_id",
      "sep_token_id",
      "decoder_start_token_id",
      "initializer_range",
      "use_cache",
      "torch_dtype",
      "dtype",
      "max_position_embeddings",
      "tokenizer_class",
      "return_dict",
      "output_hidden_states",
      "output_attentions",
      "torchscript",
      "use_bfloat16",
      "tf_legacy_loss",
      "pruned_heads",
      "chunk_size_feed_forward",
      "is_encoder_decoder",
      "is_decoder",
      "cross_attention_hidden_size",
      "add_cross_attention",
      "tie_encoder_decoder",
      "finetuning_task",
      "id2label",
      "label2id",
      "problem_type",
      "task_specific_params",
      "prefix",
      "max_length",
      "min_length",
      "do_sample",
      "early_stopping",
      "num_beams",
      "num_beam_groups",
      "diversity_penalty",
      "temperature",
      "top_k",
      "top_p",
      "typical_p",
      "repetition_penalty",
      "length_penalty",
      "no_repeat_ngram_size",
      "encoder_no_repeat_ngram_size",
      "bad_words_ids",
      "num_return_sequences",
      "output_scores",
      "return_dict_in_generate",
      "forced_bos_token_id",
      "forced_eos_token_id",
      "remove_invalid_values",
      "exponential_decay_length_penalty",
      "suppress_tokens",
      "begin_suppress_tokens",
      "output_router_logits",
      "pretraining_tp",
      "max_window_layers",  // only meaningful with use_sliding_window, which is refused
  };
  return k;
}

const std::set<std::string>& ReadKeys() {
  static const std::set<std::string> k = {
      "vocab_size",          "hidden_size",         "intermediate_size", "num_hidden_layers",
      "num_attention_heads", "num_key_value_heads", "head_dim",          "hidden_act",
      "rms_norm_eps",        "rope_theta",          "rope_scaling",      "rope_parameters",
      "tie_word_embeddings", "attention_bias",      "mlp_bias",          "attention_dropout",
      "sliding_window",      "use_sliding_window",  "layer_types",
  };
  return k;
}

Status Bad(const std::string& m) { return InvalidArgument("config.json: " + m); }

Result<int64_t> GetInt(const json& j, const std::string& key, std::optional<int64_t> fallback,
                       int64_t min) {
  if (!j.contains(key) || j[key].is_null()) {
    if (fallback) return *fallback;
    return Bad("missing \"" + key + "\"");
  }
  const json& v = j[key];
  if (!v.is_number_integer())
    return Bad("\"" + key + "\" must be an integer, not " + internal::JsonTypeName(v));
  int64_t x = v.get<int64_t>();
  if (x < min)
    return Bad("\"" + key + "\" is " + std::to_string(x) + "; it must be at least " +
               std::to_string(min));
  return x;
}

Result<double> GetNumber(const json& j, const std::string& key, std::optional<double> fallback) {
  if (!j.contains(key) || j[key].is_null()) {
    if (fallback) return *fallback;
    return Bad("missing \"" + key + "\"");
  }
  const json& v = j[key];
  if (!v.is_number())
    return Bad("\"" + key + "\" must be a number, not " + internal::JsonTypeName(v));
  double x = v.get<double>();
  if (!std::isfinite(x)) return Bad("\"" + key + "\" is not finite");
  return x;
}

Result<bool> GetBool(const json& j, const std::string& key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean())
    return Bad("\"" + key + "\" must be true or false, not " + internal::JsonTypeName(j[key]));
  return j[key].get<bool>();
}

// rope_scaling (transformers 4) or rope_parameters (5): {"rope_type" | "type", "factor", ...}.
Status ParseRope(const json& r, const std::string& where, RopeConfig& rope) {
  if (!r.is_object()) return Bad("\"" + where + "\" must be an object");
  static const std::set<std::string> known = {"rope_type",
                                              "type",
                                              "rope_theta",
                                              "factor",
                                              "low_freq_factor",
                                              "high_freq_factor",
                                              "original_max_position_embeddings"};
  for (auto it = r.begin(); it != r.end(); ++it) {
    if (!known.count(it.key())) return Bad("unknown key \"" + it.key() + "\" in \"" + where + "\"");
  }
  std::string type = "default";
  for (const char* k : {"rope_type", "type"}) {
    if (r.contains(k) && !r[k].is_null()) {
      if (!r[k].is_string()) return Bad("\"" + where + "." + k + "\" must be a string");
      type = r[k].get<std::string>();
    }
  }
  if (r.contains("rope_theta")) {
    TRAINER_ASSIGN_OR_RETURN(rope.theta, GetNumber(r, "rope_theta", std::nullopt));
  }
  if (type == "default") {
    for (const char* k :
         {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}) {
      if (r.contains(k) && !r[k].is_null())
        return Bad("\"" + where + "." + k + "\" is not used by rope type default");
    }
  } else if (type == "llama3") {
    TRAINER_ASSIGN_OR_RETURN(rope.factor, GetNumber(r, "factor", std::nullopt));
    TRAINER_ASSIGN_OR_RETURN(rope.low_freq_factor, GetNumber(r, "low_freq_factor", std::nullopt));
    TRAINER_ASSIGN_OR_RETURN(rope.high_freq_factor, GetNumber(r, "high_freq_factor", std::nullopt));
    TRAINER_ASSIGN_OR_RETURN(rope.original_max_position_embeddings,
                             GetInt(r, "original_max_position_embeddings", std::nullopt, 1));
    if (rope.factor <= 0 || rope.low_freq_factor <= 0 ||
        rope.high_freq_factor <= rope.low_freq_factor) {
      return Bad("llama3 rope scaling needs factor > 0 and high_freq_factor > low_freq_factor > 0");
    }
  } else {
    return Bad("rope type \"" + type + "\" is not supported (supported: default, llama3)");
  }
  rope.type = type;
  return Status::Ok();
}

}  // namespace

Result<ModelConfig> ParseModelConfig(std::string_view text) {
  TRAINER_ASSIGN_OR_RETURN(json j, internal::ParseJson(text, "config.json", 16));
  if (!j.is_object()) return Bad("not a JSON object");
  ModelConfig c;
  if (!j.contains("model_type") || !j["model_type"].is_string())
    return Bad("missing \"model_type\"");
  c.model_type = j["model_type"].get<std::string>();
  std::string arch;
  if (c.model_type == "llama") {
    c.family = ModelFamily::kLlama;
    arch = "LlamaForCausalLM";
  } else if (c.model_type == "mistral") {
    c.family = ModelFamily::kMistral;
    arch = "MistralForCausalLM";
  } else if (c.model_type == "qwen2") {
    c.family = ModelFamily::kQwen2;
    arch = "Qwen2ForCausalLM";
  } else if (c.model_type == "qwen3") {
    c.family = ModelFamily::kQwen3;
    arch = "Qwen3ForCausalLM";
  } else {
    return Bad("model_type \"" + c.model_type +
               "\" is not supported (supported: llama, mistral, qwen2, qwen3)");
  }
  if (j.contains("architectures") && !j["architectures"].is_null()) {
    const json& a = j["architectures"];
    if (!a.is_array()) return Bad("\"architectures\" must be an array");
    for (const json& name : a) {
      if (!name.is_string() || name.get<std::string>() != arch) {
        return Bad(
            "architecture " +
            (name.is_string() ? "\"" + name.get<std::string>() + "\"" : std::string("entry")) +
            " is not supported for model_type " + c.model_type + " (expected " + arch + ")");
      }
    }
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (ReadKeys().count(k) || IgnoredKeys().count(k)) continue;
    return Bad("unknown key \"" + k + "\" (not a supported option of " + c.model_type +
               " models; remove it only if it does not change the model)");
  }

  TRAINER_ASSIGN_OR_RETURN(c.vocab_size, GetInt(j, "vocab_size", std::nullopt, 1));
  TRAINER_ASSIGN_OR_RETURN(c.hidden_size, GetInt(j, "hidden_size", std::nullopt, 1));
  TRAINER_ASSIGN_OR_RETURN(c.intermediate_size, GetInt(j, "intermediate_size", std::nullopt, 1));
  TRAINER_ASSIGN_OR_RETURN(c.num_layers, GetInt(j, "num_hidden_layers", std::nullopt, 1));
  TRAINER_ASSIGN_OR_RETURN(c.num_heads, GetInt(j, "num_attention_heads", std::nullopt, 1));
  TRAINER_ASSIGN_OR_RETURN(c.num_kv_heads, GetInt(j, "num_key_value_heads", c.num_heads, 1));
  if (c.num_heads % c.num_kv_heads != 0) {
    return Bad("num_attention_heads " + std::to_string(c.num_heads) +
               " is not a multiple of num_key_value_heads " + std::to_string(c.num_kv_heads));
  }
  if (c.hidden_size % c.num_heads != 0 && !(j.contains("head_dim") && !j["head_dim"].is_null())) {
    return Bad("hidden_size is not a multiple of num_attention_heads and head_dim is not given");
  }
  TRAINER_ASSIGN_OR_RETURN(c.head_dim, GetInt(j, "head_dim", c.hidden_size / c.num_heads, 2));
  if (c.head_dim % 2 != 0)
    return Bad("head_dim " + std::to_string(c.head_dim) + " is odd; RoPE needs it even");
  TRAINER_ASSIGN_OR_RETURN(c.max_position_embeddings,
                           GetInt(j, "max_position_embeddings", int64_t{2048}, 1));
  TRAINER_ASSIGN_OR_RETURN(c.rms_norm_eps, GetNumber(j, "rms_norm_eps", 1e-6));
  if (c.rms_norm_eps <= 0) return Bad("\"rms_norm_eps\" must be positive");
  TRAINER_ASSIGN_OR_RETURN(c.initializer_range, GetNumber(j, "initializer_range", 0.02));

  std::string act = "silu";
  if (j.contains("hidden_act")) {
    if (!j["hidden_act"].is_string()) return Bad("\"hidden_act\" must be a string");
    act = j["hidden_act"].get<std::string>();
  }
  if (act != "silu") return Bad("hidden_act \"" + act + "\" is not supported (only silu)");
  TRAINER_ASSIGN_OR_RETURN(double attention_dropout, GetNumber(j, "attention_dropout", 0.0));
  if (attention_dropout != 0.0)
    return Bad("attention_dropout " + std::to_string(attention_dropout) +
               " is not supported (only 0)");

  // Biases and norms per family.
  TRAINER_ASSIGN_OR_RETURN(bool attention_bias, GetBool(j, "attention_bias", false));
  TRAINER_ASSIGN_OR_RETURN(c.mlp_bias, GetBool(j, "mlp_bias", false));
  switch (c.family) {
    case ModelFamily::kLlama:
      c.qkv_bias = c.o_bias = attention_bias;
      break;
    case ModelFamily::kMistral:
      if (attention_bias || c.mlp_bias)
        return Bad("mistral models have no attention_bias or mlp_bias option");
      break;
    case ModelFamily::kQwen2:
      if (j.contains("attention_bias"))
        return Bad("unknown key \"attention_bias\" (qwen2 always has q/k/v bias)");
      if (j.contains("mlp_bias"))
        return Bad("unknown key \"mlp_bias\" (not an option of qwen2 models)");
      c.qkv_bias = true;
      break;
    case ModelFamily::kQwen3:
      if (j.contains("mlp_bias"))
        return Bad("unknown key \"mlp_bias\" (not an option of qwen3 models)");
      c.qkv_bias = c.o_bias = attention_bias;
      c.qk_norm = true;
      break;
  }
  TRAINER_ASSIGN_OR_RETURN(c.tie_word_embeddings, GetBool(j, "tie_word_embeddings", false));

  // Sliding window: Mistral applies it on every layer; Qwen2/3 only with use_sliding_window.
  if (c.family == ModelFamily::kMistral) {
    if (j.contains("use_sliding_window") || j.contains("layer_types")) {
      return Bad("unknown key \"" +
                 std::string(j.contains("layer_types") ? "layer_types" : "use_sliding_window") +
                 "\" (not an option of mistral models)");
    }
    if (j.contains("sliding_window") && !j["sliding_window"].is_null()) {
      TRAINER_ASSIGN_OR_RETURN(c.sliding_window, GetInt(j, "sliding_window", std::nullopt, 1));
    }
  } else if (c.family == ModelFamily::kQwen2 || c.family == ModelFamily::kQwen3) {
    TRAINER_ASSIGN_OR_RETURN(bool use_sw, GetBool(j, "use_sliding_window", false));
    if (use_sw) return Bad("use_sliding_window true is not supported");
    if (j.contains("sliding_window") && !j["sliding_window"].is_null() &&
        !j["sliding_window"].is_number_integer()) {
      return Bad("\"sliding_window\" must be an integer or null");
    }
    if (j.contains("layer_types") && !j["layer_types"].is_null()) {
      const json& lt = j["layer_types"];
      if (!lt.is_array() || static_cast<int64_t>(lt.size()) != c.num_layers) {
        return Bad("\"layer_types\" must list one type per layer");
      }
      for (const json& t : lt) {
        if (!t.is_string() || t.get<std::string>() != "full_attention") {
          return Bad("layer type " +
                     (t.is_string() ? "\"" + t.get<std::string>() + "\"" : std::string("entry")) +
                     " is not supported (only full_attention)");
        }
      }
    }
  } else {
    for (const char* k : {"sliding_window", "use_sliding_window", "layer_types"}) {
      if (j.contains(k))
        return Bad("unknown key \"" + std::string(k) + "\" (not an option of llama models)");
    }
  }

  // RoPE: the 5 form (rope_parameters with rope_theta inside) or the 4 form (rope_theta +
  // rope_scaling).
  if (j.contains("rope_parameters") && !j["rope_parameters"].is_null()) {
    if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
      return Bad("both \"rope_parameters\" and \"rope_scaling\" are given");
    }
    if (j.contains("rope_theta")) {
      TRAINER_ASSIGN_OR_RETURN(c.rope.theta, GetNumber(j, "rope_theta", std::nullopt));
    }
    TRAINER_RETURN_IF_ERROR(ParseRope(j["rope_parameters"], "rope_parameters", c.rope));
  } else {
    double default_theta =
        c.family == ModelFamily::kQwen2 || c.family == ModelFamily::kQwen3 ? 1000000.0 : 10000.0;
    TRAINER_ASSIGN_OR_RETURN(c.rope.theta, GetNumber(j, "rope_theta", default_theta));
    if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
      TRAINER_RETURN_IF_ERROR(ParseRope(j["rope_scaling"], "rope_scaling", c.rope));
    }
  }
  if (c.rope.theta <= 0) return Bad("rope_theta must be positive");

  // Weights dtype: "dtype" (5) or "torch_dtype" (4).
  for (const char* k : {"torch_dtype", "dtype"}) {
    if (j.contains(k) && !j[k].is_null()) {
      if (!j[k].is_string()) return Bad("\"" + std::string(k) + "\" must be a string");
      c.dtype = j[k].get<std::string>();
      c.dtype_stated = true;
    }
  }
  if (c.dtype != "float32" && c.dtype != "bfloat16" && c.dtype != "float16") {
    return Bad("dtype \"" + c.dtype + "\" is not supported (float32, bfloat16, float16)");
  }

  // Token ids: an integer, a list (Llama 3.x instruct eos) or null.
  if (j.contains("eos_token_id") && !j["eos_token_id"].is_null()) {
    const json& e = j["eos_token_id"];
    if (e.is_number_integer()) {
      c.eos_token_ids.push_back(e.get<int64_t>());
    } else if (e.is_array()) {
      for (const json& x : e) {
        if (!x.is_number_integer()) return Bad("\"eos_token_id\" entries must be integers");
        c.eos_token_ids.push_back(x.get<int64_t>());
      }
    } else {
      return Bad("\"eos_token_id\" must be an integer or a list of integers");
    }
  }
  for (const char* k : {"bos_token_id", "pad_token_id"}) {
    if (j.contains(k) && !j[k].is_null()) {
      if (!j[k].is_number_integer())
        return Bad("\"" + std::string(k) + "\" must be an integer or null");
      (std::string(k) == "bos_token_id" ? c.bos_token_id : c.pad_token_id) = j[k].get<int64_t>();
    }
  }
  for (int64_t id : c.eos_token_ids) {
    if (id < 0 || id >= c.vocab_size)
      return Bad("eos_token_id " + std::to_string(id) + " is outside the vocabulary");
  }
  return c;
}

std::vector<ExpectedTensor> ExpectedTensors(const ModelConfig& c) {
  std::vector<ExpectedTensor> out;
  const int64_t h = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim,
                i = c.intermediate_size;
  out.push_back({"model.embed_tokens.weight", {c.vocab_size, h}, ExpectedTensor::kEmbedding});
  for (int64_t l = 0; l < c.num_layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    out.push_back({p + "input_layernorm.weight", {h}, ExpectedTensor::kNorm});
    out.push_back({p + "post_attention_layernorm.weight", {h}, ExpectedTensor::kNorm});
    auto lin = [&](const std::string& name, int64_t o, int64_t in, bool bias) {
      out.push_back({p + name + ".weight", {o, in}, ExpectedTensor::kLinear});
      if (bias) out.push_back({p + name + ".bias", {o}, ExpectedTensor::kBias});
    };
    lin("self_attn.q_proj", q, h, c.qkv_bias);
    lin("self_attn.k_proj", kv, h, c.qkv_bias);
    lin("self_attn.v_proj", kv, h, c.qkv_bias);
    lin("self_attn.o_proj", h, q, c.o_bias);
    if (c.qk_norm) {
      out.push_back({p + "self_attn.q_norm.weight", {c.head_dim}, ExpectedTensor::kNorm});
      out.push_back({p + "self_attn.k_norm.weight", {c.head_dim}, ExpectedTensor::kNorm});
    }
    lin("mlp.gate_proj", i, h, c.mlp_bias);
    lin("mlp.up_proj", i, h, c.mlp_bias);
    lin("mlp.down_proj", h, i, c.mlp_bias);
  }
  out.push_back({"model.norm.weight", {h}, ExpectedTensor::kNorm});
  if (!c.tie_word_embeddings)
    out.push_back({"lm_head.weight", {c.vocab_size, h}, ExpectedTensor::kLinear});
  return out;
}

namespace {

std::string ShapeString(const std::vector<int64_t>& s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + "]";
}

const char* ConfigDtypeName(Dtype d) {
  return d == Dtype::kBF16 ? "bfloat16" : d == Dtype::kF16 ? "float16" : "float32";
}

}  // namespace

Status CheckCheckpoint(const ModelConfig& config,
                       const std::map<std::string, TensorView>& tensors) {
  const Dtype stated = config.dtype == "bfloat16"  ? Dtype::kBF16
                       : config.dtype == "float16" ? Dtype::kF16
                                                   : Dtype::kF32;
  std::set<std::string> used;
  for (const ExpectedTensor& e : ExpectedTensors(config)) {
    auto it = tensors.find(e.name);
    if (it == tensors.end())
      return InvalidArgument("checkpoint: missing tensor \"" + e.name + "\"");
    const TensorView& v = it->second;
    if (v.dtype != Dtype::kF32 && v.dtype != Dtype::kF16 && v.dtype != Dtype::kBF16) {
      return InvalidArgument("checkpoint: tensor \"" + e.name + "\" has dtype " +
                             DtypeName(v.dtype) + " (weights must be F32, F16 or BF16)");
    }
    if (v.shape != e.shape) {
      return InvalidArgument("checkpoint: tensor \"" + e.name + "\" has shape " +
                             ShapeString(v.shape) + "; config.json implies " +
                             ShapeString(e.shape));
    }
    if (config.dtype_stated && v.dtype != stated) {
      return InvalidArgument("checkpoint: tensor \"" + e.name + "\" has dtype " +
                             DtypeName(v.dtype) + "; config.json gives dtype " +
                             ConfigDtypeName(stated));
    }
    used.insert(e.name);
  }
  for (const auto& [name, view] : tensors) {
    if (used.count(name)) continue;
    const std::string suffix = ".rotary_emb.inv_freq";  // older Llama checkpoints keep this buffer
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      continue;
    return InvalidArgument("checkpoint: unexpected tensor \"" + name + "\" for a " +
                           config.model_type + " model with this config.json");
  }
  return Status::Ok();
}

}  // namespace triad::trainer
