// Datasets with a fake tokenizer (byte b -> id 16 + b; special tokens split out): label masks per
// format, chat rendering, bad lines with their numbers, seeded split/shuffle, padding and packing.
#include "trainer/dataset.h"

#include <algorithm>
#include <set>

#include "gtest/gtest.h"
#include "tests/trainer/test_util.h"

namespace triad::trainer {
namespace {

using testing::FakeTokenizer;
constexpr int32_t kIgn = kIgnoreIndex;

std::vector<int32_t> Bytes(const std::string& s) {
  std::vector<int32_t> v;
  for (unsigned char c : s) v.push_back(16 + c);
  return v;
}
std::vector<int32_t> Cat(std::vector<std::vector<int32_t>> parts) {
  std::vector<int32_t> v;
  for (auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}
std::vector<int32_t> Ign(size_t n) { return std::vector<int32_t>(n, kIgn); }

TEST(DatasetTest, PromptCompletionTakesLossOnCompletionAndEos) {
  FakeTokenizer tok({}, 16, /*bos=*/1);
  DatasetOptions o;
  o.eos_id = 2;
  auto ex = TokenizeJsonl(R"({"prompt":"ab","completion":"cd"})", tok, o);
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  ASSERT_EQ(ex->size(), 1u);
  EXPECT_EQ((*ex)[0].ids, Cat({{1}, Bytes("abcd"), {2}}));
  EXPECT_EQ((*ex)[0].labels, Cat({Ign(3), Bytes("cd"), {2}}));
}

TEST(DatasetTest, TextTakesLossEverywhere) {
  FakeTokenizer tok;
  auto ex = TokenizeJsonl("{\"text\":\"hi\"}\r\n\n  \n{\"text\":\"yo\"}", tok, {});
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  ASSERT_EQ(ex->size(), 2u);
  EXPECT_EQ((*ex)[1].ids, Bytes("yo"));
  EXPECT_EQ((*ex)[1].labels, Bytes("yo"));
}

TEST(DatasetTest, ChatmlMessages) {
  FakeTokenizer tok({{"<|im_start|>", 5}, {"<|im_end|>", 6}});
  ModelConfig qwen;
  qwen.family = ModelFamily::kQwen2;
  qwen.eos_token_ids = {6};
  auto o = DatasetOptionsFor(qwen, tok);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->chat_format, ChatFormat::kChatml);
  auto ex = TokenizeJsonl(
      R"({"messages":[{"role":"system","content":"S"},{"role":"user","content":"Q"},{"role":"assistant","content":"A"}]})",
      tok, *o);
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  // <|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n
  EXPECT_EQ((*ex)[0].ids, Cat({{5},
                               Bytes("system\nS"),
                               {6},
                               Bytes("\n"),
                               {5},
                               Bytes("user\nQ"),
                               {6},
                               Bytes("\n"),
                               {5},
                               Bytes("assistant\nA"),
                               {6},
                               Bytes("\n")}));
  EXPECT_EQ((*ex)[0].labels,
            Cat({Ign(1 + 8 + 1 + 1 + 1 + 6 + 1 + 1 + 1 + 10), Bytes("A"), {6}, Ign(1)}));
}

TEST(DatasetTest, Llama3Messages) {
  FakeTokenizer tok({{"<|begin_of_text|>", 1},
                     {"<|start_header_id|>", 7},
                     {"<|end_header_id|>", 8},
                     {"<|eot_id|>", 9}});
  ModelConfig llama;
  llama.family = ModelFamily::kLlama;
  auto o = DatasetOptionsFor(llama, tok);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->chat_format, ChatFormat::kLlama3);
  auto ex = TokenizeJsonl(
      R"({"messages":[{"role":"user","content":" Q "},{"role":"assistant","content":"A\n"}]})", tok,
      *o);
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  EXPECT_EQ((*ex)[0].ids, Cat({{1, 7},
                               Bytes("user"),
                               {8},
                               Bytes("\n\nQ"),
                               {9},
                               {7},
                               Bytes("assistant"),
                               {8},
                               Bytes("\n\nA"),
                               {9}}));
  EXPECT_EQ((*ex)[0].labels, Cat({Ign(2 + 4 + 1 + 3 + 1 + 1 + 9 + 1 + 2), Bytes("A"), {9}}));
}

TEST(DatasetTest, BadLinesNameTheirNumberAndNeverTheContent) {
  FakeTokenizer tok;
  auto reason = [&](const std::string& data, DatasetOptions o = {}) {
    auto ex = TokenizeJsonl(data, tok, o);
    return ex.ok() ? std::string("OK") : ex.status().message();
  };
  EXPECT_EQ(reason("{\"text\":\"a\"}\n\n{\"text\":\"SECRET\"\n"),
            "dataset line 3: invalid JSON (syntax error at byte 17)");
  EXPECT_EQ(reason("{\"text\":\"a\",\"SECRET\":1}"),
            "dataset line 1: unknown key (expected prompt+completion, text, or messages)");
  EXPECT_EQ(reason("{\"text\":\"a\",\"text\":\"b\"}"),
            "dataset line 1: invalid JSON: duplicate key");
  EXPECT_EQ(reason("[\"SECRET\"]"), "dataset line 1: not a JSON object");
  EXPECT_EQ(reason("{\"prompt\":\"SECRET\"}"), "dataset line 1: missing \"completion\"");
  EXPECT_EQ(reason("{\"prompt\":\"a\",\"completion\":7}"),
            "dataset line 1: \"completion\" must be a string, not an integer");
  EXPECT_EQ(reason("{\"prompt\":\"a\",\"completion\":\"\"}"),
            "dataset line 1: \"completion\" is empty");
  EXPECT_EQ(reason("{\"prompt\":\"a\",\"completion\":\"b\",\"text\":\"c\"}"),
            "dataset line 1: mixes prompt/completion with text or messages");
  EXPECT_EQ(reason("{\"text\":\"\"}"), "dataset line 1: \"text\" is empty");
  EXPECT_EQ(reason("{\"text\":\"\xff\"}"),
            "dataset line 1: invalid JSON (syntax error at byte 10)");
  EXPECT_EQ(reason("{\"messages\":[{\"role\":\"user\",\"content\":\"SECRET\"}]}"),
            "dataset line 1: \"messages\" needs a chat format, and this model family's tokenizer "
            "has none");
  DatasetOptions chat;
  chat.chat_format = ChatFormat::kChatml;
  EXPECT_EQ(reason("{\"messages\":[{\"role\":\"user\",\"content\":\"SECRET\"}]}", chat),
            "dataset line 1: \"messages\" has no assistant message to learn from");
  EXPECT_EQ(reason("{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", chat),
            "dataset line 1: message 1: role must be system, user or assistant");
  EXPECT_EQ(reason("{\"messages\":[{\"role\":\"user\",\"content\":[1]}]}", chat),
            "dataset line 1: message 1: \"content\" must be a string, not an array");
  EXPECT_EQ(reason("{\"messages\":[]}", chat),
            "dataset line 1: \"messages\" must be a non-empty array");
  EXPECT_EQ(reason("\n\n"), "dataset: no examples");
}

// The torch- and tokenizer-free check `triad dataset check|push` run: every bad line is refused
// with exactly the reason tokenization gives (with a chat format, which it cannot know), and the
// good lines are counted by shape.
TEST(DatasetTest, CheckJsonlRefusesWhatTokenizingRefusesWithTheSameReason) {
  FakeTokenizer tok;
  DatasetOptions chat;
  chat.chat_format = ChatFormat::kChatml;
  for (const std::string data : {
           "{\"text\":\"a\"}\n\n{\"text\":\"SECRET\"\n",
           "{\"text\":\"a\",\"SECRET\":1}",
           "{\"foo\":1}\n{\"foo\":1}",
           "{\"text\":\"a\",\"text\":\"b\"}",
           "[\"SECRET\"]",
           "plain text, not JSON\n",
           "{\"prompt\":\"SECRET\"}",
           "{\"prompt\":\"a\",\"completion\":7}",
           "{\"prompt\":\"a\",\"completion\":\"\"}",
           "{\"prompt\":\"a\",\"completion\":\"b\",\"text\":\"c\"}",
           "{\"text\":\"\"}",
           "{\"text\":\"\xff\"}",
           "{\"messages\":[{\"role\":\"user\",\"content\":\"SECRET\"}]}",
           "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
           "{\"messages\":[{\"role\":\"user\",\"content\":[1]}]}",
           "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"name\":\"y\"}]}",
           "{\"messages\":[]}",
           "\n\n",
       }) {
    auto tokenized = TokenizeJsonl(data, tok, chat);
    auto checked = CheckJsonl(data);
    ASSERT_FALSE(tokenized.ok()) << data;
    ASSERT_FALSE(checked.ok()) << data;
    EXPECT_EQ(checked.status().message(), tokenized.status().message()) << data;
    EXPECT_EQ(checked.status().message().find("SECRET"), std::string::npos);
  }
  EXPECT_EQ(CheckJsonl("plain text\n").status().message(),
            "dataset line 1: invalid JSON (syntax error at byte 1)");
  auto ok = CheckJsonl(
      "{\"prompt\":\"a\",\"completion\":\"b\"}\r\n\n  \n{\"text\":\"t\"}\n"
      "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\","
      "\"content\":\"a\"}]}\n{\"text\":\"u\"}");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->examples, 4);
  EXPECT_EQ(ok->by_kind[static_cast<int>(LineKind::kPromptCompletion)], 1);
  EXPECT_EQ(ok->by_kind[static_cast<int>(LineKind::kText)], 2);
  EXPECT_EQ(ok->by_kind[static_cast<int>(LineKind::kMessages)], 1);
}

TEST(DatasetTest, SeededPermutationIsFixedAndComplete) {
  std::vector<size_t> p = SeededPermutation(10, 42);
  EXPECT_EQ(p, SeededPermutation(10, 42));
  EXPECT_NE(p, SeededPermutation(10, 43));
  std::vector<size_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_TRUE(SeededPermutation(0, 1).empty());
}

TEST(DatasetTest, SplitHoldsOutTheFractionDeterministically) {
  std::vector<Example> all;
  for (int i = 0; i < 20; ++i) all.push_back({{i}, {i}});
  std::vector<Example> train, eval, train2, eval2;
  ASSERT_TRUE(SplitExamples(all, 0.25, 7, train, eval).ok());
  ASSERT_TRUE(SplitExamples(all, 0.25, 7, train2, eval2).ok());
  EXPECT_EQ(train.size(), 15u);
  EXPECT_EQ(eval.size(), 5u);
  std::set<int32_t> seen;
  for (auto* v : {&train, &eval}) {
    for (auto& e : *v) seen.insert(e.ids[0]);
  }
  EXPECT_EQ(seen.size(), 20u);
  for (size_t i = 0; i < eval.size(); ++i) EXPECT_EQ(eval[i].ids, eval2[i].ids);
  EXPECT_EQ(SplitExamples({{{1}, {1}}}, 0.1, 1, train, eval).message(),
            "dataset: 1 examples leave none for training with eval_fraction 0.100000");
}

TEST(DatasetTest, RightPaddingAndTruncation) {
  std::vector<Example> ex = {
      {{1, 2, 3}, {kIgn, 2, 3}},
      {{4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, {4, 5, 6, 7, 8, 9, 10, 11, 12, 13}}};
  auto b = MakeBatches(ex, {0, 1}, 2, 8, false, 0);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].rows, 2);
  EXPECT_EQ(b[0].columns, 8);
  EXPECT_EQ(b[0].input_ids,
            (std::vector<int64_t>{1, 2, 3, 0, 0, 0, 0, 0, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(b[0].attention_mask,
            (std::vector<int64_t>{1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(b[0].labels, (std::vector<int64_t>{kIgn, 2, 3, kIgn, kIgn, kIgn, kIgn, kIgn, 4, 5, 6, 7,
                                               8, 9, 10, 11}));
  EXPECT_EQ(b[0].tokens, 11);
  EXPECT_EQ(b[0].loss_tokens, 2 + 7);  // label at position 0 of a row is never predicted
  auto shuffled = MakeBatches(ex, {1, 0}, 1, 8, false, 0);
  ASSERT_EQ(shuffled.size(), 2u);
  EXPECT_EQ(shuffled[1].columns, 3);  // padded only to the batch's longest row
}

TEST(DatasetTest, PackingFillsRows) {
  std::vector<Example> ex = {
      {{1, 2, 3}, {kIgn, 2, 3}}, {{4, 5, 6, 7, 8}, {4, 5, 6, 7, 8}}, {{9, 10, 11}, {9, 10, 11}}};
  auto b = MakeBatches(ex, {0, 1, 2}, 2, 4, true, 0);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].input_ids, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(b[0].labels, (std::vector<int64_t>{kIgn, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(b[1].input_ids, (std::vector<int64_t>{9, 10, 11}));
  EXPECT_EQ(b[1].columns, 3);
  EXPECT_EQ(b[0].tokens + b[1].tokens, 11);
}

}  // namespace
}  // namespace triad::trainer
