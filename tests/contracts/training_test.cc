#include "contracts/training.h"

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::contracts {
namespace {

using Json = nlohmann::json;
using V = std::vector<std::string>;

// The example of TRAINING-SECTION.
constexpr char kExample[] = R"({"method": "lora", "rank": 8, "alpha": 16, "dropout": 0.05,
 "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
 "epochs": 1, "learning_rate": 0.0002, "lr_scheduler": "cosine", "warmup_steps": 10,
 "batch_size": 4, "sequence_length": 512, "seed": 42})";

V ProblemsWith(const char* key, const Json& value) {
  Json j = Json::parse(kExample);
  if (value.is_discarded()) {
    j.erase(key);
  } else {
    j[key] = value;
  }
  V problems;
  EXPECT_FALSE(TrainingConfig::FromJson(j, &problems).ok()) << key;
  return problems;
}
V ProblemsWithout(const char* key) { return ProblemsWith(key, Json(Json::value_t::discarded)); }

TEST(TrainingTest, ExampleParsesWithDefaults) {
  absl::StatusOr<TrainingConfig> t = TrainingConfig::FromText(kExample);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->rank, 8);
  EXPECT_EQ(t->alpha, 16);
  EXPECT_EQ(t->dropout, 0.05);
  EXPECT_FALSE(t->use_rslora);
  EXPECT_EQ(t->target_modules.size(), 7u);
  EXPECT_EQ(t->epochs, 1);
  EXPECT_EQ(t->max_steps, 0);
  EXPECT_EQ(t->learning_rate, 0.0002);
  EXPECT_EQ(t->lr_scheduler, "cosine");
  EXPECT_EQ(t->warmup_steps, 10);
  EXPECT_EQ(t->weight_decay, 0);
  EXPECT_EQ(t->batch_size, 4);
  EXPECT_EQ(t->gradient_accumulation_steps, 1);
  EXPECT_EQ(t->max_grad_norm, 1.0);
  EXPECT_EQ(t->sequence_length, 512);
  EXPECT_FALSE(t->packing);
  EXPECT_EQ(t->eval_fraction, 0);
  EXPECT_EQ(t->seed, 42);
  // The default section of a draft is the example.
  EXPECT_EQ(TrainingConfig::Default().ToJson(), t->ToJson());
}

TEST(TrainingTest, MinimalSectionTakesEveryDefault) {
  absl::StatusOr<TrainingConfig> t = TrainingConfig::FromText(
      R"({"method": "lora", "rank": 4, "alpha": 8, "target_modules": ["q_proj"], "learning_rate": 1e-4,
          "batch_size": 1, "sequence_length": 8, "seed": 0})");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(
      t->ToJson().dump(),
      R"({"method":"lora","rank":4,"alpha":8.0,"dropout":0.0,"use_rslora":false,"target_modules":["q_proj"],)"
      R"("epochs":1,"max_steps":0,"learning_rate":0.0001,"lr_scheduler":"linear","warmup_steps":0,)"
      R"("weight_decay":0.0,"batch_size":1,"gradient_accumulation_steps":1,"max_grad_norm":1.0,)"
      R"("sequence_length":8,"packing":false,"eval_fraction":0.0,"seed":0})");
  // ToJson reads back to the same section.
  absl::StatusOr<TrainingConfig> again = TrainingConfig::FromJson(Json::parse(t->ToJson().dump()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ToJson(), t->ToJson());
}

TEST(TrainingTest, IntegersWrittenWithAZeroFractionAreIntegers) {
  Json j = Json::parse(kExample);
  j["rank"] = 16.0;
  j["seed"] = 7.0;
  absl::StatusOr<TrainingConfig> t = TrainingConfig::FromJson(j);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->rank, 16);
  EXPECT_EQ(t->ToJson()["rank"].dump(), "16");
}

TEST(TrainingTest, EachRuleHasItsReason) {
  EXPECT_EQ(ProblemsWith("method", "qlora"), V{"/method: \"qlora\" is not \"lora\""});
  EXPECT_EQ(ProblemsWith("rank", 0), V{"/rank: 0 is less than minimum 1"});
  EXPECT_EQ(ProblemsWith("rank", 257), V{"/rank: 257 is greater than maximum 256"});
  EXPECT_EQ(ProblemsWith("rank", 8.5), V{"/rank: expected integer, got number"});
  EXPECT_EQ(ProblemsWith("alpha", 0), V{"/alpha: 0 is not greater than 0"});
  EXPECT_EQ(ProblemsWith("alpha", "16"), V{"/alpha: expected number, got string"});
  EXPECT_EQ(ProblemsWith("dropout", 1), V{"/dropout: 1 is not less than 1"});
  EXPECT_EQ(ProblemsWith("dropout", -0.1), V{"/dropout: -0.1 is less than minimum 0"});
  EXPECT_EQ(ProblemsWith("use_rslora", 1), V{"/use_rslora: expected boolean, got integer"});
  EXPECT_EQ(ProblemsWith("target_modules", Json::array()),
            V{"/target_modules: has 0 items, fewer than the minimum 1"});
  EXPECT_EQ(ProblemsWith("target_modules", Json::array({"q_proj", "q_proj"})),
            V{"/target_modules: items 0 and 1 are equal (\"q_proj\")"});
  EXPECT_EQ(
      ProblemsWith("target_modules", Json::array({"q_proj", "attn"})),
      V{"/target_modules/1: \"attn\" is not one of "
        "[\"q_proj\",\"k_proj\",\"v_proj\",\"o_proj\",\"gate_proj\",\"up_proj\",\"down_proj\"]"});
  EXPECT_EQ(ProblemsWith("target_modules", "q_proj"),
            V{"/target_modules: expected array, got string"});
  EXPECT_EQ(ProblemsWith("epochs", -1), V{"/epochs: -1 is less than minimum 0"});
  EXPECT_EQ(ProblemsWith("epochs", 1.5), V{"/epochs: expected integer, got number"});
  EXPECT_EQ(ProblemsWith("max_steps", -3), V{"/max_steps: -3 is less than minimum 0"});
  EXPECT_EQ(ProblemsWith("max_steps", 9007199254740992u),
            V{"/max_steps: 9007199254740992 is greater than maximum 9007199254740991"});
  EXPECT_EQ(ProblemsWith("learning_rate", 0), V{"/learning_rate: 0 is not greater than 0"});
  EXPECT_EQ(ProblemsWith("lr_scheduler", "step"),
            V{"/lr_scheduler: \"step\" is not one of [\"linear\",\"cosine\",\"constant\"]"});
  EXPECT_EQ(ProblemsWith("warmup_steps", -1), V{"/warmup_steps: -1 is less than minimum 0"});
  EXPECT_EQ(ProblemsWith("weight_decay", -0.01), V{"/weight_decay: -0.01 is less than minimum 0"});
  EXPECT_EQ(ProblemsWith("batch_size", 0), V{"/batch_size: 0 is less than minimum 1"});
  EXPECT_EQ(ProblemsWith("gradient_accumulation_steps", 0),
            V{"/gradient_accumulation_steps: 0 is less than minimum 1"});
  EXPECT_EQ(ProblemsWith("max_grad_norm", -1), V{"/max_grad_norm: -1 is less than minimum 0"});
  EXPECT_EQ(ProblemsWith("sequence_length", 7), V{"/sequence_length: 7 is less than minimum 8"});
  EXPECT_EQ(ProblemsWith("sequence_length", 131073),
            V{"/sequence_length: 131073 is greater than maximum 131072"});
  EXPECT_EQ(ProblemsWith("packing", "true"), V{"/packing: expected boolean, got string"});
  EXPECT_EQ(ProblemsWith("eval_fraction", 1.0), V{"/eval_fraction: 1.0 is not less than 1"});
  EXPECT_EQ(ProblemsWith("seed", -1), V{"/seed: -1 is less than minimum 0"});
  EXPECT_EQ(ProblemsWith("optimizer", "sgd"), V{"/: unknown property \"optimizer\""});
  for (const char* required : {"method", "rank", "alpha", "target_modules", "learning_rate",
                               "batch_size", "sequence_length", "seed"}) {
    EXPECT_EQ(ProblemsWithout(required),
              V{std::string("/: missing required property \"") + required + "\""});
  }
}

TEST(TrainingTest, EmbeddingsAndHeadAreRefusedWithAReason) {
  const std::string why =
      " is refused: LoRA adapts only the attention and MLP projections (q_proj k_proj v_proj "
      "o_proj gate_proj "
      "up_proj down_proj), never embed_tokens or lm_head";
  EXPECT_EQ(ProblemsWith("target_modules", Json::array({"q_proj", "lm_head", "embed_tokens"})),
            (V{"/target_modules/1: lm_head" + why, "/target_modules/2: embed_tokens" + why}));
  V problems;
  absl::Status st = TrainingConfig::FromText(
                        R"({"method": "lora", "rank": 4, "alpha": 8, "target_modules": ["lm_head"],
                            "learning_rate": 1e-4, "batch_size": 1, "sequence_length": 8, "seed": 0})",
                        &problems)
                        .status();
  EXPECT_EQ(st.message(), "training: /target_modules/0: lm_head" + why);
}

TEST(TrainingTest, EveryProblemIsListed) {
  Json j = Json::parse(kExample);
  j["rank"] = 0;
  j["alpha"] = -1;
  j["extra"] = true;
  V problems;
  absl::Status st = TrainingConfig::FromJson(j, &problems).status();
  EXPECT_EQ(problems, (V{"/alpha: -1 is not greater than 0", "/: unknown property \"extra\"",
                         "/rank: 0 is less than minimum 1"}));
  EXPECT_EQ(st.message(),
            "training: /alpha: -1 is not greater than 0; /: unknown property \"extra\"; /rank: 0 "
            "is less than minimum 1");
}

TEST(TrainingTest, TextErrors) {
  V problems;
  EXPECT_EQ(TrainingConfig::FromText("{", &problems).status().message(),
            "training: JSON: syntax error at byte 2");
  EXPECT_EQ(problems, V{"JSON: syntax error at byte 2"});
  EXPECT_EQ(TrainingConfig::FromText(R"({"rank": 1, "rank": 2})").status().message(),
            "training: JSON: duplicate key \"rank\"");
}

}  // namespace
}  // namespace triad::contracts
