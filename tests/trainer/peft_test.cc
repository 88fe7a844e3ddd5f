// The PEFT layout: our adapter_config.json has exactly the keys peft 0.21 writes (the fixture is
// peft's own output) and parses back; unsupported peft options are refused.
#include "trainer/peft.h"

#include <cmath>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/trainer/test_util.h"

namespace triad::trainer {
namespace {

using nlohmann::json;

TEST(PeftTest, AdapterConfigMatchesPeftsOwn) {
  json peft =
      json::parse(testing::ReadFile(testing::Fixture("llama3_tiny/adapter/adapter_config.json")));
  LoraSettings s{4, 8, 0, true, {"v_proj", "q_proj"}};
  json ours = json::parse(AdapterConfigJson(s));
  // Same keys and values (peft's target list order is a Python set's; ours is sorted).
  json a = peft, b = ours;
  a.erase("target_modules");
  b.erase("target_modules");
  EXPECT_EQ(a, b);
  EXPECT_EQ(ours["target_modules"], json({"q_proj", "v_proj"}));
  // Byte for byte peft's file when the target list is in sorted order there too.
  EXPECT_EQ(AdapterConfigJson(s),
            testing::ReadFile(testing::Fixture("llama3_tiny/adapter/adapter_config.json")));
}

TEST(PeftTest, ParsesPeftsFilesAndScaling) {
  auto q = ParseAdapterConfig(
      testing::ReadFile(testing::Fixture("qwen2_tiny/adapter/adapter_config.json")));
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->rank, 8);
  EXPECT_EQ(q->Scaling(), 2.0);
  EXPECT_EQ(q->targets.size(), 7u);
  auto l = ParseAdapterConfig(
      testing::ReadFile(testing::Fixture("llama3_tiny/adapter/adapter_config.json")));
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_TRUE(l->use_rslora);
  EXPECT_EQ(l->Scaling(), 8.0 / std::sqrt(4.0));
  EXPECT_EQ(PeftTensorName(1, "down_proj", false),
            "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight");
}

TEST(PeftTest, RefusesWhatIsNotImplemented) {
  json base =
      json::parse(testing::ReadFile(testing::Fixture("qwen2_tiny/adapter/adapter_config.json")));
  auto reason = [&](const std::string& k, json v) {
    json j = base;
    j[k] = v;
    auto r = ParseAdapterConfig(j.dump());
    return r.ok() ? std::string("OK") : r.status().message();
  };
  EXPECT_EQ(reason("use_dora", true), "adapter_config.json: \"use_dora\" true is not supported");
  EXPECT_EQ(reason("bias", "all"), "adapter_config.json: \"bias\" \"all\" is not supported");
  EXPECT_EQ(reason("modules_to_save", {"lm_head"}),
            "adapter_config.json: \"modules_to_save\" is set; that is not supported");
  EXPECT_EQ(reason("rank_pattern", {{"q_proj", 4}}),
            "adapter_config.json: \"rank_pattern\" is set; that is not supported");
  EXPECT_EQ(
      reason("target_modules", "all-linear"),
      "adapter_config.json: \"target_modules\" must be a list (a regex string is not supported)");
  EXPECT_EQ(reason("target_modules", {"lm_head"}),
            "adapter_config.json: target module \"lm_head\" is not supported");
  EXPECT_EQ(reason("peft_type", "IA3"), "adapter_config.json: peft_type is not \"LORA\"");
}

}  // namespace
}  // namespace triad::trainer
