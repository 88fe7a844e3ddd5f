#include "verify/job_record.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "crypto/age.h"

namespace triad::verify {
namespace {

absl::Status Bad(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("job record: ", why));
}

absl::Status Keys(const nlohmann::json& j, absl::string_view where,
                  std::initializer_list<const char*> required,
                  std::initializer_list<const char*> optional = {}) {
  if (!j.is_object()) return Bad(absl::StrCat(where, " is not an object"));
  for (const char* k : required) {
    if (!j.contains(k)) return Bad(absl::StrCat(where, ".", k, " is missing"));
  }
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (const char* r : required) known = known || k == r;
    for (const char* o : optional) known = known || k == o;
    if (!known) return Bad(absl::StrCat(where, " has an unknown field \"", k, "\""));
  }
  return absl::OkStatus();
}

// A string field equal to `want`.
absl::Status Equal(const nlohmann::json& j, const char* key, absl::string_view where,
                   const std::string& want, absl::string_view what) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_string()) return Bad(absl::StrCat(where, ".", key, " is not a string"));
  if (v.get<std::string>() != want) {
    return Bad(
        absl::StrCat(where, ".", key, " is ", v.get<std::string>(), ", ", what, " is ", want));
  }
  return absl::OkStatus();
}

}  // namespace

void SetContractRecipients(const contracts::Contract& contract, ExpectedJobRecord* e) {
  auto add = [](std::vector<std::string>& list, const std::string& r) {
    if (std::find(list.begin(), list.end(), r) == list.end()) list.push_back(r);
  };
  for (contracts::Role role : contract.outputs.adapter_recipients) {
    add(e->recipients, contract.party(role).age_recipient.ToString());
  }
  for (contracts::Role role : contract.outputs.metrics_recipients) {
    add(e->metrics_recipients, contract.party(role).age_recipient.ToString());
  }
}

absl::StatusOr<CheckedJobRecord> CheckJobRecord(absl::string_view envelope_json,
                                                const crypto::Ed25519PublicKey& worker_key,
                                                const ExpectedJobRecord& e) {
  CheckedJobRecord out;
  TRIAD_ASSIGN_OR_RETURN(
      out.envelope, base::Annotate(crypto::DsseEnvelope::FromJson(envelope_json, kMaxJobRecordSize),
                                   "job record"));
  const crypto::DsseEnvelope& env = out.envelope;
  if (env.payload_type != kInTotoPayloadType) {
    return Bad(absl::StrCat("payloadType must be ", kInTotoPayloadType));
  }
  if (env.signatures.size() != 1 ||
      !crypto::DsseVerifySignature(env, env.signatures[0], worker_key).ok()) {
    return absl::PermissionDeniedError(
        "job record: not signed (exactly once) by the job's attested ephemeral key");
  }
  TRIAD_ASSIGN_OR_RETURN(nlohmann::json st,
                         base::Annotate(base::ParseJsonStrict(env.payload), "job record"));
  TRIAD_RETURN_IF_ERROR(Keys(st, "statement", {"_type", "subject", "predicateType", "predicate"}));
  if (st["_type"] != kStatementType) return Bad(absl::StrCat("_type must be ", kStatementType));
  if (st["predicateType"] != kJobRecordPredicateType)
    return Bad(absl::StrCat("predicateType must be ", kJobRecordPredicateType));

  const nlohmann::json& subjects = st["subject"];
  if (!subjects.is_array() || subjects.size() != 1)
    return Bad("subject must hold exactly one entry");
  TRIAD_RETURN_IF_ERROR(Keys(subjects[0], "subject[0]", {"name", "digest"}));
  TRIAD_RETURN_IF_ERROR(
      Equal(subjects[0], "name", "subject[0]", e.job_id + ".adapter.tar.age", "the job's adapter"));
  const nlohmann::json& digest = subjects[0]["digest"];
  TRIAD_RETURN_IF_ERROR(Keys(digest, "subject[0].digest", {"sha256"}));
  std::string hex = digest["sha256"].is_string() ? digest["sha256"].get<std::string>() : "";
  absl::StatusOr<std::string> raw = base::HexDecode(hex);
  if (hex.size() != 64 || !raw.ok() || base::HexEncode(*raw) != hex) {
    return Bad("subject[0].digest.sha256 is not 64 lower-case hex digits");
  }
  out.subject_name = subjects[0]["name"];
  out.subject_id = absl::StrCat("sha256:", hex);

  const nlohmann::json& p = st["predicate"];
  TRIAD_RETURN_IF_ERROR(Keys(
      p, "predicate",
      {"job_id", "contract_id", "contract_digest", "inputs", "worker", "training", "recipients"},
      {"metrics"}));
  TRIAD_RETURN_IF_ERROR(Equal(p, "job_id", "predicate", e.job_id, "the job"));
  TRIAD_RETURN_IF_ERROR(Equal(p, "contract_id", "predicate", e.contract_id, "the job's contract"));
  TRIAD_RETURN_IF_ERROR(
      Equal(p, "contract_digest", "predicate", e.contract_digest, "the contract's digest"));
  nlohmann::json inputs = nlohmann::json::array({{{"role", "base_model"}, {"id", e.base_model_id}},
                                                 {{"role", "dataset"}, {"id", e.dataset_id}}});
  if (p["inputs"] != inputs) return Bad(absl::StrCat("predicate.inputs must be ", inputs.dump()));

  const nlohmann::json& w = p["worker"];
  TRIAD_RETURN_IF_ERROR(Keys(
      w, "predicate.worker",
      {"tee", "evidence_digest", "claims", "simulated", "ed25519_public_key", "age_recipient"}));
  TRIAD_RETURN_IF_ERROR(Equal(w, "tee", "predicate.worker", e.tee, "the admitted evidence's"));
  TRIAD_RETURN_IF_ERROR(
      Equal(w, "evidence_digest", "predicate.worker", e.evidence_digest, "the admitted evidence"));
  if (w["claims"] != e.claims)
    return Bad("predicate.worker.claims are not the claims of the admitted evidence");
  if (!w["simulated"].is_boolean() || w["simulated"].get<bool>() != e.simulated) {
    return Bad(absl::StrCat("predicate.worker.simulated must be ", e.simulated ? "true" : "false"));
  }
  TRIAD_RETURN_IF_ERROR(Equal(w, "ed25519_public_key", "predicate.worker",
                              base::Base64Encode(worker_key.raw()), "the attested key"));
  TRIAD_RETURN_IF_ERROR(
      Equal(w, "age_recipient", "predicate.worker", e.age_recipient, "the attested recipient"));

  const nlohmann::json& t = p["training"];
  TRIAD_RETURN_IF_ERROR(Keys(t, "predicate.training", {"steps", "tokens", "wall_seconds"}));
  if (!t["steps"].is_number_unsigned() || !t["tokens"].is_number_unsigned()) {
    return Bad("predicate.training.steps and tokens must be non-negative integers");
  }
  if (!t["wall_seconds"].is_number() || t["wall_seconds"].get<double>() < 0) {
    return Bad("predicate.training.wall_seconds must be a non-negative number");
  }

  // Metric values never stand in the record in the clear: only sealed to the metrics recipients.
  if (e.metrics_recipients.empty()) {
    if (p.contains("metrics")) {
      return Bad("predicate.metrics is there, but the contract names no metrics recipient");
    }
  } else {
    if (!p.contains("metrics"))
      return Bad("predicate.metrics is missing (the contract names metrics recipients)");
    const nlohmann::json& m = p["metrics"];
    TRIAD_RETURN_IF_ERROR(Keys(m, "predicate.metrics", {"recipients", "sealed"}));
    std::vector<std::string> got_m;
    if (!m["recipients"].is_array()) return Bad("predicate.metrics.recipients is not an array");
    for (const nlohmann::json& x : m["recipients"]) {
      if (!x.is_string()) return Bad("predicate.metrics.recipients holds a non-string");
      got_m.push_back(x);
    }
    std::vector<std::string> want_m = e.metrics_recipients;
    std::sort(got_m.begin(), got_m.end());
    std::sort(want_m.begin(), want_m.end());
    if (got_m != want_m) {
      return Bad(
          "predicate.metrics.recipients are not the age recipients of the contract's metrics "
          "recipients");
    }
    absl::StatusOr<std::string> sealed = m["sealed"].is_string()
                                             ? base::Base64Decode(m["sealed"].get<std::string>())
                                             : absl::InvalidArgumentError("not a string");
    if (!sealed.ok() || sealed->size() > kMaxSealedMetricsSize) {
      return Bad("predicate.metrics.sealed is not base64 of at most 64 KiB");
    }
    absl::StatusOr<crypto::age::Header> h = crypto::age::Header::Parse(*sealed);
    size_t x25519 = 0;
    if (h.ok()) {
      for (const crypto::age::Stanza& st2 : h->stanzas())
        x25519 += !st2.args.empty() && st2.args[0] == "X25519";
    }
    if (!h.ok() || x25519 != want_m.size() || h->stanzas().size() != want_m.size()) {
      return Bad(absl::StrCat(
          "predicate.metrics.sealed is not an age file with one X25519 stanza for each of the ",
          want_m.size(), " metrics recipients"));
    }
    out.sealed_metrics = *std::move(sealed);
  }

  const nlohmann::json& r = p["recipients"];
  std::vector<std::string> got;
  if (!r.is_array()) return Bad("predicate.recipients is not an array");
  for (const nlohmann::json& x : r) {
    if (!x.is_string()) return Bad("predicate.recipients holds a non-string");
    got.push_back(x);
  }
  std::vector<std::string> want = e.recipients;
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  if (got != want)
    return Bad(
        "predicate.recipients are not the age recipients of the contract's adapter recipients");
  return out;
}

}  // namespace triad::verify
