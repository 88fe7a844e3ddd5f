// The regular expressions of tokenizer.json (Split pre-tokenizer, ByteLevel's GPT-2 pattern). The
// reference compiles them with Oniguruma; here they are translated to PCRE2 (UTF + UCP, JIT) where
// the two agree, and refused where they might not (line anchors, \w, \b, POSIX brackets, ...).
#ifndef TRIAD_TRAINER_INTERNAL_TOKENIZER_REGEX_H_
#define TRIAD_TRAINER_INTERNAL_TOKENIZER_REGEX_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trainer/status.h"

namespace triad::trainer::internal {

struct Span {
  size_t start;
  size_t end;
};

// Rewrites an Oniguruma pattern into the PCRE2 pattern with the same matches: \s and \S become
// White_Space (PCRE2's \s also takes U+180E), \v a vertical tab, \uHHHH \x{HHHH}. Fails naming any
// construct whose meaning differs between the two or is not known to agree.
Result<std::string> TranslateOnigurumaPattern(std::string_view pattern);

class Regex {
 public:
  // Compiles an Oniguruma pattern from tokenizer.json (at most 16 KiB).
  static Result<std::unique_ptr<Regex>> FromOniguruma(std::string_view pattern);
  // Compiles a PCRE2 pattern as is (for patterns written in this code).
  static Result<std::unique_ptr<Regex>> FromPcre2(std::string_view pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends the matches in `text` (well-formed UTF-8) to `out`, as the onig crate's find_iter
  // yields them: leftmost, non-overlapping, and an empty match right where the previous match ended
  // is skipped by advancing one character. Fails when a match exceeds the backtracking limits.
  Status FindAll(std::string_view text, std::vector<Span>* out) const;
  // Whether the pattern matches somewhere in `text`.
  Result<bool> Matches(std::string_view text) const;

 private:
  struct Impl;
  explicit Regex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The non-overlapping occurrences of a non-empty `needle`, left to right, appended to `out`.
void FindLiteral(std::string_view text, std::string_view needle, std::vector<Span>* out);

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_TOKENIZER_REGEX_H_
