#include "crypto/ed25519.h"

#include <openssl/pem.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/status.h"
#include "crypto/hash.h"

namespace triad::crypto {
namespace {

constexpr size_t kMaxPemSize = 16 * 1024;

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string SpkiDer(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pkey, &der);
  if (len <= 0) std::abort();
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

SslPtr<EVP_PKEY> PkeyFromRaw(absl::string_view raw) {
  return SslPtr<EVP_PKEY>(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
}

}  // namespace

absl::StatusOr<Ed25519PublicKey> Ed25519PublicKey::FromRaw(absl::string_view raw) {
  if (raw.size() != kEd25519PublicKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("Ed25519 public key must be 32 bytes, got ", raw.size()));
  }
  SslPtr<EVP_PKEY> pkey = PkeyFromRaw(raw);
  if (!pkey) return OpenSslError("Ed25519 public key rejected", absl::StatusCode::kInvalidArgument);
  return Ed25519PublicKey(std::string(raw), base::HexEncode(Sha256(SpkiDer(pkey.get()))));
}

absl::StatusOr<Ed25519PublicKey> Ed25519PublicKey::FromPem(absl::string_view pem) {
  if (pem.size() > kMaxPemSize) return absl::InvalidArgumentError("public key PEM too large");
  SslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError("BIO_new_mem_buf");
  SslPtr<EVP_PKEY> pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) return OpenSslError("not a PEM public key", absl::StatusCode::kInvalidArgument);
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("PEM public key is not an Ed25519 key");
  }
  std::string raw(kEd25519PublicKeySize, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
      len != kEd25519PublicKeySize) {
    return OpenSslError("reading Ed25519 public key");
  }
  return FromRaw(raw);
}

std::string Ed25519PublicKey::ToDer() const { return SpkiDer(PkeyFromRaw(raw_).get()); }

std::string Ed25519PublicKey::ToPem() const {
  SslPtr<EVP_PKEY> pkey = PkeyFromRaw(raw_);
  SslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || !pkey || PEM_write_bio_PUBKEY(bio.get(), pkey.get()) != 1) std::abort();
  return BioContents(bio.get());
}

absl::Status Ed25519PublicKey::Verify(absl::string_view message, absl::string_view signature) const {
  if (signature.size() != kEd25519SignatureSize) {
    return absl::UnauthenticatedError(
        absl::StrCat("Ed25519 signature must be 64 bytes, got ", signature.size()));
  }
  SslPtr<EVP_PKEY> pkey = PkeyFromRaw(raw_);
  SslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (!pkey || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    return OpenSslError("Ed25519 verify init");
  }
  int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                            message.size());
  if (ok != 1) {
    ClearOpenSslErrors();
    return absl::UnauthenticatedError("Ed25519 signature does not verify");
  }
  return absl::OkStatus();
}

Ed25519PrivateKey Ed25519PrivateKey::Generate() {
  SslPtr<EVP_PKEY> pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!pkey) std::abort();
  absl::StatusOr<Ed25519PrivateKey> key = FromPkey(std::move(pkey));
  if (!key.ok()) std::abort();
  return std::move(key).value();
}

absl::StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromPkey(SslPtr<EVP_PKEY> pkey) {
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("private key is not an Ed25519 key");
  }
  std::string raw(kEd25519PublicKeySize, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), reinterpret_cast<unsigned char*>(raw.data()), &len) != 1) {
    return OpenSslError("reading Ed25519 public key");
  }
  TRIAD_ASSIGN_OR_RETURN(Ed25519PublicKey pub, Ed25519PublicKey::FromRaw(raw));
  return Ed25519PrivateKey(std::move(pkey), std::move(pub));
}

absl::StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromPem(const SecretBytes& pem) {
  if (pem.size() > kMaxPemSize) return absl::InvalidArgumentError("private key PEM too large");
  SslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError("BIO_new_mem_buf");
  // An empty passphrase callback: encrypted PEM is refused rather than prompting on a terminal.
  SslPtr<EVP_PKEY> pkey(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!pkey) return OpenSslError("not an unencrypted PEM private key", absl::StatusCode::kInvalidArgument);
  return FromPkey(std::move(pkey));
}

absl::StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromPemFile(const std::string& path) {
  TRIAD_ASSIGN_OR_RETURN(SecretBytes pem, ReadSecretFile(path, kMaxPemSize));
  return base::Annotate(FromPem(pem), path);
}

SecretBytes Ed25519PrivateKey::ToPem() const {
  // A secure-memory BIO: OpenSSL wipes its buffer when it is freed.
  SslPtr<BIO> bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    std::abort();
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return SecretBytes::CopyFrom(absl::string_view(data, static_cast<size_t>(len)));
}

std::string Ed25519PrivateKey::Sign(absl::string_view message) const {
  SslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  std::string sig(kEd25519SignatureSize, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != kEd25519SignatureSize) {
    std::abort();
  }
  return sig;
}

}  // namespace triad::crypto
