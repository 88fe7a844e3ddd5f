// config.json: the fixtures (transformers 5 form), the transformers 4 form of real model families,
// and every rejection with its reason.
#include "trainer/model_config.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/trainer/test_util.h"

namespace triad::trainer {
namespace {

using nlohmann::json;

// Llama-3.1-8B's config.json (transformers 4 form), abridged to the keys that matter plus metadata.
const char kLlama31[] = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32,
  "num_hidden_layers": 32, "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.43.0.dev0", "use_cache": true, "vocab_size": 128256})";

const char kQwen25[] = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 24,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
  "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "transformers_version": "4.40.1", "use_cache": true,
  "use_sliding_window": false, "vocab_size": 151936})";

const char kQwen3[] = R"({
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
  "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
  "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
  "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
  "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "transformers_version": "4.51.0", "use_cache": true,
  "use_sliding_window": false, "vocab_size": 151936})";

const char kMistral[] = R"({
  "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 32768, "model_type": "mistral", "num_attention_heads": 32,
  "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
  "sliding_window": 4096, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.34.0.dev0", "use_cache": true, "vocab_size": 32000})";

std::string Reason(const json& j) {
  auto c = ParseModelConfig(j.dump());
  return c.ok() ? "OK" : c.status().message();
}

TEST(ModelConfigTest, Fixtures) {
  auto q = ParseModelConfig(testing::ReadFile(testing::Fixture("qwen2_tiny/base/config.json")));
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->family, ModelFamily::kQwen2);
  EXPECT_TRUE(q->qkv_bias);
  EXPECT_FALSE(q->o_bias);
  EXPECT_TRUE(q->tie_word_embeddings);
  EXPECT_EQ(q->head_dim, 16);
  EXPECT_EQ(q->rope.theta, 1e6);
  EXPECT_EQ(q->eos_token_ids, std::vector<int64_t>{3});
  auto l = ParseModelConfig(testing::ReadFile(testing::Fixture("llama3_tiny/base/config.json")));
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->rope.type, "llama3");
  EXPECT_EQ(l->rope.factor, 8.0);
  EXPECT_EQ(l->rope.original_max_position_embeddings, 64);
  EXPECT_FALSE(l->tie_word_embeddings);
  EXPECT_EQ(ExpectedTensors(*l).back().name, "lm_head.weight");
}

TEST(ModelConfigTest, RealFamiliesInTheTransformers4Form) {
  auto l = ParseModelConfig(kLlama31);
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->rope.type, "llama3");
  EXPECT_EQ(l->rope.theta, 500000.0);
  EXPECT_EQ(l->dtype, "bfloat16");
  EXPECT_EQ(l->eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(l->head_dim, 128);
  auto q = ParseModelConfig(kQwen25);
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->head_dim, 64);
  EXPECT_EQ(q->sliding_window, 0);  // use_sliding_window false
  auto q3 = ParseModelConfig(kQwen3);
  ASSERT_TRUE(q3.ok()) << q3.status().message();
  EXPECT_TRUE(q3->qk_norm);
  EXPECT_EQ(q3->head_dim, 128);  // not hidden / heads = 64
  std::vector<ExpectedTensor> t = ExpectedTensors(*q3);
  EXPECT_EQ(t[7].name, "model.layers.0.self_attn.q_norm.weight");
  auto m = ParseModelConfig(kMistral);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->family, ModelFamily::kMistral);
  EXPECT_EQ(m->sliding_window, 4096);
}

TEST(ModelConfigTest, RejectsUnknownArchitecturesAndOptions) {
  json l = json::parse(kLlama31);
  auto with = [](json j, const std::string& k, json v) {
    j[k] = v;
    return j;
  };
  auto without = [](json j, const std::string& k) {
    j.erase(k);
    return j;
  };
  EXPECT_EQ(Reason(with(l, "model_type", "gemma")),
            "config.json: model_type \"gemma\" is not supported (supported: llama, mistral, qwen2, "
            "qwen3)");
  EXPECT_EQ(Reason(with(l, "architectures", {"LlamaForSequenceClassification"})),
            "config.json: architecture \"LlamaForSequenceClassification\" is not supported for "
            "model_type llama (expected LlamaForCausalLM)");
  EXPECT_EQ(Reason(with(l, "quantization_config", {{"quant_method", "gptq"}})),
            "config.json: unknown key \"quantization_config\" (not a supported option of llama "
            "models; remove it only if it does not change the model)");
  EXPECT_EQ(Reason(with(l, "hidden_act", "gelu")),
            "config.json: hidden_act \"gelu\" is not supported (only silu)");
  EXPECT_EQ(Reason(with(l, "attention_dropout", 0.1)),
            "config.json: attention_dropout 0.100000 is not supported (only 0)");
  EXPECT_EQ(Reason(with(l, "rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}})),
            "config.json: rope type \"yarn\" is not supported (supported: default, llama3)");
  EXPECT_EQ(Reason(with(l, "rope_scaling", {{"type", "dynamic"}, {"factor", 2.0}})),
            "config.json: rope type \"dynamic\" is not supported (supported: default, llama3)");
  EXPECT_EQ(
      Reason(with(l, "rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"mscale", 1.0}})),
      "config.json: unknown key \"mscale\" in \"rope_scaling\"");
  EXPECT_EQ(Reason(with(l, "rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}})),
            "config.json: missing \"low_freq_factor\"");
  EXPECT_EQ(Reason(with(l, "rope_parameters", {{"rope_type", "default"}, {"rope_theta", 1e4}})),
            "config.json: both \"rope_parameters\" and \"rope_scaling\" are given");
  EXPECT_EQ(Reason(with(l, "num_key_value_heads", 5)),
            "config.json: num_attention_heads 32 is not a multiple of num_key_value_heads 5");
  EXPECT_EQ(Reason(without(l, "hidden_size")), "config.json: missing \"hidden_size\"");
  EXPECT_EQ(Reason(with(l, "vocab_size", "many")),
            "config.json: \"vocab_size\" must be an integer, not a string");
  EXPECT_EQ(Reason(with(l, "torch_dtype", "float8_e4m3fn")),
            "config.json: dtype \"float8_e4m3fn\" is not supported (float32, bfloat16, float16)");
  EXPECT_EQ(Reason(with(l, "sliding_window", 4096)),
            "config.json: unknown key \"sliding_window\" (not an option of llama models)");
  EXPECT_EQ(Reason(with(l, "eos_token_id", 999999)),
            "config.json: eos_token_id 999999 is outside the vocabulary");
  EXPECT_EQ(Reason(with(l, "head_dim", 7)), "config.json: head_dim 7 is odd; RoPE needs it even");
  json q = json::parse(kQwen25);
  EXPECT_EQ(Reason(with(q, "use_sliding_window", true)),
            "config.json: use_sliding_window true is not supported");
  EXPECT_EQ(Reason(with(q, "attention_bias", false)),
            "config.json: unknown key \"attention_bias\" (qwen2 always has q/k/v bias)");
  EXPECT_EQ(Reason(with(q, "layer_types", {"full_attention", "sliding_attention"})),
            "config.json: \"layer_types\" must list one type per layer");
  EXPECT_EQ(Reason(with(json::parse(kMistral), "attention_bias", true)),
            "config.json: mistral models have no attention_bias or mlp_bias option");
  EXPECT_EQ(ParseModelConfig("[1]").status().message(), "config.json: not a JSON object");
  EXPECT_EQ(
      ParseModelConfig("{\"model_type\":\"llama\",\"model_type\":\"qwen2\"}").status().message(),
      "config.json: invalid JSON: duplicate key \"model_type\"");
}

}  // namespace
}  // namespace triad::trainer
