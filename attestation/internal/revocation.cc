#include "attestation/internal/revocation.h"

#include <openssl/pem.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attestation/internal/x509_check.h"
#include "base/clock.h"

namespace triad::attestation::internal {
namespace {

using crypto::SslPtr;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Whether `id` (from a response) names `subject` issued by `issuer`: the same CertID computed with
// the response's own hash algorithm (responders use SHA-1 or SHA-256).
bool Names(const OCSP_CERTID* id, X509* subject, X509* issuer) {
  ASN1_OBJECT* md_oid = nullptr;
  if (OCSP_id_get0_info(nullptr, &md_oid, nullptr, nullptr, const_cast<OCSP_CERTID*>(id)) != 1) {
    return false;
  }
  const EVP_MD* md = EVP_get_digestbyobj(md_oid);
  if (md == nullptr) {
    crypto::ClearOpenSslErrors();
    return false;
  }
  SslPtr<OCSP_CERTID> mine(OCSP_cert_to_id(md, subject, issuer));
  bool same = mine != nullptr && OCSP_id_cmp(mine.get(), id) == 0;
  crypto::ClearOpenSslErrors();
  return same;
}

// Whether `signer` may sign OCSP responses about certificates `issuer` issued (RFC 6960 4.2.2.2):
// the issuer itself, or a certificate it issued with id-kp-OCSPSigning, valid at `now`.
std::string SignerProblem(X509* signer, X509* issuer, absl::Time now) {
  if (X509_cmp(signer, issuer) == 0) return "";
  const std::string who = QuotedName(signer);
  if (X509_check_issued(issuer, signer) != X509_V_OK ||
      X509_verify(signer, X509_get0_pubkey(issuer)) != 1) {
    crypto::ClearOpenSslErrors();
    return absl::StrCat("it is signed by ", who, ", which is neither the issuer ",
                        QuotedName(issuer), " nor certified by it");
  }
  if ((X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) == 0 ||
      (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) == 0) {
    return absl::StrCat("its signer ", who,
                        " is not certified for OCSP signing (id-kp-OCSPSigning)");
  }
  if (Asn1Time(X509_get0_notBefore(signer)) > now || Asn1Time(X509_get0_notAfter(signer)) < now) {
    return absl::StrCat("its signer ", who, " is not valid at ", base::FormatRfc3339(now));
  }
  return "";
}

// thisUpdate <= now (give or take kRevocationSkew) <= nextUpdate, nextUpdate required.
void CheckWindow(const ASN1_TIME* this_update, const ASN1_TIME* next_update, absl::Time now,
                 absl::string_view what, std::vector<std::string>& problems) {
  if (this_update == nullptr || Asn1Time(this_update) > now + kRevocationSkew) {
    problems.push_back(absl::StrCat(what, ": thisUpdate is after the verification time ",
                                    base::FormatRfc3339(now)));
  }
  if (next_update == nullptr) {
    problems.push_back(absl::StrCat(what, ": it has no nextUpdate, so it never expires"));
  } else if (Asn1Time(next_update) < now) {
    problems.push_back(absl::StrCat(what, ": it expired at ",
                                    base::FormatRfc3339(Asn1Time(next_update)),
                                    " (verification time ", base::FormatRfc3339(now), ")"));
  }
}

}  // namespace

absl::StatusOr<std::vector<SslPtr<OCSP_BASICRESP>>> ParseOcspResponses(
    const std::vector<std::string>& der) {
  if (der.size() > kMaxOcspResponses) {
    return absl::ResourceExhaustedError(
        absl::StrCat(der.size(), " OCSP responses, more than ", kMaxOcspResponses));
  }
  std::vector<SslPtr<OCSP_BASICRESP>> out;
  for (size_t i = 0; i < der.size(); ++i) {
    const std::string what = absl::StrCat("OCSP response ", i + 1);
    if (der[i].size() > kMaxOcspResponseSize) {
      return absl::ResourceExhaustedError(
          absl::StrCat(what, ": ", der[i].size(), " bytes, more than ", kMaxOcspResponseSize));
    }
    const unsigned char* p = Bytes(der[i]);
    SslPtr<OCSP_RESPONSE> resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der[i].size())));
    if (resp == nullptr || p != Bytes(der[i]) + der[i].size()) {
      crypto::ClearOpenSslErrors();
      return absl::InvalidArgumentError(absl::StrCat(what, ": not one DER OCSPResponse"));
    }
    const int status = OCSP_response_status(resp.get());
    if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": the responder answered \"",
                                                     OCSP_response_status_str(status), "\""));
    }
    SslPtr<OCSP_BASICRESP> basic(OCSP_response_get1_basic(resp.get()));
    if (basic == nullptr) {
      crypto::ClearOpenSslErrors();
      return absl::InvalidArgumentError(absl::StrCat(what, ": no basic OCSP response"));
    }
    out.push_back(std::move(basic));
  }
  return out;
}

OcspCheck CheckOcsp(const std::vector<SslPtr<OCSP_BASICRESP>>& responses, X509* subject,
                    X509* issuer, absl::Time now, absl::string_view name) {
  OcspCheck check;
  for (size_t r = 0; r < responses.size(); ++r) {
    OCSP_BASICRESP* bs = responses[r].get();
    const int count = OCSP_resp_count(bs);
    OCSP_SINGLERESP* single = nullptr;
    for (int i = 0; i < count && single == nullptr; ++i) {
      OCSP_SINGLERESP* s = OCSP_resp_get0(bs, i);
      if (s != nullptr && Names(OCSP_SINGLERESP_get0_id(s), subject, issuer)) single = s;
    }
    if (single == nullptr) continue;
    const std::string what = absl::StrCat("OCSP response ", r + 1, " for ", name);
    std::vector<std::string> problems;

    // The signer: found among the response's own certificates or the issuer.
    SslPtr<STACK_OF(X509)> candidates(sk_X509_new_null());
    X509* signer = nullptr;
    if (candidates == nullptr || sk_X509_push(candidates.get(), issuer) <= 0) {
      problems.push_back(absl::StrCat(what, ": cannot set up its verification"));
    } else if (OCSP_resp_get0_signer(bs, &signer, candidates.get()) != 1 || signer == nullptr) {
      problems.push_back(absl::StrCat(what, ": its signer is not the issuer ", QuotedName(issuer),
                                      " nor a certificate it carries"));
    } else if (std::string p = SignerProblem(signer, issuer, now); !p.empty()) {
      problems.push_back(absl::StrCat(what, ": ", p));
    } else {
      // Signature only: the signer's authority was established above, against the issuer that the
      // caller's verified chain provides (OCSP_NOVERIFY skips OpenSSL's own path building).
      SslPtr<STACK_OF(X509)> just_signer(sk_X509_new_null());
      SslPtr<X509_STORE> empty(X509_STORE_new());
      if (just_signer == nullptr || empty == nullptr ||
          sk_X509_push(just_signer.get(), signer) <= 0 ||
          OCSP_basic_verify(bs, just_signer.get(), empty.get(),
                            OCSP_NOVERIFY | OCSP_NOINTERN | OCSP_NOEXPLICIT) != 1) {
        problems.push_back(absl::StrCat(what, ": its signature does not verify with the key of ",
                                        QuotedName(signer)));
      }
    }
    crypto::ClearOpenSslErrors();

    int reason = 0;
    ASN1_GENERALIZEDTIME* revoked_at = nullptr;
    ASN1_GENERALIZEDTIME* this_update = nullptr;
    ASN1_GENERALIZEDTIME* next_update = nullptr;
    const int status =
        OCSP_single_get0_status(single, &reason, &revoked_at, &this_update, &next_update);
    CheckWindow(this_update, next_update, now, what, problems);
    if (!problems.empty()) {
      for (std::string& p : problems) check.problems.push_back(std::move(p));
      continue;
    }
    CertStatus s = status == V_OCSP_CERTSTATUS_GOOD      ? CertStatus::kGood
                   : status == V_OCSP_CERTSTATUS_REVOKED ? CertStatus::kRevoked
                                                         : CertStatus::kUnknown;
    // Revoked wins over everything; unknown over good.
    if (check.status == CertStatus::kNotCovered || s == CertStatus::kRevoked ||
        (s == CertStatus::kUnknown && check.status == CertStatus::kGood)) {
      check.status = s;
    }
  }
  return check;
}

absl::StatusOr<std::vector<SslPtr<X509_CRL>>> ParseCrls(absl::string_view der_or_pem) {
  if (der_or_pem.size() > kMaxCrlSize * kMaxCrls) {
    return absl::ResourceExhaustedError(
        absl::StrCat("CRLs: ", der_or_pem.size(), " bytes, more than ", kMaxCrlSize * kMaxCrls));
  }
  std::vector<SslPtr<X509_CRL>> out;
  if (!absl::StrContains(der_or_pem, "-----BEGIN")) {
    const unsigned char* p = Bytes(der_or_pem);
    SslPtr<X509_CRL> crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der_or_pem.size())));
    if (crl == nullptr || p != Bytes(der_or_pem) + der_or_pem.size()) {
      crypto::ClearOpenSslErrors();
      return absl::InvalidArgumentError("CRL 1: not one DER CertificateList");
    }
    out.push_back(std::move(crl));
    return out;
  }
  // PEM: only "X509 CRL" blocks and whitespace.
  absl::string_view rest = der_or_pem;
  constexpr absl::string_view kBegin = "-----BEGIN X509 CRL-----";
  constexpr absl::string_view kEnd = "-----END X509 CRL-----";
  while (true) {
    size_t skip = 0;
    while (skip < rest.size() && absl::ascii_isspace(static_cast<unsigned char>(rest[skip])))
      ++skip;
    rest.remove_prefix(skip);
    if (rest.empty()) break;
    const std::string what = absl::StrCat("CRL ", out.size() + 1);
    if (out.size() == kMaxCrls) {
      return absl::ResourceExhaustedError(absl::StrCat("more than ", kMaxCrls, " CRLs"));
    }
    size_t end = rest.find(kEnd);
    if (!absl::StartsWith(rest, kBegin) || end == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": expected a PEM \"X509 CRL\" block"));
    }
    absl::string_view block = rest.substr(0, end + kEnd.size());
    rest.remove_prefix(block.size());
    SslPtr<BIO> bio(BIO_new_mem_buf(block.data(), static_cast<int>(block.size())));
    SslPtr<X509_CRL> crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)
                             : nullptr);
    if (crl == nullptr) {
      crypto::ClearOpenSslErrors();
      return absl::InvalidArgumentError(absl::StrCat(what, ": not a PEM CertificateList"));
    }
    out.push_back(std::move(crl));
  }
  if (out.empty()) return absl::InvalidArgumentError("CRLs: none in the PEM text");
  return out;
}

std::vector<std::string> CheckCrlIssuedBy(X509_CRL* crl, X509* issuer, absl::Time now,
                                          absl::string_view crl_name) {
  std::vector<std::string> problems;
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
    problems.push_back(absl::StrCat(crl_name, ": it is not issued by ", QuotedName(issuer)));
    return problems;
  }
  if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
    problems.push_back(absl::StrCat(crl_name, ": its signature does not verify with the key of ",
                                    QuotedName(issuer)));
  }
  crypto::ClearOpenSslErrors();
  const ASN1_TIME* last = X509_CRL_get0_lastUpdate(crl);
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
  CheckWindow(last, next, now, crl_name, problems);
  return problems;
}

bool CrlRevokes(X509_CRL* crl, X509* cert) {
  X509_REVOKED* entry = nullptr;
  const int found = X509_CRL_get0_by_cert(crl, &entry, cert);
  crypto::ClearOpenSslErrors();
  // 1: revoked; 2: listed with removeFromCRL (not revoked); 0: not listed.
  return found == 1;
}

}  // namespace triad::attestation::internal
