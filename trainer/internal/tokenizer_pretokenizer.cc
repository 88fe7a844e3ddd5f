#include "trainer/internal/tokenizer_pretokenizer.h"

#include <algorithm>
#include <utility>

#include "trainer/internal/tokenizer_regex.h"
#include "trainer/internal/tokenizer_unicode.h"

namespace triad::trainer::internal {
namespace {

// The GPT-2 pattern that ByteLevel uses when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct Part {
  Span span;
  bool flag;  // a match before the behavior is applied; "remove" after
};

// The pieces of `text` between and at `matches`, each flagged as a match or not (the reference's
// Pattern::find_matches).
std::vector<Part> Cover(size_t size, const std::vector<Span>& matches) {
  std::vector<Part> parts;
  if (size == 0) {
    parts.push_back({{0, 0}, false});
    return parts;
  }
  parts.reserve(matches.size() * 2 + 1);
  size_t prev = 0;
  for (const Span& m : matches) {
    if (prev != m.start) parts.push_back({{prev, m.start}, false});
    parts.push_back({m, true});
    prev = m.end;
  }
  if (prev != size) parts.push_back({{prev, size}, false});
  return parts;
}

// Applies a split behavior to the covering parts (the reference's NormalizedString::split) and
// appends the kept, non-empty pieces of `piece` to `out`.
void SplitPiece(const PreToken& piece, std::vector<Part> parts, Behavior behavior, bool invert,
                std::vector<PreToken>* out) {
  if (invert) {
    for (Part& p : parts) p.flag = !p.flag;
  }
  std::vector<Part> splits;
  switch (behavior) {
    case Behavior::kIsolated:
      for (Part& p : parts) p.flag = false;
      splits = std::move(parts);
      break;
    case Behavior::kRemoved:
      splits = std::move(parts);
      break;
    case Behavior::kContiguous: {
      bool previous = false;
      for (const Part& p : parts) {
        if (p.flag == previous && !splits.empty()) {
          splits.back().span.end = p.span.end;
        } else {
          splits.push_back({p.span, false});
        }
        previous = p.flag;
      }
      break;
    }
    case Behavior::kMergedWithPrevious: {
      bool previous = false;
      for (const Part& p : parts) {
        if (p.flag && !previous && !splits.empty()) {
          splits.back().span.end = p.span.end;
        } else {
          splits.push_back({p.span, false});
        }
        previous = p.flag;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool previous = false;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->flag && !previous && !splits.empty()) {
          splits.back().span.start = it->span.start;
        } else {
          splits.push_back({it->span, false});
        }
        previous = it->flag;
      }
      std::reverse(splits.begin(), splits.end());
      break;
    }
  }
  for (const Part& s : splits) {
    if (s.flag || s.span.end == s.span.start) continue;
    out->push_back({piece.text.substr(s.span.start, s.span.end - s.span.start),
                    piece.at_input_start && s.span.start == 0});
  }
}

// Each character for which `pred` holds is one match.
template <typename Pred>
std::vector<Span> CharMatches(const std::string& text, Pred pred) {
  std::vector<Span> matches;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = pos;
    char32_t cp = NextCodePoint(text, &pos);
    if (pred(cp)) matches.push_back({start, pos});
  }
  return matches;
}

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(std::string literal, std::unique_ptr<Regex> regex, Behavior behavior,
                    bool invert)
      : literal_(std::move(literal)),
        regex_(std::move(regex)),
        behavior_(behavior),
        invert_(invert) {}

  Status PreTokenize(std::vector<PreToken>* pieces) const override {
    std::vector<PreToken> out;
    out.reserve(pieces->size());
    std::vector<Span> matches;
    for (const PreToken& piece : *pieces) {
      matches.clear();
      if (regex_) {
        TRAINER_RETURN_IF_ERROR(regex_->FindAll(piece.text, &matches));
      } else {
        FindLiteral(piece.text, literal_, &matches);
      }
      SplitPiece(piece, Cover(piece.text.size(), matches), behavior_, invert_, &out);
    }
    *pieces = std::move(out);
    return Status::Ok();
  }

 private:
  std::string literal_;
  std::unique_ptr<Regex> regex_;  // null for a literal pattern
  Behavior behavior_;
  bool invert_;
};

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::unique_ptr<Regex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}

  Status PreTokenize(std::vector<PreToken>* pieces) const override {
    std::vector<PreToken> split;
    split.reserve(pieces->size());
    std::vector<Span> matches;
    for (PreToken& piece : *pieces) {
      if (add_prefix_space_ && piece.text[0] != ' ') piece.text.insert(0, 1, ' ');
      if (regex_) {
        matches.clear();
        TRAINER_RETURN_IF_ERROR(regex_->FindAll(piece.text, &matches));
        SplitPiece(piece, Cover(piece.text.size(), matches), Behavior::kIsolated, false, &split);
      } else {
        split.push_back(std::move(piece));
      }
    }
    const auto& table = ByteToUnicode();
    for (PreToken& piece : split) {
      std::string mapped;
      mapped.reserve(piece.text.size() * 2);
      for (char c : piece.text) mapped.append(table[static_cast<unsigned char>(c)]);
      piece.text = std::move(mapped);
    }
    *pieces = std::move(split);
    return Status::Ok();
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;  // the GPT-2 pattern, or null when use_regex is false
};

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_(replacement), scheme_(scheme), split_(split) {
    AppendUtf8(replacement, &replacement_utf8_);
  }

  Status PreTokenize(std::vector<PreToken>* pieces) const override {
    std::vector<PreToken> out;
    out.reserve(pieces->size());
    for (PreToken& piece : *pieces) {
      std::string text;
      text.reserve(piece.text.size() + replacement_utf8_.size());
      for (char c : piece.text) {
        if (c == ' ') {
          text.append(replacement_utf8_);
        } else {
          text.push_back(c);
        }
      }
      bool starts = text.compare(0, replacement_utf8_.size(), replacement_utf8_) == 0;
      if (!starts && (scheme_ == PrependScheme::kAlways ||
                      (scheme_ == PrependScheme::kFirst && piece.at_input_start))) {
        text.insert(0, replacement_utf8_);
      }
      PreToken replaced{std::move(text), piece.at_input_start};
      if (split_) {
        char32_t rep = replacement_;
        auto matches = CharMatches(replaced.text, [rep](char32_t cp) { return cp == rep; });
        SplitPiece(replaced, Cover(replaced.text.size(), matches), Behavior::kMergedWithNext, false,
                   &out);
      } else if (!replaced.text.empty()) {
        out.push_back(std::move(replaced));
      }
    }
    *pieces = std::move(out);
    return Status::Ok();
  }
  bool UsesInputStart() const override { return scheme_ == PrependScheme::kFirst; }

 private:
  char32_t replacement_;
  std::string replacement_utf8_;
  PrependScheme scheme_;
  bool split_;
};

class DigitsPreTokenizer : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual) : individual_(individual) {}
  Status PreTokenize(std::vector<PreToken>* pieces) const override {
    std::vector<PreToken> out;
    for (const PreToken& piece : *pieces) {
      auto matches = CharMatches(piece.text, [](char32_t cp) { return cp >= '0' && cp <= '9'; });
      SplitPiece(piece, Cover(piece.text.size(), matches),
                 individual_ ? Behavior::kIsolated : Behavior::kContiguous, false, &out);
    }
    *pieces = std::move(out);
    return Status::Ok();
  }

 private:
  bool individual_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  Status PreTokenize(std::vector<PreToken>* pieces) const override {
    for (const auto& step : steps_) TRAINER_RETURN_IF_ERROR(step->PreTokenize(pieces));
    return Status::Ok();
  }
  bool UsesInputStart() const override {
    for (const auto& step : steps_) {
      if (step->UsesInputStart()) return true;
    }
    return false;
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

Result<Behavior> ParseBehavior(const std::string& name, const std::string& where) {
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  return Unsupported(where + " behavior " + name);
}

// The single character of a "replacement" field.
Result<char32_t> OneCharacter(const std::string& s, const std::string& where) {
  size_t pos = 0;
  if (s.empty() || (NextCodePoint(s, &pos), pos != s.size())) {
    return LoadError(where, "field \"replacement\" must be exactly one character");
  }
  pos = 0;
  return NextCodePoint(s, &pos);
}

}  // namespace

Result<std::unique_ptr<PreTokenizer>> ParsePreTokenizer(const Json& json) {
  if (!json.is_object()) return LoadError("pre_tokenizer", "must be an object or null");
  TRAINER_ASSIGN_OR_RETURN(std::string type, RequiredString(json, "type", "pre_tokenizer"));
  const std::string where = "pre_tokenizer " + type;
  if (type == "Sequence") {
    TRAINER_ASSIGN_OR_RETURN(const Json* list, RequiredArray(json, "pretokenizers", where));
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const Json& item : *list) {
      TRAINER_ASSIGN_OR_RETURN(auto step, ParsePreTokenizer(item));
      // Offsets are tracked only for whole normalized segments, so "first" must see those.
      if (step->UsesInputStart() && !steps.empty()) {
        return Unsupported(
            "pre_tokenizer Metaspace with prepend_scheme first after another pre_tokenizer");
      }
      steps.push_back(std::move(step));
    }
    return std::unique_ptr<PreTokenizer>(new SequencePreTokenizer(std::move(steps)));
  }
  if (type == "Split") {
    TRAINER_ASSIGN_OR_RETURN(const Json* pattern, RequiredObject(json, "pattern", where));
    TRAINER_ASSIGN_OR_RETURN(std::string behavior_name, RequiredString(json, "behavior", where));
    TRAINER_ASSIGN_OR_RETURN(Behavior behavior, ParseBehavior(behavior_name, where));
    TRAINER_ASSIGN_OR_RETURN(bool invert, BoolOr(json, "invert", false, where));
    if (OptionalField(*pattern, "Regex") != nullptr) {
      TRAINER_ASSIGN_OR_RETURN(std::string source,
                               RequiredString(*pattern, "Regex", where + " pattern"));
      auto regex = Regex::FromOniguruma(source);
      if (!regex.ok()) {
        return Status(regex.status().code(),
                      "tokenizer.json: " + where + ": " + regex.status().message());
      }
      return std::unique_ptr<PreTokenizer>(
          new SplitPreTokenizer(std::string(), std::move(regex).value(), behavior, invert));
    }
    TRAINER_ASSIGN_OR_RETURN(std::string literal,
                             RequiredString(*pattern, "String", where + " pattern"));
    return std::unique_ptr<PreTokenizer>(
        new SplitPreTokenizer(std::move(literal), nullptr, behavior, invert));
  }
  if (type == "ByteLevel") {
    TRAINER_ASSIGN_OR_RETURN(bool add_prefix_space, RequiredBool(json, "add_prefix_space", where));
    TRAINER_ASSIGN_OR_RETURN(bool use_regex, BoolOr(json, "use_regex", true, where));
    std::unique_ptr<Regex> regex;
    if (use_regex) {
      auto compiled = Regex::FromOniguruma(kGpt2Pattern);
      if (!compiled.ok()) return compiled.status();
      regex = std::move(compiled).value();
    }
    return std::unique_ptr<PreTokenizer>(
        new ByteLevelPreTokenizer(add_prefix_space, std::move(regex)));
  }
  if (type == "Metaspace") {
    TRAINER_ASSIGN_OR_RETURN(std::string replacement, RequiredString(json, "replacement", where));
    TRAINER_ASSIGN_OR_RETURN(char32_t rep, OneCharacter(replacement, where));
    TRAINER_ASSIGN_OR_RETURN(PrependScheme scheme, ParseMetaspaceScheme(json, where));
    TRAINER_ASSIGN_OR_RETURN(bool split, BoolOr(json, "split", true, where));
    return std::unique_ptr<PreTokenizer>(new MetaspacePreTokenizer(rep, scheme, split));
  }
  if (type == "Digits") {
    TRAINER_ASSIGN_OR_RETURN(bool individual, RequiredBool(json, "individual_digits", where));
    return std::unique_ptr<PreTokenizer>(new DigitsPreTokenizer(individual));
  }
  return Unsupported("pre_tokenizer type " + type);
}

Result<PrependScheme> ParseMetaspaceScheme(const Json& json, const std::string& where) {
  TRAINER_ASSIGN_OR_RETURN(std::optional<std::string> scheme,
                           OptionalString(json, "prepend_scheme", where));
  if (scheme) {
    if (*scheme == "always") return PrependScheme::kAlways;
    if (*scheme == "first") return PrependScheme::kFirst;
    if (*scheme == "never") return PrependScheme::kNever;
    return Unsupported(where + " prepend_scheme " + *scheme);
  }
  TRAINER_ASSIGN_OR_RETURN(bool add_prefix_space, RequiredBool(json, "add_prefix_space", where));
  return add_prefix_space ? PrependScheme::kAlways : PrependScheme::kNever;
}

}  // namespace triad::trainer::internal
