// The AMD SEV-SNP verifier (see attestation/snp.h for what it checks).
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attestation/internal/revocation.h"
#include "attestation/internal/snp_certs.h"
#include "attestation/internal/x509_check.h"
#include "attestation/internal/snp_report.h"
#include "attestation/snp.h"
#include "contracts/claims.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation {
namespace {

using crypto::SslPtr;
using internal::AmdExtensions;
using internal::SnpProduct;
using internal::SnpReport;

struct ProductAnchors {
  SslPtr<X509> ark;
  std::vector<SslPtr<X509>> intermediates;  // pinned ASK and ASVK
  std::string error;                        // why the pinned certificates are unusable
};

// Verifies the report's ECDSA P-384 signature with the leaf's key.
absl::Status VerifyReportSignature(X509* leaf, const SnpReport& r, absl::string_view signed_part,
                                   absl::string_view leaf_name) {
  EVP_PKEY* key = X509_get0_pubkey(leaf);  // borrowed
  char group[32] = {0};
  size_t group_len = 0;
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
      EVP_PKEY_get_group_name(key, group, sizeof group, &group_len) != 1 ||
      absl::string_view(group, group_len) != "secp384r1") {
    crypto::ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        absl::StrCat(leaf_name, " public key is not an ECDSA P-384 key"));
  }
  SslPtr<ECDSA_SIG> sig(ECDSA_SIG_new());
  BIGNUM* rn = BN_bin2bn(reinterpret_cast<const unsigned char*>(r.signature_r.data()),
                         static_cast<int>(r.signature_r.size()), nullptr);
  BIGNUM* sn = BN_bin2bn(reinterpret_cast<const unsigned char*>(r.signature_s.data()),
                         static_cast<int>(r.signature_s.size()), nullptr);
  if (sig == nullptr || rn == nullptr || sn == nullptr || ECDSA_SIG_set0(sig.get(), rn, sn) != 1) {
    BN_free(rn);
    BN_free(sn);
    return crypto::OpenSslError("building the ECDSA signature");
  }
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return crypto::OpenSslError("i2d_ECDSA_SIG");
  std::string der_sig(reinterpret_cast<char*>(der), static_cast<size_t>(der_len));
  OPENSSL_free(der);
  SslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key) != 1) {
    return crypto::OpenSslError("EVP_DigestVerifyInit");
  }
  int ok = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(der_sig.data()), der_sig.size(),
      reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size());
  crypto::ClearOpenSslErrors();
  if (ok != 1) {
    return absl::UnauthenticatedError(
        absl::StrCat("report signature does not verify with the ", leaf_name, " public key"));
  }
  return absl::OkStatus();
}

void CheckSpl(const AmdExtensions& e, const char* oid, const char* ext_name,
              const std::optional<uint8_t>& cert_value, const char* tcb_name, uint8_t reported,
              absl::string_view leaf_name, std::vector<std::string>* reasons) {
  if (e.IsMalformed(oid)) return;  // already a reason
  if (!cert_value) {
    reasons->push_back(absl::StrCat(leaf_name, " has no ", ext_name, " extension"));
  } else if (*cert_value != reported) {
    reasons->push_back(absl::StrCat(leaf_name, " ", ext_name, " ", *cert_value,
                                    " does not match REPORTED_TCB ", tcb_name, " ", reported));
  }
}

class SnpVerifier final : public Verifier {
 public:
  explicit SnpVerifier(const TrustAnchors& anchors) {
    for (const auto& [name, pem] : anchors.amd_ark) {
      SnpProduct product = internal::SnpProductFromName(name);
      if (product == SnpProduct::kUnknown) continue;
      ProductAnchors& pa = anchors_[product];
      absl::StatusOr<SslPtr<X509>> ark = internal::ParsePemCertificate(pem);
      if (!ark.ok()) {
        pa.error = absl::StrCat("pinned ARK for ", name, " is unusable: ", ark.status().message());
        continue;
      }
      pa.ark = std::move(*ark);
      for (const auto* m : {&anchors.amd_ask, &anchors.amd_asvk}) {
        auto it = m->find(name);
        if (it == m->end()) continue;
        absl::StatusOr<SslPtr<X509>> c = internal::ParsePemCertificate(it->second);
        if (!c.ok()) {
          pa.error = absl::StrCat("pinned intermediate for ", name,
                                  " is unusable: ", c.status().message());
          continue;
        }
        pa.intermediates.push_back(std::move(*c));
      }
    }
  }

  Verdict Verify(const Evidence& evidence, absl::Time now) const override {
    Verdict v;
    if (evidence.tee != contracts::kTeeSevSnp) {
      v.reasons.push_back(absl::StrCat("evidence is for TEE \"", evidence.tee, "\", not sev-snp"));
      return v;
    }
    absl::StatusOr<SnpReport> parsed = internal::ParseSnpReport(evidence.report);
    if (!parsed.ok()) {
      v.reasons.push_back(std::string(parsed.status().message()));
      return v;
    }
    const SnpReport& r = *parsed;
    std::vector<std::string>& reasons = v.reasons;
    CheckReportFields(r, &reasons);

    absl::StatusOr<internal::SnpCertSet> certs = internal::LoadSnpCerts(evidence.certs);
    if (!certs.ok()) {
      reasons.push_back(std::string(certs.status().message()));
      return v;
    }
    const std::string leaf_name = internal::AmdLeafKindName(certs->kind);
    X509* leaf = certs->leaf.get();
    internal::SnpSigningKey expected_key = certs->kind == internal::AmdLeafKind::kVcek
                                               ? internal::SnpSigningKey::kVcek
                                               : internal::SnpSigningKey::kVlek;
    if ((r.signing_key() == internal::SnpSigningKey::kVcek ||
         r.signing_key() == internal::SnpSigningKey::kVlek) &&
        r.signing_key() != expected_key) {
      reasons.push_back(
          absl::StrCat("report KEY_INFO says it is signed by a ",
                       r.signing_key() == internal::SnpSigningKey::kVcek ? "VCEK" : "VLEK",
                       " but the certificate supplied is a ", leaf_name));
    }
    const AmdExtensions e = internal::ReadAmdExtensions(leaf);
    for (const std::string& error : e.errors)
      reasons.push_back(absl::StrCat(leaf_name, ": ", error));

    SnpProduct product = DetermineProduct(r, leaf, e, leaf_name, &reasons);

    // Chain to the pinned ARK of the product.
    std::vector<X509*> path;  // leaf, ASK/ASVK, ARK once verified
    if (product != SnpProduct::kUnknown) {
      auto it = anchors_.find(product);
      if (it == anchors_.end() || it->second.ark == nullptr) {
        reasons.push_back(it != anchors_.end() && !it->second.error.empty()
                              ? it->second.error
                              : absl::StrCat("no pinned ARK for ",
                                             internal::SnpProductName(product),
                                             " in the trust anchors"));
      } else {
        std::vector<X509*> untrusted;
        for (const SslPtr<X509>& c : certs->intermediates) untrusted.push_back(c.get());
        for (const SslPtr<X509>& c : it->second.intermediates) untrusted.push_back(c.get());
        for (std::string& reason : internal::VerifyAmdChain(leaf, untrusted, it->second.ark.get(),
                                                            now, leaf_name, &path)) {
          reasons.push_back(std::move(reason));
        }
      }
    }

    absl::Status sig = VerifyReportSignature(
        leaf, r, absl::string_view(evidence.report).substr(0, internal::kSnpSignedSize), leaf_name);
    if (!sig.ok()) reasons.push_back(std::string(sig.message()));

    // The leaf was issued for one TCB; the report must claim that one.
    if (product != SnpProduct::kUnknown) {
      contracts::SnpTcb t = internal::DecodeSnpTcb(r.reported_tcb, product);
      CheckSpl(e, internal::kOidBlSpl, "blSPL", e.bl_spl, "boot loader SVN", t.bootloader,
               leaf_name, &reasons);
      CheckSpl(e, internal::kOidTeeSpl, "teeSPL", e.tee_spl, "TEE SVN", t.tee, leaf_name, &reasons);
      CheckSpl(e, internal::kOidSnpSpl, "snpSPL", e.snp_spl, "SNP SVN", t.snp, leaf_name, &reasons);
      CheckSpl(e, internal::kOidUcodeSpl, "ucodeSPL", e.ucode_spl, "microcode SVN", t.microcode,
               leaf_name, &reasons);
      if (product == SnpProduct::kTurin) {
        CheckSpl(e, internal::kOidFmcSpl, "fmcSPL", e.fmc_spl, "FMC SVN", t.fmc, leaf_name,
                 &reasons);
      } else if (e.fmc_spl) {
        reasons.push_back(absl::StrCat(
            leaf_name, " has an fmcSPL extension, which only Turin certificates carry"));
      }
    }

    CheckHwid(r, certs->kind, product, e, &reasons);
    bool crl_checked = false;
    if (!evidence.collateral.empty()) crl_checked = CheckCrls(evidence.collateral, path, now, &reasons);

    if (!reasons.empty()) return v;
    v.valid = true;
    v.claims = MakeClaims(r, product, certs->kind);
    v.claims.snp->crl_checked = crl_checked;
    return v;
  }

 private:
  static void CheckReportFields(const SnpReport& r, std::vector<std::string>* reasons) {
    if (r.signature_algo != internal::kSnpSigAlgoEcdsaP384Sha384) {
      reasons->push_back(absl::StrCat("report SIGNATURE_ALGO is ", r.signature_algo,
                                      "; only 1 (ECDSA P-384 with SHA-384) is accepted"));
    }
    switch (r.signing_key()) {
      case internal::SnpSigningKey::kVcek:
      case internal::SnpSigningKey::kVlek:
        break;
      case internal::SnpSigningKey::kNone:
        reasons->push_back("report is not signed (KEY_INFO SIGNING_KEY is 7, none)");
        break;
      default:
        reasons->push_back(absl::StrCat("report KEY_INFO SIGNING_KEY ",
                                        static_cast<int>(r.signing_key()), " is reserved"));
    }
    if (r.mask_chip_key())
      reasons->push_back("report is not signed (KEY_INFO MASK_CHIP_KEY is set)");
    if ((r.policy & internal::kSnpPolicyReservedMustBeOne) == 0) {
      reasons->push_back("report POLICY bit 17 (reserved, must be 1) is 0");
    }
    if (r.vmpl > 3)
      reasons->push_back(absl::StrCat("report VMPL ", r.vmpl, " is out of range (0 to 3)"));
  }

  static SnpProduct DetermineProduct(const SnpReport& r, X509* leaf, const AmdExtensions& e,
                                     const std::string& leaf_name,
                                     std::vector<std::string>* reasons) {
    std::string cert_name = internal::AmdProductFromCert(leaf, e);
    SnpProduct from_cert = internal::SnpProductFromName(cert_name);
    if (!r.has_cpuid) {
      if (from_cert == SnpProduct::kUnknown) {
        reasons->push_back(
            absl::StrCat("cannot tell the AMD product: the report has no CPUID fields and the ",
                         leaf_name, " names none that is known (\"", cert_name, "\")"));
      }
      return from_cert;
    }
    SnpProduct from_cpuid = internal::SnpProductFromCpuid(r.cpuid_family, r.cpuid_model);
    if (from_cpuid == SnpProduct::kUnknown) {
      reasons->push_back(
          absl::StrFormat("report CPUID family 0x%02x model 0x%02x is not a known SEV-SNP product",
                          r.cpuid_family, r.cpuid_model));
      return SnpProduct::kUnknown;
    }
    if (from_cert != SnpProduct::kUnknown && from_cert != from_cpuid) {
      reasons->push_back(absl::StrCat(leaf_name, " is for ", internal::SnpProductName(from_cert),
                                      " but the report's CPUID says ",
                                      internal::SnpProductName(from_cpuid)));
    }
    return from_cpuid;
  }

  // AMD CRLs from the collateral (KDS serves the ARK's at /vcek/v1/<product>/crl): each must be
  // issued by a certificate of the verified chain, verify, be current, and revoke none of the
  // certificates its issuer issued in the chain. True when the ARK's CRL passed all of that.
  static bool CheckCrls(const std::string& collateral, const std::vector<X509*>& path,
                        absl::Time now, std::vector<std::string>* reasons) {
    absl::StatusOr<std::vector<crypto::SslPtr<X509_CRL>>> crls = internal::ParseCrls(collateral);
    if (!crls.ok()) {
      reasons->push_back(absl::StrCat("AMD CRLs: ", crls.status().message()));
      return false;
    }
    if (path.size() != 3) return false;  // the chain failed: already a reason
    bool ark_crl = false;
    for (size_t i = 0; i < crls->size(); ++i) {
      X509_CRL* crl = (*crls)[i].get();
      size_t at = 1;
      while (at < path.size() &&
             X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(path[at])) != 0) {
        ++at;
      }
      const std::string what = absl::StrCat("AMD CRL ", i + 1);
      if (at == path.size()) {
        reasons->push_back(absl::StrCat(what, " is issued by neither ",
                                        internal::QuotedName(path[1]), " nor ",
                                        internal::QuotedName(path[2])));
        continue;
      }
      std::vector<std::string> problems = internal::CheckCrlIssuedBy(
          crl, path[at], now, absl::StrCat(what, " of ", internal::QuotedName(path[at])));
      if (!problems.empty()) {
        for (std::string& p : problems) reasons->push_back(std::move(p));
        continue;
      }
      // path[at - 1] is the certificate path[at] issued.
      if (internal::CrlRevokes(crl, path[at - 1])) {
        reasons->push_back(absl::StrCat(internal::QuotedName(path[at - 1]), " is revoked by the CRL of ",
                                        internal::QuotedName(path[at])));
        continue;
      }
      if (at == 2) ark_crl = true;
    }
    return ark_crl;
  }

  static void CheckHwid(const SnpReport& r, internal::AmdLeafKind kind, SnpProduct product,
                        const AmdExtensions& e, std::vector<std::string>* reasons) {
    // A VLEK is not tied to a chip; a masked CHIP_ID leaves nothing to compare.
    if (kind != internal::AmdLeafKind::kVcek || r.chip_id_masked()) return;
    if (e.IsMalformed(internal::kOidHwid)) return;  // already a reason
    if (!e.hwid) {
      reasons->push_back("VCEK has no hwID extension (1.3.6.1.4.1.3704.1.4)");
      return;
    }
    if (e.hwid->size() == 8 && product != SnpProduct::kTurin) {
      reasons->push_back("VCEK hwID is 8 bytes, which only Turin certificates carry");
      return;
    }
    absl::string_view chip = r.chip_id;
    if (*e.hwid != chip.substr(0, e.hwid->size()))
      reasons->push_back("VCEK hwID does not match the report's CHIP_ID");
  }

  static contracts::Claims MakeClaims(const SnpReport& r, SnpProduct product,
                                      internal::AmdLeafKind kind) {
    contracts::Claims c;
    c.tee = contracts::kTeeSevSnp;
    c.report_data = r.report_data;
    c.measurement = r.measurement;
    c.debug = (r.policy & internal::kSnpPolicyDebug) != 0;
    // No status name: SNP has no TCB status list. The TCB the VCEK/VLEK certifies is
    // snp.reported_tcb (checked equal above); the policy's min_tcb says whether it is enough.
    c.tcb_status.clear();
    if (!r.chip_id_masked()) c.platform_id = r.chip_id;
    contracts::SnpClaims s;
    s.version = r.version;
    s.product = internal::SnpProductName(product);
    s.signing_key = kind == internal::AmdLeafKind::kVcek ? "vcek" : "vlek";
    s.policy = r.policy;
    s.vmpl = r.vmpl;
    s.guest_svn = r.guest_svn;
    s.measurement = r.measurement;
    s.host_data = r.host_data;
    s.id_key_digest = r.id_key_digest;
    s.author_key_digest = r.author_key_digest;
    s.report_id = r.report_id;
    s.chip_id = r.chip_id;
    s.reported_tcb = internal::DecodeSnpTcb(r.reported_tcb, product);
    s.committed_tcb = internal::DecodeSnpTcb(r.committed_tcb, product);
    s.current_tcb = internal::DecodeSnpTcb(r.current_tcb, product);
    s.smt_allowed = (r.policy & internal::kSnpPolicySmt) != 0;
    s.migration_agent_allowed = (r.policy & internal::kSnpPolicyMigrateMa) != 0;
    c.snp = std::move(s);
    return c;
  }

  std::map<SnpProduct, ProductAnchors> anchors_;
};

}  // namespace

absl::StatusOr<contracts::SnpTcb> CertifiedSnpTcb(absl::string_view certificate, bool* has_fmc) {
  absl::StatusOr<internal::SnpCertSet> certs = internal::LoadSnpCerts(certificate);
  if (!certs.ok()) return certs.status();
  const std::string leaf_name = internal::AmdLeafKindName(certs->kind);
  const AmdExtensions e = internal::ReadAmdExtensions(certs->leaf.get());
  if (!e.errors.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(leaf_name, ": ", e.errors[0]));
  }
  if (!e.bl_spl || !e.tee_spl || !e.snp_spl || !e.ucode_spl) {
    return absl::InvalidArgumentError(absl::StrCat(
        leaf_name, " lacks a TCB extension (blSPL, teeSPL, snpSPL and ucodeSPL are needed)"));
  }
  contracts::SnpTcb t;
  t.bootloader = *e.bl_spl;
  t.tee = *e.tee_spl;
  t.snp = *e.snp_spl;
  t.microcode = *e.ucode_spl;
  t.fmc = e.fmc_spl.value_or(0);
  if (has_fmc != nullptr) *has_fmc = e.fmc_spl.has_value();
  return t;
}

std::unique_ptr<Verifier> NewSnpVerifier(const TrustAnchors& anchors) {
  return std::make_unique<SnpVerifier>(anchors);
}

}  // namespace triad::attestation
