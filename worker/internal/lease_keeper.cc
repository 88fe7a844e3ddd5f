#include "worker/internal/lease_keeper.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace triad::worker::internal {

LeaseKeeper::LeaseKeeper(std::function<absl::StatusOr<LeaseAnswer>()> renew, absl::Duration lease,
                         std::atomic<bool>* cancel)
    : renew_(std::move(renew)), lease_(lease), cancel_(cancel) {
  thread_ = std::thread([this] { Loop(); });
}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::optional<std::string> LeaseKeeper::Ended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ended_;
}

void LeaseKeeper::Loop() {
  // Real (monotonic) time: the lease is about how long the keys stay here, whatever the clocks say.
  using Clock = std::chrono::steady_clock;
  const auto lease = absl::ToChronoNanoseconds(lease_);
  const auto every = lease / 4;
  Clock::time_point held_until = Clock::now() + lease;
  std::string last_error;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      Clock::time_point next = std::min(Clock::now() + every, held_until);
      if (cv_.wait_until(lock, next, [this] { return stopping_; })) return;
    }
    absl::StatusOr<LeaseAnswer> answer = renew_();
    std::string end;
    if (answer.ok() && answer->stop) {
      end = absl::StrCat("the coordinator ended the key lease: ", answer->reason);
    } else if (answer.ok()) {
      held_until = Clock::now() + lease;
      if (!last_error.empty()) spdlog::info("key lease renewed again");
      last_error.clear();
    } else {
      if (last_error.empty()) {
        spdlog::warn("key lease renewal failed ({}); the keys stay until the lease ends",
                     std::string(answer.status().message()));
      }
      last_error = std::string(answer.status().message());
    }
    if (end.empty() && Clock::now() >= held_until) {
      end = absl::StrCat("the key lease of ", absl::FormatDuration(lease_),
                         " expired without a renewal (last error: ", last_error, ")");
    }
    if (!end.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      ended_ = std::move(end);
      cancel_->store(true);
      return;
    }
  }
}

}  // namespace triad::worker::internal
