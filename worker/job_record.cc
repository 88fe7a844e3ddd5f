#include "worker/job_record.h"

#include "absl/strings/str_cat.h"
#include "base/encoding.h"

namespace triad::worker {

std::string JobRecord::SubjectName() const { return absl::StrCat(job_id, ".adapter.tar.age"); }

std::string JobRecord::ToPayload() const {
  nlohmann::ordered_json subject;
  subject["name"] = SubjectName();
  subject["digest"]["sha256"] = adapter_sha256;

  nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
  inputs.push_back({{"role", "base_model"}, {"id", base_model_id}});
  inputs.push_back({{"role", "dataset"}, {"id", dataset_id}});

  nlohmann::ordered_json worker;
  worker["tee"] = tee;
  worker["evidence_digest"] = evidence_digest;
  worker["claims"] = claims;
  worker["simulated"] = simulated;
  worker["ed25519_public_key"] = base::Base64Encode(ed25519_public_key);
  worker["age_recipient"] = age_recipient;

  nlohmann::ordered_json training;
  training["steps"] = steps;
  training["tokens"] = tokens;
  training["wall_seconds"] = wall_seconds;

  nlohmann::ordered_json predicate;
  predicate["job_id"] = job_id;
  predicate["contract_id"] = contract_id;
  predicate["contract_digest"] = contract_digest;
  predicate["inputs"] = std::move(inputs);
  predicate["worker"] = std::move(worker);
  predicate["training"] = std::move(training);
  predicate["recipients"] = recipients;
  if (!metrics_recipients.empty()) {
    predicate["metrics"] = {{"recipients", metrics_recipients},
                            {"sealed", base::Base64Encode(sealed_metrics)}};
  }

  nlohmann::ordered_json statement;
  statement["_type"] = kInTotoStatementType;
  statement["subject"] = nlohmann::ordered_json::array({std::move(subject)});
  statement["predicateType"] = kJobRecordPredicateType;
  statement["predicate"] = std::move(predicate);
  return statement.dump();
}

crypto::DsseEnvelope SignJobRecord(const JobRecord& record, const crypto::Ed25519PrivateKey& key) {
  crypto::DsseEnvelope env{kInTotoPayloadType, record.ToPayload(), {}};
  crypto::DsseSign(env, key);
  return env;
}

}  // namespace triad::worker
