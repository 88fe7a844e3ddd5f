// UTF-8 and Unicode helpers for the tokenizer: validation, code point iteration, normalization
// forms (utf8proc), the GPT-2 byte-to-character table, and Rust's lossy UTF-8 decoding (which the
// reference decoders use).
#ifndef TRIAD_TRAINER_INTERNAL_TOKENIZER_UNICODE_H_
#define TRIAD_TRAINER_INTERNAL_TOKENIZER_UNICODE_H_

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "trainer/status.h"

namespace triad::trainer::internal {

// Whether `s` is well-formed UTF-8 (no surrogates, no overlong forms, at most U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Decodes the code point at `s[*pos]` of well-formed UTF-8 and advances `*pos` past it.
char32_t NextCodePoint(std::string_view s, size_t* pos);
// The length in bytes of the UTF-8 sequence that starts with byte `lead` (of well-formed UTF-8).
inline size_t Utf8Length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}
void AppendUtf8(char32_t cp, std::string* out);

// Unicode White_Space (what both Oniguruma's and Rust's \s match).
bool IsWhiteSpace(char32_t cp);

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };
// Normalizes well-formed UTF-8 (NUL bytes included) to the given form.
Result<std::string> Normalize(std::string_view s, NormalForm form);

// GPT-2's bytes_to_unicode(): byte b is shown as the character ByteToUnicode()[b] (UTF-8 encoded).
const std::array<std::string, 256>& ByteToUnicode();
// The inverse: the byte shown as `cp`, or -1 when `cp` shows no byte.
int UnicodeToByte(char32_t cp);

// Like Rust's String::from_utf8_lossy: each maximal ill-formed subsequence becomes U+FFFD.
std::string Utf8Lossy(std::string_view bytes);

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_TOKENIZER_UNICODE_H_
