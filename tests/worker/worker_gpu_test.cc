// The worker and GPUs (issue 14, "GPU evidence, collected and bound"), against the fake
// coordinator of worker_fixture.h, which verifies the whole evidence (attestation::VerifyEvidence
// with a forged NVIDIA root pinned), the binding and the policy: a contract that trains on a GPU
// is attested with the worker's GPU and admitted, and the worker then trains only on the attested
// GPU (refusing while CUDA could see anything else); a worker without GPUs, or with another number
// of them, refuses a GPU contract before attesting; CC off is refused by the coordinator; a
// contract without GPUs trains on the CPU whatever the worker has. (No CUDA here: training on the
// GPU itself is not run.) Internal placement rules are tested on their own at the end.
#include <cstdlib>

#include "tests/attestation/forged_gpu_worker.h"
#include "tests/worker/worker_fixture.h"
#include "worker/internal/gpu_placement.h"
#include "worker/worker.h"

namespace triad::worker::test {
namespace {

using attestation::nvforge::CcOn;
using attestation::nvforge::ForgedGpus;
using attestation::nvforge::kTestGpuUuids;

class WorkerGpuTest : public WorkerTest {
 protected:
  void SetUp() override {
    WorkerTest::SetUp();
    extra_anchors_ = attestation::nvforge::ForgedPki().Anchors();
    unsetenv("CUDA_VISIBLE_DEVICES");
  }
  void TearDown() override { unsetenv("CUDA_VISIBLE_DEVICES"); }

  contracts::Contract GpuContract(uint32_t gpus = 1) const {
    contracts::Contract c = MakeContract();
    attestation::nvforge::TrainOnForgedGpus(c, gpus);
    return c;
  }
  WorkerOptions GpuOptions(const attestation::GpuCollector* gpus) const {
    WorkerOptions o = Options();
    o.gpus = gpus;
    o.device = "cuda";
    return o;
  }
};

TEST_F(WorkerGpuTest, AttestsItsGpuAndTrainsOnlyOnTheAttestedGpu) {
  auto fake = MakeFake(GpuContract());
  ForgedGpus gpu(1, CcOn(1));
  // CUDA would see every GPU of the machine: the worker stops before decrypting anything.
  JobResult r = RunOneJob(fake.get(), GpuOptions(&gpu));
  ASSERT_EQ(fake->admissions.size(), 1u);
  EXPECT_TRUE(fake->admissions[0].admitted)
      << ::testing::PrintToString(fake->admissions[0].reasons);
  EXPECT_TRUE(fake->admissions[0].binding.ok()) << fake->admissions[0].binding;
  auto claims = nlohmann::json::parse(fake->admissions[0].claims_json);
  EXPECT_EQ(claims["gpus"][0]["uuid"], kTestGpuUuids[0]);
  EXPECT_EQ(claims["gpu_cc"]["cc_feature"], 1);
  EXPECT_EQ(r.outcome, JobResult::Outcome::kFailed);
  EXPECT_EQ(r.reasons,
            std::vector<std::string>{absl::StrCat(
                "the worker trains only on the GPUs it attested: CUDA_VISIBLE_DEVICES is unset, "
                "the evidence attests ",
                kTestGpuUuids[0])});
  EXPECT_TRUE(fake->downloads.empty());
  ASSERT_EQ(fake->failures.size(), 1u);
  EXPECT_TRUE(fake->failures[0].by_ephemeral_key);

  // CUDA told of a device by index instead of the attested UUID: refused as well.
  auto again = MakeFake(GpuContract());
  setenv("CUDA_VISIBLE_DEVICES", "0", 1);
  JobResult by_index = RunOneJob(again.get(), GpuOptions(&gpu));
  EXPECT_TRUE(again->admissions.at(0).admitted);
  EXPECT_EQ(by_index.reasons,
            std::vector<std::string>{absl::StrCat(
                "the worker trains only on the GPUs it attested: CUDA_VISIBLE_DEVICES is \"0\", "
                "the evidence attests ",
                kTestGpuUuids[0])});
  EXPECT_TRUE(again->downloads.empty());
}

TEST_F(WorkerGpuTest, RefusesAGpuContractWithoutAsManyAttestedGpus) {
  // No GPUs at all.
  auto fake = MakeFake(GpuContract());
  JobResult none = RunOneJob(fake.get());
  EXPECT_EQ(none.outcome, JobResult::Outcome::kFailed);
  EXPECT_EQ(none.reasons,
            std::vector<std::string>{
                "the worker refuses the assignment: the contract trains on 1 attested GPU "
                "(training.gpus); this worker has no attested GPUs (start it with --device cuda on "
                "a machine whose NVIDIA GPUs are in confidential-computing mode)"});
  EXPECT_TRUE(fake->admissions.empty());
  // Two GPUs for a contract of one.
  auto fake2 = MakeFake(GpuContract());
  ForgedGpus two(2, CcOn(2));
  JobResult more = RunOneJob(fake2.get(), GpuOptions(&two));
  EXPECT_EQ(more.reasons,
            std::vector<std::string>{absl::StrCat(
                "the worker refuses the assignment: the contract trains on 1 attested GPU "
                "(training.gpus); this worker attests 2 GPUs (",
                kTestGpuUuids[0], ",", kTestGpuUuids[1], "; choose them with --gpus)")});
  EXPECT_TRUE(fake2->admissions.empty());
}

TEST_F(WorkerGpuTest, ConfidentialComputingOffIsNotAdmitted) {
  auto fake = MakeFake(GpuContract());
  ForgedGpus off(1, {2, 0, 0, 0, 1});
  JobResult r = RunOneJob(fake.get(), GpuOptions(&off));
  EXPECT_EQ(r.outcome, JobResult::Outcome::kRejected);
  EXPECT_EQ(r.reasons,
            std::vector<std::string>{"GPU confidential computing is off (NVML cc_feature 0)"});
  EXPECT_EQ(fake->headers_released, 0);
  EXPECT_TRUE(fake->downloads.empty());
}

TEST_F(WorkerGpuTest, AContractWithoutGpusTrainsOnTheCpu) {
  auto fake = MakeFake(MakeContract());
  ForgedGpus gpu(1, CcOn(1));
  JobResult r = RunOneJob(fake.get(), GpuOptions(&gpu));
  EXPECT_EQ(r.outcome, JobResult::Outcome::kDelivered) << ::testing::PrintToString(r.reasons);
  ASSERT_EQ(fake->admissions.size(), 1u);
  // Attested as a CPU worker: no GPU in the evidence.
  auto claims = nlohmann::json::parse(fake->admissions[0].claims_json);
  EXPECT_FALSE(claims.contains("gpus"));
}

TEST(GpuPlacementTest, TheRules) {
  using internal::PlaceTraining;
  const std::vector<std::string> one = {kTestGpuUuids[0]};
  const std::vector<std::string> two = {kTestGpuUuids[0], kTestGpuUuids[1]};
  const std::string both = absl::StrCat(kTestGpuUuids[0], ",", kTestGpuUuids[1]);
  absl::StatusOr<internal::Placement> p = PlaceTraining(2, two, both.c_str(), "cuda");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->device, "cuda");
  EXPECT_EQ(p->num_gpus, 2);
  p = PlaceTraining(0, {}, nullptr, "cuda");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->device, "cpu");
  // Reordered: CUDA's device 0 would not be the evidence's GPU 0.
  const std::string reordered = absl::StrCat(kTestGpuUuids[1], ",", kTestGpuUuids[0]);
  EXPECT_EQ(PlaceTraining(2, two, reordered.c_str(), "cuda").status().message(),
            absl::StrCat("the worker trains only on the GPUs it attested: CUDA_VISIBLE_DEVICES is "
                         "\"",
                         reordered, "\", the evidence attests ", both));
  EXPECT_EQ(PlaceTraining(2, one, kTestGpuUuids[0], "cuda").status().message(),
            "the contract trains on 2 GPUs; the evidence attests 1 GPU");
  EXPECT_EQ(PlaceTraining(1, one, kTestGpuUuids[0], "cpu").status().message(),
            "the contract trains on attested GPUs; this worker was started with --device cpu");
  EXPECT_EQ(PlaceTraining(0, one, nullptr, "cuda").status().message(),
            "the contract trains on the CPU, but the evidence attests 1 GPU");
}

}  // namespace
}  // namespace triad::worker::test
