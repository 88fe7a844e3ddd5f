// Datasets: JSONL examples tokenized into (ids, labels), a seeded split and shuffle, and
// micro-batches with packing or right padding. Torch-free. Labels follow the transformers
// convention: aligned with the ids (the model shifts them), -100 where no loss is taken.
#ifndef TRIAD_TRAINER_DATASET_H_
#define TRIAD_TRAINER_DATASET_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "trainer/model_config.h"
#include "trainer/status.h"
#include "trainer/tokenizer.h"

namespace triad::trainer {

inline constexpr int32_t kIgnoreIndex = -100;

enum class ChatFormat {
  kNone,    // {"messages"} lines are refused
  kChatml,  // Qwen: <|im_start|>role\ncontent<|im_end|>\n
  kLlama3,  // <|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
};

struct DatasetOptions {
  ChatFormat chat_format = ChatFormat::kNone;
  std::optional<int32_t> eos_id;  // appended after a completion / text (with loss)
};

// The family's chat format (ChatML for Qwen2/3, the Llama-3 header format for llama models whose
// tokenizer has <|start_header_id|>) and EOS, checked against the tokenizer.
Result<DatasetOptions> DatasetOptionsFor(const ModelConfig& config, const Tokenizer& tokenizer);

struct Example {
  std::vector<int32_t> ids;
  std::vector<int32_t> labels;
};

// The tokenizer fits the model (no id at or beyond config.vocab_size), then DatasetOptionsFor. What
// the trainer checks of a model bundle's tokenizer before it reads the dataset; torch-free, so
// `triad model check` and `triad model push` run it too.
Result<DatasetOptions> CheckTokenizer(const ModelConfig& config, const Tokenizer& tokenizer);

// Parses and tokenizes every line. Lines: {"prompt": str, "completion": str} (loss on completion +
// EOS),
// {"text": str} (loss on all of it + EOS), or {"messages": [{"role": "system"|"user"|"assistant",
// "content": str}, ...]} (loss on each assistant content and its end-of-turn token). Empty lines
// are skipped. A bad line is an error "dataset line N: <why>" that never quotes the line's content.
Result<std::vector<Example>> TokenizeJsonl(std::string_view jsonl, const Tokenizer& tokenizer,
                                           const DatasetOptions& options);

// The accepted shapes of a line.
enum class LineKind { kPromptCompletion = 0, kText = 1, kMessages = 2 };

struct JsonlSummary {
  int64_t examples = 0;
  int64_t by_kind[3] = {0, 0, 0};  // indexed by LineKind
};

// Checks every line as TokenizeJsonl does, without a tokenizer: the same parser and the same shape
// checks, with the same errors ("dataset line N: <why>", never quoting the line). What it cannot
// know without the model: whether the model family has a chat format for {"messages"} lines (the
// count of such lines tells the caller to say so), and the tokenizer's view of the text. Used by
// `triad dataset check` and `triad dataset push` where the data owner holds the plaintext.
Result<JsonlSummary> CheckJsonl(std::string_view jsonl);

// Splits off round(eval_fraction * n) examples (at least 1 when eval_fraction > 0) for evaluation,
// chosen by a seeded permutation; the training split must keep at least one example.
Status SplitExamples(std::vector<Example> all, double eval_fraction, uint64_t seed,
                     std::vector<Example>& train, std::vector<Example>& eval);

// A deterministic Fisher-Yates permutation of 0..n-1 (SplitMix64-driven; the same on every
// platform).
std::vector<size_t> SeededPermutation(size_t n, uint64_t seed);

struct Batch {
  int64_t rows = 0;
  int64_t columns = 0;  // sequence length of this batch (longest row, <= sequence_length)
  std::vector<int64_t> input_ids;       // rows x columns
  std::vector<int64_t> labels;          // rows x columns, kIgnoreIndex on padding and prompts
  std::vector<int64_t> attention_mask;  // rows x columns, 0 on padding
  int64_t tokens = 0;                   // non-padding tokens
  int64_t loss_tokens = 0;              // positions whose shifted label carries loss
};

// One epoch's micro-batches, examples taken in `order`. Without packing: each example truncated to
// sequence_length, right-padded with pad_id to the longest row of its batch. With packing: the
// examples are concatenated and cut into rows of exactly sequence_length (the last row padded).
std::vector<Batch> MakeBatches(const std::vector<Example>& examples,
                               const std::vector<size_t>& order, int64_t batch_size,
                               int64_t sequence_length, bool packing, int32_t pad_id);

// Zeroes and frees token buffers.
void WipeExamples(std::vector<Example>& examples);
void WipeBatches(std::vector<Batch>& batches);

}  // namespace triad::trainer

#endif  // TRIAD_TRAINER_DATASET_H_
