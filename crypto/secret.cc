#include "crypto/secret.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "base/file.h"

namespace triad::crypto {

void SecureWipe(void* p, size_t n) {
  if (p != nullptr && n > 0) OPENSSL_cleanse(p, n);
}

SecretBytes SecretBytes::CopyFrom(absl::string_view bytes) {
  SecretBytes s;
  s.append(bytes);
  return s;
}

SecretBytes SecretBytes::Uninitialized(size_t n) {
  SecretBytes s;
  s.bytes_.resize(n);  // default-initialized by ZeroizingAllocator::construct: no fill
  return s;
}

SecretBytes SecretBytes::Clone() const { return CopyFrom(view()); }

void SecretBytes::append(absl::string_view more) {
  bytes_.insert(bytes_.end(), more.begin(), more.end());
}

void SecretBytes::clear() {
  SecureWipe(bytes_.data(), bytes_.size());
  bytes_.clear();
}

bool SecretBytes::ConstantTimeEquals(const SecretBytes& other) const {
  return crypto::ConstantTimeEquals(view(), other.view());
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::ErrnoStatus(errno, absl::StrCat("opening ", path));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return base::ErrnoStatus(errno, absl::StrCat("stat ", path));
  if (!S_ISREG(st.st_mode)) return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, " holds a secret key but is accessible to other users; run chmod 600 ", path));
  }
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(path, " is larger than ", max_bytes, " bytes"));
  }
  // Sized once, so the buffer never moves (a moved buffer would leave an unwiped copy behind).
  SecretBytes out(static_cast<size_t>(st.st_size) + 1);
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(errno, absl::StrCat("reading ", path));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got == out.size()) return absl::ResourceExhaustedError(absl::StrCat(path, " grew while being read"));
  out.resize(got);
  return out;
}

absl::Status WriteSecretFile(const std::string& path, const SecretBytes& secret) {
  return base::WriteNewFile(path, secret.view(), 0600);
}

}  // namespace triad::crypto
