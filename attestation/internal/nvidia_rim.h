// NVIDIA Reference Integrity Manifests (RIMs): the golden measurements of a GPU's driver and VBIOS,
// as NVIDIA publishes them (https://rim.attestation.nvidia.com/v1/rim/<id>). Private to
// attestation/.
//
// A RIM is an ISO/IEC 19770-2:2015 SWID tag (TCG "Reference Integrity Manifest Information Model"
// binding) signed with an enveloped XML-DSig signature:
//
//   <SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" tagId="…">
//     <Meta colloquialVersion="550.144.03" product="GH100" …/>
//     <Payload>
//       <Resource type="Measurement" index="0" active="True" alternatives="1"
//                 sha384:Hash0="<96 hex digits>" size="48" name="…"/>   (one per index, 0..63)
//     </Payload>
//     <ds:Signature> SignedInfo: C14N 1.1, ECDSA-SHA384, one Reference URI="" with the enveloped
//       transform and C14N 1.1, digest SHA-384; KeyInfo/X509Data: the signer's certificate first,
//       then its issuers up to the NVIDIA CoRIM signing Root CA </ds:Signature>
//   </SoftwareIdentity>
//
// Hash0..Hash<alternatives-1> (namespace http://www.w3.org/2001/04/xmlenc#sha384) are alternatives:
// a measurement matches when it equals any of them. RIM index i is SPDM measurement block i + 1
// (NVIDIA's local verifier, verifier.py).
//
// The parser reads only the SoftwareIdentity root, its Meta and Payload children and the Payload's
// Resource children, never anything inside the Signature, so what it returns is exactly what the
// signature (URI="", the whole document but the Signature element) covers. Documents with a DTD
// are refused (no entity expansion); sizes and counts are bounded.
#ifndef TRIAD_ATTESTATION_INTERNAL_NVIDIA_RIM_H_
#define TRIAD_ATTESTATION_INTERNAL_NVIDIA_RIM_H_

#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace triad::attestation::internal {

inline constexpr size_t kMaxRimSize = 1 << 20;
inline constexpr size_t kMaxRimMeasurements = 256;
inline constexpr size_t kMaxRimAlternatives = 16;
inline constexpr size_t kMaxRimCertificates = 8;

struct RimMeasurement {
  uint32_t index = 0;  // RIM index (SPDM block index - 1)
  bool active = false;
  uint32_t size = 0;                // bytes of each value (48)
  std::vector<std::string> values;  // the alternatives, raw bytes
  std::string name;
};

struct Rim {
  std::string tag_id;
  std::string version;  // Meta colloquialVersion ("550.144.03", "96.00.5E.00.01")
  std::string product;  // Meta product ("GH100")
  std::vector<RimMeasurement> measurements;  // in document order, distinct indices
  // KeyInfo/X509Data/X509Certificate, DER, in document order (the signer's first).
  std::vector<std::string> certificates;
};

// Initializes libxml2 and libxmlsec1 (OpenSSL backend) once per process; VerifyRimSignature calls
// it. Exposed for tests that sign RIMs of their own.
absl::Status InitXmlsec();

// Parses the RIM's content and its signer certificates without verifying anything. Fails with
// kInvalidArgument "RIM: <what>" on a document that is not well-formed XML, has a DTD, or does not
// have the structure above; kResourceExhausted above kMaxRimSize.
absl::StatusOr<Rim> ParseRim(absl::string_view xml);

// Verifies the RIM's enveloped XML signature with `key` (which the caller has chained to the
// pinned root) using libxmlsec1: exactly one Signature, a direct child of the root; exactly one
// Reference, URI=""; only the C14N 1.1, enveloped-signature, ECDSA-SHA384 and SHA-384 transforms
// are enabled (anything else is refused by xmlsec). KeyInfo is not used to find the key. OK when
// the signature verifies; kUnauthenticated "RIM signature does not verify" when it does not;
// kInvalidArgument when the document or its Signature element is malformed. Thread-safe.
absl::Status VerifyRimSignature(absl::string_view xml, EVP_PKEY* key);

}  // namespace triad::attestation::internal

#endif  // TRIAD_ATTESTATION_INTERNAL_NVIDIA_RIM_H_
