// triad attest verify: checks attestation evidence offline against pinned roots.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attestation/binding.h"
#include "attestation/evidence_document.h"
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
constexpr size_t kMaxRimFileSize = 1 << 20;
constexpr size_t kMaxOcspFileSize = 16 * 1024;
constexpr char kFormatDocument[] = "document";

struct VerifyFlags {
  std::string format;
  std::string evidence;
  std::string certs;
  std::string collateral;
  std::string roots;
  std::string now;
  std::string report_data;
  std::string nonce;
  std::vector<std::string> rims;
  std::vector<std::string> ocsp;
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
            << "debug: " << (c.debug ? "true" : "false") << "\n";
  if (c.snp) {
    // SNP has no status list: say what was verified instead.
    const contracts::SnpTcb& t = c.snp->reported_tcb;
    std::cout << "tcb: bl " << int{t.bootloader} << " tee " << int{t.tee} << " snp " << int{t.snp}
              << " ucode " << int{t.microcode} << " fmc " << int{t.fmc} << " (certified by the "
              << c.snp->signing_key
              << "; SNP has no TCB status: a policy's min_tcb says whether it is enough)\n"
              << "amd crl: " << (c.snp->crl_checked ? "ARK CRL checked" : "not checked") << "\n";
  } else {
    std::cout << "tcb_status: " << c.tcb_status << "\n";
  }
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
  if (c.gpu_cc) {
    const contracts::GpuCcState& cc = *c.gpu_cc;
    std::cout << "gpu cc: " << (cc.cc_on() ? "on" : "OFF") << ", environment "
              << (cc.production() ? "production" : absl::StrCat(cc.environment)) << ", devtools "
              << (cc.devtools() ? "ON" : "off") << ", protected PCIe "
              << (cc.protected_pcie() ? "on" : "off") << ", ready " << (cc.ready() ? "yes" : "no")
              << "\n";
  }
  for (const contracts::GpuClaims& g : c.gpus) {
    std::cout << "gpu " << g.index << ": " << g.uuid << ", " << g.chip << " ("
              << (g.architecture.empty() ? "unknown" : g.architecture) << "), driver "
              << g.driver_version << ", VBIOS " << g.vbios_version << ", RIMs "
              << (g.measurements_match ? "matched" : "not all checked") << ", OCSP "
              << g.device_revocation << "\n";
  }
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
            << "chip: " << c.chip << " (" << (c.architecture.empty() ? "unknown" : c.architecture)
            << ")\n"
            << "device revocation (OCSP): " << c.device_revocation << "\n";
  if (c.trailing_zero_bytes > 0) {
    std::cout << "padding: " << c.trailing_zero_bytes
              << " zero bytes after the signature (not signed)\n";
  }
  for (const contracts::GpuRimClaims& r : c.rims) {
    std::cout << "rim: " << r.kind << " " << r.version << " signed by \"" << r.signer
              << "\", every active measurement matches, OCSP " << r.revocation << "\n";
  }
  std::cout << "measurements: " << c.measurements.size() << " blocks, "
            << (c.measurements_match
                    ? "all reference measurements matched (driver and VBIOS RIMs)"
                    : c.rims.empty() ? "not compared (no RIM given: --rim)"
                                     : "only partly compared (a driver and a VBIOS RIM are needed)")
            << "\n";
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
  attestation::GpuCollateral collateral;
  for (const std::string& rim : f.rims) {
    absl::StatusOr<std::string> text = ReadInput(rim, kMaxRimFileSize, "--rim");
    if (!text.ok()) return Fail(text.status());
    collateral.rims.push_back(*std::move(text));
  }
  for (const std::string& ocsp : f.ocsp) {
    absl::StatusOr<std::string> der = ReadInput(ocsp, kMaxOcspFileSize, "--ocsp");
    if (!der.ok()) return Fail(der.status());
    collateral.ocsp.push_back(*std::move(der));
  }
  const std::string roots_dir = f.roots.empty() ? attestation::DefaultRootsDir() : f.roots;
  absl::StatusOr<attestation::TrustAnchors> anchors = attestation::TrustAnchors::LoadDir(roots_dir);
  if (!anchors.ok())
    return Fail(base::Annotate(anchors.status(), "loading the trust anchors (--roots)"));

  attestation::GpuVerdict v =
      attestation::VerifyNvidiaGpu(*report, *chain, collateral, *anchors, now);
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
  const bool document = f.format == kFormatDocument;
  if (!f.collateral.empty() && f.format != contracts::kTeeTdx && f.format != contracts::kTeeSevSnp)
    return Usage("--collateral is for --format tdx (collateral JSON) and sev-snp (AMD CRLs) only");
  if ((!f.rims.empty() || !f.ocsp.empty()) && !gpu)
    return Usage("--rim and --ocsp are for --format nvidia-gpu only (a document carries its own)");
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
  if (document) {
    absl::StatusOr<std::string> text =
        ReadInput(f.evidence, attestation::kMaxEvidenceDocumentSize, "--evidence");
    if (!text.ok()) return Fail(text.status());
    absl::StatusOr<attestation::Evidence> parsed = attestation::ParseEvidenceDocument(*text);
    if (!parsed.ok()) return Fail(base::Annotate(parsed.status(), "--evidence"));
    ev = *std::move(parsed);
  }
  absl::StatusOr<std::string> report =
      document ? absl::StatusOr<std::string>(ev.report)
               : ReadInput(f.evidence, kMaxEvidenceSize, "--evidence");
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
    j["tee"] = ev.tee;
    j["reasons"] = v.reasons;
    j["claims"] = v.valid ? v.claims.ToJson() : nlohmann::ordered_json::object();
    std::cout << j.dump() << "\n";
  } else {
    PrintText(v, ev.tee);
  }
  std::cout.flush();
  if (!v.valid) {
    if (!f.json) std::cerr << "triad: the " << ev.tee << " evidence does not verify" << std::endl;
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
  verify
      ->add_option("--format", flags->format,
                   "Evidence kind: sev-snp, tdx, sim, nvidia-gpu, or document (an evidence "
                   "document: a CPU TEE's evidence with its GPUs, as admissions record it)")
      ->required()
      ->check(CLI::IsMember({"sev-snp", "tdx", "sim", "nvidia-gpu", "document"}));
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
                     "tdx: collateral JSON (dcap-qvl QuoteCollateralV3 form); sev-snp: AMD CRLs "
                     "(DER, or PEM blocks) from the ARK or the ASK/ASVK");
  verify->add_option("--rim", flags->rims,
                     "nvidia-gpu: a RIM (NVIDIA reference measurements, SWID XML) of the GPU's "
                     "driver or VBIOS; repeatable");
  verify->add_option("--ocsp", flags->ocsp,
                     "nvidia-gpu: an OCSP response (DER) for a certificate of the device chain or "
                     "of a RIM chain; repeatable");
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
