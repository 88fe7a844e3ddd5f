// tokenizer.json "post_processor", as far as it matters for encoding one sequence: the special
// tokens that TemplateProcessing, RobertaProcessing and BertProcessing add with add_special_tokens
// (ByteLevel only adjusts offsets, which Encode does not report). Sequence chains them.
#ifndef TRIAD_TRAINER_INTERNAL_TOKENIZER_POSTPROCESSOR_H_
#define TRIAD_TRAINER_INTERNAL_TOKENIZER_POSTPROCESSOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "trainer/internal/tokenizer_json.h"
#include "trainer/status.h"

namespace triad::trainer::internal {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Adds the special tokens around one encoded sequence.
  virtual void Process(std::vector<int32_t>* ids, std::vector<std::string>* tokens) const = 0;
};

// Parses the "post_processor" value (not null). Unsupported types fail naming them.
Result<std::unique_ptr<PostProcessor>> ParsePostProcessor(const Json& json);

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_TOKENIZER_POSTPROCESSOR_H_
