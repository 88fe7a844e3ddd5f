#include "crypto/internal/age_primitives.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <cstring>

#include "base/status.h"

namespace triad::crypto::age::internal {
namespace {

constexpr size_t kAeadNonceSize = 12;

// Fetched once: an explicit fetch spares OpenSSL a lookup on every use, and the fetched objects are
// immutable and safe to share between threads.
const EVP_CIPHER* ChaCha20Poly1305() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  return cipher;
}

EVP_KDF* Hkdf() {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}

EVP_MAC* Hmac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

OSSL_PARAM OctetParam(const char* key, absl::string_view value) {
  return OSSL_PARAM_construct_octet_string(key, const_cast<char*>(value.data()), value.size());
}

absl::StatusOr<SslPtr<EVP_CIPHER_CTX>> NewAeadContext(const SecretBytes& key, int encrypt) {
  if (key.size() != kAeadKeySize) {
    return absl::InvalidArgumentError("ChaCha20-Poly1305 key must be 32 bytes");
  }
  if (ChaCha20Poly1305() == nullptr) return OpenSslError("fetching ChaCha20-Poly1305");
  SslPtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_CipherInit_ex(ctx.get(), ChaCha20Poly1305(), nullptr, key.data(), nullptr,
                                encrypt) != 1) {
    return OpenSslError("initializing ChaCha20-Poly1305");
  }
  return ctx;
}

void ChunkNonce(uint64_t counter, bool final, uint8_t nonce[kAeadNonceSize]) {
  // 11-byte big-endian counter (the top three bytes stay zero), then the final-chunk flag.
  std::memset(nonce, 0, kAeadNonceSize);
  for (int i = 0; i < 8; ++i) nonce[10 - i] = static_cast<uint8_t>(counter >> (8 * i));
  nonce[11] = final ? 1 : 0;
}

absl::Status SealWith(EVP_CIPHER_CTX* ctx, const uint8_t nonce[kAeadNonceSize], const uint8_t* in,
                      size_t len, uint8_t* out) {
  int n1 = 0, n2 = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1 ||
      EVP_EncryptUpdate(ctx, out, &n1, in, static_cast<int>(len)) != 1 ||
      EVP_EncryptFinal_ex(ctx, out + n1, &n2) != 1 ||
      static_cast<size_t>(n1 + n2) != len ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTagSize, out + len) != 1) {
    return OpenSslError("ChaCha20-Poly1305 seal");
  }
  return absl::OkStatus();
}

bool OpenWith(EVP_CIPHER_CTX* ctx, const uint8_t nonce[kAeadNonceSize], const uint8_t* in,
              size_t len, uint8_t* out) {
  if (len < kTagSize) return false;
  size_t body = len - kTagSize;
  // The tag is copied first: with in == out, decryption never touches it (it lies past the
  // plaintext), but a copy keeps that independent of OpenSSL's internals.
  uint8_t tag[kTagSize];
  std::memcpy(tag, in + body, kTagSize);
  int n1 = 0, n2 = 0;
  bool ok = EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) == 1 &&
            EVP_DecryptUpdate(ctx, out, &n1, in, static_cast<int>(body)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTagSize, tag) == 1 &&
            EVP_DecryptFinal_ex(ctx, out + n1, &n2) == 1 && static_cast<size_t>(n1 + n2) == body;
  if (!ok) ClearOpenSslErrors();
  return ok;
}

}  // namespace

absl::StatusOr<SecretBytes> HkdfSha256(absl::string_view ikm, absl::string_view salt,
                                       absl::string_view info) {
  if (Hkdf() == nullptr) return OpenSslError("fetching HKDF");
  SslPtr<EVP_KDF_CTX> ctx(EVP_KDF_CTX_new(Hkdf()));
  OSSL_PARAM params[5];
  size_t i = 0;
  params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0);
  params[i++] = OctetParam(OSSL_KDF_PARAM_KEY, ikm);
  // HKDF-Extract with an empty salt uses HMAC with an empty key, which equals OpenSSL's default of
  // HashLen zero bytes; OpenSSL refuses a zero-length salt parameter, so it is left out.
  if (!salt.empty()) params[i++] = OctetParam(OSSL_KDF_PARAM_SALT, salt);
  params[i++] = OctetParam(OSSL_KDF_PARAM_INFO, info);
  params[i++] = OSSL_PARAM_construct_end();
  SecretBytes out(32);
  if (!ctx || EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return OpenSslError("HKDF-SHA-256");
  }
  return out;
}

absl::StatusOr<std::string> HmacSha256(absl::string_view key, absl::string_view data) {
  if (Hmac() == nullptr) return OpenSslError("fetching HMAC");
  SslPtr<EVP_MAC_CTX> ctx(EVP_MAC_CTX_new(Hmac()));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  std::string out(32, '\0');
  size_t len = 0;
  if (!ctx ||
      EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, out.size()) != 1 ||
      len != out.size()) {
    return OpenSslError("HMAC-SHA-256");
  }
  return out;
}

absl::StatusOr<std::string> SealZeroNonce(const SecretBytes& key, absl::string_view plaintext) {
  TRIAD_ASSIGN_OR_RETURN(SslPtr<EVP_CIPHER_CTX> ctx, NewAeadContext(key, 1));
  uint8_t nonce[kAeadNonceSize] = {};
  std::string out(plaintext.size() + kTagSize, '\0');
  absl::Status st = SealWith(ctx.get(), nonce, reinterpret_cast<const uint8_t*>(plaintext.data()),
                             plaintext.size(), reinterpret_cast<uint8_t*>(out.data()));
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<std::optional<SecretBytes>> OpenZeroNonce(const SecretBytes& key,
                                                         absl::string_view ciphertext) {
  if (ciphertext.size() < kTagSize) return std::optional<SecretBytes>();
  TRIAD_ASSIGN_OR_RETURN(SslPtr<EVP_CIPHER_CTX> ctx, NewAeadContext(key, 0));
  uint8_t nonce[kAeadNonceSize] = {};
  SecretBytes out(ciphertext.size() - kTagSize);
  if (!OpenWith(ctx.get(), nonce, reinterpret_cast<const uint8_t*>(ciphertext.data()),
                ciphertext.size(), out.data())) {
    return std::optional<SecretBytes>();
  }
  return std::optional<SecretBytes>(std::move(out));
}

absl::StatusOr<ChunkCipher> ChunkCipher::Create(const SecretBytes& payload_key, Direction direction) {
  TRIAD_ASSIGN_OR_RETURN(SslPtr<EVP_CIPHER_CTX> ctx,
                              NewAeadContext(payload_key, direction == Direction::kSeal ? 1 : 0));
  return ChunkCipher(std::move(ctx));
}

absl::Status ChunkCipher::Seal(uint64_t counter, bool final, const uint8_t* in, size_t len,
                               uint8_t* out) {
  uint8_t nonce[kAeadNonceSize];
  ChunkNonce(counter, final, nonce);
  return SealWith(ctx_.get(), nonce, in, len, out);
}

bool ChunkCipher::Open(uint64_t counter, bool final, const uint8_t* in, size_t len, uint8_t* out) {
  uint8_t nonce[kAeadNonceSize];
  ChunkNonce(counter, final, nonce);
  return OpenWith(ctx_.get(), nonce, in, len, out);
}

}  // namespace triad::crypto::age::internal
