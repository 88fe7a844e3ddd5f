// `triad worker run`: the real binary against the fake coordinator of worker_fixture.h, and the
// command line's own refusals.
#include "attestation/nvidia_gpu.h"
#include "coordinator/card.h"
#include "coordinator/tls.h"
#include "tests/attestation/forged_gpu_worker.h"
#include "tests/worker/worker_fixture.h"

namespace triad::worker::test {
namespace {

class WorkerCliTest : public WorkerTest {
 protected:
  void SetUp() override {
    WorkerTest::SetUp();
    // The compute provider's keys as `triad keygen` writes them, and the simulation key.
    ASSERT_TRUE(
        crypto::WriteSecretFile(keys_.File("cloudco.signing.pem"), provider_.key.ToPem()).ok());
    testing::WriteTestFile(keys_.File("cloudco.card.json"), provider_.Card().ToJson());
    ASSERT_TRUE(crypto::WriteSecretFile(keys_.File("sim.pem"), sim_key_.ToPem()).ok());
    ASSERT_TRUE(
        crypto::WriteSecretFile(keys_.File("acme-bank.signing.pem"), data_owner_.key.ToPem()).ok());
    testing::WriteTestFile(keys_.File("acme-bank.card.json"), data_owner_.Card().ToJson());
    // The coordinator's card: its key names the audience (the fake is served in plaintext).
    auto tls = coordinator::GenerateTlsIdentity(now_, absl::Hours(1));
    ASSERT_TRUE(tls.ok());
    coordinator::CoordinatorCard card{"fake", card_key_.public_key(), tls->cert_pem,
                                      *coordinator::CertificateFingerprint(tls->cert_pem),
                                      "fake/log"};
    testing::WriteTestFile(keys_.File("coordinator.card.json"), card.ToJson());
  }

  // Runs `triad [global] worker run ARGS` in `cwd`; returns the exit status, output in *out.
  // `env` (NAME=VALUE …) and `wrap` (a command such as "timeout 10 ") go before the binary.
  int Run(const std::string& args, std::string* out, const std::string& global = "",
          const std::string& env = "", const std::string& wrap = "") {
    return testing::RunCommand("cd " + work_.path() + " && TMPDIR=" + work_.path() + " " + env +
                                   " " + wrap + testing::TriadBinary() + " " + global +
                                   " worker run " + args + " 2>&1",
                               out);
  }

  testing::TempDir keys_;
  testing::TempDir work_;
  crypto::Ed25519PrivateKey card_key_ = crypto::Ed25519PrivateKey::Generate();
};

TEST_F(WorkerCliTest, RunsOneSimJobAndExits) {
  auto measurement = attestation::MeasureExecutable(testing::TriadWorkerBinary());
  ASSERT_TRUE(measurement.ok()) << measurement.status();
  auto fake = MakeFake(MakeContract(*measurement));
  fake->audience = card_key_.public_key().KeyId();
  FakeServer server(fake.get(), 0);
  std::string out;
  int rc = Run("--coordinator 127.0.0.1:" + std::to_string(server.port()) +
                   " --insecure --coordinator-card " + keys_.File("coordinator.card.json") +
                   " --as " + keys_.File("cloudco") + " --tee sim --sim-key " +
                   keys_.File("sim.pem") + " --once --worker-id w-1 --threads 2",
               &out, "--log-level trace");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("triad: worker: SIMULATED: no hardware protection (--tee sim)\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("job job-1: delivered\n"), std::string::npos) << out;
  EXPECT_EQ(fake->protocol_errors, std::vector<std::string>{});
  ASSERT_EQ(fake->admissions.size(), 1u);
  EXPECT_TRUE(fake->admissions[0].binding.ok());
  EXPECT_EQ(fake->admissions[0].measurement, *measurement);
  EXPECT_EQ(OpenAdapter(*fake, data_owner_.identity).size(), 3u);
  for (const char* canary : {kModelCanary, kDataCanary}) {
    SCOPED_TRACE(canary);
    EXPECT_FALSE(absl::StrContains(out, canary));  // the trace-level log included
    EXPECT_EQ(FilesContaining(work_.path(), canary), std::vector<std::string>{});
    EXPECT_EQ(FilesContaining(keys_.path(), canary), std::vector<std::string>{});
  }
}

TEST_F(WorkerCliTest, Refusals) {
  const std::string base = "--coordinator 127.0.0.1:1 --insecure --coordinator-card " +
                           keys_.File("coordinator.card.json") + " --as " + keys_.File("cloudco");
  std::string out;
  EXPECT_EQ(Run(base + " --tee sim", &out), 1);
  EXPECT_EQ(out, "triad: --tee sim needs a simulation key file (Ed25519 PKCS#8 PEM)\n");
  // Never a silent fallback to sim (this machine has no configfs-tsm provider).
  EXPECT_EQ(Run(base + " --tee auto --sim-key " + keys_.File("sim.pem"), &out), 1);
  EXPECT_TRUE(absl::StartsWith(out, "triad: --tee auto: ")) << out;
  EXPECT_TRUE(absl::StrContains(out, "Triad never falls back to sim")) << out;
  EXPECT_EQ(
      Run(base + " --tee sim --sim-key " + keys_.File("sim.pem") + " --gpus 0 --device cpu", &out),
      2);
  EXPECT_EQ(out,
            "triad: --device cpu and --gpus 0 disagree: GPUs need --device cuda; see 'triad worker "
            "run --help'\n");
  testing::WriteTestFile(keys_.File("collateral.json"), "{}");
  EXPECT_EQ(Run(base + " --tee sim --sim-key " + keys_.File("sim.pem") + " --collateral " +
                    keys_.File("collateral.json"),
                &out),
            1);
  EXPECT_EQ(out, "triad: --collateral is TDX collateral; this worker attests with sim\n");
  EXPECT_EQ(Run(base + " --tee sim --gpus 0,x", &out), 2);
  EXPECT_EQ(
      out,
      "triad: --gpus: \"0,x\" is not a list of GPU indices (0,1: as nvidia-smi numbers them); "
      "see 'triad worker run --help'\n");
  EXPECT_EQ(Run("--coordinator 127.0.0.1:1 --insecure --coordinator-card " +
                    keys_.File("coordinator.card.json") + " --as " + keys_.File("acme-bank") +
                    " --tee sim",
                &out),
            1);
  EXPECT_EQ(out, "triad: " + keys_.File("acme-bank") +
                     ".card.json is a data-owner card; a worker acts for a compute-provider\n");
  EXPECT_EQ(Run("--coordinator 127.0.0.1:1 --insecure --as " + keys_.File("cloudco") + " --tee sim",
                &out),
            2);
  EXPECT_EQ(
      out,
      "triad: worker run: give --coordinator-card FILE: it names the coordinator every request "
      "is addressed to (and pins its TLS certificate unless --insecure)\n");
  EXPECT_EQ(Run("--coordinator 10.0.0.1:1 --insecure --coordinator-card " +
                    keys_.File("coordinator.card.json") + " --as " + keys_.File("cloudco") +
                    " --tee sim --sim-key " + keys_.File("sim.pem"),
                &out),
            1);
  EXPECT_TRUE(absl::StrContains(out, "insecure")) << out;
  // GPUs are attested through NVML, or the worker does not start on CUDA.
  EXPECT_EQ(Run(base + " --tee sim --sim-key " + keys_.File("sim.pem") + " --device cuda", &out, "",
                "TRIAD_NVML_LIBRARY=" + work_.File("no-libnvidia-ml.so")),
            1);
  EXPECT_TRUE(
      absl::StartsWith(out, "triad: --device cuda: the GPUs must attest: NVML: cannot load " +
                                work_.File("no-libnvidia-ml.so")))
      << out;
  EXPECT_EQ(Run(base + " --tee sim --sim-key " + keys_.File("sim.pem") + " --gpu-rim x.xml", &out),
            1);
  EXPECT_EQ(out, "triad: --gpu-rim and --gpu-ocsp need --device cuda\n");
  // The CoCo flags go with --tee coco, whose attestation agent must answer before the worker polls.
  EXPECT_EQ(Run(base + " --tee sim --sim-key " + keys_.File("sim.pem") +
                    " --coco-agent http://127.0.0.1:8006",
                &out),
            1);
  EXPECT_EQ(out, "triad: --coco-agent and --coco-initdata need --tee coco\n");
  EXPECT_EQ(Run(base + " --tee coco --coco-initdata " + work_.File("missing.toml"), &out), 1);
  EXPECT_TRUE(absl::StartsWith(
      out, "triad: --tee coco: reading the pod's init-data " + work_.File("missing.toml") + ": "))
      << out;
}

// `--device cuda` against the fake libnvidia-ml of tests/attestation, serving a recorded real H100
// report: the worker names the GPU it attests, and refuses to go on with a report NVML made over
// another nonce than the one this admission derives (before any evidence reaches the
// coordinator). The worker keeps polling after the failed attempt; `timeout` ends it.
TEST_F(WorkerCliTest, AttestsItsGpusThroughNvmlAndRefusesAReportForAnotherNonce) {
  testing::TempDir nvml;
  const std::string vectors =
      testing::TestdataDir() + "/attestation/nvidia/nvtrust-h100-550.90.07/";
  testing::WriteTestFile(nvml.File("count"), "1");
  testing::WriteTestFile(nvml.File("cc"), "2 1 0 0 1");
  testing::WriteTestFile(nvml.File("uuid.0"), "GPU-6f2d1c3b-0a4e-4f5d-9c8b-7a6e5d4c3b2a");
  testing::WriteTestFile(nvml.File("report.0"), *attestation::GpuReportBytes(
                                                    testing::ReadTestFile(vectors + "report.hex")));
  testing::WriteTestFile(nvml.File("certs.0"), testing::ReadTestFile(vectors + "cert_chain.pem"));
  contracts::Contract c = MakeContract();
  attestation::nvforge::TrainOnForgedGpus(c, 1);
  auto fake = MakeFake(c);
  fake->audience = card_key_.public_key().KeyId();
  FakeServer server(fake.get(), 0);
  std::string out;
  Run("--coordinator 127.0.0.1:" + std::to_string(server.port()) +
          " --insecure --coordinator-card " + keys_.File("coordinator.card.json") + " --as " +
          keys_.File("cloudco") + " --tee sim --sim-key " + keys_.File("sim.pem") +
          " --device cuda --worker-id w-1 --threads 2",
      &out, "", "TRIAD_NVML_LIBRARY=" TRIAD_FAKE_NVML " TRIAD_FAKE_NVML_DIR=" + nvml.path(),
      "timeout 10 ");
  EXPECT_TRUE(absl::StrContains(
      out,
      "triad: worker: attesting 1 GPU(s) through NVML: GPU-6f2d1c3b-0a4e-4f5d-9c8b-7a6e5d4c3b2a\n"))
      << out;
  EXPECT_TRUE(absl::StrContains(
      out,
      "job job-1: failed: attestation: GPU 0 (GPU-6f2d1c3b-0a4e-4f5d-9c8b-7a6e5d4c3b2a): NVML "
      "returned a report over nonce "
      "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb, not the requested "))
      << out;
  EXPECT_TRUE(fake->admissions.empty());
  ASSERT_EQ(fake->failures.size(), 1u);
  EXPECT_FALSE(fake->failures[0].by_ephemeral_key);
}

}  // namespace
}  // namespace triad::worker::test
