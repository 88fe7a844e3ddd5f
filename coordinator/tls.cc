#include "coordinator/tls.h"

#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/ssl_ptr.h"

namespace triad::coordinator {
namespace {

using crypto::OpenSslError;
using crypto::SslPtr;

absl::Status AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  SslPtr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslError("adding certificate extension");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TlsIdentity> GenerateTlsIdentity(absl::Time now, absl::Duration validity) {
  SslPtr<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  SslPtr<X509> cert(X509_new());
  if (!key || !cert) return OpenSslError("generating TLS key");
  std::string serial = crypto::RandomString(16);
  serial[0] &= 0x7f;  // positive
  SslPtr<BIGNUM> bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(serial.data()), 16, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()))) {
    return OpenSslError("certificate serial");
  }
  X509_set_version(cert.get(), X509_VERSION_3);
  int64_t not_before = absl::ToUnixSeconds(now - absl::Hours(1));
  int64_t not_after = absl::ToUnixSeconds(now + validity);
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after))) {
    return OpenSslError("certificate validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());  // get0: borrowed
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(kTlsServerName), -1, -1, 0) ||
      !X509_set_issuer_name(cert.get(), name) || !X509_set_pubkey(cert.get(), key.get())) {
    return OpenSslError("certificate names");
  }
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                            std::pair{NID_key_usage, "critical,digitalSignature"},
                            std::pair{NID_ext_key_usage, "serverAuth"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (absl::Status st = AddExtension(cert.get(), nid, value); !st.ok()) return st;
  }
  std::string san = absl::StrCat("DNS:", kTlsServerName);
  if (absl::Status st = AddExtension(cert.get(), NID_subject_alt_name, san.c_str()); !st.ok()) return st;
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return OpenSslError("signing certificate");

  SslPtr<BIO> key_bio(BIO_new(BIO_s_secmem()));
  SslPtr<BIO> cert_bio(BIO_new(BIO_s_mem()));
  if (!key_bio || !cert_bio ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
    return OpenSslError("writing TLS identity");
  }
  TlsIdentity out;
  char* data = nullptr;
  long len = BIO_get_mem_data(key_bio.get(), &data);
  out.key_pem = crypto::SecretBytes::CopyFrom(absl::string_view(data, static_cast<size_t>(len)));
  len = BIO_get_mem_data(cert_bio.get(), &data);
  out.cert_pem.assign(data, static_cast<size_t>(len));
  return out;
}

absl::StatusOr<std::string> CertificateFingerprint(absl::string_view cert_pem) {
  if (cert_pem.size() > 64 * 1024) return absl::InvalidArgumentError("certificate PEM too large");
  SslPtr<BIO> bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  SslPtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return OpenSslError("not a PEM certificate", absl::StatusCode::kInvalidArgument);
  SslPtr<X509> extra(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  crypto::ClearOpenSslErrors();
  if (extra) return absl::InvalidArgumentError("expected exactly one certificate");
  unsigned char* der = nullptr;
  int n = i2d_X509(cert.get(), &der);
  if (n <= 0) return OpenSslError("encoding certificate");
  std::string fp = base::HexEncode(crypto::Sha256(absl::string_view(reinterpret_cast<char*>(der), n)));
  OPENSSL_free(der);
  return fp;
}

}  // namespace triad::coordinator
