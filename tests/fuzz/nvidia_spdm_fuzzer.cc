// Fuzzes the NVIDIA GPU report reader (hex or binary) and the SPDM parser behind it, then the
// verifier up to its certificate checks (no chain is given, so it stops there). Seeds: the real
// reports of the shared test data, in hex as NVIDIA's tools write them.
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "attestation/internal/nvidia_spdm.h"
#include "attestation/nvidia_gpu.h"

namespace att = triad::attestation;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view file(reinterpret_cast<const char*>(data), size);
  auto bytes = att::GpuReportBytes(file);
  if (!bytes.ok()) return 0;
  auto rep = att::internal::ParseSpdmReport(*bytes);
  if (rep.ok()) {
    // What parses is the request, the response, and exactly one signature at the end.
    const absl::string_view b = *bytes;
    if (rep->signed_part.size() + att::internal::kSpdmSignatureSize != b.size()) __builtin_trap();
    if (rep->signed_part != b.substr(0, rep->signed_part.size())) __builtin_trap();
    if (rep->signature != b.substr(rep->signed_part.size())) __builtin_trap();
    if (rep->nonce != b.substr(4, att::internal::kSpdmNonceSize)) __builtin_trap();
    if (rep->measurements.size() > 255) __builtin_trap();
  }
  att::GpuVerdict v =
      att::VerifyNvidiaGpuReport(*bytes, "", att::TrustAnchors(), absl::FromUnixSeconds(0));
  if (v.valid || v.reasons.empty()) __builtin_trap();
  return 0;
}
