// Revocation collateral checked offline: OCSP responses (RFC 6960) for NVIDIA's device and RIM
// chains, and CRLs (RFC 5280) for AMD's chains. Private to attestation/.
//
// Both are collateral the evidence carries (never fetched): they are authenticated by their
// signatures, so whoever relays them cannot forge a "good" status, only withhold it, which the
// policy catches when it requires revocation to have been checked. Freshness is judged at the
// caller's verification time, never the clock (OpenSSL's OCSP_check_validity reads the clock, so
// it is not used).
#ifndef TRIAD_ATTESTATION_INTERNAL_REVOCATION_H_
#define TRIAD_ATTESTATION_INTERNAL_REVOCATION_H_

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/ssl_ptr.h"

// Owners for the OCSP handles (crypto/ssl_ptr.h covers the X.509 ones).
namespace triad::crypto {
template <>
struct SslDeleter<OCSP_RESPONSE> {
  void operator()(OCSP_RESPONSE* p) const { OCSP_RESPONSE_free(p); }
};
template <>
struct SslDeleter<OCSP_BASICRESP> {
  void operator()(OCSP_BASICRESP* p) const { OCSP_BASICRESP_free(p); }
};
template <>
struct SslDeleter<OCSP_CERTID> {
  void operator()(OCSP_CERTID* p) const { OCSP_CERTID_free(p); }
};
}  // namespace triad::crypto

namespace triad::attestation::internal {

inline constexpr size_t kMaxOcspResponses = 16;
inline constexpr size_t kMaxOcspResponseSize = 16 * 1024;
inline constexpr size_t kMaxCrls = 8;
inline constexpr size_t kMaxCrlSize = 1 << 20;
// Clock skew tolerated between the responder's thisUpdate and the verification time.
inline constexpr absl::Duration kRevocationSkew = absl::Minutes(5);

// Parses DER OCSP responses: each one whole OCSPResponse whose responseStatus is successful and
// which carries a basic response. kInvalidArgument "OCSP response N: <what>"; kResourceExhausted
// beyond the bounds above.
absl::StatusOr<std::vector<crypto::SslPtr<OCSP_BASICRESP>>> ParseOcspResponses(
    const std::vector<std::string>& der);

enum class CertStatus { kNotCovered, kGood, kRevoked, kUnknown };

struct OcspCheck {
  CertStatus status = CertStatus::kNotCovered;
  // Why a response that covers the certificate cannot be trusted (each makes the check fail).
  std::vector<std::string> problems;
};

// The status of `subject` (issued by `issuer`) in `responses` at `now`. A response covers the
// certificate when one of its SingleResponses has its CertID (same hash algorithm, issuer name and
// key hash, serial). Such a response must be signed by the issuer itself or by a responder the
// issuer certified for OCSP signing (id-kp-OCSPSigning, directly issued by it, valid at `now`),
// its signature must verify, and thisUpdate <= now + kRevocationSkew and now <= nextUpdate
// (nextUpdate is required). When several responses cover it, a revoked one wins; one that cannot be
// trusted adds its problem whatever the others say. `name` names the certificate in problems.
OcspCheck CheckOcsp(const std::vector<crypto::SslPtr<OCSP_BASICRESP>>& responses, X509* subject,
                    X509* issuer, absl::Time now, absl::string_view name);

// Parses CRLs: a DER CRL, or PEM "X509 CRL" blocks. kInvalidArgument "CRL N: <what>".
absl::StatusOr<std::vector<crypto::SslPtr<X509_CRL>>> ParseCrls(absl::string_view der_or_pem);

// Checks `crl` as issued by `issuer` at `now`: issuer name, signature, thisUpdate <= now <
// nextUpdate (nextUpdate required). Returns the problems (none when the CRL can be used).
std::vector<std::string> CheckCrlIssuedBy(X509_CRL* crl, X509* issuer, absl::Time now,
                                          absl::string_view crl_name);

// Whether `crl` lists `cert` (by issuer name and serial).
bool CrlRevokes(X509_CRL* crl, X509* cert);

}  // namespace triad::attestation::internal

#endif  // TRIAD_ATTESTATION_INTERNAL_REVOCATION_H_
