#include "worker/internal/progress_reporter.h"

#include <chrono>
#include <utility>

namespace triad::worker::internal {

ProgressReporter::ProgressReporter(std::function<absl::Status(const trainer::Progress&)> send,
                                   absl::Duration interval, std::atomic<bool>* cancel)
    : send_(std::move(send)), interval_(interval), cancel_(cancel) {
  thread_ = std::thread([this] { Loop(); });
}

ProgressReporter::~ProgressReporter() { (void)Finish(); }

void ProgressReporter::Update(const trainer::Progress& progress) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = progress;
  }
  cv_.notify_one();
}

absl::Status ProgressReporter::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    finishing_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

void ProgressReporter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return pending_.has_value() || finishing_; });
    if (!pending_) return;  // finishing with nothing left to send
    trainer::Progress p = *pending_;
    pending_.reset();
    const bool last = finishing_;
    lock.unlock();
    absl::Status st = error_.ok() ? send_(p) : absl::OkStatus();
    lock.lock();
    if (!st.ok() && error_.ok()) {
      error_ = st;
      if (cancel_ != nullptr) cancel_->store(true);
    }
    if (last && !pending_) return;
    // Rate limit: wait out the interval unless asked to finish (then send the newest at once).
    cv_.wait_for(lock, absl::ToChronoMilliseconds(interval_), [this] { return finishing_; });
  }
}

}  // namespace triad::worker::internal
