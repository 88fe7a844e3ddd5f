#include "contracts/card.h"

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/json.h"
#include "base/status.h"

namespace triad::contracts {
namespace {

constexpr absl::string_view kRoleNames[] = {"model-owner", "data-owner", "compute-provider", "auditor"};

absl::Status Bad(absl::string_view why) { return absl::InvalidArgumentError(absl::StrCat("party card: ", why)); }

absl::StatusOr<std::string> StringField(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return Bad(absl::StrCat("missing \"", key, "\""));
  if (!it->is_string()) return Bad(absl::StrCat("\"", key, "\" must be a string"));
  return it->get<std::string>();
}

}  // namespace

absl::string_view RoleName(Role role) { return kRoleNames[static_cast<int>(role)]; }

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (kRoleNames[i] == name) return static_cast<Role>(i);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown role \"", name, "\" (expected model-owner, data-owner, compute-provider or auditor)"));
}

absl::Status ValidateName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return absl::InvalidArgumentError("name must be 1 to 64 characters");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return absl::InvalidArgumentError("name may hold only letters, digits, '.', '_' and '-'");
  }
  if (name.front() == '.' || name.front() == '-') {
    return absl::InvalidArgumentError("name must not start with '.' or '-'");
  }
  return absl::OkStatus();
}

nlohmann::ordered_json PartyCard::ToJsonValue() const {
  nlohmann::ordered_json j;
  j["type"] = kCardType;
  j["name"] = name;
  j["role"] = RoleName(role);
  j["age_recipient"] = age_recipient.ToString();
  j["ed25519_public_key"] = base::Base64Encode(signing_key.raw());
  j["fingerprint"] = fingerprint();
  return j;
}

std::string PartyCard::ToJson() const { return ToJsonValue().dump(2) + "\n"; }

absl::StatusOr<PartyCard> PartyCard::FromJsonValue(const nlohmann::json& j) {
  if (!j.is_object()) return Bad("not a JSON object");
  for (const auto& [k, v] : j.items()) {
    if (k != "type" && k != "name" && k != "role" && k != "age_recipient" && k != "ed25519_public_key" &&
        k != "fingerprint") {
      return Bad(absl::StrCat("unknown field \"", k, "\""));
    }
  }
  TRIAD_ASSIGN_OR_RETURN(std::string type, StringField(j, "type"));
  if (type != kCardType) return Bad(absl::StrCat("type must be \"", kCardType, "\""));
  TRIAD_ASSIGN_OR_RETURN(std::string name, StringField(j, "name"));
  if (absl::Status st = ValidateName(name); !st.ok()) return Bad(st.message());
  TRIAD_ASSIGN_OR_RETURN(std::string role_name, StringField(j, "role"));
  absl::StatusOr<Role> role = ParseRole(role_name);
  if (!role.ok()) return Bad(role.status().message());
  TRIAD_ASSIGN_OR_RETURN(std::string recipient_text, StringField(j, "age_recipient"));
  absl::StatusOr<crypto::age::X25519Recipient> recipient = crypto::age::X25519Recipient::Parse(recipient_text);
  if (!recipient.ok()) return Bad(recipient.status().message());
  TRIAD_ASSIGN_OR_RETURN(std::string key_b64, StringField(j, "ed25519_public_key"));
  absl::StatusOr<std::string> key_raw = base::Base64Decode(key_b64);
  if (!key_raw.ok()) return Bad(absl::StrCat("ed25519_public_key: ", key_raw.status().message()));
  absl::StatusOr<crypto::Ed25519PublicKey> key = crypto::Ed25519PublicKey::FromRaw(*key_raw);
  if (!key.ok()) return Bad(key.status().message());
  TRIAD_ASSIGN_OR_RETURN(std::string fingerprint, StringField(j, "fingerprint"));
  if (fingerprint != key->KeyId()) return Bad("fingerprint does not match ed25519_public_key");
  return PartyCard{std::move(name), *role, std::move(recipient).value(), std::move(key).value()};
}

absl::StatusOr<PartyCard> PartyCard::FromJson(absl::string_view json) {
  base::JsonLimits limits;
  limits.max_bytes = kMaxCardSize;
  limits.max_depth = 2;
  TRIAD_ASSIGN_OR_RETURN(nlohmann::json j, base::Annotate(base::ParseJsonStrict(json, limits), "party card"));
  return FromJsonValue(j);
}

absl::StatusOr<PartyCard> PartyCard::FromFile(const std::string& path) {
  TRIAD_ASSIGN_OR_RETURN(std::string text, base::ReadFile(path, kMaxCardSize));
  return base::Annotate(FromJson(text), path);
}

}  // namespace triad::contracts
