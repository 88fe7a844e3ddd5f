// Owners for OpenSSL handles: SslPtr<T> frees with the right function for T, and OpenSslError turns
// OpenSSL's thread-local error queue into a Status (and empties it).
//
// BoringSSL's naming applies to OpenSSL calls used with these: a `get0` result is borrowed (do not
// wrap it), a `get1` or `new` result is owned (wrap it at once).
#ifndef TRIAD_CRYPTO_SSL_PTR_H_
#define TRIAD_CRYPTO_SSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace triad::crypto {

template <typename T>
struct SslDeleter;

#define TRIAD_SSL_DELETER(type, free_fn)                    \
  template <>                                               \
  struct SslDeleter<type> {                                 \
    void operator()(type* p) const { free_fn(p); }          \
  }

// ASN1_INTEGER, ASN1_OCTET_STRING, ASN1_TIME … are all ASN1_STRING: one deleter serves them.
TRIAD_SSL_DELETER(ASN1_STRING, ASN1_STRING_free);
TRIAD_SSL_DELETER(ASN1_OBJECT, ASN1_OBJECT_free);
TRIAD_SSL_DELETER(BIGNUM, BN_free);
TRIAD_SSL_DELETER(BIO, BIO_free_all);
TRIAD_SSL_DELETER(ECDSA_SIG, ECDSA_SIG_free);
TRIAD_SSL_DELETER(EVP_CIPHER, EVP_CIPHER_free);
TRIAD_SSL_DELETER(EVP_CIPHER_CTX, EVP_CIPHER_CTX_free);
TRIAD_SSL_DELETER(EVP_KDF, EVP_KDF_free);
TRIAD_SSL_DELETER(EVP_KDF_CTX, EVP_KDF_CTX_free);
TRIAD_SSL_DELETER(EVP_MAC, EVP_MAC_free);
TRIAD_SSL_DELETER(EVP_MAC_CTX, EVP_MAC_CTX_free);
TRIAD_SSL_DELETER(EVP_MD, EVP_MD_free);
TRIAD_SSL_DELETER(EVP_MD_CTX, EVP_MD_CTX_free);
TRIAD_SSL_DELETER(EVP_PKEY, EVP_PKEY_free);
TRIAD_SSL_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
TRIAD_SSL_DELETER(OSSL_PARAM_BLD, OSSL_PARAM_BLD_free);
TRIAD_SSL_DELETER(OSSL_PARAM, OSSL_PARAM_free);
TRIAD_SSL_DELETER(X509, X509_free);
TRIAD_SSL_DELETER(X509_CRL, X509_CRL_free);
TRIAD_SSL_DELETER(X509_EXTENSION, X509_EXTENSION_free);
TRIAD_SSL_DELETER(X509_NAME, X509_NAME_free);
TRIAD_SSL_DELETER(X509_STORE, X509_STORE_free);
TRIAD_SSL_DELETER(X509_STORE_CTX, X509_STORE_CTX_free);
TRIAD_SSL_DELETER(X509_VERIFY_PARAM, X509_VERIFY_PARAM_free);
TRIAD_SSL_DELETER(STACK_OF(X509), sk_X509_free);  // the stack only; use SslX509Stack to own certs too

#undef TRIAD_SSL_DELETER

template <typename T>
using SslPtr = std::unique_ptr<T, SslDeleter<T>>;

// A stack that owns its certificates.
struct SslX509StackDeleter {
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};
using SslX509Stack = std::unique_ptr<STACK_OF(X509), SslX509StackDeleter>;

// Returns an error whose message is `what` followed by the reasons in OpenSSL's error queue; empties
// the queue. The code is kInternal unless given.
absl::Status OpenSslError(absl::string_view what,
                          absl::StatusCode code = absl::StatusCode::kInternal);

// Empties OpenSSL's error queue (after an expected failure, so it does not leak into a later error).
void ClearOpenSslErrors();

}  // namespace triad::crypto

#endif  // TRIAD_CRYPTO_SSL_PTR_H_
