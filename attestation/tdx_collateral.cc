// Parsers of TDX collateral. Field names and types follow Intel's PCS API v4 ("TDX TCB Info",
// "TDX QE Identity") and the checks of Intel's QVL parsers (AttestationParsers TcbInfo.cpp,
// TcbLevel.cpp, TdxModuleIdentity.cpp; AttestationLibrary EnclaveIdentityV2.cpp).
#include "attestation/internal/tdx_collateral.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "attestation/internal/tdx_pck.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/json.h"
#include "nlohmann/json.hpp"

namespace triad::attestation::internal {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxTcbLevels = 256;
constexpr size_t kMaxModuleIdentities = 64;
constexpr size_t kMaxIsvLevels = 64;
constexpr size_t kMaxAdvisories = 256;
constexpr size_t kMaxAdvisoryChars = 64;
constexpr size_t kMaxChainCerts = 4;
constexpr size_t kMaxCrlBytes = 512 * 1024;

absl::Status Err(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// Field accessors. `path` names the object for messages ("tcb_info.tcbLevels[2].tcb").
absl::StatusOr<const Json*> Field(const Json& obj, const char* key, const std::string& path) {
  if (!obj.is_object()) return Err(path, "must be an object");
  auto it = obj.find(key);
  if (it == obj.end()) return Err(path, absl::StrCat("missing \"", key, "\""));
  return &*it;
}

absl::Status GetString(const Json& obj, const char* key, const std::string& path, size_t max_chars,
                       std::string* out) {
  absl::StatusOr<const Json*> v = Field(obj, key, path);
  if (!v.ok()) return v.status();
  if (!(*v)->is_string()) return Err(path, absl::StrCat("\"", key, "\" must be a string"));
  const std::string& s = (*v)->get_ref<const std::string&>();
  if (s.size() > max_chars) {
    return Err(path, absl::StrCat("\"", key, "\" is longer than ", max_chars, " characters"));
  }
  *out = s;
  return absl::OkStatus();
}

absl::Status GetUint(const Json& obj, const char* key, const std::string& path, uint32_t max,
                     uint32_t* out) {
  absl::StatusOr<const Json*> v = Field(obj, key, path);
  if (!v.ok()) return v.status();
  if (!(*v)->is_number_unsigned() || (*v)->get<uint64_t>() > max) {
    return Err(path, absl::StrCat("\"", key, "\" must be an integer from 0 to ", max));
  }
  *out = static_cast<uint32_t>((*v)->get<uint64_t>());
  return absl::OkStatus();
}

// A hex field of exactly `bytes` bytes (either case, as Intel serves upper case).
absl::Status GetHex(const Json& obj, const char* key, const std::string& path, size_t bytes,
                    std::string* out) {
  std::string hex;
  absl::Status st = GetString(obj, key, path, bytes * 2, &hex);
  if (!st.ok()) return st;
  absl::StatusOr<std::string> raw = base::HexDecode(hex);
  if (!raw.ok() || raw->size() != bytes) {
    return Err(path, absl::StrCat("\"", key, "\" must be ", bytes * 2, " hex digits"));
  }
  *out = *std::move(raw);
  return absl::OkStatus();
}

absl::Status GetTime(const Json& obj, const char* key, const std::string& path, absl::Time* out) {
  std::string text;
  absl::Status st = GetString(obj, key, path, 64, &text);
  if (!st.ok()) return st;
  if (!base::ParseRfc3339(text, out)) {
    return Err(path, absl::StrCat("\"", key, "\" is not an RFC 3339 time"));
  }
  return absl::OkStatus();
}

absl::StatusOr<const Json*> GetArray(const Json& obj, const char* key, const std::string& path,
                                     size_t max) {
  absl::StatusOr<const Json*> v = Field(obj, key, path);
  if (!v.ok()) return v.status();
  if (!(*v)->is_array() || (*v)->empty() || (*v)->size() > max) {
    return Err(path, absl::StrCat("\"", key, "\" must be an array of 1 to ", max, " entries"));
  }
  return *v;
}

// Which names a status field may hold (QVL: VALID_TCB_INFO_STATUSES for TCB levels,
// VALID_MODULE_TCB_STATUSES for TDX module levels, parseStringToTcbStatus for QE identity levels).
enum class StatusSet { kTcbLevel, kModuleLevel, kQeLevel };

std::optional<TcbStatus> ParseStatusName(absl::string_view name, StatusSet set) {
  static constexpr std::pair<absl::string_view, TcbStatus> kNames[] = {
      {"UpToDate", TcbStatus::kUpToDate},
      {"SWHardeningNeeded", TcbStatus::kSwHardeningNeeded},
      {"ConfigurationNeeded", TcbStatus::kConfigurationNeeded},
      {"ConfigurationAndSWHardeningNeeded", TcbStatus::kConfigurationAndSwHardeningNeeded},
      {"OutOfDate", TcbStatus::kOutOfDate},
      {"OutOfDateConfigurationNeeded", TcbStatus::kOutOfDateConfigurationNeeded},
      {"Revoked", TcbStatus::kRevoked},
  };
  for (const auto& [text, status] : kNames) {
    if (text != name) continue;
    switch (set) {
      case StatusSet::kTcbLevel:
        return status;
      case StatusSet::kModuleLevel:
        if (status == TcbStatus::kUpToDate || status == TcbStatus::kOutOfDate ||
            status == TcbStatus::kRevoked) {
          return status;
        }
        return std::nullopt;
      case StatusSet::kQeLevel:
        if (status == TcbStatus::kSwHardeningNeeded ||
            status == TcbStatus::kConfigurationAndSwHardeningNeeded) {
          return std::nullopt;
        }
        return status;
    }
  }
  return std::nullopt;
}

// tcbStatus, tcbDate (checked, unused) and the optional advisoryIDs of a level.
absl::Status ParseLevelCommon(const Json& level, const std::string& path, StatusSet set,
                              TcbStatus* status, std::vector<std::string>* advisories) {
  absl::Time date;
  absl::Status st = GetTime(level, "tcbDate", path, &date);
  if (!st.ok()) return st;
  std::string name;
  st = GetString(level, "tcbStatus", path, 64, &name);
  if (!st.ok()) return st;
  std::optional<TcbStatus> parsed = ParseStatusName(name, set);
  if (!parsed) return Err(path, absl::StrCat("\"tcbStatus\" \"", name, "\" is not recognized"));
  *status = *parsed;
  advisories->clear();
  if (!level.contains("advisoryIDs")) return absl::OkStatus();
  const Json& ids = level["advisoryIDs"];
  if (!ids.is_array() || ids.size() > kMaxAdvisories) {
    return Err(path, absl::StrCat("\"advisoryIDs\" must be an array of at most ", kMaxAdvisories,
                                  " strings"));
  }
  for (const Json& id : ids) {
    if (!id.is_string() || id.get_ref<const std::string&>().size() > kMaxAdvisoryChars) {
      return Err(path, absl::StrCat("\"advisoryIDs\" must hold strings of at most ",
                                    kMaxAdvisoryChars, " characters"));
    }
    advisories->push_back(id.get<std::string>());
  }
  return absl::OkStatus();
}

absl::Status ParseIsvLevels(const Json& obj, const std::string& path, StatusSet set,
                            uint32_t max_svn, std::vector<IsvTcbLevel>* out) {
  absl::StatusOr<const Json*> levels = GetArray(obj, "tcbLevels", path, kMaxIsvLevels);
  if (!levels.ok()) return levels.status();
  for (size_t i = 0; i < (*levels)->size(); ++i) {
    const Json& level = (**levels)[i];
    std::string where = absl::StrCat(path, ".tcbLevels[", i, "]");
    IsvTcbLevel parsed;
    absl::StatusOr<const Json*> tcb = Field(level, "tcb", where);
    if (!tcb.ok()) return tcb.status();
    absl::Status st = GetUint(**tcb, "isvsvn", where + ".tcb", max_svn, &parsed.isv_svn);
    if (st.ok()) st = ParseLevelCommon(level, where, set, &parsed.status, &parsed.advisory_ids);
    if (!st.ok()) return st;
    out->push_back(std::move(parsed));
  }
  return absl::OkStatus();
}

absl::Status ParseModule(const Json& obj, const std::string& path, bool identity,
                         TdxModuleIdentity* out) {
  absl::Status st;
  if (identity) st = GetString(obj, "id", path, 16, &out->id);
  if (st.ok()) st = GetHex(obj, "mrsigner", path, 48, &out->mrsigner);
  if (st.ok()) st = GetHex(obj, "attributes", path, 8, &out->attributes);
  if (st.ok()) st = GetHex(obj, "attributesMask", path, 8, &out->attributes_mask);
  if (!st.ok() || !identity) return st;
  // TDX module ISVSVN is TEE_TCB_SVN[0], one byte.
  st = ParseIsvLevels(obj, path, StatusSet::kModuleLevel, 255, &out->levels);
  if (!st.ok()) return st;
  // QVL keeps module levels in a std::set ordered by isvsvn, highest first, and rejects duplicates.
  std::stable_sort(
      out->levels.begin(), out->levels.end(),
      [](const IsvTcbLevel& a, const IsvTcbLevel& b) { return a.isv_svn > b.isv_svn; });
  for (size_t i = 1; i < out->levels.size(); ++i) {
    if (out->levels[i].isv_svn == out->levels[i - 1].isv_svn) {
      return Err(path, absl::StrCat("two TCB levels have isvsvn ", out->levels[i].isv_svn));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseComponents(const Json& tcb, const char* key, const std::string& path,
                             std::array<uint8_t, 16>* out) {
  absl::StatusOr<const Json*> comps = GetArray(tcb, key, path, 16);
  if (!comps.ok()) return comps.status();
  if ((*comps)->size() != 16) return Err(path, absl::StrCat("\"", key, "\" must have 16 entries"));
  for (size_t i = 0; i < 16; ++i) {
    uint32_t svn = 0;
    absl::Status st =
        GetUint((**comps)[i], "svn", absl::StrCat(path, ".", key, "[", i, "]"), 255, &svn);
    if (!st.ok()) return st;
    (*out)[i] = static_cast<uint8_t>(svn);
  }
  return absl::OkStatus();
}

// QVL TcbLevel::operator>: SGX components, then PCESVN, then TDX components, lexicographically.
bool HigherLevel(const TdxTcbLevel& a, const TdxTcbLevel& b) {
  if (a.sgx_components != b.sgx_components) return a.sgx_components > b.sgx_components;
  if (a.pce_svn != b.pce_svn) return a.pce_svn > b.pce_svn;
  return a.tdx_components > b.tdx_components;
}

absl::StatusOr<Json> ParseObject(absl::string_view json, const std::string& path) {
  absl::StatusOr<Json> j = base::ParseJsonStrict(json, {kTdxMaxCollateralBytes, 16});
  if (!j.ok()) return Err(path, j.status().message());
  if (!j->is_object()) return Err(path, "must be a JSON object");
  return j;
}

absl::StatusOr<std::vector<crypto::SslPtr<X509>>> ParseChain(const Json& root, const char* key) {
  std::string pem;
  absl::Status st = GetString(root, key, "collateral", 64 * 1024, &pem);
  if (!st.ok()) return st;
  absl::StatusOr<std::vector<crypto::SslPtr<X509>>> certs =
      ParsePemCertificates(pem, kMaxChainCerts);
  if (!certs.ok()) return Err(key, certs.status().message());
  return certs;
}

absl::StatusOr<crypto::SslPtr<X509_CRL>> ParseCrl(const Json& root, const char* key) {
  std::string hex;
  absl::Status st = GetString(root, key, "collateral", 2 * kMaxCrlBytes, &hex);
  if (!st.ok()) return st;
  absl::StatusOr<std::string> der = base::HexDecode(hex);
  if (!der.ok()) return Err(key, "is not hex-encoded DER");
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  crypto::SslPtr<X509_CRL> crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der->size())));
  if (crl == nullptr || p != reinterpret_cast<const unsigned char*>(der->data()) + der->size()) {
    crypto::ClearOpenSslErrors();
    return Err(key, "is not one DER X.509 CRL");
  }
  return crl;
}

absl::Status ParseSignature(const Json& root, const char* key, std::string* out) {
  return GetHex(root, key, "collateral", 64, out);
}

}  // namespace

absl::string_view TcbStatusName(TcbStatus status) {
  switch (status) {
    case TcbStatus::kUpToDate:
      return "UpToDate";
    case TcbStatus::kSwHardeningNeeded:
      return "SWHardeningNeeded";
    case TcbStatus::kConfigurationNeeded:
      return "ConfigurationNeeded";
    case TcbStatus::kConfigurationAndSwHardeningNeeded:
      return "ConfigurationAndSWHardeningNeeded";
    case TcbStatus::kOutOfDate:
      return "OutOfDate";
    case TcbStatus::kOutOfDateConfigurationNeeded:
      return "OutOfDateConfigurationNeeded";
    case TcbStatus::kRevoked:
      return "Revoked";
    case TcbStatus::kTdRelaunchAdvised:
      return "TDRelaunchAdvised";
    case TcbStatus::kTdRelaunchAdvisedConfigurationNeeded:
      return "TDRelaunchAdvisedConfigurationNeeded";
  }
  return "Unknown";
}

absl::StatusOr<TdxTcbInfo> ParseTdxTcbInfo(absl::string_view json) {
  const std::string path = "tcb_info";
  absl::StatusOr<Json> j = ParseObject(json, path);
  if (!j.ok()) return j.status();
  TdxTcbInfo info;
  absl::Status st = GetString(*j, "id", path, 16, &info.id);
  if (st.ok() && info.id != "TDX") {
    st = Err(path, absl::StrCat("\"id\" is \"", info.id, "\", not \"TDX\""));
  }
  if (st.ok()) st = GetUint(*j, "version", path, 0xffffffff, &info.version);
  if (st.ok() && info.version != 3) {
    st = Err(path, absl::StrCat("\"version\" ", info.version, " is not supported; only 3 is"));
  }
  if (st.ok()) st = GetTime(*j, "issueDate", path, &info.issue_date);
  if (st.ok()) st = GetTime(*j, "nextUpdate", path, &info.next_update);
  if (st.ok()) st = GetHex(*j, "fmspc", path, 6, &info.fmspc);
  if (st.ok()) st = GetHex(*j, "pceId", path, 2, &info.pce_id);
  uint32_t tcb_type = 0;
  if (st.ok()) st = GetUint(*j, "tcbType", path, 0xffffffff, &tcb_type);
  if (st.ok() && tcb_type != 0) {
    st = Err(path, absl::StrCat("\"tcbType\" ", tcb_type, " is not supported; only 0 is"));
  }
  if (st.ok()) {
    st = GetUint(*j, "tcbEvaluationDataNumber", path, 0xffffffff, &info.tcb_evaluation_data_number);
  }
  if (!st.ok()) return st;

  absl::StatusOr<const Json*> module = Field(*j, "tdxModule", path);
  if (!module.ok()) return module.status();
  st = ParseModule(**module, path + ".tdxModule", /*identity=*/false, &info.tdx_module);
  if (!st.ok()) return st;
  if (j->contains("tdxModuleIdentities")) {
    absl::StatusOr<const Json*> ids =
        GetArray(*j, "tdxModuleIdentities", path, kMaxModuleIdentities);
    if (!ids.ok()) return ids.status();
    for (size_t i = 0; i < (*ids)->size(); ++i) {
      TdxModuleIdentity identity;
      st = ParseModule((**ids)[i], absl::StrCat(path, ".tdxModuleIdentities[", i, "]"),
                       /*identity=*/true, &identity);
      if (!st.ok()) return st;
      info.tdx_module_identities.push_back(std::move(identity));
    }
  }

  absl::StatusOr<const Json*> levels = GetArray(*j, "tcbLevels", path, kMaxTcbLevels);
  if (!levels.ok()) return levels.status();
  for (size_t i = 0; i < (*levels)->size(); ++i) {
    const Json& level = (**levels)[i];
    std::string where = absl::StrCat(path, ".tcbLevels[", i, "]");
    TdxTcbLevel parsed;
    absl::StatusOr<const Json*> tcb = Field(level, "tcb", where);
    if (!tcb.ok()) return tcb.status();
    st = ParseComponents(**tcb, "sgxtcbcomponents", where + ".tcb", &parsed.sgx_components);
    if (st.ok()) st = GetUint(**tcb, "pcesvn", where + ".tcb", 65535, &parsed.pce_svn);
    if (st.ok()) {
      st = ParseComponents(**tcb, "tdxtcbcomponents", where + ".tcb", &parsed.tdx_components);
    }
    if (st.ok()) {
      st = ParseLevelCommon(level, where, StatusSet::kTcbLevel, &parsed.status,
                            &parsed.advisory_ids);
    }
    if (!st.ok()) return st;
    info.levels.push_back(std::move(parsed));
  }
  std::stable_sort(info.levels.begin(), info.levels.end(), HigherLevel);
  for (size_t i = 1; i < info.levels.size(); ++i) {
    if (!HigherLevel(info.levels[i - 1], info.levels[i])) {
      return Err(path, "two TCB levels have the same SGX components, PCESVN and TDX components");
    }
  }
  return info;
}

absl::StatusOr<QeIdentity> ParseQeIdentity(absl::string_view json) {
  const std::string path = "qe_identity";
  absl::StatusOr<Json> j = ParseObject(json, path);
  if (!j.ok()) return j.status();
  QeIdentity qe;
  absl::Status st = GetString(*j, "id", path, 16, &qe.id);
  if (st.ok() && qe.id != "TD_QE") {
    st = Err(path, absl::StrCat("\"id\" is \"", qe.id, "\", not \"TD_QE\""));
  }
  if (st.ok()) st = GetUint(*j, "version", path, 0xffffffff, &qe.version);
  if (st.ok() && qe.version != 2) {
    st = Err(path, absl::StrCat("\"version\" ", qe.version, " is not supported; only 2 is"));
  }
  if (st.ok()) st = GetTime(*j, "issueDate", path, &qe.issue_date);
  if (st.ok()) st = GetTime(*j, "nextUpdate", path, &qe.next_update);
  if (st.ok()) {
    st = GetUint(*j, "tcbEvaluationDataNumber", path, 0xffffffff, &qe.tcb_evaluation_data_number);
  }
  if (st.ok()) st = GetHex(*j, "miscselect", path, 4, &qe.miscselect);
  if (st.ok()) st = GetHex(*j, "miscselectMask", path, 4, &qe.miscselect_mask);
  if (st.ok()) st = GetHex(*j, "attributes", path, 16, &qe.attributes);
  if (st.ok()) st = GetHex(*j, "attributesMask", path, 16, &qe.attributes_mask);
  if (st.ok()) st = GetHex(*j, "mrsigner", path, 32, &qe.mrsigner);
  if (st.ok()) st = GetUint(*j, "isvprodid", path, 65535, &qe.isv_prod_id);
  if (st.ok()) st = ParseIsvLevels(*j, path, StatusSet::kQeLevel, 65535, &qe.levels);
  if (!st.ok()) return st;
  return qe;
}

absl::StatusOr<TdxCollateral> ParseTdxCollateralJson(absl::string_view json) {
  absl::StatusOr<Json> root = ParseObject(json, "collateral");
  if (!root.ok()) return root.status();
  TdxCollateral c;
  absl::StatusOr<std::vector<crypto::SslPtr<X509>>> chain =
      ParseChain(*root, "pck_crl_issuer_chain");
  if (!chain.ok()) return chain.status();
  c.pck_crl_issuer_chain = *std::move(chain);
  chain = ParseChain(*root, "tcb_info_issuer_chain");
  if (!chain.ok()) return chain.status();
  c.tcb_info_issuer_chain = *std::move(chain);
  chain = ParseChain(*root, "qe_identity_issuer_chain");
  if (!chain.ok()) return chain.status();
  c.qe_identity_issuer_chain = *std::move(chain);

  absl::StatusOr<crypto::SslPtr<X509_CRL>> crl = ParseCrl(*root, "root_ca_crl");
  if (!crl.ok()) return crl.status();
  c.root_ca_crl = *std::move(crl);
  crl = ParseCrl(*root, "pck_crl");
  if (!crl.ok()) return crl.status();
  c.pck_crl = *std::move(crl);

  absl::Status st =
      GetString(*root, "tcb_info", "collateral", kTdxMaxCollateralBytes, &c.tcb_info_json);
  if (st.ok()) st = ParseSignature(*root, "tcb_info_signature", &c.tcb_info_signature);
  if (st.ok()) {
    st = GetString(*root, "qe_identity", "collateral", kTdxMaxCollateralBytes, &c.qe_identity_json);
  }
  if (st.ok()) st = ParseSignature(*root, "qe_identity_signature", &c.qe_identity_signature);
  if (!st.ok()) return st;
  absl::StatusOr<TdxTcbInfo> info = ParseTdxTcbInfo(c.tcb_info_json);
  if (!info.ok()) return info.status();
  c.tcb_info = *std::move(info);
  absl::StatusOr<QeIdentity> qe = ParseQeIdentity(c.qe_identity_json);
  if (!qe.ok()) return qe.status();
  c.qe_identity = *std::move(qe);
  return c;
}

}  // namespace triad::attestation::internal
