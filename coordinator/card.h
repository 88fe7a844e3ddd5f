// The coordinator card: what parties pin about a coordinator before they deposit anything.
//
//   {"type": "triad.coordinator-card/v2", "name": "…",
//    "ed25519_public_key": "<base64>",           (signs log checkpoints and job records; its
//                                                 fingerprint is the audience of every request)
//    "fingerprint": "<hex SHA-256 of the key's SPKI DER>",
//    "tls_certificate": "-----BEGIN CERTIFICATE-----…",   (the only certificate clients accept)
//    "tls_fingerprint": "<hex SHA-256 of the certificate DER>",
//    "log_origin": "<the origin line of its checkpoints>"}
//
// Version 2 dropped v1's "key_broker_recipient": the coordinator holds no key that opens any
// artifact (docs/custody.md). A v1 card is refused with that reason.
#ifndef TRIAD_COORDINATOR_CARD_H_
#define TRIAD_COORDINATOR_CARD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"

namespace triad::coordinator {

inline constexpr char kCoordinatorCardType[] = "triad.coordinator-card/v2";
inline constexpr char kCoordinatorCardTypeV1[] = "triad.coordinator-card/v1";

struct CoordinatorCard {
  std::string name;
  crypto::Ed25519PublicKey signing_key;
  std::string tls_certificate_pem;
  std::string tls_fingerprint;
  std::string log_origin;

  std::string ToJson() const;
  // Strict: exactly the fields above; the fingerprints must match the key and the certificate.
  static absl::StatusOr<CoordinatorCard> FromJson(absl::string_view json);
  static absl::StatusOr<CoordinatorCard> FromFile(const std::string& path);
};

}  // namespace triad::coordinator

#endif  // TRIAD_COORDINATOR_CARD_H_
