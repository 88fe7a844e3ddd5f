#include "attestation/internal/sim_evidence.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace triad::attestation::internal {
namespace {

// Offsets of the layout in attestation/sim.h.
constexpr size_t kOffMagic = 0x00;
constexpr size_t kOffVersion = 0x08;
constexpr size_t kOffFlags = 0x0C;
constexpr size_t kOffReportData = 0x10;
constexpr size_t kOffMeasurement = 0x50;
constexpr size_t kOffTcbStatus = 0x80;
constexpr size_t kOffSigner = 0xB0;
constexpr size_t kOffSignature = 0xD0;

uint32_t Le32(absl::string_view b, size_t off) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[off + i]);
  return v;
}

void PutLe32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

}  // namespace

bool IsKnownTcbStatus(absl::string_view status) {
  static constexpr const char* kNames[] = {"UpToDate",
                                           "OutOfDate",
                                           "ConfigurationNeeded",
                                           "SWHardeningNeeded",
                                           "ConfigurationAndSWHardeningNeeded",
                                           "OutOfDateConfigurationNeeded",
                                           "Revoked"};
  return std::any_of(std::begin(kNames), std::end(kNames),
                     [&](const char* n) { return status == n; });
}

absl::StatusOr<SimEvidence> ParseSimEvidence(absl::string_view b) {
  if (b.size() < 8 || b.substr(kOffMagic, 8) != kSimMagic) {
    return absl::InvalidArgumentError(
        "evidence is not Triad sim evidence (it does not start with \"TRIADSIM\")");
  }
  if (b.size() != kSimEvidenceSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("sim evidence is ", b.size(), " bytes; it is exactly ", kSimEvidenceSize));
  }
  SimEvidence e;
  e.version = Le32(b, kOffVersion);
  if (e.version != kSimVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("sim evidence version ", e.version, " is not supported (1)"));
  }
  uint32_t flags = Le32(b, kOffFlags);
  if ((flags & ~kSimFlagDebug) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sim evidence flags 0x%08x have unknown bits set", flags));
  }
  e.debug = (flags & kSimFlagDebug) != 0;
  e.report_data = std::string(b.substr(kOffReportData, 64));
  e.measurement = std::string(b.substr(kOffMeasurement, 48));
  absl::string_view status = b.substr(kOffTcbStatus, kSimTcbStatusSize);
  size_t end = status.find('\0');
  absl::string_view name = status.substr(0, end);
  bool padded = end != absl::string_view::npos &&
                std::all_of(status.begin() + end, status.end(), [](char c) { return c == '\0'; });
  if (!padded || !IsKnownTcbStatus(name)) {
    return absl::InvalidArgumentError(
        "sim evidence TCB status is not a known status name padded with NULs");
  }
  e.tcb_status = std::string(name);
  e.signer = std::string(b.substr(kOffSigner, 32));
  e.signature = std::string(b.substr(kOffSignature, 64));
  return e;
}

absl::StatusOr<std::string> SimSignedPart(const SimEvidence& e) {
  if (e.report_data.size() != 64 || e.measurement.size() != 48 || e.signer.size() != 32) {
    return absl::InvalidArgumentError("sim evidence fields have the wrong sizes");
  }
  if (!IsKnownTcbStatus(e.tcb_status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", e.tcb_status, "\" is not a known TCB status name"));
  }
  std::string out(kSimMagic, 8);
  PutLe32(&out, e.version);
  PutLe32(&out, e.debug ? kSimFlagDebug : 0);
  out.append(e.report_data);
  out.append(e.measurement);
  out.append(e.tcb_status);
  out.append(kSimTcbStatusSize - e.tcb_status.size(), '\0');
  out.append(e.signer);
  return out;
}

}  // namespace triad::attestation::internal
