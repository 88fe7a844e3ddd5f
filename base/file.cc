#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace triad::base {
namespace {

using Fd = UniqueFd;

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat("writing ", path));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status WriteImpl(const std::string& path, absl::string_view data, mode_t mode, bool replace) {
  std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return ErrnoStatus(errno, absl::StrCat("creating ", tmp));
  absl::Status st = WriteAll(fd.get(), data, tmp);
  // open() applies the umask; set the exact mode asked for.
  if (st.ok() && ::fchmod(fd.get(), mode) != 0) st = ErrnoStatus(errno, absl::StrCat("chmod ", tmp));
  if (st.ok() && ::fsync(fd.get()) != 0) st = ErrnoStatus(errno, absl::StrCat("fsync ", tmp));
  if (st.ok() && ::close(fd.Release()) != 0) st = ErrnoStatus(errno, absl::StrCat("closing ", tmp));
  if (st.ok()) {
    if (replace) {
      if (::rename(tmp.c_str(), path.c_str()) != 0) st = ErrnoStatus(errno, absl::StrCat("renaming to ", path));
    } else {
      // link() fails with EEXIST instead of replacing, which rename() cannot.
      if (::link(tmp.c_str(), path.c_str()) != 0) st = ErrnoStatus(errno, absl::StrCat("creating ", path));
      ::unlink(tmp.c_str());
    }
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return SyncDirectory(DirName(path));
}

}  // namespace

void UniqueFd::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  bool is_stdin = path == "-";
  Fd owned(is_stdin ? -1 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  int fd = is_stdin ? STDIN_FILENO : owned.get();
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("opening ", path));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat("reading ", path));
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path, " is larger than the limit of ", max_bytes, " bytes"));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, mode_t mode) {
  return WriteImpl(path, data, mode, /*replace=*/true);
}

absl::Status WriteNewFile(const std::string& path, absl::string_view data, mode_t mode) {
  return WriteImpl(path, data, mode, /*replace=*/false);
}

absl::Status SyncDirectory(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, absl::StrCat("opening directory ", dir));
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, absl::StrCat("fsync directory ", dir));
  return absl::OkStatus();
}

}  // namespace triad::base
