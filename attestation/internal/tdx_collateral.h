// TDX collateral: parsed forms of Intel's TCB info and QE identity, and the whole collateral file
// in the dcap-qvl QuoteCollateralV3 JSON form (private to attestation/).
//
// Parsing checks structure (types, sizes, required fields, known status names, bounded counts) and
// keeps the exact signed bytes; nothing is verified here. attestation/tdx.cc verifies signatures,
// chains, CRLs and validity windows at the verification time.
#ifndef TRIAD_ATTESTATION_INTERNAL_TDX_COLLATERAL_H_
#define TRIAD_ATTESTATION_INTERNAL_TDX_COLLATERAL_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation::internal {

inline constexpr size_t kTdxMaxCollateralBytes = 1 << 20;

// Intel's TCB status names (PCS API "TDX TCB Info" v3/v4; QVL Verifiers/TcbStatus.h), plus the two
// relaunch statuses QVL derives for TD report 1.5 bodies.
enum class TcbStatus {
  kUpToDate,
  kSwHardeningNeeded,
  kConfigurationNeeded,
  kConfigurationAndSwHardeningNeeded,
  kOutOfDate,
  kOutOfDateConfigurationNeeded,
  kRevoked,
  kTdRelaunchAdvised,
  kTdRelaunchAdvisedConfigurationNeeded,
};
// "UpToDate", "SWHardeningNeeded", ..., "TDRelaunchAdvisedConfigurationNeeded".
absl::string_view TcbStatusName(TcbStatus status);

// One entry of tcbInfo.tcbLevels.
struct TdxTcbLevel {
  std::array<uint8_t, 16> sgx_components{};
  uint32_t pce_svn = 0;
  std::array<uint8_t, 16> tdx_components{};
  TcbStatus status = TcbStatus::kRevoked;
  std::vector<std::string> advisory_ids;
};

// An entry of tdxModuleIdentities[].tcbLevels, or of enclaveIdentity.tcbLevels.
struct IsvTcbLevel {
  uint32_t isv_svn = 0;
  TcbStatus status = TcbStatus::kRevoked;
  std::vector<std::string> advisory_ids;
};

// tcbInfo.tdxModule (id empty, no levels) or one of tcbInfo.tdxModuleIdentities.
struct TdxModuleIdentity {
  std::string id;                   // "TDX_01", ...
  std::string mrsigner;             // 48 bytes
  std::string attributes;           // 8 bytes
  std::string attributes_mask;      // 8 bytes
  std::vector<IsvTcbLevel> levels;  // highest isvsvn first (QVL keeps them in a descending set)
};

// The "tcbInfo" object of a TDX TCB info (id "TDX", version 3).
struct TdxTcbInfo {
  std::string id;
  uint32_t version = 0;
  absl::Time issue_date;
  absl::Time next_update;
  std::string fmspc;   // 6 bytes
  std::string pce_id;  // 2 bytes
  uint32_t tcb_evaluation_data_number = 0;
  TdxModuleIdentity tdx_module;
  std::vector<TdxModuleIdentity> tdx_module_identities;  // may be empty (TDX 1.0-only platforms)
  // Highest first, ordered and de-duplicated as QVL's std::set<TcbLevel, greater> does: by SGX
  // components, then PCESVN, then TDX components.
  std::vector<TdxTcbLevel> levels;
};

// The "enclaveIdentity" object of a QE identity (id "TD_QE", version 2).
struct QeIdentity {
  std::string id;
  uint32_t version = 0;
  absl::Time issue_date;
  absl::Time next_update;
  uint32_t tcb_evaluation_data_number = 0;
  std::string miscselect;       // 4 bytes, raw (as in the SGX report)
  std::string miscselect_mask;  // 4
  std::string attributes;       // 16
  std::string attributes_mask;  // 16
  std::string mrsigner;         // 32
  uint32_t isv_prod_id = 0;
  std::vector<IsvTcbLevel> levels;  // in document order (QVL scans them in order)
};

// Parse the JSON of the "tcbInfo" / "enclaveIdentity" object itself (the signed bytes).
absl::StatusOr<TdxTcbInfo> ParseTdxTcbInfo(absl::string_view json);
absl::StatusOr<QeIdentity> ParseQeIdentity(absl::string_view json);

}  // namespace triad::attestation::internal

namespace triad::attestation {

// The whole collateral for TDX quotes of one FMSPC (public name: attestation/tdx.h).
struct TdxCollateral {
  std::vector<crypto::SslPtr<X509>> pck_crl_issuer_chain;  // PCK CA, root copy
  crypto::SslPtr<X509_CRL> root_ca_crl;
  crypto::SslPtr<X509_CRL> pck_crl;
  std::vector<crypto::SslPtr<X509>> tcb_info_issuer_chain;  // TCB signing, root copy
  std::string tcb_info_json;                                // exact signed bytes
  std::string tcb_info_signature;                           // 64: r || s
  internal::TdxTcbInfo tcb_info;
  std::vector<crypto::SslPtr<X509>> qe_identity_issuer_chain;
  std::string qe_identity_json;
  std::string qe_identity_signature;
  internal::QeIdentity qe_identity;
};

namespace internal {
// Parses the dcap-qvl QuoteCollateralV3 JSON: pck_crl_issuer_chain, root_ca_crl (hex DER), pck_crl
// (hex DER), tcb_info_issuer_chain, tcb_info (the signed JSON, as a string), tcb_info_signature
// (hex r || s), qe_identity_issuer_chain, qe_identity, qe_identity_signature. Other keys are
// ignored.
absl::StatusOr<TdxCollateral> ParseTdxCollateralJson(absl::string_view json);
}  // namespace internal

}  // namespace triad::attestation

#endif  // TRIAD_ATTESTATION_INTERNAL_TDX_COLLATERAL_H_
