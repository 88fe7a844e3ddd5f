// Ed25519 signing keys (RFC 8032) on OpenSSL.
//
// Private keys are stored as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), readable by `openssl pkey`;
// public keys as raw 32 bytes (in documents: base64) or SubjectPublicKeyInfo PEM.
// The key id of a public key is the lower-case hex SHA-256 of its SubjectPublicKeyInfo DER, the same
// as `openssl pkey -pubin -outform DER | sha256sum`.
#ifndef TRIAD_CRYPTO_ED25519_H_
#define TRIAD_CRYPTO_ED25519_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "crypto/secret.h"
#include "crypto/ssl_ptr.h"

namespace triad::crypto {

inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

// Immutable and thread-safe.
class Ed25519PublicKey {
 public:
  // Fails with kInvalidArgument unless `raw` is 32 bytes that OpenSSL accepts as a key.
  static absl::StatusOr<Ed25519PublicKey> FromRaw(absl::string_view raw);
  // Accepts "-----BEGIN PUBLIC KEY-----" PEM of an Ed25519 key and nothing else.
  static absl::StatusOr<Ed25519PublicKey> FromPem(absl::string_view pem);

  const std::string& raw() const { return raw_; }
  std::string ToPem() const;
  // SubjectPublicKeyInfo DER.
  std::string ToDer() const;
  // Lower-case hex SHA-256 of ToDer(); 64 characters.
  const std::string& KeyId() const { return key_id_; }

  // OK when `signature` is a valid Ed25519 signature of `message` by this key; otherwise
  // kUnauthenticated ("Ed25519 signature does not verify").
  absl::Status Verify(absl::string_view message, absl::string_view signature) const;

  bool operator==(const Ed25519PublicKey& o) const { return raw_ == o.raw_; }
  bool operator!=(const Ed25519PublicKey& o) const { return raw_ != o.raw_; }

 private:
  Ed25519PublicKey(std::string raw, std::string key_id) : raw_(std::move(raw)), key_id_(std::move(key_id)) {}
  std::string raw_;
  std::string key_id_;
};

// Move-only; the key material lives inside OpenSSL, which wipes it when freed.
class Ed25519PrivateKey {
 public:
  static Ed25519PrivateKey Generate();
  // Parses PKCS#8 PEM; fails unless it holds an Ed25519 private key.
  static absl::StatusOr<Ed25519PrivateKey> FromPem(const SecretBytes& pem);
  // Reads the PEM from a file, failing if it is group- or world-readable.
  static absl::StatusOr<Ed25519PrivateKey> FromPemFile(const std::string& path);

  // PKCS#8 PEM.
  SecretBytes ToPem() const;
  const Ed25519PublicKey& public_key() const { return public_key_; }
  // A 64-byte signature of `message`.
  std::string Sign(absl::string_view message) const;

 private:
  Ed25519PrivateKey(SslPtr<EVP_PKEY> pkey, Ed25519PublicKey pub)
      : pkey_(std::move(pkey)), public_key_(std::move(pub)) {}
  static absl::StatusOr<Ed25519PrivateKey> FromPkey(SslPtr<EVP_PKEY> pkey);
  SslPtr<EVP_PKEY> pkey_;
  Ed25519PublicKey public_key_;
};

}  // namespace triad::crypto

#endif  // TRIAD_CRYPTO_ED25519_H_
