#include "coordinator/internal/common.h"

#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "spdlog/spdlog.h"

namespace triad::coordinator {

std::vector<std::string> Coordinator::ContractProblems(const CachedContract& c,
                                                       absl::Time now) const {
  std::vector<std::string> reasons = c.InactiveReasons(now);
  absl::StatusOr<storage::Revocation> r = store_.GetRevocation(c.stored.id);
  if (r.ok()) {
    reasons.push_back(absl::StrCat("revoked by ", r->party, " at ",
                                   base::FormatRfc3339(r->revoked_at), ": ", r->reason));
  } else if (!absl::IsNotFound(r.status())) {
    reasons.push_back(absl::StrCat("revocation state unknown: ", r.status().message()));
  }
  return reasons;
}

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

absl::StatusOr<ArtifactInfo> DiscardBlobUnlessRecorded(storage::BlobStore& blobs,
                                                       absl::string_view id, bool existed,
                                                       absl::StatusOr<ArtifactInfo> recorded) {
  if (recorded.ok() || existed) return recorded;
  if (absl::Status rm = blobs.Remove(id); !rm.ok()) {
    spdlog::warn("blob {} was stored but not recorded ({}), and could not be removed: {}",
                 std::string(id), std::string(recorded.status().message()),
                 std::string(rm.message()));
  }
  return recorded;
}

std::string EntryHash(absl::string_view entry) { return base::HexEncode(crypto::Sha256(entry)); }

bool IsTerminalEntry(absl::string_view kind) { return kind == "job.done" || kind == "job.failed"; }

absl::Status AddLog(storage::WriteTxn& txn, absl::string_view job_id, absl::string_view kind,
                    absl::Time time, const nlohmann::ordered_json& fields) {
  nlohmann::ordered_json chained = fields;
  storage::LogScope scope;
  std::optional<std::string> job_chain;       // the job whose chain this entry extends
  std::optional<std::string> contract_chain;  // the contract whose chain this entry extends
  if (!job_id.empty()) {
    // The job's hash chain (docs/custody.md): every entry names the one before; the first and the
    // terminal ones also name the newest entry of the contract's own chain.
    TRIAD_ASSIGN_OR_RETURN(storage::Job job, txn.GetJob(job_id));
    if (!job.chain_head.empty()) chained["prev"] = job.chain_head;
    if (kind == "job.submitted" || IsTerminalEntry(kind)) {
      TRIAD_ASSIGN_OR_RETURN(storage::Contract c, txn.GetContract(job.contract_id));
      chained["contract_head"] = c.chain_head;
    }
    scope.contract_id = job.contract_id;
    job_chain = job.id;
  } else if (absl::StartsWith(kind, "contract.")) {
    std::string contract_id = fields.value("contract_id", "");
    TRIAD_ASSIGN_OR_RETURN(storage::Contract c, txn.GetContract(contract_id));
    if (!c.chain_head.empty()) chained["prev"] = c.chain_head;
    scope.contract_id = contract_id;
    contract_chain = contract_id;
  } else if (kind == "party.registered" || kind == "party.removed") {
    scope.party = fields.value("name", "");
  } else if (kind == "artifact.registered") {
    scope.party = fields.value("owner", "");
  }
  std::string entry = LogEntry(kind, time, chained);
  TRIAD_RETURN_IF_ERROR(
      txn.AddLoggedEvent({std::string(job_id), std::string(kind), entry, {}}, entry, scope)
          .status());
  if (job_chain) TRIAD_RETURN_IF_ERROR(txn.SetJobChainHead(*job_chain, EntryHash(entry)));
  if (contract_chain)
    TRIAD_RETURN_IF_ERROR(txn.SetContractChainHead(*contract_chain, EntryHash(entry)));
  return absl::OkStatus();
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

void HeaderPrefix::Take(absl::string_view chunk) {
  if (bytes_.size() < crypto::age::kMaxHeaderSize) {
    absl::string_view head = chunk.substr(0, crypto::age::kMaxHeaderSize - bytes_.size());
    bytes_.append(head.data(), head.size());
  }
}

absl::StatusOr<bool> HeaderPrefix::CheckOwnerHeader(bool complete) const {
  absl::string_view trimmed = bytes_;
  while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\n' ||
                              trimmed.front() == '\r' || trimmed.front() == '\t')) {
    trimmed.remove_prefix(1);
  }
  constexpr absl::string_view kArmorBegin = "-----BEGIN AGE ENCRYPTED FILE-----";
  if (absl::StartsWith(trimmed,
                       kArmorBegin.substr(0, std::min(trimmed.size(), kArmorBegin.size()))) &&
      !trimmed.empty()) {
    if (trimmed.size() < kArmorBegin.size() && !complete) return false;  // need more bytes
    if (absl::StartsWith(trimmed, kArmorBegin)) {
      return absl::InvalidArgumentError(
          "artifact is ASCII-armored; upload the binary age file (encrypt without -a)");
    }
  }
  absl::StatusOr<crypto::age::Header> header = crypto::age::Header::Parse(bytes_);
  if (!header.ok()) {
    // A header that does not end yet may end in the next chunk; past the bound it never will.
    if (!complete && bytes_.size() < kMaxArtifactHeaderSize) return false;
    if (bytes_.size() >= kMaxArtifactHeaderSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("artifact's age header does not end within ", kMaxArtifactHeaderSize,
                       " bytes; an artifact has exactly one X25519 stanza, its owner's"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("artifact is not an age v1 file: ", header.status().message()));
  }
  const std::vector<crypto::age::Stanza>& stanzas = header->stanzas();
  if (stanzas.size() != 1 || stanzas[0].args.empty() || stanzas[0].args[0] != "X25519") {
    std::vector<std::string> types;
    for (const crypto::age::Stanza& st : stanzas) {
      types.push_back(st.args.empty() ? std::string("?")
                                      : absl::CHexEscape(st.args[0].substr(0, 32)));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "artifact's age header has ", stanzas.size(), " stanza(s) (", absl::StrJoin(types, ", "),
        "); an artifact is encrypted to its owner's release recipient alone: exactly one X25519 "
        "stanza (the coordinator holds no key and accepts nothing also encrypted to another "
        "recipient)"));
  }
  return true;
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
