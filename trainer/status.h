// The trainer's error type. trainer/ depends on LibTorch and header-only libraries only (so that it
// builds alone on a GPU machine from the LibTorch shipped there), hence its own small Status rather
// than absl::Status. The worker converts at the boundary (worker/ maps Code to absl::StatusCode).
#ifndef TRIAD_TRAINER_STATUS_H_
#define TRIAD_TRAINER_STATUS_H_

#include <optional>
#include <string>
#include <utility>

namespace triad::trainer {

enum class Code { kOk, kInvalidArgument, kFailedPrecondition, kResourceExhausted, kUnimplemented, kCancelled, kInternal };

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "context: message"; OK stays OK.
  Status Annotate(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message_);
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
inline Status FailedPrecondition(std::string m) { return Status(Code::kFailedPrecondition, std::move(m)); }
inline Status Unimplemented(std::string m) { return Status(Code::kUnimplemented, std::move(m)); }
inline Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }

// A value or an error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit, like absl::StatusOr
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Internal("Result constructed from an OK status without a value");
  }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace triad::trainer

#define TRAINER_CONCAT_INNER_(a, b) a##b
#define TRAINER_CONCAT_(a, b) TRAINER_CONCAT_INNER_(a, b)
#define TRAINER_RETURN_IF_ERROR(expr)                     \
  do {                                                    \
    ::triad::trainer::Status trainer_status_ = (expr);    \
    if (!trainer_status_.ok()) return trainer_status_;    \
  } while (false)
#define TRAINER_ASSIGN_OR_RETURN(lhs, expr) \
  TRAINER_ASSIGN_OR_RETURN_IMPL_(TRAINER_CONCAT_(trainer_result_, __LINE__), lhs, expr)
#define TRAINER_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()

#endif  // TRIAD_TRAINER_STATUS_H_
