#include "trainer/internal/tokenizer_normalizer.h"

#include <utility>
#include <vector>

#include "trainer/internal/tokenizer_regex.h"
#include "trainer/internal/tokenizer_unicode.h"

namespace triad::trainer::internal {
namespace {

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  Status Normalize(std::string* text) const override {
    TRAINER_ASSIGN_OR_RETURN(*text, internal::Normalize(*text, form_));
    return Status::Ok();
  }
  bool KeepsStart() const override { return true; }

 private:
  NormalForm form_;
};

// Prepends its string to any non-empty text.
class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prepend) : prepend_(std::move(prepend)) {}
  Status Normalize(std::string* text) const override {
    if (!text->empty()) text->insert(0, prepend_);
    return Status::Ok();
  }
  bool KeepsStart() const override { return true; }  // the new characters map to the first one

 private:
  std::string prepend_;
};

// Replaces every non-overlapping occurrence of a string, left to right.
class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(std::string pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  Status Normalize(std::string* text) const override {
    std::vector<Span> matches;
    FindLiteral(*text, pattern_, &matches);
    if (matches.empty()) return Status::Ok();
    std::string out;
    out.reserve(text->size());
    size_t prev = 0;
    for (const Span& m : matches) {
      out.append(*text, prev, m.start - prev);
      out.append(content_);
      prev = m.end;
    }
    out.append(*text, prev, std::string::npos);
    *text = std::move(out);
    return Status::Ok();
  }
  bool KeepsStart() const override { return pattern_.empty() || !content_.empty(); }

 private:
  std::string pattern_;
  std::string content_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  Status Normalize(std::string* text) const override {
    for (const auto& step : steps_) TRAINER_RETURN_IF_ERROR(step->Normalize(text));
    return Status::Ok();
  }
  bool KeepsStart() const override {
    for (const auto& step : steps_) {
      if (!step->KeepsStart()) return false;
    }
    return true;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

Result<std::unique_ptr<Normalizer>> ParseNormalizer(const Json& json) {
  if (!json.is_object()) return LoadError("normalizer", "must be an object or null");
  TRAINER_ASSIGN_OR_RETURN(std::string type, RequiredString(json, "type", "normalizer"));
  const std::string where = "normalizer " + type;
  if (type == "NFC") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(NormalForm::kNfc));
  if (type == "NFD") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(NormalForm::kNfd));
  if (type == "NFKC") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(NormalForm::kNfkc));
  if (type == "NFKD") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(NormalForm::kNfkd));
  if (type == "Prepend") {
    TRAINER_ASSIGN_OR_RETURN(std::string prepend, RequiredString(json, "prepend", where));
    return std::unique_ptr<Normalizer>(new PrependNormalizer(std::move(prepend)));
  }
  if (type == "Replace") {
    TRAINER_ASSIGN_OR_RETURN(const Json* pattern, RequiredObject(json, "pattern", where));
    if (OptionalField(*pattern, "Regex") != nullptr)
      return Unsupported("normalizer Replace with a Regex pattern");
    TRAINER_ASSIGN_OR_RETURN(std::string literal,
                             RequiredString(*pattern, "String", where + " pattern"));
    TRAINER_ASSIGN_OR_RETURN(std::string content, RequiredString(json, "content", where));
    return std::unique_ptr<Normalizer>(
        new ReplaceNormalizer(std::move(literal), std::move(content)));
  }
  if (type == "Sequence") {
    TRAINER_ASSIGN_OR_RETURN(const Json* list, RequiredArray(json, "normalizers", where));
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const Json& item : *list) {
      TRAINER_ASSIGN_OR_RETURN(auto step, ParseNormalizer(item));
      steps.push_back(std::move(step));
    }
    return std::unique_ptr<Normalizer>(new SequenceNormalizer(std::move(steps)));
  }
  return Unsupported("normalizer type " + type);
}

}  // namespace triad::trainer::internal
