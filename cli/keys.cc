#include "cli/keys.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace triad::cli {
namespace {

// A key file that is not there is said in terms of --as, which names it.
absl::Status CheckExists(const std::string& prefix, const char* suffix) {
  const std::string path = prefix + suffix;
  if (::access(path.c_str(), F_OK) == 0) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat(
      "--as ", prefix, ": there is no ", path,
      " (--as names the keys DIR/NAME that `triad keygen --dir DIR --name NAME` wrote)"));
}

}  // namespace

absl::StatusOr<crypto::Ed25519PrivateKey> LoadSigningKey(const std::string& prefix) {
  TRIAD_RETURN_IF_ERROR(CheckExists(prefix, ".signing.pem"));
  return crypto::Ed25519PrivateKey::FromPemFile(prefix + ".signing.pem");
}

absl::StatusOr<PartyKeys> LoadPartyKeys(const std::string& prefix) {
  TRIAD_RETURN_IF_ERROR(CheckExists(prefix, ".card.json"));
  TRIAD_RETURN_IF_ERROR(CheckExists(prefix, ".identity"));
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
