// Fuzzes the age ASCII armor decoder. Seeds: the armored vectors of the C2SP age test kit.
#include <cstddef>
#include <cstdint>
#include <string>

#include "crypto/age.h"

namespace age = triad::crypto::age;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = age::ArmorDecode(text);
  if (decoded.ok()) {
    // What decodes re-encodes to armor that decodes to the same bytes.
    auto again = age::ArmorDecode(age::ArmorEncode(*decoded));
    if (!again.ok() || *again != *decoded) __builtin_trap();
  } else if (age::GetErrorKind(decoded.status()) != age::ErrorKind::kArmor) {
    __builtin_trap();
  }
  // Any bytes armor and de-armor back to themselves.
  auto round = age::ArmorDecode(age::ArmorEncode(text));
  if (!round.ok() || *round != text) __builtin_trap();
  return 0;
}
