// The X25519 recipient stanza (age spec, "X25519 recipient stanza"):
//   -> X25519 <base64 ephemeral share>
//   <base64 of ChaCha20-Poly1305(wrap key, zero nonce, file key)>
// wrap key = HKDF-SHA-256(X25519(secret, share), salt = share || recipient,
//                         info = "age-encryption.org/v1/X25519").
#ifndef TRIAD_CRYPTO_INTERNAL_AGE_X25519_H_
#define TRIAD_CRYPTO_INTERNAL_AGE_X25519_H_

#include <optional>

#include "absl/status/statusor.h"
#include "crypto/age.h"
#include "crypto/age_keys.h"
#include "crypto/secret.h"

namespace triad::crypto::age::internal {

inline constexpr absl::string_view kX25519StanzaType = "X25519";

// A stanza wrapping `file_key` to `recipient`, with a fresh ephemeral key.
absl::StatusOr<Stanza> WrapX25519(const SecretBytes& file_key, const X25519Recipient& recipient);

// The file key, or nullopt when the stanza is not an X25519 stanza or does not open with `identity`.
// Fails with kHeader when an X25519 stanza is malformed: not exactly one argument after the type,
// a share that is not canonical base64 of 32 bytes, a body that is not 32 bytes (checked before
// decrypting, against partitioning oracles), or a low-order share (all-zero shared secret).
absl::StatusOr<std::optional<SecretBytes>> UnwrapX25519(const Stanza& stanza,
                                                        const X25519Identity& identity);

}  // namespace triad::crypto::age::internal

#endif  // TRIAD_CRYPTO_INTERNAL_AGE_X25519_H_
