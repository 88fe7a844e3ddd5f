// Train() end to end on CPU with a tiny random model (MakeRandomModel) and a fake tokenizer: it
// learns a deterministic task, is seed-deterministic, data parallelism and accumulation agree,
// outputs load back, progress, cancel and errors. Uses only the public, torch-free API (plus the
// engine hook).
#include <atomic>
#include <cmath>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/trainer/test_util.h"
#include "trainer/internal/communicator.h"
#include "trainer/internal/engine.h"
#include "trainer/internal/schedule.h"
#include "trainer/peft.h"
#include "trainer/trainer.h"

namespace triad::trainer {
namespace {

using testing::FakeTokenizer;

// A Qwen2-shaped model small enough for dozens of CPU steps a second: 288 ids covers the fake
// tokenizer's 16 + 256. initializer_range 0.2, not 0.02: with tied embeddings of std 0.02 and a
// frozen final norm, no adapter can push a logit past about 1.3 and the loss could not fall far.
const char kTinyConfig[] =
    R"({"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","vocab_size":288,
  "hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,
  "num_key_value_heads":2,"rms_norm_eps":1e-6,"rope_theta":10000.0,"tie_word_embeddings":true,
  "torch_dtype":"float32","eos_token_id":3,"initializer_range":0.2,"max_position_embeddings":256})";

// The task: a prompt of letters from a..p, and as completion the next four letters of the cycle
// (each letter's successor mod 16). A bigram rule a base model of random weights does not know.
std::string TaskJsonl(int n, uint64_t seed) {
  std::string out;
  uint64_t s = seed;
  for (int i = 0; i < n; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    int start = static_cast<int>((s >> 33) % 16), len = 3 + static_cast<int>((s >> 40) % 4);
    std::string prompt, completion;
    for (int k = 0; k < len; ++k) prompt.push_back(static_cast<char>('a' + (start + k) % 16));
    for (int k = 0; k < 4; ++k)
      completion.push_back(static_cast<char>('a' + (start + len + k) % 16));
    out += "{\"prompt\":\"" + prompt + "\",\"completion\":\"" + completion + "\"}\n";
  }
  return out;
}

class TrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = MakeRandomModel(kTinyConfig, 1234);
    ASSERT_TRUE(m.ok()) << m.status().message();
    model_files_ = std::move(m).value();
    files_.config_json = model_files_[0].data;
    files_.safetensors = {{"model.safetensors", model_files_[1].data}};
    config_.rank = 8;
    config_.alpha = 16;
    config_.target_modules = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                              "gate_proj", "up_proj", "down_proj"};
    config_.learning_rate = 1e-2;
    config_.lr_scheduler = "constant";
    config_.batch_size = 8;
    config_.sequence_length = 16;
    config_.max_steps = 40;
    config_.eval_fraction = 0.2;
    config_.seed = 5;
    options_.tokenizer = &tokenizer_;
    options_.threads = 1;
    options_.device = testing::TestDevice();
    data_ = TaskJsonl(200, 99);
  }

  Result<TrainResult> Run(const internal::EngineOptions& engine = {}) {
    return internal::RunTraining(files_, data_, config_, options_, engine);
  }

  FakeTokenizer tokenizer_;
  std::vector<OutputFile> model_files_;
  ModelFiles files_;
  TrainingConfig config_;
  TrainOptions options_;
  std::string data_;
};

TEST_F(TrainTest, HeldOutLossFallsFivefoldWithin40Steps) {
  auto r = Train(files_, data_, config_, options_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const TrainReport& rep = r->report;
  ASSERT_EQ(rep.eval_losses.size(), 2u);
  EXPECT_EQ(rep.eval_losses[0].step, 0);
  EXPECT_EQ(rep.eval_losses[1].step, 40);
  EXPECT_GT(rep.eval_losses[0].loss, 5.0);  // no better than chance (ln 288 = 5.66) before training
  EXPECT_LT(rep.eval_losses[1].loss, rep.eval_losses[0].loss / 5) << rep.ToJson();
  EXPECT_EQ(rep.steps, 40);
  EXPECT_EQ(rep.losses.size(), 40u);
  EXPECT_EQ(rep.train_examples, 160);
  EXPECT_EQ(rep.eval_examples, 40);
  EXPECT_GT(rep.tokens, 0);
  EXPECT_EQ(rep.trainable_parameters,
            2 * (8 * (64 + 64) + 8 * (64 + 32) * 2 + 8 * (64 + 64) + 8 * (64 + 128) * 3));
  auto j = nlohmann::json::parse(rep.ToJson());
  EXPECT_EQ(j["steps"], 40);
  EXPECT_EQ(j["losses"].size(), 40u);
}

TEST_F(TrainTest, OutputsArePeftLayoutAndLoadBack) {
  config_.max_steps = 3;
  options_.merge = true;
  auto r = Train(files_, data_, config_, options_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->adapter.size(), 2u);
  EXPECT_EQ(r->adapter[0].name, "adapter_config.json");
  EXPECT_EQ(r->adapter[1].name, "adapter_model.safetensors");
  auto settings = ParseAdapterConfig(r->adapter[0].data);
  ASSERT_TRUE(settings.ok()) << settings.status().message();
  EXPECT_EQ(settings->rank, 8);
  auto st = SafetensorsFile::Parse(r->adapter[1].data);
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(st->tensors().size(), 2u * 7 * 2);
  for (const TensorView& t : st->tensors()) {
    EXPECT_EQ(t.dtype, Dtype::kF32);
    EXPECT_EQ(t.name.rfind("base_model.model.model.layers.", 0), 0u) << t.name;
  }
  ASSERT_EQ(r->merged.size(), 2u);
  EXPECT_TRUE(SafetensorsFile::Parse(r->merged[1].data).ok());
  Wipe(*r);
  EXPECT_TRUE(r->adapter.empty());
}

TEST_F(TrainTest, SeedDeterministicOnCpu) {
  options_.device = "cpu";  // bit-exact only there (CUDA's index_add is not deterministic)
  config_.max_steps = 5;
  config_.dropout = 0.1;
  auto a = Train(files_, data_, config_, options_);
  auto b = Train(files_, data_, config_, options_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->adapter[1].data, b->adapter[1].data);
  EXPECT_EQ(a->report.losses, b->report.losses);
  config_.seed = 6;
  auto c = Train(files_, data_, config_, options_);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->adapter[1].data, c->adapter[1].data);
}

// Two data-parallel ranks with one micro-batch each equal one rank accumulating two.
TEST_F(TrainTest, DataParallelEqualsGradientAccumulation) {
  options_.device = "cpu";  // the in-process ranks are CPU threads
  config_.max_steps = 4;
  config_.eval_fraction = 0;
  config_.packing = true;
  config_.batch_size = 4;
  config_.gradient_accumulation_steps = 2;
  auto one = Run();
  config_.gradient_accumulation_steps = 1;
  internal::EngineOptions two_ranks;
  two_ranks.cpu_ranks = 2;
  auto two = Run(two_ranks);
  ASSERT_TRUE(one.ok()) << one.status().message();
  ASSERT_TRUE(two.ok()) << two.status().message();
  ASSERT_EQ(one->report.losses.size(), two->report.losses.size());
  for (size_t i = 0; i < one->report.losses.size(); ++i) {
    EXPECT_NEAR(one->report.losses[i], two->report.losses[i], 1e-5) << i;
  }
  auto ta = SafetensorsFile::Parse(one->adapter[1].data),
       tb = SafetensorsFile::Parse(two->adapter[1].data);
  ASSERT_TRUE(ta.ok() && tb.ok());
  double worst = 0, scale = 0;
  for (size_t i = 0; i < ta->tensors().size(); ++i) {
    auto x = *CopyToFloat32(ta->tensors()[i]), y = *CopyToFloat32(tb->tensors()[i]);
    for (size_t k = 0; k < x.size(); ++k) {
      worst = std::max(worst, static_cast<double>(std::fabs(x[k] - y[k])));
      scale = std::max(scale, static_cast<double>(std::fabs(x[k])));
    }
  }
  EXPECT_LT(worst, 1e-4 * scale);
}

TEST_F(TrainTest, CheckpointingAndChunkedLossTrainTheSame) {
  config_.max_steps = 3;
  auto plain = Train(files_, data_, config_, options_);
  options_.activation_checkpointing = true;
  options_.loss_chunk_rows = 5;
  auto fancy = Train(files_, data_, config_, options_);
  ASSERT_TRUE(plain.ok() && fancy.ok());
  for (size_t i = 0; i < 3; ++i)
    EXPECT_NEAR(plain->report.losses[i], fancy->report.losses[i], 1e-5);
}

TEST_F(TrainTest, Bf16PrecisionTracksFp32) {
  config_.max_steps = 3;
  auto fp32 = Train(files_, data_, config_, options_);
  options_.precision = "bf16";
  auto bf16 = Train(files_, data_, config_, options_);
  ASSERT_TRUE(fp32.ok() && bf16.ok()) << bf16.status().message();
  EXPECT_EQ(bf16->report.precision, "bf16");
  for (size_t i = 0; i < 3; ++i)
    EXPECT_NEAR(bf16->report.losses[i], fp32->report.losses[i], 0.05 * fp32->report.losses[i]);
  options_.precision = "fp16";
  EXPECT_EQ(Train(files_, data_, config_, options_).status().message(),
            "precision \"fp16\" is not fp32, bf16 or auto");
}

TEST_F(TrainTest, ProgressAndCancel) {
  std::atomic<bool> cancel{false};
  std::vector<Progress> seen;
  options_.cancel = &cancel;
  options_.on_progress = [&](const Progress& p) {
    seen.push_back(p);
    if (p.step == 2) cancel = true;
  };
  auto r = Train(files_, data_, config_, options_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCancelled);
  EXPECT_EQ(r.status().message(), "training cancelled at step 2");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].total_steps, 40);
  EXPECT_GT(seen[1].tokens_per_second, 0);
  EXPECT_FALSE(seen[1].eval_loss.has_value());
  EXPECT_EQ(seen[0].learning_rate, 1e-2);
}

TEST_F(TrainTest, Errors) {
  auto r = Train(files_, data_ + "{\"prompt\":1}\n", config_, options_);
  EXPECT_EQ(r.status().message(), "dataset line 201: \"prompt\" must be a string, not an integer");
  config_.max_steps = 0;
  config_.epochs = 0;
  EXPECT_EQ(Train(files_, data_, config_, options_).status().message(),
            "training: epochs and max_steps are both 0: nothing to train");
  config_.max_steps = 40;
  options_.device = "tpu";
  EXPECT_EQ(Train(files_, data_, config_, options_).status().message(),
            "device \"tpu\" is not cpu, cuda or cuda:N");
  options_.device = "cpu";
  options_.activation_checkpointing = true;
  config_.dropout = 0.1;
  EXPECT_EQ(
      Train(files_, data_, config_, options_).status().message(),
      "activation checkpointing needs LoRA dropout 0 (the recomputed layer would draw new masks)");
  config_.target_modules = {"lm_head"};
  EXPECT_EQ(Train(files_, data_, config_, options_).status().message(),
            "training: target module \"lm_head\" is refused: an adapter on it would carry the "
            "model owner's embedding or output weights");
}

TEST(ScheduleTest, MatchesTransformers) {
  using internal::LrFactor;
  // get_linear_schedule_with_warmup(warmup 2, total 10)
  EXPECT_EQ(LrFactor("linear", 0, 10, 2), 0.0);
  EXPECT_EQ(LrFactor("linear", 1, 10, 2), 0.5);
  EXPECT_EQ(LrFactor("linear", 2, 10, 2), 1.0);
  EXPECT_EQ(LrFactor("linear", 6, 10, 2), 0.5);
  EXPECT_EQ(LrFactor("linear", 10, 10, 2), 0.0);
  EXPECT_NEAR(LrFactor("cosine", 6, 10, 2), 0.5, 1e-12);
  EXPECT_NEAR(LrFactor("cosine", 4, 10, 2), 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-12);
  EXPECT_EQ(LrFactor("constant", 1, 10, 2), 0.5);
  EXPECT_EQ(LrFactor("constant", 9, 10, 2), 1.0);
}

TEST(RandomModelTest, DeterministicAndShaped) {
  auto a = MakeRandomModel(kTinyConfig, 7), b = MakeRandomModel(kTinyConfig, 7),
       c = MakeRandomModel(kTinyConfig, 8);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ((*a)[1].data, (*b)[1].data);
  EXPECT_NE((*a)[1].data, (*c)[1].data);
  auto f = SafetensorsFile::Parse((*a)[1].data);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->tensors().size(),
            1u + 2 * 12 + 1);  // embed, 2 x (2 norms, 7 weights, 3 biases), norm
  auto norm = *CopyToFloat32(*f->Find("model.norm.weight"));
  EXPECT_EQ(norm, std::vector<float>(64, 1.0f));
  auto w = *CopyToFloat32(*f->Find("model.embed_tokens.weight"));
  double sq = 0;
  for (float x : w) sq += x * x;
  EXPECT_NEAR(std::sqrt(sq / w.size()), 0.2, 0.01);  // initializer_range
}

}  // namespace
}  // namespace triad::trainer

namespace triad::trainer::internal {
namespace {

TEST(CpuCommunicatorTest, SumsOnEveryRankAndAborts) {
  auto comms = MakeCpuCommunicators(3);
  std::vector<std::vector<float>> data = {{1, 2}, {10, 20}, {100, 200}};
  std::vector<Status> st(3);
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&, r] {
      for (int round = 0; round < 50 && st[r].ok(); ++round) {
        std::vector<float> v = data[r];
        st[r] = comms[r]->AllReduceSum(v.data(), v.size());
        if (v != std::vector<float>{111, 222}) st[r] = Internal("wrong sum");
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : st) EXPECT_TRUE(s.ok()) << s.message();

  // A failed rank aborts: the others stop waiting.
  std::vector<float> v = {1};
  std::thread waiter([&] { st[0] = comms[0]->AllReduceSum(v.data(), 1); });
  comms[2]->Abort();
  waiter.join();
  EXPECT_EQ(st[0].message(), "all-reduce: another rank failed");
}

}  // namespace
}  // namespace triad::trainer::internal
