// The decoder against transformers/peft references (testdata/trainer): base and LoRA
// logits and losses within 1e-5 relative, every LoRA gradient within 1e-4 relative, the left-padded
// masked batch too; adapter round trip; merged equals unmerged; chunked loss and activation
// checkpointing equal the plain path. fp32, CPU.
#include "trainer/internal/model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>

#include "gtest/gtest.h"
#include "tests/trainer/test_util.h"
#include "trainer/peft.h"
#include "trainer/trainer.h"

namespace triad::trainer::internal {
namespace {

using testing::Fixture;
using testing::ReadFile;

// max |a - b| / max |b|: relative to the reference's scale (elementwise relative error is
// meaningless for entries near zero).
double RelErr(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor x = a.detach().to(at::kCPU, at::kDouble), y = b.detach().to(at::kCPU, at::kDouble);
  return ((x - y).abs().max() / y.abs().max()).item<double>();
}

// Model options on the test device (TRIAD_TEST_DEVICE).
ModelOptions OnTestDevice(ModelOptions o = {}) {
  o.device = at::Device(testing::TestDevice());
  return o;
}

struct Fixtures {
  std::string config, weights, adapter_config, adapter, reference;
  ModelConfig model;
  std::map<std::string, TensorView> base, lora, ref;
  LoraSettings settings;
};

std::unique_ptr<Fixtures> Load(const std::string& name) {
  auto f = std::make_unique<Fixtures>();
  f->config = ReadFile(Fixture(name + "/base/config.json"));
  f->weights = ReadFile(Fixture(name + "/base/model.safetensors"));
  f->adapter_config = ReadFile(Fixture(name + "/adapter/adapter_config.json"));
  f->adapter = ReadFile(Fixture(name + "/adapter/adapter_model.safetensors"));
  f->reference = ReadFile(Fixture(name + "/reference.safetensors"));
  auto mc = ParseModelConfig(f->config);
  EXPECT_TRUE(mc.ok()) << mc.status().message();
  f->model = *mc;
  auto b = LoadCheckpoint({{"model.safetensors", f->weights}}, "");
  EXPECT_TRUE(b.ok()) << b.status().message();
  f->base = *b;
  auto l = LoadCheckpoint({{"adapter_model.safetensors", f->adapter}}, "");
  EXPECT_TRUE(l.ok()) << l.status().message();
  f->lora = *l;
  auto r = LoadCheckpoint({{"reference.safetensors", f->reference}}, "");
  EXPECT_TRUE(r.ok()) << r.status().message();
  f->ref = *r;
  auto s = ParseAdapterConfig(f->adapter_config);
  EXPECT_TRUE(s.ok()) << s.status().message();
  f->settings = *s;
  return f;
}

at::Tensor Ref(const Fixtures& f, const std::string& name) {
  auto it = f.ref.find(name);
  EXPECT_NE(it, f.ref.end()) << name;
  return ToTensor(it->second).value();
}

std::unique_ptr<DecoderModel> MakeModel(const Fixtures& f, ModelOptions o = {}) {
  auto m = DecoderModel::Load(f.model, f.base, OnTestDevice(o));
  EXPECT_TRUE(m.ok()) << m.status().message();
  return std::move(m).value();
}

class ReferenceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    f_ = Load(GetParam());
    ids_ = Ref(*f_, "input_ids");
    mask_ = Ref(*f_, "attention_mask");
  }
  std::unique_ptr<Fixtures> f_;
  at::Tensor ids_, mask_;
};

TEST_P(ReferenceTest, BaseLogitsAndLoss) {
  auto m = MakeModel(*f_);
  at::NoGradGuard g;
  at::Tensor hidden = m->Hidden(ids_, at::Tensor(), false);
  const double err = RelErr(m->Logits(hidden), Ref(*f_, "base_logits"));
  EXPECT_LT(err, 1e-5);
  auto [sum, n] = m->LossSum(hidden, ids_);
  EXPECT_EQ(n, 2 * 15);
  double loss = sum.item<double>() / n, want = Ref(*f_, "base_loss").item<double>();
  std::cout << GetParam() << ": base logits rel err " << err << ", loss rel err "
            << std::fabs(loss - want) / want << "\n";
  EXPECT_NEAR(loss, want, 1e-5 * want);
}

TEST_P(ReferenceTest, MaskedLeftPaddedLogits) {
  auto m = MakeModel(*f_);
  at::NoGradGuard g;
  at::Tensor logits = m->Logits(m->Hidden(ids_, mask_, false));
  at::Tensor want = Ref(*f_, "masked_base_logits");
  EXPECT_LT(RelErr(logits, want), 1e-5);
  std::cout << GetParam() << ": masked logits rel err " << RelErr(logits, want) << "\n";
  // The padded row by itself, and it differs from the unmasked forward (the mask matters).
  EXPECT_LT(RelErr(logits[1], want[1]), 1e-5);
  EXPECT_GT(RelErr(Ref(*f_, "base_logits")[1], want[1]), 1e-2);
}

TEST_P(ReferenceTest, LoraLogitsLossAndGradients) {
  auto m = MakeModel(*f_);
  ASSERT_TRUE(m->LoadLora(f_->settings, f_->lora).ok());
  at::Tensor hidden = m->Hidden(ids_, at::Tensor(), false);
  const double err = RelErr(m->Logits(hidden).detach(), Ref(*f_, "lora_logits"));
  EXPECT_LT(err, 1e-5);
  auto [sum, n] = m->LossSum(hidden, ids_);
  at::Tensor loss = sum / static_cast<double>(n);
  double want = Ref(*f_, "lora_loss").item<double>();
  EXPECT_NEAR(loss.item<double>(), want, 1e-5 * want);
  loss.backward();
  auto params = m->LoraParameters();
  EXPECT_EQ(params.size(), f_->lora.size());
  double worst = 0;
  for (const auto& [name, p] : params) {
    ASSERT_TRUE(p.grad().defined()) << name;
    const double g = RelErr(p.grad(), Ref(*f_, "grad." + name));
    worst = std::max(worst, g);
    EXPECT_LT(g, 1e-4) << name;
  }
  std::cout << GetParam() << ": lora logits rel err " << err << ", worst gradient rel err " << worst
            << " over " << params.size() << " tensors\n";
}

TEST_P(ReferenceTest, AdapterRoundTripAndMergeMatch) {
  auto m = MakeModel(*f_);
  ASSERT_TRUE(m->LoadLora(f_->settings, f_->lora).ok());
  at::NoGradGuard g;
  at::Tensor logits = m->Logits(m->Hidden(ids_, mask_, false));

  // Written by Triad, parsed back: same tensors, same logits.
  auto written = m->AdapterSafetensors();
  ASSERT_TRUE(written.ok());
  auto parsed = LoadCheckpoint({{"adapter_model.safetensors", *written}}, "");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  auto cfg = ParseAdapterConfig(AdapterConfigJson(f_->settings));
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  auto again = MakeModel(*f_);
  ASSERT_TRUE(again->LoadLora(*cfg, *parsed).ok());
  EXPECT_EQ(RelErr(again->Logits(again->Hidden(ids_, mask_, false)), logits), 0.0);

  // Merged into the base weights: the same function.
  auto merged = m->MergedSafetensors();
  ASSERT_TRUE(merged.ok());
  auto mt = LoadCheckpoint({{"model.safetensors", *merged}}, "");
  ASSERT_TRUE(mt.ok()) << mt.status().message();
  auto mm = DecoderModel::Load(f_->model, *mt, OnTestDevice());
  ASSERT_TRUE(mm.ok()) << mm.status().message();
  EXPECT_LT(RelErr((*mm)->Logits((*mm)->Hidden(ids_, mask_, false)), logits), 1e-5);
}

TEST_P(ReferenceTest, ChunkedLossAndCheckpointingMatchPlainPath) {
  ModelOptions o;
  o.loss_chunk_rows = 7;
  o.activation_checkpointing = true;
  auto plain = MakeModel(*f_);
  auto fancy = MakeModel(*f_, o);
  ASSERT_TRUE(plain->LoadLora(f_->settings, f_->lora).ok());
  ASSERT_TRUE(fancy->LoadLora(f_->settings, f_->lora).ok());
  at::Tensor labels = ids_.clone();
  labels.index_put_({0, at::indexing::Slice(0, 5)}, -100);
  auto [a, na] = plain->LossSum(plain->Hidden(ids_, mask_, true), labels);
  auto [b, nb] = fancy->LossSum(fancy->Hidden(ids_, mask_, true), labels);
  EXPECT_EQ(na, nb);
  EXPECT_NEAR(a.item<double>(), b.item<double>(), 1e-5 * a.item<double>());
  a.backward();
  b.backward();
  auto pa = plain->LoraParameters(), pb = fancy->LoraParameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_LT(RelErr(pb[i].second.grad(), pa[i].second.grad()), 1e-5) << pa[i].first;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ReferenceTest, ::testing::Values("qwen2_tiny", "llama3_tiny"));

TEST(ModelLoadTest, RejectsMismatchedCheckpoints) {
  auto f = Load("qwen2_tiny");
  auto missing = f->base;
  missing.erase("model.layers.1.mlp.up_proj.weight");
  auto m = DecoderModel::Load(f->model, missing, {});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "checkpoint: missing tensor \"model.layers.1.mlp.up_proj.weight\"");

  auto extra = f->base;
  extra["lm_head.weight"] = f->base["model.embed_tokens.weight"];
  extra["lm_head.weight"].name = "lm_head.weight";
  m = DecoderModel::Load(f->model, extra, {});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(
      m.status().message(),
      "checkpoint: unexpected tensor \"lm_head.weight\" for a qwen2 model with this config.json");

  auto shape = f->base;
  shape["model.norm.weight"] = f->base["model.layers.0.self_attn.k_proj.bias"];
  m = DecoderModel::Load(f->model, shape, {});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "checkpoint: tensor \"model.norm.weight\" has shape [32]; config.json implies [64]");
}

TEST(ModelLoadTest, Bf16ComputeIsCloseToFp32) {
  auto f = Load("llama3_tiny");
  ModelOptions o;
  o.compute_dtype = at::kBFloat16;
  auto m = MakeModel(*f, o);
  ASSERT_TRUE(m->LoadLora(f->settings, f->lora).ok());
  at::NoGradGuard g;
  at::Tensor ids = Ref(*f, "input_ids");
  at::Tensor logits = m->Logits(m->Hidden(ids, at::Tensor(), false));
  EXPECT_EQ(logits.scalar_type(), at::kFloat);
  EXPECT_LT(RelErr(logits, Ref(*f, "lora_logits")), 3e-2);  // bf16 has 8 mantissa bits
}

}  // namespace
}  // namespace triad::trainer::internal

namespace triad::trainer::internal {
namespace {

// Families without shared fixtures: properties that must hold, on random models.
std::unique_ptr<DecoderModel> RandomModel(const std::string& config_json, std::string& weights,
                                          std::map<std::string, TensorView>& tensors,
                                          const ModelOptions& options = {}) {
  auto files = MakeRandomModel(config_json, 11);
  EXPECT_TRUE(files.ok()) << files.status().message();
  weights = (*files)[1].data;
  tensors = *LoadCheckpoint({{"model.safetensors", weights}}, "");
  auto config = ParseModelConfig(config_json);
  EXPECT_TRUE(config.ok()) << config.status().message();
  auto m = DecoderModel::Load(*config, tensors, options);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return std::move(m).value();
}

TEST(FamilyTest, Qwen3UsesItsQkNorms) {
  const std::string cfg =
      R"({"model_type":"qwen3","vocab_size":64,"hidden_size":32,"intermediate_size":48,
    "num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,"tie_word_embeddings":true,
    "initializer_range":0.3})";
  std::string weights;
  std::map<std::string, TensorView> tensors;
  auto m = RandomModel(cfg, weights, tensors);
  at::NoGradGuard g;
  at::Tensor ids = at::arange(10, at::kLong).unsqueeze(0);
  at::Tensor a = m->Logits(m->Hidden(ids, at::Tensor(), false));
  EXPECT_TRUE(at::isfinite(a).all().item<bool>());
  // The norm weights are in the checkpoint; scaling q_norm must change the attention pattern.
  std::string scaled = weights;
  const TensorView& qn = tensors.at("model.layers.0.self_attn.q_norm.weight");
  size_t offset = qn.data.data() - weights.data();
  for (size_t i = 0; i < 16; ++i) {
    float two = 4.0f;
    std::memcpy(&scaled[offset + 4 * i], &two, 4);
  }
  auto t2 = *LoadCheckpoint({{"model.safetensors", scaled}}, "");
  auto m2 = DecoderModel::Load(*ParseModelConfig(cfg), t2, {});
  ASSERT_TRUE(m2.ok());
  at::Tensor b = (*m2)->Logits((*m2)->Hidden(ids, at::Tensor(), false));
  EXPECT_GT(RelErr(b, a), 1e-3);
  // Position 0 attends only to itself: q scaling cannot change it.
  EXPECT_LT(RelErr(b[0][0], a[0][0]), 1e-6);
}

// The causal path computes attention in query blocks over grouped heads (one autograd node with its
// own backward); the general masked path (here: a sliding window longer than the sequence) computes
// the full scores through autograd. Same function, forward and backward, with an uneven last block,
// in `dtype`; no SDPA, so the node runs on any LibTorch.
void ExpectBlockedEqualsTheFullMask(at::ScalarType dtype, double hidden_tol, double grad_tol) {
  const std::string base =
      R"({"model_type":"mistral","vocab_size":64,"hidden_size":32,"intermediate_size":48,
    "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"initializer_range":0.3)";
  std::string w1, w2;
  std::map<std::string, TensorView> t1, t2;
  ModelOptions o;
  o.compute_dtype = dtype;
  o.use_sdpa = false;
  auto blocked = RandomModel(base + "}", w1, t1, o);
  auto full = RandomModel(base + R"(,"sliding_window":1000})", w2, t2, o);
  LoraSettings lora{4, 8, 0, false, {"q_proj", "k_proj", "v_proj", "o_proj"}};
  ASSERT_TRUE(blocked->InitLora(lora, 3).ok());
  ASSERT_TRUE(full->InitLora(lora, 3).ok());
  at::Tensor ids = (at::arange(2 * 301, at::kLong) % 64).view({2, 301});
  at::Tensor ha = blocked->Hidden(ids, at::Tensor(), true), hb = full->Hidden(ids, at::Tensor(), true);
  ASSERT_EQ(ha.scalar_type(), dtype);
  EXPECT_LT(RelErr(ha, hb), hidden_tol);
  // A fixed random projection of the output (its sum of squares would be nearly constant after the
  // final RMSNorm, with gradients of rounding noise).
  at::Tensor r = at::randn(ha.sizes(), at::make_generator<at::CPUGeneratorImpl>(5));
  (ha.to(at::kFloat) * r).sum().backward();
  (hb.to(at::kFloat) * r).sum().backward();
  auto pa = blocked->LoraParameters(), pb = full->LoraParameters();
  ASSERT_EQ(pa.size(), pb.size());
  size_t compared = 0;
  for (size_t i = 0; i < pa.size(); ++i) {
    if (pb[i].second.grad().abs().max().item<double>() == 0) continue;  // B's grads start at zero
    EXPECT_EQ(pa[i].second.grad().scalar_type(), at::kFloat) << pa[i].first;
    EXPECT_LT(RelErr(pa[i].second.grad(), pb[i].second.grad()), grad_tol) << pa[i].first;
    ++compared;
  }
  EXPECT_EQ(compared, pa.size() / 2);  // every B of q, k, v, o in both layers
}

TEST(FamilyTest, BlockedCausalAttentionEqualsTheFullMask) {
  ExpectBlockedEqualsTheFullMask(at::kFloat, 1e-5, 1e-4);
}

// The node's bf16 backward casts dP and the probabilities between float32 and bf16 by hand; the
// training tests pad their batches, which takes the general path, so this is its unit test in bf16.
// The tolerances are a few bf16 roundings (its 8 mantissa bits: 2^-8 = 0.4%; the gradients differ
// by at most 0.8% here). The reference is the other bf16 path, not float32: against float32 this
// random model's hidden states differ by up to 27% in bf16, whichever path computes them.
TEST(FamilyTest, BlockedCausalAttentionEqualsTheFullMaskInBf16) {
  ExpectBlockedEqualsTheFullMask(at::kBFloat16, 1e-2, 2e-2);
}

TEST(FamilyTest, MistralSlidingWindowMasksFarKeys) {
  const std::string base =
      R"({"model_type":"mistral","vocab_size":64,"hidden_size":32,"intermediate_size":48,
    "num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":2,"initializer_range":0.3)";
  std::string w1, w2;
  std::map<std::string, TensorView> t1, t2;
  auto full = RandomModel(base + "}", w1, t1);
  auto windowed = RandomModel(base + R"(,"sliding_window":3})", w2, t2);
  at::NoGradGuard g;
  at::Tensor ids = at::arange(12, at::kLong).unsqueeze(0);
  at::Tensor a = full->Logits(full->Hidden(ids, at::Tensor(), false));
  at::Tensor b = windowed->Logits(windowed->Hidden(ids, at::Tensor(), false));
  // Positions 0..2 see the same keys either way; later ones lose the keys 3 or more back.
  EXPECT_LT(RelErr(b[0].narrow(0, 0, 3), a[0].narrow(0, 0, 3)), 1e-6);
  EXPECT_GT(RelErr(b[0].narrow(0, 3, 9), a[0].narrow(0, 3, 9)), 1e-3);
}

}  // namespace
}  // namespace triad::trainer::internal
