// Fuzzes NVIDIA RIM handling: the SWID XML parser (libxml2, no DTDs), the signer chain to the
// pinned CoRIM signing root, and the XML signature check (libxmlsec1) with its restricted
// transforms. Seeds: the real RIMs of testdata/attestation/nvidia and hand-made small ones.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "attestation/internal/nvidia_rim.h"
#include "attestation/nvidia_gpu.h"
#include "base/file.h"

namespace att = triad::attestation;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const att::TrustAnchors* anchors = [] {
    auto* a = new att::TrustAnchors;
    a->nvidia_corim_signing_root_ca =
        *triad::base::ReadFile(TRIAD_FUZZ_ROOTS_DIR "/nvidia_corim_signing_root_ca.pem", 1 << 16);
    return a;
  }();
  absl::string_view xml(reinterpret_cast<const char*>(data), size);
  auto rim = att::internal::ParseRim(xml);
  if (rim.ok()) {
    if (rim->version.empty() || rim->certificates.empty()) __builtin_trap();
    for (const auto& m : rim->measurements) {
      if (m.values.empty()) __builtin_trap();
      for (const auto& v : m.values) {
        if (v.size() != m.size) __builtin_trap();
      }
    }
  }
  // Inside the validity of the real RIMs' signers (2025-06-01).
  att::RimVerdict v = att::VerifyNvidiaRim(xml, {}, *anchors, absl::FromUnixSeconds(1748736000));
  if (v.valid != v.reasons.empty()) __builtin_trap();
  if (v.valid && !rim.ok()) __builtin_trap();
  return 0;
}
