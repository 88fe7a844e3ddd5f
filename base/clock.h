// The clock, injected wherever a decision depends on the time (validity windows, nonce expiry,
// certificate and collateral freshness), so that tests pin it.
#ifndef TRIAD_BASE_CLOCK_H_
#define TRIAD_BASE_CLOCK_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/time/time.h"

namespace triad::base {

class Clock {
 public:
  virtual ~Clock() = default;
  // The current time. Thread-safe in every implementation.
  virtual absl::Time Now() const = 0;
};

// The system's real-time clock. Never null; lives for the whole program.
const Clock& SystemClock();

// A clock that says what it was told; for tests and for verifying at a fixed time (`--now`).
class FixedClock final : public Clock {
 public:
  explicit FixedClock(absl::Time now) : now_(now) {}
  absl::Time Now() const override { return now_; }
  void Set(absl::Time now) { now_ = now; }
  void Advance(absl::Duration d) { now_ += d; }

 private:
  absl::Time now_;
};

// Parses an RFC 3339 time ("2025-07-01T00:00:00Z", offsets and fractions allowed).
bool ParseRfc3339(absl::string_view text, absl::Time* out);
// Formats as RFC 3339 in UTC, whole seconds: "2025-07-01T00:00:00Z".
std::string FormatRfc3339(absl::Time t);

}  // namespace triad::base

#endif  // TRIAD_BASE_CLOCK_H_
