// Retrying RPCs while the coordinator is away, and converting gRPC statuses.
#ifndef TRIAD_WORKER_INTERNAL_RETRY_H_
#define TRIAD_WORKER_INTERNAL_RETRY_H_

#include <atomic>
#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"

namespace triad::worker::internal {

// The same code and message.
absl::Status FromGrpc(const grpc::Status& status);

// The statuses that mean "the coordinator is away or busy; the same request may succeed later":
// kUnavailable, kDeadlineExceeded, kAborted, and kCancelled (a server shutting down cancels the
// calls in flight).
bool IsTransient(const absl::Status& status);

struct RetryPolicy {
  absl::Duration initial = absl::Milliseconds(200);
  absl::Duration max = absl::Seconds(10);
  // The total backoff slept before giving up.
  absl::Duration budget = absl::Minutes(30);
  std::function<void(absl::Duration)> sleep;  // null: absl::SleepFor
  const std::atomic<bool>* stop = nullptr;    // when set, gives up at the next backoff
};

// Calls `attempt` until it returns OK or a status that is not transient, which Retry returns.
// Between transient failures it sleeps initial, 2x, 4x, … up to max. When the budget is spent (or
// stop is set) it returns the last transient status, annotated "<what>: coordinator unreachable
// for <budget>". `attempt` must build a fresh request each time (fresh request id and time), since
// the coordinator refuses replays. Logs the first failure of an outage and the recovery.
absl::Status Retry(absl::string_view what, const RetryPolicy& policy,
                   const std::function<absl::Status()>& attempt);

}  // namespace triad::worker::internal

#endif  // TRIAD_WORKER_INTERNAL_RETRY_H_
