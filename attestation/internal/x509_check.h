// Certificate-path and ECDSA helpers shared by the verifiers (private to attestation/).
#ifndef TRIAD_ATTESTATION_INTERNAL_X509_CHECK_H_
#define TRIAD_ATTESTATION_INTERNAL_X509_CHECK_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace triad::attestation::internal {

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
