// VerifyBundle on real bundles, exported by the in-process coordinator after a job the test plays
// through the real RPCs (coordinator_fixture.h), and on those bundles tampered with one part at a
// time: each tampering must fail exactly the checks that catch it. CheckCheckpointExtends on real
// checkpoints and consistency proofs of that coordinator's log.
#include "verify/audit_verify.h"

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "attestation/evidence_verifier.h"
#include "contracts/policy.h"
#include "coordinator/internal/common.h"
#include "crypto/merkle.h"
#include "tests/verify/verify_fixture.h"
#include "verify/bundle.h"
#include "verify/receipt.h"

namespace triad::coordinator {
namespace {

using verify::AuditCheck;
using verify::AuditOptions;
using verify::AuditReport;
using verify::CheckCheckpointExtends;
using verify::OpenCardCheckpoint;
using verify::VerifyBundle;

using ojson = nlohmann::ordered_json;

// The names of the checks a bundle of a done job with one admission gets, in order.
const std::vector<std::string> kDoneJobChecks = {
    "bundle",
    "checkpoint signature",
    "log inclusion",
    "contract signatures",
    "contract digest",
    "contract terms",
    "registrations",
    "job submission",
    "admission 1 evidence digest",
    "admission 1 evidence",
    "admission 1 claims",
    "admission 1 report data binding",
    "admission 1 policy decision",
    "job history",
    "contract history",
    "job state",
    "job record worker signature",
    "job record coordinator signature",
    "job record statement",
    "adapter digest",
    "key releases",
    "key refusals",
};

std::vector<std::string> Names(const AuditReport& r) {
  std::vector<std::string> out;
  for (const AuditCheck& c : r.checks) out.push_back(c.name);
  return out;
}

std::vector<std::string> Failed(const AuditReport& r) {
  std::vector<std::string> out;
  for (const AuditCheck& c : r.checks) {
    if (!c.ok) out.push_back(c.name);
  }
  return out;
}

std::string Detail(const AuditReport& r, const std::string& name) {
  for (const AuditCheck& c : r.checks) {
    if (c.name == name) return c.detail;
  }
  return "(no check " + name + ")";
}

std::string FlipBase64(const std::string& b64, size_t at) {
  std::string raw = *base::Base64Decode(b64);
  raw[at % raw.size()] ^= 0x01;
  return base::Base64Encode(raw);
}

TEST_F(AuditVerifyTest, ABundleOfADoneSimJobPassesEveryCheck) {
  std::string bundle = DoneJobBundle();
  AuditOptions with_adapter;
  with_adapter.adapter_digest = crypto::Sha256Id(adapter_ct_);
  AuditReport r = Verify(bundle, with_adapter);
  std::vector<std::string> names = kDoneJobChecks;
  names.push_back("adapter file");
  EXPECT_EQ(Names(r), names);
  EXPECT_EQ(Failed(r), std::vector<std::string>{}) << r.ToText();
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.simulated);
  EXPECT_TRUE(r.adapter_checked);
  EXPECT_EQ(r.job_id, job_);

  // Details an auditor reads, with the times taken from the signed log.
  EXPECT_EQ(Detail(r, "contract terms"),
            "valid from 2025-07-01T00:00:00Z to 2025-07-31T00:00:00Z; active at contract.activated "
            "entry 9 (2025-07-10T00:00:00Z) and at job.submitted entry 10 "
            "(2025-07-10T00:00:00Z) (times from the signed log)");
  EXPECT_EQ(Detail(r, "admission 1 evidence"),
            "sim evidence verifies against the pinned roots at 2025-07-10T00:00:00Z (the time of "
            "job.admission entry 12)");
  EXPECT_EQ(Detail(r, "admission 1 policy decision"),
            "the contract's worker policy re-evaluated on the claims: admit, as recorded");
  EXPECT_EQ(Detail(r, "adapter file"),
            "the file hashes to " + crypto::Sha256Id(adapter_ct_) + ", the job record's subject");
  EXPECT_EQ(Detail(r, "log inclusion"),
            "all 16 entries are in the signed tree (RFC 6962 inclusion proofs)");

  // The text: one line per check, the SIMULATED notice, the verdict.
  std::vector<std::string> lines = absl::StrSplit(r.ToText(), '\n');
  ASSERT_EQ(lines.size(), names.size() + 3);  // + notice, verdict, final ""
  EXPECT_EQ(lines[0].substr(0, 13), "ok   bundle: ");
  EXPECT_EQ(lines[names.size()], "SIMULATED: no hardware protection");
  EXPECT_EQ(lines[names.size() + 1], "verdict: OK, all 23 checks hold for job " + job_);

  ojson j = r.ToJson();
  EXPECT_EQ(j["job_id"], job_);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["simulated"], true);
  EXPECT_EQ(j["notice"], "SIMULATED: no hardware protection");
  EXPECT_EQ(j["adapter_checked"], true);
  ASSERT_EQ(j["checks"].size(), names.size());
  EXPECT_EQ(j["checks"][1].dump(), ojson({{"name", "checkpoint signature"},
                                          {"ok", true},
                                          {"detail", Detail(r, "checkpoint signature")}})
                                       .dump());
}

TEST_F(AuditVerifyTest, TheTermsAreCheckedAtTheLoggedTimesNotAtTheClock) {
  std::string bundle = DoneJobBundle();
  // Long after the contract expired, the bundle (exported now) still verifies: the contract was
  // active when the log says it was activated and the job submitted.
  h_.clock.Set(T("2026-01-01T00:00:00Z"));
  AuditReport r = Verify(Export(job_));
  EXPECT_TRUE(r.ok()) << r.ToText();
}

TEST_F(AuditVerifyTest, EvidenceIsReverifiedAgainstTheAuditorsOwnAnchors) {
  std::string bundle = DoneJobBundle();
  // An auditor who does not trust the simulation key the coordinator trusted.
  AuditReport r = VerifyBundle(bundle, Card(), attestation::TrustAnchors());
  EXPECT_EQ(Failed(r), (std::vector<std::string>{"admission 1 evidence", "admission 1 claims",
                                                 "admission 1 report data binding",
                                                 "admission 1 policy decision"}));
  // The sim verifier's own reason, for the evidence the bundle holds.
  auto b = base::ParseJsonStrict(bundle);
  auto doc = base::ParseJsonStrict((*b)["admissions"][0]["evidence_document"].get<std::string>());
  attestation::Evidence ev{"sim", *base::Base64Decode((*doc)["report"].get<std::string>()), "", ""};
  std::string reason =
      attestation::VerifyEvidence(ev, attestation::TrustAnchors(), absl::Now()).reasons.at(0);
  EXPECT_EQ(Detail(r, "admission 1 evidence"),
            "does not verify against the pinned roots at 2025-07-10T00:00:00Z (the time of "
            "job.admission entry 12): " +
                reason);
  EXPECT_EQ(Detail(r, "admission 1 policy decision"),
            "re-evaluated: reject (evidence: " + reason + "); recorded: admit");
  EXPECT_TRUE(r.simulated);  // recorded as a sim admission, whatever the auditor trusts
}

TEST_F(AuditVerifyTest, AnotherCoordinatorsCardFailsTheSignedParts) {
  std::string bundle = DoneJobBundle();
  CoordinatorCard other = Card();
  other.signing_key = crypto::Ed25519PrivateKey::Generate().public_key();
  AuditReport r = VerifyBundle(bundle, other, Anchors());
  // The submission was addressed to the coordinator whose card this is not.
  EXPECT_EQ(Failed(r),
            (std::vector<std::string>{"checkpoint signature", "log inclusion", "job submission",
                                      "job record coordinator signature"}));
  EXPECT_EQ(Detail(r, "log inclusion"), "no signed checkpoint to prove the entries into");
  other = Card();
  other.log_origin = "other.triad/log";
  r = VerifyBundle(bundle, other, Anchors());
  EXPECT_EQ(Detail(r, "checkpoint signature"),
            "the bundle's log_origin \"test.triad/log\" is not the card's \"other.triad/log\"");
}

// One part of the bundle changed; the checks that must catch it.
struct Tamper {
  std::string what;
  std::function<void(ojson&)> edit;
  std::vector<std::string> caught_by;
};

TEST_F(AuditVerifyTest, TamperingWithAnyPartFailsTheCheckThatCatchesIt) {
  std::string bundle = DoneJobBundle();
  ASSERT_TRUE(Verify(bundle).ok());
  const ojson original = ojson::parse(bundle);
  auto entry_of = [](ojson& b, const std::string& kind) -> ojson& {
    for (ojson& e : b["log"]["entries"]) {
      if (base::ParseJsonStrict(e["entry"].get<std::string>())->at("kind") == kind) return e;
    }
    ADD_FAILURE() << "no " << kind;
    return b;
  };
  auto envelope_payload = [](ojson& env, const std::function<void(std::string&)>& f) {
    std::string p = *base::Base64Decode(env["payload"].get<std::string>());
    f(p);
    env["payload"] = base::Base64Encode(p);
  };
  std::vector<Tamper> tampers = {
      {"a contract byte",
       [&](ojson& b) {
         envelope_payload(b["contract"]["envelope"], [](std::string& p) {
           size_t at = p.find("\"claims\"");
           ASSERT_NE(at, std::string::npos);
           p[at + 1] = 'k';  // the dataset's name, "klaims"
         });
       },
       {"contract signatures", "contract digest", "job record statement"}},
      {"a contract signature",
       [](ojson& b) {
         ojson& s = b["contract"]["envelope"]["signatures"][1]["sig"];
         s = FlipBase64(s.get<std::string>(), 5);
       },
       {"contract signatures", "contract digest"}},
      {"the submission's signature",
       [](ojson& b) {
         ojson& s = b["job"]["submission"]["signatures"][0]["sig"];
         s = FlipBase64(s.get<std::string>(), 0);
       },
       {"job submission"}},
      {"a claim",
       [](ojson& b) {
         b["admissions"][0]["claims"]["measurement"] = base::HexEncode(testing::Digest48("other"));
       },
       {"admission 1 claims"}},
      {"an evidence byte",
       [](ojson& b) {
         ojson& doc = b["admissions"][0]["evidence_document"];
         ojson d = ojson::parse(doc.get<std::string>());
         d["report"] = FlipBase64(d["report"].get<std::string>(), 0x50);  // the measurement
         doc = d.dump();
       },
       {"admission 1 evidence digest", "admission 1 evidence", "admission 1 claims",
        "admission 1 report data binding", "admission 1 policy decision"}},
      {"the recorded decision",
       [](ojson& b) { b["admissions"][0]["reasons"] = {"measurement not in the policy"}; },
       {"admission 1 policy decision"}},
      {"a proof node",
       [](ojson& b) {
         ojson& h = b["log"]["entries"][3]["inclusion_proof"][1];
         h = FlipBase64(h.get<std::string>(), 7);
       },
       {"log inclusion"}},
      {"an entry",
       [&](ojson& b) {
         ojson& e = entry_of(b, "job.submitted")["entry"];
         std::string t = e.get<std::string>();
         t.replace(t.find("\"submitter\":\"do\""), 16, "\"submitter\":\"mo\"");
         e = t;
       },
       {"log inclusion", "job history"}},
      {"an entry's index",
       [&](ojson& b) { entry_of(b, "job.done")["index"] = 40; },
       {"log inclusion"}},
      {"a missing entry",
       [&](ojson& b) {
         ojson& entries = b["log"]["entries"];
         entries.erase(entries.end() - 1);  // job.done
       },
       {"job history", "job state", "adapter digest"}},
      {"a key release left out",
       [&](ojson& b) {
         ojson& entries = b["log"]["entries"];
         for (auto it = entries.begin(); it != entries.end(); ++it) {
           if (base::ParseJsonStrict((*it)["entry"].get<std::string>())->at("kind") ==
               "key.released") {
             entries.erase(it);
             break;
           }
         }
       },
       {"job history", "key releases"}},
      {"a receipt's signature",
       [](ojson& b) {
         ojson& s = b["key_releases"][0]["receipt"]["signatures"][0]["sig"];
         s = FlipBase64(s.get<std::string>(), 3);
       },
       {"key releases"}},
      {"a receipt signed by another key than its owner's",
       [&](ojson& b) {
         std::string payload =
             *base::Base64Decode(b["key_releases"][0]["receipt"]["payload"].get<std::string>());
         crypto::DsseEnvelope env{verify::kReleasePayloadType, payload, {}};
         crypto::DsseSign(env, eve_.key);
         b["key_releases"][0]["receipt"] = ojson::parse(env.ToJson());
       },
       {"key releases"}},
      {"the checkpoint signature",
       [](ojson& b) {
         std::string note = b["log"]["checkpoint"];
         size_t at = note.rfind(' ') + 10;
         note[at] = note[at] == 'A' ? 'B' : 'A';
         b["log"]["checkpoint"] = note;
       },
       {"checkpoint signature", "log inclusion"}},
      {"the tree size",
       [](ojson& b) { b["log"]["tree_size"] = b["log"]["tree_size"].get<uint64_t>() - 1; },
       {"checkpoint signature"}},
      {"the job record's statement",
       [&](ojson& b) {
         envelope_payload(b["job_record"]["worker"], [](std::string& p) {
           p.replace(p.find("\"steps\":10"), 10, "\"steps\":99");
         });
       },
       {"job record worker signature", "job record coordinator signature", "job record statement",
        "adapter digest"}},
      {"the coordinator's record signature",
       [](ojson& b) {
         ojson& s = b["job_record"]["coordinator"]["signatures"][0]["sig"];
         s = FlipBase64(s.get<std::string>(), 63);
       },
       {"job record coordinator signature"}},
      {"the job's output id",
       [](ojson& b) { b["job"]["output_id"] = crypto::Sha256Id("another adapter"); },
       {"adapter digest"}},
      {"a key release",
       [](ojson& b) {
         b["key_releases"][1]["recipient"] =
             crypto::age::X25519Identity::Generate().recipient().ToString();
       },
       {"key releases"}},
  };
  for (const Tamper& t : tampers) {
    SCOPED_TRACE(t.what);
    ojson b = original;
    t.edit(b);
    AuditReport r = Verify(b.dump(2));
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(Failed(r), t.caught_by) << r.ToText();
    EXPECT_EQ(Names(r), kDoneJobChecks);
  }

  // The adapter file.
  AuditOptions o;
  o.adapter_digest = crypto::Sha256Id(adapter_ct_ + "x");
  AuditReport r = Verify(bundle, o);
  EXPECT_EQ(Failed(r), std::vector<std::string>{"adapter file"});
  EXPECT_EQ(Detail(r, "adapter file"), "the file hashes to " + *o.adapter_digest +
                                           "; the job record's subject is " +
                                           crypto::Sha256Id(adapter_ct_));
}

TEST_F(AuditVerifyTest, TamperedDetailsNameWhatDiffers) {
  std::string bundle = DoneJobBundle();
  ojson b = ojson::parse(bundle);
  b["log"]["tree_size"] = b["log"]["tree_size"].get<uint64_t>() + 1;
  EXPECT_EQ(
      Detail(Verify(b.dump()), "checkpoint signature"),
      absl::StrCat("the bundle says tree_size ", b["log"]["tree_size"].get<uint64_t>(),
                   ", the signed checkpoint says ", b["log"]["tree_size"].get<uint64_t>() - 1));
  b = ojson::parse(bundle);
  b["job"]["output_id"] = crypto::Sha256Id("x");
  EXPECT_EQ(Detail(Verify(b.dump()), "adapter digest"),
            "the record's subject is " + crypto::Sha256Id(adapter_ct_) +
                "; the bundle's job.output_id is " + crypto::Sha256Id("x"));
  b = ojson::parse(bundle);
  b["admissions"][0]["evidence_digest"] = crypto::Sha256Id("x");
  EXPECT_EQ(Detail(Verify(b.dump()), "admission 1 evidence digest"),
            "the evidence document hashes to " + attest_.evidence_digest() +
                "; the bundle records " + crypto::Sha256Id("x"));
}

TEST_F(AuditVerifyTest, AJobThatIsNotDoneFailsWithReasonsNotSilence) {
  SetUpContract();
  job_ = NewJob();
  Admit("w1", eph_);
  AuditReport r = Verify(Export(job_));
  EXPECT_EQ(Failed(r), (std::vector<std::string>{"job state", "job record worker signature",
                                                 "job record coordinator signature",
                                                 "job record statement", "adapter digest"}));
  EXPECT_EQ(Detail(r, "job state"),
            "job " + job_ + " is admitted: it has no output or job record to verify");
  EXPECT_EQ(Detail(r, "job record worker signature"),
            "the bundle has no job record (job " + job_ + " is admitted)");
  EXPECT_TRUE(r.simulated);
  EXPECT_EQ(r.ToText().substr(r.ToText().rfind("verdict")),
            "verdict: FAIL, 5 of 22 checks failed for job " + job_ + "\n");

  // A job nobody attested for yet has no admission: that fails too.
  job_ = NewJob();
  r = Verify(Export(job_));
  EXPECT_EQ(Detail(r, "admissions"),
            "the bundle holds no admission: no worker was ever admitted to this job");
  EXPECT_FALSE(r.simulated);
}

TEST_F(AuditVerifyTest, ARejectedAttemptIsReplayedAsARejection) {
  SetUpContract();
  job_ = NewJob();
  pb::Assignment a = MustPoll("w1");
  Eph bad;
  pb::AttestReply reply;
  AttestOptions o;
  o.measurement = testing::Digest48("tampered-worker");
  ASSERT_TRUE(Attest(a, "w1", bad, &reply, o).ok());
  ASSERT_FALSE(reply.admitted());
  auto [a2, admitted] = Admit("w2", eph_);
  ASSERT_EQ(Keys(job_, eph_).size(), 2u);
  adapter_ct_ = Encrypt("adapter", {mo_.card.age_recipient, do_.card.age_recipient});
  ASSERT_TRUE(Deliver(job_, eph_.key, Record(job_, adapter_ct_, eph_, admitted), adapter_ct_).ok());
  AuditReport r = Verify(Export(job_));
  EXPECT_TRUE(r.ok()) << r.ToText();
  EXPECT_EQ(Detail(r, "admission 1 policy decision"),
            "the contract's worker policy re-evaluated on the claims: reject (measurement " +
                base::HexEncode(o.measurement) + " not in [" + base::HexEncode(GoodMeasurement()) +
                "]), as recorded");
  EXPECT_EQ(Detail(r, "admission 2 policy decision"),
            "the contract's worker policy re-evaluated on the claims: admit, as recorded");

  // A key release to the rejected worker's recipient is caught.
  ojson b = ojson::parse(Export(job_));
  b["key_releases"][0]["recipient"] = bad.id.recipient().ToString();
  EXPECT_EQ(Failed(Verify(b.dump())), std::vector<std::string>{"key releases"});
}

// Issue 13, "checks that no test would miss today": every other failing case reaches the binding
// check with evidence that does not verify. Here the coordinator, with its own key and its own
// store, logs an admitted attempt whose evidence is valid (signed by the trusted sim key, the
// measurement the policy admits) but bound to other keys than the ones the admission names. The
// attempt goes nowhere (its worker polls again) and an honest attempt completes the job, so
// everything else in the bundle holds: exactly the binding check fails, with its message, and the
// decision check, which re-evaluates the admission from the evidence, finds it should have been a
// rejection. (Replacing the verifier's CheckBinding by OK makes this test fail.)
TEST_F(AuditVerifyTest, AnAdmissionWhoseValidEvidenceIsBoundToOtherKeysFailsTheBindingCheck) {
  SetUpContract();
  job_ = NewJob();
  pb::Assignment a = MustPoll("w1");
  Eph named, bound;  // the keys the admission names, and the keys the evidence binds
  const crypto::Ed25519PublicKey bound_key = bound.key.public_key();
  const crypto::age::X25519Recipient named_recipient = named.id.recipient();
  const crypto::age::X25519Recipient bound_recipient = bound.id.recipient();
  pb::AttestRequest req = ::triad::testing::SimAttestRequest(
      {job_, "w1", a.nonce(), &cp_.key, &named.key, &named_recipient, &bound_key,
       &bound_recipient, &h_.sim_key, GoodMeasurement(), false, h_.clock.Now(), h_.fingerprint()});
  attestation::Evidence ev;
  ev.tee = "sim";
  ev.report = req.evidence().report();
  attestation::Verdict verdict = attestation::VerifyEvidence(ev, Anchors(), h_.clock.Now());
  ASSERT_TRUE(verdict.valid);  // valid evidence, policy-conforming claims
  ASSERT_TRUE(contracts::Evaluate(MakeContract().worker_policy, verdict.claims).admit);
  {
    // What Coordinator::Attest writes for an admission, without its binding check.
    const absl::Time now = h_.clock.Now();
    const std::string doc = EvidenceDocument(ev);
    const nlohmann::ordered_json claims = verdict.claims.ToJson();
    auto txn = h_.store().Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->ConsumeNonce(a.nonce(), job_, "w1").ok());
    auto attesting = txn->TransitionJob(job_, storage::JobTransition::To(storage::JobState::kAttesting)
                                                  .From(storage::JobState::kAssigned)
                                                  .ByWorker("w1"));
    ASSERT_TRUE(attesting.ok()) << attesting.status();
    ASSERT_TRUE(txn->RecordJobKeys({job_, 0, "w1", named_recipient.ToString(),
                                    named.key.public_key().raw(), {}})
                    .ok());
    storage::Admission adm;
    adm.job_id = job_;
    adm.worker_id = "w1";
    adm.evidence = doc;
    adm.evidence_digest = crypto::Sha256Id(doc);
    adm.claims_json = claims.dump();
    adm.admitted = true;
    adm.reasons_json = "[]";
    adm.simulated = true;
    ASSERT_TRUE(txn->RecordAdmission(adm).ok());
    ASSERT_TRUE(internal::AddLog(*txn, job_, "job.admission", now,
                                 {{"job_id", job_},
                                  {"attempt", attesting->attempt},
                                  {"worker_id", "w1"},
                                  {"tee", "sim"},
                                  {"evidence_digest", adm.evidence_digest},
                                  {"claims", claims},
                                  {"decision", "admit"},
                                  {"reasons", nlohmann::json::array()},
                                  {"simulated", true},
                                  {"ed25519_public_key",
                                   base::Base64Encode(named.key.public_key().raw())},
                                  {"age_recipient", named_recipient.ToString()},
                                  {"nonce", base::HexEncode(a.nonce())}})
                    .ok());
    ASSERT_TRUE(
        txn->TransitionJob(job_, storage::JobTransition::To(storage::JobState::kAdmitted)).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  // The keyholders check the binding themselves: they release nothing to this attempt.
  for (const keyholder::Answer& answer : ServeKeyholders()) EXPECT_FALSE(answer.release);
  EXPECT_TRUE(h_.store().ListKeyReleases(job_)->empty());
  // The worker polls again (the attempt is requeued); an honest attempt completes the job.
  auto [a2, admitted] = Admit("w1", eph_);
  ASSERT_EQ(Keys(job_, eph_).size(), 2u);
  adapter_ct_ = Encrypt("adapter", {mo_.card.age_recipient, do_.card.age_recipient});
  ASSERT_TRUE(Deliver(job_, eph_.key, Record(job_, adapter_ct_, eph_, admitted), adapter_ct_).ok());

  AuditReport r = Verify(Export(job_));
  EXPECT_EQ(Failed(r), (std::vector<std::string>{"admission 1 report data binding",
                                                 "admission 1 policy decision"}))
      << r.ToText();
  const std::string expected = *attestation::ExpectedReportData(
      {a.nonce(), job_, named.key.public_key(), named_recipient});
  const std::string carried =
      *attestation::ExpectedReportData({a.nonce(), job_, bound_key, bound_recipient});
  const std::string binding =
      "report data does not bind this admission (nonce, job id, Ed25519 key, age recipient): "
      "expected " +
      base::HexEncode(expected) + ", evidence carries " + base::HexEncode(carried);
  EXPECT_EQ(Detail(r, "admission 1 report data binding"), binding);
  EXPECT_EQ(Detail(r, "admission 1 policy decision"),
            "re-evaluated: reject (" + binding + "); recorded: admit");
  // Everything about the evidence itself holds; so does the honest second attempt.
  for (const char* ok : {"admission 1 evidence digest", "admission 1 evidence",
                         "admission 1 claims", "admission 2 report data binding",
                         "admission 2 policy decision", "key releases", "key refusals"}) {
    EXPECT_NE(Detail(r, ok).substr(0, 3), "(no") << ok;
  }
}

// A revocation is in the bundle (the contract's chain, which the job's terminal entry names), so
// it cannot be left out; the job it ended fails with the revocation as its reason.
TEST_F(AuditVerifyTest, ARevocationIsInTheBundleAndCannotBeLeftOut) {
  SetUpContract();
  job_ = NewJob();
  Admit("w1", eph_);
  ASSERT_EQ(Keys(job_, eph_).size(), 2u);
  ASSERT_TRUE(Progress(job_, eph_.key, 2, 10).ok());
  grpc::ClientContext ctx;
  pb::ContractReply revoked;
  ASSERT_TRUE(h_.contracts
                  ->RevokeContract(&ctx,
                                   h_.Signed("revoke-contract",
                                             {{"contract_id", "c-0001"}, {"reason", "withdrawn"}},
                                             mo_.key),
                                   &revoked)
                  .ok());
  const std::string bundle = Export(job_);
  AuditReport r = Verify(bundle);
  EXPECT_EQ(Failed(r), (std::vector<std::string>{"job state", "job record worker signature",
                                                 "job record coordinator signature",
                                                 "job record statement", "adapter digest"}))
      << r.ToText();
  EXPECT_EQ(Detail(r, "job state"), "job " + job_ +
                                        " is failed (contract c-0001 was revoked by mo: withdrawn): "
                                        "it has no output or job record to verify");
  EXPECT_TRUE(absl::StrContains(Detail(r, "contract history"), "; revoked at contract.revoked "))
      << Detail(r, "contract history");
  EXPECT_TRUE(absl::StrContains(Detail(r, "job history"), "(terminal)"))
      << Detail(r, "job history");
  // The two releases came before the revocation.
  EXPECT_TRUE(absl::StartsWith(Detail(r, "key releases"), "2 key release(s)"))
      << Detail(r, "key releases");

  // Left out of the bundle, the revocation is missed by the contract's chain.
  ojson b = ojson::parse(bundle);
  ojson& entries = b["log"]["entries"];
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    if (base::ParseJsonStrict((*it)["entry"].get<std::string>())->at("kind") ==
        "contract.revoked") {
      entries.erase(it);
      break;
    }
  }
  AuditReport cut = Verify(b.dump());
  EXPECT_EQ(Failed(cut), (std::vector<std::string>{"contract history", "job state",
                                                   "job record worker signature",
                                                   "job record coordinator signature",
                                                   "job record statement", "adapter digest"}))
      << cut.ToText();
  EXPECT_TRUE(absl::StrContains(Detail(cut, "contract history"), ", which is not in the bundle"))
      << Detail(cut, "contract history");
}

TEST_F(AuditVerifyTest, MalformedBundlesFailTheFirstCheckAlone) {
  std::string bundle = DoneJobBundle();
  struct Case {
    std::string text;
    std::string reason;
  } cases[] = {
      {"not json", "JSON: syntax error at byte 2"},
      {"{\"type\": 1, \"type\": 2}", "JSON: duplicate key \"type\""},
      {"[]", "bundle is not an object"},
      {[&] {
         ojson b = ojson::parse(bundle);
         b["extra"] = 1;
         return b.dump();
       }(),
       "bundle has an unknown field \"extra\""},
      {[&] {
         ojson b = ojson::parse(bundle);
         b["type"] = "triad.audit-bundle/v2";
         return b.dump();
       }(),
       "bundle.type is \"triad.audit-bundle/v2\", not triad.audit-bundle/v1"},
      {[&] {
         ojson b = ojson::parse(bundle);
         b["log"]["entries"][2]["index"] = 0;
         return b.dump();
       }(),
       "bundle.log.entries[2].index is not above the previous entry's (log order)"},
      {[&] {
         ojson b = ojson::parse(bundle);
         b["log"]["entries"][0]["entry"] = "[1]";
         return b.dump();
       }(),
       "bundle.log.entries[0].entry is not a triad.log/v1 object with a kind"},
      {[&] {
         ojson b = ojson::parse(bundle);
         b["admissions"][0].erase("claims");
         return b.dump();
       }(),
       "bundle.admissions[0].claims is missing"},
  };
  for (const Case& c : cases) {
    AuditReport r = Verify(c.text);
    ASSERT_EQ(r.checks.size(), 1u) << c.text.substr(0, 100);
    EXPECT_EQ(r.checks[0].name, "bundle");
    EXPECT_FALSE(r.checks[0].ok);
    EXPECT_EQ(r.checks[0].detail, c.reason + "; nothing else can be checked in this file");
    EXPECT_EQ(r.job_id, "");
    EXPECT_FALSE(r.ok());
  }
  AuditReport empty;
  EXPECT_FALSE(empty.ok());
}

TEST_F(AuditVerifyTest, TheTextNeverCarriesControlCharactersFromTheBundle) {
  // A hostile bundle whose text would move the terminal's cursor up (to overwrite a FAIL line).
  AuditReport r =
      Verify(std::string("{\"type\": \"\\u001b[1A\\u009bx\", \"job_id\": \"\", \"exported_at\": "
                         "\"\", \"log_origin\": \"\", \"contract\": 1, \"job\": 1, \"job_record\": "
                         "null, \"admissions\": [], \"key_releases\": [], \"key_refusals\": [], "
                         "\"log\": 1}"));
  EXPECT_EQ(r.ToText(),
            "FAIL bundle: bundle.type is \"\\x1b[1A\\x9bx\", not triad.audit-bundle/v1; nothing "
            "else can be checked in this file\nverdict: FAIL, 1 of 1 checks failed\n");
  EXPECT_EQ(r.checks[0].detail.substr(0, 18), "bundle.type is \"\x1b[");  // the JSON keeps it
}

TEST_F(AuditVerifyTest, CheckpointsExtendOnlyByConsistencyProofs) {
  RegisterAll();
  auto checkpoint = [&] {
    grpc::ClientContext ctx;
    pb::CheckpointReply reply;
    EXPECT_TRUE(h_.audit->GetCheckpoint(&ctx, pb::CheckpointRequest(), &reply).ok());
    auto cp = OpenCardCheckpoint(Card(), reply.signed_note());
    EXPECT_TRUE(cp.ok()) << cp.status();
    return *cp;
  };
  auto proof = [&](uint64_t from, uint64_t to) {
    grpc::ClientContext ctx;
    pb::ConsistencyRequest req;
    req.set_from_size(from);
    req.set_to_size(to);
    pb::ProofReply reply;
    EXPECT_TRUE(h_.audit->GetConsistencyProof(&ctx, req, &reply).ok());
    return std::vector<std::string>(reply.hashes().begin(), reply.hashes().end());
  };
  crypto::Checkpoint old = checkpoint();
  ASSERT_EQ(old.size, 6u);
  SubmitContract(SignedContract(MakeContract(), {&mo_, &do_, &cp_}));
  crypto::Checkpoint now = checkpoint();
  ASSERT_EQ(now.size, 10u);
  EXPECT_TRUE(CheckCheckpointExtends(old, now, proof(6, 10)).ok());
  EXPECT_TRUE(CheckCheckpointExtends(now, now, {}).ok());
  crypto::Checkpoint empty{"test.triad/log", 0, crypto::merkle::EmptyRoot(), {}};
  EXPECT_TRUE(CheckCheckpointExtends(empty, now, {}).ok());

  absl::Status st = CheckCheckpointExtends(now, old, {});
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(),
            "not an extension: the coordinator shows tree size 6, smaller than the saved 10");
  crypto::Checkpoint forked = now;
  forked.root_hash = crypto::Sha256("another log");
  st = CheckCheckpointExtends(now, forked, {});
  EXPECT_EQ(st.message(), "not an extension: the coordinator shows root " +
                              base::Base64Encode(forked.root_hash) +
                              " for tree size 10, the saved checkpoint has root " +
                              base::Base64Encode(now.root_hash) + " (two views of one log)");
  // A saved tree of 6 that is not the prefix of the shown tree of 10.
  crypto::Checkpoint other_past = old;
  other_past.root_hash = crypto::Sha256("another past");
  st = CheckCheckpointExtends(other_past, now, proof(6, 10));
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message().substr(0, 68),
            "not an extension: consistency proof from tree size 6 to 10: consiste");
  std::vector<std::string> bad = proof(6, 10);
  bad[0][0] ^= 1;
  EXPECT_FALSE(CheckCheckpointExtends(old, now, bad).ok());
}

}  // namespace
}  // namespace triad::coordinator
