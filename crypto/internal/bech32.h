// Bech32 (BIP 173) as age uses it: the original checksum constant (not bech32m), no 90-character
// limit, and the whole string in one case. Private to crypto/.
#ifndef TRIAD_CRYPTO_INTERNAL_BECH32_H_
#define TRIAD_CRYPTO_INTERNAL_BECH32_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "crypto/secret.h"

namespace triad::crypto::internal {

// Encodes `data` (8-bit bytes) under human-readable part `hrp`; the result is lower case. Returned as
// SecretBytes (an identity's encoding is its secret); intermediate copies are wiped.
SecretBytes Bech32Encode(absl::string_view hrp, absl::string_view data);

struct Bech32Decoded {
  std::string hrp;   // lower case
  SecretBytes data;  // 8-bit bytes; secret for identities, so held (and wiped) as a secret
};

// Decodes a string that is all lower or all upper case; checks the checksum and that the 5-to-8 bit
// conversion leaves no non-zero padding. Intermediate copies of the data are wiped.
absl::StatusOr<Bech32Decoded> Bech32Decode(absl::string_view text);

}  // namespace triad::crypto::internal

#endif  // TRIAD_CRYPTO_INTERNAL_BECH32_H_
