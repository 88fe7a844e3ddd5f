// The training loop behind Train(), with hooks the tests use (CPU data parallelism). Torch-free.
#ifndef TRIAD_TRAINER_INTERNAL_ENGINE_H_
#define TRIAD_TRAINER_INTERNAL_ENGINE_H_

#include "trainer/trainer.h"

namespace triad::trainer::internal {

struct EngineOptions {
  // > 1 on "cpu": that many in-process data-parallel ranks (threads) with the CPU communicator.
  int cpu_ranks = 1;
};

Result<TrainResult> RunTraining(const ModelFiles& model, std::string_view dataset_jsonl,
                                const TrainingConfig& config, const TrainOptions& options,
                                const EngineOptions& engine);

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_ENGINE_H_
