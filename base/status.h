// Status helpers shared by every component: the project's return/assign macros and error context.
//
// Errors are absl::Status / absl::StatusOr<T>. A message names the thing, the failed check and what to
// do, and never contains secret bytes. Context is added as an error rises:
//   "verifying SNP report: VCEK chain: certificate expired".
#ifndef TRIAD_BASE_STATUS_H_
#define TRIAD_BASE_STATUS_H_

#include "absl/strings/string_view.h"
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace triad::base {

// Returns `status` with "context: " put before its message; the code and payloads are kept. OK stays OK.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

template <typename T>
absl::StatusOr<T> Annotate(absl::StatusOr<T>&& value, absl::string_view context) {
  if (value.ok()) return std::move(value);
  return Annotate(value.status(), context);
}

}  // namespace triad::base

#define TRIAD_STATUS_CONCAT_INNER_(a, b) a##b
#define TRIAD_STATUS_CONCAT_(a, b) TRIAD_STATUS_CONCAT_INNER_(a, b)

// Returns from the current function with the status of `expr` when it is not OK.
#define TRIAD_RETURN_IF_ERROR(expr)                     \
  do {                                                  \
    ::absl::Status triad_status_ = (expr);              \
    if (!triad_status_.ok()) return triad_status_;      \
  } while (false)

// `TRIAD_ASSIGN_OR_RETURN(auto x, F());` assigns the value of a StatusOr, or returns its status.
#define TRIAD_ASSIGN_OR_RETURN(lhs, expr) \
  TRIAD_ASSIGN_OR_RETURN_IMPL_(TRIAD_STATUS_CONCAT_(triad_statusor_, __LINE__), lhs, expr)
#define TRIAD_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#endif  // TRIAD_BASE_STATUS_H_
