// Process hardening for the processes that hold secrets (worker, coordinator, decrypting CLI).
#ifndef TRIAD_BASE_HARDENING_H_
#define TRIAD_BASE_HARDENING_H_

#include "absl/status/status.h"

namespace triad::base {

// Disables core dumps (RLIMIT_CORE 0) and marks the process not dumpable (PR_SET_DUMPABLE 0), so that
// a crash or ptrace from another process of the same user cannot copy keys or plaintext out.
absl::Status DisableCoreDumps();

}  // namespace triad::base

#endif  // TRIAD_BASE_HARDENING_H_
