// A party's key pair on disk, as `triad keygen` writes it and `--as DIR/NAME` names it:
//   DIR/NAME.identity     age identity file (0600)
//   DIR/NAME.signing.pem  Ed25519 PKCS#8 PEM (0600)
//   DIR/NAME.card.json    the public card
#ifndef TRIAD_CLI_KEYS_H_
#define TRIAD_CLI_KEYS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "contracts/card.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"

namespace triad::cli {

struct PartyKeys {
  contracts::PartyCard card;
  crypto::Ed25519PrivateKey signing_key;
  std::vector<crypto::age::X25519Identity> identities;
};

// Loads DIR/NAME.{card.json,signing.pem,identity} and checks that they belong together (the card names
// the signing key's public key and the identity's recipient).
absl::StatusOr<PartyKeys> LoadPartyKeys(const std::string& prefix);

// Loads only the signing key and card (for commands that sign and never decrypt).
absl::StatusOr<crypto::Ed25519PrivateKey> LoadSigningKey(const std::string& prefix);

}  // namespace triad::cli

#endif  // TRIAD_CLI_KEYS_H_
