// Small file helpers with the checks Triad needs everywhere: bounded reads of outside input, and
// atomic, durable writes (temporary file, fsync, rename, fsync of the directory).
#ifndef TRIAD_BASE_FILE_H_
#define TRIAD_BASE_FILE_H_

#include <sys/types.h>

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace triad::base {

// Reads a whole regular file (or "-" for stdin). Fails with kResourceExhausted when it holds more than
// `max_bytes`, with kNotFound when it does not exist.
absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes);

// Writes `data` to `path` atomically and durably with permissions `mode`: a reader sees the old file
// or the whole new one, never part of it; after success the data survives a crash.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, mode_t mode = 0644);

// Like WriteFileAtomic, but fails with kAlreadyExists instead of replacing an existing file.
absl::Status WriteNewFile(const std::string& path, absl::string_view data, mode_t mode = 0644);

// fsyncs a directory, so that a rename or create in it is durable.
absl::Status SyncDirectory(const std::string& dir);

// An errno as a Status, with what was being done: "opening foo.txt: No such file or directory".
absl::Status ErrnoStatus(int err, absl::string_view what);

// Owns a file descriptor: closes it when it goes (-1: none). Movable, not copyable.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Close();
      fd_ = o.Release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Close(); }

  int get() const { return fd_; }
  // Closes it now (errors of close are not reported; callers that need them fsync first).
  void Close();
  // Gives up ownership without closing.
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace triad::base

#endif  // TRIAD_BASE_FILE_H_
