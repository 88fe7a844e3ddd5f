// Fuzzes the NVIDIA GPU report reader (hex or binary) and the SPDM parser behind it, then the
// verifier up to its certificate checks (no chain is given, so it stops there). Seeds: the real
// reports of testdata/attestation/nvidia in binary (tests/fuzz/seeds/nvidia_spdm), so mutations
// reach the structure past the first byte; nvidia_chain_fuzzer goes on to the chain and signature.
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
    // What parses is the request, the response, one signature, then only zero bytes.
    const absl::string_view b = *bytes;
    const size_t signed_size = rep->signed_part.size();
    if (signed_size + att::internal::kSpdmSignatureSize + rep->trailing_zero_bytes != b.size()) {
      __builtin_trap();
    }
    if (rep->signed_part != b.substr(0, signed_size)) __builtin_trap();
    if (rep->signature != b.substr(signed_size, att::internal::kSpdmSignatureSize)) __builtin_trap();
    for (char c : b.substr(signed_size + att::internal::kSpdmSignatureSize)) {
      if (c != '\0') __builtin_trap();
    }
    if (rep->nonce != b.substr(4, att::internal::kSpdmNonceSize)) __builtin_trap();
    if (rep->measurements.size() > 255) __builtin_trap();
  }
  att::GpuVerdict v =
      att::VerifyNvidiaGpuReport(*bytes, "", att::TrustAnchors(), absl::FromUnixSeconds(0));
  if (v.valid || v.reasons.empty()) __builtin_trap();
  return 0;
}
