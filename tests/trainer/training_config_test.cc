// The shared `training` section: the example of the spec parses; defaults; every rejection.
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "trainer/trainer.h"

namespace triad::trainer {
namespace {

using nlohmann::json;

const char kExample[] = R"({"method": "lora", "rank": 8, "alpha": 16, "dropout": 0.05,
 "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
 "epochs": 1, "learning_rate": 0.0002, "lr_scheduler": "cosine", "warmup_steps": 10,
 "batch_size": 4, "sequence_length": 512, "seed": 42})";

std::string Reason(const json& j) {
  auto c = ParseTrainingConfig(j.dump());
  return c.ok() ? "OK" : c.status().message();
}

TEST(TrainingConfigTest, ParsesTheSpecExampleWithDefaults) {
  auto c = ParseTrainingConfig(kExample);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->rank, 8);
  EXPECT_EQ(c->alpha, 16);
  EXPECT_EQ(c->dropout, 0.05);
  EXPECT_EQ(c->target_modules.size(), 7u);
  EXPECT_EQ(c->lr_scheduler, "cosine");
  EXPECT_EQ(c->max_steps, 0);
  EXPECT_EQ(c->gradient_accumulation_steps, 1);
  EXPECT_EQ(c->max_grad_norm, 1.0);
  EXPECT_FALSE(c->packing);
  EXPECT_FALSE(c->use_rslora);
  EXPECT_EQ(c->eval_fraction, 0);
  EXPECT_EQ(c->seed, 42);
  auto again = ParseTrainingConfig(TrainingConfigToJson(*c));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(TrainingConfigToJson(*again), TrainingConfigToJson(*c));
}

TEST(TrainingConfigTest, Rejections) {
  json e = json::parse(kExample);
  auto with = [&](const std::string& k, json v) {
    json j = e;
    j[k] = v;
    return Reason(j);
  };
  auto without = [&](const std::string& k) {
    json j = e;
    j.erase(k);
    return Reason(j);
  };
  EXPECT_EQ(with("learning_rat", 1), "training: unknown key \"learning_rat\"");
  EXPECT_EQ(with("method", "full"), "training: method \"full\" is not supported (only \"lora\")");
  EXPECT_EQ(with("rank", 0), "training: rank 0 is outside 1..256");
  EXPECT_EQ(with("rank", 257), "training: rank 257 is outside 1..256");
  EXPECT_EQ(with("rank", 8.5), "training: \"rank\" must be an integer, not a number");
  EXPECT_EQ(with("alpha", 0), "training: alpha must be a positive number");
  EXPECT_EQ(with("dropout", 1.0), "training: dropout must be in [0, 1)");
  EXPECT_EQ(with("use_rslora", "yes"),
            "training: \"use_rslora\" must be true or false, not a string");
  EXPECT_EQ(with("target_modules", json::array()), "training: target_modules is empty");
  EXPECT_EQ(with("target_modules", {"q_proj", "lm_head"}),
            "training: target module \"lm_head\" is refused: an adapter on it would carry the "
            "model owner's embedding or output weights");
  EXPECT_EQ(with("target_modules", {"embed_tokens"}),
            "training: target module \"embed_tokens\" is refused: an adapter on it would carry the "
            "model owner's embedding or output weights");
  EXPECT_EQ(with("target_modules", {"qkv_proj"}),
            "training: unknown target module \"qkv_proj\" (choose from q_proj, k_proj, v_proj, "
            "o_proj, gate_proj, up_proj, down_proj)");
  EXPECT_EQ(with("target_modules", {"q_proj", "q_proj"}),
            "training: target module \"q_proj\" is listed twice");
  EXPECT_EQ(with("target_modules", "q_proj"),
            "training: \"target_modules\" must be an array of strings");
  EXPECT_EQ(with("epochs", -1), "training: epochs must be >= 0");
  EXPECT_EQ(with("epochs", 0), "OK");  // the form allows it; Train refuses it (train_test)
  EXPECT_EQ(with("max_steps", -1), "training: max_steps must be >= 0");
  EXPECT_EQ(with("learning_rate", -1e-4), "training: learning_rate must be a positive number");
  EXPECT_EQ(with("lr_scheduler", "polynomial"),
            "training: lr_scheduler \"polynomial\" is not supported (linear, cosine, constant)");
  EXPECT_EQ(with("warmup_steps", -1), "training: warmup_steps must be >= 0");
  EXPECT_EQ(with("weight_decay", -0.1), "training: weight_decay must be >= 0");
  EXPECT_EQ(with("batch_size", 0), "training: batch_size must be >= 1");
  EXPECT_EQ(with("gradient_accumulation_steps", 0),
            "training: gradient_accumulation_steps must be >= 1");
  EXPECT_EQ(with("max_grad_norm", -1), "training: max_grad_norm must be >= 0");
  EXPECT_EQ(with("sequence_length", 7), "training: sequence_length 7 is outside 8..131072");
  EXPECT_EQ(with("sequence_length", 131073),
            "training: sequence_length 131073 is outside 8..131072");
  EXPECT_EQ(with("packing", 1), "training: \"packing\" must be true or false, not an integer");
  EXPECT_EQ(with("eval_fraction", 1), "training: eval_fraction must be in [0, 1)");
  EXPECT_EQ(with("seed", -1), "training: seed must be >= 0");
  EXPECT_EQ(with("seed", 18446744073709551615ull), "training: \"seed\" is too large");
  for (const char* k : {"method", "rank", "alpha", "target_modules", "learning_rate", "batch_size",
                        "sequence_length", "seed"}) {
    EXPECT_EQ(without(k), "training: missing \"" + std::string(k) + "\"");
  }
  EXPECT_EQ(ParseTrainingConfig("[]").status().message(), "training: not a JSON object");
}

}  // namespace
}  // namespace triad::trainer
