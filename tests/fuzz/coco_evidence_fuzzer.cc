// Fuzzes the conversion of a CoCo attestation agent's answer into Evidence (attestation/coco.h).
// What converts is one SNP report of the ABI's size or one parseable TDX quote.
#include <cstddef>
#include <cstdint>

#include "attestation/coco.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view json(reinterpret_cast<const char*>(data), size);
  auto ev = triad::attestation::EvidenceFromCocoAgent(json);
  if (ev.ok() && ev->tee == "sev-snp" && ev->report.size() != 0x4A0) __builtin_trap();
  if (ev.ok() && ev->tee != "sev-snp" && ev->tee != "tdx") __builtin_trap();
  return 0;
}
