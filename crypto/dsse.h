// DSSE envelopes (Dead Simple Signing Envelope v1, secure-systems-lab/dsse) signed with Ed25519.
//
// A signature is over PAE(payloadType, payload) =
//   "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload, LEN as ASCII decimal without leading zeros.
// JSON form: {"payload": b64, "payloadType": str, "signatures": [{"keyid": str, "sig": b64}]}, base64 in
// the standard alphabet with padding. keyid is the signer's Ed25519PublicKey::KeyId().
#ifndef TRIAD_CRYPTO_DSSE_H_
#define TRIAD_CRYPTO_DSSE_H_

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/ed25519.h"

namespace triad::crypto {

struct DsseSignature {
  std::string keyid;
  std::string sig;  // raw signature bytes
};

struct DsseEnvelope {
  std::string payload_type;
  std::string payload;  // raw payload bytes
  std::vector<DsseSignature> signatures;

  // Compact JSON with keys in the order above; stable for the same envelope.
  std::string ToJson() const;
  // Strict: exactly the three keys, each of the right type; signature entries with exactly "keyid"
  // and "sig"; bounded size (`max_bytes`). Fails with kInvalidArgument naming the problem.
  static absl::StatusOr<DsseEnvelope> FromJson(absl::string_view json, size_t max_bytes = 8 << 20);
};

// The pre-authentication encoding that is signed.
std::string DssePae(absl::string_view payload_type, absl::string_view payload);

// Appends a signature by `key` over the envelope's PAE; the payload is not changed.
void DsseSign(DsseEnvelope& envelope, const Ed25519PrivateKey& key);

// OK when `signature` names `key` (keyid equal to key.KeyId()) and verifies over the envelope's PAE.
// kUnauthenticated otherwise, saying which.
absl::Status DsseVerifySignature(const DsseEnvelope& envelope, const DsseSignature& signature,
                                 const Ed25519PublicKey& key);

// OK when exactly one signature in the envelope carries `key`'s keyid and it verifies.
absl::Status DsseVerifySignedBy(const DsseEnvelope& envelope, const Ed25519PublicKey& key);

}  // namespace triad::crypto

#endif  // TRIAD_CRYPTO_DSSE_H_
