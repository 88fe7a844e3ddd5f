// Forged NVIDIA RIMs for tests: a CoRIM signing root of our own, and SWID RIMs signed under it
// with libxmlsec1 exactly as NVIDIA signs theirs (enveloped XML-DSig, C14N 1.1, ECDSA-SHA384,
// SHA-384, the signer chain in KeyInfo). They reach what the real RIMs cannot: a driver and a
// VBIOS RIM that both match a report, conflicts, and signature wrapping. They verify only with the
// forged root pinned.
#ifndef TRIAD_TESTS_ATTESTATION_RIM_FORGE_H_
#define TRIAD_TESTS_ATTESTATION_RIM_FORGE_H_

#include <string>
#include <vector>

#include "attestation/verifier.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation::rimforge {

struct Pki {
  crypto::SslPtr<EVP_PKEY> root_key, ca_key, signer_key;
  crypto::SslPtr<X509> root, ca, signer;  // "Forged CoRIM Root" -> "Forged RIM CA" -> signer
  // Adds the forged root as nvidia_corim_signing_root_ca.
  void Pin(TrustAnchors& anchors) const;
};
const Pki& ForgedPki();

struct Measurement {
  int index = 0;  // RIM index (SPDM block index - 1)
  bool active = true;
  std::vector<std::string> values;  // 48 bytes each
};

struct RimSpec {
  std::string version;  // colloquialVersion: the driver or VBIOS version it is for
  std::string product = "GH100";
  std::vector<Measurement> measurements;
  // Inserted inside the Signature element, after KeyInfo, before signing (a wrapping attempt).
  std::string inside_signature;
};

// The signed RIM document.
std::string SignedRim(const RimSpec& spec);

}  // namespace triad::attestation::rimforge

#endif  // TRIAD_TESTS_ATTESTATION_RIM_FORGE_H_
