#include "attestation/internal/snp_report.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace triad::attestation::internal {
namespace {

// ABI Table 22 offsets used below.
constexpr size_t kOffVersion = 0x000;
constexpr size_t kOffGuestSvn = 0x004;
constexpr size_t kOffPolicy = 0x008;
constexpr size_t kOffFamilyId = 0x010;
constexpr size_t kOffImageId = 0x020;
constexpr size_t kOffVmpl = 0x030;
constexpr size_t kOffSignatureAlgo = 0x034;
constexpr size_t kOffCurrentTcb = 0x038;
constexpr size_t kOffPlatformInfo = 0x040;
constexpr size_t kOffKeyInfo = 0x048;
constexpr size_t kOffReportData = 0x050;
constexpr size_t kOffMeasurement = 0x090;
constexpr size_t kOffHostData = 0x0C0;
constexpr size_t kOffIdKeyDigest = 0x0E0;
constexpr size_t kOffAuthorKeyDigest = 0x110;
constexpr size_t kOffReportId = 0x140;
constexpr size_t kOffReportIdMa = 0x160;
constexpr size_t kOffReportedTcb = 0x180;
constexpr size_t kOffCpuidFamily = 0x188;  // version >= 3
constexpr size_t kOffCpuidModel = 0x189;
constexpr size_t kOffCpuidStepping = 0x18A;
constexpr size_t kOffChipId = 0x1A0;
constexpr size_t kOffCommittedTcb = 0x1E0;
constexpr size_t kOffCurrentBuild = 0x1E8;
constexpr size_t kOffCommittedBuild = 0x1EC;
constexpr size_t kOffLaunchTcb = 0x1F0;
constexpr size_t kOffLaunchMitVector = 0x1F8;  // version >= 5
constexpr size_t kOffCurrentMitVector = 0x200;
constexpr size_t kOffSignature = 0x2A0;
constexpr size_t kSignatureFieldSize = 0x200;
// Each ECDSA P-384 component is stored as 72 little-endian bytes; only the low 48 can be non-zero.
constexpr size_t kSigComponentSize = 72;
constexpr size_t kP384ScalarSize = 48;

uint32_t Le32(absl::string_view b, size_t off) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[off + i]);
  return v;
}

uint64_t Le64(absl::string_view b, size_t off) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[off + i]);
  return v;
}

std::string Bytes(absl::string_view b, size_t off, size_t n) {
  return std::string(b.substr(off, n));
}

bool AllZero(absl::string_view b) {
  return std::all_of(b.begin(), b.end(), [](char c) { return c == 0; });
}

// A 72-byte little-endian component to 48 big-endian bytes; false when the high 24 bytes are not
// zero.
bool SigComponent(absl::string_view le72, std::string* be48) {
  if (!AllZero(le72.substr(kP384ScalarSize))) return false;
  std::string out(le72.substr(0, kP384ScalarSize));
  std::reverse(out.begin(), out.end());
  *be48 = std::move(out);
  return true;
}

}  // namespace

const char* SnpProductName(SnpProduct p) {
  switch (p) {
    case SnpProduct::kMilan:
      return "Milan";
    case SnpProduct::kGenoa:
      return "Genoa";
    case SnpProduct::kTurin:
      return "Turin";
    case SnpProduct::kUnknown:
      break;
  }
  return "unknown";
}

SnpProduct SnpProductFromName(absl::string_view name) {
  for (SnpProduct p : {SnpProduct::kMilan, SnpProduct::kGenoa, SnpProduct::kTurin}) {
    if (absl::EqualsIgnoreCase(name, SnpProductName(p))) return p;
  }
  return SnpProduct::kUnknown;
}

SnpProduct SnpProductFromCpuid(uint8_t family, uint8_t model) {
  if (family == 0x19) {
    if (model <= 0x0F) return SnpProduct::kMilan;
    if ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF))
      return SnpProduct::kGenoa;
  }
  if (family == 0x1A && model <= 0x11) return SnpProduct::kTurin;
  return SnpProduct::kUnknown;
}

contracts::SnpTcb DecodeSnpTcb(uint64_t raw, SnpProduct product) {
  auto byte = [raw](int i) { return static_cast<uint8_t>(raw >> (8 * i)); };
  contracts::SnpTcb t;
  if (product == SnpProduct::kTurin) {
    t.fmc = byte(0);
    t.bootloader = byte(1);
    t.tee = byte(2);
    t.snp = byte(3);
  } else {
    t.bootloader = byte(0);
    t.tee = byte(1);
    t.snp = byte(6);
  }
  t.microcode = byte(7);
  return t;
}

bool SnpReport::chip_id_masked() const { return AllZero(chip_id); }

absl::StatusOr<SnpReport> ParseSnpReport(absl::string_view b) {
  if (b.size() >= 8 && b.substr(0, 8) == "TRIADSIM") {
    return absl::InvalidArgumentError(
        "this is Triad sim evidence, not an SEV-SNP attestation report");
  }
  if (b.size() != kSnpReportSize) {
    return absl::InvalidArgumentError(absl::StrCat("SNP report is ", b.size(),
                                                   " bytes; an ATTESTATION_REPORT is exactly ",
                                                   kSnpReportSize, " (0x4A0)"));
  }
  SnpReport r;
  r.version = Le32(b, kOffVersion);
  if (r.version != 2 && r.version != 3 && r.version != 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("SNP report version ", r.version, " is not supported (2, 3 or 5)"));
  }
  r.guest_svn = Le32(b, kOffGuestSvn);
  r.policy = Le64(b, kOffPolicy);
  r.family_id = Bytes(b, kOffFamilyId, 16);
  r.image_id = Bytes(b, kOffImageId, 16);
  r.vmpl = Le32(b, kOffVmpl);
  r.signature_algo = Le32(b, kOffSignatureAlgo);
  r.current_tcb = Le64(b, kOffCurrentTcb);
  r.platform_info = Le64(b, kOffPlatformInfo);
  r.key_info = Le32(b, kOffKeyInfo);
  r.report_data = Bytes(b, kOffReportData, 64);
  r.measurement = Bytes(b, kOffMeasurement, 48);
  r.host_data = Bytes(b, kOffHostData, 32);
  r.id_key_digest = Bytes(b, kOffIdKeyDigest, 48);
  r.author_key_digest = Bytes(b, kOffAuthorKeyDigest, 48);
  r.report_id = Bytes(b, kOffReportId, 32);
  r.report_id_ma = Bytes(b, kOffReportIdMa, 32);
  r.reported_tcb = Le64(b, kOffReportedTcb);
  if (r.version >= 3) {
    r.cpuid_family = static_cast<uint8_t>(b[kOffCpuidFamily]);
    r.cpuid_model = static_cast<uint8_t>(b[kOffCpuidModel]);
    r.cpuid_stepping = static_cast<uint8_t>(b[kOffCpuidStepping]);
    r.has_cpuid = r.cpuid_family != 0;
  }
  r.chip_id = Bytes(b, kOffChipId, 64);
  r.committed_tcb = Le64(b, kOffCommittedTcb);
  r.current_build = static_cast<uint8_t>(b[kOffCurrentBuild]);
  r.current_minor = static_cast<uint8_t>(b[kOffCurrentBuild + 1]);
  r.current_major = static_cast<uint8_t>(b[kOffCurrentBuild + 2]);
  r.committed_build = static_cast<uint8_t>(b[kOffCommittedBuild]);
  r.committed_minor = static_cast<uint8_t>(b[kOffCommittedBuild + 1]);
  r.committed_major = static_cast<uint8_t>(b[kOffCommittedBuild + 2]);
  r.launch_tcb = Le64(b, kOffLaunchTcb);
  if (r.version >= 5) {
    r.has_mitigation_vectors = true;
    r.launch_mit_vector = Le64(b, kOffLaunchMitVector);
    r.current_mit_vector = Le64(b, kOffCurrentMitVector);
  }
  absl::string_view sig = b.substr(kOffSignature, kSignatureFieldSize);
  if (!SigComponent(sig.substr(0, kSigComponentSize), &r.signature_r) ||
      !SigComponent(sig.substr(kSigComponentSize, kSigComponentSize), &r.signature_s) ||
      !AllZero(sig.substr(2 * kSigComponentSize))) {
    return absl::InvalidArgumentError(
        "SNP report signature field has non-zero bytes outside the 48-byte R and S values");
  }
  return r;
}

}  // namespace triad::attestation::internal
