// Party cards: the public half of a party's keys, which other parties pin and contracts name.
//
//   {"type": "triad.card/v1", "name": "acme-bank", "role": "data-owner",
//    "age_recipient": "age1…", "ed25519_public_key": "<base64 of the 32-byte key>",
//    "fingerprint": "<hex SHA-256 of the key's SubjectPublicKeyInfo DER>"}
//
// The fingerprint is redundant on purpose: people compare it out of band, and parsing checks that it
// matches the key.
#ifndef TRIAD_CONTRACTS_CARD_H_
#define TRIAD_CONTRACTS_CARD_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"
#include "nlohmann/json.hpp"

namespace triad::contracts {

enum class Role { kModelOwner, kDataOwner, kComputeProvider, kAuditor };

// "model-owner", "data-owner", "compute-provider", "auditor".
absl::string_view RoleName(Role role);
absl::StatusOr<Role> ParseRole(absl::string_view name);

inline constexpr absl::string_view kCardType = "triad.card/v1";
inline constexpr size_t kMaxCardSize = 16 * 1024;

struct PartyCard {
  std::string name;  // 1..64 of [A-Za-z0-9._-]
  Role role;
  crypto::age::X25519Recipient age_recipient;
  crypto::Ed25519PublicKey signing_key;

  const std::string& fingerprint() const { return signing_key.KeyId(); }

  nlohmann::ordered_json ToJsonValue() const;
  // Pretty-printed JSON with a trailing newline.
  std::string ToJson() const;
  // Strict: exactly the six fields; a valid name, role, recipient and key; the fingerprint of the key.
  static absl::StatusOr<PartyCard> FromJsonValue(const nlohmann::json& j);
  static absl::StatusOr<PartyCard> FromJson(absl::string_view json);
  static absl::StatusOr<PartyCard> FromFile(const std::string& path);
};

// Checks a party or artifact name: 1..64 characters of [A-Za-z0-9._-], not starting with '.' or '-'.
absl::Status ValidateName(absl::string_view name);

}  // namespace triad::contracts

#endif  // TRIAD_CONTRACTS_CARD_H_
