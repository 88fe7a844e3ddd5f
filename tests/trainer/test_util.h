// Helpers for the trainer tests: the shared fixtures, file reading, and a small fake Tokenizer
// (until the BPE tokenizer lands, and to keep dataset tests independent of it).
#ifndef TRIAD_TESTS_TRAINER_TEST_UTIL_H_
#define TRIAD_TESTS_TRAINER_TEST_UTIL_H_

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "trainer/tokenizer.h"

namespace triad::trainer::testing {

inline std::string TestdataDir() { return TRAINER_TESTDATA_DIR; }
inline std::string Fixture(const std::string& rel) {
  return TestdataDir() + "/trainer/" + rel;
}

// The device the LibTorch tests run on: TRIAD_TEST_DEVICE ("cuda" on a GPU machine,
// bench/gpu/check.sh), "cpu" when unset.
inline std::string TestDevice() {
  const char* d = std::getenv("TRIAD_TEST_DEVICE");
  return d && *d ? d : "cpu";
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Splits out the listed special tokens; every other byte b is id offset + b. Deterministic and
// reversible, enough to check what the dataset code does with ids.
class FakeTokenizer : public Tokenizer {
 public:
  explicit FakeTokenizer(std::map<std::string, int32_t> specials = {}, int32_t offset = 16,
                         int32_t bos = -1)
      : specials_(std::move(specials)), offset_(offset), bos_(bos) {}
  Result<Encoding> Encode(std::string_view text, bool add_special_tokens) const override {
    Encoding e;
    if (add_special_tokens && bos_ >= 0) {
      e.ids.push_back(bos_);
      e.tokens.push_back("<bos>");
    }
    size_t i = 0;
    while (i < text.size()) {
      bool matched = false;
      for (const auto& [tok, id] : specials_) {
        if (text.substr(i, tok.size()) == tok) {
          e.ids.push_back(id);
          e.tokens.push_back(tok);
          i += tok.size();
          matched = true;
          break;
        }
      }
      if (matched) continue;
      unsigned char c = static_cast<unsigned char>(text[i++]);
      if (c == 0xFF) return InvalidArgument("invalid UTF-8");
      e.ids.push_back(offset_ + c);
      e.tokens.push_back(std::string(1, static_cast<char>(c)));
    }
    return e;
  }
  Result<std::string> Decode(const std::vector<int32_t>& ids, bool) const override {
    std::string s;
    for (int32_t id : ids) {
      bool special = false;
      for (const auto& [tok, sid] : specials_) {
        if (sid == id) s += tok, special = true;
      }
      if (!special) s.push_back(static_cast<char>(id - offset_));
    }
    return s;
  }
  std::optional<int32_t> TokenToId(std::string_view token) const override {
    auto it = specials_.find(std::string(token));
    if (it == specials_.end()) return std::nullopt;
    return it->second;
  }
  // Overrides Tokenizer::IdToToken where the interface has it (no `override`, so this header also
  // builds against the interface before that method was added).
  std::optional<std::string> IdToToken(int32_t id) const {  // NOLINT(modernize-use-override)
    for (const auto& [tok, sid] : specials_) {
      if (sid == id) return tok;
    }
    if (id < offset_ || id >= offset_ + 256) return std::nullopt;
    return std::string(1, static_cast<char>(id - offset_));
  }
  int32_t VocabSize() const override { return offset_ + 256; }

 private:
  std::map<std::string, int32_t> specials_;
  int32_t offset_;
  int32_t bos_;
};

}  // namespace triad::trainer::testing

#endif  // TRIAD_TESTS_TRAINER_TEST_UTIL_H_
