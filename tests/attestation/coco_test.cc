// The coco attester against a fake CoCo attestation agent on loopback that replays recorded real
// evidence (the attestation agent's JSON from confidential-containers/trustee), and the init-data
// claims on the verifier side.
#include "attestation/coco.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "attestation/evidence_verifier.h"
#include "attestation/internal/snp_report.h"
#include "attestation/roots.h"
#include "base/encoding.h"
#include "gtest/gtest.h"
#include "measure/coco.h"
#include "nlohmann/json.hpp"
#include "tests/attestation/fake_coco_agent.h"
#include "tests/testing/testing.h"

namespace triad::attestation {
namespace {

using Json = nlohmann::json;
using cocotest::AskedFor;
using cocotest::Echo;
using cocotest::FakeAgent;
using cocotest::Http;
using cocotest::Pin;
using cocotest::RecordedSnp;

class CocoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    initdata_ = measure::MakeInitData(Pin());
    testing::WriteTestFile(dir_.File("initdata.toml"), initdata_);
    options_.initdata_file = dir_.File("initdata.toml");
    options_.timeout = absl::Milliseconds(500);
  }
  testing::TempDir dir_;
  std::string initdata_;
  CocoAttesterOptions options_;
};

// The AA's JSON, turned back into the binary report, verifies against AMD's Genoa root: the
// conversion is byte-exact (the report signature covers every field).
TEST_F(CocoTest, RecordedAgentEvidenceVerifies) {
  absl::StatusOr<Evidence> ev = EvidenceFromCocoAgent(RecordedSnp());
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->tee, "sev-snp");
  ASSERT_EQ(ev->report.size(), 0x4A0u);
  absl::StatusOr<TrustAnchors> anchors = TrustAnchors::LoadDir(DefaultRootsDir());
  ASSERT_TRUE(anchors.ok()) << anchors.status();
  Verdict v = VerifyEvidence(*ev, *anchors, absl::FromUnixSeconds(1760000000));  // 2025-10-09
  EXPECT_TRUE(v.valid) << (v.reasons.empty() ? "" : v.reasons[0]);
  EXPECT_EQ(v.claims.snp->product, "Genoa");
  EXPECT_EQ(base::HexEncode(v.claims.measurement).substr(0, 16), "6a6519d757e68c2e");

  // One flipped measurement byte in the JSON: the signature no longer verifies.
  Json j = Json::parse(RecordedSnp());
  j["attestation_report"]["measurement"][0] = 107;
  absl::StatusOr<Evidence> bad = EvidenceFromCocoAgent(j.dump());
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(VerifyEvidence(*bad, *anchors, absl::FromUnixSeconds(1760000000)).valid);
}

TEST_F(CocoTest, AttestsThroughTheAgentWithTheBindingAsReportData) {
  FakeAgent agent([&](const std::string& t) { return Http(200, Echo(AskedFor(t), initdata_)); });
  options_.agent = agent.url();
  absl::StatusOr<std::unique_ptr<Attester>> a = NewCocoAttester(options_);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->tee(), "sev-snp");
  const std::string binding(64, '\x7e');
  absl::StatusOr<Evidence> ev = (*a)->Attest(binding);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->initdata, initdata_);
  EXPECT_EQ(internal::ParseSnpReport(ev->report)->report_data, binding);
  // base64url: '-' where standard base64 has '+'.
  std::string expected = "/aa/evidence?runtime_data=";
  for (int i = 0; i < 21; ++i) expected += "fn5-";
  EXPECT_EQ(agent.last_target(), expected + "fg&encoding=base64");
  EXPECT_EQ(agent.requests(), 2);  // the probe, then the attestation
}

// Each way the agent can fail stops the worker at the attester with its reason.
TEST_F(CocoTest, ReplayedEvidenceForOtherRuntimeDataIsRefused) {
  FakeAgent agent([&](const std::string&) { return Http(200, RecordedSnp()); });
  options_.agent = agent.url();
  absl::StatusOr<std::unique_ptr<Attester>> a = NewCocoAttester(options_);
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(absl::StartsWith(
      a.status().message(),
      "--tee coco: coco: the attestation agent returned evidence for other runtime data (report "
      "data 7e732088"))
      << a.status();
}

TEST_F(CocoTest, GarbageIsRefused) {
  FakeAgent agent([&](const std::string&) { return Http(200, "<html>not evidence</html>"); });
  options_.agent = agent.url();
  absl::StatusOr<std::unique_ptr<Attester>> a = NewCocoAttester(options_);
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(absl::StartsWith(a.status().message(),
                               "--tee coco: coco: the attestation agent's answer is not JSON "
                               "evidence"))
      << a.status();
  FakeAgent error([&](const std::string&) { return Http(500, "SNP Attester: no /dev/sev-guest"); });
  options_.agent = error.url();
  EXPECT_EQ(NewCocoAttester(options_).status().message(),
            absl::StrCat("--tee coco: coco attestation agent at ", error.url(),
                         " answered HTTP 500: SNP Attester: no /dev/sev-guest"));
}

TEST_F(CocoTest, ATimeoutIsRefused) {
  FakeAgent agent([&](const std::string&) { return std::string(); });
  options_.agent = agent.url();
  absl::StatusOr<std::unique_ptr<Attester>> a = NewCocoAttester(options_);
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(absl::IsUnavailable(a.status()));
  EXPECT_EQ(a.status().message(), absl::StrCat("--tee coco: coco attestation agent at ",
                                               agent.url(), ": waiting for evidence: timed out"));
}

TEST_F(CocoTest, AgentMustBeLoopbackAndReachable) {
  options_.agent = "http://10.0.0.1:8006";
  EXPECT_TRUE(absl::StrContains(NewCocoAttester(options_).status().message(),
                                "its address must be loopback"));
  FakeAgent gone([&](const std::string&) { return std::string(); });
  options_.agent = "http://127.0.0.1:1";
  EXPECT_TRUE(absl::IsUnavailable(NewCocoAttester(options_).status()));
}

// The pod's HOST_DATA is not the digest of the init-data the worker was given: stop at start.
TEST_F(CocoTest, InitDataThatIsNotTheTeesIsRefusedAtStart) {
  FakeAgent agent([&](const std::string& t) {
    return Http(200, Echo(AskedFor(t), measure::MakeInitData(
                                           measure::WorkerPin{Pin().image, {"/bin/sh"}, {}, {}})));
  });
  options_.agent = agent.url();
  absl::StatusOr<std::unique_ptr<Attester>> a = NewCocoAttester(options_);
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(absl::StartsWith(a.status().message(),
                               "--tee coco: coco: the init-data that came with the evidence is not "
                               "the one the TEE was started with: HOST_DATA "))
      << a.status();
}

TEST_F(CocoTest, InitDataWithoutAPinnedImageIsRefusedBeforeAsking) {
  testing::WriteTestFile(options_.initdata_file,
                         "version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\n");
  EXPECT_EQ(NewCocoAttester(options_).status().message(),
            absl::StrCat("--tee coco: ", options_.initdata_file,
                         ": init-data has no policy: [data] lacks \"policy.rego\", so kata-agent "
                         "would run any container; Triad needs its worker agent policy there"));
}

TEST_F(CocoTest, VerifierBindsInitDataToHostData) {
  absl::StatusOr<Evidence> ev = EvidenceFromCocoAgent(RecordedSnp());
  ASSERT_TRUE(ev.ok());
  ev->initdata = initdata_;
  absl::StatusOr<TrustAnchors> anchors = TrustAnchors::LoadDir(DefaultRootsDir());
  Verdict v = VerifyEvidence(*ev, *anchors, absl::FromUnixSeconds(1760000000));
  ASSERT_FALSE(v.valid);
  ASSERT_EQ(v.reasons.size(), 1u);
  const std::string digest = measure::InitDataDigest(*measure::ParseInitData(initdata_));
  EXPECT_EQ(v.reasons[0],
            absl::StrCat("coco: the init-data that came with the evidence is not the one the TEE "
                         "was started with: HOST_DATA ",
                         std::string(64, '0'), ", digest of the init-data ",
                         base::HexEncode(digest.substr(0, 32))));

  // Claims whose HOST_DATA is the digest: the pin becomes claims.coco.
  contracts::Claims c;
  c.tee = "sev-snp";
  c.snp = contracts::SnpClaims{};
  c.snp->host_data = measure::SnpHostData(digest);
  ASSERT_TRUE(AddCocoClaims(*ev, &c).ok());
  ASSERT_TRUE(c.coco.has_value());
  EXPECT_EQ(c.coco->image_digest, "sha256:" + std::string(64, 'a'));
  EXPECT_EQ(c.coco->initdata_digest, digest);
  EXPECT_EQ(c.coco->initdata_algorithm, "sha384");
  // And the claims' JSON round-trips.
  absl::StatusOr<contracts::Claims> back = contracts::Claims::FromJson(c.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->coco->image, Pin().image);
}

// TDX: the agent's {"cc_eventlog", "quote"} with a real quote.
TEST_F(CocoTest, TdxAgentEvidence) {
  const std::string quote = testing::ReadTestFile(testing::TestdataDir() +
                                                  "/attestation/tdx/gotdx-v4-spr-50806f/quote.bin");
  Json j{{"cc_eventlog", nullptr}, {"quote", base::Base64Encode(quote)}};
  absl::StatusOr<Evidence> ev = EvidenceFromCocoAgent(j.dump());
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->tee, "tdx");
  EXPECT_EQ(ev->report, quote);
  EXPECT_EQ(EvidenceFromCocoAgent(R"({"quote": "***"})").status().message(),
            "coco: quote is not base64");
  EXPECT_EQ(EvidenceFromCocoAgent(R"({"something": 1})").status().message(),
            "coco: the attestation agent's answer is neither SEV-SNP evidence "
            "(attestation_report) nor TDX evidence (quote)");
}

}  // namespace
}  // namespace triad::attestation
