// A bounded little-endian reader for the vendors' binary formats: every read checks the remaining
// length first and fails without moving when it is short. Private to attestation/.
#ifndef TRIAD_ATTESTATION_INTERNAL_LE_READER_H_
#define TRIAD_ATTESTATION_INTERNAL_LE_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace triad::attestation::internal {

class LeReader {
 public:
  explicit LeReader(absl::string_view data) : data_(data) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool Bytes(size_t n, std::string* out) {
    if (n > remaining()) return false;
    out->assign(data_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool U8(uint8_t* v) { return Uint(1, v); }
  bool U16(uint16_t* v) { return Uint(2, v); }
  bool U24(uint32_t* v) { return Uint(3, v); }
  bool U32(uint32_t* v) { return Uint(4, v); }
  bool U64(uint64_t* v) { return Uint(8, v); }

 private:
  template <typename T>
  bool Uint(size_t n, T* v) {
    if (remaining() < n) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(data_.data() + pos_);
    T x = 0;
    for (size_t i = n; i-- > 0;) x = static_cast<T>((x << 8) | p[i]);
    *v = x;
    pos_ += n;
    return true;
  }

  absl::string_view data_;
  size_t pos_ = 0;
};

}  // namespace triad::attestation::internal

#endif  // TRIAD_ATTESTATION_INTERNAL_LE_READER_H_
