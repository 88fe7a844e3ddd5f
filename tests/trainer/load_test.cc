// Loading from decrypted bytes: the consumable buffer wipes and hands back exactly what was consumed;
// a model loaded while consuming its checkpoint computes the reference logits and leaves no
// plaintext behind; Train with a consumable buffer trains exactly as without one; and every bad
// input (overlapping tensors, a tensor past the end, shape or dtype against config.json, a shard
// missing from the index, a tokenizer larger than the vocabulary) is refused with one line before
// LibTorch allocates anything of size.
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "gtest/gtest.h"
#include "tests/trainer/test_util.h"
#include "trainer/internal/model.h"
#include "trainer/model_buffer.h"
#include "trainer/trainer.h"

namespace triad::trainer {
namespace {

using testing::FakeTokenizer;
using testing::Fixture;
using testing::ReadFile;

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

// Whether the page holding p is resident (mincore), without touching it.
bool Resident(const char* p) {
  unsigned char v = 0;
  void* page = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(p) / kPage * kPage);
  EXPECT_EQ(::mincore(page, kPage, &v), 0);
  return v & 1;
}

TEST(ConsumableBufferTest, WipesConsumedBytesAndHandsBackWholePagesOnly) {
  auto b = ConsumableBuffer::Allocate(8 * kPage);
  ASSERT_TRUE(b.ok()) << b.status().message();
  ConsumableBuffer& buf = **b;
  std::memset(buf.data(), 0x5A, buf.size());
  // Half a page into page 1 .. half a page into page 3: page 2 alone is whole.
  buf.Consume(std::string_view(buf.data() + kPage + kPage / 2, 2 * kPage));
  EXPECT_EQ(buf.consumed_bytes(), 2 * kPage);
  EXPECT_EQ(buf.released_bytes(), kPage);
  EXPECT_FALSE(Resident(buf.data() + 2 * kPage));
  EXPECT_TRUE(Resident(buf.data() + kPage));
  EXPECT_EQ(buf.data()[kPage + kPage / 2 - 1], 0x5A);
  EXPECT_TRUE(AllZero(buf.data() + kPage + kPage / 2, 2 * kPage));
  EXPECT_EQ(buf.data()[3 * kPage + kPage / 2], 0x5A);
  // The neighbours: pages 1 and 3 become whole, and only they are handed back now.
  buf.Consume(std::string_view(buf.data() + kPage, kPage / 2));
  buf.Consume(std::string_view(buf.data() + 3 * kPage + kPage / 2, kPage / 2));
  EXPECT_EQ(buf.consumed_bytes(), 3 * kPage);
  EXPECT_EQ(buf.released_bytes(), 3 * kPage);
  EXPECT_FALSE(Resident(buf.data() + kPage));
  EXPECT_FALSE(Resident(buf.data() + 3 * kPage));
  // Again, overlapping: nothing new.
  buf.Consume(std::string_view(buf.data() + kPage, 3 * kPage));
  EXPECT_EQ(buf.consumed_bytes(), 3 * kPage);
  EXPECT_EQ(buf.released_bytes(), 3 * kPage);
  // Outside the buffer: ignored.
  char other[4] = {1, 2, 3, 4};
  buf.Consume(std::string_view(other, 4));
  EXPECT_EQ(other[0], 1);
  EXPECT_FALSE(buf.Contains(std::string_view(other, 4)));
  EXPECT_TRUE(buf.Contains(std::string_view(buf.data() + buf.size() - 1, 1)));
  EXPECT_FALSE(buf.Contains(std::string_view(buf.data() + buf.size() - 1, 2)));
  EXPECT_TRUE(AllZero(buf.data() + kPage, 3 * kPage));
  EXPECT_EQ(buf.data()[0], 0x5A);
}

TEST(ConsumableBufferTest, BorrowsLockedMemory) {
  // The worker may hand over memory it locked: locked pages are unlocked, then handed back.
  const size_t n = 4 * kPage;
  void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  std::memset(p, 0x33, n);
  const bool locked = ::mlock(p, n) == 0;  // may be refused by RLIMIT_MEMLOCK: still borrowed
  {
    ConsumableBuffer buf(static_cast<char*>(p), n);
    buf.Consume(std::string_view(static_cast<char*>(p), n));
    EXPECT_EQ(buf.released_bytes(), n) << (locked ? "locked" : "not locked");
  }
  EXPECT_TRUE(AllZero(static_cast<char*>(p), n));  // still mapped: the owner unmaps it
  ::munmap(p, n);
}

TEST(ConsumableBufferTest, RefusesSizeZero) {
  EXPECT_EQ(ConsumableBuffer::Allocate(0).status().message(), "consumable buffer: size 0");
}

// Copies `bytes` into a new consumable buffer.
std::unique_ptr<ConsumableBuffer> Consumable(const std::string& bytes) {
  auto b = ConsumableBuffer::Allocate(bytes.size());
  EXPECT_TRUE(b.ok());
  std::memcpy((*b)->data(), bytes.data(), bytes.size());
  return std::move(b).value();
}

TEST(ConsumingLoadTest, ModelFromConsumedCheckpointMatchesTheReference) {
  const std::string config = ReadFile(Fixture("qwen2_tiny/base/config.json"));
  const std::string weights = ReadFile(Fixture("qwen2_tiny/base/model.safetensors"));
  const std::string reference = ReadFile(Fixture("qwen2_tiny/reference.safetensors"));
  auto mc = ParseModelConfig(config);
  ASSERT_TRUE(mc.ok());
  auto buf = Consumable(weights);
  auto tensors = LoadCheckpoint({{"model.safetensors", buf->view()}}, "");
  ASSERT_TRUE(tensors.ok());
  size_t data_bytes = 0;
  for (const auto& [name, t] : *tensors) data_bytes += t.data.size();
  auto m = internal::DecoderModel::Load(*mc, *tensors, {}, buf.get());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(buf->consumed_bytes(), data_bytes);  // every tensor, the header not
  const size_t header = buf->size() - data_bytes;
  EXPECT_TRUE(AllZero(buf->data() + header, data_bytes));
  EXPECT_GE(buf->released_bytes(), data_bytes - 2 * kPage * tensors->size());

  auto ref = LoadCheckpoint({{"reference.safetensors", reference}}, "");
  ASSERT_TRUE(ref.ok());
  at::NoGradGuard g;
  at::Tensor ids = internal::ToTensor(ref->at("input_ids")).value();
  at::Tensor logits = (*m)->Logits((*m)->Hidden(ids, at::Tensor(), false));
  at::Tensor want = internal::ToTensor(ref->at("base_logits")).value();
  EXPECT_LT(((logits - want).abs().max() / want.abs().max()).item<double>(), 1e-5);
}

const char kTinyConfig[] =
    R"({"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","vocab_size":288,
  "hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,
  "num_key_value_heads":2,"rms_norm_eps":1e-6,"rope_theta":10000.0,"tie_word_embeddings":true,
  "torch_dtype":"float32","eos_token_id":3,"initializer_range":0.2,"max_position_embeddings":256})";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

std::string Jsonl() {
  std::string out;
  for (int i = 0; i < 40; ++i) out += "{\"text\":\"abcdefghijklmnop " + std::to_string(i) + "\"}\n";
  return out;
}

TrainingConfig SmallConfig() {
  TrainingConfig c;
  c.rank = 4;
  c.alpha = 8;
  c.target_modules = {"q_proj", "v_proj", "down_proj"};
  c.learning_rate = 1e-2;
  c.batch_size = 4;
  c.sequence_length = 16;
  c.max_steps = 3;
  c.seed = 1;
  return c;
}

TEST(ConsumingLoadTest, TrainConsumesTheCheckpointAndTrainsTheSame) {
  auto model = MakeRandomModel(kTinyConfig, 7);
  ASSERT_TRUE(model.ok());
  const std::string& weights = (*model)[1].data;
  FakeTokenizer tok;
  TrainOptions o;
  o.tokenizer = &tok;
  o.threads = 1;
  double loaded = -1;
  o.on_model_loaded = [&](double s) { loaded = s; };
  ModelFiles plain;
  plain.config_json = (*model)[0].data;
  plain.safetensors = {{"model.safetensors", weights}};
  auto a = Train(plain, Jsonl(), SmallConfig(), o);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_GE(loaded, 0);
  EXPECT_EQ(a->report.load_seconds, loaded);

  auto buf = Consumable(weights);
  ModelFiles consumed = plain;
  consumed.safetensors = {{"model.safetensors", buf->view()}};
  consumed.consumable = buf.get();
  auto b = Train(consumed, Jsonl(), SmallConfig(), o);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(a->report.losses, b->report.losses);
  EXPECT_TRUE(AllZero(buf->data(), buf->size()));  // header included
  EXPECT_EQ(buf->consumed_bytes(), buf->size());

  // A file outside the buffer is refused before anything is read.
  auto other = Consumable("x");
  consumed.consumable = other.get();
  EXPECT_EQ(Train(consumed, Jsonl(), SmallConfig(), o).status().message(),
            "model files: \"model.safetensors\" does not lie in the consumable buffer given with "
            "it");
}

// Counts what LibTorch allocates on the CPU, to show that refusals come before any allocation.
class CountingAllocator : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* inner) : inner_(inner) {}
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  // LibTorch 2.3 made allocate non-const and added copy_data.
  c10::DataPtr allocate(size_t n) override {
    Count(n);
    return inner_->allocate(n);
  }
  void copy_data(void* dest, const void* src, size_t n) const override {
    std::memcpy(dest, src, n);
  }
#else
  c10::DataPtr allocate(size_t n) const override {
    Count(n);
    return inner_->allocate(n);
  }
#endif
  c10::DeleterFnPtr raw_deleter() const override { return inner_->raw_deleter(); }
  size_t largest() const { return largest_; }
  void Reset() { largest_ = 0; }

 private:
  void Count(size_t n) const {
    size_t seen = largest_.load();
    while (n > seen && !largest_.compare_exchange_weak(seen, n)) {
    }
  }
  c10::Allocator* inner_;
  mutable std::atomic<size_t> largest_{0};
};

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    original_ = c10::GetCPUAllocator();
    counting_ = std::make_unique<CountingAllocator>(original_);
    // Priorities only rise (c10 keeps the highest): each swap takes the next one.
    c10::SetCPUAllocator(counting_.get(), ++priority_);
    auto m = MakeRandomModel(kTinyConfig, 3);
    ASSERT_TRUE(m.ok());
    model_ = std::move(m).value();
    o_.tokenizer = &tok_;
    o_.threads = 1;
  }
  void TearDown() override { c10::SetCPUAllocator(original_, ++priority_); }

  // Train's refusal of these files, checking that LibTorch allocated nothing above 4 KiB first.
  std::string Refusal(const std::string& config, const std::vector<NamedBuffer>& shards,
                      const std::string& index = "") {
    ModelFiles f;
    f.config_json = config;
    f.safetensors = shards;
    f.safetensors_index_json = index;
    counting_->Reset();
    auto r = Train(f, Jsonl(), SmallConfig(), o_);
    EXPECT_LE(counting_->largest(), 4096u) << "allocated before refusing";
    if (r.ok()) return "OK";
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
    return r.status().message();
  }
  const std::string& weights() const { return model_[1].data; }

  static inline uint8_t priority_ = 10;
  c10::Allocator* original_ = nullptr;
  std::unique_ptr<CountingAllocator> counting_;
  std::vector<OutputFile> model_;
  FakeTokenizer tok_;
  TrainOptions o_;
};

TEST_F(BadInputTest, EachRefusedWithOneLineBeforeAnyAllocation) {
  const std::string w = weights();
  // The last tensor in data order is the one that is wrong, so a loader that allocated as it
  // checked would have allocated everything else first.
  auto header_end = [&](const std::string& file) {
    uint64_t n = 0;
    std::memcpy(&n, file.data(), 8);
    return 8 + n;
  };
  const std::string header = w.substr(8, header_end(w) - 8);
  auto with_header = [&](const std::string& h) {
    std::string out(8, '\0');
    uint64_t n = h.size();
    std::memcpy(out.data(), &n, 8);
    return out + h + w.substr(header_end(w));
  };
  // model.norm.weight is [64] F32 = 256 bytes; make it overlap the tensor before it.
  auto entry = [&](const std::string& name) {
    size_t at = header.find("\"" + name + "\"");
    size_t open = header.find("[", header.find("data_offsets", at));
    size_t close = header.find("]", open);
    return std::make_pair(open, close);
  };
  {
    auto [open, close] = entry("model.norm.weight");
    std::string offs = header.substr(open + 1, close - open - 1);
    uint64_t b = std::stoull(offs.substr(0, offs.find(','))),
             e = std::stoull(offs.substr(offs.find(',') + 1));
    std::string h = header;
    h.replace(open, close - open + 1,
              "[" + std::to_string(b - 8) + "," + std::to_string(e - 8) + "]");
    EXPECT_EQ(Refusal(kTinyConfig, {{"model.safetensors", with_header(h)}}),
              "safetensors: tensor \"model.norm.weight\": data_offsets [" + std::to_string(b - 8) +
                  ", " + std::to_string(e - 8) + "] do not continue at byte " + std::to_string(b) +
                  " (gap, overlap or reversed range)");
  }
  // Past the end: the file is cut short by one byte.
  {
    const size_t data = w.size() - header_end(w);
    EXPECT_EQ(Refusal(kTinyConfig, {{"model.safetensors", w.substr(0, w.size() - 1)}}),
              "safetensors: tensor \"model.norm.weight\": data_offsets end " +
                  std::to_string(data) + " is past the " + std::to_string(data - 1) +
                  "-byte data section");
  }
  // Shape against config.json: the config's intermediate_size differs from the checkpoint's.
  EXPECT_EQ(Refusal(Replace(kTinyConfig, "\"intermediate_size\":128", "\"intermediate_size\":96"),
                    {{"model.safetensors", w}}),
            "checkpoint: tensor \"model.layers.0.mlp.gate_proj.weight\" has shape [128, 64]; "
            "config.json implies [96, 64]");
  {
    // Only the last tensor in data order is wrong: an interleaved check-and-copy would have
    // allocated every other tensor first.
    auto all = LoadCheckpoint({{"model.safetensors", w}}, "");
    ASSERT_TRUE(all.ok());
    std::vector<TensorToWrite> out;
    for (const auto& [name, t] : *all) out.push_back({name, t.dtype, t.shape, std::string(t.data)});
    ASSERT_EQ(out.back().name, "model.norm.weight");
    out.back().shape = {32};
    out.back().data.resize(128);
    const std::string bad = *WriteSafetensors(out, {});
    EXPECT_EQ(Refusal(kTinyConfig, {{"model.safetensors", bad}}),
              "checkpoint: tensor \"model.norm.weight\" has shape [32]; config.json implies [64]");
  }
  // Dtype against config.json.
  EXPECT_EQ(Refusal(Replace(kTinyConfig, "\"torch_dtype\":\"float32\"",
                            "\"torch_dtype\":\"bfloat16\""),
                    {{"model.safetensors", w}}),
            "checkpoint: tensor \"model.embed_tokens.weight\" has dtype F32; config.json gives "
            "dtype bfloat16");
  // A shard the index names is missing.
  const std::string index =
      R"({"weight_map":{"model.embed_tokens.weight":"model-00001-of-00002.safetensors",)"
      R"("model.norm.weight":"model-00002-of-00002.safetensors"}})";
  EXPECT_EQ(Refusal(kTinyConfig, {{"model-00001-of-00002.safetensors", w}}, index),
            "checkpoint: shard \"model-00002-of-00002.safetensors\" named in the index is missing");
  // A tokenizer with more ids than the vocabulary (the fake one has 16 + 256 = 272).
  EXPECT_EQ(Refusal(Replace(kTinyConfig, "\"vocab_size\":288", "\"vocab_size\":200"),
                    {{"model.safetensors", w}}),
            "tokenizer has 272 ids but the model's vocab_size is 200");
  // And the same files, unchanged, train.
  counting_->Reset();
  ModelFiles ok;
  ok.config_json = kTinyConfig;
  ok.safetensors = {{"model.safetensors", w}};
  EXPECT_TRUE(Train(ok, Jsonl(), SmallConfig(), o_).ok());
  EXPECT_GT(counting_->largest(), 4096u);  // the counter does see the model's tensors
}

}  // namespace
}  // namespace triad::trainer
