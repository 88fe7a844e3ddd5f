#include "crypto/byte_stream.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/file.h"

namespace triad::crypto {

absl::StatusOr<size_t> ByteSource::ReadAt(uint64_t, char*, size_t) const {
  return absl::UnimplementedError("this source cannot be read at an offset");
}

FdSource::FdSource(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
  struct stat st;
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) return;
  off_t here = ::lseek(fd_, 0, SEEK_CUR);
  if (here < 0 || here > st.st_size) return;
  origin_ = static_cast<uint64_t>(here);
  size_ = static_cast<uint64_t>(st.st_size) - origin_;
  // The whole file will be read front to back: let the kernel read ahead generously.
  ::posix_fadvise(fd_, here, 0, POSIX_FADV_SEQUENTIAL);
  if (st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd_, 0);
    if (p != MAP_FAILED) {
      map_ = p;
      map_size_ = static_cast<size_t>(st.st_size);
      ::madvise(map_, map_size_, MADV_SEQUENTIAL);
    }
  }
}

FdSource::~FdSource() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

std::optional<absl::string_view> FdSource::View() const {
  if (map_ == nullptr) return std::nullopt;
  return absl::string_view(static_cast<const char*>(map_) + origin_, map_size_ - origin_);
}

absl::StatusOr<size_t> FdSource::Read(char* buf, size_t n) {
  if (size_.has_value()) {
    absl::StatusOr<size_t> got = ReadAt(position_, buf, n);
    if (got.ok()) position_ += *got;
    return got;
  }
  while (true) {
    ssize_t r = ::read(fd_, buf, n);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno != EINTR) return base::ErrnoStatus(errno, absl::StrCat("reading ", name_));
  }
}

absl::StatusOr<size_t> FdSource::ReadAt(uint64_t offset, char* buf, size_t n) const {
  if (!size_.has_value()) return ByteSource::ReadAt(offset, buf, n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd_, buf + got, n - got, static_cast<off_t>(origin_ + offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(errno, absl::StrCat("reading ", name_));
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

absl::Status FdSink::Write(absl::string_view data) {
  while (!data.empty()) {
    ssize_t r = ::write(fd_, data.data(), data.size());
    if (r < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(errno, absl::StrCat("writing ", name_));
    }
    data.remove_prefix(static_cast<size_t>(r));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> StringSource::Read(char* buf, size_t n) {
  size_t k = std::min(n, data_.size() - position_);
  if (k > 0) std::memcpy(buf, data_.data() + position_, k);
  position_ += k;
  return k;
}

absl::StatusOr<size_t> StringSource::ReadAt(uint64_t offset, char* buf, size_t n) const {
  if (offset >= data_.size()) return 0;
  size_t k = std::min<uint64_t>(n, data_.size() - offset);
  std::memcpy(buf, data_.data() + offset, k);
  return k;
}

absl::Status StringSink::Write(absl::string_view data) {
  out_->append(data.data(), data.size());
  return absl::OkStatus();
}

absl::Status SecretSink::Write(absl::string_view data) {
  out_->append(data);
  return absl::OkStatus();
}

}  // namespace triad::crypto
