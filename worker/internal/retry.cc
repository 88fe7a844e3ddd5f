#include "worker/internal/retry.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace triad::worker::internal {

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

bool IsTransient(const absl::Status& status) {
  // kCancelled: the client never cancels a call it retries, so a cancelled call is one the server
  // dropped while shutting down (a coordinator restart).
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsAborted(status) || absl::IsCancelled(status);
}

absl::Status Retry(absl::string_view what, const RetryPolicy& policy,
                   const std::function<absl::Status()>& attempt) {
  absl::Duration delay = policy.initial;
  absl::Duration slept = absl::ZeroDuration();
  for (int tries = 1;; ++tries) {
    absl::Status st = attempt();
    if (st.ok() || !IsTransient(st)) {
      if (tries > 1)
        spdlog::info("{}: the coordinator answered again after {} tries", std::string(what), tries);
      return st;
    }
    if (tries == 1) {
      spdlog::warn("{}: coordinator unavailable ({}); retrying with backoff", std::string(what),
                   std::string(st.message()));
    }
    if (slept >= policy.budget || (policy.stop != nullptr && policy.stop->load())) {
      return absl::Status(st.code(), absl::StrCat(what, ": coordinator unreachable for ",
                                                  absl::FormatDuration(slept), ": ", st.message()));
    }
    absl::Duration d = std::min(delay, policy.budget - slept);
    if (policy.sleep) {
      policy.sleep(d);
    } else {
      absl::SleepFor(d);
    }
    slept += d;
    delay = std::min(delay * 2, policy.max);
  }
}

}  // namespace triad::worker::internal
