// Hex and base64 codecs for byte strings. Bytes are carried in std::string / absl::string_view.
//
// The decoders are strict: they accept exactly one encoding of each byte string (canonical padding
// bits, no whitespace, no mixed alphabets), because several formats Triad parses (age headers, DSSE
// signatures, checkpoints) must reject malleable input.
#ifndef TRIAD_BASE_ENCODING_H_
#define TRIAD_BASE_ENCODING_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace triad::base {

// Lower-case hex.
std::string HexEncode(absl::string_view bytes);
// Accepts upper or lower case; fails on odd length or a non-hex character.
absl::StatusOr<std::string> HexDecode(absl::string_view hex);

enum class Base64Padding { kWith, kWithout };

// Standard alphabet (RFC 4648 section 4).
std::string Base64Encode(absl::string_view bytes, Base64Padding padding = Base64Padding::kWith);
// Standard alphabet; padding must be exactly as `padding` says; non-zero trailing bits are rejected.
absl::StatusOr<std::string> Base64Decode(absl::string_view text,
                                         Base64Padding padding = Base64Padding::kWith);

}  // namespace triad::base

#endif  // TRIAD_BASE_ENCODING_H_
