// An owner's plaintext checked before it is encrypted, with the trainer's own checks (trainer/:
// the same functions the worker runs on the decrypted inputs), so that a file the worker would
// refuse is refused where the plaintext is, before anyone signs a contract that pins its
// ciphertext. `dataset check`/`model check` run them alone (for a file encrypted with stock age);
// `dataset push`/`model push` run them before they encrypt anything.
//
// The files are mapped read-only; nothing is copied but what the parsers hold for a moment, and
// no error quotes their content (dataset errors name the line by number only).
#ifndef TRIAD_CLI_INPUTS_H_
#define TRIAD_CLI_INPUTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace triad::cli {

struct DatasetCheck {
  std::string path;
  uint64_t bytes = 0;
  int64_t examples = 0;
  int64_t prompt_completion = 0;
  int64_t text = 0;
  int64_t messages = 0;
  // With a model: what its tokenizer makes of the data.
  bool tokenized = false;
  int64_t tokens = 0;
  int64_t longest = 0;  // tokens of the longest example

  std::string Summary() const;  // one line
  nlohmann::ordered_json ToJson() const;
};

struct ModelCheck {
  std::string dir;
  std::vector<std::string> files;  // the files that make the model, as push packs them
  std::string model_type;
  int64_t layers = 0;
  int64_t hidden_size = 0;
  int64_t vocab_size = 0;
  std::string dtype;
  int64_t parameters = 0;
  int32_t tokenizer_ids = 0;
  std::string chat_format;  // "chatml", "llama3" or "none"

  std::string Summary() const;  // one line
  nlohmann::ordered_json ToJson() const;
};

// The files of a model directory that make the model: config.json, tokenizer.json, the
// safetensors shards and their index (others are left out, as the worker ignores them); fails
// naming a missing one.
absl::StatusOr<std::vector<std::string>> ModelFileNames(const std::string& dir);

// Every line in a shape the trainer accepts (trainer::CheckJsonl). Fails with kInvalidArgument:
// "FILE: dataset line 17: not a JSON object".
absl::StatusOr<DatasetCheck> CheckDatasetFile(const std::string& path);

// The bundle the worker would load: config.json parses and names a supported architecture, every
// safetensors header is well formed and covers its file exactly, the tensors are those the config
// implies with their shapes and dtype, tokenizer.json parses and fits the vocabulary
// (trainer::ParseModelConfig, LoadCheckpoint, CheckCheckpoint, Tokenizer::FromJson,
// CheckTokenizer). Fails with kInvalidArgument: "DIR: config.json: model_type \"gpt2\" is not
// supported ...".
absl::StatusOr<ModelCheck> CheckModelDir(const std::string& dir);

// The dataset tokenized as the trainer would with that model's tokenizer and chat format.
absl::StatusOr<DatasetCheck> CheckDatasetForModel(const std::string& path,
                                                  const std::string& model_dir);

}  // namespace triad::cli

#endif  // TRIAD_CLI_INPUTS_H_
