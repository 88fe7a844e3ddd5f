// age X25519 keys (age-encryption.org/v1): recipients "age1…" (bech32, HRP "age", the 32-byte X25519
// public key) and identities "AGE-SECRET-KEY-1…" (bech32 upper case, HRP "AGE-SECRET-KEY-", the 32-byte
// X25519 secret), and identity files as `age -d -i` reads them.
#ifndef TRIAD_CRYPTO_AGE_KEYS_H_
#define TRIAD_CRYPTO_AGE_KEYS_H_

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/secret.h"

namespace triad::crypto::age {

inline constexpr size_t kX25519KeySize = 32;
// An identity file holds a handful of lines; anything larger is refused as hostile.
inline constexpr size_t kMaxIdentityFileSize = 1 << 20;

// A public X25519 recipient. Immutable, thread-safe.
class X25519Recipient {
 public:
  // Parses "age1…"; fails with kInvalidArgument on a wrong prefix, case mix, checksum, or length.
  static absl::StatusOr<X25519Recipient> Parse(absl::string_view text);
  // Fails unless `public_key` is 32 bytes.
  static absl::StatusOr<X25519Recipient> FromPublicKey(absl::string_view public_key);

  const std::string& public_key() const { return public_key_; }
  // "age1…", lower case.
  std::string ToString() const;

  bool operator==(const X25519Recipient& o) const { return public_key_ == o.public_key_; }

 private:
  explicit X25519Recipient(std::string pk) : public_key_(std::move(pk)) {}
  std::string public_key_;
};

// A secret X25519 identity. Move-only; the secret is wiped when it goes.
class X25519Identity {
 public:
  static X25519Identity Generate();
  // Parses one "AGE-SECRET-KEY-1…" line (upper case, as age writes it).
  static absl::StatusOr<X25519Identity> Parse(const SecretBytes& text);
  // Fails unless `secret` is 32 bytes.
  static absl::StatusOr<X25519Identity> FromSecret(SecretBytes secret);

  X25519Identity(X25519Identity&&) = default;
  X25519Identity& operator=(X25519Identity&&) = default;

  // The raw 32-byte X25519 scalar.
  const SecretBytes& secret() const { return secret_; }
  const X25519Recipient& recipient() const { return recipient_; }
  // "AGE-SECRET-KEY-1…", upper case.
  SecretBytes ToString() const;

 private:
  X25519Identity(SecretBytes secret, X25519Recipient recipient)
      : secret_(std::move(secret)), recipient_(std::move(recipient)) {}
  SecretBytes secret_;
  X25519Recipient recipient_;
};

// Parses an identity file: one identity per line; empty lines and lines starting with '#' are
// ignored; CRLF line ends are accepted. Fails (without echoing the line) on any other line, naming
// its number, and when the file holds no identity.
absl::StatusOr<std::vector<X25519Identity>> ParseIdentityFile(const SecretBytes& contents);

// Reads and parses an identity file (must not be accessible to group or others).
absl::StatusOr<std::vector<X25519Identity>> ReadIdentityFile(const std::string& path);

// The contents of a new identity file in the form `age-keygen` writes:
//   # created: 2026-11-24T10:00:00Z
//   # public key: age1…
//   AGE-SECRET-KEY-1…
SecretBytes FormatIdentityFile(const X25519Identity& identity, absl::string_view created_rfc3339);

// X25519(scalar, point): the shared secret. Fails with kInvalidArgument when the result is all zeros
// (a low-order point), as age requires.
absl::StatusOr<SecretBytes> X25519(const SecretBytes& scalar, absl::string_view point);
// The public key of a 32-byte scalar.
std::string X25519PublicKey(const SecretBytes& scalar);

}  // namespace triad::crypto::age

#endif  // TRIAD_CRYPTO_AGE_KEYS_H_
