#include "verify/receipt.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "nlohmann/json.hpp"

namespace triad::verify {
namespace {

absl::Status Bad(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("release receipt: ", why));
}

constexpr const char* kKeys[] = {"type",
                                 "decision",
                                 "final",
                                 "release_id",
                                 "contract_id",
                                 "contract_digest",
                                 "job_id",
                                 "attempt",
                                 "artifact_id",
                                 "recipient",
                                 "ed25519_public_key",
                                 "evidence_digest",
                                 "admission_index",
                                 "checkpoint_size",
                                 "checkpoint_root",
                                 "header_digest",
                                 "job_ordinal",
                                 "reasons",
                                 "time"};

// Strings here are ids, digests and reasons: bounded, and a reason at most 1 KiB.
constexpr size_t kMaxField = 1024;
constexpr size_t kMaxReasons = 64;

}  // namespace

std::string ReleaseReceipt::ToPayload() const {
  nlohmann::ordered_json j;
  j["type"] = kReleaseType;
  j["decision"] = release ? "release" : "refuse";
  j["final"] = final;
  j["release_id"] = release_id;
  j["contract_id"] = contract_id;
  j["contract_digest"] = contract_digest;
  j["job_id"] = job_id;
  j["attempt"] = attempt;
  j["artifact_id"] = artifact_id;
  j["recipient"] = recipient;
  j["ed25519_public_key"] = base::Base64Encode(ed25519_public_key);
  j["evidence_digest"] = evidence_digest;
  j["admission_index"] = admission_index;
  j["checkpoint_size"] = checkpoint_size;
  j["checkpoint_root"] = base::Base64Encode(checkpoint_root);
  j["header_digest"] = header_digest;
  j["job_ordinal"] = job_ordinal;
  j["reasons"] = reasons;
  j["time"] = base::FormatRfc3339(time);
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

absl::StatusOr<ReleaseReceipt> ReleaseReceipt::FromPayload(absl::string_view payload) {
  base::JsonLimits limits;
  limits.max_bytes = kMaxReceiptSize;
  limits.max_depth = 4;
  TRIAD_ASSIGN_OR_RETURN(nlohmann::json j,
                         base::Annotate(base::ParseJsonStrict(payload, limits), "release receipt"));
  if (!j.is_object()) return Bad("payload is not a JSON object");
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (const char* key : kKeys) known = known || k == key;
    if (!known) return Bad(absl::StrCat("unknown field \"", k.substr(0, 64), "\""));
  }
  for (const char* key : kKeys) {
    if (!j.contains(key)) return Bad(absl::StrCat("\"", key, "\" is missing"));
  }
  auto str = [&](const char* key, std::string* out) -> absl::Status {
    if (!j[key].is_string()) return Bad(absl::StrCat("\"", key, "\" is not a string"));
    *out = j[key].get<std::string>();
    if (out->size() > kMaxField)
      return Bad(absl::StrCat("\"", key, "\" is longer than 1024 bytes"));
    return absl::OkStatus();
  };
  auto num = [&](const char* key, uint64_t* out) -> absl::Status {
    if (!j[key].is_number_unsigned())
      return Bad(absl::StrCat("\"", key, "\" is not a non-negative integer"));
    *out = j[key].get<uint64_t>();
    return absl::OkStatus();
  };
  ReleaseReceipt r;
  std::string type, decision, key_b64, root_b64, time;
  TRIAD_RETURN_IF_ERROR(str("type", &type));
  if (type != kReleaseType) return Bad(absl::StrCat("type must be \"", kReleaseType, "\""));
  TRIAD_RETURN_IF_ERROR(str("decision", &decision));
  if (decision != "release" && decision != "refuse")
    return Bad("decision must be \"release\" or \"refuse\"");
  r.release = decision == "release";
  if (!j["final"].is_boolean()) return Bad("\"final\" is not a boolean");
  r.final = j["final"].get<bool>();
  TRIAD_RETURN_IF_ERROR(str("release_id", &r.release_id));
  TRIAD_RETURN_IF_ERROR(str("contract_id", &r.contract_id));
  TRIAD_RETURN_IF_ERROR(str("contract_digest", &r.contract_digest));
  TRIAD_RETURN_IF_ERROR(str("job_id", &r.job_id));
  TRIAD_RETURN_IF_ERROR(num("attempt", &r.attempt));
  TRIAD_RETURN_IF_ERROR(str("artifact_id", &r.artifact_id));
  TRIAD_RETURN_IF_ERROR(str("recipient", &r.recipient));
  TRIAD_RETURN_IF_ERROR(str("ed25519_public_key", &key_b64));
  TRIAD_RETURN_IF_ERROR(str("evidence_digest", &r.evidence_digest));
  TRIAD_RETURN_IF_ERROR(num("admission_index", &r.admission_index));
  TRIAD_RETURN_IF_ERROR(num("checkpoint_size", &r.checkpoint_size));
  TRIAD_RETURN_IF_ERROR(str("checkpoint_root", &root_b64));
  TRIAD_RETURN_IF_ERROR(str("header_digest", &r.header_digest));
  TRIAD_RETURN_IF_ERROR(num("job_ordinal", &r.job_ordinal));
  TRIAD_RETURN_IF_ERROR(str("time", &time));
  if (!base::ParseRfc3339(time, &r.time)) return Bad("time is not an RFC 3339 time");
  absl::StatusOr<std::string> key = base::Base64Decode(key_b64);
  absl::StatusOr<std::string> root = base::Base64Decode(root_b64);
  if (!key.ok() || (!key->empty() && key->size() != 32))
    return Bad("ed25519_public_key is not 32 bytes of base64");
  if (!root.ok() || (!root->empty() && root->size() != 32))
    return Bad("checkpoint_root is not 32 bytes of base64");
  r.ed25519_public_key = *std::move(key);
  r.checkpoint_root = *std::move(root);
  if (!j["reasons"].is_array() || j["reasons"].size() > kMaxReasons) {
    return Bad("reasons is not an array of at most 64 strings");
  }
  for (const nlohmann::json& reason : j["reasons"]) {
    if (!reason.is_string() || reason.get<std::string>().size() > kMaxField) {
      return Bad("reasons holds something that is not a string of at most 1024 bytes");
    }
    r.reasons.push_back(reason.get<std::string>());
  }
  if (r.release) {
    if (r.final) return Bad("a release is never final");
    if (!r.reasons.empty()) return Bad("a release carries no reasons");
    if (r.header_digest.size() != 71 || r.header_digest.substr(0, 7) != "sha256:") {
      return Bad("a release names the re-wrapped header's digest (sha256:<hex>)");
    }
    if (r.recipient.empty() || r.ed25519_public_key.empty() || r.checkpoint_root.empty()) {
      return Bad("a release names the worker's recipient and key and the checkpoint it checked");
    }
    if (r.job_ordinal == 0) return Bad("a release names which of the contract's jobs it counts as");
  } else {
    if (r.reasons.empty()) return Bad("a refusal carries its reasons");
    if (!r.header_digest.empty()) return Bad("a refusal names no header");
    if (r.job_ordinal != 0) return Bad("a refusal counts no job");
  }
  return r;
}

crypto::DsseEnvelope SignReceipt(const ReleaseReceipt& receipt,
                                 const crypto::Ed25519PrivateKey& owner_key) {
  crypto::DsseEnvelope env{kReleasePayloadType, receipt.ToPayload(), {}};
  crypto::DsseSign(env, owner_key);
  return env;
}

absl::StatusOr<ReleaseReceipt> OpenReceipt(absl::string_view envelope_json,
                                           const crypto::Ed25519PublicKey& owner_key) {
  TRIAD_ASSIGN_OR_RETURN(
      crypto::DsseEnvelope env,
      base::Annotate(crypto::DsseEnvelope::FromJson(envelope_json, 2 * kMaxReceiptSize),
                     "release receipt"));
  if (env.payload_type != kReleasePayloadType) {
    return Bad(absl::StrCat("payloadType must be ", kReleasePayloadType));
  }
  if (env.signatures.size() != 1) return Bad("must carry exactly one signature");
  if (!crypto::DsseVerifySignature(env, env.signatures[0], owner_key).ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("release receipt is not signed by the owner's key ", owner_key.KeyId()));
  }
  return ReleaseReceipt::FromPayload(env.payload);
}

}  // namespace triad::verify
