// SecretBytes: the one type that holds key material and plaintext of secrets.
//
// Move-only; its memory is wiped (OPENSSL_cleanse) whenever it is released, including the old buffer
// when it grows; it never prints; copies are explicit (Clone); comparison is constant-time.
#ifndef TRIAD_CRYPTO_SECRET_H_
#define TRIAD_CRYPTO_SECRET_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace triad::crypto {

// An allocator that wipes memory before giving it back.
template <typename T>
struct ZeroizingAllocator {
  using value_type = T;
  ZeroizingAllocator() = default;
  template <typename U>
  ZeroizingAllocator(const ZeroizingAllocator<U>&) {}  // NOLINT: allocator conversion
  T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, size_t n);
  // Elements made without a value are default-initialized (bytes: left as they are), so that a large
  // buffer about to be overwritten is not zero-filled first (SecretBytes::Uninitialized).
  // SecretBytes zeroes explicitly everywhere else.
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <typename U>
  bool operator==(const ZeroizingAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const ZeroizingAllocator<U>&) const { return false; }
};

void SecureWipe(void* p, size_t n);

template <typename T>
void ZeroizingAllocator<T>::deallocate(T* p, size_t n) {
  SecureWipe(p, n * sizeof(T));
  std::allocator<T>().deallocate(p, n);
}

class SecretBytes {
 public:
  SecretBytes() = default;
  // `n` zero bytes.
  explicit SecretBytes(size_t n) : bytes_(n, 0) {}
  // `n` bytes of unspecified contents, for a buffer the caller fills completely before reading it
  // (skips zero-filling large buffers). Still wiped when released.
  static SecretBytes Uninitialized(size_t n);
  // Copies `bytes` in. The caller remains responsible for wiping its own copy.
  static SecretBytes CopyFrom(absl::string_view bytes);

  SecretBytes(SecretBytes&& other) noexcept = default;
  SecretBytes& operator=(SecretBytes&& other) noexcept = default;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes() = default;  // the allocator wipes

  SecretBytes Clone() const;

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  // A borrowed view, for handing to crypto primitives. Never store or print it.
  absl::string_view view() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
  }

  // New bytes are zero.
  void resize(size_t n) { bytes_.resize(n, 0); }
  void reserve(size_t n) { bytes_.reserve(n); }
  void append(absl::string_view more);
  // Wipes and empties.
  void clear();

  // Constant-time in the contents (the sizes are not secret).
  bool ConstantTimeEquals(const SecretBytes& other) const;

 private:
  std::vector<uint8_t, ZeroizingAllocator<uint8_t>> bytes_;
};

// Constant-time comparison of equal-sized byte strings; false when sizes differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// Reads a key file straight into SecretBytes (no intermediate unwiped buffers). Fails with
// kPermissionDenied when the file is readable or writable by group or others, kResourceExhausted when it
// is larger than `max_bytes`.
absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path, size_t max_bytes);

// Creates a new file with mode 0600 holding `secret`, durably; fails with kAlreadyExists rather than
// overwrite a key.
absl::Status WriteSecretFile(const std::string& path, const SecretBytes& secret);

}  // namespace triad::crypto

#endif  // TRIAD_CRYPTO_SECRET_H_
