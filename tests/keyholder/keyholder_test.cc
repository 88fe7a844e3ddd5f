// The keyholder against a coordinator that lies (issue 12, docs/custody.md "What the keyholder
// checks"): every release request a malicious coordinator could make up, each refused with its
// exact reason, with nothing released and the refusal journaled; each beside the same request
// without the lie, which is released (so that no test passes for a reason other than the lie).
// Then the happy path (the worker opens the artifact; the receipt verifies against the owner's
// card), and the journal: a request asked again, after a restart, and after a crash between
// journaling a decision and answering, gets the journaled answer and never a second release.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/encoding.h"
#include "base/json.h"
#include "contracts/contract.h"
#include "crypto/age.h"
#include "crypto/dsse.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "gtest/gtest.h"
#include "keyholder/journal.h"
#include "keyholder/keyholder.h"
#include "storage/sqlite.h"
#include "tests/coordinator/coordinator_testing.h"
#include "tests/keyholder/lying_coordinator.h"
#include "tests/testing/testing.h"
#include "verify/audit_verify.h"
#include "verify/receipt.h"

namespace triad::keyholder {
namespace {

using coordinator::testing::Digest48;
using coordinator::testing::GoodMeasurement;
using coordinator::testing::MakeParty;
using coordinator::testing::Party;
using coordinator::testing::T;
using contracts::Role;
using testing::Attempt;
using testing::ForgedLog;
using testing::LyingCoordinator;
using testing::WorkerKeys;

constexpr char kContractId[] = "c-0001";

// One keyholder of an owner over its own journal directory; it can be destroyed and opened again
// on the same directory (a restart).
struct Instance {
  std::string dir;
  std::unique_ptr<Journal> journal;
  std::unique_ptr<Keyholder> k;

  // The tree size of the last checkpoint this keyholder saw (what it reports in its poll).
  uint64_t Known(const coordinator::CoordinatorCard& card) const {
    absl::StatusOr<std::optional<std::string>> note = journal->LastCheckpoint();
    EXPECT_TRUE(note.ok()) << note.status();
    if (!note.ok() || !note->has_value()) return 0;
    absl::StatusOr<crypto::Checkpoint> cp = verify::OpenCardCheckpoint(card, **note);
    EXPECT_TRUE(cp.ok()) << cp.status();
    return cp.ok() ? cp->size : 0;
  }
  std::vector<Decision> Decisions() const {
    absl::StatusOr<std::vector<Decision>> d = journal->ListDecisions();
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : std::vector<Decision>();
  }
};

class KeyholderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mo_ids_.push_back(*crypto::age::X25519Identity::FromSecret(mo_.identity.secret().Clone()));
    do_ids_.push_back(*crypto::age::X25519Identity::FromSecret(do_.identity.secret().Clone()));
    // Each owner encrypts to itself alone; the model owner has a second artifact that no
    // contract here names.
    model_plain_ = absl::StrCat("the model's weights ", std::string(150000, 'm'));
    other_plain_ = absl::StrCat("another model of the same owner ", std::string(90000, 'o'));
    data_plain_ = "{\"text\": \"the dataset\"}\n";
    model_id_ = Store(model_plain_, {mo_.card.age_recipient});
    other_id_ = Store(other_plain_, {mo_.card.age_recipient});
    data_id_ = Store(data_plain_, {do_.card.age_recipient});
    contract_ = SignedContract(MakeContract(), {&mo_, &do_, &cp_});
  }

  // Encrypts `plain` and stores it as the coordinator would serve it; returns its id.
  std::string Store(const std::string& plain, std::vector<crypto::age::X25519Recipient> to) {
    absl::StatusOr<std::string> ct = crypto::age::Encrypt(to, plain);
    EXPECT_TRUE(ct.ok()) << ct.status();
    std::string id = crypto::Sha256Id(*ct);
    ciphertexts_[id] = *ct;
    served_[id] = *ct;
    return id;
  }

  contracts::Contract MakeContract(uint32_t max_jobs = 10) {
    contracts::WorkerPolicy policy;
    policy.tee = {contracts::kTeeSim};
    policy.sim = contracts::SimReference{{GoodMeasurement()}, {}};
    return contracts::Contract{kContractId,
                               T("2025-07-01T00:00:00Z"),
                               T("2025-07-01T00:00:00Z"),
                               T("2025-07-31T00:00:00Z"),
                               mo_.card,
                               do_.card,
                               cp_.card,
                               {model_id_, "tiny-model"},
                               {data_id_, "claims"},
                               contracts::TrainingConfig::Default(),
                               policy,
                               contracts::Outputs::Default(),
                               contracts::Terms{max_jobs, 300},
                               {}};
  }

  std::string SignedContract(const contracts::Contract& c, std::vector<const Party*> signers) {
    absl::StatusOr<crypto::DsseEnvelope> env = contracts::DraftContract(c);
    EXPECT_TRUE(env.ok()) << env.status();
    for (const Party* p : signers) {
      absl::Status st = contracts::SignContract(*env, p->key, c.created);
      EXPECT_TRUE(st.ok()) << st;
    }
    return env->ToJson();
  }

  // The keyholder of `owner` over DIR/`name`, reading artifacts from what the coordinator serves.
  std::unique_ptr<Instance> Open(const std::string& name) { return Open(name, mo_); }
  std::unique_ptr<Instance> Open(const std::string& name, const Party& owner) {
    auto kh = std::make_unique<Instance>();
    kh->dir = dir_.File(name);
    absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(kh->dir);
    EXPECT_TRUE(j.ok()) << j.status();
    kh->journal = *std::move(j);
    attestation::TrustAnchors anchors;
    anchors.sim_keys.push_back(sim_key_.public_key());
    const std::vector<crypto::age::X25519Identity>* ids = &owner == &mo_ ? &mo_ids_ : &do_ids_;
    kh->k = std::make_unique<Keyholder>(
        *kh->journal, Owner{owner.card, &owner.key, ids}, liar_.card(), anchors, clock_,
        [this](const std::string& id, const std::function<absl::Status(absl::string_view)>& sink) {
          ++reads_;
          auto it = served_.find(id);
          if (it == served_.end()) return absl::NotFoundError(absl::StrCat("no artifact ", id));
          for (size_t i = 0; i < it->second.size(); i += 4096) {
            absl::Status st = sink(absl::string_view(it->second).substr(i, 4096));
            if (!st.ok()) return st;
          }
          return absl::OkStatus();
        });
    return kh;
  }
  // The same keyholder after a restart: everything in memory gone, the journal directory kept.
  void Reopen(std::unique_ptr<Instance>& kh) {
    std::string name = kh->dir.substr(dir_.path().size() + 1);
    kh.reset();
    kh = Open(name);
  }

  // An honest attempt of `job` for the model owner's artifact.
  Attempt NewAttempt(const std::string& job, uint64_t attempt = 1) {
    Attempt a;
    a.job_id = job;
    a.attempt = attempt;
    a.artifact_id = model_id_;
    a.contract_envelope = contract_;
    if (!submissions_.count(job)) submissions_[job] = liar_.Submission(kContractId, do_.key);
    a.submission = submissions_[job];
    a.measurement = GoodMeasurement();
    return a;
  }

  verify::ReleaseContext Relay(const Instance& kh, const Attempt& a) {
    return liar_.Relay(a, kh.Known(liar_.card()));
  }

  // Decide refused `r` with exactly `reasons`, released nothing, and journaled the refusal and its
  // receipt, signed by the owner.
  void ExpectRefused(Instance& kh, const verify::ReleaseContext& r,
                     const std::vector<std::string>& reasons, bool final) {
    const Party& owner = mo_;
    size_t before = kh.Decisions().size();
    absl::StatusOr<Answer> a = kh.k->Decide(r);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_FALSE(a->release);
    EXPECT_FALSE(a->replayed);
    EXPECT_EQ(a->header, "");
    EXPECT_EQ(a->release_id, r.release_id);
    EXPECT_EQ(a->reasons, reasons);
    EXPECT_EQ(a->final, final);
    absl::StatusOr<verify::ReleaseReceipt> rc =
        verify::OpenReceipt(a->receipt_json, owner.card.signing_key);
    ASSERT_TRUE(rc.ok()) << rc.status();
    EXPECT_FALSE(rc->release);
    EXPECT_EQ(rc->final, final);
    EXPECT_EQ(rc->release_id, r.release_id);
    EXPECT_EQ(rc->reasons, reasons);
    EXPECT_EQ(rc->header_digest, "");
    EXPECT_EQ(rc->job_ordinal, 0u);
    absl::StatusOr<std::optional<Decision>> d = kh.journal->GetDecision(r.release_id);
    ASSERT_TRUE(d.ok() && d->has_value()) << d.status();
    EXPECT_FALSE((*d)->release);
    EXPECT_EQ((*d)->header, "");
    EXPECT_EQ((*d)->reasons, reasons);
    EXPECT_EQ((*d)->final, final);
    EXPECT_EQ((*d)->receipt_json, a->receipt_json);
    std::vector<Decision> after = kh.Decisions();
    EXPECT_EQ(after.size(), before + 1);
    for (const Decision& each : after) {
      if (each.release_id != r.release_id) continue;
      EXPECT_FALSE(each.release);
    }
  }

  // Decide released `r` to `a`'s worker: the header with the stored payload opens the artifact
  // with the worker's identity (and only the contract's artifact), and the receipt verifies
  // against the owner's card and names this admission. Returns the answer.
  Answer ExpectReleased(Instance& kh, const verify::ReleaseContext& r, const Attempt& a,
                        uint64_t ordinal = 1, const Party* owner_or_null = nullptr) {
    const Party& owner = owner_or_null != nullptr ? *owner_or_null : mo_;
    absl::StatusOr<Answer> ans = kh.k->Decide(r);
    EXPECT_TRUE(ans.ok()) << ans.status();
    if (!ans.ok()) return {};
    EXPECT_TRUE(ans->release) << absl::StrJoin(ans->reasons, "\n");
    EXPECT_FALSE(ans->replayed);
    EXPECT_TRUE(ans->reasons.empty());
    if (!ans->release) return *ans;
    EXPECT_EQ(Opened(*ans, a.artifact_id, a.worker->id), PlainOf(a.artifact_id));
    absl::StatusOr<verify::ReleaseReceipt> rc =
        verify::OpenReceipt(ans->receipt_json, owner.card.signing_key);
    EXPECT_TRUE(rc.ok()) << rc.status();
    if (!rc.ok()) return *ans;
    absl::StatusOr<crypto::Checkpoint> cp = verify::OpenCardCheckpoint(liar_.card(), r.checkpoint);
    EXPECT_TRUE(cp.ok()) << cp.status();
    EXPECT_TRUE(rc->release);
    EXPECT_FALSE(rc->final);
    EXPECT_EQ(rc->release_id, a.ReleaseId());
    EXPECT_EQ(rc->contract_id, kContractId);
    EXPECT_EQ(rc->contract_digest,
              contracts::ContractDigest(*crypto::DsseEnvelope::FromJson(a.contract_envelope)));
    EXPECT_EQ(rc->job_id, a.job_id);
    EXPECT_EQ(rc->attempt, a.attempt);
    EXPECT_EQ(rc->artifact_id, a.artifact_id);
    EXPECT_EQ(rc->recipient, a.worker->id.recipient().ToString());
    EXPECT_EQ(rc->ed25519_public_key, a.worker->key.public_key().raw());
    EXPECT_EQ(rc->evidence_digest, crypto::Sha256Id(r.evidence_document));
    EXPECT_EQ(rc->admission_index, r.job_entries.back().index);
    EXPECT_EQ(rc->checkpoint_size, cp->size);
    EXPECT_EQ(rc->checkpoint_root, cp->root_hash);
    EXPECT_EQ(rc->header_digest, crypto::Sha256Id(ans->header));
    EXPECT_EQ(rc->job_ordinal, ordinal);
    EXPECT_TRUE(rc->reasons.empty());
    EXPECT_EQ(rc->time, clock_.Now());
    absl::StatusOr<std::optional<Decision>> d = kh.journal->GetDecision(r.release_id);
    EXPECT_TRUE(d.ok() && d->has_value()) << d.status();
    if (d.ok() && d->has_value()) {
      EXPECT_TRUE((*d)->release);
      EXPECT_EQ((*d)->header, ans->header);
      EXPECT_EQ((*d)->receipt_json, ans->receipt_json);
      EXPECT_EQ((*d)->recipient, a.worker->id.recipient().ToString());
      EXPECT_EQ((*d)->nonce, a.nonce);
    }
    return *ans;
  }

  // The plaintext a released header opens, with the artifact's stored payload, for `id`; "" when
  // it does not open.
  std::string Opened(const Answer& a, const std::string& artifact_id,
                   const crypto::age::X25519Identity& worker) {
    const std::string& ct = ciphertexts_.at(artifact_id);
    absl::StatusOr<crypto::age::Header> own = crypto::age::Header::Parse(ct);
    absl::StatusOr<crypto::age::Header> released = crypto::age::Header::Parse(a.header);
    if (!own.ok() || !released.ok()) return "";
    std::vector<crypto::age::X25519Identity> ids;
    ids.push_back(*crypto::age::X25519Identity::FromSecret(worker.secret().Clone()));
    absl::StatusOr<crypto::SecretBytes> plain = crypto::age::DecryptToSecret(
        ids, *released, absl::string_view(ct).substr(own->size()), {1});
    return plain.ok() ? std::string(plain->view()) : "";
  }
  std::string PlainOf(const std::string& id) const {
    if (id == model_id_) return model_plain_;
    if (id == other_id_) return other_plain_;
    return data_plain_;
  }

  std::string PolicyReason(const std::string& measurement) const {
    return absl::StrCat("policy: measurement ", base::HexEncode(measurement), " not in [",
                        base::HexEncode(GoodMeasurement()), "]");
  }
  std::string BindingReason(const Attempt& a, const std::string& evidence_binds) const {
    absl::StatusOr<std::string> want = attestation::ExpectedReportData(
        {a.nonce, a.job_id, a.worker->key.public_key(),
         *crypto::age::X25519Recipient::Parse(a.Recipient())});
    return absl::StrCat(
        "binding: report data does not bind this admission (nonce, job id, Ed25519 key, age "
        "recipient): expected ",
        base::HexEncode(*want), ", evidence carries ", base::HexEncode(evidence_binds));
  }
  std::string BoundBy(const Attempt& a) const {
    return *attestation::ExpectedReportData(
        {a.bound_nonce.value_or(a.nonce), a.bound_job.value_or(a.job_id),
         a.bound_key.value_or(a.worker->key.public_key()),
         a.bound_recipient.value_or(*crypto::age::X25519Recipient::Parse(a.Recipient()))});
  }

  base::FixedClock clock_{T("2025-07-10T00:00:00Z")};
  ::triad::testing::TempDir dir_;
  Party mo_ = MakeParty("mo", Role::kModelOwner);
  Party do_ = MakeParty("do", Role::kDataOwner);
  Party cp_ = MakeParty("cp", Role::kComputeProvider);
  Party eve_ = MakeParty("eve", Role::kDataOwner);
  Party mallory_ = MakeParty("mallory", Role::kModelOwner);
  std::vector<crypto::age::X25519Identity> mo_ids_, do_ids_;
  crypto::Ed25519PrivateKey sim_key_ = crypto::Ed25519PrivateKey::Generate();
  LyingCoordinator liar_{clock_, sim_key_};
  std::string model_plain_, other_plain_, data_plain_;
  std::string model_id_, other_id_, data_id_;
  std::map<std::string, std::string> ciphertexts_;  // as their owners made them
  std::map<std::string, std::string> served_;       // what the coordinator serves under each id
  int reads_ = 0;                                   // artifact downloads by the keyholders
  std::string contract_;                            // signed by all three
  std::map<std::string, std::string> submissions_;  // job -> its submit-job request
};

// ---- The happy path ----

TEST_F(KeyholderTest, ReleasesEachOwnersArtifactToTheAttestedWorker) {
  auto mo = Open("mo");
  auto dk = Open("do", do_);
  Attempt a = NewAttempt("j-1");
  verify::ReleaseContext model = Relay(*mo, a);
  ExpectReleased(*mo, model, a);
  // The same admission, for the data owner's artifact, by the data owner's keyholder.
  Attempt d = a;
  d.artifact_id = data_id_;
  verify::ReleaseContext data = LyingCoordinator::Request(d, model.evidence_document, liar_.log(),
                                                          liar_.log().size(), 0);
  ExpectReleased(*dk, data, d, 1, &do_);
  // Each keyholder hashed its artifact once, and re-wrapped exactly the key of that artifact: the
  // model's released header does not open the dataset's payload.
  EXPECT_EQ(reads_, 2);
  absl::StatusOr<std::optional<Decision>> released = mo->journal->GetDecision(a.ReleaseId());
  Answer as_answer;
  as_answer.header = (*released)->header;
  EXPECT_EQ(Opened(as_answer, data_id_, a.worker->id), "");
  EXPECT_EQ(Opened(as_answer, other_id_, a.worker->id), "");
}

// ---- (a) evidence whose measurement is not in the contract's policy ----

TEST_F(KeyholderTest, RefusesEvidenceWhoseMeasurementIsNotInThePolicy) {
  auto kh = Open("mo");
  Attempt a = NewAttempt("j-1");
  a.measurement = Digest48("a worker that copies its inputs");
  ExpectRefused(*kh, Relay(*kh, a), {PolicyReason(a.measurement)}, false);
  // The coordinator widens the policy itself: the owner's signature no longer holds.
  contracts::Contract wider = MakeContract();
  wider.worker_policy.sim->measurements.push_back(a.measurement);
  absl::StatusOr<crypto::DsseEnvelope> env = crypto::DsseEnvelope::FromJson(contract_);
  env->payload = contracts::DraftContract(wider)->payload;
  Attempt b = NewAttempt("j-2");
  b.measurement = a.measurement;
  b.contract_envelope = env->ToJson();
  ExpectRefused(*kh, Relay(*kh, b),
                {absl::StrCat("contract c-0001 is not active: signature by model_owner \"mo\" (key ",
                              mo_.card.fingerprint(), ") does not verify; signature by data_owner "
                              "\"do\" (key ",
                              do_.card.fingerprint(),
                              ") does not verify; signature by compute_provider \"cp\" (key ",
                              cp_.card.fingerprint(), ") does not verify")},
                true);
  // Evidence from a simulation key this keyholder does not trust (the coordinator may).
  crypto::Ed25519PrivateKey rogue = crypto::Ed25519PrivateKey::Generate();
  Attempt c = NewAttempt("j-3");
  c.sim_key = &rogue;
  ExpectRefused(*kh, Relay(*kh, c),
                {absl::StrCat("evidence: sim evidence is signed by simulation key ",
                              rogue.public_key().KeyId(), ", which is not among the trusted sim keys")},
                false);
  // Evidence other than the document the admission names.
  Attempt d = NewAttempt("j-4");
  verify::ReleaseContext swapped = Relay(*kh, d);
  std::string logged = crypto::Sha256Id(swapped.evidence_document);
  Attempt bad = d;
  bad.measurement = a.measurement;
  swapped.evidence_document = liar_.Evidence(bad);
  ExpectRefused(*kh, swapped,
                {absl::StrCat("evidence: the document hashes to ",
                              crypto::Sha256Id(swapped.evidence_document), ", job.admission entry ",
                              swapped.job_entries.back().index, " names ", logged)},
                false);
  // Without the lie: the good measurement, the signed policy, the trusted key, the logged
  // document.
  Attempt honest = NewAttempt("j-5");
  ExpectReleased(*kh, Relay(*kh, honest), honest);
}

// ---- (b) evidence bound to other keys ----

TEST_F(KeyholderTest, RefusesEvidenceBoundToOtherKeys) {
  auto kh = Open("mo");
  WorkerKeys other;
  int n = 0;
  auto refused = [&](const std::function<void(Attempt&)>& lie) {
    Attempt a = NewAttempt(absl::StrCat("j-", ++n));
    lie(a);
    ExpectRefused(*kh, Relay(*kh, a), {BindingReason(a, BoundBy(a))}, false);
  };
  // The report data binds another worker's Ed25519 key, another age recipient, another nonce,
  // another job.
  refused([&](Attempt& a) { a.bound_key = other.key.public_key(); });
  refused([&](Attempt& a) { a.bound_recipient = other.id.recipient(); });
  refused([&](Attempt& a) { a.bound_nonce = crypto::RandomString(32); });
  refused([&](Attempt& a) { a.bound_job = "j-elsewhere"; });
  // The log names the coordinator's own recipient; the evidence binds the worker's.
  refused([&](Attempt& a) {
    a.bound_recipient = a.worker->id.recipient();
    a.logged_recipient = other.id.recipient().ToString();
  });
  // Without the lie.
  Attempt honest = NewAttempt("j-honest");
  ExpectReleased(*kh, Relay(*kh, honest), honest);
}

// ---- (c) a replayed nonce ----

TEST_F(KeyholderTest, RefusesAReplayedNonce) {
  auto kh = Open("mo");
  Attempt first = NewAttempt("j-1");
  ExpectReleased(*kh, Relay(*kh, first), first);
  const std::string spent =
      absl::StrCat("the admission's nonce was already used (release ", first.ReleaseId(),
                   "): a replayed admission");
  // The same admission again as attempt 2 of the job: same nonce, same keys, same evidence.
  Attempt again = first;
  again.attempt = 2;
  ExpectRefused(*kh, Relay(*kh, again), {spent}, false);
  // The nonce in another job, with evidence a worker made for it (the coordinator handed the
  // same nonce out twice).
  Attempt other = NewAttempt("j-2");
  other.nonce = first.nonce;
  ExpectRefused(*kh, Relay(*kh, other), {spent}, false);
  // An admission logged long ago, brought back.
  Attempt old = NewAttempt("j-3");
  old.admitted_at = clock_.Now() - absl::Minutes(11);
  verify::ReleaseContext stale = Relay(*kh, old);
  ExpectRefused(*kh, stale,
                {absl::StrCat("admission: job.admission entry ", stale.job_entries.back().index,
                              " is dated 2025-07-09T23:49:00Z, more than 10m from this "
                              "keyholder's time 2025-07-10T00:00:00Z")},
                false);
  // Without the lie: a retry of job 1 with a fresh nonce is released (and counts once).
  Attempt retry = NewAttempt("j-1", 3);
  ExpectReleased(*kh, Relay(*kh, retry), retry);
}

// ---- (d) the contract ----

TEST_F(KeyholderTest, RefusesAContractTheOwnerNeverSigned) {
  auto kh = Open("mo");
  const std::string mo_label =
      absl::StrCat("model_owner \"mo\" (key ", mo_.card.fingerprint(), ")");
  int n = 0;
  auto refused = [&](const std::string& envelope, const std::vector<std::string>& reasons) {
    Attempt a = NewAttempt(absl::StrCat("j-", ++n));
    a.contract_envelope = envelope;
    ExpectRefused(*kh, Relay(*kh, a), reasons, true);
  };
  // Signed by the other two only.
  refused(SignedContract(MakeContract(), {&do_, &cp_}),
          {absl::StrCat("contract c-0001 is not active: no signature by ", mo_label)});
  // The owner's signature altered.
  absl::StatusOr<crypto::DsseEnvelope> bad = crypto::DsseEnvelope::FromJson(contract_);
  for (crypto::DsseSignature& s : bad->signatures) {
    if (s.keyid == mo_.card.fingerprint()) s.sig[5] ^= 1;
  }
  refused(bad->ToJson(), {absl::StrCat("contract c-0001 is not active: signature by ", mo_label,
                                       " does not verify")});
  // Someone else's signature in the owner's place.
  absl::StatusOr<crypto::DsseEnvelope> forged =
      crypto::DsseEnvelope::FromJson(SignedContract(MakeContract(), {&do_, &cp_}));
  crypto::DsseSign(*forged, eve_.key);
  refused(forged->ToJson(),
          {absl::StrCat("contract c-0001 is not active: no signature by ", mo_label,
                        "; signature 2 with key id \"", eve_.card.fingerprint(),
                        "\" is not by a party of the contract")});
  // A contract among others, naming this owner's artifact, properly signed by its parties.
  contracts::Contract theirs = MakeContract();
  theirs.id = "c-theirs";
  theirs.model_owner = mallory_.card;
  Attempt a = NewAttempt("j-theirs");
  a.contract_envelope = SignedContract(theirs, {&mallory_, &do_, &cp_});
  a.submission = liar_.Submission("c-theirs", do_.key);
  ExpectRefused(*kh, Relay(*kh, a),
                {absl::StrCat("contract c-theirs does not name this owner (mo, key ",
                              mo_.card.fingerprint(), ") as its model or data owner")},
                true);
  // Without the lie: the contract all three signed.
  Attempt honest = NewAttempt("j-honest");
  ExpectReleased(*kh, Relay(*kh, honest), honest);
}

TEST_F(KeyholderTest, RefusesAnExpiredOrNotYetValidContractByItsOwnClock) {
  auto kh = Open("mo");
  contracts::Contract expired = MakeContract();
  expired.not_after = T("2025-07-09T23:59:59Z");
  Attempt a = NewAttempt("j-1");
  a.contract_envelope = SignedContract(expired, {&mo_, &do_, &cp_});
  ExpectRefused(*kh, Relay(*kh, a),
                {"contract c-0001 is not active: expired: now 2025-07-10T00:00:00Z is not before "
                 "not_after 2025-07-09T23:59:59Z"},
                true);
  contracts::Contract early = MakeContract();
  early.not_before = T("2025-07-10T00:00:01Z");
  Attempt b = NewAttempt("j-2");
  b.contract_envelope = SignedContract(early, {&mo_, &do_, &cp_});
  ExpectRefused(*kh, Relay(*kh, b),
                {"contract c-0001 is not active: not yet valid: now 2025-07-10T00:00:00Z is "
                 "before not_before 2025-07-10T00:00:01Z"},
                true);
  // Without the lie: the same contract one second later is valid, and released.
  clock_.Advance(absl::Seconds(1));
  Attempt c = NewAttempt("j-3");
  c.contract_envelope = b.contract_envelope;
  ExpectReleased(*kh, Relay(*kh, c), c);
}

TEST_F(KeyholderTest, RefusesAContractTheCoordinatorSaysIsRevoked) {
  auto kh = Open("mo");
  Attempt a = NewAttempt("j-1");
  a.revoked = true;
  ExpectRefused(*kh, Relay(*kh, a), {"contract c-0001 was revoked (the coordinator says so)"},
                true);
  Attempt honest = NewAttempt("j-2");
  ExpectReleased(*kh, Relay(*kh, honest), honest);
}

TEST_F(KeyholderTest, RefusesAContractRevokedOnTheKeyholderWhateverTheCoordinatorSays) {
  auto kh = Open("mo");
  Attempt first = NewAttempt("j-1");
  ExpectReleased(*kh, Relay(*kh, first), first);
  ASSERT_TRUE(kh->journal->Revoke(kContractId, "the owner ended it", clock_.Now()).ok());
  // The coordinator says it is not revoked: a retry of the released job, and a new job.
  const std::string why = "contract c-0001 is revoked on this keyholder: the owner ended it";
  Attempt retry = NewAttempt("j-1", 2);
  ExpectRefused(*kh, Relay(*kh, retry), {why}, true);
  Attempt other = NewAttempt("j-2");
  ExpectRefused(*kh, Relay(*kh, other), {why}, true);
  // It holds across a restart.
  Reopen(kh);
  Attempt later = NewAttempt("j-3");
  ExpectRefused(*kh, Relay(*kh, later), {why}, true);
  // Without the lie: the same request to a keyholder that did not revoke is released.
  auto fresh = Open("mo-fresh");
  Attempt control = NewAttempt("j-4");
  ExpectReleased(*fresh, Relay(*fresh, control), control);
}

TEST_F(KeyholderTest, RefusesASubmissionTheContractsOwnersDidNotMake) {
  auto kh = Open("mo");
  // Submitted by the compute provider, who may not.
  Attempt a = NewAttempt("j-1");
  a.submission = liar_.Submission(kContractId, cp_.key);
  ExpectRefused(*kh, Relay(*kh, a),
                {"submission: signed by neither the model owner nor the data owner"}, false);
  // Not the submission job.submitted names.
  Attempt b = NewAttempt("j-2");
  verify::ReleaseContext swapped = Relay(*kh, b);
  swapped.submission_envelope_json = liar_.Submission(kContractId, mo_.key);
  ExpectRefused(*kh, swapped,
                {absl::StrCat("submission: it is not the one job.submitted entry ",
                              swapped.job_entries.front().index, " names")},
                false);
  Attempt honest = NewAttempt("j-3");
  ExpectReleased(*kh, Relay(*kh, honest), honest);
}

TEST_F(KeyholderTest, RefusesASubmissionReplayedForAnotherJob) {
  auto kh = Open("mo");
  Attempt first = NewAttempt("j-1");
  ExpectReleased(*kh, Relay(*kh, first), first);
  // The data owner asked for one job; the coordinator logs a second with the same request.
  submissions_["j-2"] = submissions_["j-1"];
  Attempt second = NewAttempt("j-2");
  ExpectRefused(*kh, Relay(*kh, second),
                {"submission: it was the submission of job j-1 already (one signed submit-job "
                 "request, one job)"},
                true);
  // A retry of the first job is that job, with its own submission.
  Attempt retry = NewAttempt("j-1", 2);
  ExpectReleased(*kh, Relay(*kh, retry), retry);
  // Without the lie: a second job the data owner asked for.
  Attempt asked = NewAttempt("j-3");
  ExpectReleased(*kh, Relay(*kh, asked), asked, 2);
}

// ---- (e) the log ----

TEST_F(KeyholderTest, RefusesAnAdmissionNotInTheLog) {
  // Each lie to a keyholder of its own: a refused request's checkpoint, when it extends the one
  // seen, is seen too, and the next lie's log would be a fork of it.
  int n = 0;
  std::unique_ptr<Instance> kh;
  auto next = [&]() {
    kh = Open(absl::StrCat("mo-", ++n));
    return NewAttempt(absl::StrCat("j-", n));
  };
  ForgedLog& log = liar_.log();

  // The admission entry was never logged: it stands at the index of another entry, with that
  // entry's proof.
  {
    Attempt a = next();
    verify::ReleaseContext r = Relay(*kh, a);
    verify::ReleaseContext::ProvenEntry& adm = r.job_entries.back();
    ForgedLog without = log.Branch(log.size() - 1);
    without.Append(R"({"type":"triad.log/v1","kind":"party.registered","name":"x"})");
    r.checkpoint = without.Checkpoint(without.size());
    for (auto& e : r.job_entries) e.inclusion_proof = without.Inclusion(e.index, without.size());
    std::vector<std::string> entries;
    for (uint64_t i = 0; i < without.size(); ++i) entries.push_back(without.entry(i));
    std::string got_root = testing::ref::Mth([&] {
      auto v = entries;
      v[adm.index] = adm.entry;
      return v;
    }());
    ExpectRefused(*kh, r,
                  {absl::StrCat("log: entry ", adm.index,
                                " is not in the signed tree: inclusion proof of leaf ", adm.index,
                                " in tree size ", without.size(), " leads to root ",
                                base::HexEncode(got_root), ", not ",
                                base::HexEncode(without.Root(without.size())))},
                  false);
  }
  // An inclusion proof with one hash changed.
  {
    Attempt a = next();
    verify::ReleaseContext r = Relay(*kh, a);
    verify::ReleaseContext::ProvenEntry& adm = r.job_entries.back();
    ASSERT_FALSE(adm.inclusion_proof.empty());
    adm.inclusion_proof[0][0] ^= 1;
    std::string leaf = crypto::merkle::LeafHash(adm.entry);
    absl::StatusOr<std::string> got = crypto::merkle::RootFromInclusionProof(
        adm.index, log.size(), leaf, adm.inclusion_proof);
    ExpectRefused(*kh, r,
                  {absl::StrCat("log: entry ", adm.index,
                                " is not in the signed tree: inclusion proof of leaf ", adm.index,
                                " in tree size ", log.size(), " leads to root ",
                                base::HexEncode(*got), ", not ",
                                base::HexEncode(log.Root(log.size())))},
                  false);
  }
  // The admission entry altered after it was logged (the coordinator's recipient in place of
  // the worker's).
  {
    Attempt a = next();
    verify::ReleaseContext r = Relay(*kh, a);
    verify::ReleaseContext::ProvenEntry& adm = r.job_entries.back();
    WorkerKeys coordinators;
    adm.entry = absl::StrReplaceAll(adm.entry, {{a.worker->id.recipient().ToString(),
                                                 coordinators.id.recipient().ToString()}});
    std::vector<std::string> entries;
    for (uint64_t i = 0; i < log.size(); ++i) entries.push_back(log.entry(i));
    entries[adm.index] = adm.entry;
    ExpectRefused(*kh, r,
                  {absl::StrCat("log: entry ", adm.index,
                                " is not in the signed tree: inclusion proof of leaf ", adm.index,
                                " in tree size ", log.size(), " leads to root ",
                                base::HexEncode(testing::ref::Mth(entries)), ", not ",
                                base::HexEncode(log.Root(log.size())))},
                  false);
  }
  // An entry of the job left out of the request (job.assigned).
  {
    Attempt a = next();
    verify::ReleaseContext r = Relay(*kh, a);
    ASSERT_EQ(r.job_entries.size(), 3u);
    uint64_t submitted = r.job_entries[0].index, admission = r.job_entries[2].index;
    r.job_entries.erase(r.job_entries.begin() + 1);
    ExpectRefused(*kh, r,
                  {absl::StrCat("log: job.admission entry ", admission,
                                " does not follow job.submitted entry ", submitted,
                                " in the job's hash chain (an entry is missing or reordered)")},
                  false);
  }
  // No admission at all: the request ends before it.
  {
    Attempt a = next();
    verify::ReleaseContext r = Relay(*kh, a);
    r.job_entries.pop_back();
    ExpectRefused(*kh, r, {"log: the job's entries do not end with the admission of attempt 1"},
                  false);
  }
  // An admission that refused the worker.
  {
    Attempt a = next();
    a.decision = "reject";
    verify::ReleaseContext r = Relay(*kh, a);
    ExpectRefused(*kh, r,
                  {absl::StrCat("log: job.admission entry ", r.job_entries.back().index,
                                " did not admit the worker")},
                  false);
  }
  // Without the lie.
  Attempt honest = next();
  ExpectReleased(*kh, Relay(*kh, honest), honest);
}

TEST_F(KeyholderTest, RefusesACheckpointNotSignedByTheCardsKey) {
  auto kh = Open("mo");
  crypto::Ed25519PrivateKey other = crypto::Ed25519PrivateKey::Generate();
  absl::StatusOr<crypto::NoteSigner> impostor =
      crypto::NoteSigner::Create(testing::kLogOrigin, *crypto::Ed25519PrivateKey::FromPem(other.ToPem()));
  ASSERT_TRUE(impostor.ok());
  Attempt a = NewAttempt("j-1");
  verify::ReleaseContext r = Relay(*kh, a);
  r.checkpoint = liar_.log().Checkpoint(liar_.log().size(), &*impostor);
  ExpectRefused(*kh, r,
                {absl::StrCat("checkpoint: signed note has no signature by a trusted key (signed by ",
                              testing::kLogOrigin, "+",
                              absl::StrCat(absl::Hex(impostor->key_id(), absl::kZeroPad8)), ")")},
                false);
  // The card's key, for a checkpoint of another log (another origin).
  Attempt b = NewAttempt("j-2");
  verify::ReleaseContext s = Relay(*kh, b);
  crypto::Checkpoint cp{"elsewhere.example/log", liar_.log().size(),
                        liar_.log().Root(liar_.log().size()), {}};
  s.checkpoint = liar_.SignNote(cp.ToText());
  ExpectRefused(*kh, s,
                {absl::StrCat("checkpoint: checkpoint origin \"elsewhere.example/log\" is not \"",
                              testing::kLogOrigin, "\"")},
                false);
  Attempt honest = NewAttempt("j-3");
  ExpectReleased(*kh, Relay(*kh, honest), honest);
}

// The forks a keyholder holds as evidence (the journal's forks table), oldest first.
std::vector<std::pair<std::string, std::string>> Forks(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  absl::StatusOr<std::unique_ptr<storage::sqlite::Db>> db =
      storage::sqlite::Db::Open(absl::StrCat(dir, "/", kJournalFile), /*create=*/false);
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return out;
  absl::StatusOr<storage::sqlite::StmtRef> s =
      (*db)->Prepare("SELECT older_note, newer_note FROM forks ORDER BY id");
  EXPECT_TRUE(s.ok()) << s.status();
  for (;;) {
    absl::StatusOr<bool> row = (*s)->Step();
    if (!row.ok() || !*row) break;
    out.emplace_back((*s)->Text(0), (*s)->Text(1));
  }
  return out;
}

TEST_F(KeyholderTest, KeepsBothCheckpointsOfAForkAndRefusesEveryLaterRequest) {
  auto kh = Open("mo");
  auto witness = Open("mo-other");  // a keyholder that sees only the honest log
  Attempt first = NewAttempt("j-1");
  verify::ReleaseContext r1 = Relay(*kh, first);
  ExpectReleased(*kh, r1, first);
  ExpectReleased(*witness, r1, first);
  const uint64_t seen = liar_.log().size();
  const std::string seen_note = r1.checkpoint;

  // Another history from before job 1, as long as the one the keyholder saw: same size, another
  // root.
  ForgedLog fork = liar_.log().Branch(seen - 5);
  Attempt second = NewAttempt("j-2");
  verify::ReleaseContext r2 = liar_.Relay(second, seen, &fork);
  ASSERT_EQ(fork.size(), seen);
  const std::string fork_reason =
      "the coordinator shows a log that does not extend the one this keyholder saw (a fork; both "
      "checkpoints are kept in the journal)";
  ExpectRefused(*kh, r2,
                {fork_reason,
                 absl::StrCat("checkpoint: the coordinator's log is not an extension: the "
                              "coordinator shows root ",
                              base::Base64Encode(fork.Root(seen)), " for tree size ", seen,
                              ", the saved checkpoint has root ",
                              base::Base64Encode(liar_.log().Root(seen)),
                              " (two views of one log)")},
                false);
  EXPECT_EQ(Forks(kh->dir), (std::vector<std::pair<std::string, std::string>>{{seen_note, r2.checkpoint}}));

  // The fork grows, with a consistency proof from the fork's own tree.
  Attempt third = NewAttempt("j-3");
  verify::ReleaseContext r3 = liar_.Relay(third, seen, &fork);
  ExpectRefused(*kh, r3,
                {fork_reason, absl::StrCat("checkpoint: the coordinator's log is not an extension: "
                                           "consistency proof from tree size ",
                                           seen, " to ", fork.size(), ": ",
                                           crypto::merkle::VerifyConsistency(
                                               seen, fork.size(), r3.consistency_proof,
                                               liar_.log().Root(seen), fork.Root(fork.size()))
                                               .message())},
                false);
  std::vector<std::pair<std::string, std::string>> forks = Forks(kh->dir);
  ASSERT_EQ(forks.size(), 2u);
  EXPECT_EQ(forks[1], std::make_pair(seen_note, r3.checkpoint));

  // A coordinator caught showing two views gets nothing more, even on the log this keyholder saw.
  const std::string held =
      "this keyholder holds 2 fork(s) of the coordinator's log in its journal (signed checkpoints "
      "that contradict each other): it releases nothing more";
  Attempt later = NewAttempt("j-4");
  verify::ReleaseContext r4 = Relay(*kh, later);
  ExpectRefused(*kh, r4,
                {held}, true);
  Reopen(kh);
  Attempt after_restart = NewAttempt("j-5");
  ExpectRefused(*kh, Relay(*kh, after_restart),
                {held}, true);
  // Without the lie: the keyholder that never saw the fork releases the same request.
  ExpectReleased(*witness, r4, later, 2);
  EXPECT_TRUE(Forks(witness->dir).empty());
}

TEST_F(KeyholderTest, RefusesATreeThatShrank) {
  auto kh = Open("mo");
  auto witness = Open("mo-other");
  Attempt first = NewAttempt("j-1");
  const uint64_t before = liar_.log().size();
  const std::string older = liar_.log().Checkpoint(before);
  verify::ReleaseContext r1 = Relay(*kh, first);
  ExpectReleased(*kh, r1, first);
  ExpectReleased(*witness, r1, first);
  const uint64_t seen = liar_.log().size();
  // Job 2 logged, shown with an older checkpoint: smaller than the one the keyholder saw.
  Attempt second = NewAttempt("j-2");
  verify::ReleaseContext r2 = Relay(*kh, second);
  verify::ReleaseContext shrunk = r2;
  shrunk.checkpoint = older;
  shrunk.consistency_from = 0;
  shrunk.consistency_proof.clear();
  ExpectRefused(*kh, shrunk,
                {"the coordinator shows a log that does not extend the one this keyholder saw (a "
                 "fork; both checkpoints are kept in the journal)",
                 absl::StrCat("checkpoint: the coordinator's log is not an extension: the "
                              "coordinator shows tree size ",
                              before, ", smaller than the saved ", seen)},
                false);
  EXPECT_EQ(Forks(kh->dir), (std::vector<std::pair<std::string, std::string>>{{r1.checkpoint, older}}));
  // Without the lie: the same request with the checkpoint that extends.
  ExpectReleased(*witness, r2, second, 2);
}

TEST_F(KeyholderTest, KeepsItsViewOfTheLogWhenShownACheckpointWithoutAConsistencyProof) {
  auto kh = Open("mo");
  Attempt first = NewAttempt("j-1");
  ExpectReleased(*kh, Relay(*kh, first), first);
  const uint64_t seen = liar_.log().size();
  // Another history, longer, shown without a proof that it extends the one seen.
  ForgedLog fork = liar_.log().Branch(seen - 5);
  fork.Append(R"({"type":"triad.log/v1","kind":"party.registered","name":"x"})");
  Attempt second = NewAttempt("j-2");
  verify::ReleaseContext r2 = liar_.Relay(second, 0, &fork);
  ExpectRefused(*kh, r2,
                {absl::StrCat("checkpoint: no consistency proof from the tree size seen last here (",
                              seen, ") to ", fork.size())},
                false);
  EXPECT_EQ(kh->Known(liar_.card()), seen);
  // The fork goes on, now with a proof from the unproven checkpoint: still not the log the
  // keyholder saw.
  const uint64_t shown = fork.size();
  Attempt third = NewAttempt("j-3");
  verify::ReleaseContext r3 = liar_.Relay(third, shown, &fork);
  ExpectRefused(*kh, r3,
                {absl::StrCat("checkpoint: no consistency proof from the tree size seen last here (",
                              seen, ") to ", fork.size())},
                false);
  // Without the lie: the log the keyholder saw, extended with its proof.
  Attempt honest = NewAttempt("j-4");
  ExpectReleased(*kh, Relay(*kh, honest), honest, 2);
}

// ---- (f) max_jobs ----

TEST_F(KeyholderTest, ReleasesForAtMostMaxJobsDistinctJobsAndCountsRetriesOnce) {
  contract_ = SignedContract(MakeContract(/*max_jobs=*/1), {&mo_, &do_, &cp_});
  auto kh = Open("mo");
  Attempt j1 = NewAttempt("j-1");
  ExpectReleased(*kh, Relay(*kh, j1), j1, 1);
  // A retried attempt of the same job is not a second job.
  Attempt retry = NewAttempt("j-1", 2);
  ExpectReleased(*kh, Relay(*kh, retry), retry, 1);
  Attempt j2 = NewAttempt("j-2");
  ExpectRefused(*kh, Relay(*kh, j2),
                {"contract c-0001 allows 1 job(s) (max_jobs) and this keyholder released its key "
                 "for 1 already"},
                true);
  Attempt j1_again = NewAttempt("j-1", 3);
  ExpectReleased(*kh, Relay(*kh, j1_again), j1_again, 1);
  // Without the lie: a contract that allows two jobs releases for the second.
  contract_ = SignedContract(MakeContract(/*max_jobs=*/2), {&mo_, &do_, &cp_});
  auto fresh = Open("mo-2");
  Attempt k1 = NewAttempt("j-k1");
  ExpectReleased(*fresh, Relay(*fresh, k1), k1, 1);
  Attempt k2 = NewAttempt("j-k2");
  ExpectReleased(*fresh, Relay(*fresh, k2), k2, 2);
}

// ---- (g) the artifact: another artifact's header, bytes that do not hash to the id ----

TEST_F(KeyholderTest, RefusesAnotherArtifactOfTheSameOwnerInPlaceOfTheContracts) {
  // The coordinator serves the owner's other artifact under the contract's artifact id.
  served_[model_id_] = ciphertexts_[other_id_];
  auto kh = Open("mo");
  Attempt a = NewAttempt("j-1");
  ExpectRefused(*kh, Relay(*kh, a),
                {absl::StrCat("the coordinator served ", other_id_, " for artifact ", model_id_)},
                false);
  // Its header in front of the contract artifact's payload.
  const std::string& model = ciphertexts_[model_id_];
  const std::string& other = ciphertexts_[other_id_];
  size_t model_header = crypto::age::Header::Parse(model)->size();
  size_t other_header = crypto::age::Header::Parse(other)->size();
  served_[model_id_] = other.substr(0, other_header) + model.substr(model_header);
  Attempt b = NewAttempt("j-2");
  ExpectRefused(*kh, Relay(*kh, b),
                {absl::StrCat("the coordinator served ", crypto::Sha256Id(served_[model_id_]),
                              " for artifact ", model_id_)},
                false);
  // A release asked for the other artifact, which the contract does not name.
  ASSERT_TRUE(ImportArtifact(*kh->journal, {mo_.card, &mo_.key, &mo_ids_}, clock_.Now(),
                             [&](const std::function<absl::Status(absl::string_view)>& sink) {
                               return sink(other);
                             })
                  .ok());
  Attempt c = NewAttempt("j-3");
  c.artifact_id = other_id_;
  ExpectRefused(*kh, Relay(*kh, c),
                {absl::StrCat("contract c-0001 names ", model_id_,
                              " as this owner's artifact, not ", other_id_)},
                true);
  // Without the lie: the contract's artifact, served as its owner uploaded it.
  served_[model_id_] = model;
  Attempt honest = NewAttempt("j-4");
  ExpectReleased(*kh, Relay(*kh, honest), honest);
}

TEST_F(KeyholderTest, RefusesCiphertextThatDoesNotHashToTheArtifactId) {
  std::string altered = ciphertexts_[model_id_];
  altered[altered.size() - 100] ^= 1;
  served_[model_id_] = altered;
  auto kh = Open("mo");
  Attempt a = NewAttempt("j-1");
  ExpectRefused(*kh, Relay(*kh, a),
                {absl::StrCat("the coordinator served ", crypto::Sha256Id(altered),
                              " for artifact ", model_id_)},
                false);
  // Nothing of those bytes was kept.
  absl::StatusOr<std::optional<std::string>> known = kh->journal->ArtifactHeader(model_id_);
  ASSERT_TRUE(known.ok());
  EXPECT_FALSE(known->has_value());
  // An artifact (its real id) that someone besides the owner can open too.
  std::string shared_id = Store(model_plain_, {mo_.card.age_recipient, eve_.card.age_recipient});
  contracts::Contract c = MakeContract();
  c.base_model.id = shared_id;
  Attempt b = NewAttempt("j-2");
  b.artifact_id = shared_id;
  b.contract_envelope = SignedContract(c, {&mo_, &do_, &cp_});
  ExpectRefused(*kh, Relay(*kh, b),
                {absl::StrCat("artifact ", shared_id,
                              " is encrypted to 2 recipient(s), not to this owner alone")},
                false);
  // Without the lie.
  served_[model_id_] = ciphertexts_[model_id_];
  Attempt honest = NewAttempt("j-3");
  ExpectReleased(*kh, Relay(*kh, honest), honest);
}

// ---- The journal: a request asked again, a restart, a crash before the answer left ----

TEST_F(KeyholderTest, AnswersARequestAskedAgainFromTheJournal) {
  auto kh = Open("mo");
  Attempt a = NewAttempt("j-1");
  verify::ReleaseContext r = Relay(*kh, a);
  Answer first = ExpectReleased(*kh, r, a);
  ASSERT_EQ(reads_, 1);
  auto same = [&](const Answer& again) {
    EXPECT_TRUE(again.replayed);
    EXPECT_TRUE(again.release);
    EXPECT_EQ(again.header, first.header);
    EXPECT_EQ(again.receipt_json, first.receipt_json);
    EXPECT_EQ(kh->Decisions().size(), 1u);
  };
  absl::StatusOr<Answer> again = kh->k->Decide(r);
  ASSERT_TRUE(again.ok()) << again.status();
  same(*again);
  // After a restart on the same journal, later.
  Reopen(kh);
  clock_.Advance(absl::Minutes(30));
  again = kh->k->Decide(r);
  ASSERT_TRUE(again.ok()) << again.status();
  same(*again);
  // A refusal is answered again the same way.
  Attempt bad = NewAttempt("j-2");
  bad.measurement = Digest48("elsewhere");
  verify::ReleaseContext refused = Relay(*kh, bad);
  ExpectRefused(*kh, refused, {PolicyReason(bad.measurement)}, false);
  absl::StatusOr<Answer> no = kh->k->Decide(refused);
  ASSERT_TRUE(no.ok());
  EXPECT_TRUE(no->replayed);
  EXPECT_FALSE(no->release);
  EXPECT_EQ(no->header, "");
  EXPECT_EQ(no->reasons, std::vector<std::string>{PolicyReason(bad.measurement)});
  EXPECT_EQ(kh->Decisions().size(), 2u);
  EXPECT_EQ(reads_, 1);  // the artifact was hashed once; its header is in the journal
}

TEST_F(KeyholderTest, ACrashBetweenJournalingAndAnsweringNeverReleasesTwice) {
  auto kh = Open("mo");
  Attempt a = NewAttempt("j-1");
  verify::ReleaseContext r = Relay(*kh, a);
  // Decided and journaled; the process dies before the answer leaves.
  absl::StatusOr<Answer> decided = kh->k->Decide(r);
  ASSERT_TRUE(decided.ok() && decided->release) << decided.status();
  const std::string header = decided->header, receipt = decided->receipt_json;
  decided = absl::UnknownError("lost");
  Reopen(kh);
  // The coordinator asks again: the journaled answer, byte for byte.
  absl::StatusOr<Answer> again = kh->k->Decide(r);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->header, header);
  EXPECT_EQ(again->receipt_json, receipt);
  Answer as_answer;
  as_answer.header = header;
  EXPECT_EQ(Opened(as_answer, model_id_, a.worker->id), model_plain_);
  // The same release id for another worker: still the answer given before, which opens only for
  // the first worker.
  Attempt other = a;
  other.worker = std::make_shared<WorkerKeys>();
  other.nonce = crypto::RandomString(32);
  verify::ReleaseContext swapped = Relay(*kh, other);
  ASSERT_EQ(swapped.release_id, r.release_id);
  absl::StatusOr<Answer> same = kh->k->Decide(swapped);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->replayed);
  EXPECT_EQ(same->header, header);
  EXPECT_EQ(Opened(*same, model_id_, other.worker->id), "");
  // The same admission under another release id: its nonce was spent by the first.
  verify::ReleaseContext renamed = r;
  renamed.release_id = absl::StrCat(r.release_id, "#again");
  ExpectRefused(*kh, renamed,
                {absl::StrCat("the admission's nonce was already used (release ", r.release_id,
                              "): a replayed admission")},
                false);
  std::vector<Decision> all = kh->Decisions();
  int releases = 0;
  for (const Decision& d : all) releases += d.release ? 1 : 0;
  EXPECT_EQ(releases, 1);
}

// `triad keyholder log` reads what the keyholder journaled: the release and every refusal with
// its reasons.
TEST_F(KeyholderTest, TheOwnerReadsEveryDecisionWithTriadKeyholderLog) {
  auto kh = Open("mo");
  Attempt good = NewAttempt("j-1");
  ExpectReleased(*kh, Relay(*kh, good), good);
  Attempt bad = NewAttempt("j-2");
  bad.measurement = Digest48("elsewhere");
  ExpectRefused(*kh, Relay(*kh, bad), {PolicyReason(bad.measurement)}, false);
  Attempt revoked = NewAttempt("j-3");
  revoked.revoked = true;
  ExpectRefused(*kh, Relay(*kh, revoked), {"contract c-0001 was revoked (the coordinator says so)"},
                true);
  std::string out;
  ASSERT_EQ(::triad::testing::RunCommand(absl::StrCat(::triad::testing::TriadBinary(),
                                                      " keyholder log --json --state ", kh->dir),
                                         &out),
            0)
      << out;
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << out;
  auto line = [&](size_t i) { return *base::ParseJsonStrict(lines[i]); };
  EXPECT_EQ(line(0)["release_id"], good.ReleaseId());
  EXPECT_EQ(line(0)["decision"], "release");
  EXPECT_EQ(line(0)["recipient"], good.worker->id.recipient().ToString());
  EXPECT_EQ(line(1)["release_id"], bad.ReleaseId());
  EXPECT_EQ(line(1)["decision"], "refuse");
  EXPECT_EQ(line(1)["final"], false);
  EXPECT_EQ(line(1)["reasons"], nlohmann::json::array({PolicyReason(bad.measurement)}));
  EXPECT_EQ(line(2)["release_id"], revoked.ReleaseId());
  EXPECT_EQ(line(2)["decision"], "refuse");
  EXPECT_EQ(line(2)["final"], true);
  EXPECT_EQ(line(2)["reasons"],
            nlohmann::json::array({"contract c-0001 was revoked (the coordinator says so)"}));
}

}  // namespace
}  // namespace triad::keyholder
