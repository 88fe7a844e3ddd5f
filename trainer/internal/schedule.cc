#include "trainer/internal/schedule.h"

#include <algorithm>
#include <cmath>

namespace triad::trainer::internal {

double LrFactor(const std::string& scheduler, int64_t step, int64_t total, int64_t warmup) {
  if (step < warmup)
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  if (scheduler == "constant") return 1.0;
  if (scheduler == "cosine") {
    double progress = static_cast<double>(step - warmup) /
                      static_cast<double>(std::max<int64_t>(1, total - warmup));
    return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * 0.5 * 2.0 * progress)));
  }
  return std::max(0.0, static_cast<double>(total - step) /
                           static_cast<double>(std::max<int64_t>(1, total - warmup)));
}

}  // namespace triad::trainer::internal
