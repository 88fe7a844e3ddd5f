#include "tests/attestation/tdx_test_util.h"

#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "attestation/internal/tdx_quote.h"
#include "crypto/ssl_ptr.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/testing.h"

namespace triad::attestation::tdx_test {
namespace {

Vector Make(const std::string& quote, const std::string& collateral, int64_t now) {
  return Vector{Data(quote), Data(collateral), absl::FromUnixSeconds(now)};
}

std::string Le16(size_t v) {
  return std::string{static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
}
std::string Le32(size_t v) {
  return std::string{static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff),
                     static_cast<char>((v >> 16) & 0xff), static_cast<char>((v >> 24) & 0xff)};
}
uint32_t ReadLe32(const std::string& s, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + at);
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

}  // namespace

std::string Data(const std::string& relative) {
  return testing::ReadTestFile(testing::TestdataDir() + "/attestation/" + relative);
}

Vector DcapQvlV4() {
  return Make("tdx/dcapqvl-v4-b0c06f/quote.bin", "tdx/dcapqvl-v4-b0c06f/collateral.json", kV4Now);
}
Vector GoTdxV5() {
  return Make("tdx/gotdx-v5-90c06f/quote.bin",
              "tdx/dcapqvl-v5-90c06f-tcb-unsupported/collateral.json", kV5Now);
}
Vector DcapQvlV5Unsupported() {
  return Make("tdx/dcapqvl-v5-90c06f-tcb-unsupported/quote.bin",
              "tdx/dcapqvl-v5-90c06f-tcb-unsupported/collateral.json", kV5Now);
}
Vector GoTdxV4Spr() {
  return Make("tdx/gotdx-v4-spr-50806f/quote.bin", "tdx/gotdx-v4-spr-50806f/collateral.json",
              kSprNow);
}
Vector TrusteeDebug() {
  return Make("tdx/trustee-v4-debug-50806f/quote.bin", "tdx/gotdx-v4-spr-50806f/collateral.json",
              kSprNow);
}

TrustAnchors PinnedAnchors() {
  TrustAnchors anchors;
  anchors.intel_sgx_root_ca = Data("roots/intel_sgx_root_ca.pem");
  return anchors;
}

Evidence EvidenceOf(const Vector& v) {
  Evidence e;
  e.tee = "tdx";
  e.report = v.quote;
  e.collateral = v.collateral;
  return e;
}

Verdict VerifyVector(const Vector& v) {
  static const TdxVerifier* verifier = new TdxVerifier(PinnedAnchors());
  return verifier->Verify(EvidenceOf(v), v.now);
}

std::string PcsSignedObject(const std::string& response, const std::string& key) {
  std::string marker = absl::StrCat("\"", key, "\":");
  size_t start = response.find(marker);
  if (start == std::string::npos) {
    ADD_FAILURE() << "no " << marker;
    return "";
  }
  start += marker.size();
  int depth = 0;
  bool in_string = false;
  for (size_t i = start; i < response.size(); ++i) {
    char c = response[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // skip the escaped character
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return response.substr(start, i + 1 - start);
    }
  }
  ADD_FAILURE() << "unterminated " << key;
  return "";
}

std::string PcsSignature(const std::string& response) {
  return nlohmann::json::parse(response)["signature"].get<std::string>();
}

std::string Field(const std::string& collateral, const std::string& key) {
  return nlohmann::json::parse(collateral)[key].get<std::string>();
}

std::string WithFields(const std::string& collateral,
                       const std::map<std::string, std::string>& fields) {
  nlohmann::json j = nlohmann::json::parse(collateral);
  for (const auto& [k, v] : fields) j[k] = v;
  return j.dump();
}

std::string WithoutRootCopies(const std::string& collateral) {
  std::map<std::string, std::string> cut;
  for (const char* key :
       {"pck_crl_issuer_chain", "tcb_info_issuer_chain", "qe_identity_issuer_chain"}) {
    cut[key] = FirstCertificates(Field(collateral, key), 1);
  }
  return WithFields(collateral, cut);
}

size_t QuoteDataEnd(const std::string& quote) {
  absl::StatusOr<internal::TdxQuote> q = internal::ParseTdxQuote(quote);
  EXPECT_TRUE(q.ok());
  if (!q.ok()) return 0;
  size_t at = q->signed_part.size();
  return at + 4 + ReadLe32(quote, at);
}

std::string ChainOf(const std::string& quote) {
  absl::StatusOr<internal::TdxQuote> q = internal::ParseTdxQuote(quote);
  EXPECT_TRUE(q.ok());
  return q.ok() ? q->pck_chain_pem : "";
}

std::string SerializeQuote(const internal::TdxQuote& q) {
  std::string qe_cert_data =
      absl::StrCat(q.qe_report.raw, q.qe_report_signature, Le16(q.qe_auth_data.size()),
                   q.qe_auth_data, Le16(5), Le32(q.pck_chain_pem.size()), q.pck_chain_pem);
  std::string sig_data = absl::StrCat(q.signature, q.attestation_key, Le16(6),
                                      Le32(qe_cert_data.size()), qe_cert_data);
  return absl::StrCat(q.signed_part, Le32(sig_data.size()), sig_data);
}

std::string WithPckChain(const std::string& quote, const std::string& pem) {
  absl::StatusOr<internal::TdxQuote> q = internal::ParseTdxQuote(quote);
  EXPECT_TRUE(q.ok());
  if (!q.ok()) return "";
  q->pck_chain_pem = pem;
  return SerializeQuote(*q);
}

std::string FirstCertificates(const std::string& pem, size_t n) {
  static constexpr char kEnd[] = "-----END CERTIFICATE-----";
  std::string out;
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t begin = pem.find("-----BEGIN CERTIFICATE-----", pos);
    size_t end = pem.find(kEnd, begin);
    if (begin == std::string::npos || end == std::string::npos) {
      ADD_FAILURE() << "fewer than " << n << " certificates";
      return out;
    }
    end += sizeof(kEnd) - 1;
    absl::StrAppend(&out, pem.substr(begin, end - begin), "\n");
    pos = end;
  }
  return out;
}

ForgedRoot MakeForgedRoot() {
  using crypto::SslPtr;
  std::string real_pem = Data("roots/intel_sgx_root_ca.pem");
  SslPtr<BIO> in(BIO_new_mem_buf(real_pem.data(), static_cast<int>(real_pem.size())));
  SslPtr<X509> real(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
  SslPtr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  SslPtr<X509> cert(X509_new());
  EXPECT_TRUE(real != nullptr && key != nullptr && cert != nullptr);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 42);
  X509_set_subject_name(cert.get(), X509_get_subject_name(real.get()));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(real.get()));
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), 1526899510);  // 2018-05-21
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), 2524607999);   // 2049-12-31
  X509_set_pubkey(cert.get(), key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [name, value] : {std::pair{"basicConstraints", "critical,CA:TRUE,pathlen:1"},
                             std::pair{"keyUsage", "critical,keyCertSign,cRLSign"}}) {
    SslPtr<X509_EXTENSION> ext(X509V3_EXT_conf(nullptr, &ctx, name, value));
    EXPECT_TRUE(ext != nullptr);
    X509_add_ext(cert.get(), ext.get(), -1);
  }
  // Intel's own key identifier, so that path building picks the forgery as the issuer.
  int skid = X509_get_ext_by_NID(real.get(), NID_subject_key_identifier, -1);
  EXPECT_GE(skid, 0);
  X509_add_ext(cert.get(), X509_get_ext(real.get(), skid), -1);
  EXPECT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
  SslPtr<BIO> out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(out.get(), cert.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  return ForgedRoot{std::string(data, static_cast<size_t>(len))};
}

}  // namespace triad::attestation::tdx_test
