// Hugging Face tokenizer.json tokenizers: byte-level BPE (GPT-2, Qwen2/3, Llama-3 styles) and BPE with
// byte fallback (Llama-2 / Mistral style). Built from the bytes of tokenizer.json (never a path).
//
// The interface the rest of trainer/ uses; the implementation may add methods.
#ifndef TRIAD_TRAINER_TOKENIZER_H_
#define TRIAD_TRAINER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trainer/status.h"

namespace triad::trainer {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;  // the vocabulary strings of `ids`
};

// Immutable once built: every method may be called from several threads at once.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Parses tokenizer.json. Fails naming the unsupported part ("pre_tokenizer type Metaspace with
  // prepend_scheme first is not supported") rather than approximating it.
  static Result<std::unique_ptr<Tokenizer>> FromJson(std::string_view tokenizer_json);

  // Encodes UTF-8 text as the reference does: added tokens split out first, normalizer, pre-tokenizer,
  // model; with `add_special_tokens` the post-processor's tokens too (e.g. Llama-3's BOS).
  // Fails on invalid UTF-8.
  virtual Result<Encoding> Encode(std::string_view text, bool add_special_tokens) const = 0;
  // Decodes ids to text; with `skip_special_tokens` special added tokens are left out.
  virtual Result<std::string> Decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const = 0;

  // The id of a vocabulary or added token, if it exists.
  virtual std::optional<int32_t> TokenToId(std::string_view token) const = 0;
  // The added token or vocabulary string of `id`, if it exists (as Decode sees it, before the decoder).
  virtual std::optional<std::string> IdToToken(int32_t id) const = 0;
  // Number of ids (vocabulary plus added tokens, i.e. max id + 1).
  virtual int32_t VocabSize() const = 0;
};

}  // namespace triad::trainer

#endif  // TRIAD_TRAINER_TOKENIZER_H_
