// The AMD SEV-SNP verifier.
//
// Verifies an ATTESTATION_REPORT (versions 2, 3 and 5) offline against pinned AMD roots:
//   - the report parses (exactly 0x4A0 bytes), SIGNATURE_ALGO is 1 (ECDSA P-384/SHA-384), KEY_INFO
//     names a VCEK or VLEK and MASK_CHIP_KEY is clear (a masked report carries no signature), the
//     reserved policy bit 17 is set, VMPL is 0..3;
//   - Evidence::certs holds the VCEK or VLEK (DER, a PEM bundle, or the extended-report certificate
//     table); its kind matches KEY_INFO; extra certificates are only ever intermediates;
//   - the product comes from the report's CPUID fields (version 3+) and otherwise from the
//     certificate (productName, else issuer); when both exist they must agree;
//   - the chain VCEK -> ASK (VLEK -> ASVK) -> ARK verifies at `now` with the pinned ARK of that
//     product as the only anchor (the ASK/ASVK from TrustAnchors are offered as intermediates),
//     RSASSA-PSS/SHA-384 throughout, every certificate inside its validity window;
//   - the report signature verifies with the leaf's P-384 key over bytes 0x000..0x29F;
//   - the leaf's blSPL/teeSPL/snpSPL/ucodeSPL (and fmcSPL on Turin) equal REPORTED_TCB;
//   - a VCEK's hwID equals CHIP_ID (raw or DER-wrapped; Turin: its 8 bytes equal CHIP_ID[0:8]),
//     unless CHIP_ID is all zero (MASK_CHIP_ID): then the chip is identified by the VCEK signature
//     alone and claims.platform_id stays empty;
//   - AMD CRLs in Evidence::collateral (optional; one DER CRL or PEM "X509 CRL" blocks): each is
//     issued by the ARK or the ASK/ASVK of the verified chain, its signature verifies, it is
//     current at `now` (nextUpdate required), and it revokes none of the chain's certificates its
//     issuer issued. claims.snp.crl_checked says the ARK's CRL passed (a policy may require it).
// Every failed check is a reason. Debug, migration agent, SMT, VMPL, measurement, minimum TCB are
// reported in the claims for the contract policy to judge, not rejected here.
//
// Claims: tee "sev-snp"; measurement, report_data, debug (policy bit 19); tcb_status empty (SNP
// has no status list: the TCB that was verified, the one the VCEK/VLEK certifies, is
// claims.snp.reported_tcb, and whether it meets the floor is the policy's min_tcb);
// platform_id = CHIP_ID unless masked; the SNP specifics in claims.snp.
#ifndef TRIAD_ATTESTATION_SNP_H_
#define TRIAD_ATTESTATION_SNP_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attestation/verifier.h"
#include "contracts/claims.h"

namespace triad::attestation {

// The TCB an AMD VCEK or VLEK certifies: its blSPL, teeSPL, snpSPL, ucodeSPL extensions and, on
// Turin, fmcSPL (`has_fmc` then true). The certificate is not verified: this is how a contract's
// minimum TCB is taken from a platform the parties examined (`triad contract draft --snp-min-tcb
// vcek:FILE`). DER, PEM, or a certificate table, as Evidence::certs. kInvalidArgument when it is
// not a VCEK/VLEK or an SPL extension is missing or malformed.
absl::StatusOr<contracts::SnpTcb> CertifiedSnpTcb(absl::string_view certificate, bool* has_fmc);

// Never null. Anchors are copied in; a malformed pinned certificate makes evidence of that product
// fail with a reason naming it (TrustAnchors::LoadDir already refuses such files).
std::unique_ptr<Verifier> NewSnpVerifier(const TrustAnchors& anchors);

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_SNP_H_
