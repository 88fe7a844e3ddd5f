// Witnesses in the auditor's checks (verify/audit_verify.h: "saved view", "witnesses", "admission
// times"): a party of the contract cosigns the coordinator's checkpoints (C2SP tlog-cosignature),
// the in-process coordinator keeps the cosignatures and exports bundles proven into a witnessed
// checkpoint; each check holds on the honest bundle and fails, with its reason, on the bundle a
// lying coordinator would hand out (a forged cosignature, a view the witness never saw, an
// admission dated outside the witnessed window).
#include <string>

#include "absl/strings/match.h"
#include "crypto/note.h"
#include "tests/verify/verify_fixture.h"

namespace triad::coordinator {
namespace {

using verify::AuditOptions;
using verify::AuditReport;

std::vector<std::string> Failed(const AuditReport& r) {
  std::vector<std::string> out;
  for (const verify::AuditCheck& c : r.checks) {
    if (!c.ok) out.push_back(c.name);
  }
  return out;
}

std::string Detail(const AuditReport& r, const std::string& name) {
  for (const verify::AuditCheck& c : r.checks) {
    if (c.name == name) return c.detail;
  }
  return "(no check " + name + ")";
}

class WitnessVerifyTest : public AuditVerifyTest {
 protected:
  // `who` cosigns the coordinator's newest checkpoint, dated `at` by its own clock; the
  // coordinator keeps it. Returns the checkpoint note as the witness saw it.
  std::string Cosign(const Party& who, absl::Time at) {
    absl::StatusOr<std::string> note = h_.coordinator().CheckpointWithCosignatures();
    EXPECT_TRUE(note.ok()) << note.status();
    absl::StatusOr<crypto::Note> parsed = crypto::ParseNote(*note);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    absl::StatusOr<std::string> line =
        crypto::CosignatureLine(who.card.name, who.key, parsed->text, at);
    EXPECT_TRUE(line.ok()) << line.status();
    absl::StatusOr<std::string> cosigned = crypto::AddSignatureLine(*note, *line);
    EXPECT_TRUE(cosigned.ok()) << cosigned.status();
    absl::StatusOr<int> kept = h_.coordinator().AddCosignatures(*cosigned);
    EXPECT_TRUE(kept.ok()) << kept.status();
    EXPECT_EQ(kept.value_or(0), 1);
    return *note;
  }

  // The bundle, exported with `body` (beyond the job id) by the data owner.
  std::string ExportWith(const std::string& job, nlohmann::json body) {
    body["job_id"] = job;
    pb::ExportReply reply;
    grpc::ClientContext ctx;
    pb::ExportRequest req;
    req.set_job_id(job);
    *req.mutable_request() = h_.Signed("export-bundle", body, do_.key);
    grpc::Status st = h_.audit->ExportBundle(&ctx, req, &reply);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return reply.bundle_json();
  }

  grpc::Status TryExport(const std::string& job, nlohmann::json body) {
    body["job_id"] = job;
    pb::ExportReply reply;
    grpc::ClientContext ctx;
    pb::ExportRequest req;
    req.set_job_id(job);
    *req.mutable_request() = h_.Signed("export-bundle", body, do_.key);
    return h_.audit->ExportBundle(&ctx, req, &reply);
  }

  AuditOptions Witnessed(size_t min = 1) const {
    AuditOptions o;
    o.witnesses.push_back({mo_.card.name, mo_.card.signing_key});
    o.min_witnesses = min;
    return o;
  }

  // Plays a job to the end with the model owner witnessing before it (at `before`) and after it
  // (at `after`); returns the bundle exported "witnessed".
  std::string WitnessedJob(absl::Duration before, absl::Duration after) {
    SetUpContract();
    saved_ = Cosign(mo_, h_.clock.Now() + before);
    job_ = NewJob();
    auto [a, reply] = Admit("w1", eph_);
    EXPECT_EQ(Keys(job_, eph_).size(), 2u);
    adapter_ct_ = Encrypt("adapter tar", {mo_.card.age_recipient, do_.card.age_recipient});
    grpc::Status st = Deliver(job_, eph_.key, Record(job_, adapter_ct_, eph_, reply), adapter_ct_);
    EXPECT_TRUE(st.ok()) << st.error_message();
    Cosign(mo_, h_.clock.Now() + after);
    return ExportWith(job_, {{"witnessed", 1}});
  }

  std::string saved_;  // the checkpoint the witness saw before the job
};

TEST_F(WitnessVerifyTest, AWitnessedBundleHoldsAndBoundsTheAdmissionTime) {
  std::string bundle = WitnessedJob(absl::Seconds(0), absl::Seconds(30));
  AuditOptions o = Witnessed();
  o.saved_checkpoint = saved_;
  // The saved view is older than the bundle's checkpoint: without a proof from it, it fails.
  AuditReport r = Verify(bundle, o);
  EXPECT_EQ(Failed(r), std::vector<std::string>{"saved view"}) << r.ToText();
  EXPECT_TRUE(absl::StrContains(Detail(r, "saved view"),
                                "the bundle carries no consistency proof between its tree size "))
      << Detail(r, "saved view");
  // Exported with the saved size, as `audit export --state` asks: everything holds.
  absl::StatusOr<crypto::Checkpoint> seen = verify::OpenCardCheckpoint(Card(), saved_);
  ASSERT_TRUE(seen.ok());
  bundle = ExportWith(job_, {{"witnessed", 1}, {"consistency_from", {seen->size}}});
  r = Verify(bundle, o);
  EXPECT_EQ(Failed(r), std::vector<std::string>{}) << r.ToText();
  EXPECT_EQ(r.checks.size(), 25u);
  EXPECT_EQ(Detail(r, "witnesses"),
            "cosigned by mo at 2025-07-10T00:00:30Z (1 of 1 given, 1 required)");
  EXPECT_TRUE(absl::StartsWith(Detail(r, "admission times"), "job.admission entry "))
      << Detail(r, "admission times");
  EXPECT_TRUE(absl::StrContains(Detail(r, "admission times"),
                                " within [2025-07-10T00:00:00Z, 2025-07-10T00:00:30Z] (witnessed; "
                                "5m of clock skew allowed)"))
      << Detail(r, "admission times");
  EXPECT_TRUE(absl::StrContains(Detail(r, "saved view"),
                                absl::StrCat(") extends the saved tree size ", seen->size)))
      << Detail(r, "saved view");
  // Without witness options the bundle gets the usual checks only.
  EXPECT_EQ(Verify(bundle).checks.size(), 22u);
}

TEST_F(WitnessVerifyTest, AForgedOrMissingCosignatureFailsWitnesses) {
  std::string bundle = WitnessedJob(absl::Seconds(0), absl::Seconds(30));
  // Another witness the auditor requires never cosigned.
  Party other = testing::MakeParty("other-witness", contracts::Role::kAuditor);
  AuditOptions two = Witnessed(2);
  two.witnesses.push_back({other.card.name, other.card.signing_key});
  AuditReport r = Verify(bundle, two);
  EXPECT_EQ(Failed(r), (std::vector<std::string>{"witnesses", "admission times"})) << r.ToText();
  EXPECT_TRUE(absl::StartsWith(Detail(r, "witnesses"),
                               "1 of the given witnesses cosigned the bundle's checkpoint"))
      << Detail(r, "witnesses");

  // The witness's line altered in the bundle (its timestamp): the coordinator's own signature
  // still holds, the cosignature does not.
  nlohmann::ordered_json b = nlohmann::ordered_json::parse(bundle);
  std::string note = b["log"]["checkpoint"];
  absl::StatusOr<crypto::Note> parsed = crypto::ParseNote(note);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->signatures.size(), 2u);
  std::string forged_line = *crypto::CosignatureLine(
      mo_.card.name, crypto::Ed25519PrivateKey::Generate(), parsed->text, h_.clock.Now());
  // Same name and key id as mo's (the id is over mo's public key), someone else's signature.
  absl::StatusOr<crypto::Note> fl = crypto::ParseNote(parsed->text + "\n" + forged_line);
  ASSERT_TRUE(fl.ok()) << fl.status();
  std::string sig = fl->signatures[0].signature;
  size_t at = note.find("\n— mo ");
  ASSERT_NE(at, std::string::npos) << note;
  uint32_t id = crypto::CosignatureKeyId(mo_.card.name, mo_.card.signing_key);
  std::string raw = {static_cast<char>(id >> 24), static_cast<char>(id >> 16),
                     static_cast<char>(id >> 8), static_cast<char>(id)};
  std::string replaced = note.substr(0, at) + "\n— mo " + base::Base64Encode(raw + sig) + "\n";
  b["log"]["checkpoint"] = replaced;
  r = Verify(b.dump(), Witnessed());
  EXPECT_EQ(Failed(r), (std::vector<std::string>{"witnesses", "admission times"})) << r.ToText();
  EXPECT_EQ(Detail(r, "witnesses"), "cosignature by mo does not verify");
}

// A coordinator that backdates an admission (to verify evidence at a time it was still valid)
// logs it before a time the witnesses already vouched for: the lower bound catches it.
TEST_F(WitnessVerifyTest, AnAdmissionDatedBeforeAWitnessedCheckpointIsBackdated) {
  SetUpContract();
  // The witness's clock says an hour later than the coordinator's at the checkpoint before the
  // admission: the coordinator's clock (which dates the admission) was set back.
  h_.clock.Advance(absl::Hours(1));
  Cosign(mo_, h_.clock.Now());
  h_.clock.Advance(-absl::Hours(1));
  job_ = NewJob();
  auto [a, reply] = Admit("w1", eph_);
  EXPECT_EQ(Keys(job_, eph_).size(), 2u);
  adapter_ct_ = Encrypt("adapter tar", {mo_.card.age_recipient, do_.card.age_recipient});
  ASSERT_TRUE(Deliver(job_, eph_.key, Record(job_, adapter_ct_, eph_, reply), adapter_ct_).ok());
  h_.clock.Advance(absl::Hours(1));
  Cosign(mo_, h_.clock.Now());
  h_.clock.Advance(-absl::Hours(1));
  AuditReport r = Verify(ExportWith(job_, {{"witnessed", 1}}), Witnessed());
  EXPECT_EQ(Failed(r), std::vector<std::string>{"admission times"}) << r.ToText();
  EXPECT_TRUE(absl::StrContains(Detail(r, "admission times"),
                                " is dated before the witnesses cosigned a checkpoint that does "
                                "not hold it yet (2025-07-10T01:00:00Z): backdated"))
      << Detail(r, "admission times");
}

// And one dated after the witnesses cosigned a checkpoint that already holds it (a clock set
// forward).
TEST_F(WitnessVerifyTest, AnAdmissionDatedAfterAWitnessedCheckpointHoldingItFails) {
  std::string bundle = WitnessedJob(absl::Seconds(0), -absl::Hours(1));
  AuditReport r = Verify(bundle, Witnessed());
  EXPECT_EQ(Failed(r), std::vector<std::string>{"admission times"}) << r.ToText();
  EXPECT_TRUE(absl::StrContains(Detail(r, "admission times"),
                                " is dated after the witnesses cosigned a checkpoint that holds it "
                                "(2025-07-09T23:00:00Z)"))
      << Detail(r, "admission times");
}

TEST_F(WitnessVerifyTest, AnAdmissionWithNoWitnessedCheckpointBeforeItIsUnbounded) {
  std::string bundle = WitnessedJob(absl::Seconds(0), absl::Seconds(30));
  EXPECT_EQ(Failed(Verify(bundle, Witnessed())), std::vector<std::string>{});
  // The coordinator leaves out the checkpoint the witness cosigned before the admission.
  nlohmann::ordered_json b = nlohmann::ordered_json::parse(bundle);
  ASSERT_EQ(b["log"]["witnessed_before"].size(), 1u);
  b["log"]["witnessed_before"] = nlohmann::ordered_json::array();
  AuditReport r = Verify(b.dump(), Witnessed());
  EXPECT_EQ(Failed(r), std::vector<std::string>{"admission times"}) << r.ToText();
  r = Verify(b.dump(), Witnessed());
  EXPECT_TRUE(absl::StrContains(Detail(r, "admission times"),
                                ": no checkpoint before it is cosigned by the given witnesses"))
      << Detail(r, "admission times");
}

TEST_F(WitnessVerifyTest, AWitnessedExportWaitsForACheckpointThatHoldsTheJob) {
  SetUpContract();
  Cosign(mo_, h_.clock.Now());
  job_ = NewJob();
  // The witness has cosigned only a checkpoint from before the job.
  grpc::Status st = TryExport(job_, {{"witnessed", 1}});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StartsWith(
      st.error_message(), "no checkpoint with 1 cosignature(s) holds every entry of job " + job_))
      << st.error_message();
  st = TryExport(job_, {{"witnessed", 0}});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "request body: witnessed is not a count from 1 to 16");
  Cosign(mo_, h_.clock.Now());
  EXPECT_TRUE(TryExport(job_, {{"witnessed", 1}}).ok());
}

}  // namespace
}  // namespace triad::coordinator
