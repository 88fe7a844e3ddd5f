#include "verify/admission.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attestation/binding.h"
#include "attestation/evidence_verifier.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "contracts/policy.h"
#include "coordinator/request.h"
#include "crypto/dsse.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "verify/audit_verify.h"
#include "verify/evidence.h"

namespace triad::verify {
namespace {

constexpr char kLogEntryType[] = "triad.log/v1";
constexpr size_t kMaxEntryBytes = 1 << 20;
constexpr size_t kMaxJobEntries = 10000;

std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
int64_t Int(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
}

struct ParsedEntry {
  const ReleaseContext::ProvenEntry* proven;
  nlohmann::json j;
  std::string kind;
  absl::Time time;
  std::string Ref() const { return absl::StrCat(kind, " entry ", proven->index); }
};

}  // namespace

AdmissionVerdict VerifyAdmission(const ReleaseContext& r, const coordinator::CoordinatorCard& card,
                                 const contracts::PartyCard& owner,
                                 const attestation::TrustAnchors& anchors, absl::Time now,
                                 const std::optional<crypto::Checkpoint>& last_seen) {
  AdmissionVerdict v;
  auto refuse = [&v](std::string why) {
    v.reasons.push_back(std::move(why));
    return v;
  };

  // 1. The log: a checkpoint the coordinator's key signed, extending the last one seen here.
  absl::StatusOr<crypto::Checkpoint> cp = OpenCardCheckpoint(card, r.checkpoint);
  if (!cp.ok()) return refuse(absl::StrCat("checkpoint: ", cp.status().message()));
  if (last_seen) {
    std::vector<std::string> proof;
    if (last_seen->size > 0 && cp->size > last_seen->size) {
      if (r.consistency_from != last_seen->size) {
        return refuse(
            absl::StrCat("checkpoint: no consistency proof from the tree size seen last here (",
                         last_seen->size, ") to ", cp->size));
      }
      proof = r.consistency_proof;
    }
    if (absl::Status st = CheckCheckpointExtends(*last_seen, *cp, proof); !st.ok()) {
      return refuse(absl::StrCat("checkpoint: the coordinator's log is ", st.message()));
    }
  }
  // Only a checkpoint proven to extend the last one seen may become the next "last seen": one
  // without a proof, remembered, would let a forked view through on the request after.
  v.checkpoint = *cp;
  if (r.job_entries.empty() || r.job_entries.size() > kMaxJobEntries) {
    return refuse("log: the request carries no entries of the job (or too many)");
  }
  std::vector<ParsedEntry> entries;
  for (const ReleaseContext::ProvenEntry& pe : r.job_entries) {
    absl::Status in = crypto::merkle::VerifyInclusion(
        pe.index, cp->size, crypto::merkle::LeafHash(pe.entry), pe.inclusion_proof, cp->root_hash);
    if (!in.ok())
      return refuse(
          absl::StrCat("log: entry ", pe.index, " is not in the signed tree: ", in.message()));
    absl::StatusOr<nlohmann::json> j = base::ParseJsonStrict(pe.entry, {kMaxEntryBytes, 32});
    if (!j.ok() || !j->is_object() || Str(*j, "type") != kLogEntryType) {
      return refuse(absl::StrCat("log: entry ", pe.index, " is not a ", kLogEntryType, " object"));
    }
    ParsedEntry e{&pe, *std::move(j), "", {}};
    e.kind = Str(e.j, "kind");
    if (!base::ParseRfc3339(Str(e.j, "time"), &e.time)) {
      return refuse(absl::StrCat("log: entry ", pe.index, " has no time"));
    }
    if (Str(e.j, "job_id") != r.job_id) {
      return refuse(absl::StrCat("log: ", e.Ref(), " is not about job ", r.job_id));
    }
    entries.push_back(std::move(e));
  }
  // The job's chain, from its submission to this attempt's admission, none left out.
  if (entries.front().kind != "job.submitted" || entries.front().j.contains("prev")) {
    return refuse("log: the job's entries do not start with its job.submitted entry");
  }
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].proven->index <= entries[i - 1].proven->index ||
        Str(entries[i].j, "prev") !=
            base::HexEncode(crypto::Sha256(entries[i - 1].proven->entry))) {
      return refuse(absl::StrCat("log: ", entries[i].Ref(), " does not follow ",
                                 entries[i - 1].Ref(),
                                 " in the job's hash chain (an entry is missing or reordered)"));
    }
  }
  const ParsedEntry& submitted = entries.front();
  const ParsedEntry& admission = entries.back();
  if (admission.kind != "job.admission" ||
      Int(admission.j, "attempt") != static_cast<int64_t>(r.attempt)) {
    return refuse(absl::StrCat("log: the job's entries do not end with the admission of attempt ",
                               r.attempt));
  }
  if (Str(admission.j, "decision") != "admit") {
    return refuse(absl::StrCat("log: ", admission.Ref(), " did not admit the worker"));
  }
  for (size_t i = 0; i + 1 < entries.size(); ++i) {
    if (entries[i].kind == "job.done" || entries[i].kind == "job.failed") {
      return refuse(
          absl::StrCat("log: the job ended at ", entries[i].Ref(), " before this admission"));
    }
  }

  // 2. The contract: this owner's, active now, not revoked; its digest the one the log names.
  absl::StatusOr<crypto::DsseEnvelope> env =
      crypto::DsseEnvelope::FromJson(r.contract_envelope_json, contracts::kMaxContractEnvelopeSize);
  if (!env.ok()) {
    v.final = true;
    return refuse(absl::StrCat("contract: ", env.status().message()));
  }
  contracts::ContractStatus status = contracts::CheckContract(*env, now);
  if (!status.contract) {
    v.final = true;
    return refuse(absl::StrCat("contract: not valid: ", absl::StrJoin(status.reasons, "; ")));
  }
  const contracts::Contract& c = *status.contract;
  std::optional<contracts::Role> slot;
  if (c.model_owner.fingerprint() == owner.fingerprint()) slot = contracts::Role::kModelOwner;
  if (c.data_owner.fingerprint() == owner.fingerprint()) slot = contracts::Role::kDataOwner;
  if (!slot) {
    v.final = true;
    return refuse(absl::StrCat("contract ", c.id, " does not name this owner (", owner.name,
                               ", key ", owner.fingerprint(), ") as its model or data owner"));
  }
  const std::string& mine = *slot == contracts::Role::kModelOwner ? c.base_model.id : c.dataset.id;
  if (mine != r.artifact_id) {
    v.final = true;
    return refuse(absl::StrCat("contract ", c.id, " names ", mine,
                               " as this owner's artifact, not ",
                               absl::CHexEscape(r.artifact_id.substr(0, 80))));
  }
  if (!status.active()) {
    v.final = true;
    return refuse(
        absl::StrCat("contract ", c.id, " is not active: ", absl::StrJoin(status.reasons, "; ")));
  }
  if (r.contract_revoked) {
    v.final = true;
    return refuse(absl::StrCat("contract ", c.id, " was revoked (the coordinator says so)"));
  }
  if (c.id != Str(submitted.j, "contract_id") ||
      status.digest != Str(submitted.j, "contract_digest")) {
    v.final = true;
    return refuse(absl::StrCat(
        "log: ", submitted.Ref(), " is about contract ", Str(submitted.j, "contract_id"), " (",
        Str(submitted.j, "contract_digest"), "), not ", c.id, " (", status.digest, ")"));
  }

  // 3. The submission: a submit-job request for this contract, by its model or data owner.
  coordinator::KeyLookup lookup =
      [&c](const std::string& keyid) -> absl::StatusOr<crypto::Ed25519PublicKey> {
    for (const contracts::PartyCard* p : {&c.model_owner, &c.data_owner}) {
      if (p->fingerprint() == keyid) return p->signing_key;
    }
    return absl::PermissionDeniedError("signed by neither the model owner nor the data owner");
  };
  absl::StatusOr<coordinator::VerifiedRequest> sub = coordinator::VerifyRequest(
      r.submission_envelope_json, "submit-job", submitted.time, lookup, card.signing_key.KeyId());
  if (!sub.ok()) return refuse(absl::StrCat("submission: ", sub.status().message()));
  if (!sub->request.body.is_object() || Str(sub->request.body, "contract_id") != c.id) {
    return refuse(absl::StrCat("submission: it submits a job of another contract than ", c.id));
  }
  if (crypto::Sha256Id(sub->envelope.payload) != Str(submitted.j, "submission_digest")) {
    return refuse(absl::StrCat("submission: it is not the one ", submitted.Ref(), " names"));
  }

  // 4. Fresh: a replayed old admission is refused.
  if (admission.time < now - kMaxAdmissionAge || admission.time > now + kMaxAdmissionAge) {
    return refuse(absl::StrCat("admission: ", admission.Ref(), " is dated ",
                               base::FormatRfc3339(admission.time), ", more than ",
                               absl::FormatDuration(kMaxAdmissionAge),
                               " from this keyholder's time ", base::FormatRfc3339(now)));
  }

  // 5. The evidence, verified here with this keyholder's own roots, at its own clock.
  std::string evidence_digest = crypto::Sha256Id(r.evidence_document);
  if (evidence_digest != Str(admission.j, "evidence_digest")) {
    return refuse(absl::StrCat("evidence: the document hashes to ", evidence_digest, ", ",
                               admission.Ref(), " names ", Str(admission.j, "evidence_digest")));
  }
  absl::StatusOr<attestation::Evidence> ev = ParseEvidenceDocument(r.evidence_document);
  if (!ev.ok()) return refuse(absl::StrCat("evidence: ", ev.status().message()));
  attestation::Verdict verdict = attestation::VerifyEvidence(*ev, anchors, now);
  if (!verdict.valid) {
    for (const std::string& why : verdict.reasons)
      v.reasons.push_back(absl::StrCat("evidence: ", why));
    return v;
  }
  contracts::PolicyDecision decision = contracts::Evaluate(c.worker_policy, verdict.claims);
  for (const std::string& why : decision.reasons)
    v.reasons.push_back(absl::StrCat("policy: ", why));

  // 6. The binding: the report data commits to this nonce, job and these ephemeral keys.
  absl::StatusOr<std::string> nonce = base::HexDecode(Str(admission.j, "nonce"));
  absl::StatusOr<std::string> key_raw = base::Base64Decode(Str(admission.j, "ed25519_public_key"));
  absl::StatusOr<crypto::Ed25519PublicKey> key =
      key_raw.ok() ? crypto::Ed25519PublicKey::FromRaw(*key_raw) : key_raw.status();
  absl::StatusOr<crypto::age::X25519Recipient> recipient =
      crypto::age::X25519Recipient::Parse(Str(admission.j, "age_recipient"));
  if (!nonce.ok() || nonce->size() != attestation::kBindingNonceSize || !key.ok() ||
      !recipient.ok()) {
    v.reasons.push_back(
        absl::StrCat("binding: ", admission.Ref(), " does not name a nonce and ephemeral keys"));
    return v;
  }
  if (absl::Status bound =
          attestation::CheckBinding(verdict.claims, {*nonce, r.job_id, *key, *recipient});
      !bound.ok()) {
    v.reasons.push_back(absl::StrCat("binding: ", bound.message()));
  }
  if (!v.reasons.empty()) return v;

  v.admission = VerifiedAdmission{c,
                                  status.digest,
                                  *slot,
                                  *cp,
                                  admission.proven->index,
                                  admission.time,
                                  *nonce,
                                  key->raw(),
                                  recipient->ToString(),
                                  evidence_digest,
                                  verdict.claims,
                                  Str(submitted.j, "submission_digest")};
  return v;
}

}  // namespace triad::verify
