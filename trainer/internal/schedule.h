// Learning-rate schedules as transformers' get_scheduler builds them (LambdaLR factors), indexed by
// the optimizer step about to be taken (0-based), as the Trainer steps the scheduler after each
// step.
#ifndef TRIAD_TRAINER_INTERNAL_SCHEDULE_H_
#define TRIAD_TRAINER_INTERNAL_SCHEDULE_H_

#include <cstdint>
#include <string>

namespace triad::trainer::internal {

// Factor applied to the peak rate at `step` of `total` with `warmup` warm-up steps.
// linear: get_linear_schedule_with_warmup; cosine: get_cosine_schedule_with_warmup (half a cycle);
// constant: get_constant_schedule_with_warmup.
double LrFactor(const std::string& scheduler, int64_t step, int64_t total, int64_t warmup);

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_SCHEDULE_H_
