#include "crypto/dsse.h"

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"

namespace triad::crypto {

std::string DssePae(absl::string_view payload_type, absl::string_view payload) {
  return absl::StrCat("DSSEv1 ", payload_type.size(), " ", payload_type, " ", payload.size(), " ",
                      payload);
}

std::string DsseEnvelope::ToJson() const {
  nlohmann::ordered_json j;
  j["payload"] = base::Base64Encode(payload);
  j["payloadType"] = payload_type;
  j["signatures"] = nlohmann::ordered_json::array();
  for (const DsseSignature& s : signatures) {
    nlohmann::ordered_json sj;
    sj["keyid"] = s.keyid;
    sj["sig"] = base::Base64Encode(s.sig);
    j["signatures"].push_back(std::move(sj));
  }
  return j.dump();
}

absl::StatusOr<DsseEnvelope> DsseEnvelope::FromJson(absl::string_view json, size_t max_bytes) {
  base::JsonLimits limits;
  limits.max_bytes = max_bytes;
  limits.max_depth = 4;
  TRIAD_ASSIGN_OR_RETURN(nlohmann::json j, base::Annotate(base::ParseJsonStrict(json, limits), "DSSE envelope"));
  auto bad = [](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("DSSE envelope: ", why));
  };
  if (!j.is_object()) return bad("not a JSON object");
  for (const auto& [k, v] : j.items()) {
    if (k != "payload" && k != "payloadType" && k != "signatures") {
      return bad(absl::StrCat("unknown field \"", k, "\""));
    }
  }
  if (!j.contains("payload") || !j["payload"].is_string()) return bad("\"payload\" missing or not a string");
  if (!j.contains("payloadType") || !j["payloadType"].is_string()) {
    return bad("\"payloadType\" missing or not a string");
  }
  if (!j.contains("signatures") || !j["signatures"].is_array()) {
    return bad("\"signatures\" missing or not an array");
  }
  DsseEnvelope env;
  env.payload_type = j["payloadType"].get<std::string>();
  absl::StatusOr<std::string> payload = base::Base64Decode(j["payload"].get<std::string>());
  if (!payload.ok()) return bad(absl::StrCat("payload: ", payload.status().message()));
  env.payload = std::move(*payload);
  for (const auto& s : j["signatures"]) {
    if (!s.is_object() || s.size() != 2 || !s.contains("keyid") || !s.contains("sig") ||
        !s["keyid"].is_string() || !s["sig"].is_string()) {
      return bad("each signature must be {\"keyid\": string, \"sig\": string}");
    }
    absl::StatusOr<std::string> sig = base::Base64Decode(s["sig"].get<std::string>());
    if (!sig.ok()) return bad(absl::StrCat("sig: ", sig.status().message()));
    env.signatures.push_back({s["keyid"].get<std::string>(), std::move(*sig)});
  }
  return env;
}

void DsseSign(DsseEnvelope& envelope, const Ed25519PrivateKey& key) {
  envelope.signatures.push_back(
      {key.public_key().KeyId(), key.Sign(DssePae(envelope.payload_type, envelope.payload))});
}

absl::Status DsseVerifySignature(const DsseEnvelope& envelope, const DsseSignature& signature,
                                 const Ed25519PublicKey& key) {
  if (signature.keyid != key.KeyId()) {
    return absl::UnauthenticatedError(
        absl::StrCat("signature keyid ", signature.keyid, " is not key ", key.KeyId()));
  }
  return base::Annotate(key.Verify(DssePae(envelope.payload_type, envelope.payload), signature.sig),
                        absl::StrCat("signature by ", key.KeyId()));
}

absl::Status DsseVerifySignedBy(const DsseEnvelope& envelope, const Ed25519PublicKey& key) {
  const DsseSignature* found = nullptr;
  for (const DsseSignature& s : envelope.signatures) {
    if (s.keyid != key.KeyId()) continue;
    if (found != nullptr) {
      return absl::UnauthenticatedError(absl::StrCat("more than one signature by ", key.KeyId()));
    }
    found = &s;
  }
  if (found == nullptr) return absl::UnauthenticatedError(absl::StrCat("no signature by ", key.KeyId()));
  return DsseVerifySignature(envelope, *found, key);
}

}  // namespace triad::crypto
