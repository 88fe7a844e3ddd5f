#include "coordinator/request.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "crypto/random.h"

namespace triad::coordinator {
namespace {

absl::Status Bad(absl::string_view why) { return absl::InvalidArgumentError(absl::StrCat("request: ", why)); }

}  // namespace

crypto::DsseEnvelope SignRequest(absl::string_view action, nlohmann::json body,
                                 const crypto::Ed25519PrivateKey& key, absl::Time now,
                                 absl::string_view audience) {
  nlohmann::ordered_json payload;
  payload["type"] = kRequestType;
  payload["action"] = std::string(action);
  payload["audience"] = std::string(audience);
  payload["issued_at"] = base::FormatRfc3339(now);
  payload["request_id"] = base::HexEncode(crypto::RandomString(16));
  payload["body"] = std::move(body);
  crypto::DsseEnvelope env{kRequestPayloadType, payload.dump(), {}};
  crypto::DsseSign(env, key);
  return env;
}

absl::StatusOr<Request> ParseRequestPayload(absl::string_view payload) {
  base::JsonLimits limits;
  limits.max_bytes = kMaxRequestSize;
  limits.max_depth = 16;
  TRIAD_ASSIGN_OR_RETURN(nlohmann::json j, base::Annotate(base::ParseJsonStrict(payload, limits), "request"));
  if (!j.is_object()) return Bad("payload is not a JSON object");
  for (const auto& [k, v] : j.items()) {
    if (k != "type" && k != "action" && k != "audience" && k != "issued_at" && k != "request_id" &&
        k != "body") {
      return Bad(absl::StrCat("unknown field \"", k, "\""));
    }
  }
  for (const char* f : {"type", "action", "audience", "issued_at", "request_id"}) {
    if (!j.contains(f) || !j[f].is_string()) return Bad(absl::StrCat("\"", f, "\" missing or not a string"));
  }
  if (j["type"] != kRequestType) return Bad(absl::StrCat("type must be \"", kRequestType, "\""));
  if (!j.contains("body") || !j["body"].is_object()) return Bad("\"body\" missing or not an object");
  Request r;
  r.action = j["action"];
  r.audience = j["audience"];
  if (!base::ParseRfc3339(j["issued_at"].get<std::string>(), &r.issued_at)) {
    return Bad("issued_at is not an RFC 3339 time");
  }
  r.request_id = j["request_id"];
  if (r.request_id.size() != 32 || !base::HexDecode(r.request_id).ok()) {
    return Bad("request_id must be 32 hex digits");
  }
  r.body = std::move(j["body"]);
  return r;
}

absl::StatusOr<VerifiedRequest> VerifyRequest(absl::string_view envelope_json,
                                              absl::string_view action, absl::Time now,
                                              const KeyLookup& lookup, absl::string_view audience) {
  TRIAD_ASSIGN_OR_RETURN(crypto::DsseEnvelope env, crypto::DsseEnvelope::FromJson(envelope_json, kMaxRequestSize));
  if (env.payload_type != kRequestPayloadType) {
    return Bad(absl::StrCat("payloadType must be ", kRequestPayloadType));
  }
  if (env.signatures.size() != 1) return Bad("must carry exactly one signature");
  absl::StatusOr<crypto::Ed25519PublicKey> key = lookup(env.signatures[0].keyid);
  if (!key.ok()) return key.status();
  if (absl::Status st = crypto::DsseVerifySignature(env, env.signatures[0], *key); !st.ok()) {
    return absl::PermissionDeniedError(absl::StrCat("request: ", st.message()));
  }
  TRIAD_ASSIGN_OR_RETURN(Request r, ParseRequestPayload(env.payload));
  if (r.action != action) {
    return Bad(absl::StrCat("action is \"", r.action, "\", this call performs \"", action, "\""));
  }
  if (r.audience != audience) {
    return absl::PermissionDeniedError(absl::StrCat("request is addressed to coordinator ",
                                                    absl::CHexEscape(r.audience.substr(0, 80)),
                                                    ", not to this one (", audience, ")"));
  }
  if (r.issued_at < now - kRequestMaxSkew || r.issued_at > now + kRequestMaxSkew) {
    absl::Duration off = r.issued_at - now;
    bool future = off > absl::ZeroDuration();
    return absl::DeadlineExceededError(
        absl::StrCat("request: issued_at ", base::FormatRfc3339(r.issued_at), " is ",
                     absl::ToInt64Minutes(future ? off : -off), " minutes ",
                     future ? "after" : "before", " the coordinator's time ",
                     base::FormatRfc3339(now), " (at most 5 either way); check the clocks"));
  }
  return VerifiedRequest{std::move(r), std::move(key).value(), std::move(env)};
}

}  // namespace triad::coordinator
