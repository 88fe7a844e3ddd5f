#include "contracts/claims.h"

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/status.h"

namespace triad::contracts {
namespace {

using Json = nlohmann::ordered_json;

std::string Hex(const std::string& b) { return base::HexEncode(b); }

Json TcbJson(const SnpTcb& t) {
  return Json{{"bootloader", t.bootloader}, {"tee", t.tee}, {"snp", t.snp}, {"microcode", t.microcode},
              {"fmc", t.fmc}};
}

// A reader that remembers the first problem, so FromJson stays flat.
class Reader {
 public:
  explicit Reader(const nlohmann::json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) Fail("not an object");
  }
  std::string Str(const char* key) {
    const nlohmann::json* v = Get(key);
    if (v == nullptr) return "";
    if (!v->is_string()) {
      Fail(absl::StrCat("\"", key, "\" must be a string"));
      return "";
    }
    return v->get<std::string>();
  }
  std::string Bytes(const char* key) {
    std::string hex = Str(key);
    absl::StatusOr<std::string> b = base::HexDecode(hex);
    if (!b.ok()) {
      Fail(absl::StrCat("\"", key, "\": ", b.status().message()));
      return "";
    }
    return *b;
  }
  uint64_t Uint(const char* key, uint64_t max) {
    const nlohmann::json* v = Get(key);
    if (v == nullptr) return 0;
    if (!v->is_number_unsigned() || v->get<uint64_t>() > max) {
      Fail(absl::StrCat("\"", key, "\" must be an integer from 0 to ", max));
      return 0;
    }
    return v->get<uint64_t>();
  }
  bool Bool(const char* key) {
    const nlohmann::json* v = Get(key);
    if (v == nullptr) return false;
    if (!v->is_boolean()) {
      Fail(absl::StrCat("\"", key, "\" must be a boolean"));
      return false;
    }
    return v->get<bool>();
  }
  std::vector<std::string> StrList(const char* key, bool hex) {
    std::vector<std::string> out;
    const nlohmann::json* v = Get(key);
    if (v == nullptr) return out;
    if (!v->is_array()) {
      Fail(absl::StrCat("\"", key, "\" must be an array"));
      return out;
    }
    for (const auto& e : *v) {
      if (!e.is_string()) {
        Fail(absl::StrCat("\"", key, "\" must hold strings"));
        return out;
      }
      if (!hex) {
        out.push_back(e.get<std::string>());
        continue;
      }
      absl::StatusOr<std::string> b = base::HexDecode(e.get<std::string>());
      if (!b.ok()) {
        Fail(absl::StrCat("\"", key, "\": ", b.status().message()));
        return out;
      }
      out.push_back(*b);
    }
    return out;
  }
  SnpTcb Tcb(const char* key) {
    SnpTcb t;
    const nlohmann::json* v = Get(key);
    if (v == nullptr) return t;
    Reader r(*v, absl::StrCat(where_, ".", key));
    t.bootloader = static_cast<uint8_t>(r.Uint("bootloader", 255));
    t.tee = static_cast<uint8_t>(r.Uint("tee", 255));
    t.snp = static_cast<uint8_t>(r.Uint("snp", 255));
    t.microcode = static_cast<uint8_t>(r.Uint("microcode", 255));
    t.fmc = static_cast<uint8_t>(r.Uint("fmc", 255));
    if (!r.status().ok() && status_.ok()) status_ = r.status();
    return t;
  }
  const nlohmann::json* Get(const char* key) {
    if (!j_.is_object()) return nullptr;
    auto it = j_.find(key);
    if (it == j_.end()) {
      Fail(absl::StrCat("missing \"", key, "\""));
      return nullptr;
    }
    return &*it;
  }
  bool Has(const char* key) const { return j_.is_object() && j_.contains(key); }
  // Absent keys read as 0 (fields added after records were first written).
  uint64_t OptUint(const char* key, uint64_t max) { return Has(key) ? Uint(key, max) : 0; }
  const nlohmann::json* Child(const char* key) { return Get(key); }
  void Fail(const std::string& why) {
    if (status_.ok()) status_ = absl::InvalidArgumentError(absl::StrCat(where_, ": ", why));
  }
  const absl::Status& status() const { return status_; }

 private:
  const nlohmann::json& j_;
  std::string where_;
  absl::Status status_;
};

Json GpuCcJson(const GpuCcState& s) {
  return Json{{"environment", s.environment},
              {"cc_feature", s.cc_feature},
              {"devtools_mode", s.devtools_mode},
              {"multi_gpu_mode", s.multi_gpu_mode},
              {"gpus_ready", s.gpus_ready}};
}

absl::StatusOr<GpuClaims> GpuFromJson(const nlohmann::json& j, size_t i) {
  Reader r(j, absl::StrCat("claims.gpus[", i, "]"));
  GpuClaims g;
  g.index = static_cast<uint32_t>(r.Uint("index", UINT32_MAX));
  g.uuid = r.Str("uuid");
  g.chip = r.Str("chip");
  g.architecture = r.Str("architecture");
  g.report_digest = r.Bytes("report_digest");
  g.nonce = r.Bytes("nonce");
  g.driver_version = r.Str("driver_version");
  g.vbios_version = r.Str("vbios_version");
  g.chip_sku = r.Str("chip_sku");
  g.project = r.Str("project");
  g.project_sku = r.Str("project_sku");
  g.device_certificate = r.Str("device_certificate");
  g.device_id = r.Bytes("device_id");
  g.fwid = r.Bytes("fwid");
  g.fwid_bound = r.Bool("fwid_bound");
  g.trailing_zero_bytes = static_cast<uint32_t>(r.Uint("trailing_zero_bytes", UINT32_MAX));
  g.measurements_match = r.Bool("measurements_match");
  g.device_revocation = r.Str("device_revocation");
  TRIAD_RETURN_IF_ERROR(r.status());
  for (const char* list : {"measurements", "rims"}) {
    const nlohmann::json* a = r.Child(list);
    if (a == nullptr || !a->is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat("claims.gpus[", i, "]: \"", list, "\" must be an array"));
    }
    for (const nlohmann::json& e : *a) {
      Reader m(e, absl::StrCat("claims.gpus[", i, "].", list));
      if (std::string(list) == "measurements") {
        int index = static_cast<int>(m.Uint("index", 255));
        std::string value = m.Bytes("value");
        TRIAD_RETURN_IF_ERROR(m.status());
        g.measurements.emplace_back(index, std::move(value));
      } else {
        GpuRimClaims rim{m.Str("kind"), m.Str("version"), m.Str("tag_id"), m.Str("signer"),
                         m.Str("revocation")};
        TRIAD_RETURN_IF_ERROR(m.status());
        g.rims.push_back(std::move(rim));
      }
    }
  }
  return g;
}

}  // namespace

nlohmann::ordered_json GpuClaims::ToJson() const {
  Json blocks = Json::array();
  for (const auto& [index, value] : measurements) {
    blocks.push_back({{"index", index}, {"value", Hex(value)}});
  }
  Json rim_list = Json::array();
  for (const GpuRimClaims& r : rims) {
    rim_list.push_back({{"kind", r.kind},
                        {"version", r.version},
                        {"tag_id", r.tag_id},
                        {"signer", r.signer},
                        {"revocation", r.revocation}});
  }
  return {{"index", index},
          {"uuid", uuid},
          {"chip", chip},
          {"architecture", architecture},
          {"report_digest", Hex(report_digest)},
          {"nonce", Hex(nonce)},
          {"driver_version", driver_version},
          {"vbios_version", vbios_version},
          {"chip_sku", chip_sku},
          {"project", project},
          {"project_sku", project_sku},
          {"device_certificate", device_certificate},
          {"device_id", Hex(device_id)},
          {"fwid", Hex(fwid)},
          {"fwid_bound", fwid_bound},
          {"trailing_zero_bytes", trailing_zero_bytes},
          {"measurements", std::move(blocks)},
          {"rims", std::move(rim_list)},
          {"measurements_match", measurements_match},
          {"device_revocation", device_revocation}};
}

nlohmann::ordered_json Claims::ToJson() const {
  Json j;
  j["tee"] = tee;
  j["report_data"] = Hex(report_data);
  j["measurement"] = Hex(measurement);
  j["debug"] = debug;
  j["tcb_status"] = tcb_status;
  j["advisory_ids"] = advisory_ids;
  j["platform_id"] = Hex(platform_id);
  if (snp) {
    const SnpClaims& s = *snp;
    j["snp"] = Json{{"version", s.version},
                    {"product", s.product},
                    {"signing_key", s.signing_key},
                    {"policy", s.policy},
                    {"vmpl", s.vmpl},
                    {"guest_svn", s.guest_svn},
                    {"measurement", Hex(s.measurement)},
                    {"host_data", Hex(s.host_data)},
                    {"id_key_digest", Hex(s.id_key_digest)},
                    {"author_key_digest", Hex(s.author_key_digest)},
                    {"report_id", Hex(s.report_id)},
                    {"chip_id", Hex(s.chip_id)},
                    {"reported_tcb", TcbJson(s.reported_tcb)},
                    {"committed_tcb", TcbJson(s.committed_tcb)},
                    {"current_tcb", TcbJson(s.current_tcb)},
                    {"smt_allowed", s.smt_allowed},
                    {"migration_agent_allowed", s.migration_agent_allowed},
                    {"crl_checked", s.crl_checked}};
  }
  if (tdx) {
    const TdxClaims& t = *tdx;
    Json rtmr = Json::array();
    for (const std::string& r : t.rtmr) rtmr.push_back(Hex(r));
    j["tdx"] = Json{{"quote_version", t.quote_version},
                    {"mr_td", Hex(t.mr_td)},
                    {"rtmr", rtmr},
                    {"mr_config_id", Hex(t.mr_config_id)},
                    {"mr_owner", Hex(t.mr_owner)},
                    {"mr_owner_config", Hex(t.mr_owner_config)},
                    {"mr_seam", Hex(t.mr_seam)},
                    {"mr_signer_seam", Hex(t.mr_signer_seam)},
                    {"mr_service_td", Hex(t.mr_service_td)},
                    {"td_attributes", t.td_attributes},
                    {"xfam", t.xfam},
                    {"tee_tcb_svn", Hex(t.tee_tcb_svn)},
                    {"fmspc", Hex(t.fmspc)},
                    {"qe_tcb_status", t.qe_tcb_status},
                    {"tcb_evaluation_data_number", t.tcb_evaluation_data_number}};
  }
  if (sim) j["sim"] = Json{{"signer_key_id", sim->signer_key_id}};
  if (!gpus.empty()) {
    Json list = Json::array();
    for (const GpuClaims& g : gpus) list.push_back(g.ToJson());
    j["gpus"] = std::move(list);
  }
  if (gpu_cc) j["gpu_cc"] = GpuCcJson(*gpu_cc);
  if (coco) {
    j["coco"] = Json{{"initdata_algorithm", coco->initdata_algorithm},
                     {"initdata_digest", Hex(coco->initdata_digest)},
                     {"image", coco->image},
                     {"image_digest", coco->image_digest}};
  }
  return j;
}

absl::StatusOr<Claims> Claims::FromJson(const nlohmann::json& j) {
  Reader r(j, "claims");
  Claims c;
  c.tee = r.Str("tee");
  c.report_data = r.Bytes("report_data");
  c.measurement = r.Bytes("measurement");
  c.debug = r.Bool("debug");
  c.tcb_status = r.Str("tcb_status");
  c.advisory_ids = r.StrList("advisory_ids", /*hex=*/false);
  c.platform_id = r.Bytes("platform_id");
  TRIAD_RETURN_IF_ERROR(r.status());
  if (r.Has("snp")) {
    Reader s(j["snp"], "claims.snp");
    SnpClaims sc;
    sc.version = static_cast<uint32_t>(s.Uint("version", UINT32_MAX));
    sc.product = s.Str("product");
    sc.signing_key = s.Str("signing_key");
    sc.policy = s.Uint("policy", UINT64_MAX);
    sc.vmpl = static_cast<uint32_t>(s.Uint("vmpl", UINT32_MAX));
    sc.guest_svn = static_cast<uint32_t>(s.Uint("guest_svn", UINT32_MAX));
    sc.measurement = s.Bytes("measurement");
    sc.host_data = s.Bytes("host_data");
    sc.id_key_digest = s.Bytes("id_key_digest");
    sc.author_key_digest = s.Bytes("author_key_digest");
    sc.report_id = s.Bytes("report_id");
    sc.chip_id = s.Bytes("chip_id");
    sc.reported_tcb = s.Tcb("reported_tcb");
    sc.committed_tcb = s.Tcb("committed_tcb");
    sc.current_tcb = s.Tcb("current_tcb");
    sc.smt_allowed = s.Bool("smt_allowed");
    sc.migration_agent_allowed = s.Bool("migration_agent_allowed");
    sc.crl_checked = s.Has("crl_checked") && s.Bool("crl_checked");
    TRIAD_RETURN_IF_ERROR(s.status());
    c.snp = std::move(sc);
  }
  if (r.Has("tdx")) {
    Reader t(j["tdx"], "claims.tdx");
    TdxClaims tc;
    tc.quote_version = static_cast<uint16_t>(t.Uint("quote_version", UINT16_MAX));
    tc.mr_td = t.Bytes("mr_td");
    tc.rtmr = t.StrList("rtmr", /*hex=*/true);
    tc.mr_config_id = t.Bytes("mr_config_id");
    tc.mr_owner = t.Bytes("mr_owner");
    tc.mr_owner_config = t.Bytes("mr_owner_config");
    tc.mr_seam = t.Bytes("mr_seam");
    tc.mr_signer_seam = t.Bytes("mr_signer_seam");
    tc.mr_service_td = t.Bytes("mr_service_td");
    tc.td_attributes = t.Uint("td_attributes", UINT64_MAX);
    tc.xfam = t.Uint("xfam", UINT64_MAX);
    tc.tee_tcb_svn = t.Bytes("tee_tcb_svn");
    tc.fmspc = t.Bytes("fmspc");
    tc.qe_tcb_status = t.Str("qe_tcb_status");
    tc.tcb_evaluation_data_number =
        static_cast<uint32_t>(t.OptUint("tcb_evaluation_data_number", UINT32_MAX));
    TRIAD_RETURN_IF_ERROR(t.status());
    c.tdx = std::move(tc);
  }
  if (r.Has("sim")) {
    Reader s(j["sim"], "claims.sim");
    SimClaims sc;
    sc.signer_key_id = s.Str("signer_key_id");
    TRIAD_RETURN_IF_ERROR(s.status());
    c.sim = std::move(sc);
  }
  if (r.Has("gpus")) {
    const nlohmann::json& list = j["gpus"];
    if (!list.is_array() || list.size() > kMaxGpus) {
      return absl::InvalidArgumentError(
          absl::StrCat("claims: \"gpus\" must be an array of at most ", kMaxGpus));
    }
    for (size_t i = 0; i < list.size(); ++i) {
      TRIAD_ASSIGN_OR_RETURN(GpuClaims g, GpuFromJson(list[i], i));
      c.gpus.push_back(std::move(g));
    }
  }
  if (r.Has("gpu_cc")) {
    Reader s(j["gpu_cc"], "claims.gpu_cc");
    GpuCcState cc;
    cc.environment = static_cast<uint32_t>(s.Uint("environment", UINT32_MAX));
    cc.cc_feature = static_cast<uint32_t>(s.Uint("cc_feature", UINT32_MAX));
    cc.devtools_mode = static_cast<uint32_t>(s.Uint("devtools_mode", UINT32_MAX));
    cc.multi_gpu_mode = static_cast<uint32_t>(s.Uint("multi_gpu_mode", UINT32_MAX));
    cc.gpus_ready = static_cast<uint32_t>(s.Uint("gpus_ready", UINT32_MAX));
    TRIAD_RETURN_IF_ERROR(s.status());
    c.gpu_cc = cc;
  }
  if (r.Has("coco")) {
    Reader s(j["coco"], "claims.coco");
    CocoClaims cc;
    cc.initdata_algorithm = s.Str("initdata_algorithm");
    cc.initdata_digest = s.Bytes("initdata_digest");
    cc.image = s.Str("image");
    cc.image_digest = s.Str("image_digest");
    TRIAD_RETURN_IF_ERROR(s.status());
    c.coco = std::move(cc);
  }
  return c;
}

}  // namespace triad::contracts
