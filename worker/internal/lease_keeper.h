// The key lease (docs/custody.md, "The worker"): a worker holds released keys and the plaintext
// they open only while it keeps renewing its lease with the coordinator. This thread renews it
// every quarter of the lease; when no renewal has succeeded for the whole lease, or the coordinator
// answers that the attempt must stop (contract revoked or expired, job ended), it records why and
// sets the cancel flag the trainer and the job's steps watch, so the job wipes everything it holds
// and ends. The attested worker code enforces it, which is what makes the lease binding.
#ifndef TRIAD_WORKER_INTERNAL_LEASE_KEEPER_H_
#define TRIAD_WORKER_INTERNAL_LEASE_KEEPER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace triad::worker::internal {

// One renewal's answer: stop (with the coordinator's reason) or go on.
struct LeaseAnswer {
  bool stop = false;
  std::string reason;
};

class LeaseKeeper {
 public:
  // `renew` asks the coordinator once (no long retries: an error counts as a missed renewal); it
  // runs on the keeper's thread only. The lease starts now (the keys were just released). Renewals
  // come every `lease / 4`; `cancel` is set when the lease ends.
  LeaseKeeper(std::function<absl::StatusOr<LeaseAnswer>()> renew, absl::Duration lease,
              std::atomic<bool>* cancel);
  ~LeaseKeeper();  // stops the thread
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Why the lease ended (the attempt must stop and wipe), or nullopt while it holds.
  std::optional<std::string> Ended() const;

 private:
  void Loop();

  std::function<absl::StatusOr<LeaseAnswer>()> renew_;
  absl::Duration lease_;
  std::atomic<bool>* cancel_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;             // guarded by mu_
  std::optional<std::string> ended_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace triad::worker::internal

#endif  // TRIAD_WORKER_INTERNAL_LEASE_KEEPER_H_
