// A lying coordinator, for the keyholder's tests (docs/custody.md, issue 12 "A coordinator that
// lies"): it holds the real coordinator card's log key and the key of a simulation TEE the
// keyholders trust, keeps a transparency log of its own making (whatever entries it chooses,
// RFC 6962 hashed by the naive reference of tests/crypto, checkpoints signed as C2SP notes with the
// card's key), and builds the release requests a coordinator relays to an owner's keyholder. A test
// starts from an honest attempt and changes what one lie changes, so that the same attempt without
// the lie is released.
#ifndef TRIAD_TESTS_KEYHOLDER_LYING_COORDINATOR_H_
#define TRIAD_TESTS_KEYHOLDER_LYING_COORDINATOR_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "attestation/binding.h"
#include "attestation/sim.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "contracts/contract.h"
#include "coordinator/card.h"
#include "coordinator/request.h"
#include "crypto/age_keys.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "crypto/note.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/crypto/merkle_reference.h"
#include "verify/admission.h"

namespace triad::keyholder::testing {

namespace ref = ::triad::testing::merkle_reference;

inline constexpr char kLogOrigin[] = "test.triad/log";

// A log the coordinator keeps as it likes, signed with its key: any prefix of it can be
// checkpointed and proven, and Branch() starts another history from one of its prefixes (a fork).
// It knows which entries are about which job (the coordinator's events table).
class ForgedLog {
 public:
  explicit ForgedLog(std::shared_ptr<const crypto::NoteSigner> signer)
      : signer_(std::move(signer)) {}

  uint64_t Append(std::string entry, const std::string& job = "") {
    entries_.push_back(std::move(entry));
    if (!job.empty()) jobs_[job].push_back(entries_.size() - 1);
    return entries_.size() - 1;
  }
  uint64_t size() const { return entries_.size(); }
  const std::string& entry(uint64_t index) const { return entries_.at(index); }
  // The indexes of the entries about `job`, in order.
  std::vector<uint64_t> JobIndexes(const std::string& job) const {
    auto it = jobs_.find(job);
    return it == jobs_.end() ? std::vector<uint64_t>() : it->second;
  }

  std::string Root(uint64_t size) const { return ref::Mth(ref::Slice(entries_, 0, size)); }
  // The checkpoint of the first `size` entries, signed by `signer` (the card's key by default).
  std::string Checkpoint(uint64_t size, const crypto::NoteSigner* signer = nullptr) const {
    crypto::Checkpoint cp{kLogOrigin, size, Root(size), {}};
    absl::StatusOr<std::string> note = (signer != nullptr ? *signer : *signer_).Sign(cp.ToText());
    EXPECT_TRUE(note.ok()) << note.status();
    return note.ok() ? *note : "";
  }
  std::vector<std::string> Inclusion(uint64_t index, uint64_t size) const {
    return ref::Path(index, ref::Slice(entries_, 0, size));
  }
  std::vector<std::string> Consistency(uint64_t from, uint64_t to) const {
    return ref::Proof(from, ref::Slice(entries_, 0, to));
  }
  // Another history that shares this one's first `size` entries.
  ForgedLog Branch(uint64_t size) const {
    ForgedLog b(signer_);
    for (uint64_t i = 0; i < size; ++i) b.entries_.push_back(entries_[i]);
    for (const auto& [job, indexes] : jobs_) {
      for (uint64_t i : indexes) {
        if (i < size) b.jobs_[job].push_back(i);
      }
    }
    return b;
  }

 private:
  std::shared_ptr<const crypto::NoteSigner> signer_;
  std::vector<std::string> entries_;
  std::map<std::string, std::vector<uint64_t>> jobs_;
};

// A worker's per-attempt keys.
struct WorkerKeys {
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  crypto::age::X25519Identity id = crypto::age::X25519Identity::Generate();
};

// One admission the coordinator relays, honest unless a test changes a field.
struct Attempt {
  std::string job_id;
  uint64_t attempt = 1;
  std::string artifact_id;        // the release's
  std::string contract_envelope;  // as relayed
  std::string submission;         // the submit-job request as relayed
  std::string contract_digest;    // as job.submitted names it
  std::string nonce = crypto::RandomString(attestation::kBindingNonceSize);
  std::shared_ptr<const WorkerKeys> worker = std::make_shared<WorkerKeys>();
  // What the admission entry names; empty: the worker's.
  std::string logged_recipient;
  // The evidence: its measurement, its signer (null: the trusted sim key) and what its report
  // data binds (unset: the values the admission entry names).
  std::string measurement;
  const crypto::Ed25519PrivateKey* sim_key = nullptr;
  std::optional<std::string> bound_nonce, bound_job;
  std::optional<crypto::Ed25519PublicKey> bound_key;
  std::optional<crypto::age::X25519Recipient> bound_recipient;
  std::string decision = "admit";
  std::optional<absl::Time> admitted_at;  // unset: the clock's now
  bool revoked = false;                   // the coordinator's word

  std::string Recipient() const {
    return logged_recipient.empty() ? worker->id.recipient().ToString() : logged_recipient;
  }
  std::string ReleaseId() const { return absl::StrCat(job_id, "/", attempt, "/", artifact_id); }
};

class LyingCoordinator {
 public:
  LyingCoordinator(const base::Clock& clock, const crypto::Ed25519PrivateKey& sim_key)
      : clock_(clock),
        sim_key_(sim_key),
        signer_(std::make_shared<crypto::NoteSigner>(*crypto::NoteSigner::Create(
            kLogOrigin, *crypto::Ed25519PrivateKey::FromPem(key_.ToPem())))),
        log_(signer_) {}

  // The card the owners pin: the log key and origin (no TLS in-process).
  coordinator::CoordinatorCard card() const {
    return coordinator::CoordinatorCard{"lying-coordinator", key_.public_key(), "", "",
                                        kLogOrigin};
  }
  std::string fingerprint() const { return key_.public_key().KeyId(); }
  // `text` signed as a note with the card's log key.
  std::string SignNote(const std::string& text) const {
    absl::StatusOr<std::string> note = signer_->Sign(text);
    EXPECT_TRUE(note.ok()) << note.status();
    return note.ok() ? *note : "";
  }
  // The log it shows by default.
  ForgedLog& log() { return log_; }

  // A submit-job request by `by` for `contract_id`, addressed to this coordinator.
  std::string Submission(const std::string& contract_id,
                         const crypto::Ed25519PrivateKey& by) const {
    return coordinator::SignRequest("submit-job", {{"contract_id", contract_id}}, by,
                                    clock_.Now(), fingerprint())
        .ToJson();
  }

  // The evidence document a worker would send for `a` (sim; the coordinator's document form).
  std::string Evidence(const Attempt& a) const {
    absl::StatusOr<crypto::age::X25519Recipient> logged =
        crypto::age::X25519Recipient::Parse(a.Recipient());
    EXPECT_TRUE(logged.ok()) << logged.status();
    absl::StatusOr<std::string> report_data = attestation::ExpectedReportData(
        {a.bound_nonce.value_or(a.nonce), a.bound_job.value_or(a.job_id),
         a.bound_key.value_or(a.worker->key.public_key()),
         a.bound_recipient.value_or(logged.ok() ? *logged : a.worker->id.recipient())});
    EXPECT_TRUE(report_data.ok()) << report_data.status();
    absl::StatusOr<std::string> report = attestation::MakeSimEvidence(
        a.sim_key != nullptr ? *a.sim_key : sim_key_,
        {report_data.ok() ? *report_data : "", a.measurement, "UpToDate", false});
    EXPECT_TRUE(report.ok()) << report.status();
    nlohmann::ordered_json j;
    j["tee"] = "sim";
    j["report"] = base::Base64Encode(report.ok() ? *report : "");
    j["certs"] = "";
    j["collateral"] = "";
    return j.dump();
  }

  // Logs `a` in `log`: the job's job.submitted (once per job), job.assigned and the admission,
  // with other parties' entries in between as in a busy log; each entry about the job names the
  // one before (docs/custody.md, "What the log holds"). Returns the admission's index.
  uint64_t LogAttempt(const Attempt& a, const std::string& evidence, ForgedLog& log) {
    Filler(log);
    if (log.JobIndexes(a.job_id).empty()) {
      absl::StatusOr<crypto::DsseEnvelope> env =
          crypto::DsseEnvelope::FromJson(a.contract_envelope);
      absl::StatusOr<crypto::DsseEnvelope> sub = crypto::DsseEnvelope::FromJson(a.submission);
      EXPECT_TRUE(env.ok() && sub.ok());
      absl::StatusOr<contracts::Contract> c = contracts::Contract::FromPayload(env->payload);
      EXPECT_TRUE(c.ok()) << c.status();
      AddJobEntry(log, a.job_id, "job.submitted", clock_.Now(),
                  {{"job_id", a.job_id},
                   {"contract_id", c.ok() ? c->id : ""},
                   {"contract_digest", a.contract_digest.empty()
                                           ? contracts::ContractDigest(*env)
                                           : a.contract_digest},
                   {"submitter", "do"},
                   {"submission_digest", crypto::Sha256Id(sub->payload)}});
      Filler(log);
    }
    AddJobEntry(log, a.job_id, "job.assigned", clock_.Now(),
                {{"job_id", a.job_id}, {"attempt", a.attempt}, {"worker_id", "w1"}});
    return AddJobEntry(
        log, a.job_id, "job.admission", a.admitted_at.value_or(clock_.Now()),
        {{"job_id", a.job_id},
         {"attempt", a.attempt},
         {"worker_id", "w1"},
         {"tee", "sim"},
         {"evidence_digest", crypto::Sha256Id(evidence)},
         {"decision", a.decision},
         {"simulated", true},
         {"ed25519_public_key", base::Base64Encode(a.worker->key.public_key().raw())},
         {"age_recipient", a.Recipient()},
         {"nonce", base::HexEncode(a.nonce)}});
  }

  // Logs `a` in `log` (the default one when null) and returns the release request
  // KeyholderPoll relays for it: the job's entries up to this admission with inclusion proofs to a
  // fresh checkpoint, and a consistency proof from `known`, the tree size the keyholder saw last.
  verify::ReleaseContext Relay(const Attempt& a, uint64_t known, ForgedLog* log = nullptr) {
    ForgedLog& l = log != nullptr ? *log : log_;
    std::string evidence = Evidence(a);
    LogAttempt(a, evidence, l);
    return Request(a, evidence, l, l.size(), known);
  }

  // The request for `a` (logged already) as its entries stand in `log` at `size`.
  static verify::ReleaseContext Request(const Attempt& a, const std::string& evidence,
                                        const ForgedLog& log, uint64_t size, uint64_t known) {
    verify::ReleaseContext r;
    r.release_id = a.ReleaseId();
    r.job_id = a.job_id;
    r.attempt = a.attempt;
    r.artifact_id = a.artifact_id;
    r.contract_envelope_json = a.contract_envelope;
    r.submission_envelope_json = a.submission;
    r.evidence_document = evidence;
    for (uint64_t index : log.JobIndexes(a.job_id)) {
      if (index >= size) break;
      r.job_entries.push_back({index, log.entry(index), log.Inclusion(index, size)});
    }
    r.checkpoint = log.Checkpoint(size);
    if (known > 0 && known < size) {
      r.consistency_from = known;
      r.consistency_proof = log.Consistency(known, size);
    }
    r.contract_revoked = a.revoked;
    return r;
  }

 private:
  uint64_t AddJobEntry(ForgedLog& log, const std::string& job, const std::string& kind,
                       absl::Time time, const nlohmann::ordered_json& fields) {
    nlohmann::ordered_json e;
    e["type"] = "triad.log/v1";
    e["kind"] = kind;
    e["time"] = base::FormatRfc3339(time);
    for (const auto& [k, v] : fields.items()) e[k] = v;
    std::vector<uint64_t> before = log.JobIndexes(job);
    if (!before.empty()) e["prev"] = base::HexEncode(crypto::Sha256(log.entry(before.back())));
    return log.Append(e.dump(), job);
  }
  void Filler(ForgedLog& log) {
    log.Append(absl::StrCat(R"({"type":"triad.log/v1","kind":"party.registered","time":")",
                            base::FormatRfc3339(clock_.Now()), R"(","name":"p)", log.size(),
                            R"("})"));
  }

  const base::Clock& clock_;
  const crypto::Ed25519PrivateKey& sim_key_;
  crypto::Ed25519PrivateKey key_ = crypto::Ed25519PrivateKey::Generate();
  std::shared_ptr<const crypto::NoteSigner> signer_;
  ForgedLog log_;
};

}  // namespace triad::keyholder::testing

#endif  // TRIAD_TESTS_KEYHOLDER_LYING_COORDINATOR_H_
