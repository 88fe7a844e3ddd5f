// `--tee coco` in the worker (issue 17, the coco attester): the worker's evidence comes from a fake
// CoCo attestation agent on loopback serving the recorded real SNP evidence of
// confidential-containers/trustee with the runtime data it was asked for, and the pod's init-data
// travels with it to the coordinator (proto Evidence.initdata), where the verifier binds it to
// HOST_DATA. The echoed report no longer carries AMD's signature over its new report data, so the
// fake coordinator (which verifies the whole evidence) does not admit it: what is tested is that
// the worker asked the agent for exactly this admission's binding and sent the init-data, and
// that a refused attempt releases nothing.
#include "attestation/coco.h"
#include "tests/attestation/fake_coco_agent.h"
#include "tests/worker/worker_fixture.h"
#include "worker/worker.h"

namespace triad::worker::test {
namespace {

namespace cocotest = ::triad::attestation::cocotest;

TEST_F(WorkerTest, CocoEvidenceCarriesTheInitDataAndAsksForThisAdmissionsBinding) {
  testing::TempDir dir;
  const std::string initdata = measure::MakeInitData(cocotest::Pin());
  testing::WriteTestFile(dir.File("initdata.toml"), initdata);
  std::vector<std::string> asked;
  cocotest::FakeAgent agent([&](const std::string& target) {
    asked.push_back(cocotest::AskedFor(target));
    return cocotest::Http(200, cocotest::Echo(asked.back(), initdata));
  });
  attestation::CocoAttesterOptions o;
  o.agent = agent.url();
  o.initdata_file = dir.File("initdata.toml");
  o.timeout = absl::Seconds(5);
  absl::StatusOr<std::unique_ptr<attestation::Attester>> coco = attestation::NewCocoAttester(o);
  ASSERT_TRUE(coco.ok()) << coco.status();
  EXPECT_EQ((*coco)->tee(), "sev-snp");

  auto fake = MakeFake(MakeContract());
  FakeServer server(fake.get(), 0);
  Worker w(Channel(server.port()), provider_.key, **coco, *clock_, Options());
  absl::StatusOr<std::optional<JobResult>> r = w.RunOnce();
  ASSERT_TRUE(r.ok() && r->has_value()) << r.status();
  EXPECT_EQ((**r).outcome, JobResult::Outcome::kRejected);
  ASSERT_EQ(fake->admissions.size(), 1u);
  EXPECT_EQ(fake->admissions[0].tee, "sev-snp");
  EXPECT_EQ(fake->admissions[0].initdata, initdata);
  EXPECT_FALSE(fake->admissions[0].admitted);
  // Refused for the echoed report's signature (the fake pins no AMD root), and so unbound.
  EXPECT_EQ(fake->admissions[0].reasons,
            (std::vector<std::string>{"no pinned ARK for Genoa in the trust anchors",
                                      "report signature does not verify with the VCEK public key",
                                      "evidence carries 0 bytes of report data, expected 64"}));
  // The probe at start (all-zero runtime data), then this admission's 64-byte binding.
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[0], std::string(64, '\0'));
  EXPECT_EQ(asked[1].size(), 64u);
  EXPECT_NE(asked[1], asked[0]);
  EXPECT_EQ(fake->headers_released, 0);
  EXPECT_TRUE(fake->downloads.empty());
}

}  // namespace
}  // namespace triad::worker::test
