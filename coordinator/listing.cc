// What a party lists (its artifacts, the contracts and jobs it may read) and cancelling a job.
// Every list is a signed read scoped to the signer, with the rules of GetJob and GetContract: a
// party sees what it registered and the contracts in which it is one of the three parties or a
// named auditor, and their jobs; nothing else, not even that anything else exists.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/status.h"
#include "coordinator/coordinator.h"
#include "coordinator/internal/common.h"
#include "coordinator/request.h"

namespace triad::coordinator {

using internal::AddLog;
using internal::BodyString;
using internal::CheckBodyKeys;
using internal::ToStored;

namespace {

// The signer's place in a contract: its slot, or auditor; nullopt when it has none.
std::optional<std::string> PlaceOf(const contracts::Contract& c, const std::string& key_id) {
  if (std::optional<contracts::Role> slot = internal::SlotOfKey(c, key_id)) {
    return std::string(contracts::RoleName(*slot));
  }
  if (c.AuditorOfKeyId(key_id) != nullptr) return std::string("auditor");
  return std::nullopt;
}

}  // namespace

ContractInfo Coordinator::InfoOf(const CachedContract& c) const {
  ContractInfo info{c.stored.id, "active", c.stored.digest, ContractProblems(c, clock_.Now())};
  if (store_.GetRevocation(c.stored.id).ok()) {
    info.state = "revoked";
  } else if (!info.reasons.empty()) {
    info.state = "expired";
  }
  return info;
}

absl::StatusOr<PartyArtifacts> Coordinator::ListArtifacts(absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(PartyRequest req, VerifyPartyRequest(envelope_json, "list-artifacts"));
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(req.body(), {}));
  PartyArtifacts out;
  out.party = req.party.name;
  out.role = std::string(contracts::RoleName(req.card.role));
  out.fingerprint = req.card.fingerprint();
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Artifact> all, store_.ListArtifacts());
  for (const storage::Artifact& a : all) {
    if (a.owner != req.party.name) continue;
    out.artifacts.push_back(ArtifactInfo{a.id, std::string(storage::ArtifactKindName(a.kind)),
                                         a.name, a.owner, a.size, a.registered_at});
  }
  std::stable_sort(out.artifacts.begin(), out.artifacts.end(),
                   [](const ArtifactInfo& a, const ArtifactInfo& b) {
                     return a.registered < b.registered;
                   });
  return out;
}

absl::StatusOr<std::vector<ContractListing>> Coordinator::ListContracts(
    absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(LogReader reader, VerifyLogReader(envelope_json, "list-contracts"));
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(reader.body(), {}));
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Contract> stored, store_.ListContracts());
  std::vector<ContractListing> out;
  for (const storage::Contract& sc : stored) {
    absl::StatusOr<std::shared_ptr<const CachedContract>> c = LoadContract(sc.id);
    if (!c.ok()) continue;  // as VerifyLogReader does: a contract that does not check names nobody
    std::optional<std::string> place = PlaceOf((*c)->contract, reader.key_id);
    if (!place) continue;
    out.push_back(ContractListing{InfoOf(**c), *place, (*c)->contract.base_model.name,
                                  (*c)->contract.dataset.name, (*c)->contract.not_after,
                                  sc.created_at});
  }
  std::stable_sort(out.begin(), out.end(), [](const ContractListing& a, const ContractListing& b) {
    return a.created < b.created;
  });
  return out;
}

absl::StatusOr<std::vector<JobView>> Coordinator::ListJobs(absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(LogReader reader, VerifyLogReader(envelope_json, "list-jobs"));
  const nlohmann::json& body = reader.body();
  std::string only;
  if (body.is_object() && body.contains("contract_id")) {
    TRIAD_RETURN_IF_ERROR(CheckBodyKeys(body, {"contract_id"}));
    TRIAD_ASSIGN_OR_RETURN(only, BodyString(body, "contract_id"));
  } else {
    TRIAD_RETURN_IF_ERROR(CheckBodyKeys(body, {}));
  }
  std::vector<std::string> ids;
  if (!only.empty()) {
    ids.push_back(only);
  } else {
    TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Contract> stored, store_.ListContracts());
    for (const storage::Contract& sc : stored) ids.push_back(sc.id);
  }
  std::vector<JobView> out;
  for (const std::string& id : ids) {
    absl::StatusOr<std::shared_ptr<const CachedContract>> c = LoadContract(id);
    // A contract the signer may not read is answered as one that does not exist.
    if (!c.ok() || !PlaceOf((*c)->contract, reader.key_id)) {
      if (!only.empty() && (c.ok() || absl::IsNotFound(c.status()))) {
        return absl::NotFoundError(absl::StrCat("no contract ", only, " that this signer may read"));
      }
      if (!only.empty()) return c.status();
      continue;
    }
    const contracts::Contract& k = (*c)->contract;
    std::optional<contracts::Role> slot = internal::SlotOfKey(k, reader.key_id);
    const std::vector<contracts::Role>& metrics = k.outputs.metrics_recipients;
    const bool loss_visible =
        k.outputs.per_step_loss && slot &&
        std::find(metrics.begin(), metrics.end(), *slot) != metrics.end();
    TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Job> jobs, store_.ListJobsOfContract(id));
    for (const storage::Job& j : jobs) {
      TRIAD_ASSIGN_OR_RETURN(JobView v, View(j, loss_visible));
      out.push_back(std::move(v));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const JobView& a, const JobView& b) {
    return a.job.created_at < b.job.created_at;
  });
  return out;
}

absl::StatusOr<JobView> Coordinator::CancelJob(absl::string_view envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(PartyRequest req, VerifyPartyRequest(envelope_json, "cancel-job"));
  TRIAD_RETURN_IF_ERROR(CheckBodyKeys(req.body(), {"job_id", "reason"}));
  TRIAD_ASSIGN_OR_RETURN(std::string job_id, BodyString(req.body(), "job_id"));
  TRIAD_ASSIGN_OR_RETURN(std::string reason, BodyString(req.body(), "reason"));
  TRIAD_RETURN_IF_ERROR(internal::CheckReason(reason));
  TRIAD_RETURN_IF_ERROR(CheckUnused(req.request().request_id));
  TRIAD_ASSIGN_OR_RETURN(storage::Job job, store_.GetJob(job_id));
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<const CachedContract> c, LoadContract(job.contract_id));
  // Those who may submit a job may cancel one; the compute provider hands a job back instead.
  std::optional<contracts::Role> slot = internal::SlotOfKey(c->contract, req.card.fingerprint());
  if (!slot || *slot == contracts::Role::kComputeProvider) {
    return absl::PermissionDeniedError(absl::StrCat("party ", req.party.name,
                                                    " is not the model owner or data owner of "
                                                    "contract ",
                                                    job.contract_id, "; it cannot cancel its jobs"));
  }
  const absl::Time now = clock_.Now();
  const std::string why = absl::StrCat("cancelled by ", req.party.name, ": ", reason);
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  TRIAD_ASSIGN_OR_RETURN(job, txn.GetJob(job_id));  // its state now, under the write lock
  if (storage::IsTerminal(job.state)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job_id, " is already ", storage::JobStateName(job.state), "; nothing to cancel"));
  }
  TRIAD_RETURN_IF_ERROR(txn.RecordRequest(ToStored(req.verified, /*keep=*/true)));
  TRIAD_ASSIGN_OR_RETURN(
      storage::Job failed,
      txn.TransitionJob(job.id, storage::JobTransition::Fail(why).From(job.state)));
  TRIAD_RETURN_IF_ERROR(AddLog(txn, job.id, "job.failed", now,
                               {{"job_id", job.id}, {"attempt", job.attempt}, {"reason", why}}));
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  NotifyChange();
  return View(failed, false);
}

}  // namespace triad::coordinator
