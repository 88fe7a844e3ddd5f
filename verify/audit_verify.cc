// VerifyBundle: the offline checks of an audit bundle (format in bundle.h, checks in
// audit_verify.h).
#include "verify/audit_verify.h"

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attestation/binding.h"
#include "attestation/evidence_verifier.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "contracts/contract.h"
#include "contracts/policy.h"
#include "coordinator/request.h"
#include "crypto/age_keys.h"
#include "crypto/dsse.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "verify/bundle.h"
#include "verify/evidence.h"
#include "verify/job_record.h"
#include "verify/receipt.h"

namespace triad::verify {

using coordinator::KeyLookup;
using coordinator::VerifiedRequest;
using coordinator::VerifyRequest;
namespace {

using nlohmann::json;

constexpr char kLogEntryType[] = "triad.log/v1";
constexpr size_t kMaxEntrySize = 1 << 20;
constexpr size_t kMaxEvidenceDocumentSize = 16 << 20;
// Reasons quoted from a failed check are cut to this many per line.
constexpr size_t kMaxQuotedReasons = 4;

// ---- Strict reading of the bundle's JSON ----

absl::Status Bad(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, " ", what));
}

absl::Status CheckKeys(const json& j, const std::string& where,
                       std::initializer_list<const char*> required,
                       std::initializer_list<const char*> optional = {}) {
  if (!j.is_object()) return Bad(where, "is not an object");
  for (const char* k : required) {
    if (!j.contains(k)) return Bad(absl::StrCat(where, ".", k), "is missing");
  }
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (const char* r : required) known = known || k == r;
    for (const char* o : optional) known = known || k == o;
    if (!known) return Bad(where, absl::StrCat("has an unknown field \"", k, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> GetString(const json& j, const char* key, const std::string& where) {
  const json& v = j.at(key);
  if (!v.is_string()) return Bad(absl::StrCat(where, ".", key), "is not a string");
  return v.get<std::string>();
}

absl::StatusOr<uint64_t> GetUint(const json& j, const char* key, const std::string& where) {
  const json& v = j.at(key);
  if (!v.is_number_unsigned()) {
    return Bad(absl::StrCat(where, ".", key), "is not a non-negative integer");
  }
  return v.get<uint64_t>();
}

absl::StatusOr<bool> GetBool(const json& j, const char* key, const std::string& where) {
  const json& v = j.at(key);
  if (!v.is_boolean()) return Bad(absl::StrCat(where, ".", key), "is not a boolean");
  return v.get<bool>();
}

absl::StatusOr<std::vector<std::string>> GetStrings(const json& j, const char* key,
                                                    const std::string& where) {
  const json& v = j.at(key);
  if (!v.is_array()) return Bad(absl::StrCat(where, ".", key), "is not an array");
  std::vector<std::string> out;
  for (const json& x : v) {
    if (!x.is_string()) return Bad(absl::StrCat(where, ".", key), "holds a non-string");
    out.push_back(x.get<std::string>());
  }
  return out;
}

// Fields of a log entry, read leniently: a missing or mistyped field reads as empty, which then
// fails the comparison that needs it.
std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
int64_t Int(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
}
std::vector<std::string> Strs(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const json& x : *it) out.push_back(x.is_string() ? x.get<std::string>() : "?");
  return out;
}

struct Entry {
  uint64_t index = 0;
  std::string text;                // as hashed into the tree
  std::vector<std::string> proof;  // raw hashes
  json j;                          // the parsed object
  std::string kind;
  absl::Time time;
  std::string time_text;

  // "job.admission entry 12 (2025-07-10T00:00:00Z)"
  std::string Ref() const { return absl::StrCat(kind, " entry ", index, " (", time_text, ")"); }
};

struct AdmissionItem {
  uint64_t attempt = 0;
  std::string worker_id;
  std::string decided_at;
  bool admitted = false;
  std::vector<std::string> reasons;
  bool simulated = false;
  std::string evidence_digest;
  std::string evidence_document;
  json claims;
};

struct ReleaseItem {
  std::string release_id;
  uint64_t attempt = 0;
  std::string artifact_id;
  std::string owner;
  std::string recipient;
  std::string receipt;  // DSSE JSON text
};

struct RefusalItem {
  std::string release_id;
  uint64_t attempt = 0;
  std::string artifact_id;
  std::string owner;
  bool final = false;
  std::vector<std::string> reasons;
  std::string receipt;  // DSSE JSON text
};

struct ConsistencyItem {
  uint64_t from = 0;
  uint64_t to = 0;
  std::optional<std::string> checkpoint;  // the later checkpoint, when it is not the bundle's
  std::vector<std::string> proof;
};

// A cosigned checkpoint before an admission entry (bundle.log.witnessed_before).
struct WitnessedBefore {
  uint64_t index = 0;  // the job.admission entry
  std::string checkpoint;
  std::vector<std::string> proof;  // to the bundle's tree size
};

struct Bundle {
  std::string job_id;
  std::string log_origin;
  std::string contract_id;
  std::string contract_digest;
  std::string contract_envelope;  // DSSE JSON text
  std::string job_state;
  uint64_t job_attempt = 0;
  std::optional<std::string> output_id;
  std::optional<std::string> failure_reason;
  std::string submission;  // DSSE JSON text
  std::optional<std::string> record_worker;
  std::optional<std::string> record_coordinator;
  std::vector<AdmissionItem> admissions;
  std::vector<ReleaseItem> releases;
  std::vector<RefusalItem> refusals;
  std::string checkpoint;
  uint64_t tree_size = 0;
  std::vector<Entry> entries;
  std::vector<ConsistencyItem> consistency;
  std::vector<WitnessedBefore> witnessed_before;
};

absl::StatusOr<std::vector<std::string>> GetHashes(const json& j, const char* key,
                                                   const std::string& where) {
  TRIAD_ASSIGN_OR_RETURN(std::vector<std::string> b64, GetStrings(j, key, where));
  if (b64.size() > crypto::merkle::kMaxProofHashes) {
    return Bad(absl::StrCat(where, ".", key), "is longer than any proof can be");
  }
  std::vector<std::string> out;
  for (const std::string& h : b64) {
    absl::StatusOr<std::string> raw = base::Base64Decode(h);
    if (!raw.ok() || raw->size() != crypto::merkle::kHashSize) {
      return Bad(absl::StrCat(where, ".", key), "holds a value that is not a base64 hash");
    }
    out.push_back(*std::move(raw));
  }
  return out;
}

absl::StatusOr<Entry> ParseEntry(const json& e, const std::string& where) {
  TRIAD_RETURN_IF_ERROR(CheckKeys(e, where, {"index", "entry", "inclusion_proof"}));
  Entry out;
  TRIAD_ASSIGN_OR_RETURN(out.index, GetUint(e, "index", where));
  TRIAD_ASSIGN_OR_RETURN(out.text, GetString(e, "entry", where));
  TRIAD_ASSIGN_OR_RETURN(std::vector<std::string> proof, GetStrings(e, "inclusion_proof", where));
  if (proof.size() > crypto::merkle::kMaxProofHashes) {
    return Bad(absl::StrCat(where, ".inclusion_proof"), "is longer than any proof can be");
  }
  for (const std::string& h : proof) {
    absl::StatusOr<std::string> raw = base::Base64Decode(h);
    if (!raw.ok() || raw->size() != crypto::merkle::kHashSize) {
      return Bad(absl::StrCat(where, ".inclusion_proof"),
                 "holds a value that is not a base64 hash");
    }
    out.proof.push_back(*std::move(raw));
  }
  absl::StatusOr<json> j = base::ParseJsonStrict(out.text, {kMaxEntrySize, 32});
  if (!j.ok())
    return Bad(absl::StrCat(where, ".entry"), absl::StrCat("is not JSON: ", j.status().message()));
  if (!j->is_object() || Str(*j, "type") != kLogEntryType || Str(*j, "kind").empty()) {
    return Bad(absl::StrCat(where, ".entry"),
               absl::StrCat("is not a ", kLogEntryType, " object with a kind"));
  }
  out.kind = Str(*j, "kind");
  out.time_text = Str(*j, "time");
  if (!base::ParseRfc3339(out.time_text, &out.time)) {
    return Bad(absl::StrCat(where, ".entry"), "has no RFC 3339 time");
  }
  out.j = *std::move(j);
  return out;
}

absl::StatusOr<Bundle> ParseBundle(absl::string_view text) {
  TRIAD_ASSIGN_OR_RETURN(json b, base::ParseJsonStrict(text, {kMaxAuditBundleSize, 64}));
  Bundle out;
  const std::string w = "bundle";
  TRIAD_RETURN_IF_ERROR(
      CheckKeys(b, w,
                {"type", "job_id", "exported_at", "log_origin", "contract", "job", "job_record",
                 "admissions", "key_releases", "key_refusals", "log"}));
  TRIAD_ASSIGN_OR_RETURN(std::string type, GetString(b, "type", w));
  if (type != kAuditBundleType) {
    return Bad("bundle.type", absl::StrCat("is \"", type, "\", not ", kAuditBundleType));
  }
  TRIAD_ASSIGN_OR_RETURN(out.job_id, GetString(b, "job_id", w));
  TRIAD_RETURN_IF_ERROR(GetString(b, "exported_at", w).status());
  TRIAD_ASSIGN_OR_RETURN(out.log_origin, GetString(b, "log_origin", w));

  const json& c = b["contract"];
  TRIAD_RETURN_IF_ERROR(CheckKeys(c, "bundle.contract", {"id", "digest", "envelope"}));
  TRIAD_ASSIGN_OR_RETURN(out.contract_id, GetString(c, "id", "bundle.contract"));
  TRIAD_ASSIGN_OR_RETURN(out.contract_digest, GetString(c, "digest", "bundle.contract"));
  if (!c["envelope"].is_object()) return Bad("bundle.contract.envelope", "is not an object");
  out.contract_envelope = c["envelope"].dump();

  const json& job = b["job"];
  TRIAD_RETURN_IF_ERROR(CheckKeys(job, "bundle.job", {"state", "attempt", "submission"},
                                  {"output_id", "failure_reason"}));
  TRIAD_ASSIGN_OR_RETURN(out.job_state, GetString(job, "state", "bundle.job"));
  TRIAD_ASSIGN_OR_RETURN(out.job_attempt, GetUint(job, "attempt", "bundle.job"));
  if (job.contains("output_id")) {
    TRIAD_ASSIGN_OR_RETURN(out.output_id, GetString(job, "output_id", "bundle.job"));
  }
  if (job.contains("failure_reason")) {
    TRIAD_ASSIGN_OR_RETURN(out.failure_reason, GetString(job, "failure_reason", "bundle.job"));
  }
  if (!job["submission"].is_object()) return Bad("bundle.job.submission", "is not an object");
  out.submission = job["submission"].dump();

  const json& r = b["job_record"];
  if (!r.is_null()) {
    TRIAD_RETURN_IF_ERROR(CheckKeys(r, "bundle.job_record", {"worker", "coordinator"}));
    if (!r["worker"].is_object() || !r["coordinator"].is_object()) {
      return Bad("bundle.job_record", "envelopes are not objects");
    }
    out.record_worker = r["worker"].dump();
    out.record_coordinator = r["coordinator"].dump();
  }

  if (!b["admissions"].is_array()) return Bad("bundle.admissions", "is not an array");
  for (size_t i = 0; i < b["admissions"].size(); ++i) {
    const json& a = b["admissions"][i];
    std::string aw = absl::StrCat("bundle.admissions[", i, "]");
    TRIAD_RETURN_IF_ERROR(
        CheckKeys(a, aw,
                  {"attempt", "worker_id", "decided_at", "admitted", "reasons", "simulated",
                   "evidence_digest", "evidence_document", "claims"}));
    AdmissionItem item;
    TRIAD_ASSIGN_OR_RETURN(item.attempt, GetUint(a, "attempt", aw));
    TRIAD_ASSIGN_OR_RETURN(item.worker_id, GetString(a, "worker_id", aw));
    TRIAD_ASSIGN_OR_RETURN(item.decided_at, GetString(a, "decided_at", aw));
    TRIAD_ASSIGN_OR_RETURN(item.admitted, GetBool(a, "admitted", aw));
    TRIAD_ASSIGN_OR_RETURN(item.reasons, GetStrings(a, "reasons", aw));
    TRIAD_ASSIGN_OR_RETURN(item.simulated, GetBool(a, "simulated", aw));
    TRIAD_ASSIGN_OR_RETURN(item.evidence_digest, GetString(a, "evidence_digest", aw));
    TRIAD_ASSIGN_OR_RETURN(item.evidence_document, GetString(a, "evidence_document", aw));
    if (!a["claims"].is_object()) return Bad(absl::StrCat(aw, ".claims"), "is not an object");
    item.claims = a["claims"];
    for (const AdmissionItem& other : out.admissions) {
      if (other.attempt == item.attempt) {
        return Bad(aw, absl::StrCat("repeats attempt ", item.attempt));
      }
    }
    out.admissions.push_back(std::move(item));
  }

  if (!b["key_releases"].is_array()) return Bad("bundle.key_releases", "is not an array");
  for (size_t i = 0; i < b["key_releases"].size(); ++i) {
    const json& k = b["key_releases"][i];
    std::string kw = absl::StrCat("bundle.key_releases[", i, "]");
    TRIAD_RETURN_IF_ERROR(CheckKeys(
        k, kw,
        {"release_id", "attempt", "artifact_id", "owner", "recipient", "released_at", "receipt"}));
    ReleaseItem item;
    TRIAD_ASSIGN_OR_RETURN(item.release_id, GetString(k, "release_id", kw));
    TRIAD_ASSIGN_OR_RETURN(item.attempt, GetUint(k, "attempt", kw));
    TRIAD_ASSIGN_OR_RETURN(item.artifact_id, GetString(k, "artifact_id", kw));
    TRIAD_ASSIGN_OR_RETURN(item.owner, GetString(k, "owner", kw));
    TRIAD_ASSIGN_OR_RETURN(item.recipient, GetString(k, "recipient", kw));
    TRIAD_RETURN_IF_ERROR(GetString(k, "released_at", kw).status());
    if (!k["receipt"].is_object()) return Bad(absl::StrCat(kw, ".receipt"), "is not an object");
    item.receipt = k["receipt"].dump();
    out.releases.push_back(std::move(item));
  }
  if (!b["key_refusals"].is_array()) return Bad("bundle.key_refusals", "is not an array");
  for (size_t i = 0; i < b["key_refusals"].size(); ++i) {
    const json& k = b["key_refusals"][i];
    std::string kw = absl::StrCat("bundle.key_refusals[", i, "]");
    TRIAD_RETURN_IF_ERROR(CheckKeys(
        k, kw, {"release_id", "attempt", "artifact_id", "owner", "final", "reasons", "receipt"}));
    RefusalItem item;
    TRIAD_ASSIGN_OR_RETURN(item.release_id, GetString(k, "release_id", kw));
    TRIAD_ASSIGN_OR_RETURN(item.attempt, GetUint(k, "attempt", kw));
    TRIAD_ASSIGN_OR_RETURN(item.artifact_id, GetString(k, "artifact_id", kw));
    TRIAD_ASSIGN_OR_RETURN(item.owner, GetString(k, "owner", kw));
    TRIAD_ASSIGN_OR_RETURN(item.final, GetBool(k, "final", kw));
    TRIAD_ASSIGN_OR_RETURN(item.reasons, GetStrings(k, "reasons", kw));
    if (!k["receipt"].is_object()) return Bad(absl::StrCat(kw, ".receipt"), "is not an object");
    item.receipt = k["receipt"].dump();
    out.refusals.push_back(std::move(item));
  }

  const json& log = b["log"];
  TRIAD_RETURN_IF_ERROR(CheckKeys(log, "bundle.log", {"checkpoint", "tree_size", "entries"},
                                  {"consistency", "witnessed_before"}));
  if (log.contains("witnessed_before")) {
    if (!log["witnessed_before"].is_array() || log["witnessed_before"].size() > 64) {
      return Bad("bundle.log.witnessed_before", "is not an array of at most 64 items");
    }
    for (size_t i = 0; i < log["witnessed_before"].size(); ++i) {
      const json& w = log["witnessed_before"][i];
      std::string ww = absl::StrCat("bundle.log.witnessed_before[", i, "]");
      TRIAD_RETURN_IF_ERROR(CheckKeys(w, ww, {"index", "checkpoint", "proof"}));
      WitnessedBefore item;
      TRIAD_ASSIGN_OR_RETURN(item.index, GetUint(w, "index", ww));
      TRIAD_ASSIGN_OR_RETURN(item.checkpoint, GetString(w, "checkpoint", ww));
      TRIAD_ASSIGN_OR_RETURN(item.proof, GetHashes(w, "proof", ww));
      out.witnessed_before.push_back(std::move(item));
    }
  }
  if (log.contains("consistency")) {
    if (!log["consistency"].is_array() || log["consistency"].size() > 16) {
      return Bad("bundle.log.consistency", "is not an array of at most 16 proofs");
    }
    for (size_t i = 0; i < log["consistency"].size(); ++i) {
      const json& c2 = log["consistency"][i];
      std::string cw = absl::StrCat("bundle.log.consistency[", i, "]");
      TRIAD_RETURN_IF_ERROR(CheckKeys(c2, cw, {"from", "to", "checkpoint", "proof"}));
      ConsistencyItem item;
      TRIAD_ASSIGN_OR_RETURN(item.from, GetUint(c2, "from", cw));
      TRIAD_ASSIGN_OR_RETURN(item.to, GetUint(c2, "to", cw));
      if (!c2["checkpoint"].is_null()) {
        TRIAD_ASSIGN_OR_RETURN(item.checkpoint, GetString(c2, "checkpoint", cw));
      }
      TRIAD_ASSIGN_OR_RETURN(item.proof, GetHashes(c2, "proof", cw));
      out.consistency.push_back(std::move(item));
    }
  }
  TRIAD_ASSIGN_OR_RETURN(out.checkpoint, GetString(log, "checkpoint", "bundle.log"));
  TRIAD_ASSIGN_OR_RETURN(out.tree_size, GetUint(log, "tree_size", "bundle.log"));
  if (!log["entries"].is_array()) return Bad("bundle.log.entries", "is not an array");
  for (size_t i = 0; i < log["entries"].size(); ++i) {
    std::string ew = absl::StrCat("bundle.log.entries[", i, "]");
    TRIAD_ASSIGN_OR_RETURN(Entry e, ParseEntry(log["entries"][i], ew));
    if (!out.entries.empty() && e.index <= out.entries.back().index) {
      return Bad(absl::StrCat(ew, ".index"), "is not above the previous entry's (log order)");
    }
    out.entries.push_back(std::move(e));
  }
  return out;
}

// The evidence document (coordinator.h EvidenceDocument): {"tee", "report", "certs",
// "collateral"}, values in base64.
absl::StatusOr<attestation::Evidence> ParseEvidenceDocumentImpl(absl::string_view text) {
  TRIAD_ASSIGN_OR_RETURN(json d, base::ParseJsonStrict(text, {kMaxEvidenceDocumentSize, 4}));
  const std::string w = "evidence document";
  TRIAD_RETURN_IF_ERROR(CheckKeys(d, w, {"tee", "report", "certs", "collateral"}));
  attestation::Evidence ev;
  TRIAD_ASSIGN_OR_RETURN(ev.tee, GetString(d, "tee", w));
  std::string* parts[] = {&ev.report, &ev.certs, &ev.collateral};
  const char* names[] = {"report", "certs", "collateral"};
  for (int i = 0; i < 3; ++i) {
    TRIAD_ASSIGN_OR_RETURN(std::string b64, GetString(d, names[i], w));
    absl::StatusOr<std::string> raw = base::Base64Decode(b64);
    if (!raw.ok()) return Bad(absl::StrCat(w, ".", names[i]), "is not base64");
    *parts[i] = *std::move(raw);
  }
  return ev;
}

std::string Quote(const std::vector<std::string>& reasons) {
  if (reasons.empty()) return "(no reasons)";
  std::vector<std::string> shown(reasons.begin(),
                                 reasons.begin() + std::min(reasons.size(), kMaxQuotedReasons));
  std::string out = absl::StrJoin(shown, "; ");
  if (reasons.size() > shown.size()) {
    absl::StrAppend(&out, "; and ", reasons.size() - shown.size(), " more");
  }
  return out;
}

std::string Short(absl::string_view id) { return std::string(id.substr(0, 16)); }

// At most `n` bytes of text from the bundle, never cutting a UTF-8 sequence in two.
std::string Clip(absl::string_view s, size_t n) {
  if (s.size() <= n) return std::string(s);
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return absl::StrCat(s.substr(0, n), "…");
}

// Text for a terminal: C0 and C1 control characters (which a hostile bundle could use to move the
// cursor and overwrite a FAIL line) as \xNN.
std::string Printable(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    bool c1 = c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
              static_cast<unsigned char>(s[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F) {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else if (c1) {
      absl::StrAppend(&out, "\\x", absl::Hex(static_cast<unsigned char>(s[++i]), absl::kZeroPad2));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// ---- The checks ----

// What the re-verification of one admission found, shared by its checks.
struct Rederived {
  const AdmissionItem* item = nullptr;
  const Entry* entry = nullptr;  // its job.admission entry, when there is exactly one
  std::optional<attestation::Evidence> evidence;
  std::optional<attestation::Verdict> verdict;
};

class BundleVerifier {
 public:
  BundleVerifier(const coordinator::CoordinatorCard& card, const attestation::TrustAnchors& anchors,
                 const AuditOptions& options, AuditReport& report)
      : card_(card), anchors_(anchors), options_(options), report_(report) {}

  void Run(absl::string_view text) {
    if (text.size() > kMaxAuditBundleSize) {
      Fail("bundle", absl::StrCat("is ", text.size(), " bytes, more than the limit of ",
                                  kMaxAuditBundleSize));
      return;
    }
    absl::StatusOr<Bundle> b = ParseBundle(text);
    if (!b.ok()) {
      Fail("bundle",
           absl::StrCat(b.status().message(), "; nothing else can be checked in this file"));
      return;
    }
    b_ = *std::move(b);
    report_.job_id = b_.job_id;
    Pass("bundle", absl::StrCat("job ", b_.job_id, ": ", b_.entries.size(), " log entries, ",
                                b_.admissions.size(), " admission(s), ", b_.releases.size(),
                                " key release(s)"));
    Checkpoint();
    Inclusion();
    ContractSignatures();
    ContractDigest();
    ContractTerms();
    Registrations();
    JobSubmission();
    for (const AdmissionItem& a : b_.admissions) Admission(a);
    if (b_.admissions.empty()) {
      Fail("admissions", "the bundle holds no admission: no worker was ever admitted to this job");
    }
    JobHistory();
    ContractHistory();
    JobState();
    RecordWorkerSignature();
    RecordCoordinatorSignature();
    RecordStatement();
    AdapterDigest();
    KeyReleases();
    KeyRefusals();
    if (options_.adapter_digest) AdapterFile();
    if (options_.saved_checkpoint) SavedView();
    if (options_.min_witnesses > 0) {
      Witnesses();
      AdmissionTimes();
    }
  }

 private:
  void Add(std::string name, bool ok, std::string detail) {
    report_.checks.push_back({std::move(name), ok, std::move(detail)});
  }
  void Pass(std::string name, std::string detail) { Add(std::move(name), true, std::move(detail)); }
  void Fail(std::string name, std::string detail) {
    Add(std::move(name), false, std::move(detail));
  }

  // Entries of `kind` for which `pred` holds.
  std::vector<const Entry*> Find(absl::string_view kind,
                                 const std::function<bool(const Entry&)>& pred = nullptr) const {
    std::vector<const Entry*> out;
    for (const Entry& e : b_.entries) {
      if (e.kind == kind && (!pred || pred(e))) out.push_back(&e);
    }
    return out;
  }
  std::vector<const Entry*> JobEntries(absl::string_view kind) const {
    return Find(kind, [this](const Entry& e) { return Str(e.j, "job_id") == b_.job_id; });
  }
  // Exactly one; otherwise null and `why` says what is wrong ("no job.done entry of job J").
  const Entry* One(const std::vector<const Entry*>& found, absl::string_view what,
                   std::string* why) const {
    if (found.size() == 1) return found[0];
    *why = found.empty() ? absl::StrCat("the bundle's log has no ", what)
                         : absl::StrCat("the bundle's log has ", found.size(), " ", what, "s");
    return nullptr;
  }
  const Entry* Activated(std::string* why) const {
    return One(Find("contract.activated",
                    [this](const Entry& e) { return Str(e.j, "contract_id") == b_.contract_id; }),
               absl::StrCat("contract.activated entry of contract ", b_.contract_id), why);
  }
  const Entry* Submitted(std::string* why) const {
    return One(JobEntries("job.submitted"), absl::StrCat("job.submitted entry of job ", b_.job_id),
               why);
  }
  const Entry* AdmissionEntry(uint64_t attempt, std::string* why) const {
    std::vector<const Entry*> found = JobEntries("job.admission");
    found.erase(std::remove_if(found.begin(), found.end(),
                               [attempt](const Entry* e) {
                                 return Int(e->j, "attempt") != static_cast<int64_t>(attempt);
                               }),
                found.end());
    return One(found, absl::StrCat("job.admission entry of attempt ", attempt), why);
  }
  // The contract's contract.revoked entry, if the bundle holds one.
  const Entry* Revocation() const {
    std::vector<const Entry*> found = Find("contract.revoked", [this](const Entry& e) {
      return Str(e.j, "contract_id") == b_.contract_id;
    });
    return found.empty() ? nullptr : found.front();
  }
  static std::string EntryHash(const Entry& e) { return base::HexEncode(crypto::Sha256(e.text)); }

  // The job.admission entry of the job's current attempt, which must say "admit".
  const Entry* AdmittedEntry(std::string* why) const {
    const Entry* e = AdmissionEntry(b_.job_attempt, why);
    if (e != nullptr && Str(e->j, "decision") != "admit") {
      *why = absl::StrCat("attempt ", b_.job_attempt, " was not admitted (", e->Ref(), ")");
      return nullptr;
    }
    return e;
  }

  void Checkpoint() {
    const char* name = "checkpoint signature";
    if (b_.log_origin != card_.log_origin) {
      Fail(name, absl::StrCat("the bundle's log_origin \"", b_.log_origin,
                              "\" is not the card's \"", card_.log_origin, "\""));
      return;
    }
    absl::StatusOr<crypto::Checkpoint> cp = OpenCardCheckpoint(card_, b_.checkpoint);
    if (!cp.ok()) {
      Fail(name, std::string(cp.status().message()));
      return;
    }
    checkpoint_ = *cp;
    if (cp->size != b_.tree_size) {
      Fail(name, absl::StrCat("the bundle says tree_size ", b_.tree_size,
                              ", the signed checkpoint says ", cp->size));
      return;
    }
    Pass(name, absl::StrCat("tree size ", cp->size, ", root ", base::Base64Encode(cp->root_hash),
                            ", signed by the coordinator card's key ",
                            Short(card_.signing_key.KeyId()), "… under ", card_.log_origin));
  }

  void Inclusion() {
    const char* name = "log inclusion";
    if (!checkpoint_) {
      Fail(name, "no signed checkpoint to prove the entries into");
      return;
    }
    std::vector<std::string> failures;
    for (const Entry& e : b_.entries) {
      absl::Status st = crypto::merkle::VerifyInclusion(e.index, checkpoint_->size,
                                                        crypto::merkle::LeafHash(e.text), e.proof,
                                                        checkpoint_->root_hash);
      if (!st.ok())
        failures.push_back(absl::StrCat(e.kind, " entry ", e.index, ": ", st.message()));
    }
    if (!failures.empty()) {
      Fail(name, Quote(failures));
      return;
    }
    Pass(name, absl::StrCat("all ", b_.entries.size(),
                            " entries are in the signed tree (RFC 6962 inclusion proofs)"));
  }

  void ContractSignatures() {
    const char* name = "contract signatures";
    absl::StatusOr<crypto::DsseEnvelope> env =
        crypto::DsseEnvelope::FromJson(b_.contract_envelope, contracts::kMaxContractEnvelopeSize);
    if (!env.ok()) {
      Fail(name, absl::StrCat("contract envelope: ", env.status().message()));
      return;
    }
    envelope_ = *env;
    // The time does not matter for the signatures; the terms check its window.
    contracts::ContractStatus status = contracts::CheckContract(*env, absl::UnixEpoch());
    if (!status.contract) {
      Fail(name, absl::StrCat("the payload is not a valid contract: ", Quote(status.reasons)));
      return;
    }
    contract_ = status.contract;
    if (contract_->id != b_.contract_id) {
      Fail(name, absl::StrCat("the envelope holds contract ", contract_->id, ", the bundle names ",
                              b_.contract_id));
      return;
    }
    std::vector<std::string> problems, signed_by;
    for (size_t i = 0; i < 3; ++i) {
      contracts::Role role = contracts::kContractRoles[i];
      const contracts::PartyCard& p = contract_->party(role);
      std::string who = absl::StrCat(contracts::SlotName(role), " ", p.name, " (key ",
                                     Short(p.fingerprint()), "…)");
      if (status.signatures[i] == contracts::SignatureState::kValid) {
        signed_by.push_back(who);
      } else {
        problems.push_back(absl::StrCat(
            who, ": ", contracts::SignatureStateName(status.signatures[i]), " signature"));
      }
    }
    if (problems.empty() && env->signatures.size() != 3) {
      problems.push_back(absl::StrCat("the envelope carries ", env->signatures.size(),
                                      " signatures; only the three parties' may be there"));
    }
    if (!problems.empty()) {
      Fail(name, absl::StrCat("contract ", contract_->id, ": ", Quote(problems)));
      return;
    }
    Pass(name,
         absl::StrCat("contract ", contract_->id, " signed by ", absl::StrJoin(signed_by, ", ")));
  }

  void ContractDigest() {
    const char* name = "contract digest";
    if (!envelope_) {
      Fail(name, "no contract envelope to hash");
      return;
    }
    std::string digest = contracts::ContractDigest(*envelope_);
    std::vector<std::string> problems;
    if (b_.contract_digest != digest) {
      problems.push_back(absl::StrCat("the bundle's contract.digest is ", b_.contract_digest));
    }
    std::vector<const Entry*> sigs = Find("contract.signature", [this](const Entry& e) {
      return Str(e.j, "contract_id") == b_.contract_id;
    });
    if (sigs.size() != 3) {
      problems.push_back(
          absl::StrCat("the log has ", sigs.size(), " contract.signature entries, not 3"));
    }
    for (const Entry* e : sigs) {
      if (Str(e->j, "digest") != digest) {
        problems.push_back(absl::StrCat(e->Ref(), " names digest ", Str(e->j, "digest")));
        continue;
      }
      // The logged signature is one of the envelope's, by the key it names.
      bool found = false;
      for (const crypto::DsseSignature& s : envelope_->signatures) {
        found = found ||
                (s.keyid == Str(e->j, "key_id") && base::Base64Encode(s.sig) == Str(e->j, "sig"));
      }
      if (!found) {
        problems.push_back(absl::StrCat(e->Ref(), ": its signature is not in the envelope"));
      }
    }
    std::string why;
    if (const Entry* a = Activated(&why)) {
      if (Str(a->j, "digest") != digest) {
        problems.push_back(absl::StrCat(a->Ref(), " names digest ", Str(a->j, "digest")));
      } else if (contract_ &&
                 (Str(a->j, "not_before") != base::FormatRfc3339(contract_->not_before) ||
                  Str(a->j, "not_after") != base::FormatRfc3339(contract_->not_after) ||
                  Str(a->j, "base_model") != contract_->base_model.id ||
                  Str(a->j, "dataset") != contract_->dataset.id)) {
        problems.push_back(
            absl::StrCat(a->Ref(), " states other terms (validity or inputs) than the envelope"));
      }
    } else {
      problems.push_back(why);
    }
    if (const Entry* s = Submitted(&why)) {
      if (Str(s->j, "contract_digest") != digest || Str(s->j, "contract_id") != b_.contract_id) {
        problems.push_back(absl::StrCat(s->Ref(), " names contract ", Str(s->j, "contract_id"), " ",
                                        Str(s->j, "contract_digest")));
      }
    } else {
      problems.push_back(why);
    }
    if (!problems.empty()) {
      Fail(name, absl::StrCat("the payload's digest is ", digest, "; ", Quote(problems)));
      return;
    }
    Pass(name, absl::StrCat(digest,
                            " = contract.digest = the logged contract.signature, "
                            "contract.activated and job.submitted entries"));
  }

  // "" when the contract was active at `t`, else why not.
  std::string Inactive(absl::Time t) const {
    if (t < contract_->not_before) {
      return absl::StrCat("not yet valid: ", base::FormatRfc3339(t), " is before not_before ",
                          base::FormatRfc3339(contract_->not_before));
    }
    if (t >= contract_->not_after) {
      return absl::StrCat("expired: ", base::FormatRfc3339(t), " is not before not_after ",
                          base::FormatRfc3339(contract_->not_after));
    }
    return "";
  }

  void ContractTerms() {
    const char* name = "contract terms";
    if (!contract_) {
      Fail(name, "no valid contract payload to check the terms of");
      return;
    }
    std::string why;
    const Entry* activated = Activated(&why);
    if (activated == nullptr) {
      Fail(name, why);
      return;
    }
    const Entry* submitted = Submitted(&why);
    if (submitted == nullptr) {
      Fail(name, why);
      return;
    }
    std::vector<std::string> problems;
    for (const Entry* e : {activated, submitted}) {
      std::string r = Inactive(e->time);
      if (!r.empty()) problems.push_back(absl::StrCat("at the time of ", e->Ref(), ": ", r));
    }
    if (const Entry* rev = Revocation(); rev != nullptr && rev->index < submitted->index) {
      problems.push_back(
          absl::StrCat("the job was submitted after the contract was revoked (", rev->Ref(), ")"));
    }
    if (!problems.empty()) {
      Fail(name, Quote(problems));
      return;
    }
    Pass(name,
         absl::StrCat("valid from ", base::FormatRfc3339(contract_->not_before), " to ",
                      base::FormatRfc3339(contract_->not_after), "; active at ", activated->Ref(),
                      " and at ", submitted->Ref(), " (times from the signed log)"));
  }

  void Registrations() {
    const char* name = "registrations";
    if (!contract_) {
      Fail(name, "no valid contract to compare the registrations with");
      return;
    }
    std::vector<std::string> problems;
    for (contracts::Role role : contracts::kContractRoles) {
      const contracts::PartyCard& p = contract_->party(role);
      std::vector<const Entry*> found = Find("party.registered", [&p](const Entry& e) {
        return Str(e.j, "fingerprint") == p.fingerprint();
      });
      if (found.size() != 1) {
        problems.push_back(absl::StrCat(found.size(), " party.registered entries for ",
                                        contracts::SlotName(role), " ", p.name));
        continue;
      }
      const json& j = found[0]->j;
      if (Str(j, "name") != p.name || Str(j, "role") != contracts::RoleName(p.role) ||
          Str(j, "age_recipient") != p.age_recipient.ToString()) {
        problems.push_back(absl::StrCat(found[0]->Ref(),
                                        " registered another card than the contract's ",
                                        contracts::SlotName(role)));
      }
    }
    struct Input {
      const contracts::Artifact& artifact;
      const char* kind;
      const contracts::PartyCard& owner;
    } inputs[] = {{contract_->base_model, "model", contract_->model_owner},
                  {contract_->dataset, "dataset", contract_->data_owner}};
    for (const Input& in : inputs) {
      std::vector<const Entry*> found = Find("artifact.registered", [&in](const Entry& e) {
        return Str(e.j, "id") == in.artifact.id;
      });
      if (found.size() != 1) {
        problems.push_back(
            absl::StrCat(found.size(), " artifact.registered entries for ", in.artifact.id));
        continue;
      }
      const json& j = found[0]->j;
      if (Str(j, "artifact_kind") != in.kind || Str(j, "owner_key") != in.owner.fingerprint()) {
        problems.push_back(absl::StrCat(found[0]->Ref(), ": ", in.artifact.id, " is a ",
                                        Str(j, "artifact_kind"), " of key ", Str(j, "owner_key"),
                                        ", not a ", in.kind, " of ", in.owner.name));
      }
    }
    if (!problems.empty()) {
      Fail(name, Quote(problems));
      return;
    }
    Pass(name, absl::StrCat("the three parties registered the contract's cards; ",
                            contract_->model_owner.name, " registered the model, ",
                            contract_->data_owner.name, " the dataset"));
  }

  void JobSubmission() {
    const char* name = "job submission";
    if (!contract_) {
      Fail(name, "no valid contract to check the submitter against");
      return;
    }
    std::string why;
    const Entry* e = Submitted(&why);
    if (e == nullptr) {
      Fail(name, why);
      return;
    }
    const contracts::Contract& c = *contract_;
    KeyLookup lookup = [&c](const std::string& keyid) -> absl::StatusOr<crypto::Ed25519PublicKey> {
      for (const contracts::PartyCard* p : {&c.model_owner, &c.data_owner}) {
        if (p->fingerprint() == keyid) return p->signing_key;
      }
      return absl::PermissionDeniedError(
          absl::StrCat("signed by key ", Clip(keyid, 64),
                       ", which is neither the model owner's nor the data owner's"));
    };
    absl::StatusOr<VerifiedRequest> v =
        VerifyRequest(b_.submission, "submit-job", e->time, lookup, card_.signing_key.KeyId());
    if (!v.ok()) {
      Fail(name, absl::StrCat("checked at the time of ", e->Ref(), ": ", v.status().message()));
      return;
    }
    const json& body = v->request.body;
    if (body.size() != 1 || Str(body, "contract_id") != b_.contract_id) {
      Fail(name, absl::StrCat("the request's body is ", body.dump(), ", not {\"contract_id\": \"",
                              b_.contract_id, "\"}"));
      return;
    }
    if (Str(e->j, "submitter_key") != v->signer.KeyId()) {
      Fail(name, absl::StrCat(e->Ref(), " names submitter key ", Str(e->j, "submitter_key"),
                              "; the request is signed by ", v->signer.KeyId()));
      return;
    }
    std::string who = v->signer.KeyId() == c.model_owner.fingerprint()
                          ? absl::StrCat("model owner ", c.model_owner.name)
                          : absl::StrCat("data owner ", c.data_owner.name);
    Pass(name, absl::StrCat("submit-job for ", b_.contract_id, " signed by ", who, ", issued ",
                            base::FormatRfc3339(v->request.issued_at), " (within 5 minutes of ",
                            e->Ref(), ")"));
  }

  void Admission(const AdmissionItem& a) {
    std::string prefix = absl::StrCat("admission ", a.attempt, " ");
    Rederived r;
    r.item = &a;
    std::string why;
    r.entry = AdmissionEntry(a.attempt, &why);

    // Evidence digest.
    {
      std::string name = prefix + "evidence digest";
      std::string digest = crypto::Sha256Id(a.evidence_document);
      if (r.entry == nullptr) {
        Fail(name, why);
      } else if (digest != a.evidence_digest) {
        Fail(name, absl::StrCat("the evidence document hashes to ", digest, "; the bundle records ",
                                a.evidence_digest));
      } else if (Str(r.entry->j, "evidence_digest") != digest) {
        Fail(name, absl::StrCat(r.entry->Ref(), " records ", Str(r.entry->j, "evidence_digest"),
                                "; the evidence document hashes to ", digest));
      } else {
        Pass(name, absl::StrCat(digest, " = SHA-256 of the evidence document = ", r.entry->Ref()));
      }
    }

    // Re-verification at the time of the admission's log entry.
    {
      std::string name = prefix + "evidence";
      absl::StatusOr<attestation::Evidence> ev = ParseEvidenceDocument(a.evidence_document);
      if (r.entry == nullptr) {
        Fail(name, absl::StrCat(why, "; its time is the time to verify at"));
      } else if (!ev.ok()) {
        Fail(name, std::string(ev.status().message()));
      } else if (Str(r.entry->j, "tee") != ev->tee) {
        Fail(name, absl::StrCat("the evidence is ", ev->tee, "; ", r.entry->Ref(), " says ",
                                Str(r.entry->j, "tee")));
      } else {
        r.evidence = *ev;
        r.verdict = attestation::VerifyEvidence(*ev, anchors_, r.entry->time);
        std::string at = absl::StrCat(" at ", r.entry->time_text, " (the time of ", r.entry->kind,
                                      " entry ", r.entry->index, ")");
        if (r.verdict->valid) {
          Pass(name, absl::StrCat(ev->tee, " evidence verifies against the pinned roots", at));
        } else if (!a.admitted && a.reasons.size() >= r.verdict->reasons.size() &&
                   std::equal(r.verdict->reasons.begin(), r.verdict->reasons.end(),
                              a.reasons.begin(), [](const std::string& x, const std::string& y) {
                                return absl::StrCat("evidence: ", x) == y;
                              })) {
          Pass(name,
               absl::StrCat("does not verify", at, ", and the coordinator rejected it for that: ",
                            Quote(r.verdict->reasons)));
        } else {
          Fail(name, absl::StrCat("does not verify against the pinned roots", at, ": ",
                                  Quote(r.verdict->reasons)));
        }
      }
    }

    // Claims.
    {
      std::string name = prefix + "claims";
      if (!r.verdict) {
        Fail(name, "no verified evidence to derive claims from");
      } else if (!r.verdict->valid) {
        if (a.claims.empty() && r.entry->j.contains("claims") && r.entry->j["claims"].is_object() &&
            r.entry->j["claims"].empty()) {
          Pass(name, "none: the evidence does not verify, and none were recorded");
        } else {
          Fail(name, "claims are recorded for evidence that does not verify");
        }
      } else {
        json derived = r.verdict->claims.ToJson();
        bool simulated = r.verdict->claims.simulated();
        auto sim_it = r.entry->j.find("simulated");
        bool entry_sim = sim_it != r.entry->j.end() && sim_it->is_boolean() && sim_it->get<bool>();
        if (a.claims != derived) {
          Fail(name, "the bundle's claims differ from those the evidence carries");
        } else if (!r.entry->j.contains("claims") || r.entry->j["claims"] != derived) {
          Fail(name, absl::StrCat("the claims of ", r.entry->Ref(),
                                  " differ from those the evidence carries"));
        } else if (a.simulated != simulated || entry_sim != simulated) {
          Fail(name,
               absl::StrCat("the recorded simulated flag is not ", simulated ? "true" : "false",
                            " (tee ", r.verdict->claims.tee, ")"));
        } else {
          Pass(name,
               absl::StrCat("re-derived claims = the recorded ones (tee ", r.verdict->claims.tee,
                            ", measurement ", Short(base::HexEncode(r.verdict->claims.measurement)),
                            "…, ", r.verdict->claims.debug ? "debug" : "not debug", ")"));
        }
      }
    }

    // Binding of the report data to the nonce, job and ephemeral keys the log records.
    std::optional<std::string> binding_failure;
    {
      std::string name = prefix + "report data binding";
      if (!r.verdict) {
        Fail(name, "no verified evidence to read the report data from");
      } else if (!r.verdict->valid) {
        Add(name, !a.admitted,
            a.admitted ? "the evidence does not verify, so its report data binds nothing"
                       : "not evaluated: the evidence does not verify (the coordinator did not "
                         "evaluate it either)");
      } else {
        absl::StatusOr<attestation::BindingInputs> in = BindingFromEntry(*r.entry);
        if (!in.ok()) {
          Fail(name, absl::StrCat(r.entry->Ref(), ": ", in.status().message()));
        } else {
          absl::Status st = attestation::CheckBinding(r.verdict->claims, *in);
          if (st.ok()) {
            Pass(name, absl::StrCat("the report data binds nonce ", Short(Str(r.entry->j, "nonce")),
                                    "…, job ", b_.job_id, ", Ed25519 key ", Short(in->key.KeyId()),
                                    "… and ", in->recipient.ToString(), " (", r.entry->Ref(), ")"));
          } else {
            binding_failure = std::string(st.message());
            bool recorded = !a.admitted && std::find(a.reasons.begin(), a.reasons.end(),
                                                     *binding_failure) != a.reasons.end();
            Add(name, recorded,
                absl::StrCat(st.message(),
                             recorded ? " (the coordinator rejected it for that)" : ""));
          }
        }
      }
    }

    // The decision, recomputed.
    {
      std::string name = prefix + "policy decision";
      std::string decision = r.entry != nullptr ? Str(r.entry->j, "decision") : "";
      std::vector<std::string> entry_reasons =
          r.entry != nullptr ? Strs(r.entry->j, "reasons") : std::vector<std::string>{};
      if (!r.verdict || !contract_) {
        Fail(name, !contract_ ? "no valid contract to take the policy from"
                              : "no evidence to evaluate the policy on");
      } else if (decision != (a.admitted ? "admit" : "reject") || entry_reasons != a.reasons) {
        Fail(name, absl::StrCat("the bundle records ", a.admitted ? "admit" : "reject", ", ",
                                r.entry->Ref(), " records ", decision, "; their reasons differ"));
      } else {
        std::vector<std::string> reasons;
        if (!r.verdict->valid) {
          for (const std::string& x : r.verdict->reasons) {
            reasons.push_back(absl::StrCat("evidence: ", x));
          }
        } else {
          if (binding_failure) reasons.push_back(*binding_failure);
          contracts::PolicyDecision d =
              contracts::Evaluate(contract_->worker_policy, r.verdict->claims);
          reasons.insert(reasons.end(), d.reasons.begin(), d.reasons.end());
        }
        bool admit = reasons.empty();
        const Entry* input_failure = admit ? InputFailure(a) : nullptr;
        if (input_failure != nullptr) {
          Pass(name, absl::StrCat("the contract's worker policy re-evaluated on the claims: admit; ",
                                  "the coordinator then refused to release the inputs: ",
                                  Quote(a.reasons), " (", input_failure->Ref(), ")"));
        } else if (admit != a.admitted || reasons != a.reasons) {
          Fail(name, absl::StrCat("re-evaluated: ", admit ? "admit" : "reject",
                                  admit ? "" : absl::StrCat(" (", Quote(reasons), ")"),
                                  "; recorded: ", a.admitted ? "admit" : "reject",
                                  a.admitted ? "" : absl::StrCat(" (", Quote(a.reasons), ")")));
        } else {
          Pass(name, absl::StrCat("the contract's worker policy re-evaluated on the claims: ",
                                  admit ? "admit" : absl::StrCat("reject (", Quote(reasons), ")"),
                                  ", as recorded"));
          if (admit && r.verdict->claims.simulated()) report_.simulated = true;
        }
      }
    }
    // A recorded sim admission is simulated whatever the checks found.
    if (a.admitted && a.simulated) report_.simulated = true;
  }

  // When the policy admits a worker but an input can never be released (its stored ciphertext is
  // corrupt or gone), the coordinator records a rejection whose one reason is that input's failure,
  // and fails the job with the same reason in the same attempt: that job.failed entry, else null.
  const Entry* InputFailure(const AdmissionItem& a) const {
    if (a.admitted || a.reasons.size() != 1 || !absl::StartsWith(a.reasons[0], "input ")) {
      return nullptr;
    }
    for (const Entry* e : JobEntries("job.failed")) {
      if (Int(e->j, "attempt") == static_cast<int64_t>(a.attempt) &&
          Str(e->j, "reason") == a.reasons[0]) {
        return e;
      }
    }
    return nullptr;
  }

  static absl::StatusOr<attestation::BindingInputs> BindingFromEntry(const Entry& e) {
    absl::StatusOr<std::string> nonce = base::HexDecode(Str(e.j, "nonce"));
    if (!nonce.ok() || nonce->size() != attestation::kBindingNonceSize) {
      return absl::InvalidArgumentError("no nonce of 64 hex digits");
    }
    absl::StatusOr<std::string> raw = base::Base64Decode(Str(e.j, "ed25519_public_key"));
    if (!raw.ok()) return absl::InvalidArgumentError("ed25519_public_key is not base64");
    TRIAD_ASSIGN_OR_RETURN(
        crypto::Ed25519PublicKey key,
        base::Annotate(crypto::Ed25519PublicKey::FromRaw(*raw), "ed25519_public_key"));
    TRIAD_ASSIGN_OR_RETURN(
        crypto::age::X25519Recipient recipient,
        base::Annotate(crypto::age::X25519Recipient::Parse(Str(e.j, "age_recipient")),
                       "age_recipient"));
    return attestation::BindingInputs{*std::move(nonce), Str(e.j, "job_id"), std::move(key),
                                      std::move(recipient)};
  }

  void JobState() {
    const char* name = "job state";
    if (b_.job_state != "done") {
      Fail(name, absl::StrCat("job ", b_.job_id, " is ", b_.job_state,
                              b_.failure_reason ? absl::StrCat(" (", *b_.failure_reason, ")") : "",
                              ": it has no output or job record to verify"));
      return;
    }
    std::string why;
    if (!b_.output_id) {
      Fail(name, "the job is done but the bundle has no output_id");
    } else if (One(JobEntries("job.output"), "job.output entry", &why) == nullptr ||
               One(JobEntries("job.done"), "job.done entry", &why) == nullptr) {
      Fail(name, absl::StrCat("the job is done, but ", why));
    } else {
      Pass(name, absl::StrCat("done after attempt ", b_.job_attempt, ", output ", *b_.output_id));
    }
  }

  // The worker's key: the Ed25519 key the admitted attempt's job.admission entry records.
  absl::StatusOr<crypto::Ed25519PublicKey> WorkerKey(const Entry** entry = nullptr) const {
    std::string why;
    const Entry* e = AdmittedEntry(&why);
    if (e == nullptr) return absl::NotFoundError(why);
    if (entry != nullptr) *entry = e;
    absl::StatusOr<std::string> raw = base::Base64Decode(Str(e->j, "ed25519_public_key"));
    if (!raw.ok()) return absl::InvalidArgumentError(absl::StrCat(e->Ref(), ": key is not base64"));
    return base::Annotate(crypto::Ed25519PublicKey::FromRaw(*raw), e->Ref());
  }

  void RecordWorkerSignature() {
    const char* name = "job record worker signature";
    if (!b_.record_worker) {
      Fail(name, absl::StrCat("the bundle has no job record (job ", b_.job_id, " is ", b_.job_state,
                              ")"));
      return;
    }
    absl::StatusOr<crypto::DsseEnvelope> env =
        crypto::DsseEnvelope::FromJson(*b_.record_worker, kMaxJobRecordSize);
    if (!env.ok()) {
      Fail(name, absl::StrCat("the worker's envelope: ", env.status().message()));
      return;
    }
    worker_record_ = *env;
    const Entry* e = nullptr;
    absl::StatusOr<crypto::Ed25519PublicKey> key = WorkerKey(&e);
    if (!key.ok()) {
      Fail(name, absl::StrCat("no attested key to check it with: ", key.status().message()));
      return;
    }
    if (env->signatures.size() != 1 ||
        !crypto::DsseVerifySignature(*env, env->signatures[0], *key).ok()) {
      Fail(name, absl::StrCat("not signed (exactly once) by the attested Ed25519 key ",
                              Short(key->KeyId()), "… of ", e->Ref()));
      return;
    }
    Pass(name, absl::StrCat("signed by the attested Ed25519 key ", Short(key->KeyId()), "… of ",
                            e->Ref()));
  }

  void RecordCoordinatorSignature() {
    const char* name = "job record coordinator signature";
    if (!b_.record_coordinator) {
      Fail(name, absl::StrCat("the bundle has no job record (job ", b_.job_id, " is ", b_.job_state,
                              ")"));
      return;
    }
    absl::StatusOr<crypto::DsseEnvelope> env =
        crypto::DsseEnvelope::FromJson(*b_.record_coordinator, kMaxJobRecordSize);
    if (!env.ok()) {
      Fail(name, absl::StrCat("the coordinator's envelope: ", env.status().message()));
      return;
    }
    if (env->signatures.size() != 1 ||
        !crypto::DsseVerifySignature(*env, env->signatures[0], card_.signing_key).ok()) {
      Fail(name, absl::StrCat("not signed (exactly once) by the coordinator card's key ",
                              Short(card_.signing_key.KeyId()), "…"));
      return;
    }
    if (!worker_record_ || worker_record_->payload != env->payload ||
        worker_record_->payload_type != env->payload_type) {
      Fail(name, "the coordinator signed another statement than the worker's");
      return;
    }
    Pass(name, absl::StrCat("the same statement, signed by the coordinator card's key ",
                            Short(card_.signing_key.KeyId()), "…"));
  }

  void RecordStatement() {
    const char* name = "job record statement";
    if (!b_.record_worker) {
      Fail(name, "the bundle has no job record");
      return;
    }
    if (!contract_ || !envelope_) {
      Fail(name, "no valid contract to compare the statement with");
      return;
    }
    const Entry* e = nullptr;
    absl::StatusOr<crypto::Ed25519PublicKey> key = WorkerKey(&e);
    if (!key.ok()) {
      Fail(name, absl::StrCat("no admitted attempt to compare the statement with: ",
                              key.status().message()));
      return;
    }
    const contracts::Contract& c = *contract_;
    ExpectedJobRecord x;
    x.job_id = b_.job_id;
    x.contract_id = c.id;
    x.contract_digest = contracts::ContractDigest(*envelope_);
    x.base_model_id = c.base_model.id;
    x.dataset_id = c.dataset.id;
    x.tee = Str(e->j, "tee");
    x.evidence_digest = Str(e->j, "evidence_digest");
    x.claims = e->j.contains("claims") ? e->j["claims"] : json::object();
    auto sim_it = e->j.find("simulated");
    x.simulated = sim_it != e->j.end() && sim_it->is_boolean() && sim_it->get<bool>();
    x.age_recipient = Str(e->j, "age_recipient");
    SetContractRecipients(c, &x);
    absl::StatusOr<CheckedJobRecord> checked = CheckJobRecord(*b_.record_worker, *key, x);
    if (!checked.ok()) {
      Fail(name, std::string(checked.status().message()));
      return;
    }
    Pass(name, absl::StrCat("the in-toto statement names this job, contract ", c.id,
                            ", its inputs, the evidence and claims of ", e->Ref(),
                            " and the contract's adapter recipients"));
  }

  // The subject digest of the worker's statement, read without the other checks.
  std::optional<std::string> SubjectId() const {
    if (!worker_record_) return std::nullopt;
    absl::StatusOr<json> st = base::ParseJsonStrict(worker_record_->payload);
    if (!st.ok() || !st->is_object()) return std::nullopt;
    auto s = st->find("subject");
    if (s == st->end() || !s->is_array() || s->size() != 1 || !(*s)[0].is_object()) {
      return std::nullopt;
    }
    auto d = (*s)[0].find("digest");
    if (d == (*s)[0].end() || !d->is_object()) return std::nullopt;
    std::string hex = Str(*d, "sha256");
    if (hex.empty()) return std::nullopt;
    return absl::StrCat("sha256:", hex);
  }

  void AdapterDigest() {
    const char* name = "adapter digest";
    std::optional<std::string> subject = SubjectId();
    if (!subject) {
      Fail(name, "no job record subject to compare the output with");
      return;
    }
    std::vector<std::string> problems;
    if (b_.output_id != subject) {
      problems.push_back(
          absl::StrCat("the bundle's job.output_id is ", b_.output_id.value_or("absent")));
    }
    std::string why;
    if (const Entry* o = One(JobEntries("job.output"), "job.output entry", &why)) {
      if (Str(o->j, "adapter_id") != *subject) {
        problems.push_back(absl::StrCat(o->Ref(), " names ", Str(o->j, "adapter_id")));
      }
      std::string record_digest = crypto::Sha256Id(worker_record_->payload);
      if (Str(o->j, "record_digest") != record_digest) {
        problems.push_back(absl::StrCat(o->Ref(), " names record ", Str(o->j, "record_digest"),
                                        "; the statement hashes to ", record_digest));
      }
    } else {
      problems.push_back(why);
    }
    if (const Entry* d = One(JobEntries("job.done"), "job.done entry", &why)) {
      if (Str(d->j, "adapter_id") != *subject) {
        problems.push_back(absl::StrCat(d->Ref(), " names ", Str(d->j, "adapter_id")));
      }
    } else {
      problems.push_back(why);
    }
    if (!problems.empty()) {
      Fail(name, absl::StrCat("the record's subject is ", *subject, "; ", Quote(problems)));
      return;
    }
    subject_ = subject;
    Pass(name, absl::StrCat(*subject,
                            " = the record's subject = job.output_id = the job.output "
                            "and job.done entries"));
  }

  // The job's entries form one hash chain (docs/custody.md): each names the previous one, from
  // job.submitted to the terminal entry, so an entry the coordinator left out of the bundle breaks
  // it.
  void JobHistory() {
    const char* name = "job history";
    std::vector<const Entry*> chain;
    for (const Entry& e : b_.entries) {
      if (Str(e.j, "job_id") == b_.job_id && e.kind != "artifact.registered") chain.push_back(&e);
    }
    std::vector<std::string> problems;
    if (chain.empty() || chain.front()->kind != "job.submitted") {
      Fail(name, "the job's entries do not start with its job.submitted entry");
      return;
    }
    if (chain.front()->j.contains("prev")) {
      problems.push_back(
          absl::StrCat(chain.front()->Ref(), " names a previous entry; it must be the first"));
    }
    for (size_t i = 1; i < chain.size(); ++i) {
      std::string want = EntryHash(*chain[i - 1]);
      if (Str(chain[i]->j, "prev") != want) {
        problems.push_back(
            absl::StrCat(chain[i]->Ref(), " does not follow ", chain[i - 1]->Ref(), ": it names ",
                         Clip(Str(chain[i]->j, "prev"), 16),
                         "…, which is not in the bundle (an entry of the job is missing)"));
      }
    }
    const Entry* last = chain.back();
    bool terminal = last->kind == "job.done" || last->kind == "job.failed";
    bool job_ended = b_.job_state == "done" || b_.job_state == "failed";
    if (job_ended && !terminal) {
      problems.push_back(
          absl::StrCat("the job is ", b_.job_state, " but its history ends at ", last->Ref()));
    }
    for (size_t i = 0; i + 1 < chain.size(); ++i) {
      if (chain[i]->kind == "job.done" || chain[i]->kind == "job.failed") {
        problems.push_back(
            absl::StrCat(chain[i + 1]->Ref(), " comes after the terminal ", chain[i]->Ref()));
      }
    }
    if (!problems.empty()) {
      Fail(name, Quote(problems));
      return;
    }
    job_chain_ok_ = true;
    Pass(name, absl::StrCat(chain.size(), " entries chained from ", chain.front()->Ref(), " to ",
                            last->Ref(), terminal ? " (terminal)" : " (the job has not ended)"));
  }

  // The contract's own entries (signatures, activation, revocation) chain the same way, and the
  // job's first and terminal entries name the head of that chain at their time, so a revocation
  // cannot be left out either.
  void ContractHistory() {
    const char* name = "contract history";
    std::vector<const Entry*> chain;
    for (const Entry& e : b_.entries) {
      if (absl::StartsWith(e.kind, "contract.") && Str(e.j, "contract_id") == b_.contract_id)
        chain.push_back(&e);
    }
    std::vector<std::string> problems;
    if (chain.empty()) {
      Fail(name, "the bundle holds none of the contract's own entries");
      return;
    }
    if (chain.front()->j.contains("prev")) {
      problems.push_back(
          absl::StrCat(chain.front()->Ref(), " names a previous entry; it must be the first"));
    }
    std::map<std::string, size_t> position;
    position[EntryHash(*chain.front())] = 0;
    for (size_t i = 1; i < chain.size(); ++i) {
      if (Str(chain[i]->j, "prev") != EntryHash(*chain[i - 1])) {
        problems.push_back(absl::StrCat(chain[i]->Ref(), " does not follow ", chain[i - 1]->Ref(),
                                        " (an entry of the contract is missing)"));
      }
      position[EntryHash(*chain[i])] = i;
    }
    for (const Entry& e : b_.entries) {
      if (Str(e.j, "job_id") != b_.job_id) continue;
      if (e.kind != "job.submitted" && e.kind != "job.done" && e.kind != "job.failed") continue;
      std::string head = Str(e.j, "contract_head");
      auto it = position.find(head);
      if (it == position.end()) {
        problems.push_back(absl::StrCat(e.Ref(), " names contract entry ", Clip(head, 16),
                                        "…, which is not in the bundle"));
        continue;
      }
      // The head it names is the newest contract entry logged before it.
      for (size_t k = it->second + 1; k < chain.size(); ++k) {
        if (chain[k]->index < e.index) {
          problems.push_back(
              absl::StrCat(e.Ref(), " names an older head of the contract than ", chain[k]->Ref()));
          break;
        }
      }
    }
    if (!problems.empty()) {
      Fail(name, Quote(problems));
      return;
    }
    const Entry* rev = Revocation();
    Pass(name, absl::StrCat(chain.size(), " contract entries chained",
                            rev ? absl::StrCat("; revoked at ", rev->Ref()) : "; not revoked",
                            "; the job's entries name its heads"));
  }

  // A receipt (release or refusal) checked against its owner's card and the logged entry.
  // Returns the problems, empty when it holds.
  std::vector<std::string> CheckReceipt(const std::string& where, const std::string& receipt_json,
                                        const std::string& artifact_id, const std::string& owner,
                                        uint64_t attempt, const Entry* logged, bool release,
                                        ReleaseReceipt* out) {
    std::vector<std::string> problems;
    if (!contract_) return {absl::StrCat(where, ": no valid contract to check it against")};
    const contracts::PartyCard* card =
        artifact_id == contract_->base_model.id ? &contract_->model_owner
        : artifact_id == contract_->dataset.id  ? &contract_->data_owner
                                                : nullptr;
    if (card == nullptr)
      return {absl::StrCat(where, ": ", artifact_id, " is not an input of the contract")};
    if (owner != card->name) {
      problems.push_back(
          absl::StrCat(where, ": names owner ", owner, ", the contract's is ", card->name));
    }
    absl::StatusOr<ReleaseReceipt> rc = OpenReceipt(receipt_json, card->signing_key);
    if (!rc.ok()) return {absl::StrCat(where, ": ", rc.status().message())};
    absl::StatusOr<crypto::DsseEnvelope> env = crypto::DsseEnvelope::FromJson(receipt_json);
    std::string digest = env.ok() ? crypto::Sha256Id(env->payload) : "";
    if (rc->release != release)
      problems.push_back(absl::StrCat(where, ": the receipt's decision is not this one"));
    if (rc->job_id != b_.job_id || rc->attempt != attempt || rc->artifact_id != artifact_id ||
        rc->contract_id != contract_->id || rc->contract_digest != b_.contract_digest) {
      problems.push_back(
          absl::StrCat(where, ": the receipt is about another job, attempt, artifact or contract"));
    }
    if (logged == nullptr) {
      problems.push_back(absl::StrCat(where, ": no log entry records it"));
    } else if (Str(logged->j, "receipt_digest") != digest) {
      problems.push_back(absl::StrCat(where, ": ", logged->Ref(), " names another receipt"));
    }
    if (rc->time >= contract_->not_after) {
      problems.push_back(absl::StrCat(where, ": made at ", base::FormatRfc3339(rc->time),
                                      ", after the contract expired"));
    }
    *out = *std::move(rc);
    return problems;
  }

  void KeyReleases() {
    const char* name = "key releases";
    std::vector<const Entry*> logged = JobEntries("key.released");
    std::vector<std::string> problems;
    if (logged.size() != b_.releases.size()) {
      problems.push_back(absl::StrCat("the bundle lists ", b_.releases.size(),
                                      " key releases, the log ", logged.size()));
    }
    std::set<std::pair<std::string, std::string>> seen;
    std::set<std::string> recipients;
    const Entry* revoked = Revocation();
    for (size_t i = 0; i < logged.size(); ++i) {
      const Entry& e = *logged[i];
      std::string artifact = Str(e.j, "artifact_id");
      std::string recipient = Str(e.j, "recipient");
      uint64_t attempt = static_cast<uint64_t>(std::max<int64_t>(0, Int(e.j, "attempt")));
      if (contract_ && artifact != contract_->base_model.id && artifact != contract_->dataset.id) {
        problems.push_back(
            absl::StrCat(e.Ref(), ": ", artifact, " is not an input of the contract"));
      }
      std::string why;
      const Entry* adm = AdmissionEntry(attempt, &why);
      if (adm == nullptr) {
        problems.push_back(absl::StrCat(e.Ref(), ": ", why));
      } else if (Str(adm->j, "decision") != "admit") {
        problems.push_back(
            absl::StrCat(e.Ref(), ": attempt ", attempt, " was not admitted (", adm->Ref(), ")"));
      } else if (Str(adm->j, "age_recipient") != recipient) {
        problems.push_back(absl::StrCat(e.Ref(), ": released to ", recipient,
                                        ", not to the attested recipient of ", adm->Ref()));
      } else if (adm->index > e.index) {
        problems.push_back(absl::StrCat(e.Ref(), " comes before ", adm->Ref()));
      }
      if (revoked != nullptr && revoked->index < e.index) {
        problems.push_back(
            absl::StrCat(e.Ref(), " comes after the contract was revoked (", revoked->Ref(), ")"));
      }
      if (!seen.insert({artifact, recipient}).second) {
        problems.push_back(absl::StrCat(e.Ref(), ": released twice to the same key"));
      }
      recipients.insert(recipient);
      // The owner's own signed word for it.
      const ReleaseItem* item = nullptr;
      for (const ReleaseItem& r : b_.releases) {
        if (r.artifact_id == artifact && r.attempt == attempt) item = &r;
      }
      if (item == nullptr) {
        problems.push_back(absl::StrCat(e.Ref(), ": the bundle carries no receipt for it"));
        continue;
      }
      if (item->recipient != recipient) {
        problems.push_back(absl::StrCat("the bundle's release of ", artifact, " names recipient ",
                                        item->recipient, ", ", e.Ref(), " ", recipient));
      }
      ReleaseReceipt rc;
      std::vector<std::string> bad =
          CheckReceipt(absl::StrCat("receipt of ", e.Ref()), item->receipt, artifact, item->owner,
                       attempt, &e, /*release=*/true, &rc);
      problems.insert(problems.end(), bad.begin(), bad.end());
      if (!bad.empty()) continue;
      if (rc.recipient != recipient ||
          (adm != nullptr &&
           rc.ed25519_public_key !=
               base::Base64Decode(Str(adm->j, "ed25519_public_key")).value_or("")) ||
          (adm != nullptr && rc.evidence_digest != Str(adm->j, "evidence_digest"))) {
        problems.push_back(
            absl::StrCat("receipt of ", e.Ref(),
                         ": not for the attested keys and evidence of the admitted attempt"));
      }
      if (rc.header_digest != Str(e.j, "header_digest")) {
        problems.push_back(
            absl::StrCat("receipt of ", e.Ref(), ": names another header than the log"));
      }
      if (contract_ && rc.job_ordinal > contract_->terms.max_jobs) {
        problems.push_back(absl::StrCat(
            "receipt of ", e.Ref(), ": the owner counts this job as its ", rc.job_ordinal,
            "th of the contract, past max_jobs ", contract_->terms.max_jobs));
      }
    }
    if (!problems.empty()) {
      Fail(name, Quote(problems));
      return;
    }
    if (logged.empty()) {
      Pass(name, "no key was released");
      return;
    }
    Pass(name,
         absl::StrCat(logged.size(),
                      " key release(s), each signed by the artifact's owner, to the attested age "
                      "recipient of an admitted attempt (",
                      absl::StrJoin(recipients, ", "),
                      "), for the contract's inputs, before any revocation, within max_jobs"));
  }

  void KeyRefusals() {
    const char* name = "key refusals";
    std::vector<const Entry*> logged = JobEntries("key.refused");
    std::vector<std::string> problems;
    if (logged.size() != b_.refusals.size()) {
      problems.push_back(absl::StrCat("the bundle lists ", b_.refusals.size(),
                                      " refusals, the log ", logged.size()));
    }
    for (const Entry* e : logged) {
      uint64_t attempt = static_cast<uint64_t>(std::max<int64_t>(0, Int(e->j, "attempt")));
      const RefusalItem* item = nullptr;
      for (const RefusalItem& r : b_.refusals) {
        if (r.artifact_id == Str(e->j, "artifact_id") && r.attempt == attempt) item = &r;
      }
      if (item == nullptr) {
        problems.push_back(absl::StrCat(e->Ref(), ": the bundle carries no receipt for it"));
        continue;
      }
      ReleaseReceipt rc;
      std::vector<std::string> bad =
          CheckReceipt(absl::StrCat("refusal of ", e->Ref()), item->receipt, item->artifact_id,
                       item->owner, attempt, e,
                       /*release=*/false, &rc);
      problems.insert(problems.end(), bad.begin(), bad.end());
    }
    if (!problems.empty()) {
      Fail(name, Quote(problems));
      return;
    }
    Pass(name, logged.empty() ? "no keyholder refused"
                              : absl::StrCat(logged.size(),
                                             " refusal(s), each signed by the artifact's owner"));
  }

  // The checkpoint at `c`'s far end opened and proven to extend the bundle's, or an error.
  absl::StatusOr<crypto::Checkpoint> LaterCheckpoint(const ConsistencyItem& c) const {
    if (!c.checkpoint) return absl::InvalidArgumentError("no checkpoint");
    TRIAD_ASSIGN_OR_RETURN(crypto::Checkpoint later, OpenCardCheckpoint(card_, *c.checkpoint));
    if (later.size != c.to || c.from != checkpoint_->size) {
      return absl::InvalidArgumentError(absl::StrCat("a proof from ", c.from, " to ", c.to,
                                                     " does not start at the bundle's tree"));
    }
    TRIAD_RETURN_IF_ERROR(CheckCheckpointExtends(*checkpoint_, later, c.proof));
    return later;
  }

  void SavedView() {
    const char* name = "saved view";
    if (!checkpoint_) {
      Fail(name, "no signed checkpoint to compare with the saved one");
      return;
    }
    absl::StatusOr<crypto::Checkpoint> saved =
        OpenCardCheckpoint(card_, *options_.saved_checkpoint);
    if (!saved.ok()) {
      Fail(name, absl::StrCat("the saved checkpoint: ", saved.status().message()));
      return;
    }
    const crypto::Checkpoint& cp = *checkpoint_;
    std::string what;
    absl::Status st = absl::NotFoundError("");
    if (saved->size == cp.size) {
      st = CheckCheckpointExtends(*saved, cp, {});
      what = "is the saved one";
    } else {
      for (const ConsistencyItem& c : b_.consistency) {
        if (saved->size < cp.size && c.from == saved->size && c.to == cp.size && !c.checkpoint) {
          st = CheckCheckpointExtends(*saved, cp, c.proof);
          what = absl::StrCat("extends the saved tree size ", saved->size);
        } else if (saved->size > cp.size && c.from == cp.size && c.to == saved->size) {
          st = CheckCheckpointExtends(cp, *saved, c.proof);
          what = absl::StrCat("is extended by the saved tree size ", saved->size);
        }
      }
      if (absl::IsNotFound(st)) {
        Fail(name,
             absl::StrCat("the bundle carries no consistency proof between its tree size ", cp.size,
                          " and the saved ", saved->size, " (export it with --state)"));
        return;
      }
    }
    if (!st.ok()) {
      Fail(name, absl::StrCat("the bundle's checkpoint and the saved one are ", st.message()));
      return;
    }
    Pass(name, absl::StrCat("the bundle's checkpoint (tree size ", cp.size, ") ", what,
                            " (consistency proof verified)"));
  }

  // The given witnesses' cosignatures on `note` (an opened checkpoint), by key id; a cosignature by
  // a given witness that does not verify is an error.
  absl::Status CollectCosignatures(absl::string_view note,
                                   std::map<std::string, crypto::VerifiedCosignature>* out) const {
    TRIAD_ASSIGN_OR_RETURN(std::vector<crypto::VerifiedCosignature> v,
                           crypto::VerifyCosignatures(note, options_.witnesses));
    for (crypto::VerifiedCosignature& c : v) {
      auto it = out->find(c.key_id);
      if (it == out->end() || c.time < it->second.time) (*out)[c.key_id] = std::move(c);
    }
    return absl::OkStatus();
  }

  void Witnesses() {
    const char* name = "witnesses";
    if (!checkpoint_) {
      Fail(name, "no signed checkpoint for witnesses to have cosigned");
      return;
    }
    // Each witness's earliest cosignature of a checkpoint that holds every entry of the bundle.
    std::map<std::string, crypto::VerifiedCosignature> seen;
    absl::Status st = CollectCosignatures(b_.checkpoint, &seen);
    for (const ConsistencyItem& c : b_.consistency) {
      if (!st.ok() || !c.checkpoint || c.from != checkpoint_->size) continue;
      if (!LaterCheckpoint(c).ok())
        continue;  // not proven to extend it: its cosignatures say nothing
      st = CollectCosignatures(*c.checkpoint, &seen);
    }
    if (!st.ok()) {
      Fail(name, std::string(st.message()));
      return;
    }
    std::vector<std::string> who;
    for (const auto& [key, c] : seen) {
      who.push_back(absl::StrCat(c.name, " at ", base::FormatRfc3339(c.time)));
      if (!cosigned_until_ || c.time < *cosigned_until_) cosigned_until_ = c.time;
    }
    if (seen.size() < options_.min_witnesses) {
      Fail(name,
           absl::StrCat(
               seen.size(), " of the given witnesses cosigned the bundle's checkpoint (tree size ",
               checkpoint_->size, ")", who.empty() ? "" : ": ", absl::StrJoin(who, ", "), "; ",
               options_.min_witnesses,
               " required: it may be a view of the log the witnesses never saw (a fork), or "
               "not cosigned yet (export with --witnessed)"));
      cosigned_until_.reset();
      return;
    }
    Pass(name,
         absl::StrCat("cosigned by ", absl::StrJoin(who, ", "), " (", seen.size(), " of ",
                      options_.witnesses.size(), " given, ", options_.min_witnesses, " required)"));
  }

  void AdmissionTimes() {
    const char* name = "admission times";
    if (!cosigned_until_) {
      Fail(name,
           "no witnessed checkpoint holds the admissions: their times rest on the "
           "coordinator's word alone");
      return;
    }
    std::vector<std::string> problems, bounds;
    size_t admissions = 0;
    for (const Entry& e : b_.entries) {
      if (e.kind != "job.admission") continue;
      ++admissions;
      if (e.time > *cosigned_until_ + kWitnessSkew) {
        problems.push_back(absl::StrCat(e.Ref(),
                                        " is dated after the witnesses cosigned a "
                                        "checkpoint that holds it (",
                                        base::FormatRfc3339(*cosigned_until_), ")"));
        continue;
      }
      std::optional<absl::Time> after;
      for (const WitnessedBefore& w : b_.witnessed_before) {
        if (w.index != e.index) continue;
        absl::StatusOr<crypto::Checkpoint> earlier = OpenCardCheckpoint(card_, w.checkpoint);
        if (!earlier.ok() || earlier->size > e.index) continue;
        if (!CheckCheckpointExtends(*earlier, *checkpoint_, w.proof).ok()) continue;
        std::map<std::string, crypto::VerifiedCosignature> seen;
        if (!CollectCosignatures(w.checkpoint, &seen).ok()) continue;
        for (const auto& [key, c] : seen) {
          if (!after || c.time > *after) after = c.time;
        }
      }
      if (!after) {
        problems.push_back(
            absl::StrCat(e.Ref(),
                         ": no checkpoint before it is cosigned by the given witnesses (with a "
                         "consistency proof), so nothing bounds its time from below"));
        continue;
      }
      if (e.time + kWitnessSkew < *after) {
        problems.push_back(absl::StrCat(e.Ref(),
                                        " is dated before the witnesses cosigned a "
                                        "checkpoint that does not hold it yet (",
                                        base::FormatRfc3339(*after), "): backdated"));
        continue;
      }
      bounds.push_back(absl::StrCat(e.Ref(), " within [", base::FormatRfc3339(*after), ", ",
                                    base::FormatRfc3339(*cosigned_until_), "]"));
    }
    if (!problems.empty()) {
      Fail(name, Quote(problems));
      return;
    }
    if (admissions == 0) {
      Fail(name, "the bundle holds no job.admission entry");
      return;
    }
    Pass(name, absl::StrCat(absl::StrJoin(bounds, "; "), " (witnessed; ",
                            absl::FormatDuration(kWitnessSkew), " of clock skew allowed)"));
  }

  void AdapterFile() {
    const char* name = "adapter file";
    if (!subject_) {
      Fail(name, absl::StrCat("the file hashes to ", *options_.adapter_digest,
                              "; the bundle has no verified adapter digest to compare it with"));
      return;
    }
    if (*options_.adapter_digest != *subject_) {
      Fail(name, absl::StrCat("the file hashes to ", *options_.adapter_digest,
                              "; the job record's subject is ", *subject_));
      return;
    }
    Pass(name, absl::StrCat("the file hashes to ", *subject_, ", the job record's subject"));
  }

  const coordinator::CoordinatorCard& card_;
  const attestation::TrustAnchors& anchors_;
  const AuditOptions& options_;
  // The earliest cosignature time, by a given witness, of a checkpoint holding the bundle's
  // entries.
  std::optional<absl::Time> cosigned_until_;
  AuditReport& report_;
  Bundle b_;
  std::optional<crypto::Checkpoint> checkpoint_;
  std::optional<crypto::DsseEnvelope> envelope_;
  std::optional<contracts::Contract> contract_;
  std::optional<crypto::DsseEnvelope> worker_record_;
  std::optional<std::string> subject_;  // the verified adapter digest
  bool job_chain_ok_ = false;
};

}  // namespace

bool AuditReport::ok() const {
  if (checks.empty()) return false;
  for (const AuditCheck& c : checks) {
    if (!c.ok) return false;
  }
  return true;
}

std::string AuditReport::ToText() const {
  std::string out;
  size_t failed = 0;
  for (const AuditCheck& c : checks) {
    absl::StrAppend(&out, c.ok ? "ok   " : "FAIL ", c.name, ": ", Printable(c.detail), "\n");
    failed += c.ok ? 0 : 1;
  }
  if (simulated) absl::StrAppend(&out, contracts::kSimulatedNotice, "\n");
  std::string job = job_id.empty() ? "" : absl::StrCat(" for job ", Printable(job_id));
  if (ok()) {
    absl::StrAppend(&out, "verdict: OK, all ", checks.size(), " checks hold", job, "\n");
  } else {
    absl::StrAppend(&out, "verdict: FAIL, ", failed, " of ", checks.size(), " checks failed", job,
                    "\n");
  }
  return out;
}

nlohmann::ordered_json AuditReport::ToJson() const {
  nlohmann::ordered_json j;
  j["job_id"] = job_id;
  j["ok"] = ok();
  j["simulated"] = simulated;
  if (simulated) j["notice"] = contracts::kSimulatedNotice;
  j["adapter_checked"] = adapter_checked;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const AuditCheck& c : checks) {
    list.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
  }
  j["checks"] = std::move(list);
  return j;
}

AuditReport VerifyBundle(absl::string_view bundle_json, const coordinator::CoordinatorCard& card,
                         const attestation::TrustAnchors& anchors, const AuditOptions& options) {
  AuditReport report;
  report.adapter_checked = options.adapter_digest.has_value();
  BundleVerifier(card, anchors, options, report).Run(bundle_json);
  return report;
}

absl::StatusOr<attestation::Evidence> ParseEvidenceDocument(absl::string_view text) {
  return ParseEvidenceDocumentImpl(text);
}

absl::StatusOr<VerifiedJob> VerifiedJobOf(absl::string_view bundle_json) {
  TRIAD_ASSIGN_OR_RETURN(Bundle b, ParseBundle(bundle_json));
  if (!b.output_id || !b.record_worker) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", b.job_id, " has no delivered output"));
  }
  VerifiedJob out;
  out.job_id = b.job_id;
  out.adapter_id = *b.output_id;
  TRIAD_ASSIGN_OR_RETURN(crypto::DsseEnvelope env,
                         crypto::DsseEnvelope::FromJson(*b.record_worker));
  TRIAD_ASSIGN_OR_RETURN(json st, base::ParseJsonStrict(env.payload));
  const json* m = st.contains("predicate") ? &st["predicate"] : nullptr;
  if (m != nullptr && m->contains("metrics") && (*m)["metrics"].contains("sealed") &&
      (*m)["metrics"]["sealed"].is_string()) {
    TRIAD_ASSIGN_OR_RETURN(out.sealed_metrics,
                           base::Base64Decode((*m)["metrics"]["sealed"].get<std::string>()));
  }
  return out;
}

absl::StatusOr<crypto::Checkpoint> OpenCardCheckpoint(const coordinator::CoordinatorCard& card,
                                                      absl::string_view signed_note) {
  TRIAD_ASSIGN_OR_RETURN(crypto::NoteVerifier verifier,
                         crypto::NoteVerifier::Create(card.log_origin, card.signing_key));
  return crypto::OpenCheckpoint(signed_note, verifier, card.log_origin);
}

absl::Status CheckCheckpointExtends(const crypto::Checkpoint& older,
                                    const crypto::Checkpoint& newer,
                                    absl::Span<const std::string> consistency_proof) {
  if (newer.size < older.size) {
    return absl::FailedPreconditionError(
        absl::StrCat("not an extension: the coordinator shows tree size ", newer.size,
                     ", smaller than the saved ", older.size));
  }
  if (newer.size == older.size && newer.root_hash != older.root_hash) {
    return absl::FailedPreconditionError(absl::StrCat(
        "not an extension: the coordinator shows root ", base::Base64Encode(newer.root_hash),
        " for tree size ", newer.size, ", the saved checkpoint has root ",
        base::Base64Encode(older.root_hash), " (two views of one log)"));
  }
  absl::Status st = crypto::merkle::VerifyConsistency(older.size, newer.size, consistency_proof,
                                                      older.root_hash, newer.root_hash);
  if (!st.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("not an extension: consistency proof from tree size ", older.size, " to ",
                     newer.size, ": ", st.message()));
  }
  return absl::OkStatus();
}

}  // namespace triad::verify
