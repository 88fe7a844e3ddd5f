// Coordinator::ExportBundle: the audit bundle of one job (format in bundle.h).
#include "verify/bundle.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "coordinator/coordinator.h"
#include "coordinator/internal/common.h"

namespace triad::coordinator {
namespace {

// Stored documents were checked when they came in; parse them back into objects.
absl::StatusOr<nlohmann::ordered_json> Object(absl::string_view json) {
  // Validated first, so the parse that keeps the key order cannot throw.
  TRIAD_RETURN_IF_ERROR(base::ParseJsonStrict(json, {8 << 20, 64}).status());
  return nlohmann::ordered_json::parse(json.begin(), json.end());
}

}  // namespace

absl::StatusOr<std::string> Coordinator::ExportBundle(absl::string_view job_id) {
  TRIAD_ASSIGN_OR_RETURN(storage::Job job, store_.GetJob(job_id));
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<const CachedContract> c, LoadContract(job.contract_id));
  const contracts::Contract& contract = c->contract;
  // The checkpoint first: every entry at an index below its size is in its tree.
  TRIAD_ASSIGN_OR_RETURN(storage::LogCheckpoint checkpoint, store_.log().LatestCheckpoint());

  // Which entries: the job's events, and the contract's, inputs' and parties' events.
  std::set<std::string> fingerprints;
  for (contracts::Role role : contracts::kContractRoles)
    fingerprints.insert(contract.party(role).fingerprint());
  std::set<uint64_t> indices;
  int64_t after = 0;
  for (;;) {
    TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Event> events, store_.ListEvents(after, "", 1000));
    for (const storage::Event& e : events) {
      after = e.id;
      if (!e.log_index || *e.log_index >= checkpoint.size) continue;
      bool take = e.job_id == job.id;
      if (!take && e.job_id.empty()) {
        absl::StatusOr<nlohmann::json> d = base::ParseJsonStrict(e.detail_json);
        if (!d.ok() || !d->is_object()) continue;
        if (e.kind == "contract.signature" || e.kind == "contract.activated") {
          take = d->value("contract_id", "") == contract.id;
        } else if (e.kind == "artifact.registered") {
          std::string id = d->value("id", "");
          take = id == contract.base_model.id || id == contract.dataset.id;
        } else if (e.kind == "party.registered") {
          take = fingerprints.count(d->value("fingerprint", "")) > 0;
        }
      }
      if (take) indices.insert(*e.log_index);
    }
    if (events.size() < 1000) break;
  }

  nlohmann::ordered_json b;
  b["type"] = verify::kAuditBundleType;
  b["job_id"] = job.id;
  b["exported_at"] = base::FormatRfc3339(clock_.Now());
  b["log_origin"] = store_.log_verifier().name();
  TRIAD_ASSIGN_OR_RETURN(nlohmann::ordered_json contract_env, Object(c->stored.envelope_json));
  b["contract"] = {{"id", contract.id}, {"digest", c->stored.digest}, {"envelope", contract_env}};
  nlohmann::ordered_json j;
  j["state"] = storage::JobStateName(job.state);
  j["attempt"] = job.attempt;
  if (job.state == storage::JobState::kDone) j["output_id"] = job.output_artifact;
  if (job.state == storage::JobState::kFailed) j["failure_reason"] = job.failure_reason;
  TRIAD_ASSIGN_OR_RETURN(j["submission"], Object(job.envelope_json));
  b["job"] = std::move(j);

  absl::StatusOr<storage::JobRecord> record = store_.GetJobRecord(job.id);
  if (record.ok()) {
    nlohmann::ordered_json r;
    TRIAD_ASSIGN_OR_RETURN(r["worker"], Object(record->worker_envelope_json));
    TRIAD_ASSIGN_OR_RETURN(r["coordinator"], Object(record->coordinator_envelope_json));
    b["job_record"] = std::move(r);
  } else if (absl::IsNotFound(record.status())) {
    b["job_record"] = nullptr;
  } else {
    return record.status();
  }

  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Admission> admissions, store_.ListAdmissions(job.id));
  nlohmann::ordered_json adm = nlohmann::ordered_json::array();
  for (const storage::Admission& a : admissions) {
    nlohmann::ordered_json x;
    x["attempt"] = a.attempt;
    x["worker_id"] = a.worker_id;
    x["decided_at"] = base::FormatRfc3339(a.decided_at);
    x["admitted"] = a.admitted;
    TRIAD_ASSIGN_OR_RETURN(x["reasons"], Object(a.reasons_json));
    x["simulated"] = a.simulated;
    x["evidence_digest"] = a.evidence_digest;
    x["evidence_document"] = a.evidence;
    TRIAD_ASSIGN_OR_RETURN(x["claims"], Object(a.claims_json));
    adm.push_back(std::move(x));
  }
  b["admissions"] = std::move(adm);

  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::KeyRelease> releases, store_.ListKeyReleases(job.id));
  nlohmann::ordered_json rel = nlohmann::ordered_json::array();
  for (const storage::KeyRelease& r : releases) {
    rel.push_back({{"artifact_id", r.artifact_id},
                   {"recipient", r.recipient},
                   {"released_at", base::FormatRfc3339(r.released_at)}});
  }
  b["key_releases"] = std::move(rel);

  nlohmann::ordered_json entries = nlohmann::ordered_json::array();
  for (uint64_t i : indices) {
    TRIAD_ASSIGN_OR_RETURN(std::string entry, store_.log().Entry(i));
    TRIAD_ASSIGN_OR_RETURN(std::vector<std::string> proof,
                           store_.log().InclusionProof(i, checkpoint.size));
    nlohmann::ordered_json hashes = nlohmann::ordered_json::array();
    for (const std::string& h : proof) hashes.push_back(base::Base64Encode(h));
    entries.push_back({{"index", i}, {"entry", entry}, {"inclusion_proof", std::move(hashes)}});
  }
  b["log"] = {{"checkpoint", checkpoint.signed_note},
              {"tree_size", checkpoint.size},
              {"entries", std::move(entries)}};
  return b.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace triad::coordinator
