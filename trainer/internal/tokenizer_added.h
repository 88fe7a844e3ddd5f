// tokenizer.json "added_tokens": found in the text before anything else (tokens with
// normalized=false in the raw text, those with normalized=true in the normalized text), longest
// match first, with the reference's single_word, lstrip and rstrip rules.
#ifndef TRIAD_TRAINER_INTERNAL_TOKENIZER_ADDED_H_
#define TRIAD_TRAINER_INTERNAL_TOKENIZER_ADDED_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "trainer/internal/bpe_model.h"
#include "trainer/internal/tokenizer_json.h"
#include "trainer/internal/tokenizer_normalizer.h"
#include "trainer/internal/tokenizer_regex.h"
#include "trainer/status.h"

namespace triad::trainer::internal {

inline constexpr size_t kMaxAddedTokens = 1 << 16;

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

class AddedVocabulary {
 public:
  // Parses "added_tokens" (an array). Each id must be the one the reference assigns: the
  // vocabulary's id for a content that is in the vocabulary, else the next free id after the
  // vocabulary, in order. Refuses duplicate contents and normalized tokens that the normalizer
  // would change.
  static Result<std::unique_ptr<AddedVocabulary>> FromJson(const Json& added_tokens,
                                                           const BpeModel& model,
                                                           const Normalizer* normalizer);

  // A piece of the text: either plain text, or an added token (with the text it covers, which
  // includes whitespace taken by lstrip/rstrip).
  struct Piece {
    size_t start;
    size_t end;
    const AddedToken* token;  // null for plain text
  };
  // Cuts `text` at the added tokens of one kind (normalized=false for the raw text, true for the
  // normalized text) and appends the pieces, empty ones left out, to `out`.
  Status Split(std::string_view text, bool normalized, std::vector<Piece>* out) const;

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* FindById(int32_t id) const;
  const AddedToken* FindByContent(std::string_view content) const;
  // Whether `content` is the content of a special added token (decode's skip_special_tokens).
  bool IsSpecialContent(std::string_view content) const;
  int32_t MaxId() const { return max_id_; }

 private:
  struct Matcher {
    // Token indices by first byte, longest content first.
    std::array<std::vector<uint32_t>, 256> by_first_byte;
    bool empty = true;
  };
  Result<bool> IsWordChar(std::string_view text, size_t pos, bool before) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  Matcher raw_;
  Matcher normalized_;
  std::unique_ptr<Regex> word_char_;  // only when some token is single_word
  int32_t max_id_ = -1;
};

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_TOKENIZER_ADDED_H_
