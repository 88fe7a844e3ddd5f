// Fuzzes what an owner's keyholder reads in a release request the coordinator relays to it
// (Keyholders.Poll; keyholder::ReleaseContextFromProto copies the proto's fields into a
// verify::ReleaseContext, which Keyholder::Decide hands to verify::VerifyAdmission): the
// checkpoint note and its consistency proof, the job's log entries and their inclusion proofs, the
// contract and submission envelopes, the evidence document and the binding.
//
// The input is the proto ReleaseRequest's fields as a JSON object (proof hashes in base64; a field
// that is absent or of another type takes the proto's default, as a field the sender left out).
// The seeds (tests/fuzz/make_seeds.py) are the model owner's release request cut from the audit
// bundle seed, a real run's: at the fixed time below it passes every check, so mutations reach the
// deep ones. Besides "no crash": a verdict admits exactly when it lists no reason, an admission is
// never final, and what it admits is well formed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/encoding.h"
#include "contracts/card.h"
#include "coordinator/card.h"
#include "verify/admission.h"

namespace {

using namespace triad;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

crypto::Ed25519PublicKey Key(const char* b64) {
  return *crypto::Ed25519PublicKey::FromRaw(*base::Base64Decode(b64));
}

// The audit bundle seed's coordinator, simulation key and model owner (audit_bundle_fuzzer.cc).
struct Fixture {
  coordinator::CoordinatorCard card;
  contracts::PartyCard owner;
  attestation::TrustAnchors anchors;
  absl::Time now;
};

const Fixture& Get() {
  static const Fixture* f = [] {
    absl::Time now;
    base::ParseRfc3339("2026-12-07T07:49:00Z", &now);
    auto* x = new Fixture{
        coordinator::CoordinatorCard{"triad-coordinator",
                                     Key("Skp4LviuRa+EEpsVGdKBU/z/3MsyuSlNkYJ31ieOieU="), "", "",
                                     "triad-coordinator/log/720d35173fdd1c8d"},
        *contracts::PartyCard::FromJson(
            R"({"type":"triad.card/v1","name":"mo","role":"model-owner",)"
            R"("age_recipient":"age12lu96ua3a6v6umt7v0qtv62x3e3u73pwt7pl5w5kdqpk6yapaa4suny5y0",)"
            R"("ed25519_public_key":"Ee3DDfo0FfnnqAU4fAf1lMzM3aX/Qp4jfTu9z16/oRg=",)"
            R"("fingerprint":"0040e7e49d84279a35408a6eab993caf3fb393be2c9ffec72b313149f486fcc3"})"),
        {},
        now};
    x->anchors.sim_keys.push_back(Key("18Y/8wgJB40tsBP4uRstypliRL6/rQY/JamSRlsvfsQ="));
    return x;
  }();
  return *f;
}

std::string Str(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

uint64_t Uint(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// Proof hashes: base64 in the seeds; bytes that are not base64 are taken as they are.
std::vector<std::string> Hashes(const nlohmann::json& j, const char* k) {
  std::vector<std::string> out;
  auto it = j.find(k);
  if (it == j.end() || !it->is_array()) return out;
  for (const nlohmann::json& h : *it) {
    if (!h.is_string()) continue;
    absl::StatusOr<std::string> raw = base::Base64Decode(h.get<std::string>());
    out.push_back(raw.ok() ? *raw : h.get<std::string>());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return 0;
  verify::ReleaseContext r;
  r.release_id = Str(j, "release_id");
  r.job_id = Str(j, "job_id");
  r.attempt = Uint(j, "attempt");
  r.artifact_id = Str(j, "artifact_id");
  r.contract_envelope_json = Str(j, "contract_envelope_json");
  r.submission_envelope_json = Str(j, "submission_envelope_json");
  r.evidence_document = Str(j, "evidence_document");
  if (auto it = j.find("job_entries"); it != j.end() && it->is_array()) {
    for (const nlohmann::json& e : *it) {
      if (!e.is_object()) continue;
      r.job_entries.push_back({Uint(e, "index"), Str(e, "entry"), Hashes(e, "inclusion_proof")});
    }
  }
  r.checkpoint = Str(j, "checkpoint");
  r.consistency_proof = Hashes(j, "consistency_proof");
  r.consistency_from = Uint(j, "consistency_from");
  auto revoked = j.find("contract_revoked");
  r.contract_revoked = revoked != j.end() && revoked->is_boolean() && revoked->get<bool>();

  const Fixture& f = Get();
  verify::AdmissionVerdict v =
      verify::VerifyAdmission(r, f.card, f.owner, f.anchors, f.now, std::nullopt);
  Check(v.admission.has_value() == v.reasons.empty());
  for (const std::string& reason : v.reasons) Check(!reason.empty());
  if (v.admission) {
    const verify::VerifiedAdmission& a = *v.admission;
    Check(!v.final && !r.contract_revoked && v.checkpoint.has_value());
    Check(a.owner_slot == contracts::Role::kModelOwner ||
          a.owner_slot == contracts::Role::kDataOwner);
    Check(a.nonce.size() == 32 && a.ed25519_public_key.size() == 32);
    Check(a.admission_index < a.checkpoint.size);
    Check(a.admitted_at <= f.now + verify::kMaxAdmissionAge);
  }
  // The checkpoint it vouches for, taken as the last one seen, is extended by itself.
  if (v.checkpoint && r.consistency_proof.empty() && r.consistency_from == v.checkpoint->size) {
    verify::AdmissionVerdict again =
        verify::VerifyAdmission(r, f.card, f.owner, f.anchors, f.now, v.checkpoint);
    Check(again.checkpoint.has_value() && again.admission.has_value() == v.admission.has_value());
  }
  return 0;
}
