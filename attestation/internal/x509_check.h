// Certificates, certificate paths and ECDSA signatures: helpers shared by the verifiers (private
// to attestation/).
#ifndef TRIAD_ATTESTATION_INTERNAL_X509_CHECK_H_
#define TRIAD_ATTESTATION_INTERNAL_X509_CHECK_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation::internal {

// Splits a concatenation of PEM "CERTIFICATE" blocks into the DER of each (not parsed further).
// Only whitespace and trailing NUL bytes (quote generators NUL-terminate the chain) may surround
// the blocks. At most `max_certs` blocks of at most 16 KiB of DER each.
absl::StatusOr<std::vector<std::string>> ParsePemBlocks(absl::string_view pem, size_t max_certs);

// Parses one whole DER certificate; `index` (from 1) names it in the error.
absl::StatusOr<crypto::SslPtr<X509>> ParseDerCertificate(absl::string_view der, size_t index);

// ParsePemBlocks, then ParseDerCertificate on each block. Only whitespace and trailing NUL bytes
// (quote generators NUL-terminate the chain) may surround the blocks; each block must be one whole
// DER certificate. At most `max_certs` certificates of at most 16 KiB each.
absl::StatusOr<std::vector<crypto::SslPtr<X509>>> ParsePemCertificates(absl::string_view pem,
                                                                       size_t max_certs);

// The certificate's DER, or "" when it cannot be encoded.
std::string CertificateDer(X509* cert);

// The certificate's subject common name, or "" when it has none.
std::string CommonName(const X509* cert);

// An ASN1_TIME as absl::Time; InfinitePast when it cannot be read.
absl::Time Asn1Time(const ASN1_TIME* t);

// The certificate's common name in double quotes, for messages.
std::string QuotedName(const X509* cert);

// Verifies `leaf` at `now` to a root in `store`, with `intermediates` as the only other
// certificates it may use. Returns every problem OpenSSL finds on the way, one message each
// ("certificate has expired (\"NAME\", valid until 2025-06-22T00:00:00Z)"); none when the path
// verifies, and then `path` (when given) receives it, leaf first, root last. The pointers borrow
// from the arguments.
std::vector<std::string> VerifyPath(X509_STORE* store, X509* leaf,
                                    const std::vector<X509*>& intermediates, absl::Time now,
                                    std::vector<X509*>* path);

// Whether `key` is an EC key on the named curve ("prime256v1", "secp384r1").
bool IsEcKey(EVP_PKEY* key, absl::string_view group);

// ECDSA verification over `data` with digest `md` of a raw signature: r then s, big-endian, each
// half of `rs`.
bool VerifyEcdsaRaw(EVP_PKEY* key, const EVP_MD* md, absl::string_view data, absl::string_view rs);

}  // namespace triad::attestation::internal

#endif  // TRIAD_ATTESTATION_INTERNAL_X509_CHECK_H_
