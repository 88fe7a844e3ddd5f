#include "trainer/internal/tokenizer_added.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "trainer/internal/tokenizer_unicode.h"

namespace triad::trainer::internal {
namespace {

std::string Quoted(std::string_view s) { return "\"" + std::string(s.substr(0, 64)) + "\""; }

// The start of the run of whitespace that ends `s` (the reference's `\s*$`).
size_t TrailingSpaceStart(std::string_view s) {
  size_t start = s.size();
  size_t pos = 0;
  while (pos < s.size()) {
    size_t char_start = pos;
    char32_t cp = NextCodePoint(s, &pos);
    if (!IsWhiteSpace(cp)) {
      start = s.size();
    } else if (start == s.size()) {
      start = char_start;
    }
  }
  return start;
}

// The length of the run of whitespace that begins `s` (the reference's `^\s*`).
size_t LeadingSpaceLength(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t char_start = pos;
    if (!IsWhiteSpace(NextCodePoint(s, &pos))) return char_start;
  }
  return s.size();
}

}  // namespace

Result<std::unique_ptr<AddedVocabulary>> AddedVocabulary::FromJson(const Json& added_tokens,
                                                                   const BpeModel& model,
                                                                   const Normalizer* normalizer) {
  const std::string where = "added_tokens";
  if (!added_tokens.is_array()) return LoadError(where, "must be an array");
  if (added_tokens.size() > kMaxAddedTokens) {
    return LoadError(where, std::to_string(added_tokens.size()) + " entries is over the limit of " +
                                std::to_string(kMaxAddedTokens));
  }
  auto vocab = std::unique_ptr<AddedVocabulary>(new AddedVocabulary());
  int64_t next_id = static_cast<int64_t>(model.VocabEntries());
  bool any_single_word = false;
  for (size_t i = 0; i < added_tokens.size(); ++i) {
    const Json& t = added_tokens[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!t.is_object()) return LoadError(at, "must be an object");
    AddedToken token;
    TRAINER_ASSIGN_OR_RETURN(token.content, RequiredString(t, "content", at));
    TRAINER_ASSIGN_OR_RETURN(int64_t id, RequiredInt(t, "id", 0, kMaxTokenId, at));
    TRAINER_ASSIGN_OR_RETURN(token.single_word, RequiredBool(t, "single_word", at));
    TRAINER_ASSIGN_OR_RETURN(token.lstrip, RequiredBool(t, "lstrip", at));
    TRAINER_ASSIGN_OR_RETURN(token.rstrip, RequiredBool(t, "rstrip", at));
    TRAINER_ASSIGN_OR_RETURN(token.normalized, RequiredBool(t, "normalized", at));
    TRAINER_ASSIGN_OR_RETURN(token.special, RequiredBool(t, "special", at));
    if (token.content.empty()) continue;  // the reference ignores empty added tokens
    if (token.content.size() > kMaxTokenBytes) {
      return LoadError(at, "content longer than " + std::to_string(kMaxTokenBytes) + " bytes");
    }
    if (vocab->by_content_.count(token.content) != 0) {
      return LoadError(at, "content " + Quoted(token.content) + " is listed twice");
    }
    int32_t in_model = model.TokenToId(token.content);
    int64_t expected = in_model >= 0 ? in_model : next_id++;
    if (id != expected) {
      return LoadError(at, "token " + Quoted(token.content) + " has id " + std::to_string(id) +
                               " but the reference tokenizer gives it id " +
                               std::to_string(expected));
    }
    if (expected > kMaxTokenId)
      return LoadError(at, "id over the limit of " + std::to_string(kMaxTokenId));
    token.id = static_cast<int32_t>(id);
    if (token.normalized && normalizer != nullptr) {
      std::string normalized_content = token.content;
      TRAINER_RETURN_IF_ERROR(normalizer->Normalize(&normalized_content));
      if (normalized_content != token.content) {
        return Unsupported("added token " + Quoted(token.content) +
                           " with normalized true that the normalizer changes");
      }
    }
    any_single_word = any_single_word || token.single_word;
    vocab->max_id_ = std::max(vocab->max_id_, token.id);
    vocab->by_id_[token.id] = vocab->tokens_.size();
    vocab->by_content_[token.content] = vocab->tokens_.size();
    vocab->tokens_.push_back(std::move(token));
  }
  for (uint32_t i = 0; i < vocab->tokens_.size(); ++i) {
    const AddedToken& token = vocab->tokens_[i];
    Matcher& m = token.normalized ? vocab->normalized_ : vocab->raw_;
    m.by_first_byte[static_cast<unsigned char>(token.content[0])].push_back(i);
    m.empty = false;
  }
  for (Matcher* m : {&vocab->raw_, &vocab->normalized_}) {
    for (auto& list : m->by_first_byte) {
      std::stable_sort(list.begin(), list.end(), [&vocab](uint32_t a, uint32_t b) {
        return vocab->tokens_[a].content.size() > vocab->tokens_[b].content.size();
      });
    }
  }
  if (any_single_word) {
    // Rust regex's Unicode \w, which the reference uses for single_word.
    TRAINER_ASSIGN_OR_RETURN(
        vocab->word_char_,
        Regex::FromPcre2(R"(^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}])"));
  }
  return vocab;
}

Result<bool> AddedVocabulary::IsWordChar(std::string_view text, size_t pos, bool before) const {
  size_t start = pos;
  if (before) {
    do {
      --start;
    } while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80);
  }
  size_t end = start;
  NextCodePoint(text, &end);
  return word_char_->Matches(text.substr(start, end - start));
}

Status AddedVocabulary::Split(std::string_view text, bool normalized,
                              std::vector<Piece>* out) const {
  const Matcher& m = normalized ? normalized_ : raw_;
  if (m.empty) {
    if (!text.empty()) out->push_back({0, text.size(), nullptr});
    return Status::Ok();
  }
  size_t start_offset = 0;
  size_t i = 0;
  while (i < text.size()) {
    // Leftmost-longest: at the first position where any token matches, the longest one.
    const AddedToken* found = nullptr;
    for (uint32_t index : m.by_first_byte[static_cast<unsigned char>(text[i])]) {
      const std::string& c = tokens_[index].content;
      if (c.size() <= text.size() - i && std::memcmp(text.data() + i, c.data(), c.size()) == 0) {
        found = &tokens_[index];
        break;
      }
    }
    if (found == nullptr) {
      ++i;
      continue;
    }
    size_t start = i;
    size_t stop = i + found->content.size();
    i = stop;  // matching resumes after the match, whatever happens to it below
    if (found->single_word) {
      TRAINER_ASSIGN_OR_RETURN(bool word_before,
                               start == 0 ? Result<bool>(false) : IsWordChar(text, start, true));
      TRAINER_ASSIGN_OR_RETURN(bool word_after, stop == text.size()
                                                    ? Result<bool>(false)
                                                    : IsWordChar(text, stop, false));
      if (word_before || word_after) continue;
    }
    if (found->lstrip) start = std::max(TrailingSpaceStart(text.substr(0, start)), start_offset);
    if (found->rstrip) stop += LeadingSpaceLength(text.substr(stop));
    if (start > stop) {
      // The reference would slice backwards (and panic): whitespace-only tokens with lstrip/rstrip.
      return InvalidArgument("added tokens " + Quoted(found->content) +
                             " overlap after whitespace stripping");
    }
    if (start_offset < start) out->push_back({start_offset, start, nullptr});
    out->push_back({start, stop, found});
    start_offset = stop;
  }
  if (start_offset < text.size()) out->push_back({start_offset, text.size(), nullptr});
  return Status::Ok();
}

const AddedToken* AddedVocabulary::FindById(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::FindByContent(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

bool AddedVocabulary::IsSpecialContent(std::string_view content) const {
  const AddedToken* t = FindByContent(content);
  return t != nullptr && t->special;
}

}  // namespace triad::trainer::internal
