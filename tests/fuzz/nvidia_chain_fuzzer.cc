// Fuzzes the whole NVIDIA GPU verifier with the pinned NVIDIA Device Identity CA and real chains:
// the device chain, the report signature, the FWID and DICE TcbInfo comparison, the claims. Input:
// u16le report length, the report, then certificates as u16le length and DER, turned into the PEM
// chain the verifier takes (so mutations reach inside the certificates, not the base64). Seeds: the
// real reports with their real chains (tests/fuzz/seeds/nvidia_chain, made by make_gpu_seeds.py).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "attestation/nvidia_gpu.h"
#include "base/encoding.h"
#include "base/file.h"

namespace att = triad::attestation;

namespace {

const att::TrustAnchors& Anchors() {
  static const att::TrustAnchors* anchors = [] {
    auto* a = new att::TrustAnchors;
    a->nvidia_device_identity_ca =
        *triad::base::ReadFile(TRIAD_FUZZ_ROOTS_DIR "/nvidia_device_identity_ca.pem", 1 << 16);
    return a;
  }();
  return *anchors;
}

bool U16(absl::string_view& in, size_t* n) {
  if (in.size() < 2) return false;
  *n = static_cast<uint8_t>(in[0]) | (static_cast<size_t>(static_cast<uint8_t>(in[1])) << 8);
  in.remove_prefix(2);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  size_t n = 0;
  if (!U16(in, &n) || n > in.size()) return 0;
  const absl::string_view report = in.substr(0, n);
  in.remove_prefix(n);
  std::string pem;
  for (int i = 0; i < 8 && U16(in, &n) && n <= in.size(); ++i) {
    pem += "-----BEGIN CERTIFICATE-----\n" + triad::base::Base64Encode(in.substr(0, n)) +
           "\n-----END CERTIFICATE-----\n";
    in.remove_prefix(n);
  }
  att::GpuVerdict v =
      att::VerifyNvidiaGpuReport(report, pem, Anchors(), absl::FromUnixSeconds(1751328000));
  if (v.valid != v.reasons.empty()) __builtin_trap();
  if (v.valid && (v.claims.nonce.size() != 32 || v.claims.report_digest.size() != 48 ||
                  v.claims.device_certificate.empty())) {
    __builtin_trap();
  }
  return 0;
}
