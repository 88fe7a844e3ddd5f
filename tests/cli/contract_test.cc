// Runs the real `triad` binary: keygen, contract draft / sign / verify / show.
#include "contracts/contract.h"

#include <algorithm>
#include <array>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/encoding.h"
#include "crypto/dsse.h"
#include "crypto/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"

namespace triad {
namespace {

using testing::RunCommand;
using V = std::vector<std::string>;

std::string Triad() { return testing::TriadBinary(); }

class ContractCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* parties[][2] = {{"mo", "model-owner"},
                                {"do", "data-owner"},
                                {"cp", "compute-provider"},
                                {"aud", "auditor"}};
    for (auto& p : parties) {
      ASSERT_EQ(Run(absl::StrCat("keygen --name ", p[0], " --role ", p[1], " --dir ", Keys())), 0)
          << out_;
    }
    // An encrypted model made by the stock age tool, and a dataset file.
    ASSERT_EQ(RunCommand("head -c 100000 /dev/urandom | age -r $(sed -n 's/.*\"age_recipient\": "
                         "\"\\(age1[a-z0-9]*\\)\".*/\\1/p' " +
                             Keys() + "/mo.card.json) -o " + dir_.File("model.age"),
                         &out_),
              0)
        << out_;
    testing::WriteTestFile(dir_.File("data.age"), "ciphertext of the dataset");
    testing::WriteTestFile(
        dir_.File("policy.json"),
        R"({"tee": ["sim"], "sim": {"measurements": [")" + std::string(96, 'a') + R"("]}})");
  }

  std::string Keys() const { return dir_.File("keys"); }
  std::string Contract() const { return dir_.File("contract.json"); }
  int Run(const std::string& args) { return RunCommand(Triad() + " " + args, &out_); }
  std::string DraftArgs() const {
    return absl::StrCat("contract draft --model-owner ", Keys(), "/mo.card.json --data-owner ",
                        Keys(), "/do.card.json --provider ", Keys(), "/cp.card.json --model ",
                        dir_.File("model.age"), " --dataset ", dir_.File("data.age"),
                        " --dataset-name claims-notes --policy ", dir_.File("policy.json"),
                        " --valid-for 30d --now 2025-07-01T00:00:00Z --id c-test");
  }
  int Draft(const std::string& extra = "") {
    return Run(DraftArgs() + " --out " + Contract() + extra);
  }
  int Sign(const std::string& who, const std::string& extra = "") {
    return Run("contract sign " + Contract() + " --as " + Keys() + "/" + who +
               " --now 2025-07-02T00:00:00Z" + extra);
  }
  int Verify(const std::string& extra = " --now 2025-07-02T00:00:00Z") {
    return Run("contract verify " + Contract() + extra);
  }
  std::string Fingerprint(const std::string& who) {
    auto card = contracts::PartyCard::FromFile(Keys() + "/" + who + ".card.json");
    EXPECT_TRUE(card.ok());
    return card.ok() ? card->fingerprint() : "";
  }
  // Debian's OVMF (testdata/measure/tdx), decompressed to OVMF.fd in the test directory.
  bool WriteOvmf() {
    return RunCommand("gunzip -c " + testing::TestdataDir() +
                          "/measure/tdx/debian-ovmf-2022.11-6+deb12u2.fd.gz > " +
                          dir_.File("OVMF.fd"),
                      &out_) == 0;
  }
  // `contract draft` of the test's cards and files, without a policy.
  std::string DraftWithoutPolicy() const {
    return absl::StrCat("contract draft --model-owner ", Keys(), "/mo.card.json --data-owner ",
                        Keys(), "/do.card.json --provider ", Keys(), "/cp.card.json --model ",
                        dir_.File("model.age"), " --dataset ", dir_.File("data.age"),
                        " --valid-for 1d --out ", Contract());
  }

  V Lines() const {
    V lines = absl::StrSplit(out_, '\n', absl::SkipEmpty());
    return lines;
  }

  testing::TempDir dir_;
  std::string out_;
};

TEST_F(ContractCliTest, DraftSignInEveryOrderVerify) {
  std::array<std::string, 3> order{"cp", "do", "mo"};
  int n = 0;
  do {
    ::unlink(Contract().c_str());
    ASSERT_EQ(Draft(), 0) << out_;
    std::string drafted = testing::ReadTestFile(Contract());
    auto env = crypto::DsseEnvelope::FromJson(drafted);
    ASSERT_TRUE(env.ok());
    for (const std::string& who : order) {
      EXPECT_NE(Verify(), 0);
      ASSERT_EQ(Sign(who), 0) << out_;
      auto now = crypto::DsseEnvelope::FromJson(testing::ReadTestFile(Contract()));
      ASSERT_TRUE(now.ok());
      EXPECT_EQ(now->payload, env->payload);  // signing never changes the payload
    }
    EXPECT_NE(out_.find("the contract is active"), std::string::npos) << out_;
    ASSERT_EQ(Verify(), 0) << out_;
    EXPECT_EQ(out_.substr(0, out_.find(" (")), "contract c-test is active");
    ++n;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(n, 6);
}

TEST_F(ContractCliTest, DraftRecordsTheCiphertextDigest) {
  ASSERT_EQ(Draft(" --json"), 0) << out_;
  auto j = nlohmann::json::parse(out_);
  EXPECT_EQ(j["id"], "c-test");
  EXPECT_EQ(j["not_before"], "2025-07-01T00:00:00Z");
  EXPECT_EQ(j["not_after"], "2025-07-31T00:00:00Z");
  auto env = crypto::DsseEnvelope::FromJson(testing::ReadTestFile(Contract()));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->payload_type, "application/vnd.triad.contract+json");
  EXPECT_TRUE(env->signatures.empty());
  auto c = contracts::Contract::FromPayload(env->payload);
  ASSERT_TRUE(c.ok()) << c.status();
  // The artifact id is the stock sha256sum of the age file.
  std::string sum;
  ASSERT_EQ(RunCommand("sha256sum " + dir_.File("model.age") + " | cut -c1-64", &sum), 0);
  EXPECT_EQ(c->base_model.id, "sha256:" + sum.substr(0, 64));
  EXPECT_EQ(c->base_model.name, "model.age");
  EXPECT_EQ(c->dataset.name, "claims-notes");
  EXPECT_EQ(j["digest"], contracts::ContractDigest(*env));
  // Defaults: the TRAINING-SECTION example, outputs to both owners.
  EXPECT_EQ(c->training.ToJson(), contracts::TrainingConfig::Default().ToJson());
  EXPECT_EQ(c->outputs.ToJson(), contracts::Outputs::Default().ToJson());
  EXPECT_TRUE(c->worker_policy.Accepts("sim"));
  // Never overwrites.
  EXPECT_EQ(Draft(), 1);
  EXPECT_EQ(Lines(), V{"triad: creating " + Contract() + ": File exists"});
}

TEST_F(ContractCliTest, DraftWithTheExampleFiles) {
  std::string ex = testing::SourceDir() + "/examples/";
  ASSERT_EQ(Run(absl::StrCat(
                "contract draft --model-owner ", Keys(), "/mo.card.json --data-owner ", Keys(),
                "/do.card.json --provider ", Keys(), "/cp.card.json --model sha256:",
                std::string(64, '1'), " --model-name m --dataset sha256:", std::string(64, '2'),
                " --dataset-name d --policy ", ex, "policy-hardware.json --training ", ex,
                "training.json --outputs ", ex, "outputs.json --valid-for 12h --out ", Contract())),
            0)
      << out_;
  auto env = crypto::DsseEnvelope::FromJson(testing::ReadTestFile(Contract()));
  auto c = contracts::Contract::FromPayload(env->payload);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->worker_policy.tee, (V{"sev-snp", "tdx"}));
  EXPECT_EQ(c->outputs.metrics_recipients.size(), 3u);
  EXPECT_EQ(c->not_after - c->not_before, absl::Hours(12));
}

TEST_F(ContractCliTest, SimPolicyScriptPinsTheWorkerExecutable) {
  // The quickstart's policy: sim only, measurement = SHA-384 of the worker executable.
  std::string policy;
  ASSERT_EQ(RunCommand(testing::SourceDir() + "/examples/make-sim-policy.sh " + Triad(), &policy), 0) << policy;
  auto p = contracts::WorkerPolicy::FromText(policy);
  ASSERT_TRUE(p.ok()) << p.status() << "\n" << policy;
  EXPECT_EQ(p->tee, V{"sim"});
  ASSERT_TRUE(p->sim.has_value());
  EXPECT_EQ(p->sim->measurements, V{crypto::Sha384(testing::ReadTestFile(Triad()))});
}

TEST_F(ContractCliTest, DefaultPolicyIsHardwareOnlyAndNeedsAMeasurement) {
  std::string base = absl::StrCat(
      "contract draft --model-owner ", Keys(), "/mo.card.json --data-owner ", Keys(),
      "/do.card.json --provider ", Keys(), "/cp.card.json --model ", dir_.File("model.age"),
      " --dataset ", dir_.File("data.age"), " --valid-for 1d --out ", Contract());
  EXPECT_EQ(Run(base), 2);
  EXPECT_EQ(
      Lines(),
      V{"triad: without --policy, give the worker's launch measurement with --snp-measurement or "
        "--tdx-mrtd (the default policy admits only hardware TEEs running that code)"});
  EXPECT_EQ(Run(base + " --tdx-mrtd abcd"), 1);
  EXPECT_EQ(Lines(), V{"triad: --tdx-mrtd: \"abcd\" is not 48 bytes of hex (96 digits)"});
  EXPECT_EQ(
      Run(base + " --tdx-mrtd " + std::string(96, 'b') + " --policy " + dir_.File("policy.json")),
      2);
  ASSERT_EQ(Run(base + " --tdx-mrtd " + std::string(96, 'b') + " --tdx-rtmr0 " +
                std::string(96, 'a') + " --tdx-rtmr1 " + std::string(96, 'd') + " --tdx-rtmr2 " +
                std::string(96, 'e') + " --snp-measurement " + std::string(96, 'c') +
                " --snp-min-tcb bootloader=3,tee=0,snp=8,microcode=115"),
            0)
      << out_;
  auto env = crypto::DsseEnvelope::FromJson(testing::ReadTestFile(Contract()));
  auto c = contracts::Contract::FromPayload(env->payload);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->worker_policy.tee, (V{"sev-snp", "tdx"}));
  EXPECT_FALSE(c->worker_policy.Accepts("sim"));
  EXPECT_FALSE(c->worker_policy.allow_debug);
}

// A TDX policy must pin the guest (RTMR1 and RTMR2, or MRCONFIGID): MRTD measures only TDVF.
// (RTMR0 is pinned here; its own weakness is the next test.)
TEST_F(ContractCliTest, AWeakTdxPolicyIsRefusedUnlessAcceptedAndThenRecorded) {
  const std::string base = DraftWithoutPolicy() + " --tdx-mrtd " + std::string(96, 'b') +
                           " --tdx-rtmr0 " + std::string(96, 'a');
  const std::string weakness =
      "tdx: neither rtmr1 and rtmr2 nor mr_config_id is pinned, so any guest kernel, initrd and "
      "command line boots with an accepted MRTD (which measures only the TDVF firmware): pin "
      "rtmr1 and rtmr2 (--tdx-rtmr1, --tdx-rtmr2), or mr_config_id (--tdx-mrconfigid) when the "
      "TD's configuration id covers them";
  EXPECT_EQ(Run(base), 1);
  EXPECT_EQ(Lines(), V{"triad: the worker policy lets a compute provider slip past it: " +
                       weakness +
                       ". Pin what is missing, or accept it with --allow-weak-policy (recorded in "
                       "the contract for every party to see)"});
  // RTMR1 alone is not enough.
  EXPECT_EQ(Run(base + " --tdx-rtmr1 " + std::string(96, 'd')), 1);
  // The same from a policy file.
  testing::WriteTestFile(dir_.File("tdx.json"), R"({"tee": ["tdx"], "tdx": {"mr_td": [")" +
                                                    std::string(96, 'b') + R"("], "rtmr0": [")" +
                                                    std::string(96, 'a') +
                                                    R"("], "tcb_status": ["UpToDate"]}})");
  EXPECT_EQ(Run(DraftWithoutPolicy() + " --policy " + dir_.File("tdx.json")), 1);
  EXPECT_THAT(out_, ::testing::HasSubstr("neither rtmr1 and rtmr2 nor mr_config_id is pinned"));
  // MRCONFIGID pins it.
  ASSERT_EQ(Run(base + " --tdx-mrconfigid " + std::string(96, 'f')), 0) << out_;
  std::remove(Contract().c_str());
  // Accepted: drafted, warned, and recorded where every party sees it.
  ASSERT_EQ(Run(base + " --allow-weak-policy"), 0) << out_;
  EXPECT_THAT(out_, ::testing::HasSubstr(
                        "warning: weak worker policy accepted and recorded in the contract "
                        "(tdx-guest-unpinned): " + weakness + "\n"));
  auto env = crypto::DsseEnvelope::FromJson(testing::ReadTestFile(Contract()));
  auto c = contracts::Contract::FromPayload(env->payload);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->worker_policy.accepted_weaknesses, V{"tdx-guest-unpinned"});
  ASSERT_EQ(Run("contract show " + Contract()), 0);
  EXPECT_THAT(out_, ::testing::HasSubstr("  ACCEPTED WEAKNESS tdx-guest-unpinned: " + weakness));
  ASSERT_EQ(Run("contract sign " + Contract() + " --as " + Keys() + "/do"), 0) << out_;
  EXPECT_THAT(out_, ::testing::HasSubstr(
                        "warning: you signed a contract whose worker policy has accepted "
                        "weaknesses:\n  ACCEPTED WEAKNESS tdx-guest-unpinned: "));
}

// Without RTMR0 the host picks the ACPI tables (AML the guest kernel runs), the TD's memory map and
// the firmware's variables for a TD whose kernel, initrd and command line are pinned: refused with
// that reason, from the flags and from a policy file, unless accepted and recorded.
TEST_F(ContractCliTest, TdxWithoutRtmr0IsAWeakness) {
  const std::string base = DraftWithoutPolicy() + " --tdx-mrtd " + std::string(96, 'b') +
                           " --tdx-rtmr1 " + std::string(96, 'd') + " --tdx-rtmr2 " +
                           std::string(96, 'e');
  const std::string weakness =
      "tdx: rtmr0 is not pinned, so the host chooses the ACPI tables (code the guest kernel runs), "
      "the memory map and the firmware's configuration and secure-boot keys of an admitted TD: "
      "pin rtmr0 (--tdx-rtmr0, from triad measure tdx --fw-cfg)";
  EXPECT_EQ(Run(base), 1);
  EXPECT_EQ(Lines(),
            V{"triad: the worker policy lets a compute provider slip past it: " + weakness +
              ". Pin what is missing, or accept it with --allow-weak-policy (recorded in "
              "the contract for every party to see)"});
  testing::WriteTestFile(dir_.File("tdx.json"),
                         R"({"tee": ["tdx"], "tdx": {"mr_td": [")" + std::string(96, 'b') +
                             R"("], "mr_config_id": [")" + std::string(96, 'f') +
                             R"("], "tcb_status": ["UpToDate"]}})");
  EXPECT_EQ(Run(DraftWithoutPolicy() + " --policy " + dir_.File("tdx.json")), 1);
  EXPECT_THAT(out_, ::testing::HasSubstr(weakness));
  ASSERT_EQ(Run(base + " --allow-weak-policy"), 0) << out_;
  auto env = crypto::DsseEnvelope::FromJson(testing::ReadTestFile(Contract()));
  auto c = contracts::Contract::FromPayload(env->payload);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->worker_policy.accepted_weaknesses, V{"tdx-acpi-unpinned"});
  std::remove(Contract().c_str());
  ASSERT_EQ(Run(base + " --tdx-rtmr0 " + std::string(96, 'a')), 0) << out_;
  EXPECT_EQ(out_.find("warning"), std::string::npos) << out_;
}

// A data owner computes the TD's values offline (triad measure tdx, from the TDVF image, the
// kernel, the initrd, the command line and the memory size) and drafts with them: MRTD, RTMR1,
// RTMR2 land in the policy; without --fw-cfg there is no RTMR0, so the draft needs
// --allow-weak-policy and records only tdx-acpi-unpinned. The kernel and initrd are testdata's
// synthetic ones; their RTMRs are checked against an independent implementation in tests/measure.
TEST_F(ContractCliTest, MeasureTdxThenDraft) {
  const std::string tdx = testing::TestdataDir() + "/measure/tdx/";
  ASSERT_TRUE(WriteOvmf()) << out_;
  const std::string measure = absl::StrCat(
      "measure tdx --firmware ", dir_.File("OVMF.fd"), " --kernel ", tdx, "kernel-a.efi --initrd ",
      tdx, "initrd.img --append 'console=ttyS0 root=/dev/vda1 ro' --memory 4G");
  ASSERT_EQ(Run(measure + " --tdvf-separator rtmr0 --json"), 0) << out_;
  nlohmann::json m = nlohmann::json::parse(out_);
  // Case 0 of rtmr_vectors.json (td-report-web, older TDVF).
  nlohmann::json v = nlohmann::json::parse(testing::ReadTestFile(tdx + "rtmr_vectors.json"));
  EXPECT_EQ(m["rtmr1"], v["cases"][0]["rtmr1"]);
  EXPECT_EQ(m["rtmr2"], v["cases"][0]["rtmr2"]);
  EXPECT_EQ(m["events"].size(), 6u);

  // The text form prints the flags to paste.
  ASSERT_EQ(Run(measure), 0) << out_;
  V lines = Lines();
  ASSERT_EQ(lines.size(), 4u) << out_;
  const std::string prefix = "contract draft flags: ";
  ASSERT_EQ(lines[3].substr(0, prefix.size()), prefix);
  const std::string flags = lines[3].substr(prefix.size());
  EXPECT_EQ(lines[1].substr(0, 7), "RTMR1: ");
  EXPECT_NE(lines[1].substr(7), m["rtmr1"].get<std::string>());  // the separator is in RTMR1 now
  EXPECT_EQ(lines[2].substr(7), m["rtmr2"].get<std::string>());

  ASSERT_EQ(Run(DraftWithoutPolicy() + " " + flags), 1) << out_;
  EXPECT_THAT(out_, ::testing::HasSubstr("rtmr0 is not pinned"));
  ASSERT_EQ(Run(DraftWithoutPolicy() + " " + flags + " --allow-weak-policy"), 0) << out_;
  auto env = crypto::DsseEnvelope::FromJson(testing::ReadTestFile(Contract()));
  auto c = contracts::Contract::FromPayload(env->payload);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->worker_policy.accepted_weaknesses, V{"tdx-acpi-unpinned"});
  ASSERT_TRUE(c->worker_policy.tdx.has_value());
  const contracts::TdxReference& r = *c->worker_policy.tdx;
  EXPECT_EQ(r.mr_td, V{*base::HexDecode(m["mr_td"].get<std::string>())});
  EXPECT_EQ(r.rtmr[1], V{*base::HexDecode(lines[1].substr(7))});
  EXPECT_EQ(r.rtmr[2], V{*base::HexDecode(m["rtmr2"].get<std::string>())});

  // Refusals, with the reason.
  ASSERT_EQ(Run(absl::StrCat("measure tdx --kernel ", tdx, "initrd.img --memory 4G")), 1);
  EXPECT_EQ(Lines(), V{"triad: " + tdx +
                       "initrd.img: not a Linux bzImage: no \"HdrS\" setup header at 0x202"});
  ASSERT_EQ(Run(absl::StrCat("measure tdx --kernel ", tdx, "kernel-a.efi")), 1);
  EXPECT_THAT(out_, ::testing::HasSubstr("--kernel needs --memory"));
  ASSERT_EQ(Run(absl::StrCat("measure tdx --kernel ", tdx, "kernel-a.efi --memory 4X")), 1);
  EXPECT_EQ(Lines(),
            V{"triad: --memory \"4X\": expected QEMU's -m size, e.g. 4096 (MiB), 4G, 16384M"});
  ASSERT_EQ(Run("measure tdx --append quiet"), 1);
  EXPECT_EQ(Lines(), V{"triad: --initrd, --append, --memory and --fw-cfg need --kernel"});
}

// With QEMU's ACPI fw_cfg files of the VM shape, measure tdx adds RTMR0 (the value td-report-web
// computes for that shape, tests/measure), prints --tdx-rtmr0 among the flags, and the draft pins
// it. A directory without a file the loader allocates is refused with the file's name.
TEST_F(ContractCliTest, MeasureTdxRtmr0ThenDraft) {
  const std::string tdx = testing::TestdataDir() + "/measure/tdx/";
  ASSERT_TRUE(WriteOvmf()) << out_;
  nlohmann::json v = nlohmann::json::parse(testing::ReadTestFile(tdx + "rtmr0/vectors.json"));
  const nlohmann::json& c = v["cases"][1];
  const std::string fw_cfg = tdx + "rtmr0/" + c["fw_cfg"].get<std::string>();
  const std::string measure =
      absl::StrCat("measure tdx --firmware ", dir_.File("OVMF.fd"), " --kernel ", tdx,
                   "kernel-a.efi --append console=hvc0 --memory ",
                   c["memory"].get<uint64_t>() >> 20, " --fw-cfg ", fw_cfg);
  ASSERT_EQ(Run(measure + " --tdvf-separator rtmr0 --json"), 0) << out_;
  nlohmann::json m = nlohmann::json::parse(out_);
  EXPECT_EQ(m["rtmr0"], c["rtmr0"]);
  ASSERT_EQ(Run(measure), 0) << out_;
  V lines = Lines();
  ASSERT_EQ(lines.size(), 5u) << out_;
  EXPECT_EQ(lines[1].substr(0, 7), "RTMR0: ");
  const std::string rtmr0 = lines[1].substr(7);
  EXPECT_NE(rtmr0, m["rtmr0"].get<std::string>());  // newer TDVF: one separator fewer
  const std::string prefix = "contract draft flags: ";
  ASSERT_EQ(lines[4].substr(0, prefix.size()), prefix);
  EXPECT_THAT(lines[4], ::testing::HasSubstr("--tdx-rtmr0 " + rtmr0 + " --tdx-rtmr1 "));
  ASSERT_EQ(Run(DraftWithoutPolicy() + " " + lines[4].substr(prefix.size())), 0) << out_;
  auto env = crypto::DsseEnvelope::FromJson(testing::ReadTestFile(Contract()));
  auto contract = contracts::Contract::FromPayload(env->payload);
  ASSERT_TRUE(contract.ok()) << contract.status();
  EXPECT_EQ(contract->worker_policy.tdx->rtmr[0], V{*base::HexDecode(rtmr0)});
  EXPECT_TRUE(contract->worker_policy.accepted_weaknesses.empty());

  ASSERT_EQ(RunCommand("cp -r " + fw_cfg + " " + dir_.File("fw_cfg") + " && rm " +
                           dir_.File("fw_cfg/etc/acpi/rsdp"),
                       &out_),
            0);
  ASSERT_EQ(Run(absl::StrCat("measure tdx --firmware ", dir_.File("OVMF.fd"), " --kernel ", tdx,
                             "kernel-a.efi --memory 2G --fw-cfg ", dir_.File("fw_cfg"))),
            1);
  EXPECT_THAT(out_, ::testing::HasSubstr(
                        "triad: --fw-cfg: etc/acpi/rsdp, which etc/table-loader allocates: "));
  ASSERT_EQ(
      Run(absl::StrCat("measure tdx --kernel ", tdx, "kernel-a.efi --memory 2G --fw-cfg ", fw_cfg)),
      1);
  EXPECT_EQ(Lines(), V{"triad: --fw-cfg needs --firmware (RTMR0 measures the firmware's TD HOB "
                       "layout and CFV)"});
}

// SEV-SNP: a TCB floor is required (explicit, or from a VCEK), VMPL 0 unless told, host data and
// ID key pins.
TEST_F(ContractCliTest, SnpPolicyFlags) {
  const std::string base = DraftWithoutPolicy() + " --snp-measurement " + std::string(96, 'c');
  EXPECT_EQ(Run(base), 1);
  EXPECT_EQ(Lines(), V{"triad: a minimum SEV-SNP TCB is required with an SEV-SNP measurement "
                       "(bootloader, tee, snp and microcode SVNs: the oldest firmware and "
                       "microcode the parties accept): give --snp-min-tcb "
                       "bootloader=N,tee=N,snp=N,microcode=N or --snp-min-tcb vcek:FILE"});
  EXPECT_EQ(Run(base + " --snp-min-tcb bl=3,tee=0"), 1);
  EXPECT_EQ(Lines(), V{"triad: --snp-min-tcb \"bl=3,tee=0\": expected "
                       "bootloader=N,tee=N,snp=N,microcode=N[,fmc=N] (0..255 each) or vcek:FILE"});
  EXPECT_EQ(Run(base + " --snp-min-tcb bl=0,tee=0,snp=0,ucode=0"), 1);
  EXPECT_THAT(out_, ::testing::HasSubstr("sev_snp: min_tcb is all zero"));
  EXPECT_EQ(Run(base + " --snp-min-tcb bl=3,tee=0,snp=8,ucode=115 --snp-host-data 00"), 1);
  EXPECT_EQ(Lines(),
            V{"triad: --snp-host-data: \"00\" is not 32 bytes of hex (64 digits)"});
  // The TCB a real Milan VCEK certifies (MANIFEST: bl 3, tee 0, snp 8, ucode 115).
  ASSERT_EQ(Run(base + " --snp-min-tcb vcek:" + testing::TestdataDir() +
                "/attestation/snp/virtee-milan/vcek.der --snp-host-data " + std::string(64, '1') +
                " --snp-id-key-digest " + std::string(96, '2')),
            0)
      << out_;
  auto env = crypto::DsseEnvelope::FromJson(testing::ReadTestFile(Contract()));
  auto c = contracts::Contract::FromPayload(env->payload);
  ASSERT_TRUE(c.ok()) << c.status();
  const contracts::SnpReference& r = *c->worker_policy.sev_snp;
  EXPECT_EQ(r.min_tcb, (contracts::SnpTcb{3, 0, 8, 115, 0}));
  EXPECT_FALSE(r.check_fmc);
  EXPECT_EQ(r.allowed_vmpls, std::vector<uint32_t>{0});
  EXPECT_EQ(r.host_data, V{std::string(32, '\x11')});
  EXPECT_EQ(r.id_key_digests, V{std::string(48, '\x22')});
  EXPECT_TRUE(c->worker_policy.accepted_weaknesses.empty());
  std::remove(Contract().c_str());
  ASSERT_EQ(Run(base + " --snp-min-tcb bootloader=4,tee=1,snp=24,microcode=217,fmc=2 --snp-vmpl "
                       "0 --snp-vmpl 1"),
            0)
      << out_;
  env = crypto::DsseEnvelope::FromJson(testing::ReadTestFile(Contract()));
  c = contracts::Contract::FromPayload(env->payload);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->worker_policy.sev_snp->min_tcb, (contracts::SnpTcb{4, 1, 24, 217, 2}));
  EXPECT_TRUE(c->worker_policy.sev_snp->check_fmc);
  EXPECT_EQ(c->worker_policy.sev_snp->allowed_vmpls, (std::vector<uint32_t>{0, 1}));
  std::remove(Contract().c_str());
  EXPECT_EQ(Run(base + " --snp-min-tcb vcek:" + dir_.File("data.age")), 1);
  EXPECT_THAT(out_, ::testing::HasSubstr("triad: --snp-min-tcb " + dir_.File("data.age") + ": "));
}

// Training on GPUs: the training section asks for them, the policy attests as many.
TEST_F(ContractCliTest, GpuContracts) {
  const std::string gpu_policy =
      R"({"tee": ["sim"], "sim": {"measurements": [")" + std::string(96, 'a') +
      R"("]}, "nvidia_gpu": {"count": 2, "architectures": ["hopper"], "cc_mode": "on",
          "min_driver_version": "550.54.15", "min_vbios_version": "96.00.74.00.1C"}})";
  testing::WriteTestFile(dir_.File("gpu-policy.json"), gpu_policy);
  nlohmann::json training = contracts::TrainingConfig::Default().ToJson();
  training["gpus"] = 2;
  testing::WriteTestFile(dir_.File("gpu-training.json"), training.dump());
  EXPECT_EQ(Run(DraftWithoutPolicy() + " --policy " + dir_.File("gpu-policy.json")), 1);
  EXPECT_EQ(Lines(), V{"triad: contract: /worker_policy/nvidia_gpu/count: 2, but training asks "
                       "for 0 GPUs (/training/gpus)"});
  EXPECT_EQ(Run(DraftWithoutPolicy() + " --policy " + dir_.File("policy.json") + " --training " +
                dir_.File("gpu-training.json")),
            1);
  EXPECT_THAT(out_, ::testing::HasSubstr("training asks for 2 GPUs but the policy has no "
                                         "nvidia_gpu section"));
  ASSERT_EQ(Run(DraftWithoutPolicy() + " --policy " + dir_.File("gpu-policy.json") +
                " --training " + dir_.File("gpu-training.json")),
            0)
      << out_;
  ASSERT_EQ(Run("contract show " + Contract()), 0);
  EXPECT_THAT(out_, ::testing::HasSubstr(
                        "  nvidia-gpu     2 GPUs (hopper), CC mode on and ready, protected PCIe, "
                        "driver >= 550.54.15, VBIOS >= 96.00.74.00.1C\n    RIMs         "
                        "required\n    OCSP         required\n"));
}

TEST_F(ContractCliTest, DraftRefusals) {
  std::string cards = absl::StrCat(" --model-owner ", Keys(), "/mo.card.json --data-owner ", Keys(),
                                   "/do.card.json");
  std::string rest =
      absl::StrCat(" --model sha256:", std::string(64, '1'),
                   " --model-name m --dataset sha256:", std::string(64, '2'),
                   " --dataset-name d --policy ", dir_.File("policy.json"), " --out ", Contract());
  std::string good = "contract draft" + cards + " --provider " + Keys() + "/cp.card.json" + rest;
  EXPECT_EQ(Run("contract draft" + cards + " --provider " + Keys() + "/do.card.json" + rest +
                " --valid-for 1d"),
            1);
  EXPECT_EQ(Lines(), V{"triad: --compute-provider: " + Keys() +
                       "/do.card.json is the card of a data-owner, not of a compute-provider"});
  // Bad flag values are usage errors (exit 2) that name the flag, before anything is read.
  EXPECT_EQ(Run(good + " --valid-for 0d"), 2);
  EXPECT_EQ(Lines(), V{"triad: --valid-for: \"0d\" is not a duration from 1s to 3650d (examples: "
                       "30d, 12h, 90m); see 'triad contract draft --help'"});
  EXPECT_EQ(Run(good + " --valid-for 30"), 2);
  EXPECT_EQ(Lines(), V{"triad: --valid-for: \"30\" is not a duration from 1s to 3650d (examples: "
                       "30d, 12h, 90m); see 'triad contract draft --help'"});
  EXPECT_EQ(Run(good + " --valid-for soon"), 2);
  EXPECT_EQ(Run(good + " --valid-for 1d --id 'bad id'"), 2);
  EXPECT_EQ(Lines(), V{"triad: --id: \"bad id\": name may hold only letters, digits, '.', '_' and "
                       "'-'; see 'triad contract draft --help'"});
  EXPECT_FALSE(std::filesystem::exists(Contract()));
  EXPECT_EQ(Run("contract draft" + cards + " --provider " + Keys() +
                "/cp.card.json --model sha256:12 --model-name m"
                " --dataset sha256:" +
                std::string(64, '2') + " --dataset-name d --policy " + dir_.File("policy.json") +
                " --out " + Contract() + " --valid-for 1d"),
            1);
  EXPECT_EQ(Lines(), V{"triad: --model: \"sha256:12\" is not sha256:<64 lower-case hex digits>"});
  EXPECT_EQ(Run("contract draft" + cards + " --provider " + Keys() +
                "/cp.card.json --model sha256:" + std::string(64, '1') +
                " --dataset sha256:" + std::string(64, '2') + " --dataset-name d --policy " +
                dir_.File("policy.json") + " --out " + Contract() + " --valid-for 1d"),
            1);
  EXPECT_EQ(Lines(), V{"triad: --model gives an artifact id; name it with --model-name"});
  testing::WriteTestFile(dir_.File("training.json"), R"({"method": "lora", "rank": 0, "alpha": 8,
    "target_modules": ["lm_head"], "learning_rate": 1e-4, "batch_size": 1, "sequence_length": 8, "seed": 0})");
  EXPECT_EQ(Run(good + " --valid-for 1d --training " + dir_.File("training.json")), 1);
  EXPECT_EQ(
      Lines(),
      V{"triad: --training " + dir_.File("training.json") +
        ": training: /rank: 0 is less than minimum 1; /target_modules/0: lm_head is refused: LoRA "
        "adapts "
        "only the attention and MLP projections (q_proj k_proj v_proj o_proj gate_proj up_proj "
        "down_proj), never embed_tokens or lm_head"});
  testing::WriteTestFile(dir_.File("bad-policy.json"),
                         R"({"tee": ["sim", "tdx"], "sim": {"measurements": []}})");
  EXPECT_EQ(Run("contract draft" + cards + " --provider " + Keys() +
                "/cp.card.json --model sha256:" + std::string(64, '1') +
                " --model-name m --dataset sha256:" + std::string(64, '2') +
                " --dataset-name d --policy " + dir_.File("bad-policy.json") + " --out " +
                Contract() + " --valid-for 1d"),
            1);
  EXPECT_EQ(Lines(),
            V{"triad: --policy " + dir_.File("bad-policy.json") +
              ": worker policy: /sim/measurements: has 0 items, fewer than the minimum 1"});
  EXPECT_EQ(Run("contract draft" + cards + " --provider " + Keys() +
                "/cp.card.json --model sha256:" + std::string(64, '1') +
                " --model-name m --dataset sha256:" + std::string(64, '1') +
                " --dataset-name d --policy " + dir_.File("policy.json") + " --out " + Contract() +
                " --valid-for 1d"),
            1);
  EXPECT_EQ(Lines(), V{"triad: contract: /dataset/id: the same artifact as base_model"});
}

TEST_F(ContractCliTest, VerifyListsEveryReasonOneALine) {
  ASSERT_EQ(Draft(), 0) << out_;
  ASSERT_EQ(Sign("do"), 0) << out_;
  EXPECT_EQ(Verify(" --now 2025-08-01T00:00:00Z"), 1);
  EXPECT_EQ(
      Lines(),
      (V{"triad: no signature by model_owner \"mo\" (key " + Fingerprint("mo") + ")",
         "triad: no signature by compute_provider \"cp\" (key " + Fingerprint("cp") + ")",
         "triad: expired: now 2025-08-01T00:00:00Z is not before not_after 2025-07-31T00:00:00Z"}));
  EXPECT_EQ(Verify(" --now 2025-07-02T00:00:00Z --json"), 1);
  auto j = nlohmann::json::parse(out_);
  EXPECT_EQ(j["active"], false);
  EXPECT_EQ(j["signatures"]["data_owner"], "valid");
  EXPECT_EQ(j["reasons"].size(), 2u);
  EXPECT_EQ(Verify(" --now yesterday"), 2);
  EXPECT_EQ(Lines(), V{"triad: --now: \"yesterday\" is not an RFC 3339 time "
                       "(2025-07-01T12:00:00Z); see 'triad contract verify --help'"});
  EXPECT_EQ(Run("contract verify " + dir_.File("missing.json")), 1);
  EXPECT_EQ(Lines(),
            V{"triad: opening " + dir_.File("missing.json") + ": No such file or directory"});
  testing::WriteTestFile(dir_.File("junk.json"), "{}");
  EXPECT_EQ(Run("contract verify " + dir_.File("junk.json")), 1);
  EXPECT_EQ(Lines(), V{"triad: " + dir_.File("junk.json") +
                       ": DSSE envelope: \"payload\" missing or not a string"});
}

TEST_F(ContractCliTest, TamperedFourthSignatureAndNotYetValid) {
  ASSERT_EQ(Draft(), 0) << out_;
  for (const char* who : {"mo", "do", "cp"}) ASSERT_EQ(Sign(who), 0) << out_;
  std::string signed_text = testing::ReadTestFile(Contract());
  EXPECT_EQ(Verify(" --now 2025-06-30T00:00:00Z"), 1);
  EXPECT_EQ(Lines(), V{"triad: not yet valid: now 2025-06-30T00:00:00Z is before not_before "
                       "2025-07-01T00:00:00Z"});

  // One byte of the payload changed (the dataset name), re-encoded: every signature fails.
  auto env = crypto::DsseEnvelope::FromJson(signed_text);
  ASSERT_TRUE(env.ok());
  crypto::DsseEnvelope t = *env;
  size_t at = t.payload.find("claims-notes");
  ASSERT_NE(at, std::string::npos);
  t.payload[at] = 'C';
  testing::WriteTestFile(Contract(), t.ToJson());
  EXPECT_EQ(Verify(), 1);
  EXPECT_EQ(
      Lines(),
      (V{"triad: signature by model_owner \"mo\" (key " + Fingerprint("mo") + ") does not verify",
         "triad: signature by data_owner \"do\" (key " + Fingerprint("do") + ") does not verify",
         "triad: signature by compute_provider \"cp\" (key " + Fingerprint("cp") +
             ") does not verify"}));

  // The auditor cannot sign: not a party.
  testing::WriteTestFile(Contract(), signed_text);
  EXPECT_EQ(Sign("aud"), 1);
  EXPECT_EQ(Lines(), V{"triad: " + Contract() + ": key " + Fingerprint("aud") +
                       " is not a party of contract c-test (model_owner " + Fingerprint("mo") +
                       ", data_owner " + Fingerprint("do") + ", compute_provider " +
                       Fingerprint("cp") + ")"});
  EXPECT_EQ(testing::ReadTestFile(Contract()), signed_text);
  // A fourth signature added by hand is rejected by verify.
  crypto::DsseEnvelope four = *env;
  four.signatures.push_back({Fingerprint("aud"), std::string(64, 'x')});
  testing::WriteTestFile(Contract(), four.ToJson());
  EXPECT_EQ(Verify(), 1);
  EXPECT_EQ(Lines(), V{"triad: signature 3 with key id \"" + Fingerprint("aud") +
                       "\" is not by a party of the contract"});
}

TEST_F(ContractCliTest, SignRefusesTwiceExpiredAndAForeignCard) {
  ASSERT_EQ(Draft(), 0) << out_;
  ASSERT_EQ(Sign("mo"), 0) << out_;
  std::string once = testing::ReadTestFile(Contract());
  EXPECT_EQ(Sign("mo"), 1);
  EXPECT_EQ(Lines(), V{"triad: " + Contract() + ": model_owner \"mo\" (key " + Fingerprint("mo") +
                       ") has already signed contract c-test"});
  EXPECT_EQ(testing::ReadTestFile(Contract()), once);
  EXPECT_EQ(
      Run("contract sign " + Contract() + " --as " + Keys() + "/do --now 2025-08-01T00:00:00Z"), 1);
  EXPECT_EQ(Lines(), V{"triad: " + Contract() +
                       ": contract c-test expired at 2025-07-31T00:00:00Z; draft a new one"});
  EXPECT_EQ(Run("contract sign " + Contract() + " --as " + Keys() + "/nobody"), 1);
  EXPECT_EQ(Lines(),
            V{"triad: opening " + Keys() + "/nobody.card.json: No such file or directory"});

  // A contract that names the data owner's key beside someone else's age recipient.
  auto card = nlohmann::ordered_json::parse(testing::ReadTestFile(Keys() + "/do.card.json"));
  auto other = nlohmann::ordered_json::parse(testing::ReadTestFile(Keys() + "/aud.card.json"));
  card["age_recipient"] = other["age_recipient"];
  testing::WriteTestFile(dir_.File("forged.card.json"), card.dump(2) + "\n");
  ::unlink(Contract().c_str());
  std::string args = DraftArgs();
  args.replace(args.find(Keys() + "/do.card.json"), (Keys() + "/do.card.json").size(),
               dir_.File("forged.card.json"));
  ASSERT_EQ(Run(args + " --out " + Contract()), 0) << out_;
  EXPECT_EQ(Sign("do"), 1);
  EXPECT_EQ(Lines(),
            V{"triad: contract c-test names your key as data_owner with a card that differs from " +
              Keys() + "/do.card.json (name \"do\", age recipient " +
              other["age_recipient"].get<std::string>() + "); refusing to sign"});
}

TEST_F(ContractCliTest, ConcurrentSignersAllLand) {
  ASSERT_EQ(Draft(), 0) << out_;
  std::string cmd;
  for (const char* who : {"mo", "do", "cp"}) {
    cmd += Triad() + " contract sign " + Contract() + " --as " + Keys() + "/" + who +
           " --now 2025-07-02T00:00:00Z & ";
  }
  ASSERT_EQ(RunCommand(cmd + "wait", &out_), 0) << out_;
  EXPECT_EQ(Verify(), 0) << out_;
}

TEST_F(ContractCliTest, ShowPrintsTermsAndSignatureStatus) {
  ASSERT_EQ(Draft(), 0) << out_;
  ASSERT_EQ(Sign("cp"), 0) << out_;
  ASSERT_EQ(Run("contract show " + Contract() + " --now 2025-07-02T00:00:00Z"), 0) << out_;
  for (const std::string& line :
       {std::string("Contract c-test  (triad.contract/v1)"),
        std::string("  valid          2025-07-01T00:00:00Z to 2025-07-31T00:00:00Z"),
        std::string("  compute_provider  \"cp\"  signature: valid"),
        std::string("  model_owner  \"mo\"  signature: missing"),
        "    key          " + Fingerprint("do"),
        std::string("  dataset        claims-notes  sha256:"),
        std::string("  rank 8, alpha 16.0, dropout 0.05, rsLoRA no"),
        std::string("  target modules q_proj k_proj v_proj o_proj gate_proj up_proj down_proj"),
        std::string("  TEE kinds      sim"),
        std::string("  sim            SIMULATED: no hardware protection"),
        "    measurement  " + std::string(96, 'a'),
        std::string("  adapter to     model_owner, data_owner"),
        std::string("  per-step loss  stays in the TEE"),
        std::string("Status: not active at 2025-07-02T00:00:00Z"),
        "  - no signature by model_owner \"mo\" (key " + Fingerprint("mo") + ")"}) {
    EXPECT_NE(out_.find(line), std::string::npos) << "missing: " << line << "\n" << out_;
  }
  ASSERT_EQ(Run("contract show " + Contract() + " --json"), 0) << out_;
  auto j = nlohmann::json::parse(out_);
  EXPECT_EQ(j["contract"]["id"], "c-test");
  EXPECT_EQ(j["status"]["signatures"]["compute_provider"], "valid");
}

}  // namespace
}  // namespace triad
