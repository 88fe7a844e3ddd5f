#include "cli/keys.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace triad::cli {

absl::StatusOr<crypto::Ed25519PrivateKey> LoadSigningKey(const std::string& prefix) {
  return crypto::Ed25519PrivateKey::FromPemFile(prefix + ".signing.pem");
}

absl::StatusOr<PartyKeys> LoadPartyKeys(const std::string& prefix) {
  TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard card, contracts::PartyCard::FromFile(prefix + ".card.json"));
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, LoadSigningKey(prefix));
  TRIAD_ASSIGN_OR_RETURN(std::vector<crypto::age::X25519Identity> ids,
                         crypto::age::ReadIdentityFile(prefix + ".identity"));
  if (key.public_key() != card.signing_key) {
    return absl::FailedPreconditionError(
        absl::StrCat(prefix, ".signing.pem is not the key of ", prefix, ".card.json"));
  }
  bool found = false;
  for (const auto& id : ids) found = found || id.recipient() == card.age_recipient;
  if (!found) {
    return absl::FailedPreconditionError(
        absl::StrCat(prefix, ".identity does not hold the identity of ", prefix, ".card.json"));
  }
  return PartyKeys{std::move(card), std::move(key), std::move(ids)};
}

}  // namespace triad::cli
