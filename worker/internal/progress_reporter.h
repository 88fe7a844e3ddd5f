// Sends training progress to the coordinator from its own thread, so that training never waits on
// the network: the trainer's callback only stores the latest step; the thread sends at most one
// report per interval (the newest), retrying while the coordinator is away.
#ifndef TRIAD_WORKER_INTERNAL_PROGRESS_REPORTER_H_
#define TRIAD_WORKER_INTERNAL_PROGRESS_REPORTER_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "trainer/trainer.h"

namespace triad::worker::internal {

class ProgressReporter {
 public:
  // `send` delivers one report (retrying as it sees fit); it runs on the reporter's thread only.
  // When it fails, `cancel` is set (so the trainer stops at its next step) and Finish returns the
  // error.
  ProgressReporter(std::function<absl::Status(const trainer::Progress&)> send,
                   absl::Duration interval, std::atomic<bool>* cancel);
  ~ProgressReporter();  // Finish()es if not done
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // Records the newest progress; never blocks on the network. Thread-safe.
  void Update(const trainer::Progress& progress);
  // Sends the newest progress if it was not sent yet, stops the thread, and returns the first
  // failure of `send` (OK when none).
  absl::Status Finish();

 private:
  void Loop();

  std::function<absl::Status(const trainer::Progress&)> send_;
  absl::Duration interval_;
  std::atomic<bool>* cancel_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<trainer::Progress> pending_;  // guarded by mu_
  bool finishing_ = false;                    // guarded by mu_
  absl::Status error_;                        // guarded by mu_
  std::thread thread_;
};

}  // namespace triad::worker::internal

#endif  // TRIAD_WORKER_INTERNAL_PROGRESS_REPORTER_H_
