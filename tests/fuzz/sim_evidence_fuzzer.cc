// Fuzzes the sim evidence parser (no signature check: parser only).
#include <cstddef>
#include <cstdint>

#include "attestation/internal/sim_evidence.h"

using triad::attestation::internal::ParseSimEvidence;
using triad::attestation::internal::SimSignedPart;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto e = ParseSimEvidence(bytes);
  if (!e.ok()) return 0;
  // Whatever parses re-encodes to the same signed bytes: the format has one encoding.
  auto signed_part = SimSignedPart(*e);
  if (!signed_part.ok() || *signed_part != bytes.substr(0, 0xD0) ||
      e->signature != bytes.substr(0xD0)) {
    __builtin_trap();
  }
  return 0;
}
