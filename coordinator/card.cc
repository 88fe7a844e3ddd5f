#include "coordinator/card.h"

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/json.h"
#include "base/status.h"
#include "contracts/card.h"
#include "coordinator/tls.h"

namespace triad::coordinator {
namespace {

constexpr size_t kMaxCardSize = 64 * 1024;

absl::Status Bad(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("coordinator card: ", why));
}

}  // namespace

std::string CoordinatorCard::ToJson() const {
  nlohmann::ordered_json j;
  j["type"] = kCoordinatorCardType;
  j["name"] = name;
  j["ed25519_public_key"] = base::Base64Encode(signing_key.raw());
  j["fingerprint"] = signing_key.KeyId();
  j["tls_certificate"] = tls_certificate_pem;
  j["tls_fingerprint"] = tls_fingerprint;
  j["log_origin"] = log_origin;
  return j.dump(2) + "\n";
}

absl::StatusOr<CoordinatorCard> CoordinatorCard::FromJson(absl::string_view json) {
  base::JsonLimits limits;
  limits.max_bytes = kMaxCardSize;
  limits.max_depth = 2;
  TRIAD_ASSIGN_OR_RETURN(nlohmann::json j, base::Annotate(base::ParseJsonStrict(json, limits), "coordinator card"));
  if (!j.is_object()) return Bad("not a JSON object");
  static constexpr const char* kFields[] = {"type",
                                            "name",
                                            "ed25519_public_key",
                                            "fingerprint",
                                            "tls_certificate",
                                            "tls_fingerprint",
                                            "log_origin"};
  if (j.contains("type") && j["type"] == kCoordinatorCardTypeV1) {
    return Bad(
        "this is a triad.coordinator-card/v1, whose coordinator held a key-broker identity that "
        "opens "
        "every artifact; this version holds none (docs/custody.md). Ask the operator for the card "
        "of a "
        "coordinator set up with this version (triad coordinator card --dir STATE)");
  }
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (const char* f : kFields) known = known || k == f;
    if (!known) return Bad(absl::StrCat("unknown field \"", k, "\""));
  }
  for (const char* f : kFields) {
    if (!j.contains(f) || !j[f].is_string()) return Bad(absl::StrCat("\"", f, "\" missing or not a string"));
  }
  if (j["type"] != kCoordinatorCardType) return Bad(absl::StrCat("type must be \"", kCoordinatorCardType, "\""));
  std::string name = j["name"];
  if (absl::Status st = contracts::ValidateName(name); !st.ok()) return Bad(st.message());
  absl::StatusOr<std::string> raw = base::Base64Decode(j["ed25519_public_key"].get<std::string>());
  if (!raw.ok()) return Bad(absl::StrCat("ed25519_public_key: ", raw.status().message()));
  absl::StatusOr<crypto::Ed25519PublicKey> key = crypto::Ed25519PublicKey::FromRaw(*raw);
  if (!key.ok()) return Bad(key.status().message());
  if (j["fingerprint"] != key->KeyId()) return Bad("fingerprint does not match ed25519_public_key");
  std::string cert = j["tls_certificate"];
  absl::StatusOr<std::string> tls_fp = CertificateFingerprint(cert);
  if (!tls_fp.ok()) return Bad(absl::StrCat("tls_certificate: ", tls_fp.status().message()));
  if (j["tls_fingerprint"] != *tls_fp) return Bad("tls_fingerprint does not match tls_certificate");
  std::string origin = j["log_origin"];
  if (origin.empty() || origin.size() > 256 || origin.find('\n') != std::string::npos) {
    return Bad("log_origin must be one non-empty line");
  }
  return CoordinatorCard{std::move(name), std::move(key).value(), std::move(cert),
                         std::move(*tls_fp), std::move(origin)};
}

absl::StatusOr<CoordinatorCard> CoordinatorCard::FromFile(const std::string& path) {
  TRIAD_ASSIGN_OR_RETURN(std::string text, base::ReadFile(path, kMaxCardSize));
  return base::Annotate(FromJson(text), path);
}

}  // namespace triad::coordinator
