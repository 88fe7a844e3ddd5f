// Helpers shared by the age tests.
#ifndef TRIAD_TESTS_CRYPTO_AGE_TEST_UTIL_H_
#define TRIAD_TESTS_CRYPTO_AGE_TEST_UTIL_H_

#include <algorithm>

#include "crypto/byte_stream.h"

namespace triad::crypto::age {

// A sequential view of another source (no random access) that returns at most `max` bytes per read,
// as a pipe does, to exercise the sequential decryption path and every buffer boundary.
class ShortReadSource : public ByteSource {
 public:
  ShortReadSource(ByteSource& in, size_t max) : in_(in), max_(max) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override { return in_.Read(buf, std::min(n, max_)); }

 private:
  ByteSource& in_;
  size_t max_;
};

}  // namespace triad::crypto::age

#endif  // TRIAD_TESTS_CRYPTO_AGE_TEST_UTIL_H_
