// triad train: LoRA fine-tuning on the owner's own plaintext, to try settings before a contract.
// triad model init: a small random model in the Hugging Face layout, for tests and the quickstart.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/file.h"
#include "base/status.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "nlohmann/json.hpp"
#include "trainer/trainer.h"

namespace triad::cli {
namespace {

constexpr size_t kMaxModelFile = size_t{1} << 40;  // 1 TiB: bounds a shard, not a sanity limit
constexpr size_t kMaxSmallFile = 64 << 20;

absl::Status FromTrainer(const trainer::Status& s) {
  if (s.ok()) return absl::OkStatus();
  switch (s.code()) {
    case trainer::Code::kInvalidArgument:
      return absl::InvalidArgumentError(s.message());
    case trainer::Code::kFailedPrecondition:
      return absl::FailedPreconditionError(s.message());
    case trainer::Code::kCancelled:
      return absl::CancelledError(s.message());
    case trainer::Code::kUnimplemented:
      return absl::UnimplementedError(s.message());
    default:
      return absl::InternalError(s.message());
  }
}

absl::Status MakeDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return base::ErrnoStatus(errno, absl::StrCat("creating ", dir));
  return absl::OkStatus();
}

// The model bundle of a directory: config.json, tokenizer.json, model.safetensors or the shards
// that model.safetensors.index.json names.
struct ModelDir {
  std::string config, tokenizer, index;
  std::vector<std::pair<std::string, std::string>> shards;
  trainer::ModelFiles View() const {
    trainer::ModelFiles f;
    f.config_json = config;
    f.tokenizer_json = tokenizer;
    f.safetensors_index_json = index;
    for (const auto& [name, data] : shards) f.safetensors.push_back({name, data});
    return f;
  }
};

absl::StatusOr<ModelDir> ReadModelDir(const std::string& dir) {
  ModelDir m;
  TRIAD_ASSIGN_OR_RETURN(m.config, base::ReadFile(dir + "/config.json", kMaxSmallFile));
  TRIAD_ASSIGN_OR_RETURN(m.tokenizer, base::ReadFile(dir + "/tokenizer.json", kMaxSmallFile));
  auto index = base::ReadFile(dir + "/model.safetensors.index.json", kMaxSmallFile);
  if (index.ok()) {
    m.index = *index;
    nlohmann::json j = nlohmann::json::parse(m.index, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir, "/model.safetensors.index.json: no weight_map object"));
    }
    std::set<std::string> names;
    for (const auto& v : j["weight_map"]) {
      if (!v.is_string())
        return absl::InvalidArgumentError(
            "model.safetensors.index.json: weight_map values must be file names");
      std::string n = v.get<std::string>();
      if (n.empty() || n.find('/') != std::string::npos || n[0] == '.') {
        return absl::InvalidArgumentError(absl::StrCat(
            "model.safetensors.index.json: shard name \"", n, "\" is not a plain file name"));
      }
      names.insert(n);
    }
    for (const std::string& n : names) {
      TRIAD_ASSIGN_OR_RETURN(std::string data, base::ReadFile(dir + "/" + n, kMaxModelFile));
      m.shards.emplace_back(n, std::move(data));
    }
  } else if (absl::IsNotFound(index.status())) {
    TRIAD_ASSIGN_OR_RETURN(std::string data,
                           base::ReadFile(dir + "/model.safetensors", kMaxModelFile));
    m.shards.emplace_back("model.safetensors", std::move(data));
  } else {
    return index.status();
  }
  return m;
}

struct TrainFlags {
  std::string model, data, out, training, device, gpus, precision = "auto", targets;
  std::string old_config;  // --config: refused, it is --training here (see AddTrainCommands)
  DeviceChoice resolved;   // --device and --gpus together (cli/flags.h)
  int64_t rank = 8, steps = 0, epochs = 1, batch = 4, seq_len = 512, seed = 0;
  double alpha = 16, lr = 2e-4, eval_fraction = 0;
  int threads = 0;
  bool json = false, merge = false, checkpointing = false;
  std::vector<std::string> tuning_flags_given;
};

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  void Update(const trainer::Progress& p) {
    if (!enabled_) return;
    if (p.eval_loss) eval_ = *p.eval_loss;
    const int width = 30;
    int filled = p.total_steps > 0 ? static_cast<int>(width * p.step / p.total_steps) : 0;
    std::string bar(filled, '#');
    bar.append(width - filled, '.');
    std::fprintf(stderr, "\r[%s] step %lld/%lld  loss %.4f", bar.c_str(),
                 static_cast<long long>(p.step), static_cast<long long>(p.total_steps), p.loss);
    if (!std::isnan(eval_)) std::fprintf(stderr, "  eval %.4f", eval_);
    std::fprintf(stderr, "  %.0f tok/s ", p.tokens_per_second);
    std::fflush(stderr);
  }
  void Done() {
    if (enabled_) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
  double eval_ = std::nan("");
};

absl::Status Train(const TrainFlags& f) {
  trainer::TrainingConfig config;
  if (!f.training.empty()) {
    TRIAD_ASSIGN_OR_RETURN(std::string text, base::ReadFile(f.training, kMaxSmallFile));
    auto c = trainer::ParseTrainingConfig(text);
    if (!c.ok()) return FromTrainer(c.status().Annotate(f.training));
    config = *c;
  } else {
    config.rank = f.rank;
    config.alpha = f.alpha;
    config.target_modules = absl::StrSplit(f.targets, ',', absl::SkipEmpty());
    config.learning_rate = f.lr;
    config.max_steps = f.steps;
    config.epochs = f.epochs;
    config.batch_size = f.batch;
    config.sequence_length = f.seq_len;
    config.seed = f.seed;
    config.eval_fraction = f.eval_fraction;
    TRIAD_RETURN_IF_ERROR(FromTrainer(trainer::ValidateTrainingConfig(config)));
  }
  TRIAD_ASSIGN_OR_RETURN(ModelDir model, ReadModelDir(f.model));
  TRIAD_ASSIGN_OR_RETURN(std::string data, base::ReadFile(f.data, kMaxModelFile));

  trainer::TrainOptions options;
  options.device = f.resolved.cuda ? "cuda" : "cpu";
  if (!f.resolved.gpus.empty()) {
    // Indices as nvidia-smi numbers them, the worker's NVML numbering (cli/worker.cc): CUDA is
    // handed exactly those, in PCI bus order, before it initializes, and trains on cuda:0..N-1.
    ::setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID", 1);
    ::setenv("CUDA_VISIBLE_DEVICES", absl::StrJoin(f.resolved.gpus, ",").c_str(), 1);
    options.num_gpus = static_cast<int>(f.resolved.gpus.size());
  }
  options.threads = f.threads;
  options.precision = f.precision;
  options.merge = f.merge;
  options.activation_checkpointing = f.checkpointing;
  ProgressBar bar(!f.json && ::isatty(STDERR_FILENO));
  options.on_progress = [&bar](const trainer::Progress& p) { bar.Update(p); };
  auto result = trainer::Train(model.View(), data, config, options);
  bar.Done();
  trainer::Wipe(data);
  for (auto& [name, shard] : model.shards) trainer::Wipe(shard);
  if (!result.ok()) return FromTrainer(result.status());

  TRIAD_RETURN_IF_ERROR(MakeDir(f.out));
  for (const trainer::OutputFile& file : result->adapter) {
    TRIAD_RETURN_IF_ERROR(base::WriteFileAtomic(f.out + "/" + file.name, file.data, 0600));
  }
  if (!result->merged.empty()) {
    TRIAD_RETURN_IF_ERROR(MakeDir(f.out + "/merged"));
    for (const trainer::OutputFile& file : result->merged) {
      TRIAD_RETURN_IF_ERROR(base::WriteFileAtomic(f.out + "/merged/" + file.name, file.data, 0600));
    }
    TRIAD_RETURN_IF_ERROR(
        base::WriteFileAtomic(f.out + "/merged/tokenizer.json", model.tokenizer, 0600));
  }
  const std::string report = result->report.ToJson();
  TRIAD_RETURN_IF_ERROR(
      base::WriteFileAtomic(f.out + "/training_report.json", report + "\n", 0644));
  const trainer::TrainReport& r = result->report;
  if (f.json) {
    std::cout << report << "\n";
  } else {
    std::cout << "trained " << r.steps << " steps on " << r.train_examples << " examples ("
              << r.tokens << " tokens, " << static_cast<int64_t>(r.tokens_per_second)
              << " tokens/s)\n";
    if (!r.losses.empty()) std::cout << "final loss:  " << r.losses.back() << "\n";
    if (!r.eval_losses.empty()) {
      std::cout << "eval loss:   " << r.eval_losses.front().loss << " -> "
                << r.eval_losses.back().loss << "\n";
    }
    std::cout << "wrote " << f.out
              << "/adapter_config.json, adapter_model.safetensors, training_report.json"
              << (result->merged.empty() ? "" : ", merged/") << "\n";
  }
  trainer::Wipe(*result);
  return absl::OkStatus();
}

struct InitFlags {
  std::string config, tokenizer, out;
  uint64_t seed = 0;
};

absl::Status ModelInit(const InitFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(std::string config, base::ReadFile(f.config, kMaxSmallFile));
  TRIAD_ASSIGN_OR_RETURN(std::string tokenizer, base::ReadFile(f.tokenizer, kMaxSmallFile));
  auto files = trainer::MakeRandomModel(config, f.seed);
  if (!files.ok()) return FromTrainer(files.status().Annotate(f.config));
  TRIAD_RETURN_IF_ERROR(MakeDir(f.out));
  for (const trainer::OutputFile& file : *files) {
    TRIAD_RETURN_IF_ERROR(base::WriteFileAtomic(f.out + "/" + file.name, file.data, 0644));
  }
  TRIAD_RETURN_IF_ERROR(base::WriteFileAtomic(f.out + "/tokenizer.json", tokenizer, 0644));
  std::cout << "wrote " << f.out << "/config.json, model.safetensors, tokenizer.json\n";
  return absl::OkStatus();
}

}  // namespace

void AddTrainCommands(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<TrainFlags>();
  f->targets = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj";
  CLI::App* cmd =
      app.add_subcommand("train", "Fine-tune a LoRA adapter on your own plaintext model and data");
  cmd->add_option(
         "--model", f->model,
         "Model directory: config.json, tokenizer.json, model.safetensors (or shards + index)")
      ->required();
  cmd->add_option("--data", f->data, "Dataset, JSONL: {prompt,completion}, {text} or {messages}")
      ->required();
  cmd->add_option(
         "--out", f->out,
         "Directory for adapter_config.json, adapter_model.safetensors, training_report.json")
      ->required();
  cmd->add_option("--training", f->training,
                  "The training section as JSON, as contract draft --training takes it (instead "
                  "of the flags below)");
  // --config was this flag's name; it names a model's config.json (model init) and nothing else.
  cmd->add_option("--config", f->old_config)->group("");
  auto tuning = [&](CLI::Option* o) {
    o->each(
        [f, name = o->get_name()](const std::string&) { f->tuning_flags_given.push_back(name); });
    return o;
  };
  tuning(cmd->add_option("--rank", f->rank, "LoRA rank")->capture_default_str());
  tuning(cmd->add_option("--alpha", f->alpha, "LoRA alpha")->capture_default_str());
  tuning(cmd->add_option("--targets", f->targets, "Comma-separated projections")
             ->capture_default_str());
  tuning(cmd->add_option("--lr", f->lr, "Peak learning rate (AdamW, linear schedule)")
             ->capture_default_str());
  tuning(cmd->add_option("--steps", f->steps, "Optimizer steps (0: by --epochs)")
             ->capture_default_str());
  tuning(cmd->add_option("--epochs", f->epochs, "Passes over the data")->capture_default_str());
  tuning(cmd->add_option("--batch", f->batch, "Sequences per step")->capture_default_str());
  tuning(cmd->add_option("--seq-len", f->seq_len, "Tokens per sequence")->capture_default_str());
  tuning(cmd->add_option("--seed", f->seed, "Seed for shuffling, dropout and LoRA init")
             ->capture_default_str());
  tuning(
      cmd->add_option("--eval-fraction", f->eval_fraction, "Held-out fraction for evaluation loss")
          ->capture_default_str());
  cmd->add_option("--device", f->device,
                  "cpu, cuda or cuda:N (default cpu; cuda with --gpus; cuda:N is --device cuda "
                  "--gpus N; cuda alone is the first GPU)")
      ->check(DeviceValue());
  cmd->add_option("--gpus", f->gpus,
                  "The GPUs to train on, data parallel (NCCL), by index as nvidia-smi numbers "
                  "them, as worker run takes them (e.g. 0,1; implies --device cuda)")
      ->check(GpuListValue());
  cmd->add_option("--precision", f->precision, "fp32, bf16 or auto (bf16 on CUDA)")
      ->capture_default_str();
  cmd->add_option("--threads", f->threads, "CPU threads (0: LibTorch's default)")
      ->capture_default_str();
  cmd->add_flag("--checkpointing", f->checkpointing,
                "Recompute activations in backward (saves memory)");
  cmd->add_flag("--merge", f->merge, "Also write the merged model to OUT/merged/");
  cmd->add_flag("--json", f->json, "Print the training report as JSON");
  AfterParse(cmd, [f] {
    if (!f->old_config.empty()) {
      throw CLI::ValidationError(
          "--config",
          "train takes the training section as --training FILE (as contract draft "
          "does); --config is a model's config.json, in model init");
    }
    if (!f->training.empty() && !f->tuning_flags_given.empty()) {
      throw CLI::ValidationError(
          absl::StrCat("--training and ", f->tuning_flags_given[0], " cannot be combined"));
    }
    // --gpus N was a count here once; a lone index N > 0 would now quietly pick another GPU.
    int lone = 0;
    if (absl::SimpleAtoi(f->gpus, &lone) && lone > 0) {
      std::vector<int> first(std::min(lone, 16) == 1 ? 2 : std::min(lone, 16));
      for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<int>(i);
      throw CLI::ValidationError(
          "--gpus", absl::StrCat(f->gpus, " is one GPU index, not a count: --gpus ",
                                 absl::StrJoin(first, ","), " trains on ", first.size(),
                                 " GPUs, --device cuda:", lone, " on GPU ", lone, " alone"));
    }
    absl::StatusOr<DeviceChoice> d = ResolveDevice(f->device, f->gpus);
    if (!d.ok()) throw CLI::ValidationError(std::string(d.status().message()));
    f->resolved = *std::move(d);
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    if (!f->resolved.gpus.empty() && visible != nullptr && *visible != '\0') {
      throw CLI::ValidationError(
          absl::StrCat(f->gpus.empty() ? "--device " + f->device : "--gpus " + f->gpus,
                       " names GPUs as nvidia-smi numbers them, and CUDA_VISIBLE_DEVICES=", visible,
                       " chooses too: unset it, or leave the choice to it with --device cuda"));
    }
  });
  cmd->callback([f, &ctx] {
    absl::Status st = Train(*f);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });

  auto init = std::make_shared<InitFlags>();
  CLI::App* model = GroupCommand(app, "model", "Encrypted base models and model bundles");
  CLI::App* mi = model->add_subcommand(
      "init", "Write a small random model in the Hugging Face layout (tests, quickstart)");
  mi->add_option("--config", init->config, "config.json of the model to make")->required();
  mi->add_option("--tokenizer", init->tokenizer, "tokenizer.json to put beside it")->required();
  mi->add_option("--seed", init->seed, "Seed of the random weights")->capture_default_str();
  mi->add_option("--out", init->out, "Output directory")->required();
  mi->callback([init, &ctx] {
    absl::Status st = ModelInit(*init);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });
  model->require_subcommand(1);
}

}  // namespace triad::cli
