// TCB evaluation of a TDX quote against Intel's TCB info and QE identity, as Intel's Quote
// Verification Library does it (private to attestation/). Pure logic: no signatures, no time.
//
// Sources (intel/SGX-TDX-DCAP-QuoteVerificationLibrary, AttestationLibrary/src/Verifiers/):
//   QuoteVerifier.cpp 4.1.2.4.11 (TDX module identity), EnclaveReportVerifier.cpp 4.1.2.9.5-11
//   (QE identity), Checks/TcbLevelCheck.cpp (matchTcbLevels, convergeTcbStatusWithQeTcbStatus),
//   Checks/TdxModuleCheck.cpp (module level, convergeTcbStatusWithTdxModuleStatus),
//   Checks/TDRelaunchCheck.cpp (TD report 1.5 relaunch advice).
#ifndef TRIAD_ATTESTATION_INTERNAL_TDX_TCB_H_
#define TRIAD_ATTESTATION_INTERNAL_TDX_TCB_H_

#include <string>
#include <vector>

#include "attestation/internal/tdx_collateral.h"
#include "attestation/internal/tdx_pck.h"
#include "attestation/internal/tdx_quote.h"

namespace triad::attestation::internal {

struct TdxTcbResult {
  // Every failed check: QE identity mismatches, TDX module mismatches, "TCB not supported: ..." and
  // a Revoked outcome ("TCB revoked: ..."). Empty when `status` is usable.
  std::vector<std::string> failures;
  TcbStatus status = TcbStatus::kRevoked;  // the converged TCB status
  std::string qe_status;                   // Intel's name of the matched QE identity level
  // Advisory ids of the matched TDX TCB level, then of the TDX module identity level, then of the
  // QE identity level; duplicates dropped, first occurrence kept.
  std::vector<std::string> advisory_ids;
};

// Evaluates the quote's TCB: QE identity (MISCSELECT, ATTRIBUTES, MRSIGNER, ISVPRODID and level),
// TDX module (identity by TEE_TCB_SVN[1], MRSIGNERSEAM, SEAMATTRIBUTES, level by TEE_TCB_SVN[0]),
// platform level (PCK SGX components and PCESVN; TEE_TCB_SVN from index 2 when TEE_TCB_SVN[1] > 0),
// relaunch advice for TD report 1.5, and QVL's convergence of those statuses.
TdxTcbResult EvaluateTdxTcb(const TdxTcbInfo& tcb_info, const QeIdentity& qe_identity,
                            const TdxQuote& quote, const PckSgxExtensions& pck);

}  // namespace triad::attestation::internal

#endif  // TRIAD_ATTESTATION_INTERNAL_TDX_TCB_H_
