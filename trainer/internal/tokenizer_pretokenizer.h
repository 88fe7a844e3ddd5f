// tokenizer.json "pre_tokenizer": Split (string or regex pattern, every behavior, invert),
// ByteLevel, Metaspace, Digits, Sequence. Cuts normalized text into the pieces the model sees one
// at a time.
#ifndef TRIAD_TRAINER_INTERNAL_TOKENIZER_PRETOKENIZER_H_
#define TRIAD_TRAINER_INTERNAL_TOKENIZER_PRETOKENIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "trainer/internal/tokenizer_json.h"
#include "trainer/status.h"

namespace triad::trainer::internal {

struct PreToken {
  std::string text;
  // Whether the piece begins at offset 0 of the text given to Encode (Metaspace "first" uses it).
  bool at_input_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` (non-empty, well-formed UTF-8) by their pre-tokens; empty ones are dropped.
  virtual Status PreTokenize(std::vector<PreToken>* pieces) const = 0;
  // Whether the result depends on PreToken::at_input_start (a Metaspace with prepend_scheme first).
  virtual bool UsesInputStart() const { return false; }
};

enum class PrependScheme { kAlways, kFirst, kNever };
// The Metaspace prepend scheme, in the current ("prepend_scheme") or the older ("add_prefix_space")
// form; shared with the Metaspace decoder.
Result<PrependScheme> ParseMetaspaceScheme(const Json& json, const std::string& where);

// Parses the "pre_tokenizer" value (not null). Unsupported types and options fail naming them.
Result<std::unique_ptr<PreTokenizer>> ParsePreTokenizer(const Json& json);

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_TOKENIZER_PRETOKENIZER_H_
