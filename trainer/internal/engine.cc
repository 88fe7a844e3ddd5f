// Train(): the training loop. LibTorch is caught here and turned into a Status.
#include "trainer/internal/engine.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <chrono>
#include <cmath>
#include <memory>
#include <thread>

#include "trainer/dataset.h"
#include "trainer/internal/communicator.h"
#include "trainer/internal/model.h"
#include "trainer/internal/schedule.h"
#include "trainer/peft.h"

namespace triad::trainer {
namespace internal {
namespace {

// On CPU every step allocates and frees the same activations (tens of MiB). With glibc's defaults
// the mmap threshold follows the largest block freed so far and the heap is trimmed above twice
// that, so each step handed pages back to the kernel and faulted them in again, zeroed: on cpu-tiny
// 8,000 page faults a step (6% of its CPU time) where the PyTorch script, whose earlier frees
// happen to raise the thresholds, takes 600. Fixed thresholds keep blocks up to 32 MiB (glibc's
// largest mmap threshold) in the heap and the freed heap mapped, so the next step reuses the same
// pages; peak RSS does not grow. Set once, before the first step (loading is unaffected), and
// process-wide; ReleaseActivationMemory hands the freed heap back when training ends, so that what
// runs next (sealing the adapter) does not add to it.
void KeepActivationMemory() {
#ifdef __GLIBC__
  static const bool once = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
  }();
  (void)once;
#endif
}

void ReleaseActivationMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

struct Plan {
  ModelConfig model;
  TrainingConfig config;
  TrainOptions options;
  std::vector<Example> train, eval;
  std::vector<Batch> eval_batches;
  int32_t pad_id = 0;
  int64_t batches_per_epoch = 0;
  int64_t steps_per_epoch = 0;
  int64_t total_steps = 0;
  int world = 1;
};

// The LoRA parameters as views of one float32 buffer and their gradients as views of another
// (autograd accumulates into a gradient that exists, in place), so that the optimizer, the clipping,
// the zeroing and the all-reduce run as a few operations on two tensors, not several per parameter.
struct FlatParameters {
  at::Tensor values, grads;
  explicit FlatParameters(std::vector<at::Tensor>& params) {
    at::NoGradGuard no_grad;
    int64_t total = 0;
    for (const at::Tensor& p : params) total += p.numel();
    values = at::empty({total}, params.at(0).options());
    grads = at::zeros({total}, params.at(0).options());
    int64_t off = 0;
    for (at::Tensor& p : params) {
      const int64_t n = p.numel();
      at::Tensor v = values.narrow(0, off, n).view(p.sizes());
      v.copy_(p);
      p.set_(v);
      p.mutable_grad() = grads.narrow(0, off, n).view(p.sizes());
      off += n;
    }
  }
};

// AdamW as torch.optim.AdamW computes it (betas 0.9, 0.999, eps 1e-8, decoupled weight decay), on
// the flat parameters.
class AdamW {
 public:
  explicit AdamW(const FlatParameters& p)
      : p_(p.values), g_(p.grads), m_(at::zeros_like(p.values)), v_(at::zeros_like(p.values)) {}
  ~AdamW() { Wipe(); }
  void Step(double lr, double weight_decay) {
    at::NoGradGuard no_grad;
    ++t_;
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const double bc1 = 1 - std::pow(b1, static_cast<double>(t_)),
                 bc2 = 1 - std::pow(b2, static_cast<double>(t_));
    p_.mul_(1 - lr * weight_decay);
    m_.mul_(b1).add_(g_, 1 - b1);
    v_.mul_(b2).addcmul_(g_, g_, 1 - b2);
    at::Tensor denom = (v_.sqrt() / std::sqrt(bc2)).add_(eps);
    p_.addcdiv_(m_, denom, -lr / bc1);
  }
  void Wipe() {
    at::NoGradGuard no_grad;
    m_.zero_();
    v_.zero_();
  }

 private:
  at::Tensor p_, g_, m_, v_;
  int64_t t_ = 0;
};

at::Tensor BatchTensor(const std::vector<int64_t>& v, const Batch& b) {
  return at::from_blob(const_cast<int64_t*>(v.data()), {b.rows, b.columns}, at::kLong).clone();
}

struct Rank {
  int rank = 0;
  std::unique_ptr<DecoderModel> model;
  Communicator* comm = nullptr;
  Status status;
  // Filled by rank 0.
  TrainReport report;
};

// Sums `values` over ranks (through float, which the statistics tolerate).
Status AllReduceStats(Communicator* comm, std::vector<double>& values) {
  if (comm->world_size() == 1) return Status::Ok();
  std::vector<float> f(values.begin(), values.end());
  TRAINER_RETURN_IF_ERROR(comm->AllReduceSum(f.data(), f.size()));
  for (size_t i = 0; i < f.size(); ++i) values[i] = f[i];
  return Status::Ok();
}

Result<double> EvalLoss(Rank& r, const Plan& plan) {
  at::NoGradGuard no_grad;
  std::vector<double> stats = {0, 0};
  for (size_t j = r.rank; j < plan.eval_batches.size(); j += plan.world) {
    const Batch& b = plan.eval_batches[j];
    at::Tensor hidden =
        r.model->Hidden(BatchTensor(b.input_ids, b), BatchTensor(b.attention_mask, b), false);
    auto [sum, n] = r.model->LossSum(hidden, BatchTensor(b.labels, b));
    stats[0] += sum.item<double>();
    stats[1] += static_cast<double>(n);
  }
  TRAINER_RETURN_IF_ERROR(AllReduceStats(r.comm, stats));
  return stats[1] > 0 ? stats[0] / stats[1] : std::nan("");
}

Status RankLoop(Rank& r, const Plan& plan) {
  const TrainingConfig& c = plan.config;
  std::vector<at::Tensor> params;
  for (auto& [name, t] : r.model->LoraParameters()) params.push_back(t);
  FlatParameters flat(params);
  AdamW opt(flat);
  const bool lead = r.rank == 0;
  TrainReport& rep = r.report;
  auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  auto evaluate = [&](int64_t step) -> Result<std::optional<double>> {
    if (plan.eval_batches.empty()) return std::optional<double>();
    TRAINER_ASSIGN_OR_RETURN(double loss, EvalLoss(r, plan));
    if (lead) rep.eval_losses.push_back({step, loss});
    return std::optional<double>(loss);
  };
  {
    auto first = evaluate(0);
    if (!first.ok()) return first.status();
  }
  const int64_t group = c.gradient_accumulation_steps * plan.world;
  int64_t step = 0, epoch = 0;
  std::vector<size_t> identity;
  while (step < plan.total_steps) {
    std::vector<size_t> order =
        SeededPermutation(plan.train.size(), static_cast<uint64_t>(c.seed) * 1000003ull + epoch);
    std::vector<Batch> batches =
        MakeBatches(plan.train, order, c.batch_size, c.sequence_length, c.packing, plan.pad_id);
    ++epoch;
    for (size_t g = 0; g < batches.size() && step < plan.total_steps; g += group) {
      size_t end = std::min(batches.size(), g + static_cast<size_t>(group));
      int64_t step_loss_tokens = 0;
      for (size_t j = g; j < end; ++j) step_loss_tokens += batches[j].loss_tokens;
      std::vector<double> stats = {0, 0, 0};  // loss sum, tokens, cancel
      for (size_t j = g + r.rank; j < end; j += plan.world) {
        const Batch& b = batches[j];
        at::Tensor hidden =
            r.model->Hidden(BatchTensor(b.input_ids, b), BatchTensor(b.attention_mask, b), true);
        auto [sum, n] = r.model->LossSum(hidden, BatchTensor(b.labels, b));
        if (step_loss_tokens > 0 && n > 0) (sum / static_cast<double>(step_loss_tokens)).backward();
        stats[0] += sum.item<double>();
        stats[1] += static_cast<double>(b.tokens);
      }
      if (lead && plan.options.cancel && plan.options.cancel->load()) stats[2] = 1;
      TRAINER_RETURN_IF_ERROR(AllReduceStats(r.comm, stats));
      if (stats[2] > 0) {
        WipeBatches(batches);
        return Status(Code::kCancelled, "training cancelled at step " + std::to_string(step));
      }
      at::NoGradGuard no_grad;
      // Sum the gradients over ranks.
      if (plan.world > 1) {
        TRAINER_RETURN_IF_ERROR(r.comm->AllReduceSum(flat.grads.data_ptr<float>(),
                                                     static_cast<size_t>(flat.grads.numel())));
      }
      // Clip the global norm (torch.nn.utils.clip_grad_norm_), then step.
      if (c.max_grad_norm > 0) {
        const double norm = flat.grads.norm().item<double>();
        const double coef = c.max_grad_norm / (norm + 1e-6);
        if (coef < 1.0) flat.grads.mul_(coef);
      }
      const double lr =
          c.learning_rate * LrFactor(c.lr_scheduler, step, plan.total_steps, c.warmup_steps);
      opt.Step(lr, c.weight_decay);
      flat.grads.zero_();
      ++step;
      const double loss =
          step_loss_tokens > 0 ? stats[0] / static_cast<double>(step_loss_tokens) : 0.0;
      if (lead) {
        rep.losses.push_back(loss);
        rep.tokens += static_cast<int64_t>(stats[1]);
        rep.loss_tokens += step_loss_tokens;
      }
      std::optional<double> eval;
      if (step == plan.total_steps ||
          (plan.options.eval_every_steps > 0 && step % plan.options.eval_every_steps == 0)) {
        TRAINER_ASSIGN_OR_RETURN(eval, evaluate(step));
      }
      if (lead && plan.options.on_progress) {
        Progress p;
        p.step = step;
        p.total_steps = plan.total_steps;
        p.loss = loss;
        p.eval_loss = eval;
        p.tokens = rep.tokens;
        p.tokens_per_second = rep.tokens / std::max(1e-9, seconds());
        p.learning_rate = lr;
        plan.options.on_progress(p);
      }
    }
    WipeBatches(batches);
  }
  if (lead) {
    rep.steps = step;
    rep.epochs = epoch;
    rep.wall_seconds = seconds();
    rep.tokens_per_second = rep.tokens / std::max(1e-9, rep.wall_seconds);
  }
  return Status::Ok();
}

// A rank that fails aborts the group, so that the others do not wait for it forever.
Status GuardedRankLoop(Rank& r, const Plan& plan) {
  Status s;
  try {
    s = RankLoop(r, plan);
  } catch (const c10::Error& e) {
    s = Internal(std::string("LibTorch: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    s = Internal(std::string("LibTorch: ") + e.what());
  }
  if (!s.ok() && s.code() != Code::kCancelled) r.comm->Abort();
  return s;
}

Result<at::Device> ParseDevice(const std::string& s) {
  if (s == "cpu") return at::Device(at::kCPU);
  if (s == "cuda" || s.rfind("cuda:", 0) == 0) {
    if (!at::hasCUDA())
      return FailedPrecondition("device " + s +
                                ": this LibTorch has no CUDA support or no GPU is visible");
    int index = 0;
    if (s.size() > 5) {
      std::string n = s.substr(5);
      if (n.empty() || n.size() > 3 || n.find_first_not_of("0123456789") != std::string::npos) {
        return InvalidArgument("device \"" + s + "\" is not cpu, cuda or cuda:N");
      }
      index = std::stoi(n);
    }
    if (index >= static_cast<int>(at::getNumGPUs()))
      return FailedPrecondition("device " + s + " does not exist");
    return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  return InvalidArgument("device \"" + s + "\" is not cpu, cuda or cuda:N");
}

Result<TrainResult> Run(const ModelFiles& files, std::string_view data,
                        const TrainingConfig& config, const TrainOptions& options,
                        const EngineOptions& engine) {
  TRAINER_RETURN_IF_ERROR(ValidateTrainingConfig(config));
  // Valid in the training section's form, but nothing to do: refused rather than returning an
  // untrained adapter.
  if (config.epochs == 0 && config.max_steps == 0) {
    return InvalidArgument("training: epochs and max_steps are both 0: nothing to train");
  }
  Plan plan;
  plan.config = config;
  plan.options = options;
  TRAINER_ASSIGN_OR_RETURN(plan.model, ParseModelConfig(files.config_json));
  TRAINER_ASSIGN_OR_RETURN(at::Device device, ParseDevice(options.device));
  std::string precision = options.precision;
  if (precision == "auto") precision = device.is_cuda() ? "bf16" : "fp32";
  if (precision != "fp32" && precision != "bf16") {
    return InvalidArgument("precision \"" + options.precision + "\" is not fp32, bf16 or auto");
  }
  if (options.loss_chunk_rows < 0) return InvalidArgument("loss_chunk_rows must be >= 0");
  if (options.activation_checkpointing && config.dropout > 0) {
    return InvalidArgument(
        "activation checkpointing needs LoRA dropout 0 (the recomputed layer would draw new "
        "masks)");
  }
  std::vector<at::Device> devices = {device};
  if (device.is_cuda() && options.num_gpus > 1) {
#ifndef TRIAD_HAVE_NCCL
    return FailedPrecondition("num_gpus " + std::to_string(options.num_gpus) +
                              ": this build has no NCCL");
#else
    if (options.num_gpus > static_cast<int>(at::getNumGPUs()))
      return FailedPrecondition("num_gpus exceeds the visible GPUs");
    devices.clear();
    for (int i = 0; i < options.num_gpus; ++i)
      devices.push_back(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(i)));
#endif
  } else if (device.is_cpu() && engine.cpu_ranks > 1) {
    devices.assign(engine.cpu_ranks, device);
  }
  plan.world = static_cast<int>(devices.size());
  if (options.threads > 0) at::set_num_threads(options.threads);

  // Tokenizer and dataset.
  std::unique_ptr<Tokenizer> owned_tokenizer;
  const Tokenizer* tokenizer = options.tokenizer;
  if (!tokenizer) {
#ifdef TRIAD_HAVE_TOKENIZER
    auto t = Tokenizer::FromJson(files.tokenizer_json);
    if (!t.ok()) return t.status().Annotate("tokenizer.json");
    owned_tokenizer = std::move(t).value();
    tokenizer = owned_tokenizer.get();
#else
    return Unimplemented(
        "tokenizer.json: this build has no tokenizer (triad_tokenizer was not built)");
#endif
  }
  TRAINER_ASSIGN_OR_RETURN(DatasetOptions dopts, CheckTokenizer(plan.model, *tokenizer));
  TRAINER_ASSIGN_OR_RETURN(std::vector<Example> examples, TokenizeJsonl(data, *tokenizer, dopts));
  TRAINER_RETURN_IF_ERROR(
      SplitExamples(std::move(examples), config.eval_fraction, config.seed, plan.train, plan.eval));
  plan.pad_id = static_cast<int32_t>(plan.model.pad_token_id.value_or(dopts.eos_id.value_or(0)));
  {
    std::vector<size_t> order(plan.train.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::vector<Batch> b = MakeBatches(plan.train, order, config.batch_size, config.sequence_length,
                                       config.packing, plan.pad_id);
    plan.batches_per_epoch = static_cast<int64_t>(b.size());
    WipeBatches(b);
    std::vector<size_t> eorder(plan.eval.size());
    for (size_t i = 0; i < eorder.size(); ++i) eorder[i] = i;
    plan.eval_batches = MakeBatches(plan.eval, eorder, config.batch_size, config.sequence_length,
                                    config.packing, plan.pad_id);
  }
  const int64_t group = config.gradient_accumulation_steps * plan.world;
  plan.steps_per_epoch = (plan.batches_per_epoch + group - 1) / group;
  plan.total_steps = config.max_steps > 0 ? config.max_steps : config.epochs * plan.steps_per_epoch;

  // Models, one replica per rank, identical LoRA initialization.
  if (files.consumable) {
    for (const NamedBuffer& f : files.safetensors) {
      if (!files.consumable->Contains(f.data)) {
        return InvalidArgument("model files: \"" + f.name +
                               "\" does not lie in the consumable buffer given with it");
      }
    }
  }
  const auto load_start = std::chrono::steady_clock::now();
  TRAINER_ASSIGN_OR_RETURN(auto tensors,
                           LoadCheckpoint(files.safetensors, files.safetensors_index_json));
  LoraSettings lora{config.rank, config.alpha, config.dropout, config.use_rslora,
                    config.target_modules};
  std::vector<Rank> ranks(plan.world);
  std::vector<std::unique_ptr<Communicator>> comms;
#ifdef TRIAD_HAVE_NCCL
  if (devices[0].is_cuda() && plan.world > 1) {
    std::vector<int> ids;
    for (const at::Device& d : devices) ids.push_back(d.index());
    TRAINER_ASSIGN_OR_RETURN(comms, MakeNcclCommunicators(ids));
  }
#endif
  if (comms.empty()) comms = MakeCpuCommunicators(plan.world);
  for (int i = 0; i < plan.world; ++i) {
    ModelOptions mo;
    mo.device = devices[i];
    mo.compute_dtype = precision == "bf16" ? at::kBFloat16 : at::kFloat;
    mo.activation_checkpointing = options.activation_checkpointing;
    mo.loss_chunk_rows = options.loss_chunk_rows;
    // The last replica loaded consumes the plaintext (the others still need it).
    auto m = DecoderModel::Load(plan.model, tensors, mo,
                                i == plan.world - 1 ? files.consumable : nullptr);
    if (!m.ok()) return m.status();
    ranks[i].model = std::move(m).value();
    TRAINER_RETURN_IF_ERROR(ranks[i].model->InitLora(lora, static_cast<uint64_t>(config.seed)));
    ranks[i].model->SeedDropout(static_cast<uint64_t>(config.seed) * 7919ull +
                                static_cast<uint64_t>(i));
    ranks[i].rank = i;
    ranks[i].comm = comms[i].get();
  }

  if (files.consumable) {  // the headers too, now that every tensor is loaded
    for (const NamedBuffer& f : files.safetensors) files.consumable->Consume(f.data);
  }
  tensors.clear();
  const double load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  if (options.on_model_loaded) options.on_model_loaded(load_seconds);

  if (devices[0].is_cpu()) KeepActivationMemory();
  // Rank 0 on the calling thread (progress callbacks come from it), the others on their own.
  std::vector<std::thread> threads;
  for (int i = 1; i < plan.world; ++i) {
    threads.emplace_back([&ranks, &plan, i] { ranks[i].status = GuardedRankLoop(ranks[i], plan); });
  }
  Status lead_status = GuardedRankLoop(ranks[0], plan);
  for (auto& t : threads) t.join();
  const int64_t n_train = static_cast<int64_t>(plan.train.size()),
                n_eval = static_cast<int64_t>(plan.eval.size());
  WipeExamples(plan.train);
  WipeExamples(plan.eval);
  WipeBatches(plan.eval_batches);
  if (devices[0].is_cpu()) ReleaseActivationMemory();
  TRAINER_RETURN_IF_ERROR(lead_status);
  for (const Rank& r : ranks) TRAINER_RETURN_IF_ERROR(r.status);

  TrainResult result;
  result.report = std::move(ranks[0].report);
  TrainReport& rep = result.report;
  rep.total_steps = plan.total_steps;
  rep.load_seconds = load_seconds;
  rep.train_examples = n_train;
  rep.eval_examples = n_eval;
  rep.device = options.device;
  rep.precision = precision;
  rep.trainable_parameters = ranks[0].model->TrainableParameters();
  TRAINER_ASSIGN_OR_RETURN(std::string adapter, ranks[0].model->AdapterSafetensors());
  result.adapter.push_back({"adapter_config.json", AdapterConfigJson(lora)});
  result.adapter.push_back({"adapter_model.safetensors", std::move(adapter)});
  if (options.merge) {
    TRAINER_ASSIGN_OR_RETURN(std::string merged, ranks[0].model->MergedSafetensors());
    result.merged.push_back({"config.json", std::string(files.config_json)});
    result.merged.push_back({"model.safetensors", std::move(merged)});
  }
  return result;
}

}  // namespace

Result<TrainResult> RunTraining(const ModelFiles& model, std::string_view data,
                                const TrainingConfig& config, const TrainOptions& options,
                                const EngineOptions& engine) {
  try {
    return Run(model, data, config, options, engine);
  } catch (const c10::Error& e) {
    return Internal(std::string("LibTorch: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return Internal(std::string("LibTorch: ") + e.what());
  }
}

}  // namespace internal

Result<TrainResult> Train(const ModelFiles& model, std::string_view dataset_jsonl,
                          const TrainingConfig& config, const TrainOptions& options) {
  return internal::RunTraining(model, dataset_jsonl, config, options, internal::EngineOptions());
}

}  // namespace triad::trainer
