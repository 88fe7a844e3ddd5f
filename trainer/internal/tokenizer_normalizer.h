// tokenizer.json "normalizer": NFC/NFD/NFKC/NFKD, Prepend, Replace (string patterns), Sequence.
#ifndef TRIAD_TRAINER_INTERNAL_TOKENIZER_NORMALIZER_H_
#define TRIAD_TRAINER_INTERNAL_TOKENIZER_NORMALIZER_H_

#include <memory>
#include <string>

#include "trainer/internal/tokenizer_json.h"
#include "trainer/status.h"

namespace triad::trainer::internal {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites `text` (well-formed UTF-8; stays so).
  virtual Status Normalize(std::string* text) const = 0;
  // Whether the output's first character always maps back to the input's first character, i.e. the
  // normalizer never deletes a leading character (only Replace with empty content can). Metaspace's
  // prepend_scheme "first" relies on it.
  virtual bool KeepsStart() const = 0;
};

// Parses the "normalizer" value (not null). Unsupported types fail naming them.
Result<std::unique_ptr<Normalizer>> ParseNormalizer(const Json& json);

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_TOKENIZER_NORMALIZER_H_
