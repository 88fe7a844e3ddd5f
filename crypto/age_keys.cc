#include "crypto/age_keys.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/internal/bech32.h"
#include "crypto/random.h"
#include "crypto/ssl_ptr.h"

namespace triad::crypto::age {
namespace {

constexpr absl::string_view kRecipientHrp = "age";
constexpr absl::string_view kIdentityHrp = "AGE-SECRET-KEY-";

SslPtr<EVP_PKEY> PrivateKey(const SecretBytes& scalar) {
  return SslPtr<EVP_PKEY>(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, scalar.data(), scalar.size()));
}

}  // namespace

absl::StatusOr<X25519Recipient> X25519Recipient::Parse(absl::string_view text) {
  absl::StatusOr<internal::Bech32Decoded> dec = internal::Bech32Decode(text);
  if (!dec.ok()) return base::Annotate(dec.status(), "age recipient");
  if (dec->hrp != kRecipientHrp) {
    return absl::InvalidArgumentError("age recipient: not an \"age1…\" X25519 recipient");
  }
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') return absl::InvalidArgumentError("age recipient: must be lower case");
  }
  return base::Annotate(FromPublicKey(dec->data.view()), "age recipient");
}

absl::StatusOr<X25519Recipient> X25519Recipient::FromPublicKey(absl::string_view public_key) {
  if (public_key.size() != kX25519KeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("X25519 public key must be 32 bytes, got ", public_key.size()));
  }
  return X25519Recipient(std::string(public_key));
}

std::string X25519Recipient::ToString() const {
  return std::string(internal::Bech32Encode(kRecipientHrp, public_key_).view());
}

X25519Identity X25519Identity::Generate() {
  absl::StatusOr<X25519Identity> id = FromSecret(RandomSecret(kX25519KeySize));
  if (!id.ok()) std::abort();
  return std::move(id).value();
}

absl::StatusOr<X25519Identity> X25519Identity::FromSecret(SecretBytes secret) {
  if (secret.size() != kX25519KeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("X25519 secret key must be 32 bytes, got ", secret.size()));
  }
  TRIAD_ASSIGN_OR_RETURN(X25519Recipient r, X25519Recipient::FromPublicKey(X25519PublicKey(secret)));
  return X25519Identity(std::move(secret), std::move(r));
}

absl::StatusOr<X25519Identity> X25519Identity::Parse(const SecretBytes& text) {
  // The error never repeats the text: it is a secret key.
  absl::StatusOr<internal::Bech32Decoded> dec = internal::Bech32Decode(text.view());
  if (!dec.ok()) return base::Annotate(dec.status(), "age identity");
  if (dec->hrp != "age-secret-key-") {
    return absl::InvalidArgumentError("age identity: not an \"AGE-SECRET-KEY-1…\" X25519 identity");
  }
  for (uint8_t c : text.view()) {
    if (c >= 'a' && c <= 'z') return absl::InvalidArgumentError("age identity: must be upper case");
  }
  return base::Annotate(FromSecret(std::move(dec->data)), "age identity");
}

SecretBytes X25519Identity::ToString() const {
  SecretBytes s = internal::Bech32Encode(kIdentityHrp, secret_.view());
  for (size_t i = 0; i < s.size(); ++i) {
    uint8_t& c = s.data()[i];
    if (c >= 'a' && c <= 'z') c = static_cast<uint8_t>(c - 'a' + 'A');
  }
  return s;
}

absl::StatusOr<std::vector<X25519Identity>> ParseIdentityFile(const SecretBytes& contents) {
  if (contents.size() > kMaxIdentityFileSize) {
    return absl::ResourceExhaustedError("identity file too large");
  }
  std::vector<X25519Identity> out;
  absl::string_view rest = contents.view();
  int line_no = 0;
  while (!rest.empty()) {
    ++line_no;
    size_t nl = rest.find('\n');
    absl::string_view line = rest.substr(0, nl);
    rest = nl == absl::string_view::npos ? absl::string_view() : rest.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, kIdentityHrp.size()) != kIdentityHrp) {
      return absl::InvalidArgumentError(absl::StrCat(
          "identity file line ", line_no, ": not an X25519 identity (\"AGE-SECRET-KEY-1…\")"));
    }
    absl::StatusOr<X25519Identity> id = X25519Identity::Parse(SecretBytes::CopyFrom(line));
    if (!id.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("identity file line ", line_no, ": ", id.status().message()));
    }
    out.push_back(std::move(id).value());
  }
  if (out.empty()) return absl::InvalidArgumentError("identity file holds no identity");
  return out;
}

absl::StatusOr<std::vector<X25519Identity>> ReadIdentityFile(const std::string& path) {
  TRIAD_ASSIGN_OR_RETURN(SecretBytes contents, ReadSecretFile(path, kMaxIdentityFileSize));
  return base::Annotate(ParseIdentityFile(contents), path);
}

SecretBytes FormatIdentityFile(const X25519Identity& identity, absl::string_view created_rfc3339) {
  SecretBytes out;
  out.append(absl::StrCat("# created: ", created_rfc3339, "\n# public key: ",
                          identity.recipient().ToString(), "\n"));
  out.append(identity.ToString().view());
  out.append("\n");
  return out;
}

absl::StatusOr<SecretBytes> X25519(const SecretBytes& scalar, absl::string_view point) {
  if (scalar.size() != kX25519KeySize || point.size() != kX25519KeySize) {
    return absl::InvalidArgumentError("X25519: keys must be 32 bytes");
  }
  SslPtr<EVP_PKEY> priv = PrivateKey(scalar);
  SslPtr<EVP_PKEY> peer(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_X25519, nullptr, reinterpret_cast<const unsigned char*>(point.data()), point.size()));
  if (!priv || !peer) return OpenSslError("X25519 key", absl::StatusCode::kInvalidArgument);
  SslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new(priv.get(), nullptr));
  SecretBytes shared(kX25519KeySize);
  size_t len = shared.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != kX25519KeySize) {
    // OpenSSL itself refuses an all-zero result (low-order point).
    ClearOpenSslErrors();
    return absl::InvalidArgumentError("X25519: low-order point or invalid share");
  }
  uint8_t acc = 0;
  for (size_t i = 0; i < shared.size(); ++i) acc |= shared.data()[i];
  if (acc == 0) return absl::InvalidArgumentError("X25519: all-zero shared secret");
  return shared;
}

std::string X25519PublicKey(const SecretBytes& scalar) {
  SslPtr<EVP_PKEY> priv = PrivateKey(scalar);
  std::string pub(kX25519KeySize, '\0');
  size_t len = pub.size();
  if (!priv || EVP_PKEY_get_raw_public_key(priv.get(), reinterpret_cast<unsigned char*>(pub.data()), &len) != 1) {
    std::abort();
  }
  return pub;
}

}  // namespace triad::crypto::age
