#include "attestation/internal/x509_check.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <ctime>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation::internal {
namespace {

using crypto::SslPtr;

constexpr size_t kMaxCertDer = 16 * 1024;
constexpr absl::string_view kPemBegin = "-----BEGIN CERTIFICATE-----";
constexpr absl::string_view kPemEnd = "-----END CERTIFICATE-----";

bool IsPemSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

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

absl::StatusOr<std::vector<std::string>> ParsePemBlocks(absl::string_view pem, size_t max_certs) {
  while (!pem.empty() && pem.back() == '\0') pem.remove_suffix(1);
  std::vector<std::string> blocks;
  size_t pos = 0;
  while (true) {
    while (pos < pem.size() && IsPemSpace(pem[pos])) ++pos;
    if (pos == pem.size()) break;
    if (pem.substr(pos, kPemBegin.size()) != kPemBegin) {
      return absl::InvalidArgumentError(
          absl::StrCat("PEM: expected \"", kPemBegin, "\" at byte ", pos));
    }
    pos += kPemBegin.size();
    size_t end = pem.find(kPemEnd, pos);
    if (end == absl::string_view::npos) {
      return absl::InvalidArgumentError("PEM: certificate block has no END line");
    }
    if (blocks.size() == max_certs) {
      return absl::InvalidArgumentError(
          absl::StrCat("PEM: more than ", max_certs, " certificates"));
    }
    std::string b64;
    for (char c : pem.substr(pos, end - pos)) {
      if (!IsPemSpace(c)) b64.push_back(c);
    }
    pos = end + kPemEnd.size();
    if (b64.size() > kMaxCertDer * 4 / 3 + 4) {
      return absl::InvalidArgumentError(
          absl::StrCat("PEM: certificate larger than ", kMaxCertDer, " bytes"));
    }
    absl::StatusOr<std::string> der = base::Base64Decode(b64);
    if (!der.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("PEM: certificate ", blocks.size() + 1, ": ", der.status().message()));
    }
    blocks.push_back(*std::move(der));
  }
  if (blocks.empty()) return absl::InvalidArgumentError("PEM: no certificate");
  return blocks;
}

absl::StatusOr<crypto::SslPtr<X509>> ParseDerCertificate(absl::string_view der, size_t index) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  crypto::SslPtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    crypto::ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        absl::StrCat("PEM: certificate ", index, " is not one DER X.509 certificate"));
  }
  return cert;
}

absl::StatusOr<std::vector<crypto::SslPtr<X509>>> ParsePemCertificates(absl::string_view pem,
                                                                       size_t max_certs) {
  absl::StatusOr<std::vector<std::string>> blocks = ParsePemBlocks(pem, max_certs);
  if (!blocks.ok()) return blocks.status();
  std::vector<crypto::SslPtr<X509>> certs;
  for (const std::string& der : *blocks) {
    absl::StatusOr<crypto::SslPtr<X509>> cert = ParseDerCertificate(der, certs.size() + 1);
    if (!cert.ok()) return cert.status();
    certs.push_back(*std::move(cert));
  }
  return certs;
}

std::string CertificateDer(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) {
    crypto::ClearOpenSslErrors();
    return "";
  }
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string CommonName(const X509* cert) {
  const X509_NAME* name = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return "";
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

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
