// Fuzzes the encoding of hostile text by real tokenizers: a dataset's text is outside input to the
// worker, and tokenizer_fuzzer (which parses a whole tokenizer.json per run) reaches Encode about a
// hundred times a second, too slowly to fuzz it. Here the real Qwen3, Llama-3 and Llama-2
// tokenizers of testdata/trainer/tokenizers (decompressed by CMake into TRIAD_FUZZ_TOKENIZERS_DIR)
// and the tiny GPT-2 one are loaded once; the input's first byte picks a tokenizer and whether
// special tokens are added, the rest is the text.
//
// Checked on every input the tokenizer accepts: one token per id, every id in the vocabulary and
// nameable, Decode accepts what Encode produced; for the byte-level tokenizers without a
// normalizer (Llama-3, GPT-2 style) decoding gives back exactly the text (their byte-to-unicode
// mapping is a bijection and their decoder adds nothing). Encode must refuse invalid UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trainer/tokenizer.h"

namespace {

using triad::trainer::Tokenizer;

struct Loaded {
  std::unique_ptr<Tokenizer> tokenizer;
  bool round_trips;  // decode(encode(text)) == text for every valid UTF-8 text
};

std::unique_ptr<Tokenizer> Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto t = Tokenizer::FromJson(json);
  if (json.empty() || !t.ok()) {
    // A missing or refused fixture would turn every run into a no-op: stop loudly instead.
    std::fprintf(stderr, "tokenizer_text_fuzzer: cannot load %s\n", path.c_str());
    std::abort();
  }
  return std::move(t).value();
}

const std::vector<Loaded>& Tokenizers() {
  static const std::vector<Loaded>* all = [] {
    auto* v = new std::vector<Loaded>();
    const std::string dir = TRIAD_FUZZ_TOKENIZERS_DIR;
    v->push_back({Load(dir + "/qwen3.tokenizer.json"), false});  // NFC normalizer
    v->push_back({Load(dir + "/llama3.tokenizer.json"), true});
    v->push_back({Load(dir + "/llama2.tokenizer.json"), false});  // prepends "▁", byte fallback
    v->push_back({Load(TRIAD_FUZZ_TINY_GPT2), true});
    return v;
  }();
  return *all;
}

// RFC 3629 well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). Written here
// rather than calling trainer/internal/tokenizer_unicode.h IsValidUtf8: the oracle must not be the
// code under test.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      n = 1, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3, cp = b & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& all = Tokenizers();
  const Loaded& loaded = all[data[0] % all.size()];
  const bool add_special = (data[0] / all.size()) % 2 == 1;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Tokenizer& t = *loaded.tokenizer;

  auto encoded = t.Encode(text, add_special);
  const bool valid = ValidUtf8(text);
  if (!valid) {
    if (encoded.ok()) __builtin_trap();  // invalid UTF-8 must be refused
    return 0;
  }
  if (!encoded.ok()) __builtin_trap();  // every well-formed text can be encoded
  if (encoded->ids.size() != encoded->tokens.size()) __builtin_trap();
  for (size_t i = 0; i < encoded->ids.size(); ++i) {
    const int32_t id = encoded->ids[i];
    if (id < 0 || id >= t.VocabSize()) __builtin_trap();
    auto name = t.IdToToken(id);
    if (!name || *name != encoded->tokens[i]) __builtin_trap();
  }
  auto decoded = t.Decode(encoded->ids, false);
  if (!decoded.ok() || !t.Decode(encoded->ids, true).ok()) __builtin_trap();
  if (loaded.round_trips && !add_special && *decoded != text) __builtin_trap();
  return 0;
}
