// TDX DCAP quote verification: signatures, chains, CRLs and collateral windows here; parsing in
// tdx_quote.cc / tdx_pck.cc / tdx_collateral.cc; Intel's TCB evaluation in tdx_tcb.cc.
#include <algorithm>

#include "attestation/tdx.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attestation/internal/tdx_collateral.h"
#include "attestation/internal/tdx_pck.h"
#include "attestation/internal/tdx_quote.h"
#include "attestation/internal/tdx_tcb.h"
#include "attestation/internal/x509_check.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "contracts/claims.h"
#include "crypto/hash.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation {

namespace internal {

// The pinned root, parsed once, and a store that trusts it alone.
struct TdxTrust {
  crypto::SslPtr<X509> root;  // null when the anchor is missing or unparseable
  std::string root_problem;   // why it is null
  crypto::SslPtr<X509_STORE> store;
};

}  // namespace internal

namespace {

using crypto::SslPtr;
using internal::PckSgxExtensions;
using internal::TdxQuote;
using internal::TdxTrust;

// Common-name phrases Intel's QVL requires (CertVerification/X509Constants.h).
constexpr char kPckCertPhrase[] = "SGX PCK Certificate";
constexpr char kPckPlatformCaPhrase[] = "SGX PCK Platform CA";
constexpr char kPckProcessorCaPhrase[] = "SGX PCK Processor CA";
constexpr char kTcbSigningPhrase[] = "SGX TCB Signing";

std::string Time(absl::Time t) { return base::FormatRfc3339(t); }

// SHA-256, fetched once: OpenSSL 3 otherwise looks the algorithm up again on every use. Never
// freed, on purpose, so that no static destructor runs after OpenSSL's own cleanup at exit.
const EVP_MD* Sha256Md() {
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

// The quote's PEM chain as certificates. A block byte-identical to a certificate already parsed
// (the pinned root, the collateral's PCK CA) shares that certificate instead of being parsed again:
// OpenSSL 3 takes about 100 µs to parse one.
absl::StatusOr<std::vector<SslPtr<X509>>> ParseChainReusing(absl::string_view pem,
                                                            const std::vector<X509*>& known) {
  absl::StatusOr<std::vector<std::string>> blocks = internal::ParsePemBlocks(pem, 4);
  if (!blocks.ok()) return blocks.status();
  std::vector<std::string> known_der;
  for (X509* k : known) known_der.push_back(k != nullptr ? internal::CertificateDer(k) : "");
  std::vector<SslPtr<X509>> certs;
  for (const std::string& der : *blocks) {
    X509* same = nullptr;
    for (size_t i = 0; i < known.size(); ++i) {
      if (known[i] != nullptr && der == known_der[i]) same = known[i];
    }
    if (same != nullptr && X509_up_ref(same) == 1) {
      certs.emplace_back(same);
      continue;
    }
    absl::StatusOr<SslPtr<X509>> cert = internal::ParseDerCertificate(der, certs.size() + 1);
    if (!cert.ok()) return cert.status();
    certs.push_back(*std::move(cert));
  }
  return certs;
}

std::string SerialHex(const X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  return absl::AsciiStrToUpper(base::HexEncode(
      absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial)),
                        static_cast<size_t>(ASN1_STRING_length(serial)))));
}

// ECDSA P-256 / SHA-256 verification of a raw big-endian r || s signature (the form of quotes and
// of Intel's collateral signatures).
bool VerifyP256(EVP_PKEY* key, absl::string_view data, absl::string_view rs) {
  return rs.size() == 64 && internal::VerifyEcdsaRaw(key, Sha256Md(), data, rs);
}

// Whether a certificate's key is an EC P-256 key (the only kind Intel's PKI uses for these roles).
bool IsP256(EVP_PKEY* key) { return internal::IsEcKey(key, "prime256v1"); }

// The attestation key: a raw P-256 point X || Y. Null when it is not a point on the curve.
SslPtr<EVP_PKEY> AttestationKey(absl::string_view xy) {
  std::string point = absl::StrCat("\x04", xy);
  SslPtr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  bool built = bld != nullptr;
  built = built && OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                                   "prime256v1", 0) == 1;
  built = built && OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                                    point.data(), point.size()) == 1;
  if (!built) {
    crypto::ClearOpenSslErrors();
    return nullptr;
  }
  SslPtr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
  SslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    crypto::ClearOpenSslErrors();
    return nullptr;
  }
  SslPtr<EVP_PKEY> owned(key);
  // Import decodes the point; check explicitly that it is on the curve.
  SslPtr<EVP_PKEY_CTX> check(EVP_PKEY_CTX_new_from_pkey(nullptr, owned.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check_quick(check.get()) != 1) {
    crypto::ClearOpenSslErrors();
    return nullptr;
  }
  return owned;
}

class Check {
 public:
  Check(const TdxTrust& trust, absl::Time now) : trust_(trust), now_(now) {}

  void Fail(std::string reason) { reasons_.push_back(std::move(reason)); }
  std::vector<std::string>& reasons() { return reasons_; }
  absl::Time now() const { return now_; }
  bool have_root() const { return trust_.root != nullptr; }

  // Verifies `certs` (the leaf first; after the certificates the role needs, at most a copy of the
  // root, which must be the pinned one) to the pinned root at `now`. `expected` counts the
  // certificates before the root: 2 for the PCK chain (PCK, its CA), 1 for the collateral signers.
  // Returns the verified path, leaf first and root last, or nothing after reporting why. The
  // pointers borrow from `certs` and from the pinned root, which outlive the verification.
  std::vector<X509*> VerifyChain(const std::vector<SslPtr<X509>>& certs, size_t expected,
                                 absl::string_view what) {
    if (!have_root()) return {};
    size_t n = certs.size();
    if (n > expected) {
      for (size_t i = expected; i < n; ++i) {
        if (X509_cmp(certs[i].get(), trust_.root.get()) != 0) {
          Fail(absl::StrCat(what, ": certificate ", i + 1, " ", internal::QuotedName(certs[i].get()),
                            " is not the pinned Intel SGX Root CA"));
          return {};
        }
      }
      n = expected;
    }
    if (n != expected) {
      Fail(absl::StrCat(what, ": has ", n, " certificate", n == 1 ? "" : "s", " before the root; ",
                        expected, " expected"));
      return {};
    }
    std::vector<X509*> intermediates;
    for (size_t i = 1; i < n; ++i) intermediates.push_back(certs[i].get());
    std::vector<X509*> path;
    std::vector<std::string> errors =
        internal::VerifyPath(trust_.store.get(), certs[0].get(), intermediates, now_, &path);
    for (const std::string& e : errors) Fail(absl::StrCat(what, ": ", e));
    if (!errors.empty()) return {};
    if (path.size() != expected + 1 || X509_cmp(path.back(), trust_.root.get()) != 0) {
      Fail(absl::StrCat(what, ": does not end at the pinned Intel SGX Root CA"));
      return {};
    }
    return path;
  }

  // A CRL must name `issuer`, verify with its key and be current at `now`. True when usable.
  bool CheckCrl(X509_CRL* crl, const X509* issuer, absl::string_view what) {
    bool ok = true;
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
      Fail(absl::StrCat(what, " is not issued by ", internal::QuotedName(issuer)));
      return false;
    }
    if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
      Fail(absl::StrCat(what, " signature does not verify with the key of ", internal::QuotedName(issuer)));
      ok = false;
    }
    crypto::ClearOpenSslErrors();
    absl::Time this_update = internal::Asn1Time(X509_CRL_get0_lastUpdate(crl));
    const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
    if (now_ < this_update) {
      Fail(absl::StrCat(what, " is not valid before its thisUpdate ", Time(this_update)));
      ok = false;
    }
    if (next == nullptr) {
      Fail(absl::StrCat(what, " has no nextUpdate"));
      ok = false;
    } else if (now_ > internal::Asn1Time(next)) {
      Fail(absl::StrCat(what, " expired at its nextUpdate ", Time(internal::Asn1Time(next))));
      ok = false;
    }
    return ok;
  }

  // Reports `cert` when `crl` (already checked) lists it. Only certificates the CRL's issuer
  // issued.
  void CheckRevoked(X509_CRL* crl, X509* cert, absl::string_view crl_name, absl::string_view what) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0) return;
    X509_REVOKED* entry = nullptr;
    if (X509_CRL_get0_by_cert(crl, &entry, cert) == 1) {
      Fail(absl::StrCat(what, " ", internal::QuotedName(cert), " (serial ", SerialHex(cert),
                        ") is revoked by the ", crl_name));
    }
    crypto::ClearOpenSslErrors();
  }

  // Validity window of a TCB info or QE identity.
  void CheckWindow(absl::Time issue, absl::Time next, absl::string_view what) {
    if (now_ < issue) Fail(absl::StrCat(what, " is not valid before its issueDate ", Time(issue)));
    if (now_ > next) Fail(absl::StrCat(what, " expired at its nextUpdate ", Time(next)));
  }

  // A collateral signer: its chain (TCB signing certificate and optionally the root) and the
  // signature over the exact signed JSON. Returns the signer when the chain verified.
  X509* CheckSignedJson(const std::vector<SslPtr<X509>>& chain, const std::string& json,
                        const std::string& signature, absl::string_view what) {
    std::vector<X509*> path = VerifyChain(chain, 1, absl::StrCat(what, " issuer chain"));
    if (path.empty()) return nullptr;
    X509* signer = path[0];
    if (!absl::StrContains(internal::CommonName(signer), kTcbSigningPhrase)) {
      Fail(absl::StrCat(what, " signer ", internal::QuotedName(signer),
                        " is not an Intel SGX TCB Signing certificate"));
      return nullptr;
    }
    EVP_PKEY* key = X509_get0_pubkey(signer);
    if (!IsP256(key) || !VerifyP256(key, json, signature)) {
      Fail(absl::StrCat(what, " signature does not verify with the key of ", internal::QuotedName(signer)));
    }
    return signer;
  }

 private:
  const TdxTrust& trust_;
  absl::Time now_;
  std::vector<std::string> reasons_;
};

std::string Upper(absl::string_view bytes) { return absl::AsciiStrToUpper(base::HexEncode(bytes)); }

contracts::Claims MakeClaims(const TdxQuote& q, const PckSgxExtensions& pck,
                             const internal::TdxTcbResult& tcb) {
  contracts::Claims c;
  c.tee = contracts::kTeeTdx;
  c.report_data = q.body.report_data;
  c.measurement = q.body.mr_td;
  c.debug = (q.body.td_attributes & 1) != 0;  // TDATTRIBUTES.DEBUG
  c.tcb_status = std::string(internal::TcbStatusName(tcb.status));
  c.advisory_ids = tcb.advisory_ids;
  c.platform_id = pck.fmspc + pck.ppid;
  contracts::TdxClaims t;
  t.quote_version = q.version;
  t.mr_td = q.body.mr_td;
  t.rtmr.assign(q.body.rtmr.begin(), q.body.rtmr.end());
  t.mr_config_id = q.body.mr_config_id;
  t.mr_owner = q.body.mr_owner;
  t.mr_owner_config = q.body.mr_owner_config;
  t.mr_seam = q.body.mr_seam;
  t.mr_signer_seam = q.body.mr_signer_seam;
  t.mr_service_td = q.body.mr_service_td;
  t.td_attributes = q.body.td_attributes;
  t.xfam = q.body.xfam;
  t.tee_tcb_svn = q.body.tee_tcb_svn;
  t.fmspc = pck.fmspc;
  t.qe_tcb_status = tcb.qe_status;
  c.tdx = std::move(t);
  return c;
}

Verdict Invalid(std::vector<std::string> reasons) {
  Verdict v;
  v.valid = false;
  v.reasons = std::move(reasons);
  return v;
}

Verdict VerifyTdx(const TdxTrust& trust, absl::string_view quote_bytes,
                  const TdxCollateral* collateral, const std::string& collateral_problem,
                  absl::Time now, std::vector<std::string> reasons) {
  Check check(trust, now);
  check.reasons() = std::move(reasons);
  if (!check.have_root()) {
    check.Fail(absl::StrCat("no pinned Intel SGX Root CA: ", trust.root_problem));
  }

  absl::StatusOr<TdxQuote> parsed = internal::ParseTdxQuote(quote_bytes);
  if (!parsed.ok()) {
    check.Fail(std::string(parsed.status().message()));
    return Invalid(std::move(check.reasons()));
  }
  const TdxQuote& q = *parsed;

  // The quote's own evidence: the attestation key signs header and body, the QE report binds the
  // attestation key, and the PCK signs the QE report.
  SslPtr<EVP_PKEY> attestation_key = AttestationKey(q.attestation_key);
  if (attestation_key == nullptr) {
    check.Fail("TDX quote: attestation key is not a P-256 point");
  } else if (!VerifyP256(attestation_key.get(), q.signed_part, q.signature)) {
    check.Fail("TDX quote signature does not verify with the attestation key");
  }
  const std::string& qe_data = q.qe_report.report_data;
  if (crypto::Sha256(q.attestation_key + q.qe_auth_data) != qe_data.substr(0, 32)) {
    check.Fail(
        "QE report data does not bind the attestation key: its first 32 bytes are not "
        "SHA-256(attestation key || QE authentication data)");
  }
  if (qe_data.substr(32) != std::string(32, '\0')) {
    check.Fail("QE report data bytes 32..63 are not zero");
  }

  // The PCK chain from the quote's certification data, to the pinned root.
  std::vector<SslPtr<X509>> pck_chain;
  std::vector<X509*> known = {trust.root.get()};
  if (collateral != nullptr && !collateral->pck_crl_issuer_chain.empty()) {
    known.push_back(collateral->pck_crl_issuer_chain[0].get());
  }
  absl::StatusOr<std::vector<SslPtr<X509>>> certs = ParseChainReusing(q.pck_chain_pem, known);
  if (!certs.ok()) {
    check.Fail(absl::StrCat("PCK certificate chain: ", certs.status().message()));
  } else {
    pck_chain = *std::move(certs);
  }
  X509* pck = pck_chain.empty() ? nullptr : pck_chain[0].get();
  std::vector<X509*> pck_path;
  std::optional<PckSgxExtensions> pck_ext;
  if (pck != nullptr) {
    EVP_PKEY* pck_key = X509_get0_pubkey(pck);
    if (!IsP256(pck_key) || !VerifyP256(pck_key, q.qe_report.raw, q.qe_report_signature)) {
      check.Fail("QE report signature does not verify with the PCK certificate's key");
    }
    if (!absl::StrContains(internal::CommonName(pck), kPckCertPhrase)) {
      check.Fail(
          absl::StrCat("PCK certificate ", internal::QuotedName(pck), " is not an Intel SGX PCK Certificate"));
    }
    pck_path = check.VerifyChain(pck_chain, 2, "PCK certificate chain");
    if (!pck_path.empty()) {
      std::string ca = internal::CommonName(pck_path[1]);
      if (!absl::StrContains(ca, kPckPlatformCaPhrase) &&
          !absl::StrContains(ca, kPckProcessorCaPhrase)) {
        check.Fail(absl::StrCat("PCK certificate chain: issuer ", internal::QuotedName(pck_path[1]),
                                " is neither the Intel SGX PCK Platform CA nor the Processor CA"));
      }
    }
    absl::StatusOr<PckSgxExtensions> ext = internal::ParsePckSgxExtensions(pck);
    if (!ext.ok()) {
      check.Fail(std::string(ext.status().message()));
    } else {
      pck_ext = *std::move(ext);
    }
  }

  if (collateral == nullptr) {
    check.Fail(collateral_problem.empty()
                   ? "no TDX collateral: the TCB status cannot be evaluated without the TCB info, "
                     "QE identity and CRLs of the platform"
                   : collateral_problem);
    return Invalid(std::move(check.reasons()));
  }
  const TdxCollateral& c = *collateral;

  // CRLs: the root CA CRL is signed by the pinned root; the PCK CRL by the PCK's CA, whose chain
  // the collateral carries.
  bool root_crl_ok = false;
  bool pck_crl_ok = false;
  if (check.have_root()) {
    root_crl_ok = check.CheckCrl(c.root_ca_crl.get(), trust.root.get(), "root CA CRL");
  }
  std::vector<X509*> crl_path =
      check.VerifyChain(c.pck_crl_issuer_chain, 1, "PCK CRL issuer chain");
  if (!crl_path.empty()) pck_crl_ok = check.CheckCrl(c.pck_crl.get(), crl_path[0], "PCK CRL");
  if (pck != nullptr && pck_crl_ok &&
      X509_NAME_cmp(X509_CRL_get_issuer(c.pck_crl.get()), X509_get_issuer_name(pck)) != 0) {
    check.Fail(absl::StrCat("PCK CRL is issued by ", internal::QuotedName(crl_path[0]),
                            ", not by the PCK certificate's issuer"));
    pck_crl_ok = false;
  }

  // TCB info and QE identity: signer chains, signatures over the exact JSON, validity windows.
  X509* tcb_signer = check.CheckSignedJson(c.tcb_info_issuer_chain, c.tcb_info_json,
                                           c.tcb_info_signature, "TCB info");
  check.CheckWindow(c.tcb_info.issue_date, c.tcb_info.next_update, "TCB info");
  X509* qe_signer = check.CheckSignedJson(c.qe_identity_issuer_chain, c.qe_identity_json,
                                          c.qe_identity_signature, "QE identity");
  check.CheckWindow(c.qe_identity.issue_date, c.qe_identity.next_update, "QE identity");

  // Revocation of every certificate of the verified paths.
  if (root_crl_ok) {
    X509_CRL* crl = c.root_ca_crl.get();
    if (pck_path.size() > 1) check.CheckRevoked(crl, pck_path[1], "root CA CRL", "PCK CA");
    if (!crl_path.empty()) check.CheckRevoked(crl, crl_path[0], "root CA CRL", "PCK CRL issuer");
    if (tcb_signer != nullptr) {
      check.CheckRevoked(crl, tcb_signer, "root CA CRL", "TCB info signer");
    }
    if (qe_signer != nullptr) {
      check.CheckRevoked(crl, qe_signer, "root CA CRL", "QE identity signer");
    }
  }
  if (pck_crl_ok && !pck_path.empty()) {
    check.CheckRevoked(c.pck_crl.get(), pck_path[0], "PCK CRL", "PCK certificate");
  }

  // The collateral must be the PCK's platform's (QVL 4.1.2.4.10).
  if (pck_ext) {
    if (pck_ext->fmspc != c.tcb_info.fmspc) {
      check.Fail(absl::StrCat("FMSPC ", Upper(pck_ext->fmspc),
                              " of the PCK certificate differs from ", Upper(c.tcb_info.fmspc),
                              " of the TCB info"));
    }
    if (pck_ext->pce_id != c.tcb_info.pce_id) {
      check.Fail(absl::StrCat("PCE-ID ", Upper(pck_ext->pce_id),
                              " of the PCK certificate differs from ", Upper(c.tcb_info.pce_id),
                              " of the TCB info"));
    }
  }

  if (!pck_ext) return Invalid(std::move(check.reasons()));
  internal::TdxTcbResult tcb = internal::EvaluateTdxTcb(c.tcb_info, c.qe_identity, q, *pck_ext);
  for (std::string& f : tcb.failures) check.Fail(std::move(f));
  if (!check.reasons().empty()) return Invalid(std::move(check.reasons()));

  Verdict v;
  v.valid = true;
  v.claims = MakeClaims(q, *pck_ext, tcb);
  // How recent Intel's assessment is: the older of the two signed documents it rests on.
  v.claims.tdx->tcb_evaluation_data_number = std::min(c.tcb_info.tcb_evaluation_data_number,
                                                      c.qe_identity.tcb_evaluation_data_number);
  return v;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const TdxCollateral>> ParseTdxCollateral(absl::string_view json) {
  if (json.size() > internal::kTdxMaxCollateralBytes) {
    return absl::ResourceExhaustedError(absl::StrCat("TDX collateral: ", json.size(),
                                                     " bytes is more than the limit of ",
                                                     internal::kTdxMaxCollateralBytes));
  }
  absl::StatusOr<TdxCollateral> c = internal::ParseTdxCollateralJson(json);
  if (!c.ok()) {
    return absl::Status(c.status().code(), absl::StrCat("TDX collateral: ", c.status().message()));
  }
  return std::make_shared<const TdxCollateral>(*std::move(c));
}

TdxVerifier::TdxVerifier(const TrustAnchors& anchors) {
  auto trust = std::make_shared<TdxTrust>();
  if (anchors.intel_sgx_root_ca.empty()) {
    trust->root_problem = "TrustAnchors::intel_sgx_root_ca is empty";
  } else {
    absl::StatusOr<std::vector<SslPtr<X509>>> certs =
        internal::ParsePemCertificates(anchors.intel_sgx_root_ca, 1);
    if (!certs.ok()) {
      trust->root_problem =
          absl::StrCat("TrustAnchors::intel_sgx_root_ca: ", certs.status().message());
    } else {
      trust->root = std::move((*certs)[0]);
    }
  }
  if (trust->root != nullptr) {
    trust->store.reset(X509_STORE_new());
    if (trust->store == nullptr ||
        X509_STORE_add_cert(trust->store.get(), trust->root.get()) != 1) {
      crypto::ClearOpenSslErrors();
      trust->root.reset();
      trust->root_problem = "cannot build a certificate store for it";
    }
  }
  trust_ = std::move(trust);
}

TdxVerifier::~TdxVerifier() = default;

Verdict TdxVerifier::Verify(const Evidence& evidence, absl::Time now) const {
  std::vector<std::string> reasons;
  if (evidence.tee != contracts::kTeeTdx) {
    reasons.push_back(absl::StrCat("evidence is for TEE \"", evidence.tee, "\", not \"tdx\""));
  }
  if (!evidence.certs.empty()) {
    reasons.push_back("TDX evidence carries certificates; the PCK chain must come from the quote");
  }
  std::shared_ptr<const TdxCollateral> collateral;
  std::string problem;
  if (!evidence.collateral.empty()) {
    absl::StatusOr<std::shared_ptr<const TdxCollateral>> parsed =
        ParseTdxCollateral(evidence.collateral);
    if (parsed.ok()) {
      collateral = *std::move(parsed);
    } else {
      problem = std::string(parsed.status().message());
    }
  }
  return VerifyTdx(*trust_, evidence.report, collateral.get(), problem, now, std::move(reasons));
}

Verdict TdxVerifier::VerifyQuote(absl::string_view quote, const TdxCollateral* collateral,
                                 absl::Time now) const {
  return VerifyTdx(*trust_, quote, collateral, "", now, {});
}

std::unique_ptr<Verifier> NewTdxVerifier(const TrustAnchors& anchors) {
  return std::make_unique<TdxVerifier>(anchors);
}

}  // namespace triad::attestation
