#include "base/hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>

#include "base/file.h"

namespace triad::base {

absl::Status DisableCoreDumps() {
  struct rlimit none = {0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0) return ErrnoStatus(errno, "setrlimit(RLIMIT_CORE, 0)");
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return ErrnoStatus(errno, "prctl(PR_SET_DUMPABLE, 0)");
  return absl::OkStatus();
}

}  // namespace triad::base
