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

std::string Hex64(uint64_t v) {
  return absl::StrCat("0x", absl::Hex(v, absl::kZeroPad16));
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
  CheckBytesIn("id_key_digest", snp.id_key_digest, ref.id_key_digests, reasons);
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
  if (ref.require_crl && !snp.crl_checked) {
    reasons.push_back(
        "no AMD CRL was checked (require_crl): supply the ARK's CRL with the evidence");
  }
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
  if (ref.min_tcb_evaluation_data_number) {
    CheckMinimum("tcb_evaluation_data_number", tdx.tcb_evaluation_data_number,
                 *ref.min_tcb_evaluation_data_number, reasons);
  }
  if (ref.td_attributes &&
      (tdx.td_attributes & ref.td_attributes->mask) != ref.td_attributes->value) {
    reasons.push_back(absl::StrCat("td_attributes ", Hex64(tdx.td_attributes), " & mask ",
                                   Hex64(ref.td_attributes->mask), " is ",
                                   Hex64(tdx.td_attributes & ref.td_attributes->mask),
                                   ", required ", Hex64(ref.td_attributes->value)));
  }
}

// "<who>: driver 535.86.09 is below minimum 550.54.15" unless `version` >= `minimum`.
void CheckVersion(const std::string& who, absl::string_view what, const std::string& version,
                  const std::string& minimum, bool hex, std::vector<std::string>& reasons) {
  absl::StatusOr<int> order = CompareVersions(version, minimum, hex);
  if (!order.ok()) {
    reasons.push_back(absl::StrCat(who, ": ", what, " version \"", version, "\" cannot be compared"));
  } else if (*order < 0) {
    reasons.push_back(absl::StrCat(who, ": ", what, " ", version, " is below minimum ", minimum));
  }
}

// The NVIDIA GPU requirements (policy.h, nvidia_gpu).
void EvaluateGpus(const GpuRequirements& ref, bool allow_debug, const Claims& claims,
                  std::vector<std::string>& reasons) {
  if (claims.gpus.size() != ref.count) {
    reasons.push_back(absl::StrCat("policy requires ", ref.count, " NVIDIA GPU",
                                   ref.count == 1 ? "" : "s", ", the worker attested ",
                                   claims.gpus.size()));
  }
  if (!claims.gpu_cc) {
    reasons.push_back("the claims carry no GPU confidential-computing state");
  } else {
    const GpuCcState& cc = *claims.gpu_cc;
    if (!cc.cc_on()) {
      reasons.push_back(
          absl::StrCat("GPU confidential computing is off (NVML cc_feature ", cc.cc_feature, ")"));
    }
    if (!cc.production()) {
      reasons.push_back(absl::StrCat("GPU confidential computing environment ", cc.environment,
                                     " is not production (2)"));
    }
    if (cc.devtools() && !allow_debug) {
      reasons.push_back("GPU devtools mode is on (profiling and debugging of the GPUs allowed)");
    }
    if (!cc.ready()) {
      reasons.push_back(absl::StrCat("the GPUs do not accept work (NVML ready state ",
                                     cc.gpus_ready, ")"));
    }
    if (ref.count > 1 && !cc.protected_pcie()) {
      reasons.push_back(absl::StrCat(ref.count, " GPUs need protected PCIe (NVML multi_gpu_mode ",
                                     cc.multi_gpu_mode, ", not 1)"));
    }
  }
  for (size_t i = 0; i < claims.gpus.size(); ++i) {
    const GpuClaims& g = claims.gpus[i];
    const std::string who = absl::StrCat("GPU ", i, " (", g.uuid, ")");
    if (!Contains(ref.architectures, g.architecture)) {
      reasons.push_back(absl::StrCat(who, ": architecture ",
                                     g.architecture.empty() ? "(unknown)" : g.architecture,
                                     " not in ", TextList(ref.architectures)));
    }
    CheckVersion(who, "driver", g.driver_version, ref.min_driver_version, false, reasons);
    CheckVersion(who, "VBIOS", g.vbios_version, ref.min_vbios_version, true, reasons);
    if (ref.rim_required && !g.measurements_match) {
      std::vector<std::string> missing;
      for (const char* kind : {"driver", "vbios"}) {
        bool have = false;
        for (const GpuRimClaims& r : g.rims) have = have || r.kind == kind;
        if (!have) missing.push_back(std::string(kind) == "driver" ? "no driver RIM" : "no VBIOS RIM");
      }
      reasons.push_back(absl::StrCat(who, ": reference measurements not verified (rim: required)",
                                     missing.empty() ? "" : ": ", absl::StrJoin(missing, ", ")));
    }
    if (ref.ocsp_required) {
      if (g.device_revocation != "good") {
        reasons.push_back(absl::StrCat(who, ": OCSP for the device chain is ", g.device_revocation,
                                       " (ocsp: required: good)"));
      }
      for (const GpuRimClaims& r : g.rims) {
        if (r.revocation != "good") {
          reasons.push_back(absl::StrCat(who, ": OCSP for the ",
                                         r.kind == "driver" ? "driver" : "VBIOS", " RIM chain is ",
                                         r.revocation, " (ocsp: required: good)"));
        }
      }
    }
  }
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
    r.id_key_digests = HexValues(s, "id_key_digests", at, problems);
    r.require_crl = s.value("require_crl", false);
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
    if (s.contains("min_tcb_evaluation_data_number")) {
      r.min_tcb_evaluation_data_number = s["min_tcb_evaluation_data_number"].get<uint32_t>();
    }
    if (s.contains("td_attributes")) {
      TdxReference::Attributes a;
      const nlohmann::json& t = s["td_attributes"];
      // The schema's pattern admits exactly 16 lower-case hex digits.
      if (!absl::SimpleHexAtoi(t.at("mask").get<std::string>(), &a.mask) ||
          !absl::SimpleHexAtoi(t.at("value").get<std::string>(), &a.value)) {
        problems.push_back(absl::StrCat(at, "/td_attributes: not 64-bit hex numbers"));
      } else if ((a.value & ~a.mask) != 0) {
        problems.push_back(absl::StrCat(at, "/td_attributes: value ", Hex64(a.value),
                                        " has bits outside mask ", Hex64(a.mask),
                                        ", so no TD can match"));
      }
      r.td_attributes = a;
    }
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
    GpuRequirements g;
    g.count = s.at("count").get<uint32_t>();
    g.architectures = s.at("architectures").get<std::vector<std::string>>();
    g.min_driver_version = s.at("min_driver_version").get<std::string>();
    g.min_vbios_version = s.at("min_vbios_version").get<std::string>();
    g.rim_required = s.value("rim", "required") == "required";
    g.ocsp_required = s.value("ocsp", "required") == "required";
    p.nvidia_gpu = std::move(g);
  }
  if (j.contains("accepted_weaknesses")) {
    p.accepted_weaknesses = j["accepted_weaknesses"].get<std::vector<std::string>>();
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
    if (!r.id_key_digests.empty()) s["id_key_digests"] = HexJson(r.id_key_digests);
    if (r.min_guest_svn) s["min_guest_svn"] = *r.min_guest_svn;
    if (!r.allowed_vmpls.empty()) s["allowed_vmpls"] = r.allowed_vmpls;
    s["allow_migration_agent"] = r.allow_migration_agent;
    if (!r.chip_ids.empty()) s["chip_ids"] = HexJson(r.chip_ids);
    if (r.require_crl) s["require_crl"] = true;
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
    if (r.min_tcb_evaluation_data_number) {
      s["min_tcb_evaluation_data_number"] = *r.min_tcb_evaluation_data_number;
    }
    if (r.td_attributes) {
      s["td_attributes"] = OJson{{"mask", absl::StrCat(absl::Hex(r.td_attributes->mask, absl::kZeroPad16))},
                                 {"value", absl::StrCat(absl::Hex(r.td_attributes->value, absl::kZeroPad16))}};
    }
    j["tdx"] = s;
  }
  if (sim) {
    OJson s;
    s["measurements"] = HexJson(sim->measurements);
    if (!sim->tcb_status.empty()) s["tcb_status"] = sim->tcb_status;
    j["sim"] = s;
  }
  if (nvidia_gpu) {
    const GpuRequirements& g = *nvidia_gpu;
    j["nvidia_gpu"] = OJson{{"count", g.count},
                            {"architectures", g.architectures},
                            {"min_driver_version", g.min_driver_version},
                            {"min_vbios_version", g.min_vbios_version},
                            {"cc_mode", "on"},
                            {"rim", g.rim_required ? "required" : "optional"},
                            {"ocsp", g.ocsp_required ? "required" : "optional"}};
  }
  if (coco) {
    j["coco"] = OJson{{"initdata_digests", HexJson(coco->initdata_digests)},
                      {"image_digests", coco->image_digests}};
  }
  if (!accepted_weaknesses.empty()) j["accepted_weaknesses"] = accepted_weaknesses;
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

std::vector<PolicyWeakness> PolicyWeaknesses(const WorkerPolicy& policy) {
  std::vector<PolicyWeakness> out;
  if (policy.tdx) {
    const TdxReference& t = *policy.tdx;
    if ((t.rtmr[1].empty() || t.rtmr[2].empty()) && t.mr_config_id.empty()) {
      out.push_back({"tdx-guest-unpinned",
                     "tdx: neither rtmr1 and rtmr2 nor mr_config_id is pinned, so any guest "
                     "kernel, initrd and command line boots with an accepted MRTD (which measures "
                     "only the TDVF firmware): pin rtmr1 and rtmr2 (--tdx-rtmr1, --tdx-rtmr2), or "
                     "mr_config_id (--tdx-mrconfigid) when the TD's configuration id covers them"});
    }
    if (t.rtmr[0].empty()) {
      out.push_back({"tdx-acpi-unpinned",
                     "tdx: rtmr0 is not pinned, so the host chooses the ACPI tables (code the "
                     "guest kernel runs), the memory map and the firmware's configuration and "
                     "secure-boot keys of an admitted TD: pin rtmr0 (--tdx-rtmr0, from triad "
                     "measure tdx --fw-cfg)"});
    }
  }
  if (policy.sev_snp) {
    const SnpReference& r = *policy.sev_snp;
    if (r.min_tcb == SnpTcb{} && !r.check_fmc) {
      out.push_back({"snp-no-min-tcb",
                     "sev_snp: min_tcb is all zero, so a platform with any firmware and "
                     "microcode, however old, is admitted: set the floor (--snp-min-tcb)"});
    }
    if (r.allowed_vmpls.empty()) {
      out.push_back({"snp-any-vmpl",
                     "sev_snp: allowed_vmpls is not set, so a report from any VMPL is admitted, "
                     "including one requested by software below the guest kernel's privilege: "
                     "set allowed_vmpls (--snp-vmpl, normally 0)"});
    }
  }
  if (policy.nvidia_gpu) {
    if (!policy.nvidia_gpu->rim_required) {
      out.push_back({"gpu-rim-optional",
                     "nvidia_gpu: rim is optional, so GPUs running firmware and drivers NVIDIA "
                     "never published are admitted: make it \"required\""});
    }
    if (!policy.nvidia_gpu->ocsp_required) {
      out.push_back({"gpu-ocsp-optional",
                     "nvidia_gpu: ocsp is optional, so a GPU whose certificate NVIDIA revoked is "
                     "admitted: make it \"required\""});
    }
  }
  return out;
}

std::vector<PolicyWeakness> UnacceptedWeaknesses(const WorkerPolicy& policy) {
  std::vector<PolicyWeakness> out;
  for (PolicyWeakness& w : PolicyWeaknesses(policy)) {
    if (!Contains(policy.accepted_weaknesses, w.code)) out.push_back(std::move(w));
  }
  return out;
}

absl::StatusOr<WorkerPolicy> HardwarePolicy(const HardwarePolicyOptions& o) {
  if (o.snp_measurements.empty() && o.tdx_mr_td.empty()) {
    return absl::InvalidArgumentError(
        "a hardware-only policy needs at least one reference measurement (SEV-SNP MEASUREMENT or "
        "TDX MRTD)");
  }
  for (const auto* list : {&o.snp_measurements, &o.tdx_mr_td, &o.tdx_rtmr0, &o.tdx_rtmr1,
                           &o.tdx_rtmr2, &o.tdx_mr_config_id, &o.snp_id_key_digests}) {
    for (const std::string& m : *list) {
      if (m.size() != kLaunchDigestSize) {
        return absl::InvalidArgumentError(absl::StrCat(
            "a reference measurement must be 48 bytes (96 hex digits), got ", m.size()));
      }
    }
  }
  for (const std::string& h : o.snp_host_data) {
    if (h.size() != 32) {
      return absl::InvalidArgumentError(
          absl::StrCat("SEV-SNP host data must be 32 bytes (64 hex digits), got ", h.size()));
    }
  }
  for (uint32_t v : o.snp_vmpls) {
    if (v > 3) return absl::InvalidArgumentError(absl::StrCat("VMPL ", v, " is not 0 to 3"));
  }
  const bool snp_extras = o.snp_min_tcb || !o.snp_host_data.empty() ||
                          !o.snp_id_key_digests.empty();
  if (o.snp_measurements.empty() && snp_extras) {
    return absl::InvalidArgumentError(
        "SEV-SNP reference values (minimum TCB, host data, ID key) need an SEV-SNP measurement");
  }
  if (o.tdx_mr_td.empty() && (!o.tdx_rtmr0.empty() || !o.tdx_rtmr1.empty() ||
                              !o.tdx_rtmr2.empty() || !o.tdx_mr_config_id.empty())) {
    return absl::InvalidArgumentError("TDX RTMRs and MRCONFIGID need a TDX MRTD");
  }
  WorkerPolicy p;
  if (!o.snp_measurements.empty()) {
    if (!o.snp_min_tcb) {
      return absl::InvalidArgumentError(
          "a minimum SEV-SNP TCB is required with an SEV-SNP measurement (bootloader, tee, snp "
          "and microcode SVNs: the oldest firmware and microcode the parties accept)");
    }
    p.tee.push_back(kTeeSevSnp);
    SnpReference r;
    r.measurements = o.snp_measurements;
    r.min_tcb = *o.snp_min_tcb;
    r.check_fmc = o.snp_min_tcb_fmc;
    r.allowed_vmpls = o.snp_vmpls;
    r.host_data = o.snp_host_data;
    r.id_key_digests = o.snp_id_key_digests;
    p.sev_snp = std::move(r);
  }
  if (!o.tdx_mr_td.empty()) {
    p.tee.push_back(kTeeTdx);
    TdxReference r;
    r.mr_td = o.tdx_mr_td;
    r.rtmr[0] = o.tdx_rtmr0;
    r.rtmr[1] = o.tdx_rtmr1;
    r.rtmr[2] = o.tdx_rtmr2;
    r.mr_config_id = o.tdx_mr_config_id;
    r.tcb_status = {"UpToDate"};
    p.tdx = std::move(r);
  }
  return p;
}

absl::StatusOr<WorkerPolicy> DefaultHardwarePolicy(const std::vector<std::string>& snp_measurements,
                                                   const std::vector<std::string>& tdx_mr_td) {
  HardwarePolicyOptions o;
  o.snp_measurements = snp_measurements;
  o.tdx_mr_td = tdx_mr_td;
  if (!snp_measurements.empty()) o.snp_min_tcb = SnpTcb{};
  return HardwarePolicy(o);
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
  if (policy.nvidia_gpu) EvaluateGpus(*policy.nvidia_gpu, policy.allow_debug, claims, reasons);
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
