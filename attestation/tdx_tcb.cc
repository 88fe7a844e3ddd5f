// TCB evaluation of TDX quotes, following Intel's QVL step by step (see internal/tdx_tcb.h for the
// files; the numbers in comments are QVL's spec references, e.g. "4.1.2.4.17").
#include "attestation/internal/tdx_tcb.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/encoding.h"

namespace triad::attestation::internal {
namespace {

// QVL's QE status classes (EnclaveReportVerifier::verify 4.1.2.9.9/10): any level status other than
// UpToDate and Revoked counts as out of date; no level at all is "not supported".
enum class QeClass { kUpToDate, kOutOfDate, kRevoked, kNotSupported };

std::string ModuleId(uint8_t version) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "TDX_%02X", version);
  return buf;
}

const TdxModuleIdentity* FindModuleIdentity(const TdxTcbInfo& info, uint8_t version) {
  std::string want = ModuleId(version);
  for (const TdxModuleIdentity& id : info.tdx_module_identities) {
    std::string have = id.id;
    std::transform(have.begin(), have.end(), have.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (have == want) return &id;
  }
  return nullptr;
}

std::string SvnList(const uint8_t* svn, size_t n) {
  return base::HexEncode(absl::string_view(reinterpret_cast<const char*>(svn), n));
}

// 4.1.2.4.17.1/2: every PCK SGX component and the PCESVN at least the level's.
bool SgxMatches(const PckSgxExtensions& pck, const TdxTcbLevel& level) {
  for (size_t i = 0; i < 16; ++i) {
    if (pck.sgx_tcb_components[i] < level.sgx_components[i]) return false;
  }
  return pck.pce_svn >= level.pce_svn;
}

// isTdxTcbHigherOrEqual: TEE_TCB_SVN against the level's TDX components, skipping the first two
// (the TDX module's own SVN and version, judged by its module identity) when TEE_TCB_SVN[1] > 0.
bool TdxMatches(const std::string& tee_tcb_svn, const TdxTcbLevel& level) {
  const auto* svn = reinterpret_cast<const unsigned char*>(tee_tcb_svn.data());
  for (size_t i = svn[1] > 0 ? 2 : 0; i < 16; ++i) {
    if (svn[i] < level.tdx_components[i]) return false;
  }
  return true;
}

bool IsConfigurationNeeded(TcbStatus s) {
  return s == TcbStatus::kConfigurationNeeded || s == TcbStatus::kOutOfDateConfigurationNeeded ||
         s == TcbStatus::kConfigurationAndSwHardeningNeeded ||
         s == TcbStatus::kTdRelaunchAdvisedConfigurationNeeded;
}

// convergeTcbStatusWithTdxModuleStatus and convergeTcbStatusWithQeTcbStatus share this rule: an
// out-of-date part makes UpToDate/SWHardeningNeeded "OutOfDate" and the Configuration* statuses
// "OutOfDateConfigurationNeeded"; a revoked part revokes; anything else keeps the level's status.
TcbStatus DowngradeForOutOfDatePart(TcbStatus s) {
  switch (s) {
    case TcbStatus::kUpToDate:
    case TcbStatus::kSwHardeningNeeded:
      return TcbStatus::kOutOfDate;
    case TcbStatus::kConfigurationNeeded:
    case TcbStatus::kConfigurationAndSwHardeningNeeded:
      return TcbStatus::kOutOfDateConfigurationNeeded;
    default:
      return s;
  }
}

void AddAdvisories(const std::vector<std::string>& ids, std::vector<std::string>* out) {
  for (const std::string& id : ids) {
    if (std::find(out->begin(), out->end(), id) == out->end()) out->push_back(id);
  }
}

// EnclaveReportVerifier::verify 4.1.2.9.5-8: MISCSELECT and ATTRIBUTES under their masks, MRSIGNER,
// ISVPRODID. The identity's own values are compared unmasked, as QVL does.
void CheckQeIdentity(const QeIdentity& qe, const SgxReportBody& report,
                     std::vector<std::string>* failures) {
  bool misc_ok = true;
  for (size_t i = 0; i < 4; ++i) {
    if ((report.misc_select[i] & qe.miscselect_mask[i]) != qe.miscselect[i]) misc_ok = false;
  }
  if (!misc_ok) {
    failures->push_back(absl::StrCat("QE identity mismatch: QE report MISCSELECT ",
                                     base::HexEncode(report.misc_select), " under mask ",
                                     base::HexEncode(qe.miscselect_mask), " is not ",
                                     base::HexEncode(qe.miscselect)));
  }
  bool attr_ok = true;
  for (size_t i = 0; i < 16; ++i) {
    if ((report.attributes[i] & qe.attributes_mask[i]) != qe.attributes[i]) attr_ok = false;
  }
  if (!attr_ok) {
    failures->push_back(absl::StrCat("QE identity mismatch: QE report ATTRIBUTES ",
                                     base::HexEncode(report.attributes), " under mask ",
                                     base::HexEncode(qe.attributes_mask), " is not ",
                                     base::HexEncode(qe.attributes)));
  }
  if (report.mr_signer != qe.mrsigner) {
    failures->push_back(absl::StrCat("QE identity mismatch: QE report MRSIGNER ",
                                     base::HexEncode(report.mr_signer), " is not ",
                                     base::HexEncode(qe.mrsigner)));
  }
  if (report.isv_prod_id != qe.isv_prod_id) {
    failures->push_back(absl::StrCat("QE identity mismatch: QE report ISVPRODID ",
                                     report.isv_prod_id, " is not ", qe.isv_prod_id));
  }
}

// QuoteVerifier 4.1.2.4.11: the module identity (TDX_<TEE_TCB_SVN[1]> for version >= 1 modules in
// v4+ quotes, otherwise tcbInfo.tdxModule) must have MRSIGNERSEAM's signer, and SEAMATTRIBUTES must
// be zero and equal to the identity's attributes. Returns the identity used, or null after a
// mismatch that leaves none.
const TdxModuleIdentity* CheckTdxModule(const TdxTcbInfo& info, const TdxQuote& quote,
                                        std::vector<std::string>* failures) {
  const auto version = static_cast<uint8_t>(quote.body.tee_tcb_svn[1]);
  const TdxModuleIdentity* module = &info.tdx_module;
  if (version > 0) {
    module = FindModuleIdentity(info, version);
    if (module == nullptr) {
      failures->push_back(
          absl::StrCat("TDX module mismatch: the TCB info has no TDX module identity ",
                       ModuleId(version), " for TEE_TCB_SVN[1] = ", static_cast<int>(version)));
      return nullptr;
    }
  }
  if (quote.body.mr_signer_seam != module->mrsigner) {
    failures->push_back(absl::StrCat("TDX module mismatch: MRSIGNERSEAM ",
                                     base::HexEncode(quote.body.mr_signer_seam), " is not ",
                                     base::HexEncode(module->mrsigner)));
  }
  if (quote.body.seam_attributes != std::string(8, '\0') ||
      quote.body.seam_attributes != module->attributes) {
    failures->push_back(absl::StrCat(
        "TDX module mismatch: SEAMATTRIBUTES ", base::HexEncode(quote.body.seam_attributes),
        " is not zero and equal to ", base::HexEncode(module->attributes)));
  }
  return module;
}

}  // namespace

TdxTcbResult EvaluateTdxTcb(const TdxTcbInfo& info, const QeIdentity& qe, const TdxQuote& quote,
                            const PckSgxExtensions& pck) {
  TdxTcbResult result;
  std::vector<std::string>& failures = result.failures;
  const std::string& tee_tcb_svn = quote.body.tee_tcb_svn;
  const auto module_isvsvn = static_cast<uint8_t>(tee_tcb_svn[0]);
  const auto module_version = static_cast<uint8_t>(tee_tcb_svn[1]);

  CheckQeIdentity(qe, quote.qe_report, &failures);
  const TdxModuleIdentity* module_identity = CheckTdxModule(info, quote, &failures);

  // QE identity level (4.1.2.9.9): the first level, in document order, at or below the QE's ISVSVN.
  const IsvTcbLevel* qe_level = nullptr;
  for (const IsvTcbLevel& level : qe.levels) {
    if (level.isv_svn <= quote.qe_report.isv_svn) {
      qe_level = &level;
      break;
    }
  }
  QeClass qe_class = QeClass::kNotSupported;
  if (qe_level != nullptr) {
    result.qe_status = std::string(TcbStatusName(qe_level->status));
    qe_class = qe_level->status == TcbStatus::kUpToDate  ? QeClass::kUpToDate
               : qe_level->status == TcbStatus::kRevoked ? QeClass::kRevoked
                                                         : QeClass::kOutOfDate;
  }

  // Platform level (matchTcbLevels 4.1.2.4.17.1-3): the first level, highest first, meeting the
  // PCK's SGX TCB selects the SGX status; the first one meeting both it and TEE_TCB_SVN is the TDX
  // level, whose status the rest converges.
  const TdxTcbLevel* sgx_level = nullptr;
  const TdxTcbLevel* tdx_level = nullptr;
  for (const TdxTcbLevel& level : info.levels) {
    if (!SgxMatches(pck, level)) continue;
    if (sgx_level == nullptr) sgx_level = &level;
    if (TdxMatches(tee_tcb_svn, level)) {
      tdx_level = &level;
      break;
    }
  }
  if (sgx_level == nullptr) {
    failures.push_back(
        absl::StrCat("TCB not supported: the PCK's SGX TCB (components ",
                     SvnList(pck.sgx_tcb_components.data(), 16), ", PCESVN ", pck.pce_svn,
                     ") is below every TCB level of the TCB info for FMSPC ",
                     absl::AsciiStrToUpper(base::HexEncode(info.fmspc)),
                     " (tcbEvaluationDataNumber ", info.tcb_evaluation_data_number, ")"));
    return result;
  }
  if (tdx_level == nullptr) {
    failures.push_back(
        absl::StrCat("TCB not supported: TEE_TCB_SVN ", base::HexEncode(tee_tcb_svn),
                     " is below the TDX components of every TCB level the PCK's SGX TCB meets"));
    return result;
  }

  // TDX module level (checkTdxModuleTcbStatus 4.1.2.4.17.4.1): v4+ quotes of version-0 modules are
  // judged by the TCB level alone; otherwise the first module level (highest first) at or below
  // TEE_TCB_SVN[0].
  TcbStatus module_status = TcbStatus::kUpToDate;
  const IsvTcbLevel* module_level = nullptr;
  if (module_version > 0) {
    if (module_identity == nullptr) return result;  // mismatch already reported
    for (const IsvTcbLevel& level : module_identity->levels) {
      if (module_isvsvn >= level.isv_svn) {
        module_level = &level;
        break;
      }
    }
    if (module_level == nullptr) {
      failures.push_back(
          absl::StrCat("TCB not supported: TDX module ISVSVN ", static_cast<int>(module_isvsvn),
                       " is below every TCB level of TDX module identity ", module_identity->id));
      return result;
    }
    module_status = module_level->status;
  }

  TcbStatus sgx_status = sgx_level->status;
  TcbStatus status = tdx_level->status;
  if (module_status == TcbStatus::kOutOfDate) status = DowngradeForOutOfDatePart(status);
  if (module_status == TcbStatus::kRevoked) status = TcbStatus::kRevoked;

  // checkForRelaunch (4.1.2.4.17.4.3), TD report 1.5 only: an out-of-date TDX module whose update
  // is already loaded (TEE_TCB_SVN2 at the latest level) only needs the TD relaunched.
  if (status != TcbStatus::kRevoked && quote.body.is_td15 && (qe_class == QeClass::kUpToDate) &&
      (sgx_status == TcbStatus::kUpToDate || sgx_status == TcbStatus::kSwHardeningNeeded ||
       sgx_status == TcbStatus::kConfigurationNeeded ||
       sgx_status == TcbStatus::kConfigurationAndSwHardeningNeeded) &&
      (status == TcbStatus::kOutOfDate || status == TcbStatus::kOutOfDateConfigurationNeeded) &&
      module_status == TcbStatus::kOutOfDate) {
    const auto* svn2 = reinterpret_cast<const unsigned char*>(quote.body.tee_tcb_svn2.data());
    const TdxTcbLevel& latest = info.levels.front();
    bool relaunch = false;
    if (svn2[1] == 0) {
      relaunch = svn2[0] >= latest.tdx_components[0] && svn2[2] >= latest.tdx_components[2];
    } else {
      const TdxModuleIdentity* module2 = FindModuleIdentity(info, svn2[1]);
      if (module2 == nullptr) {
        failures.push_back(
            absl::StrCat("TDX module mismatch: the TCB info has no TDX module identity ",
                         ModuleId(svn2[1]), " for TEE_TCB_SVN2[1] = ", static_cast<int>(svn2[1])));
        return result;
      }
      relaunch = svn2[0] >= module2->levels.front().isv_svn && svn2[2] >= latest.tdx_components[2];
    }
    if (relaunch) {
      status = IsConfigurationNeeded(sgx_status) || IsConfigurationNeeded(status)
                   ? TcbStatus::kTdRelaunchAdvisedConfigurationNeeded
                   : TcbStatus::kTdRelaunchAdvised;
    }
  }

  // convergeTcbStatusWithQeTcbStatus, after a revoked TDX status has already returned in QVL.
  if (status != TcbStatus::kRevoked) {
    if (qe_class == QeClass::kNotSupported) {
      failures.push_back(absl::StrCat("TCB not supported: QE ISVSVN ", quote.qe_report.isv_svn,
                                      " is below every TCB level of the QE identity"));
      return result;
    }
    if (qe_class == QeClass::kOutOfDate) status = DowngradeForOutOfDatePart(status);
    if (qe_class == QeClass::kRevoked) status = TcbStatus::kRevoked;
  }

  if (status == TcbStatus::kRevoked) {
    std::vector<std::string> parts;
    if (tdx_level->status == TcbStatus::kRevoked) parts.push_back("platform TCB level");
    if (module_status == TcbStatus::kRevoked) parts.push_back("TDX module level");
    if (qe_class == QeClass::kRevoked) parts.push_back("QE identity level");
    failures.push_back(absl::StrCat("TCB revoked: the matched ", absl::StrJoin(parts, ", "),
                                    " has status Revoked"));
  }
  result.status = status;
  AddAdvisories(tdx_level->advisory_ids, &result.advisory_ids);
  if (module_level != nullptr) AddAdvisories(module_level->advisory_ids, &result.advisory_ids);
  if (qe_level != nullptr) AddAdvisories(qe_level->advisory_ids, &result.advisory_ids);
  return result;
}

}  // namespace triad::attestation::internal
