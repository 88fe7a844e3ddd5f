// Verifier of Intel TDX DCAP quotes (versions 4 and 5; TD report 1.0 and 1.5 bodies), offline, from
// the pinned Intel SGX Root CA and collateral the caller supplies (never fetched).
//
// A quote is valid when all of these hold at the verification time `now`:
//  - the quote parses (Intel "TDX DCAP Quoting Library API", Appendix A) and is a TDX quote with an
//    ECDSA P-256 attestation key, Intel's QE vendor id, and QE report certification data (type 6)
//    holding the PCK certificate chain (type 5);
//  - the quote signature verifies with the attestation key over header and body; the QE report
//    data is SHA-256(attestation key || QE authentication data) followed by 32 zero bytes; the QE
//    report signature verifies with the PCK certificate's key;
//  - the PCK chain, the PCK CRL issuer chain, and the TCB info and QE identity issuer chains
//    (Intel SGX TCB Signing) verify to the pinned root (TrustAnchors::intel_sgx_root_ca; a root
//    copy inside the evidence must be that same certificate and is otherwise ignored), each
//    certificate valid at `now`;
//  - the root CA CRL (signed by the pinned root) and the PCK CRL (signed by the PCK's CA, which
//    must be the CRL's issuer) verify, are inside thisUpdate..nextUpdate, and revoke no certificate
//    of those chains;
//  - the TCB info and QE identity signatures verify over their exact JSON bytes, both are inside
//    issueDate..nextUpdate, and the PCK's FMSPC and PCE-ID equal the TCB info's;
//  - the QE report matches the QE identity (MRSIGNER, ISVPRODID, MISCSELECT/ATTRIBUTES masks), the
//    TD report matches the TDX module identity, and Intel's QVL TCB evaluation finds a level for
//    the platform, the TDX module and the QE, with a converged status that is not Revoked.
// Statuses below UpToDate (OutOfDate, ConfigurationNeeded, SWHardeningNeeded, ...) are valid: the
// status and advisory ids are in the claims, and the contract policy decides. "TCB not supported"
// and Revoked are invalid. An invalid verdict lists every failed check whose inputs could be
// parsed.
//
// Claims: tee "tdx"; measurement = MRTD; report_data = REPORTDATA; debug = TDATTRIBUTES bit 0;
// tcb_status = Intel's status name; advisory_ids; platform_id = FMSPC (6 bytes) || PPID (16 bytes,
// from the PCK certificate); tdx = every TD report field, TEE_TCB_SVN, FMSPC, the QE's status and
// the tcbEvaluationDataNumber of the collateral (the lower of the TCB info's and the QE
// identity's), which a policy can require a minimum of, so that older unexpired collateral with a
// friendlier verdict does not pass.
#ifndef TRIAD_ATTESTATION_TDX_H_
#define TRIAD_ATTESTATION_TDX_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attestation/verifier.h"

namespace triad::attestation {

namespace internal {
struct TdxTrust;
}  // namespace internal

// Collateral for the quotes of one platform model (FMSPC), parsed once: certificates, CRLs, TCB
// info, QE identity. Parsing verifies nothing; every quote verification checks it in full at its
// own time. Immutable; share it between threads freely.
struct TdxCollateral;

// Parses collateral in the dcap-qvl QuoteCollateralV3 JSON form (keys pck_crl_issuer_chain,
// root_ca_crl, pck_crl, tcb_info_issuer_chain, tcb_info, tcb_info_signature,
// qe_identity_issuer_chain, qe_identity, qe_identity_signature; CRLs and signatures in hex,
// tcb_info and qe_identity as the exact signed JSON strings). Fails with kInvalidArgument naming
// the field, kResourceExhausted above 1 MiB.
absl::StatusOr<std::shared_ptr<const TdxCollateral>> ParseTdxCollateral(absl::string_view json);

class TdxVerifier final : public Verifier {
 public:
  // Keeps a parsed copy of anchors.intel_sgx_root_ca. When it is missing or not one PEM
  // certificate, every quote is rejected for want of a root.
  explicit TdxVerifier(const TrustAnchors& anchors);
  ~TdxVerifier() override;

  // evidence.tee must be "tdx", evidence.report the quote, evidence.collateral the collateral JSON,
  // evidence.certs empty (the PCK chain travels in the quote).
  Verdict Verify(const Evidence& evidence, absl::Time now) const override;

  // The same checks with collateral parsed beforehand. A null `collateral` is rejected ("no TDX
  // collateral"), after the quote's own signatures and PCK chain have been checked.
  Verdict VerifyQuote(absl::string_view quote, const TdxCollateral* collateral,
                      absl::Time now) const;

 private:
  std::shared_ptr<const internal::TdxTrust> trust_;
};

// The factory the dispatcher uses: a TdxVerifier for these anchors.
std::unique_ptr<Verifier> NewTdxVerifier(const TrustAnchors& anchors);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_TDX_H_
