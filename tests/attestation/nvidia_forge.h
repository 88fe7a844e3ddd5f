// A forged NVIDIA PKI for tests: a device identity root of our own, GPUs with a per-chip identity
// certificate ("GSP BROM") and a device certificate ("GSP FMC LF"), SPDM reports those GPUs sign
// over any nonce, and OCSP responses about their chains. The layout of the report is written here
// from DMTF DSP0274 and NVIDIA's opaque data, independently of the parser under test. Used where
// the real vectors cannot go: reports over this admission's nonces, CC states, several GPUs,
// revocation. Verification needs the forged root pinned, so none of this passes with the real
// roots.
#ifndef TRIAD_TESTS_ATTESTATION_NVIDIA_FORGE_H_
#define TRIAD_TESTS_ATTESTATION_NVIDIA_FORGE_H_

#include <openssl/ocsp.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "attestation/verifier.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation::nvforge {

// The forged root ("Forged NVIDIA Device Identity CA") and intermediate ("Forged GH100
// Identity"), made once per process.
struct Pki {
  crypto::SslPtr<EVP_PKEY> root_key, ica_key;
  crypto::SslPtr<X509> root, ica;
  // TrustAnchors with nvidia_device_identity_ca = the forged root.
  TrustAnchors Anchors() const;
};
const Pki& ForgedPki();

// One forged GPU: its identity (issued by the intermediate) and its device certificate (issued by
// the identity), both P-384.
struct Gpu {
  crypto::SslPtr<EVP_PKEY> identity_key, device_key;
  crypto::SslPtr<X509> identity, device;
  std::string chip = "GH100";
  // PEM: device, identity, intermediate, root (as NVML hands it over).
  std::string ChainPem() const;
};
// A new GPU (new keys). `chip` names the certificates ("GH100 A01 GSP FMC LF").
Gpu NewGpu(const std::string& chip = "GH100");

struct ReportSpec {
  std::string nonce = std::string(32, '\x5a');
  std::string driver_version = "550.90.07";
  std::string vbios = std::string("\x00\x9f\x00\x96\x01\x00\x00\x00", 8);  // 96.00.9F.00.01
  std::string chip_sku = "882", project = "1010", project_sku = "0200";
  int blocks = 64;
  uint8_t request_param1 = 0x01;  // signature requested
  std::string trailing;           // bytes after the signature
};
// The 48-byte value of block `index` (1-based) in reports made from `spec`.
std::string BlockValue(int index);
// An SPDM GET_MEASUREMENTS request || MEASUREMENTS response, signed with the GPU's device key.
std::string Report(const Gpu& gpu, const ReportSpec& spec);

struct OcspSpec {
  int status = V_OCSP_CERTSTATUS_GOOD;
  absl::Time this_update = absl::FromUnixSeconds(1751328000 - 3600);
  std::optional<absl::Time> next_update = absl::FromUnixSeconds(1751328000 + 7 * 86400);
  // Signed by a new key under the issuer's name (the responder id names the issuer).
  bool sign_with_wrong_key = false;
  // Signed by this certificate and key instead of the issuer's (the certificate is included).
  X509* signer = nullptr;
  EVP_PKEY* signer_key = nullptr;
};
// A DER OCSPResponse about `subject` issued by `issuer`, signed by the issuer itself unless `spec`
// says otherwise.
std::string OcspResponse(X509* subject, X509* issuer, EVP_PKEY* issuer_key,
                         const OcspSpec& spec = {});

}  // namespace triad::attestation::nvforge

#endif  // TRIAD_TESTS_ATTESTATION_NVIDIA_FORGE_H_
