#include "tests/attestation/tdx_fake_pki.h"

#include <openssl/core_names.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "attestation/internal/tdx_pck.h"
#include "base/encoding.h"
#include "crypto/hash.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/attestation/tdx_test_util.h"

namespace triad::attestation::tdx_test {
namespace {

using crypto::SslPtr;

SslPtr<X509_NAME> IntelName(const char* cn) {
  SslPtr<X509_NAME> name(X509_NAME_new());
  for (auto [field, value] :
       {std::pair{"CN", cn}, std::pair{"O", "Intel Corporation"}, std::pair{"L", "Santa Clara"},
        std::pair{"ST", "CA"}, std::pair{"C", "US"}}) {
    X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(value), -1, -1, 0);
  }
  return name;
}

// A certificate valid 2018..2049 for `key`, signed by `issuer_key` (self-signed when issuer is
// null).
SslPtr<X509> MakeCert(const char* cn, long serial, EVP_PKEY* key, X509* issuer,
                      EVP_PKEY* issuer_key, bool ca, X509_EXTENSION* extra = nullptr) {
  SslPtr<X509> cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  SslPtr<X509_NAME> name = IntelName(cn);
  X509_set_subject_name(cert.get(), name.get());
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name.get());
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), 1526899510);  // 2018-05-21
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), 2524607999);   // 2049-12-31
  X509_set_pubkey(cert.get(), key);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  std::vector<std::pair<const char*, const char*>> exts = {
      {"basicConstraints", ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
      {"keyUsage",
       ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,nonRepudiation"}};
  for (auto [n, v] : exts) {
    SslPtr<X509_EXTENSION> ext(X509V3_EXT_conf(nullptr, &ctx, n, v));
    X509_add_ext(cert.get(), ext.get(), -1);
  }
  if (extra != nullptr) X509_add_ext(cert.get(), extra, -1);
  EXPECT_GT(X509_sign(cert.get(), issuer_key, EVP_sha256()), 0);
  return cert;
}

std::string Pem(X509* cert) {
  SslPtr<BIO> out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(out.get(), cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// ECDSA P-256 / SHA-256 signature as raw r || s.
std::string SignRaw(EVP_PKEY* key, const std::string& data) {
  SslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key), 1);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()),
            1);
  std::string der(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()),
            1);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  SslPtr<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  std::string rs(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(rs.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(rs.data()) + 32, 32);
  return rs;
}

std::string CrlHex(X509* issuer, EVP_PKEY* key, const std::vector<long>& revoked,
                   absl::Time this_update, absl::Time next_update) {
  SslPtr<X509_CRL> crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer));
  SslPtr<ASN1_STRING> t1(ASN1_TIME_set(nullptr, absl::ToTimeT(this_update)));
  SslPtr<ASN1_STRING> t2(ASN1_TIME_set(nullptr, absl::ToTimeT(next_update)));
  X509_CRL_set1_lastUpdate(crl.get(), t1.get());
  X509_CRL_set1_nextUpdate(crl.get(), t2.get());
  for (long serial : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    SslPtr<ASN1_STRING> s(ASN1_INTEGER_new());
    ASN1_INTEGER_set(s.get(), serial);
    X509_REVOKED_set_serialNumber(r, s.get());
    X509_REVOKED_set_revocationDate(r, t1.get());
    X509_CRL_add0_revoked(crl.get(), r);
  }
  X509_CRL_sort(crl.get());
  EXPECT_GT(X509_CRL_sign(crl.get(), key, EVP_sha256()), 0);
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(crl.get(), &der);
  std::string hex =
      base::HexEncode(absl::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(len)));
  OPENSSL_free(der);
  return hex;
}

}  // namespace

FakeIntelPki::FakeIntelPki(const char* pck_key_curve)
    : root_key_(EVP_EC_gen("P-256")),
      ca_key_(EVP_EC_gen("P-256")),
      tcb_key_(EVP_EC_gen("P-256")),
      pck_key_(EVP_EC_gen(pck_key_curve)) {
  root_ = MakeCert("Intel SGX Root CA", 0x10, root_key_.get(), nullptr, root_key_.get(), true);
  ca_ = MakeCert("Intel SGX PCK Platform CA", kPckCaSerial, ca_key_.get(), root_.get(),
                 root_key_.get(), true);
  tcb_ = MakeCert("Intel SGX TCB Signing", kTcbSigningSerial, tcb_key_.get(), root_.get(),
                  root_key_.get(), false);
  // The SGX extension of the real dcapqvl-v4 PCK (FMSPC B0C06F000000), copied as is.
  std::string real_chain = ChainOf(Data("tdx/dcapqvl-v4-b0c06f/quote.bin"));
  auto certs = internal::ParsePemCertificates(real_chain, 4);
  EXPECT_TRUE(certs.ok());
  SslPtr<ASN1_OBJECT> oid(OBJ_txt2obj("1.2.840.113741.1.13.1", 1));
  int idx = X509_get_ext_by_OBJ((*certs)[0].get(), oid.get(), -1);
  X509_EXTENSION* sgx = X509_get_ext((*certs)[0].get(), idx);
  pck_ = MakeCert("Intel SGX PCK Certificate", kPckSerial, pck_key_.get(), ca_.get(), ca_key_.get(),
                  false, sgx);
}

TrustAnchors FakeIntelPki::Anchors() const {
  TrustAnchors anchors;
  anchors.intel_sgx_root_ca = Pem(root_.get());
  return anchors;
}

std::string FakeIntelPki::Sign(internal::TdxQuote q) const {
  SslPtr<EVP_PKEY> ak(EVP_EC_gen("P-256"));
  unsigned char point[65];
  size_t len = 0;
  EXPECT_EQ(
      EVP_PKEY_get_octet_string_param(ak.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len),
      1);
  q.attestation_key.assign(reinterpret_cast<char*>(point + 1), 64);
  std::string report_data =
      crypto::Sha256(q.attestation_key + q.qe_auth_data) + std::string(32, '\0');
  q.qe_report.raw.replace(320, 64, report_data);
  q.qe_report_signature = SignRaw(pck_key_.get(), q.qe_report.raw);
  q.signature = SignRaw(ak.get(), q.signed_part);
  q.pck_chain_pem = Pem(pck_.get()) + Pem(ca_.get()) + Pem(root_.get());
  return SerializeQuote(q);
}

std::string FakeIntelPki::Collateral(const CollateralOptions& o) const {
  nlohmann::json j;
  j["pck_crl_issuer_chain"] = Pem(ca_.get()) + Pem(root_.get());
  j["root_ca_crl"] = CrlHex(root_.get(), root_key_.get(), o.root_crl_revoked, o.crl_this_update,
                            o.crl_next_update);
  j["pck_crl"] =
      CrlHex(ca_.get(), ca_key_.get(), o.pck_crl_revoked, o.crl_this_update, o.crl_next_update);
  j["tcb_info_issuer_chain"] = Pem(tcb_.get()) + Pem(root_.get());
  j["tcb_info"] = o.tcb_info_json;
  j["tcb_info_signature"] = base::HexEncode(SignRaw(tcb_key_.get(), o.tcb_info_json));
  j["qe_identity_issuer_chain"] = Pem(tcb_.get()) + Pem(root_.get());
  j["qe_identity"] = o.qe_identity_json;
  j["qe_identity_signature"] = base::HexEncode(SignRaw(tcb_key_.get(), o.qe_identity_json));
  return j.dump();
}

}  // namespace triad::attestation::tdx_test
