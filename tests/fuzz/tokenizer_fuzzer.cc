// Fuzzes tokenizer.json loading and encoding/decoding (torch-free: the tokenizer only). The input
// is a tokenizer.json, optionally followed by a NUL byte and the text to encode (its first
// kMaxText bytes); without one, a fixed multilingual text is encoded.
//
// Why the text is cut: with it whole, the kept corpus carried texts of up to 24 KB and a run took
// 6.4 ms, 43% of it in Encode, so this target ran at about 110 runs/s and never reached the bar.
// Long hostile text is tokenizer_text_fuzzer's input (the real Qwen3, Llama-3, Llama-2 and GPT-2
// tokenizers, every byte of it encoded); here the time goes to what only this target reaches, the
// tokenizer.json and what each of its settings does to a short text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "trainer/tokenizer.h"

namespace {
constexpr size_t kMaxText = 256;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view json = input.substr(0, nul);
  std::string_view text = nul == std::string_view::npos
                              ? std::string_view(
                                    "Hello, world! <|im_start|>user\n\xE4\xB8\xAD\xE6\x96\x87 "
                                    "\xF0\x9F\x98\x80 e\xCC\x81 12345 <s>[INST] \t\n  x")
                              : input.substr(nul + 1, kMaxText);
  auto tokenizer = triad::trainer::Tokenizer::FromJson(json);
  if (!tokenizer.ok()) return 0;
  const auto& t = *tokenizer;
  for (bool add_special : {false, true}) {
    auto encoded = t->Encode(text, add_special);
    if (!encoded.ok()) continue;
    if (encoded->ids.size() != encoded->tokens.size()) __builtin_trap();
    if (!add_special) {
      // Every id the model and the added tokens produce is one the tokenizer can name and decode.
      for (int32_t id : encoded->ids) {
        if (!t->IdToToken(id) || id < 0 || id >= t->VocabSize()) __builtin_trap();
      }
      if (!t->Decode(encoded->ids, false).ok() || !t->Decode(encoded->ids, true).ok())
        __builtin_trap();
    }
  }
  (void)t->Decode({0, 1, 2, t->VocabSize() - 1}, false);
  return 0;
}
