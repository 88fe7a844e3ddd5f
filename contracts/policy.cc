#include "contracts/policy.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "contracts/internal/parse.h"
#include "contracts/internal/schemas.h"

namespace triad::contracts {
namespace {

using OJson = nlohmann::ordered_json;

constexpr size_t kMaxPolicyTextSize = 256 * 1024;
constexpr size_t kLaunchDigestSize = 48;  // SNP MEASUREMENT, TDX MRTD/RTMR, sim SHA-384

// The JSON key of a kind's section.
std::string SectionKey(absl::string_view tee) {
  return tee == kTeeSevSnp ? "sev_snp" : std::string(tee);
}

// Reads a list of hex values. The schema's patterns admit only even-length lower-case hex, so a
// decoding failure means the schema and this code disagree; it is still reported, never skipped.
std::vector<std::string> HexValues(const nlohmann::json& j, const std::string& key,
                                   const std::string& path, std::vector<std::string>& problems) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  for (const auto& v : j[key]) {
    absl::StatusOr<std::string> b = base::HexDecode(v.get<std::string>());
    if (!b.ok()) {
      problems.push_back(absl::StrCat(path, "/", key, ": ", b.status().message()));
      continue;
    }
    out.push_back(*std::move(b));
  }
  return out;
}

OJson HexJson(const std::vector<std::string>& values) {
  OJson a = OJson::array();
  for (const std::string& v : values) a.push_back(base::HexEncode(v));
  return a;
}

std::string Shown(const std::string& bytes) {
  return bytes.empty() ? "(empty)" : base::HexEncode(bytes);
}

std::string HexList(const std::vector<std::string>& values) {
  std::vector<std::string> hex;
  for (const std::string& v : values) hex.push_back(base::HexEncode(v));
  return absl::StrCat("[", absl::StrJoin(hex, ", "), "]");
}

std::string TextList(const std::vector<std::string>& values) {
  return absl::StrCat("[", absl::StrJoin(values, ", "), "]");
}

bool Contains(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// Adds "<name> <hex> not in [<hex>, …]" unless `list` is empty (not checked) or holds `value`.
void CheckBytesIn(absl::string_view name, const std::string& value,
                  const std::vector<std::string>& list, std::vector<std::string>& reasons) {
  if (list.empty() || Contains(list, value)) return;
  reasons.push_back(absl::StrCat(name, " ", Shown(value), " not in ", HexList(list)));
}

void CheckTextIn(absl::string_view name, const std::string& value,
                 const std::vector<std::string>& list, std::vector<std::string>& reasons) {
  if (list.empty() || Contains(list, value)) return;
  reasons.push_back(
      absl::StrCat(name, " ", value.empty() ? "(empty)" : value, " not in ", TextList(list)));
}

void CheckMinimum(absl::string_view name, uint64_t value, uint64_t minimum,
                  std::vector<std::string>& reasons) {
  if (value < minimum)
    reasons.push_back(absl::StrCat(name, " ", value, " is below minimum ", minimum));
}

void EvaluateSnp(const SnpReference& ref, const Claims& claims, std::vector<std::string>& reasons) {
  CheckBytesIn("measurement", claims.measurement, ref.measurements, reasons);
  if (!claims.snp) {
    reasons.push_back("claims carry no sev-snp details");
    return;
  }
  const SnpClaims& snp = *claims.snp;
  CheckBytesIn("host_data", snp.host_data, ref.host_data, reasons);
  CheckMinimum("reported_tcb.bootloader", snp.reported_tcb.bootloader, ref.min_tcb.bootloader,
               reasons);
  CheckMinimum("reported_tcb.tee", snp.reported_tcb.tee, ref.min_tcb.tee, reasons);
  CheckMinimum("reported_tcb.snp", snp.reported_tcb.snp, ref.min_tcb.snp, reasons);
  CheckMinimum("reported_tcb.microcode", snp.reported_tcb.microcode, ref.min_tcb.microcode,
               reasons);
  if (ref.check_fmc)
    CheckMinimum("reported_tcb.fmc", snp.reported_tcb.fmc, ref.min_tcb.fmc, reasons);
  if (ref.min_guest_svn) CheckMinimum("guest_svn", snp.guest_svn, *ref.min_guest_svn, reasons);
  if (!ref.allowed_vmpls.empty() && std::find(ref.allowed_vmpls.begin(), ref.allowed_vmpls.end(),
                                              snp.vmpl) == ref.allowed_vmpls.end()) {
    reasons.push_back(
        absl::StrCat("vmpl ", snp.vmpl, " not in [", absl::StrJoin(ref.allowed_vmpls, ", "), "]"));
  }
  if (snp.migration_agent_allowed && !ref.allow_migration_agent) {
    reasons.push_back("migration agent allowed by the guest policy, which this policy forbids");
  }
  CheckBytesIn("chip_id", snp.chip_id, ref.chip_ids, reasons);
}

void EvaluateTdx(const TdxReference& ref, const Claims& claims, std::vector<std::string>& reasons) {
  CheckBytesIn("mr_td", claims.measurement, ref.mr_td, reasons);
  CheckTextIn("tcb_status", claims.tcb_status, ref.tcb_status, reasons);
  if (ref.allowed_advisory_ids) {
    for (const std::string& id : claims.advisory_ids) {
      if (!Contains(*ref.allowed_advisory_ids, id)) {
        reasons.push_back(
            absl::StrCat("advisory ", id, " not in allowed ", TextList(*ref.allowed_advisory_ids)));
      }
    }
  }
  CheckBytesIn("platform_id", claims.platform_id, ref.platform_ids, reasons);
  if (!claims.tdx) {
    reasons.push_back("claims carry no tdx details");
    return;
  }
  const TdxClaims& tdx = *claims.tdx;
  bool rtmr_checked = false;
  for (const auto& list : ref.rtmr) rtmr_checked = rtmr_checked || !list.empty();
  if (rtmr_checked && tdx.rtmr.size() != 4) {
    reasons.push_back(absl::StrCat("claims carry ", tdx.rtmr.size(), " RTMRs, expected 4"));
  } else if (rtmr_checked) {
    for (int i = 0; i < 4; ++i)
      CheckBytesIn(absl::StrCat("rtmr", i), tdx.rtmr[i], ref.rtmr[i], reasons);
  }
  CheckBytesIn("mr_config_id", tdx.mr_config_id, ref.mr_config_id, reasons);
}

void EvaluateSim(const SimReference& ref, const Claims& claims, std::vector<std::string>& reasons) {
  CheckBytesIn("measurement", claims.measurement, ref.measurements, reasons);
  CheckTextIn("tcb_status", claims.tcb_status, ref.tcb_status, reasons);
}

// The digest as kata puts it in the TEE's field: truncated, or padded with zero bytes (initdata spec).
std::string Fit(const std::string& digest, size_t size) {
  std::string out = digest.substr(0, size);
  out.resize(size, '\0');
  return out;
}

void EvaluateCoco(const CocoReference& ref, const Claims& claims, std::vector<std::string>& reasons) {
  // The hardware field first: it alone says which init-data the TEE was started with.
  const std::string* field = nullptr;
  const char* name = nullptr;
  size_t size = 0;
  if (claims.tee == kTeeSevSnp && claims.snp) {
    field = &claims.snp->host_data, name = "HOST_DATA", size = 32;
  } else if (claims.tee == kTeeTdx && claims.tdx) {
    field = &claims.tdx->mr_config_id, name = "MRCONFIGID", size = 48;
  }
  if (field == nullptr) {
    reasons.push_back(absl::StrCat("coco: tee ", claims.tee,
                                   " has no init-data field (Confidential Containers run on "
                                   "sev-snp or tdx)"));
    return;
  }
  std::vector<std::string> expected;
  for (const std::string& d : ref.initdata_digests) expected.push_back(Fit(d, size));
  if (!Contains(expected, *field)) {
    reasons.push_back(absl::StrCat(name, " ", Shown(*field),
                                   " is not the contract's init-data digest (expected one of ",
                                   HexList(expected), ")"));
  }
  if (!claims.coco) {
    reasons.push_back(
        "coco: the evidence carries no init-data, so the worker image cannot be checked");
    return;
  }
  if (!Contains(ref.initdata_digests, claims.coco->initdata_digest)) {
    reasons.push_back(absl::StrCat("coco: init-data digest ", Shown(claims.coco->initdata_digest),
                                   " not in ", HexList(ref.initdata_digests)));
  }
  if (!Contains(ref.image_digests, claims.coco->image_digest)) {
    reasons.push_back(absl::StrCat("coco: worker image ", claims.coco->image_digest, " (",
                                   claims.coco->image, ") not in ", TextList(ref.image_digests)));
  }
}

absl::StatusOr<std::vector<uint64_t>> ParseVersion(absl::string_view v, bool hex) {
  std::vector<uint64_t> parts;
  if (v.empty() || v.size() > 64)
    return absl::InvalidArgumentError(absl::StrCat("bad version \"", v, "\""));
  for (absl::string_view p : absl::StrSplit(v, '.')) {
    uint64_t n = 0;
    bool ok =
        !p.empty() && p.size() <= 8 && (hex ? absl::SimpleHexAtoi(p, &n) : absl::SimpleAtoi(p, &n));
    for (char c : p) ok = ok && (hex ? absl::ascii_isxdigit(c) : absl::ascii_isdigit(c));
    if (!ok) return absl::InvalidArgumentError(absl::StrCat("bad version \"", v, "\""));
    parts.push_back(n);
  }
  return parts;
}

}  // namespace

namespace internal {

WorkerPolicy ReadPolicy(const nlohmann::json& j, const std::string& prefix,
                        std::vector<std::string>& problems) {
  WorkerPolicy p;
  p.tee = j.at("tee").get<std::vector<std::string>>();
  p.allow_debug = j.value("allow_debug", false);
  if (j.contains("sev_snp")) {
    const nlohmann::json& s = j["sev_snp"];
    const std::string at = prefix + "/sev_snp";
    SnpReference r;
    r.measurements = HexValues(s, "measurements", at, problems);
    const nlohmann::json& t = s.at("min_tcb");
    r.min_tcb.bootloader = t.at("bootloader").get<uint8_t>();
    r.min_tcb.tee = t.at("tee").get<uint8_t>();
    r.min_tcb.snp = t.at("snp").get<uint8_t>();
    r.min_tcb.microcode = t.at("microcode").get<uint8_t>();
    if (t.contains("fmc")) {
      r.check_fmc = true;
      r.min_tcb.fmc = t["fmc"].get<uint8_t>();
    }
    r.host_data = HexValues(s, "host_data", at, problems);
    if (s.contains("min_guest_svn")) r.min_guest_svn = s["min_guest_svn"].get<uint32_t>();
    if (s.contains("allowed_vmpls"))
      r.allowed_vmpls = s["allowed_vmpls"].get<std::vector<uint32_t>>();
    r.allow_migration_agent = s.value("allow_migration_agent", false);
    r.chip_ids = HexValues(s, "chip_ids", at, problems);
    p.sev_snp = std::move(r);
  }
  if (j.contains("tdx")) {
    const nlohmann::json& s = j["tdx"];
    const std::string at = prefix + "/tdx";
    TdxReference r;
    r.mr_td = HexValues(s, "mr_td", at, problems);
    for (int i = 0; i < 4; ++i) r.rtmr[i] = HexValues(s, absl::StrCat("rtmr", i), at, problems);
    r.mr_config_id = HexValues(s, "mr_config_id", at, problems);
    r.tcb_status = s.at("tcb_status").get<std::vector<std::string>>();
    if (s.contains("allowed_advisory_ids")) {
      r.allowed_advisory_ids = s["allowed_advisory_ids"].get<std::vector<std::string>>();
    }
    r.platform_ids = HexValues(s, "platform_ids", at, problems);
    p.tdx = std::move(r);
  }
  if (j.contains("sim")) {
    const nlohmann::json& s = j["sim"];
    const std::string at = prefix + "/sim";
    SimReference r;
    r.measurements = HexValues(s, "measurements", at, problems);
    if (s.contains("tcb_status")) r.tcb_status = s["tcb_status"].get<std::vector<std::string>>();
    p.sim = std::move(r);
  }
  if (j.contains("nvidia_gpu")) {
    const nlohmann::json& s = j["nvidia_gpu"];
    p.nvidia_gpu = GpuRequirements{s.at("min_driver_version").get<std::string>(),
                                   s.at("min_vbios_version").get<std::string>()};
  }

  if (j.contains("coco")) {
    const nlohmann::json& s = j["coco"];
    CocoReference r;
    r.initdata_digests = HexValues(s, "initdata_digests", prefix + "/coco", problems);
    r.image_digests = s.at("image_digests").get<std::vector<std::string>>();
    if (!p.Accepts(kTeeSevSnp) && !p.Accepts(kTeeTdx)) {
      problems.push_back(absl::StrCat(prefix, "/coco: there is a coco section but tee lists neither ",
                                      kTeeSevSnp, " nor ", kTeeTdx));
    }
    p.coco = std::move(r);
  }

  // What the schema cannot say: a kind in `tee` has its reference values, and reference values are
  // not given for a kind the policy does not accept (most likely a mistake in the policy).
  const bool has[] = {p.sev_snp.has_value(), p.tdx.has_value(), p.sim.has_value()};
  const char* kinds[] = {kTeeSevSnp, kTeeTdx, kTeeSim};
  for (int i = 0; i < 3; ++i) {
    bool listed = p.Accepts(kinds[i]);
    if (listed && !has[i]) {
      problems.push_back(absl::StrCat(prefix, "/tee: tee lists ", kinds[i], " but there is no ",
                                      SectionKey(kinds[i]), " section"));
    } else if (!listed && has[i]) {
      problems.push_back(absl::StrCat(prefix, "/", SectionKey(kinds[i]), ": there is a ",
                                      SectionKey(kinds[i]), " section but tee does not list ",
                                      kinds[i]));
    }
  }
  return p;
}

}  // namespace internal

bool WorkerPolicy::Accepts(absl::string_view tee_kind) const {
  return std::find(tee.begin(), tee.end(), tee_kind) != tee.end();
}

nlohmann::ordered_json WorkerPolicy::ToJson() const {
  OJson j;
  j["tee"] = tee;
  j["allow_debug"] = allow_debug;
  if (sev_snp) {
    const SnpReference& r = *sev_snp;
    OJson s;
    s["measurements"] = HexJson(r.measurements);
    OJson t{{"bootloader", r.min_tcb.bootloader},
            {"tee", r.min_tcb.tee},
            {"snp", r.min_tcb.snp},
            {"microcode", r.min_tcb.microcode}};
    if (r.check_fmc) t["fmc"] = r.min_tcb.fmc;
    s["min_tcb"] = t;
    if (!r.host_data.empty()) s["host_data"] = HexJson(r.host_data);
    if (r.min_guest_svn) s["min_guest_svn"] = *r.min_guest_svn;
    if (!r.allowed_vmpls.empty()) s["allowed_vmpls"] = r.allowed_vmpls;
    s["allow_migration_agent"] = r.allow_migration_agent;
    if (!r.chip_ids.empty()) s["chip_ids"] = HexJson(r.chip_ids);
    j["sev_snp"] = s;
  }
  if (tdx) {
    const TdxReference& r = *tdx;
    OJson s;
    s["mr_td"] = HexJson(r.mr_td);
    for (int i = 0; i < 4; ++i) {
      if (!r.rtmr[i].empty()) s[absl::StrCat("rtmr", i)] = HexJson(r.rtmr[i]);
    }
    if (!r.mr_config_id.empty()) s["mr_config_id"] = HexJson(r.mr_config_id);
    s["tcb_status"] = r.tcb_status;
    if (r.allowed_advisory_ids) s["allowed_advisory_ids"] = *r.allowed_advisory_ids;
    if (!r.platform_ids.empty()) s["platform_ids"] = HexJson(r.platform_ids);
    j["tdx"] = s;
  }
  if (sim) {
    OJson s;
    s["measurements"] = HexJson(sim->measurements);
    if (!sim->tcb_status.empty()) s["tcb_status"] = sim->tcb_status;
    j["sim"] = s;
  }
  if (nvidia_gpu) {
    j["nvidia_gpu"] = OJson{{"cc_mode", "on"},
                            {"min_driver_version", nvidia_gpu->min_driver_version},
                            {"min_vbios_version", nvidia_gpu->min_vbios_version}};
  }
  if (coco) {
    j["coco"] = OJson{{"initdata_digests", HexJson(coco->initdata_digests)},
                      {"image_digests", coco->image_digests}};
  }
  return j;
}

absl::StatusOr<WorkerPolicy> WorkerPolicy::FromJson(const nlohmann::json& j,
                                                    std::vector<std::string>* problems) {
  std::vector<std::string> found;
  internal::AppendErrors(internal::CheckSchema(j, "#/$defs/worker_policy"), found);
  if (found.empty()) {
    try {
      WorkerPolicy p = internal::ReadPolicy(j, "", found);
      if (found.empty()) return p;
    } catch (const nlohmann::json::exception& e) {
      found.push_back(absl::StrCat("/: cannot read the policy: ", e.what()));
    }
  }
  if (problems != nullptr) *problems = found;
  return internal::ProblemsStatus("worker policy", found);
}

absl::StatusOr<WorkerPolicy> WorkerPolicy::FromText(absl::string_view text,
                                                    std::vector<std::string>* problems) {
  base::JsonLimits limits;
  limits.max_bytes = kMaxPolicyTextSize;
  limits.max_depth = 6;
  absl::StatusOr<nlohmann::json> j = base::ParseJsonStrict(text, limits);
  if (!j.ok()) {
    if (problems != nullptr) *problems = {std::string(j.status().message())};
    return base::Annotate(j.status(), "worker policy");
  }
  return FromJson(*j, problems);
}

absl::StatusOr<WorkerPolicy> DefaultHardwarePolicy(const std::vector<std::string>& snp_measurements,
                                                   const std::vector<std::string>& tdx_mr_td) {
  if (snp_measurements.empty() && tdx_mr_td.empty()) {
    return absl::InvalidArgumentError(
        "a hardware-only policy needs at least one reference measurement (SEV-SNP MEASUREMENT or "
        "TDX MRTD)");
  }
  for (const auto* list : {&snp_measurements, &tdx_mr_td}) {
    for (const std::string& m : *list) {
      if (m.size() != kLaunchDigestSize) {
        return absl::InvalidArgumentError(absl::StrCat(
            "a reference measurement must be 48 bytes (96 hex digits), got ", m.size()));
      }
    }
  }
  WorkerPolicy p;
  if (!snp_measurements.empty()) {
    p.tee.push_back(kTeeSevSnp);
    p.sev_snp = SnpReference{};
    p.sev_snp->measurements = snp_measurements;
  }
  if (!tdx_mr_td.empty()) {
    p.tee.push_back(kTeeTdx);
    p.tdx = TdxReference{};
    p.tdx->mr_td = tdx_mr_td;
    p.tdx->tcb_status = {"UpToDate"};
  }
  return p;
}

nlohmann::ordered_json PolicyDecision::ToJson() const {
  return OJson{{"admit", admit}, {"simulated", simulated}, {"reasons", reasons}};
}

PolicyDecision Evaluate(const WorkerPolicy& policy, const Claims& claims) {
  PolicyDecision d;
  std::vector<std::string>& reasons = d.reasons;
  if (!policy.Accepts(claims.tee)) {
    reasons.push_back(absl::StrCat("tee ", claims.tee.empty() ? "(empty)" : claims.tee,
                                   " not accepted (policy accepts ", TextList(policy.tee), ")"));
    return d;
  }
  if (claims.debug && !policy.allow_debug) {
    if (claims.tee == kTeeSevSnp) {
      reasons.push_back("debug guest not allowed");
    } else if (claims.tee == kTeeTdx) {
      reasons.push_back("debug TD not allowed");
    } else {
      reasons.push_back("debug sim worker not allowed");
    }
  }
  if (claims.tee == kTeeSevSnp && policy.sev_snp) EvaluateSnp(*policy.sev_snp, claims, reasons);
  if (claims.tee == kTeeTdx && policy.tdx) EvaluateTdx(*policy.tdx, claims, reasons);
  if (claims.tee == kTeeSim && policy.sim) EvaluateSim(*policy.sim, claims, reasons);
  // A policy built in code may name a kind without its section; there is nothing to match then.
  if ((claims.tee == kTeeSevSnp && !policy.sev_snp) || (claims.tee == kTeeTdx && !policy.tdx) ||
      (claims.tee == kTeeSim && !policy.sim)) {
    reasons.push_back(absl::StrCat("policy has no reference values for ", claims.tee));
  }
  if (policy.coco) EvaluateCoco(*policy.coco, claims, reasons);
  if (policy.nvidia_gpu) {
    reasons.push_back(absl::StrCat("policy requires nvidia-gpu attestation (cc_mode on, driver >= ",
                                   policy.nvidia_gpu->min_driver_version,
                                   ", VBIOS >= ", policy.nvidia_gpu->min_vbios_version,
                                   "), but the claims carry no GPU evidence"));
  }
  d.admit = reasons.empty();
  d.simulated = d.admit && claims.simulated();
  return d;
}

absl::StatusOr<int> CompareVersions(absl::string_view a, absl::string_view b, bool hex) {
  TRIAD_ASSIGN_OR_RETURN(std::vector<uint64_t> pa, ParseVersion(a, hex));
  TRIAD_ASSIGN_OR_RETURN(std::vector<uint64_t> pb, ParseVersion(b, hex));
  size_t n = std::max(pa.size(), pb.size());
  pa.resize(n, 0);
  pb.resize(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (pa[i] != pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return 0;
}

}  // namespace triad::contracts
