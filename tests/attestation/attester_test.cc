// The configfs-tsm attester against a fake report directory that behaves like the kernel's
// (Documentation/ABI/testing/configfs-tsm): mkdir of an entry creates its attributes, a write to
// inblob bumps generation, rmdir removes the entry. The fake outblob is real SNP evidence.
#include "attestation/attester.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "attestation/evidence_verifier.h"
#include "attestation/internal/snp_certs.h"
#include "attestation/roots.h"
#include "attestation/snp.h"
#include "base/file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/attestation/snp_forge.h"
#include "tests/testing/testing.h"

namespace triad::attestation {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1748736000);

std::string Shared(const std::string& rel) {
  return testing::ReadTestFile(testing::TestdataDir() + "/attestation/" + rel);
}

// Stands in for the kernel on top of a real directory.
class FakeKernel final : public TsmFs {
 public:
  std::string provider = "sev_guest\n";
  std::string outblob;
  std::optional<std::string> auxblob;
  bool race = false;  // someone else writes inblob between our write and our reads
  mutable std::string last_inblob;
  mutable int entries_created = 0;

  bool IsDirectory(const std::string& path) const override {
    return PosixTsmFs().IsDirectory(path);
  }
  absl::Status MakeDirectory(const std::string& path) const override {
    absl::Status st = PosixTsmFs().MakeDirectory(path);
    if (!st.ok()) return st;
    ++entries_created;
    testing::WriteTestFile(path + "/provider", provider);
    testing::WriteTestFile(path + "/generation", "0\n");
    testing::WriteTestFile(path + "/inblob", "");
    testing::WriteTestFile(path + "/outblob", outblob);
    if (auxblob) testing::WriteTestFile(path + "/auxblob", *auxblob);
    return absl::OkStatus();
  }
  absl::Status RemoveDirectory(const std::string& path) const override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);  // configfs rmdir takes the attributes with it
    return ec ? absl::InternalError(ec.message()) : absl::OkStatus();
  }
  absl::StatusOr<std::string> Read(const std::string& path, size_t max_bytes) const override {
    return PosixTsmFs().Read(path, max_bytes);
  }
  absl::Status Write(const std::string& path, absl::string_view data) const override {
    absl::Status st = PosixTsmFs().Write(path, data);
    if (!st.ok()) return st;
    if (path.size() > 7 && path.substr(path.size() - 7) == "/inblob") {
      last_inblob = std::string(data);
      std::string dir = path.substr(0, path.size() - 7);
      int gen = std::stoi(testing::ReadTestFile(dir + "/generation"));
      testing::WriteTestFile(dir + "/generation", std::to_string(gen + (race ? 2 : 1)) + "\n");
    }
    return absl::OkStatus();
  }
};

std::string CertTable(const std::string& vcek_der) {
  std::vector<internal::SnpCertTableEntry> entries = {
      {internal::GuidBytes(internal::kSnpGuidVcek), vcek_der}};
  for (const auto& [guid, file] :
       {std::make_pair(internal::kSnpGuidAsk, "roots/amd_ask_milan.pem"),
        std::make_pair(internal::kSnpGuidArk, "roots/amd_ark_milan.pem")}) {
    absl::StatusOr<crypto::SslPtr<X509>> c = internal::ParsePemCertificate(Shared(file));
    EXPECT_TRUE(c.ok());
    entries.push_back({internal::GuidBytes(guid), forge::ToDer(c->get())});
  }
  // The kernel hands over whole pages.
  std::string t = internal::SerializeSnpCertTable(entries);
  return t + std::string(4096 - t.size() % 4096, '\0');
}

struct Tree {
  testing::TempDir dir;
  FakeKernel kernel;
  ConfigfsTsmOptions options;
  Tree() {
    options.report_dir = dir.File("report");
    ::mkdir(options.report_dir.c_str(), 0700);
    options.fs = &kernel;
    kernel.outblob = Shared("snp/gsg-milan/report.bin");
    kernel.auxblob = CertTable(Shared("snp/gsg-milan/vcek.der"));
  }
  bool Empty() const { return std::filesystem::is_empty(options.report_dir); }
};

std::string GsgReportData() { return Shared("snp/gsg-milan/report.bin").substr(0x50, 64); }

TEST(ConfigfsTsmTest, SnpEvidenceFromTheFakeKernelVerifies) {
  Tree t;
  absl::StatusOr<std::unique_ptr<Attester>> a = NewConfigfsTsmAttester(t.options);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->tee(), "sev-snp");
  EXPECT_TRUE(t.Empty());  // the probe entry is gone
  absl::StatusOr<Evidence> ev = (*a)->Attest(GsgReportData());
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(t.kernel.last_inblob, GsgReportData());
  EXPECT_EQ(t.kernel.entries_created, 2);
  EXPECT_TRUE(t.Empty());
  EXPECT_EQ(ev->tee, "sev-snp");
  EXPECT_EQ(ev->report, t.kernel.outblob);
  EXPECT_EQ(ev->certs, *t.kernel.auxblob);

  // The auxblob certificate table carries the VCEK and its ASK/ARK; the pinned ARK is what counts.
  absl::StatusOr<TrustAnchors> anchors = TrustAnchors::LoadDir(DefaultRootsDir());
  ASSERT_TRUE(anchors.ok());
  Verdict v = NewEvidenceVerifier(*anchors)->Verify(*ev, kNow);
  EXPECT_TRUE(v.valid) << ::testing::PrintToString(v.reasons);
  EXPECT_EQ(v.claims.report_data, GsgReportData());
}

TEST(ConfigfsTsmTest, OutblobMustCarryTheInblob) {
  Tree t;
  absl::StatusOr<std::unique_ptr<Attester>> a = NewConfigfsTsmAttester(t.options);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->Attest(std::string(64, 'x')).status().message(),
            "configfs-tsm: outblob REPORT_DATA is not the inblob written");
  EXPECT_EQ((*a)->Attest("short").status().message(), "report data must be 64 bytes, got 5");
  EXPECT_TRUE(t.Empty());
}

TEST(ConfigfsTsmTest, GenerationRaceIsDetected) {
  Tree t;
  t.kernel.race = true;
  absl::StatusOr<std::unique_ptr<Attester>> a = NewConfigfsTsmAttester(t.options);
  ASSERT_TRUE(a.ok());
  absl::Status st = (*a)->Attest(GsgReportData()).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(st.message()),
              HasSubstr(" was written by someone else while in use (generation 0 before our "
                        "write, 2 after reading outblob; expected 1); retry"));
  EXPECT_TRUE(t.Empty());
}

TEST(ConfigfsTsmTest, AuxblobAbsentEmptyOrMalformed) {
  Tree t;
  t.kernel.auxblob.reset();
  absl::StatusOr<std::unique_ptr<Attester>> a = NewConfigfsTsmAttester(t.options);
  ASSERT_TRUE(a.ok());
  absl::StatusOr<Evidence> ev = (*a)->Attest(GsgReportData());
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_THAT(ev->certs, IsEmpty());
  t.kernel.auxblob = std::string(4096, '\0');  // the host supplied no certificates
  EXPECT_TRUE((*a)->Attest(GsgReportData()).ok());
  t.kernel.auxblob = std::string(30, '\x01');
  EXPECT_EQ((*a)->Attest(GsgReportData()).status().message(),
            "configfs-tsm: auxblob: certificate table has no all-zero terminating entry");
  t.kernel.outblob = "short";
  EXPECT_EQ((*a)->Attest(GsgReportData()).status().message(),
            "configfs-tsm: outblob: SNP report is 5 bytes; an ATTESTATION_REPORT is exactly 1184 "
            "(0x4A0)");
}

TEST(ConfigfsTsmTest, TdxProviderGivesTheQuote) {
  Tree t;
  t.kernel.provider = "tdx_guest\n";
  t.kernel.outblob = Shared("tdx/dcapqvl-v4-b0c06f/quote.bin");
  t.kernel.auxblob.reset();
  absl::StatusOr<std::unique_ptr<Attester>> a = NewConfigfsTsmAttester(t.options);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->tee(), "tdx");
  absl::StatusOr<Evidence> ev = (*a)->Attest(std::string(64, '\x07'));
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->tee, "tdx");
  EXPECT_EQ(ev->report, t.kernel.outblob);
  EXPECT_THAT(ev->certs, IsEmpty());
}

TEST(ConfigfsTsmTest, ProvidersAndTeeSelection) {
  Tree t;
  t.kernel.provider = "arm_cca_guest\n";
  absl::Status st = NewConfigfsTsmAttester(t.options).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(st.message()), HasSubstr("configfs-tsm provider \"arm_cca_guest\" at " +
                                                   t.options.report_dir + "/triad-"));
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("is not one Triad supports (sev_guest, tdx_guest)"));
  EXPECT_TRUE(t.Empty());

  t.kernel.provider = "tdx_guest";
  AttesterConfig config;
  config.tsm = t.options;
  EXPECT_EQ(NewAttester("sev-snp", config).status().message(),
            "--tee sev-snp: this machine's attestation provider is tdx");
  absl::StatusOr<std::unique_ptr<Attester>> tdx = NewAttester("auto", config);
  ASSERT_TRUE(tdx.ok()) << tdx.status();
  EXPECT_EQ((*tdx)->tee(), "tdx");
  EXPECT_TRUE(NewAttester("tdx", config).ok());
  EXPECT_EQ(NewAttester("sgx", config).status().message(),
            "unknown --tee \"sgx\" (expected auto, sev-snp, tdx, sim or coco)");
}

TEST(ConfigfsTsmTest, AutoNeverFallsBackToSim) {
  testing::TempDir dir;
  AttesterConfig config;
  config.tsm.report_dir = dir.File("no-tsm/report");
  // Even with a simulation key configured, auto does not use it.
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  config.sim_key_file = dir.File("sim.pem");
  ASSERT_TRUE(crypto::WriteSecretFile(config.sim_key_file, key.ToPem()).ok());
  absl::Status st = NewAttester("auto", config).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(
      st.message(),
      "--tee auto: no configfs-tsm attestation provider: " + config.tsm.report_dir +
          " does not exist (not a confidential VM, a kernel without CONFIG_TSM_REPORTS, or "
          "configfs not mounted); Triad never falls back to sim: use --tee sim for development");
  EXPECT_EQ(NewAttester("sev-snp", config).status().message(),
            "--tee sev-snp: no configfs-tsm attestation provider: " + config.tsm.report_dir +
                " does not exist (not a confidential VM, a kernel without CONFIG_TSM_REPORTS, or "
                "configfs not "
                "mounted)");
  absl::StatusOr<std::unique_ptr<Attester>> sim = NewAttester("sim", config);
  ASSERT_TRUE(sim.ok()) << sim.status();
  EXPECT_EQ((*sim)->tee(), "sim");
  config.sim_key_file.clear();
  EXPECT_EQ(NewAttester("sim", config).status().message(),
            "--tee sim needs a simulation key file (Ed25519 PKCS#8 PEM)");
}

TEST(ConfigfsTsmTest, PosixFsWritesAndReadsAttributes) {
  testing::TempDir dir;
  const TsmFs& fs = PosixTsmFs();
  std::string sub = dir.File("e");
  ASSERT_TRUE(fs.MakeDirectory(sub).ok());
  EXPECT_TRUE(fs.IsDirectory(sub));
  EXPECT_EQ(fs.MakeDirectory(sub).code(), absl::StatusCode::kAlreadyExists);
  testing::WriteTestFile(sub + "/inblob", "");
  ASSERT_TRUE(fs.Write(sub + "/inblob", std::string(64, 'a')).ok());
  EXPECT_EQ(*fs.Read(sub + "/inblob", 64), std::string(64, 'a'));
  EXPECT_EQ(fs.Read(sub + "/inblob", 63).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(fs.Read(sub + "/none", 10).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(fs.Write(sub + "/none", "x").code(),
            absl::StatusCode::kNotFound);  // attributes are never created
  ::unlink((sub + "/inblob").c_str());
  EXPECT_TRUE(fs.RemoveDirectory(sub).ok());
  EXPECT_FALSE(fs.IsDirectory(sub));
}

}  // namespace
}  // namespace triad::attestation
