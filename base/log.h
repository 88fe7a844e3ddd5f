// Logging setup. Components log through spdlog in their .cc files; this sets the level and format once
// per process. Nothing secret is ever logged: not key bytes, not plaintext, not decrypted lengths of
// individual records.
#ifndef TRIAD_BASE_LOG_H_
#define TRIAD_BASE_LOG_H_

#include "absl/strings/string_view.h"

namespace triad::base {

// level: "trace", "debug", "info", "warn", "error", "off". Logs go to stderr.
void InitLogging(absl::string_view level = "info");

}  // namespace triad::base

#endif  // TRIAD_BASE_LOG_H_
