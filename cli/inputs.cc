#include "cli/inputs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/file.h"
#include "base/status.h"
#include "trainer/dataset.h"
#include "trainer/model_config.h"
#include "trainer/safetensors.h"
#include "trainer/tokenizer.h"

namespace triad::cli {
namespace {

// A whole regular file mapped read-only (plaintext: kept out of core dumps).
class MappedFile {
 public:
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path) {
    base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return base::ErrnoStatus(errno, absl::StrCat("opening ", path));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return base::ErrnoStatus(errno, absl::StrCat("stat ", path));
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
    }
    auto m = std::unique_ptr<MappedFile>(new MappedFile());
    m->size_ = static_cast<size_t>(st.st_size);
    if (m->size_ == 0) return m;
    void* p = ::mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p == MAP_FAILED) return base::ErrnoStatus(errno, absl::StrCat("mapping ", path));
    ::madvise(p, m->size_, MADV_DONTDUMP);
    m->data_ = static_cast<const char*>(p);
    return m;
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view view() const { return std::string_view(data_ == nullptr ? "" : data_, size_); }

 private:
  MappedFile() = default;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

absl::Status FromTrainer(const trainer::Status& st, const std::string& context) {
  if (st.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(context, ": ", st.message()));
}

const char* ChatFormatName(trainer::ChatFormat f) {
  switch (f) {
    case trainer::ChatFormat::kChatml:
      return "chatml";
    case trainer::ChatFormat::kLlama3:
      return "llama3";
    case trainer::ChatFormat::kNone:
      break;
  }
  return "none";
}

// A model directory mapped, parsed and checked: what CheckModelDir reports, and what a dataset
// check with --model tokenizes with.
struct LoadedModel {
  ModelCheck check;
  trainer::ModelConfig config;
  std::unique_ptr<trainer::Tokenizer> tokenizer;
  trainer::DatasetOptions options;
};

absl::StatusOr<LoadedModel> LoadModel(const std::string& dir) {
  LoadedModel out;
  out.check.dir = dir;
  TRIAD_ASSIGN_OR_RETURN(out.check.files, ModelFileNames(dir));
  std::map<std::string, std::unique_ptr<MappedFile>> files;
  for (const std::string& name : out.check.files) {
    TRIAD_ASSIGN_OR_RETURN(files[name], MappedFile::Open(absl::StrCat(dir, "/", name)));
  }
  // In the trainer's order (trainer/internal/engine.cc): config, tokenizer, checkpoint.
  trainer::Result<trainer::ModelConfig> config =
      trainer::ParseModelConfig(files["config.json"]->view());
  TRIAD_RETURN_IF_ERROR(FromTrainer(config.status(), dir));
  out.config = *config;
  trainer::Result<std::unique_ptr<trainer::Tokenizer>> tokenizer =
      trainer::Tokenizer::FromJson(files["tokenizer.json"]->view());
  TRIAD_RETURN_IF_ERROR(FromTrainer(tokenizer.status(), absl::StrCat(dir, ": tokenizer.json")));
  out.tokenizer = std::move(tokenizer).value();
  trainer::Result<trainer::DatasetOptions> options =
      trainer::CheckTokenizer(out.config, *out.tokenizer);
  TRIAD_RETURN_IF_ERROR(FromTrainer(options.status(), absl::StrCat(dir, ": tokenizer.json")));
  out.options = *options;

  std::vector<trainer::NamedBuffer> shards;
  std::string_view index;
  for (const auto& [name, file] : files) {
    if (name == "model.safetensors.index.json") {
      index = file->view();
    } else if (absl::EndsWith(name, ".safetensors")) {
      shards.push_back({name, file->view()});
    }
  }
  trainer::Result<std::map<std::string, trainer::TensorView>> tensors =
      trainer::LoadCheckpoint(shards, index);
  TRIAD_RETURN_IF_ERROR(FromTrainer(
      tensors.status(), shards.size() == 1 ? absl::StrCat(dir, ": ", shards[0].name) : dir));
  TRIAD_RETURN_IF_ERROR(FromTrainer(trainer::CheckCheckpoint(out.config, *tensors), dir));

  ModelCheck& c = out.check;
  c.model_type = out.config.model_type;
  c.layers = out.config.num_layers;
  c.hidden_size = out.config.hidden_size;
  c.vocab_size = out.config.vocab_size;
  c.dtype = out.config.dtype;
  for (const auto& [name, t] : *tensors) c.parameters += t.numel();
  c.tokenizer_ids = out.tokenizer->VocabSize();
  c.chat_format = ChatFormatName(out.options.chat_format);
  return out;
}

std::string Count(int64_t n) {
  if (n >= 1'000'000'000) return absl::StrFormat("%.1fB", n / 1e9);
  if (n >= 1'000'000) return absl::StrFormat("%.1fM", n / 1e6);
  if (n >= 10'000) return absl::StrFormat("%.1fk", n / 1e3);
  return absl::StrCat(n);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ModelFileNames(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return base::ErrnoStatus(errno, absl::StrCat("opening ", dir));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "config.json" || n == "tokenizer.json" || n == "model.safetensors.index.json" ||
        (absl::EndsWith(n, ".safetensors") && n != ".safetensors")) {
      names.push_back(n);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  auto has = [&](const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  for (const char* required : {"config.json", "tokenizer.json"}) {
    if (!has(required)) return absl::InvalidArgumentError(absl::StrCat(dir, " has no ", required));
  }
  if (std::none_of(names.begin(), names.end(),
                   [](const std::string& n) { return absl::EndsWith(n, ".safetensors"); })) {
    return absl::InvalidArgumentError(absl::StrCat(dir, " has no *.safetensors file"));
  }
  return names;
}

absl::StatusOr<DatasetCheck> CheckDatasetFile(const std::string& path) {
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::Open(path));
  trainer::Result<trainer::JsonlSummary> summary = trainer::CheckJsonl(file->view());
  TRIAD_RETURN_IF_ERROR(FromTrainer(summary.status(), path));
  DatasetCheck c;
  c.path = path;
  c.bytes = file->view().size();
  c.examples = summary->examples;
  c.prompt_completion = summary->by_kind[static_cast<int>(trainer::LineKind::kPromptCompletion)];
  c.text = summary->by_kind[static_cast<int>(trainer::LineKind::kText)];
  c.messages = summary->by_kind[static_cast<int>(trainer::LineKind::kMessages)];
  return c;
}

absl::StatusOr<ModelCheck> CheckModelDir(const std::string& dir) {
  TRIAD_ASSIGN_OR_RETURN(LoadedModel m, LoadModel(dir));
  return std::move(m.check);
}

absl::StatusOr<DatasetCheck> CheckDatasetForModel(const std::string& path,
                                                  const std::string& model_dir) {
  TRIAD_ASSIGN_OR_RETURN(DatasetCheck c, CheckDatasetFile(path));
  TRIAD_ASSIGN_OR_RETURN(LoadedModel m, LoadModel(model_dir));
  TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::Open(path));
  trainer::Result<std::vector<trainer::Example>> examples =
      trainer::TokenizeJsonl(file->view(), *m.tokenizer, m.options);
  TRIAD_RETURN_IF_ERROR(FromTrainer(examples.status(),
                                    absl::StrCat(path, " with the tokenizer of ", model_dir)));
  c.tokenized = true;
  for (const trainer::Example& e : *examples) {
    c.tokens += static_cast<int64_t>(e.ids.size());
    c.longest = std::max<int64_t>(c.longest, static_cast<int64_t>(e.ids.size()));
  }
  trainer::WipeExamples(*examples);
  return c;
}

std::string DatasetCheck::Summary() const {
  std::vector<std::string> kinds;
  if (prompt_completion > 0) kinds.push_back(absl::StrCat(prompt_completion, " prompt/completion"));
  if (text > 0) kinds.push_back(absl::StrCat(text, " text"));
  if (messages > 0) kinds.push_back(absl::StrCat(messages, " messages"));
  std::string s = absl::StrCat(path, ": ", examples, " example", examples == 1 ? "" : "s", " (",
                               absl::StrJoin(kinds, ", "), "), every line in a shape the trainer "
                                                           "accepts");
  if (tokenized) {
    absl::StrAppend(&s, "; ", Count(tokens), " tokens, the longest example ", longest);
  } else if (messages > 0) {
    absl::StrAppend(&s, "; {\"messages\"} lines need a model whose tokenizer has a chat format "
                        "(Qwen2/Qwen3 ChatML or Llama 3)");
  }
  return s;
}

nlohmann::ordered_json DatasetCheck::ToJson() const {
  nlohmann::ordered_json j;
  j["file"] = path;
  j["ok"] = true;
  j["bytes"] = bytes;
  j["examples"] = examples;
  j["prompt_completion"] = prompt_completion;
  j["text"] = text;
  j["messages"] = messages;
  if (tokenized) {
    j["tokens"] = tokens;
    j["longest_example_tokens"] = longest;
  }
  return j;
}

std::string ModelCheck::Summary() const {
  size_t shards = std::count_if(files.begin(), files.end(), [](const std::string& n) {
    return absl::EndsWith(n, ".safetensors");
  });
  return absl::StrCat(dir, ": ", model_type, ", ", layers, " layers, hidden size ", hidden_size,
                      ", vocabulary ", vocab_size, ", ", Count(parameters), " parameters (", dtype,
                      ") in ", shards, " safetensors file", shards == 1 ? "" : "s",
                      "; tokenizer.json has ", tokenizer_ids, " ids, chat format ", chat_format,
                      "; the trainer accepts it");
}

nlohmann::ordered_json ModelCheck::ToJson() const {
  nlohmann::ordered_json j;
  j["dir"] = dir;
  j["ok"] = true;
  j["files"] = files;
  j["model_type"] = model_type;
  j["layers"] = layers;
  j["hidden_size"] = hidden_size;
  j["vocab_size"] = vocab_size;
  j["dtype"] = dtype;
  j["parameters"] = parameters;
  j["tokenizer_ids"] = tokenizer_ids;
  j["chat_format"] = chat_format;
  return j;
}

}  // namespace triad::cli
