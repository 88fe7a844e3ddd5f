// triad attest verify: checks attestation evidence offline against pinned roots.
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "attestation/binding.h"
#include "attestation/evidence_verifier.h"
#include "attestation/nvidia_gpu.h"
#include "attestation/roots.h"
#include "attestation/verifier.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/status.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "contracts/claims.h"
#include "nlohmann/json.hpp"

namespace triad::cli {
namespace {

constexpr size_t kMaxEvidenceSize = 1 << 20;
constexpr size_t kMaxCertsSize = 1 << 20;
constexpr size_t kMaxCollateralSize = 4 << 20;

struct VerifyFlags {
  std::string format;
  std::string evidence;
  std::string certs;
  std::string collateral;
  std::string roots;
  std::string now;
  std::string report_data;
  std::string nonce;
  bool json = false;
};

// A usage problem found after parsing: reported like CLI11's own errors, exit 2.
int Usage(absl::string_view message) {
  std::cerr << "triad attest verify: " << message << "\nRun with --help for more information."
            << std::endl;
  return kExitUsage;
}

absl::StatusOr<std::string> ReadInput(const std::string& path, size_t max, absl::string_view what) {
  return base::Annotate(base::ReadFile(path, max), absl::StrCat("reading ", what));
}

void PrintText(const attestation::Verdict& v, const std::string& tee) {
  std::cout << "verdict: " << (v.valid ? "valid" : "invalid") << "\n"
            << "tee: " << tee << "\n";
  for (const std::string& r : v.reasons) std::cout << "reason: " << r << "\n";
  if (!v.valid) return;
  const contracts::Claims& c = v.claims;
  if (c.simulated()) std::cout << "SIMULATED: no hardware protection\n";
  std::cout << "measurement: " << base::HexEncode(c.measurement) << "\n"
            << "report_data: " << base::HexEncode(c.report_data) << "\n"
            << "debug: " << (c.debug ? "true" : "false") << "\n"
            << "tcb_status: " << c.tcb_status << "\n";
  if (!c.platform_id.empty())
    std::cout << "platform_id: " << base::HexEncode(c.platform_id) << "\n";
  if (c.snp) {
    const contracts::SnpClaims& s = *c.snp;
    std::cout << "snp: version " << s.version << ", " << s.product << ", signed by "
              << s.signing_key << ", policy 0x" << std::hex << s.policy << std::dec << ", vmpl "
              << s.vmpl << ", reported_tcb bl " << int{s.reported_tcb.bootloader} << " tee "
              << int{s.reported_tcb.tee} << " snp " << int{s.reported_tcb.snp} << " ucode "
              << int{s.reported_tcb.microcode} << " fmc " << int{s.reported_tcb.fmc} << "\n";
  }
  for (const std::string& a : c.advisory_ids) std::cout << "advisory: " << a << "\n";
}

void PrintGpuText(const attestation::GpuVerdict& v) {
  std::cout << "verdict: " << (v.valid ? "valid" : "invalid") << "\n"
            << "tee: " << contracts::kTeeNvidiaGpu << "\n";
  for (const std::string& r : v.reasons) std::cout << "reason: " << r << "\n";
  if (!v.valid) return;
  const attestation::GpuClaims& c = v.claims;
  std::cout << "device_certificate: " << c.device_certificate << "\n"
            << "nonce: " << base::HexEncode(c.nonce) << "\n"
            << "driver_version: " << c.driver_version << "\n"
            << "vbios_version: " << c.vbios_version << "\n"
            << "board: project " << c.project << ", project SKU " << c.project_sku
            << ", chip SKU " << c.chip_sku << "\n"
            << "fwid: "
            << (c.fwid.empty() ? "none in the report"
                               : absl::StrCat(base::HexEncode(c.fwid),
                                              c.fwid_bound ? " (= the device certificate's)"
                                                           : " (the certificate has none)"))
            << "\n"
            << "measurements: " << c.measurements.size()
            << " blocks (not compared: NVIDIA's reference values are an online service)\n";
}

// --format nvidia-gpu: the report (binary or hex) and its certificate chain.
int VerifyGpu(const VerifyFlags& f, absl::Time now) {
  if (f.certs.empty()) return Usage("--format nvidia-gpu needs --certs (the GPU's certificate chain)");
  std::string expected_nonce;
  if (!f.nonce.empty()) {
    absl::StatusOr<std::string> n = base::HexDecode(f.nonce);
    if (!n.ok() || n->size() != 32) return Usage("--nonce must be 32 bytes in hex (64 hex digits)");
    expected_nonce = *n;
  }
  absl::StatusOr<std::string> file = ReadInput(f.evidence, kMaxEvidenceSize, "--evidence");
  if (!file.ok()) return Fail(file.status());
  absl::StatusOr<std::string> report = attestation::GpuReportBytes(*file);
  if (!report.ok()) return Fail(base::Annotate(report.status(), "--evidence"));
  absl::StatusOr<std::string> chain = ReadInput(f.certs, kMaxCertsSize, "--certs");
  if (!chain.ok()) return Fail(chain.status());
  const std::string roots_dir = f.roots.empty() ? attestation::DefaultRootsDir() : f.roots;
  absl::StatusOr<attestation::TrustAnchors> anchors = attestation::TrustAnchors::LoadDir(roots_dir);
  if (!anchors.ok())
    return Fail(base::Annotate(anchors.status(), "loading the trust anchors (--roots)"));

  attestation::GpuVerdict v = attestation::VerifyNvidiaGpuReport(*report, *chain, *anchors, now);
  if (v.valid && !expected_nonce.empty() && v.claims.nonce != expected_nonce) {
    v.valid = false;
    v.reasons.push_back(absl::StrCat("--nonce: the report's nonce is ",
                                     base::HexEncode(v.claims.nonce), ", not the expected ",
                                     base::HexEncode(expected_nonce)));
    v.claims = attestation::GpuClaims();
  }
  if (f.json) {
    nlohmann::ordered_json j;
    j["verdict"] = v.valid ? "valid" : "invalid";
    j["tee"] = contracts::kTeeNvidiaGpu;
    j["reasons"] = v.reasons;
    j["claims"] = v.valid ? v.claims.ToJson() : nlohmann::ordered_json::object();
    std::cout << j.dump() << "\n";
  } else {
    PrintGpuText(v);
  }
  std::cout.flush();
  if (!v.valid) {
    if (!f.json) std::cerr << "triad: the nvidia-gpu report does not verify" << std::endl;
    return kExitFailure;
  }
  return kExitOk;
}

int Verify(const VerifyFlags& f) {
  // Checks of the command line that CLI11 cannot express: exit 2.
  const bool gpu = f.format == contracts::kTeeNvidiaGpu;
  if (!f.certs.empty() && f.format != contracts::kTeeSevSnp && !gpu)
    return Usage("--certs is for --format sev-snp and nvidia-gpu only");
  if (!f.nonce.empty() && !gpu) return Usage("--nonce is for --format nvidia-gpu only");
  if (!f.report_data.empty() && gpu) {
    return Usage("--report-data is for CPU evidence; a GPU report carries a 32-byte --nonce");
  }
  if (!f.collateral.empty() && f.format != contracts::kTeeTdx)
    return Usage("--collateral is for --format tdx only");
  absl::Time now = base::SystemClock().Now();
  if (!f.now.empty() && !base::ParseRfc3339(f.now, &now)) {
    return Usage(
        absl::StrCat("--now \"", f.now, "\" is not an RFC 3339 time (2025-06-01T00:00:00Z)"));
  }
  std::string expected_report_data;
  if (!f.report_data.empty()) {
    absl::StatusOr<std::string> rd = base::HexDecode(f.report_data);
    if (!rd.ok() || rd->size() != attestation::kReportDataSize) {
      return Usage("--report-data must be 64 bytes in hex (128 hex digits)");
    }
    expected_report_data = *rd;
  }
  if (gpu) return VerifyGpu(f, now);

  attestation::Evidence ev;
  ev.tee = f.format;
  absl::StatusOr<std::string> report = ReadInput(f.evidence, kMaxEvidenceSize, "--evidence");
  if (!report.ok()) return Fail(report.status());
  ev.report = std::move(*report);
  if (!f.certs.empty()) {
    absl::StatusOr<std::string> certs = ReadInput(f.certs, kMaxCertsSize, "--certs");
    if (!certs.ok()) return Fail(certs.status());
    ev.certs = std::move(*certs);
  }
  if (!f.collateral.empty()) {
    absl::StatusOr<std::string> collateral =
        ReadInput(f.collateral, kMaxCollateralSize, "--collateral");
    if (!collateral.ok()) return Fail(collateral.status());
    ev.collateral = std::move(*collateral);
  }
  const std::string roots_dir = f.roots.empty() ? attestation::DefaultRootsDir() : f.roots;
  absl::StatusOr<attestation::TrustAnchors> anchors = attestation::TrustAnchors::LoadDir(roots_dir);
  if (!anchors.ok())
    return Fail(base::Annotate(anchors.status(), "loading the trust anchors (--roots)"));

  attestation::Verdict v = attestation::NewEvidenceVerifier(*anchors)->Verify(ev, now);
  if (v.valid && !expected_report_data.empty()) {
    absl::Status bound = attestation::CheckReportData(v.claims, expected_report_data);
    if (!bound.ok()) {
      v.valid = false;
      v.reasons.push_back(absl::StrCat("--report-data: ", bound.message()));
      v.claims = contracts::Claims();
    }
  }

  if (f.json) {
    nlohmann::ordered_json j;
    j["verdict"] = v.valid ? "valid" : "invalid";
    j["tee"] = f.format;
    j["reasons"] = v.reasons;
    j["claims"] = v.valid ? v.claims.ToJson() : nlohmann::ordered_json::object();
    std::cout << j.dump() << "\n";
  } else {
    PrintText(v, f.format);
  }
  std::cout.flush();
  if (!v.valid) {
    if (!f.json) std::cerr << "triad: the " << f.format << " evidence does not verify" << std::endl;
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

void AddAttestCommands(CLI::App& app, Context& ctx) {
  CLI::App* attest = app.add_subcommand("attest", "Attestation evidence");
  attest->require_subcommand(1);

  auto flags = std::make_shared<VerifyFlags>();
  CLI::App* verify =
      attest->add_subcommand("verify",
                             "Verify attestation evidence offline against pinned vendor roots. "
                             "Exit 0 valid, 1 invalid, 2 usage. "
                             "--roots defaults to $TRIAD_ROOTS_DIR, else the roots shipped in the "
                             "source tree this binary was built from.");
  verify->add_option("--format", flags->format, "Evidence kind: sev-snp, tdx, sim or nvidia-gpu")
      ->required()
      ->check(CLI::IsMember({"sev-snp", "tdx", "sim", "nvidia-gpu"}));
  verify
      ->add_option("--evidence", flags->evidence,
                   "SNP attestation report, TDX quote, or sim evidence (binary); NVIDIA GPU "
                   "report (SPDM, binary or hex)")
      ->required();
  verify->add_option("--certs", flags->certs,
                     "sev-snp: the VCEK/VLEK (DER or PEM; a PEM bundle's other certificates are "
                     "only intermediates), or the extended-report certificate table; nvidia-gpu: "
                     "the GPU's certificate chain (PEM, device certificate first)");
  verify->add_option("--collateral", flags->collateral,
                     "tdx: collateral JSON (dcap-qvl QuoteCollateralV3 form)");
  verify->add_option("--roots", flags->roots,
                     "Directory of pinned roots (layout of attestation/roots/)");
  verify->add_option("--now", flags->now, "Verification time, RFC 3339 (default: now)")
      ->check(TimeValue());
  verify->add_option("--report-data", flags->report_data, "Expected report data, 64 bytes in hex");
  verify->add_option("--nonce", flags->nonce,
                     "nvidia-gpu: the expected nonce of the report's request, 32 bytes in hex");
  verify->add_flag("--json", flags->json, "Print {verdict, tee, reasons, claims} as JSON");
  verify->callback([flags, &ctx] { ctx.exit_code = Verify(*flags); });
}

}  // namespace triad::cli
