// Coordinator::ExportBundle: the audit bundle of one job (format in bundle.h).
#include "verify/bundle.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "coordinator/coordinator.h"
#include "coordinator/internal/common.h"
#include "coordinator/request.h"
#include "crypto/merkle.h"
#include "crypto/note.h"

namespace triad::coordinator {
namespace {

// Stored documents were checked when they came in; parse them back into objects.
absl::StatusOr<nlohmann::ordered_json> Object(absl::string_view json) {
  // Validated first, so the parse that keeps the key order cannot throw.
  TRIAD_RETURN_IF_ERROR(base::ParseJsonStrict(json, {8 << 20, 64}).status());
  return nlohmann::ordered_json::parse(json.begin(), json.end());
}

}  // namespace

absl::StatusOr<std::string> Coordinator::ExportBundle(absl::string_view job_id,
                                                      absl::string_view request_envelope_json) {
  TRIAD_ASSIGN_OR_RETURN(storage::Job job, store_.GetJob(job_id));
  TRIAD_ASSIGN_OR_RETURN(
      ReadRequest req, VerifyReadRequest(request_envelope_json, "export-bundle", job.contract_id));
  TRIAD_ASSIGN_OR_RETURN(internal::ExportBundleBody body,
                         internal::DecodeExportBundleBody(req.body(), job_id));
  const std::vector<uint64_t>& consistency_from = body.consistency_from;
  int witnessed = body.witnessed;
  std::shared_ptr<const CachedContract> c = req.contract;
  const contracts::Contract& contract = c->contract;
  // The checkpoint first: every entry at an index below its size is in its tree. With "witnessed",
  // the largest checkpoint that many witnesses cosigned, when it holds every entry of the job.
  TRIAD_ASSIGN_OR_RETURN(storage::LogCheckpoint checkpoint, store_.log().LatestCheckpoint());
  if (witnessed > 0) {
    uint64_t last = 0;
    for (int64_t after = 0;;) {
      TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Event> events,
                             store_.ListEvents(after, job.id, 1000));
      for (const storage::Event& e : events) {
        after = e.id;
        if (e.log_index) last = std::max(last, *e.log_index);
      }
      if (events.size() < 1000) break;
    }
    TRIAD_ASSIGN_OR_RETURN(std::optional<uint64_t> size,
                           store_.LargestCosignedSize(last + 1, checkpoint.size, witnessed));
    if (!size) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no checkpoint with ", witnessed, " cosignature(s) holds every entry of job ", job.id,
          " yet (its last entry is ", last, ", the log has ", checkpoint.size,
          "); witnesses cosign the newest checkpoint as they poll: ask again shortly"));
    }
    TRIAD_ASSIGN_OR_RETURN(checkpoint, store_.log().CheckpointAt(*size));
  }

  // Which entries: the job's events, and the contract's, inputs' and parties' events.
  std::set<std::string> fingerprints;
  for (contracts::Role role : contracts::kContractRoles)
    fingerprints.insert(contract.party(role).fingerprint());
  std::set<uint64_t> indices;
  std::vector<uint64_t> admission_indices;
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
        if (e.kind == "contract.signature" || e.kind == "contract.activated" ||
            e.kind == "contract.revoked") {
          take = d->value("contract_id", "") == contract.id;
        } else if (e.kind == "artifact.registered") {
          std::string id = d->value("id", "");
          take = id == contract.base_model.id || id == contract.dataset.id;
        } else if (e.kind == "party.registered") {
          take = fingerprints.count(d->value("fingerprint", "")) > 0;
        }
      }
      if (take) indices.insert(*e.log_index);
      if (e.job_id == job.id && e.kind == "job.admission")
        admission_indices.push_back(*e.log_index);
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

  // Every keyholder answer, with the owner's signed receipt.
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::KeyRelease> releases, store_.ListKeyReleases(job.id));
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::ReleaseRequest> answers,
                         store_.ListReleaseRequests(job.id, 0));
  nlohmann::ordered_json rel = nlohmann::ordered_json::array();
  nlohmann::ordered_json refused = nlohmann::ordered_json::array();
  for (const storage::ReleaseRequest& a : answers) {
    if (a.state == storage::ReleaseState::kReleased) {
      std::string recipient, released_at;
      for (const storage::KeyRelease& k : releases) {
        if (k.artifact_id != a.artifact_id) continue;
        absl::StatusOr<storage::JobKeys> keys = store_.GetJobKeys(job.id, a.attempt);
        if (keys.ok() && keys->age_recipient == k.recipient) {
          recipient = k.recipient;
          released_at = base::FormatRfc3339(k.released_at);
        }
      }
      nlohmann::ordered_json x;
      x["release_id"] = a.id;
      x["attempt"] = a.attempt;
      x["artifact_id"] = a.artifact_id;
      x["owner"] = a.owner;
      x["recipient"] = recipient;
      x["released_at"] = released_at;
      TRIAD_ASSIGN_OR_RETURN(x["receipt"], Object(a.receipt_json));
      rel.push_back(std::move(x));
    } else if (a.state == storage::ReleaseState::kRefused) {
      nlohmann::ordered_json x;
      x["release_id"] = a.id;
      x["attempt"] = a.attempt;
      x["artifact_id"] = a.artifact_id;
      x["owner"] = a.owner;
      x["final"] = a.final;
      TRIAD_ASSIGN_OR_RETURN(x["reasons"], Object(a.reasons_json));
      TRIAD_ASSIGN_OR_RETURN(x["receipt"], Object(a.receipt_json));
      refused.push_back(std::move(x));
    }
  }
  b["key_releases"] = std::move(rel);
  b["key_refusals"] = std::move(refused);

  nlohmann::ordered_json entries = nlohmann::ordered_json::array();
  for (uint64_t i : indices) {
    TRIAD_ASSIGN_OR_RETURN(std::string entry, store_.log().Entry(i));
    TRIAD_ASSIGN_OR_RETURN(std::vector<std::string> proof,
                           store_.log().InclusionProof(i, checkpoint.size));
    nlohmann::ordered_json hashes = nlohmann::ordered_json::array();
    for (const std::string& h : proof) hashes.push_back(base::Base64Encode(h));
    entries.push_back({{"index", i}, {"entry", entry}, {"inclusion_proof", std::move(hashes)}});
  }
  // Proofs that tie this bundle's checkpoint to views the reader saved earlier (audit verify
  // --state): from a smaller saved size to the checkpoint, or from the checkpoint to a larger one.
  nlohmann::ordered_json consistency = nlohmann::ordered_json::array();
  for (uint64_t n : consistency_from) {
    nlohmann::ordered_json x;
    if (n <= checkpoint.size) {
      TRIAD_ASSIGN_OR_RETURN(std::vector<std::string> proof,
                             store_.log().ConsistencyProof(n, checkpoint.size));
      x["from"] = n;
      x["to"] = checkpoint.size;
      x["checkpoint"] = nullptr;
      nlohmann::ordered_json hashes = nlohmann::ordered_json::array();
      for (const std::string& h : proof) hashes.push_back(base::Base64Encode(h));
      x["proof"] = std::move(hashes);
    } else {
      absl::StatusOr<storage::LogCheckpoint> later = store_.log().CheckpointAt(n);
      if (!later.ok()) continue;  // no checkpoint at that size: not a view this log ever showed
      TRIAD_ASSIGN_OR_RETURN(std::vector<std::string> proof,
                             store_.log().ConsistencyProof(checkpoint.size, n));
      x["from"] = checkpoint.size;
      x["to"] = n;
      x["checkpoint"] = later->signed_note;
      nlohmann::ordered_json hashes = nlohmann::ordered_json::array();
      for (const std::string& h : proof) hashes.push_back(base::Base64Encode(h));
      x["proof"] = std::move(hashes);
    }
    consistency.push_back(std::move(x));
  }
  // For each admission, the largest cosigned checkpoint that does not hold it yet, with the proof
  // that the bundle's checkpoint extends it: the admission was logged after its witnesses' time,
  // which bounds the time its evidence is verified at from below (docs/custody.md, "Witnesses").
  nlohmann::ordered_json before = nlohmann::ordered_json::array();
  for (uint64_t i : admission_indices) {
    TRIAD_ASSIGN_OR_RETURN(std::optional<uint64_t> size, store_.LargestCosignedSize(1, i, 1));
    if (!size) continue;
    TRIAD_ASSIGN_OR_RETURN(storage::LogCheckpoint earlier, store_.log().CheckpointAt(*size));
    TRIAD_ASSIGN_OR_RETURN(std::string note, NoteWithCosignatures(earlier));
    TRIAD_ASSIGN_OR_RETURN(std::vector<std::string> proof,
                           store_.log().ConsistencyProof(*size, checkpoint.size));
    nlohmann::ordered_json hashes = nlohmann::ordered_json::array();
    for (const std::string& h : proof) hashes.push_back(base::Base64Encode(h));
    before.push_back({{"index", i}, {"checkpoint", note}, {"proof", std::move(hashes)}});
  }
  TRIAD_ASSIGN_OR_RETURN(std::string cosigned, NoteWithCosignatures(checkpoint));
  b["log"] = {{"checkpoint", cosigned},
              {"tree_size", checkpoint.size},
              {"entries", std::move(entries)},
              {"consistency", std::move(consistency)},
              {"witnessed_before", std::move(before)}};
  return b.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

// ---- The log: checkpoints, cosignatures, scoped entries and proofs ----

absl::StatusOr<std::string> Coordinator::NoteWithCosignatures(
    const storage::LogCheckpoint& cp) const {
  std::string note = cp.signed_note;
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Cosignature> cosigs,
                         store_.ListCosignatures(cp.size));
  for (const storage::Cosignature& c : cosigs) {
    absl::StatusOr<std::string> added = crypto::AddSignatureLine(note, c.note_line);
    if (added.ok()) note = *std::move(added);
  }
  return note;
}

absl::StatusOr<std::string> Coordinator::CheckpointWithCosignatures() {
  TRIAD_ASSIGN_OR_RETURN(storage::LogCheckpoint cp, store_.log().LatestCheckpoint());
  return NoteWithCosignatures(cp);
}

absl::StatusOr<int> Coordinator::AddCosignatures(absl::string_view signed_note) {
  TRIAD_ASSIGN_OR_RETURN(crypto::Checkpoint cp,
                         base::Annotate(crypto::OpenCheckpoint(signed_note, store_.log_verifier(),
                                                               store_.log_verifier().name()),
                                        "cosigned checkpoint"));
  absl::StatusOr<storage::LogCheckpoint> ours = store_.log().CheckpointAt(cp.size);
  if (!ours.ok() || ours->root_hash != cp.root_hash) {
    return absl::FailedPreconditionError(
        absl::StrCat("this coordinator signed no checkpoint of size ", cp.size, " with that root"));
  }
  TRIAD_ASSIGN_OR_RETURN(crypto::Note note, crypto::ParseNote(signed_note));
  // Witnesses this coordinator knows: its registered parties and its contracts' auditors, by name.
  std::vector<crypto::Cosigner> known;
  std::set<std::string> names;
  for (const crypto::NoteSignature& sig : note.signatures) names.insert(sig.key_name);
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Party> parties, store_.ListParties());
  for (const storage::Party& p : parties) {
    if (p.removed_at || !names.count(p.name)) continue;
    absl::StatusOr<contracts::PartyCard> card = contracts::PartyCard::FromJson(p.card_json);
    if (card.ok()) known.push_back({card->name, card->signing_key});
  }
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Contract> contracts, store_.ListContracts());
  for (const storage::Contract& sc : contracts) {
    absl::StatusOr<std::shared_ptr<const CachedContract>> c = LoadContract(sc.id);
    if (!c.ok()) continue;
    for (const contracts::PartyCard& a : (*c)->contract.auditors) {
      if (names.count(a.name)) known.push_back({a.name, a.signing_key});
    }
  }
  TRIAD_ASSIGN_OR_RETURN(std::vector<crypto::VerifiedCosignature> verified,
                         crypto::VerifyCosignatures(signed_note, known));
  absl::Time now = clock_.Now();
  // The signature lines, to keep each verified one as it was written.
  std::vector<std::string> lines;
  absl::string_view sigs = signed_note.substr(note.text.size() + 1);
  for (absl::string_view l : absl::StrSplit(sigs, '\n', absl::SkipEmpty())) lines.emplace_back(l);
  int kept = 0;
  TRIAD_ASSIGN_OR_RETURN(storage::WriteTxn txn, store_.Begin());
  for (const crypto::VerifiedCosignature& v : verified) {
    if (v.time > now + kRequestMaxSkew) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cosignature by ", v.name, " is dated ", base::FormatRfc3339(v.time), ", in the future"));
    }
    for (size_t i = 0; i < note.signatures.size() && i < lines.size(); ++i) {
      const crypto::NoteSignature& sig = note.signatures[i];
      if (sig.key_name != v.name || sig.signature.size() != 72) continue;
      const crypto::Cosigner* who = nullptr;
      for (const crypto::Cosigner& k : known) {
        if (k.key.KeyId() == v.key_id) who = &k;
      }
      if (who == nullptr || sig.key_id != crypto::CosignatureKeyId(who->name, who->key)) continue;
      TRIAD_RETURN_IF_ERROR(txn.AddCosignature({cp.size, v.key_id, lines[i] + "\n", v.time, {}}));
      ++kept;
      break;
    }
  }
  TRIAD_RETURN_IF_ERROR(txn.Commit().status());
  return kept;
}

absl::StatusOr<Coordinator::LogReader> Coordinator::VerifyLogReader(absl::string_view envelope_json,
                                                                    absl::string_view action) {
  if (envelope_json.empty()) {
    return absl::UnauthenticatedError(
        "reading log entries needs a request signed by a registered party or by an auditor a "
        "contract names; anyone may read signed checkpoints and consistency proofs");
  }
  std::string party, key_id;
  KeyLookup lookup = [&](const std::string& keyid) -> absl::StatusOr<crypto::Ed25519PublicKey> {
    absl::StatusOr<storage::Party> p = store_.GetPartyByKeyId(keyid);
    if (p.ok() && !p->removed_at) {
      TRIAD_ASSIGN_OR_RETURN(contracts::PartyCard card,
                             contracts::PartyCard::FromJson(p->card_json));
      party = p->name;
      key_id = keyid;
      return card.signing_key;
    }
    TRIAD_ASSIGN_OR_RETURN(std::vector<storage::Contract> contracts, store_.ListContracts());
    for (const storage::Contract& sc : contracts) {
      absl::StatusOr<std::shared_ptr<const CachedContract>> c = LoadContract(sc.id);
      if (!c.ok()) continue;
      if (const contracts::PartyCard* a = (*c)->contract.AuditorOfKeyId(keyid)) {
        key_id = keyid;
        return a->signing_key;
      }
    }
    // Removed by the operator, and no contract's auditor either.
    if (p.ok()) {
      return absl::PermissionDeniedError(absl::StrCat("party ", p->name,
                                                      " was removed by the operator at ",
                                                      base::FormatRfc3339(*p->removed_at)));
    }
    return absl::PermissionDeniedError(absl::StrCat(
        "request is signed by key ", absl::CHexEscape(keyid.substr(0, 80)),
        ", which is neither a registered party's nor an auditor's of a contract here"));
  };
  TRIAD_ASSIGN_OR_RETURN(VerifiedRequest v,
                         VerifyRequest(envelope_json, action, clock_.Now(), lookup, fingerprint_));
  return LogReader{std::move(v), std::move(party), std::move(key_id)};
}

bool Coordinator::MayRead(const LogReader& reader, const storage::LogScope& scope) {
  if (!scope.contract_id.empty()) {
    absl::StatusOr<std::shared_ptr<const CachedContract>> c = LoadContract(scope.contract_id);
    if (!c.ok()) return false;
    return internal::SlotOfKey((*c)->contract, reader.key_id).has_value() ||
           (*c)->contract.AuditorOfKeyId(reader.key_id) != nullptr;
  }
  return !scope.party.empty() && scope.party == reader.party;
}

absl::Status Coordinator::GetEntries(absl::string_view envelope_json, uint64_t start, uint64_t end,
                                     std::vector<std::string>* entries,
                                     std::vector<std::string>* leaf_hashes) {
  TRIAD_ASSIGN_OR_RETURN(LogReader reader, VerifyLogReader(envelope_json, "get-entries"));
  TRIAD_RETURN_IF_ERROR(internal::CheckBodyKeys(reader.body(), {"start", "end"}));
  TRIAD_ASSIGN_OR_RETURN(uint64_t s, internal::BodyUint(reader.body(), "start"));
  TRIAD_ASSIGN_OR_RETURN(uint64_t e, internal::BodyUint(reader.body(), "end"));
  if (s != start || e != end) {
    return absl::InvalidArgumentError("request body: start and end are not those of the call");
  }
  if (end < start || end - start > 1000) {
    return absl::InvalidArgumentError("at most 1000 entries are read at once, start before end");
  }
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::ScopedEntry> scoped,
                         store_.log().ScopedEntries(start, end));
  for (const storage::ScopedEntry& x : scoped) {
    entries->push_back(MayRead(reader, x.scope) ? x.entry : std::string());
    leaf_hashes->push_back(crypto::merkle::LeafHash(x.entry));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Coordinator::GetInclusionProof(
    absl::string_view envelope_json, uint64_t index, uint64_t tree_size) {
  TRIAD_ASSIGN_OR_RETURN(LogReader reader, VerifyLogReader(envelope_json, "get-inclusion-proof"));
  TRIAD_RETURN_IF_ERROR(internal::CheckBodyKeys(reader.body(), {"index", "tree_size"}));
  TRIAD_ASSIGN_OR_RETURN(uint64_t i, internal::BodyUint(reader.body(), "index"));
  TRIAD_ASSIGN_OR_RETURN(uint64_t n, internal::BodyUint(reader.body(), "tree_size"));
  if (i != index || n != tree_size) {
    return absl::InvalidArgumentError(
        "request body: index and tree_size are not those of the call");
  }
  TRIAD_ASSIGN_OR_RETURN(std::vector<storage::ScopedEntry> one,
                         store_.log().ScopedEntries(index, index + 1));
  if (one.empty() || !MayRead(reader, one[0].scope)) {
    return absl::PermissionDeniedError(
        absl::StrCat("log entry ", index, " is not readable by this signer"));
  }
  return store_.log().InclusionProof(index, tree_size);
}

}  // namespace triad::coordinator
