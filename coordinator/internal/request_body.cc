#include "coordinator/internal/request_body.h"

#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "attestation/binding.h"
#include "base/encoding.h"
#include "base/status.h"
#include "contracts/claims.h"

namespace triad::coordinator::internal {
namespace {

absl::Status BadBody(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("request body: ", why));
}

}  // namespace

absl::Status CheckBodyKeys(const nlohmann::json& body, std::initializer_list<const char*> allowed) {
  for (const auto& [k, v] : body.items()) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || k == a;
    if (!ok) return BadBody(absl::StrCat("unknown field \"", k, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> BodyString(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string())
    return BadBody(absl::StrCat("\"", key, "\" missing or not a string"));
  return it->get<std::string>();
}

absl::StatusOr<uint64_t> BodyUint(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_number_unsigned()) {
    return BadBody(absl::StrCat("\"", key, "\" missing or not a non-negative integer"));
  }
  return it->get<uint64_t>();
}

absl::StatusOr<double> BodyNumber(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_number())
    return BadBody(absl::StrCat("\"", key, "\" missing or not a number"));
  double d = it->get<double>();
  if (!std::isfinite(d)) return BadBody(absl::StrCat("\"", key, "\" is not finite"));
  return d;
}

absl::Status CheckReason(absl::string_view reason) {
  bool ok = !reason.empty() && reason.size() <= 1024;
  for (char c : reason) ok = ok && (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  if (!ok)
    return absl::InvalidArgumentError(
        "request body: reason must be 1 to 1024 bytes without control characters");
  return absl::OkStatus();
}

bool IsSha256Id(absl::string_view id) {
  if (id.size() != 7 + 64 || id.substr(0, 7) != "sha256:") return false;
  for (char c : id.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::StatusOr<contracts::PartyCard> DecodeRegisterPartyBody(const nlohmann::json& body) {
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(body, {"card"}));
  if (!body.contains("card")) return absl::InvalidArgumentError("request body: \"card\" missing");
  return base::Annotate(contracts::PartyCard::FromJsonValue(body["card"]), "request body");
}

absl::StatusOr<RegisterArtifactBody> DecodeRegisterArtifactBody(const nlohmann::json& body) {
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(body, {"kind", "name", "id", "size"}));
  TRIAD_ASSIGN_OR_RETURN(std::string kind_name, BodyString(body, "kind"));
  TRIAD_ASSIGN_OR_RETURN(std::string name, BodyString(body, "name"));
  TRIAD_ASSIGN_OR_RETURN(std::string id, BodyString(body, "id"));
  TRIAD_ASSIGN_OR_RETURN(uint64_t size, BodyUint(body, "size"));
  contracts::Role owner_role;
  if (kind_name == "model") {
    owner_role = contracts::Role::kModelOwner;
  } else if (kind_name == "dataset") {
    owner_role = contracts::Role::kDataOwner;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("request body: kind \"",
                                                   absl::CHexEscape(kind_name),
                                                   "\" is not \"model\" or \"dataset\""));
  }
  TRIAD_RETURN_IF_ERROR(base::Annotate(contracts::ValidateName(name), "request body: name"));
  if (!IsSha256Id(id)) {
    return absl::InvalidArgumentError("request body: id is not sha256:<64 lower-case hex digits>");
  }
  if (size == 0) return absl::InvalidArgumentError("request body: size must be at least 1 byte");
  return RegisterArtifactBody{owner_role, std::move(name), std::move(id), size};
}

absl::StatusOr<PollBody> DecodePollBody(const nlohmann::json& body) {
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(body, {"worker_id", "tee"}));
  TRIAD_ASSIGN_OR_RETURN(std::string worker_id, BodyString(body, "worker_id"));
  TRIAD_ASSIGN_OR_RETURN(std::string tee, BodyString(body, "tee"));
  TRIAD_RETURN_IF_ERROR(
      base::Annotate(contracts::ValidateName(worker_id), "request body: worker_id"));
  if (tee != contracts::kTeeSevSnp && tee != contracts::kTeeTdx && tee != contracts::kTeeSim) {
    return absl::InvalidArgumentError(absl::StrCat("request body: tee \"", absl::CHexEscape(tee),
                                                   "\" is not sev-snp, tdx or sim"));
  }
  return PollBody{std::move(worker_id), std::move(tee)};
}

absl::StatusOr<AttestBody> DecodeAttestBody(const nlohmann::json& body) {
  TRIAD_RETURN_IF_ERROR(
      CheckBodyKeys(body, {"job_id", "worker_id", "nonce", "ed25519_public_key", "age_recipient"}));
  TRIAD_ASSIGN_OR_RETURN(std::string job_id, BodyString(body, "job_id"));
  TRIAD_ASSIGN_OR_RETURN(std::string worker_id, BodyString(body, "worker_id"));
  TRIAD_ASSIGN_OR_RETURN(std::string nonce_hex, BodyString(body, "nonce"));
  TRIAD_ASSIGN_OR_RETURN(std::string key_b64, BodyString(body, "ed25519_public_key"));
  TRIAD_ASSIGN_OR_RETURN(std::string recipient_text, BodyString(body, "age_recipient"));
  absl::StatusOr<std::string> nonce = base::HexDecode(nonce_hex);
  if (!nonce.ok() || nonce->size() != attestation::kBindingNonceSize) {
    return absl::InvalidArgumentError("request body: nonce is not 64 hex digits");
  }
  absl::StatusOr<std::string> key_raw = base::Base64Decode(key_b64);
  if (!key_raw.ok())
    return absl::InvalidArgumentError("request body: ed25519_public_key is not base64");
  TRIAD_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey eph_key,
                         base::Annotate(crypto::Ed25519PublicKey::FromRaw(*key_raw),
                                        "request body: ed25519_public_key"));
  TRIAD_ASSIGN_OR_RETURN(crypto::age::X25519Recipient eph_recipient,
                         base::Annotate(crypto::age::X25519Recipient::Parse(recipient_text),
                                        "request body: age_recipient"));
  return AttestBody{std::move(job_id), std::move(worker_id), *std::move(nonce), std::move(eph_key),
                    std::move(eph_recipient)};
}

absl::StatusOr<ProgressBody> DecodeProgressBody(const nlohmann::json& body) {
  TRIAD_RETURN_IF_ERROR(
      CheckBodyKeys(body, {"job_id", "step", "total_steps", "tokens_per_second", "loss"}));
  ProgressBody p;
  TRIAD_ASSIGN_OR_RETURN(p.step, BodyUint(body, "step"));
  TRIAD_ASSIGN_OR_RETURN(p.total_steps, BodyUint(body, "total_steps"));
  TRIAD_ASSIGN_OR_RETURN(p.tokens_per_second, BodyNumber(body, "tokens_per_second"));
  if (p.total_steps == 0 || p.total_steps > (uint64_t{1} << 40) || p.step > p.total_steps) {
    return absl::InvalidArgumentError(absl::StrCat("request body: step ", p.step,
                                                   " of total_steps ", p.total_steps,
                                                   " is not a step of a run"));
  }
  if (p.tokens_per_second < 0)
    return absl::InvalidArgumentError("request body: tokens_per_second is negative");
  return p;
}

absl::StatusOr<KeyholderAnswerBody> DecodeKeyholderAnswerBody(const nlohmann::json& body) {
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(body, {"release_id", "receipt", "header"}));
  KeyholderAnswerBody a;
  TRIAD_ASSIGN_OR_RETURN(a.release_id, BodyString(body, "release_id"));
  TRIAD_ASSIGN_OR_RETURN(a.receipt_json, BodyString(body, "receipt"));
  if (body.contains("header")) {
    TRIAD_ASSIGN_OR_RETURN(std::string b64, BodyString(body, "header"));
    absl::StatusOr<std::string> raw = base::Base64Decode(b64);
    if (!raw.ok()) return absl::InvalidArgumentError("request body: header is not base64");
    a.header = *std::move(raw);
  }
  return a;
}

absl::StatusOr<ExportBundleBody> DecodeExportBundleBody(const nlohmann::json& body,
                                                        absl::string_view job_id) {
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(body, {"job_id", "consistency_from", "witnessed"}));
  TRIAD_ASSIGN_OR_RETURN(std::string asked, BodyString(body, "job_id"));
  if (asked != job_id) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body: job_id is ", asked, ", not ", job_id));
  }
  ExportBundleBody b;
  if (body.contains("consistency_from")) {
    const nlohmann::json& list = body["consistency_from"];
    if (!list.is_array() || list.size() > 16) {
      return absl::InvalidArgumentError(
          "request body: consistency_from is not a list of at most 16 sizes");
    }
    for (const nlohmann::json& n : list) {
      if (!n.is_number_unsigned()) {
        return absl::InvalidArgumentError(
            "request body: consistency_from holds a value that is not a size");
      }
      b.consistency_from.push_back(n.get<uint64_t>());
    }
  }
  if (body.contains("witnessed")) {
    const nlohmann::json& n = body["witnessed"];
    if (!n.is_number_unsigned() || n.get<uint64_t>() < 1 || n.get<uint64_t>() > 16) {
      return absl::InvalidArgumentError("request body: witnessed is not a count from 1 to 16");
    }
    b.witnessed = n.get<int>();
  }
  return b;
}

absl::StatusOr<std::string> DecodeDeliverOutputBody(const nlohmann::json& body) {
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(body, {"job_id", "record"}));
  return BodyString(body, "record");
}

}  // namespace triad::coordinator::internal
