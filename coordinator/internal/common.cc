#include "coordinator/internal/common.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/status.h"

namespace triad::coordinator {

std::vector<std::string> Coordinator::CachedContract::InactiveReasons(absl::Time now) const {
  std::vector<std::string> reasons;
  // The wording of contracts::CheckContract.
  if (now < contract.not_before) {
    reasons.push_back(absl::StrCat("not yet valid: now ", base::FormatRfc3339(now),
                                   " is before not_before ",
                                   base::FormatRfc3339(contract.not_before)));
  }
  if (now >= contract.not_after) {
    reasons.push_back(absl::StrCat("expired: now ", base::FormatRfc3339(now),
                                   " is not before not_after ",
                                   base::FormatRfc3339(contract.not_after)));
  }
  return reasons;
}

namespace internal {
namespace {

absl::Status BadBody(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("request body: ", why));
}

}  // namespace

std::string LogEntry(absl::string_view kind, absl::Time time,
                     const nlohmann::ordered_json& fields) {
  nlohmann::ordered_json j;
  j["type"] = kLogEntryType;
  j["kind"] = std::string(kind);
  j["time"] = base::FormatRfc3339(time);
  for (const auto& [k, v] : fields.items()) j[k] = v;
  // Every string here came through strict (UTF-8 checking) parsing or is ours; replace, never
  // throw.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

absl::Status AddLog(storage::WriteTxn& txn, absl::string_view job_id, absl::string_view kind,
                    absl::Time time, const nlohmann::ordered_json& fields) {
  std::string entry = LogEntry(kind, time, fields);
  return txn.AddLoggedEvent({std::string(job_id), std::string(kind), entry, {}}, entry).status();
}

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

storage::StoredRequest ToStored(const VerifiedRequest& v, bool keep) {
  storage::StoredRequest r;
  r.request_id = v.request.request_id;
  r.action = v.request.action;
  r.signer = v.signer.KeyId();
  r.issued_at = v.request.issued_at;
  if (keep) r.envelope_json = v.envelope.ToJson();
  return r;
}

bool IsSha256Id(absl::string_view id) {
  if (id.size() != 7 + 64 || id.substr(0, 7) != "sha256:") return false;
  for (char c : id.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void HeaderPrefix::Take(absl::string_view chunk) {
  if (bytes_.size() < crypto::age::kMaxHeaderSize) {
    absl::string_view head = chunk.substr(0, crypto::age::kMaxHeaderSize - bytes_.size());
    bytes_.append(head.data(), head.size());
  }
}

absl::StatusOr<crypto::age::Header> HeaderPrefix::Parse(absl::string_view what) const {
  absl::StatusOr<crypto::age::Header> header = crypto::age::Header::Parse(bytes_);
  if (!header.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not an age v1 file: ", header.status().message()));
  }
  return header;
}

std::optional<contracts::Role> SlotOfKey(const contracts::Contract& c, absl::string_view key_id) {
  for (contracts::Role role : contracts::kContractRoles) {
    if (c.party(role).fingerprint() == key_id) return role;
  }
  return std::nullopt;
}

}  // namespace internal
}  // namespace triad::coordinator
