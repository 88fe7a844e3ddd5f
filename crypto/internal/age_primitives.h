// The primitives age is built from (age spec, "Conventions"): HKDF-SHA-256 with 32-byte output,
// HMAC-SHA-256, and ChaCha20-Poly1305 (RFC 7539), on OpenSSL 3.
#ifndef TRIAD_CRYPTO_INTERNAL_AGE_PRIMITIVES_H_
#define TRIAD_CRYPTO_INTERNAL_AGE_PRIMITIVES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secret.h"
#include "crypto/ssl_ptr.h"

namespace triad::crypto::age::internal {

inline constexpr size_t kAeadKeySize = 32;
inline constexpr size_t kTagSize = 16;

// HKDF-SHA-256(ikm, salt, info) with 32 bytes of output. An empty salt is RFC 5869's default salt.
absl::StatusOr<SecretBytes> HkdfSha256(absl::string_view ikm, absl::string_view salt,
                                       absl::string_view info);

// HMAC-SHA-256(key, data): 32 bytes.
absl::StatusOr<std::string> HmacSha256(absl::string_view key, absl::string_view data);

// ChaCha20-Poly1305 with the all-zero nonce, as stanzas use it (the key is used once).
absl::StatusOr<std::string> SealZeroNonce(const SecretBytes& key, absl::string_view plaintext);
// nullopt when the tag does not verify (or `ciphertext` is shorter than a tag).
absl::StatusOr<std::optional<SecretBytes>> OpenZeroNonce(const SecretBytes& key,
                                                         absl::string_view ciphertext);

// ChaCha20-Poly1305 for payload chunks: one OpenSSL context, keyed once, reused for every chunk
// (only the nonce changes). The nonce is the chunk counter as 11 big-endian bytes, then 0x01 for
// the final chunk and 0x00 otherwise (age spec, "Payload"). One per thread; not thread-safe.
class ChunkCipher {
 public:
  enum class Direction { kSeal, kOpen };
  static absl::StatusOr<ChunkCipher> Create(const SecretBytes& payload_key, Direction direction);

  // Seals `len` bytes from `in` into `out` (len + 16 bytes: ciphertext, then the tag). `in` and
  // `out` may be the same buffer.
  absl::Status Seal(uint64_t counter, bool final, const uint8_t* in, size_t len, uint8_t* out);
  // Opens `len` bytes (ciphertext and its 16-byte tag, len >= 16) into `out` (len - 16 bytes).
  // Returns false when the tag does not verify; `out` then holds garbage the caller must not use.
  bool Open(uint64_t counter, bool final, const uint8_t* in, size_t len, uint8_t* out);

 private:
  explicit ChunkCipher(SslPtr<EVP_CIPHER_CTX> ctx) : ctx_(std::move(ctx)) {}
  SslPtr<EVP_CIPHER_CTX> ctx_;
};

}  // namespace triad::crypto::age::internal

#endif  // TRIAD_CRYPTO_INTERNAL_AGE_PRIMITIVES_H_
