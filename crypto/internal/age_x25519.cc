#include "crypto/internal/age_x25519.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/internal/age_format.h"
#include "crypto/internal/age_primitives.h"

namespace triad::crypto::age::internal {
namespace {

constexpr absl::string_view kInfo = "age-encryption.org/v1/X25519";
constexpr size_t kWrappedKeySize = kFileKeySize + kTagSize;

absl::StatusOr<SecretBytes> WrapKey(const SecretBytes& shared, absl::string_view share,
                                    absl::string_view recipient) {
  return HkdfSha256(shared.view(), absl::StrCat(share, recipient), kInfo);
}

}  // namespace

absl::StatusOr<Stanza> WrapX25519(const SecretBytes& file_key, const X25519Recipient& recipient) {
  if (file_key.size() != kFileKeySize) {
    return absl::InvalidArgumentError("age: the file key must be 16 bytes");
  }
  // A fresh ephemeral key for every stanza (age spec: "A new ephemeral secret MUST be generated for
  // each stanza and each file").
  X25519Identity ephemeral = X25519Identity::Generate();
  const std::string& share = ephemeral.recipient().public_key();
  absl::StatusOr<SecretBytes> shared = X25519(ephemeral.secret(), recipient.public_key());
  if (!shared.ok()) {
    return absl::InvalidArgumentError("age: the recipient's public key is a low-order point");
  }
  TRIAD_ASSIGN_OR_RETURN(SecretBytes wrap_key, WrapKey(*shared, share, recipient.public_key()));
  TRIAD_ASSIGN_OR_RETURN(std::string body, SealZeroNonce(wrap_key, file_key.view()));
  return Stanza{{std::string(kX25519StanzaType), Base64Raw(share)}, std::move(body)};
}

absl::StatusOr<std::optional<SecretBytes>> UnwrapX25519(const Stanza& stanza,
                                                        const X25519Identity& identity) {
  if (stanza.args.empty() || stanza.args[0] != kX25519StanzaType) return std::optional<SecretBytes>();
  auto error = [](absl::string_view why) {
    return AgeError(ErrorKind::kHeader, absl::StrCat("X25519 stanza: ", why));
  };
  if (stanza.args.size() != 2) return error("must have exactly one argument, the ephemeral share");
  absl::StatusOr<std::string> share = Base64RawDecode(stanza.args[1]);
  if (!share.ok()) return error("the ephemeral share is not canonical unpadded base64");
  if (share->size() != kX25519KeySize) return error("the ephemeral share is not 32 bytes");
  if (stanza.body.size() != kWrappedKeySize) return error("the body is not a wrapped 16-byte file key");
  absl::StatusOr<SecretBytes> shared = X25519(identity.secret(), *share);
  if (!shared.ok()) return error("the ephemeral share is a low-order point");
  TRIAD_ASSIGN_OR_RETURN(SecretBytes wrap_key,
                         WrapKey(*shared, *share, identity.recipient().public_key()));
  return OpenZeroNonce(wrap_key, stanza.body);
}

}  // namespace triad::crypto::age::internal
