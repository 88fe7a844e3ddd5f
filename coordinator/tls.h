// The coordinator's TLS identity: a self-signed ECDSA P-256 certificate that parties pin through the
// coordinator card (they trust exactly this certificate, not a CA).
#ifndef TRIAD_COORDINATOR_TLS_H_
#define TRIAD_COORDINATOR_TLS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/secret.h"

namespace triad::coordinator {

// The name in the certificate (CN and DNS SAN). Clients check it through the TLS target name override,
// whatever address they dial, because the pinned certificate, not DNS, identifies the coordinator.
inline constexpr char kTlsServerName[] = "triad-coordinator";

struct TlsIdentity {
  crypto::SecretBytes key_pem;  // PKCS#8 PEM
  std::string cert_pem;
};

// A new key and a self-signed certificate valid from `now` - 1 hour for `validity`.
absl::StatusOr<TlsIdentity> GenerateTlsIdentity(absl::Time now, absl::Duration validity);

// Lower-case hex SHA-256 of the certificate's DER (what `openssl x509 -fingerprint -sha256` shows,
// without colons). Fails unless `cert_pem` holds exactly one certificate.
absl::StatusOr<std::string> CertificateFingerprint(absl::string_view cert_pem);

}  // namespace triad::coordinator

#endif  // TRIAD_COORDINATOR_TLS_H_
