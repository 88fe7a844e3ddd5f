#include "attestation/internal/x509_check.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <ctime>

#include "absl/strings/str_cat.h"
#include "attestation/internal/tdx_pck.h"
#include "base/clock.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation::internal {
namespace {

using crypto::SslPtr;

// One certificate-path error, as OpenSSL reported it while building and verifying the path.
struct PathError {
  int code;
  std::string cert;  // quoted common name of the certificate concerned
  std::string detail;
};

int RecordPathError(int ok, X509_STORE_CTX* ctx) {
  if (ok) return 1;
  auto* errors = static_cast<std::vector<PathError>*>(X509_STORE_CTX_get_app_data(ctx));
  int code = X509_STORE_CTX_get_error(ctx);
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  PathError e{code, cert != nullptr ? QuotedName(cert) : "\"\"", ""};
  if (cert != nullptr && code == X509_V_ERR_CERT_HAS_EXPIRED) {
    e.detail = absl::StrCat(", valid until ",
                            base::FormatRfc3339(Asn1Time(X509_get0_notAfter(cert))));
  } else if (cert != nullptr && code == X509_V_ERR_CERT_NOT_YET_VALID) {
    e.detail = absl::StrCat(", valid from ",
                            base::FormatRfc3339(Asn1Time(X509_get0_notBefore(cert))));
  }
  for (const PathError& seen : *errors) {
    if (seen.cert != e.cert) continue;
    if (seen.code == e.code) return 1;
    // "unable to verify the first certificate" only repeats that its issuer was not found.
    if (code == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE &&
        (seen.code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
         seen.code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT)) {
      return 1;
    }
  }
  errors->push_back(std::move(e));
  // Keep going, so that every problem of the path is reported; any recorded error fails it.
  return 1;
}

}  // namespace

absl::Time Asn1Time(const ASN1_TIME* t) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTimeT(timegm(&tm));
}

std::string QuotedName(const X509* cert) { return absl::StrCat("\"", CommonName(cert), "\""); }

std::vector<std::string> VerifyPath(X509_STORE* store, X509* leaf,
                                    const std::vector<X509*>& intermediates, absl::Time now,
                                    std::vector<X509*>* path) {
  SslPtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  SslPtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  bool ready = untrusted != nullptr && ctx != nullptr;
  for (X509* c : intermediates) ready = ready && sk_X509_push(untrusted.get(), c) > 0;
  if (!ready || X509_STORE_CTX_init(ctx.get(), store, leaf, untrusted.get()) != 1) {
    crypto::ClearOpenSslErrors();
    return {"cannot set up certificate verification"};
  }
  std::vector<PathError> errors;
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  X509_STORE_CTX_set_app_data(ctx.get(), &errors);
  X509_STORE_CTX_set_verify_cb(ctx.get(), RecordPathError);
  int rc = X509_verify_cert(ctx.get());
  crypto::ClearOpenSslErrors();
  if (rc != 1 && errors.empty()) {
    errors.push_back({X509_STORE_CTX_get_error(ctx.get()), QuotedName(leaf), ""});
  }
  std::vector<std::string> messages;
  for (const PathError& e : errors) {
    messages.push_back(absl::StrCat(X509_verify_cert_error_string(e.code), " (", e.cert, e.detail,
                                    ")"));
  }
  if (messages.empty() && path != nullptr) {
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    path->clear();
    for (int i = 0; i < sk_X509_num(chain); ++i) path->push_back(sk_X509_value(chain, i));
  }
  return messages;
}

bool IsEcKey(EVP_PKEY* key, absl::string_view group) {
  if (key == nullptr || !EVP_PKEY_is_a(key, "EC")) return false;
  char name[64] = {};
  size_t len = 0;
  bool ok = EVP_PKEY_get_group_name(key, name, sizeof name, &len) == 1 &&
            absl::string_view(name, len) == group;
  crypto::ClearOpenSslErrors();
  return ok;
}

bool VerifyEcdsaRaw(EVP_PKEY* key, const EVP_MD* md, absl::string_view data, absl::string_view rs) {
  if (key == nullptr || md == nullptr || rs.empty() || rs.size() % 2 != 0) return false;
  const int half = static_cast<int>(rs.size() / 2);
  const auto* p = reinterpret_cast<const unsigned char*>(rs.data());
  SslPtr<BIGNUM> r(BN_bin2bn(p, half, nullptr));
  SslPtr<BIGNUM> s(BN_bin2bn(p + half, half, nullptr));
  SslPtr<ECDSA_SIG> sig(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || sig == nullptr ||
      ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    crypto::ClearOpenSslErrors();
    return false;
  }
  r.release();  // owned by sig now
  s.release();
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) {
    crypto::ClearOpenSslErrors();
    return false;
  }
  SslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx.get(), der, static_cast<size_t>(der_len),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  OPENSSL_free(der);
  crypto::ClearOpenSslErrors();
  return ok;
}

}  // namespace triad::attestation::internal
