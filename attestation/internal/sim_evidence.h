// The sim evidence format (documented in attestation/sim.h): parsing and building, no cryptography
// beyond what the caller does with the fields, so the parser can be fuzzed alone.
#ifndef TRIAD_ATTESTATION_INTERNAL_SIM_EVIDENCE_H_
#define TRIAD_ATTESTATION_INTERNAL_SIM_EVIDENCE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace triad::attestation::internal {

inline constexpr char kSimMagic[] = "TRIADSIM";  // 8 bytes, no terminator in the evidence
inline constexpr uint32_t kSimVersion = 1;
inline constexpr size_t kSimEvidenceSize = 0x110;
inline constexpr size_t kSimSignedSize = 0xD0;
inline constexpr size_t kSimTcbStatusSize = 48;
inline constexpr uint32_t kSimFlagDebug = 1u << 0;

struct SimEvidence {
  uint32_t version = kSimVersion;
  bool debug = false;
  std::string report_data;  // 64 bytes
  std::string measurement;  // 48 bytes
  std::string tcb_status;   // one of IsKnownTcbStatus()
  std::string signer;       // 32 bytes, raw Ed25519 public key
  std::string signature;    // 64 bytes
};

// True for Intel's TCB status names, the vocabulary sim evidence uses: "UpToDate", "OutOfDate",
// "ConfigurationNeeded", "SWHardeningNeeded", "ConfigurationAndSWHardeningNeeded",
// "OutOfDateConfigurationNeeded", "Revoked".
bool IsKnownTcbStatus(absl::string_view status);

// Parses exactly kSimEvidenceSize bytes: magic, version 1, no unknown flag bits, a known TCB status
// padded with NULs. Fails with kInvalidArgument naming the problem. Does not verify the signature.
absl::StatusOr<SimEvidence> ParseSimEvidence(absl::string_view bytes);

// The first kSimSignedSize bytes (everything but the signature) of `e`; fails on wrong field sizes
// or an unknown TCB status.
absl::StatusOr<std::string> SimSignedPart(const SimEvidence& e);

}  // namespace triad::attestation::internal

#endif  // TRIAD_ATTESTATION_INTERNAL_SIM_EVIDENCE_H_
