// Runs the real `triad` binary: model init, train (end to end when the tokenizer is built), and the
// command line's own errors.
#include <filesystem>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"
#include "trainer/safetensors.h"

namespace triad {
namespace {

const char kConfig[] =
    R"({"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","vocab_size":608,
  "hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":2,
  "num_key_value_heads":1,"rms_norm_eps":1e-6,"tie_word_embeddings":true,"torch_dtype":"float32",
  "eos_token_id":0,"initializer_range":0.2})";

class TrainCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteTestFile(dir_.File("config.json"), kConfig);
    std::string out;
    ASSERT_EQ(
        testing::RunCommand(testing::TriadBinary() + " model init --config " +
                                dir_.File("config.json") + " --tokenizer " + testing::TestdataDir() +
                                "/trainer/tiny_qwen_style.tokenizer.json --seed 3 --out " +
                                dir_.File("model"),
                            &out),
        0)
        << out;
    std::string data;
    for (int i = 0; i < 20; ++i)
      data += "{\"prompt\":\"count: 1 2 3\",\"completion\":\" 4 5 6\"}\n";
    testing::WriteTestFile(dir_.File("data.jsonl"), data);
  }
  testing::TempDir dir_;
};

TEST_F(TrainCliTest, ModelInitWritesTheHuggingFaceLayout) {
  EXPECT_EQ(testing::ReadTestFile(dir_.File("model/config.json")), kConfig);
  EXPECT_EQ(testing::ReadTestFile(dir_.File("model/tokenizer.json")),
            testing::ReadTestFile(testing::TestdataDir() +
                                  "/trainer/tiny_qwen_style.tokenizer.json"));
  std::string weights = testing::ReadTestFile(dir_.File("model/model.safetensors"));
  auto f = trainer::SafetensorsFile::Parse(weights);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->Find("model.embed_tokens.weight")->shape, (std::vector<int64_t>{608, 32}));
}

TEST_F(TrainCliTest, Train) {
  std::string out;
  int rc = testing::RunCommand(testing::TriadBinary() + " train --model " + dir_.File("model") +
                                   " --data " + dir_.File("data.jsonl") + " --out " +
                                   dir_.File("adapter") +
                                   " --steps 3 --batch 2 --seq-len 32 --lr 0.01 --json 2>&1",
                               &out);
#ifdef TRIAD_HAVE_TOKENIZER
  ASSERT_EQ(rc, 0) << out;
  auto report = nlohmann::json::parse(out);
  EXPECT_EQ(report["steps"], 3);
  EXPECT_TRUE(trainer::SafetensorsFile::Parse(
                  testing::ReadTestFile(dir_.File("adapter/adapter_model.safetensors")))
                  .ok());
  EXPECT_EQ(
      nlohmann::json::parse(testing::ReadTestFile(dir_.File("adapter/adapter_config.json")))["r"],
      8);
#else
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out,
            "triad: tokenizer.json: this build has no tokenizer (triad_tokenizer was not built)\n");
#endif
}

#ifdef TRIAD_HAVE_TOKENIZER
// bf16 on the CPU through every custom autograd node (the causal attention's backward once mixed
// its float32 softmax gradient with bf16 keys: "expected scalar type BFloat16 but found Float").
TEST_F(TrainCliTest, TrainInBf16) {
  std::string out;
  int rc = testing::RunCommand(testing::TriadBinary() + " train --model " + dir_.File("model") +
                                   " --data " + dir_.File("data.jsonl") + " --out " +
                                   dir_.File("adapter") +
                                   " --steps 2 --batch 2 --seq-len 32 --lr 0.01 --precision bf16 "
                                   "--json 2>&1",
                               &out);
  ASSERT_EQ(rc, 0) << out;
  auto report = nlohmann::json::parse(out);
  EXPECT_EQ(report["steps"], 2);
  EXPECT_TRUE(trainer::SafetensorsFile::Parse(
                  testing::ReadTestFile(dir_.File("adapter/adapter_model.safetensors")))
                  .ok());
}
#endif

TEST_F(TrainCliTest, Errors) {
  std::string out;
  const std::string base = testing::TriadBinary() + " train --model " + dir_.File("model") +
                           " --data " + dir_.File("data.jsonl") + " --out " + dir_.File("adapter");
  testing::WriteTestFile(dir_.File("training.json"), R"({"method":"lora","rank":0})");
  EXPECT_EQ(testing::RunCommand(
                base + " --training " + dir_.File("training.json") + " --rank 4 2>&1", &out),
            2);
  EXPECT_EQ(out, "triad: --training and --rank cannot be combined; see 'triad train --help'\n");
  // --config names a model's config.json (model init) and nothing else.
  EXPECT_EQ(testing::RunCommand(base + " --config " + dir_.File("training.json") + " 2>&1", &out),
            2);
  EXPECT_EQ(out,
            "triad: --config: train takes the training section as --training FILE (as contract "
            "draft does); --config is a model's config.json, in model init; see 'triad train "
            "--help'\n");
  EXPECT_FALSE(std::filesystem::exists(dir_.File("adapter")));
  EXPECT_EQ(testing::RunCommand(base + " --training " + dir_.File("training.json") + " 2>&1", &out),
            1);
  EXPECT_EQ(out, "triad: " + dir_.File("training.json") + ": training: missing \"alpha\"\n");
  EXPECT_EQ(testing::RunCommand(base + " --targets q_proj,lm_head 2>&1", &out), 1);
  EXPECT_EQ(out,
            "triad: training: target module \"lm_head\" is refused: an adapter on it would carry "
            "the model owner's "
            "embedding or output weights\n");
  EXPECT_EQ(testing::RunCommand(testing::TriadBinary() + " model init --config " +
                                    dir_.File("training.json") + " --tokenizer " +
                                    dir_.File("config.json") + " --out " + dir_.File("x") + " 2>&1",
                                &out),
            1);
  EXPECT_EQ(out,
            "triad: " + dir_.File("training.json") + ": config.json: missing \"model_type\"\n");
}

}  // namespace
}  // namespace triad
