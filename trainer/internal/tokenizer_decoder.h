// tokenizer.json "decoder": ByteLevel, Metaspace, Replace (string patterns), ByteFallback, Fuse,
// Strip, Sequence. Each rewrites the list of token strings; Decode joins the final list.
#ifndef TRIAD_TRAINER_INTERNAL_TOKENIZER_DECODER_H_
#define TRIAD_TRAINER_INTERNAL_TOKENIZER_DECODER_H_

#include <memory>
#include <string>
#include <vector>

#include "trainer/internal/tokenizer_json.h"
#include "trainer/status.h"

namespace triad::trainer::internal {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // The reference's decode_chain: token strings in, strings out (all well-formed UTF-8).
  virtual void DecodeChain(std::vector<std::string>* tokens) const = 0;
};

// Parses the "decoder" value (not null). Unsupported types fail naming them.
Result<std::unique_ptr<Decoder>> ParseDecoder(const Json& json);

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_TOKENIZER_DECODER_H_
