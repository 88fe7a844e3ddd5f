#include "attestation/evidence_document.h"

#include "absl/strings/str_cat.h"
#include "attestation/internal/nvidia_rim.h"
#include "attestation/internal/nvidia_spdm.h"
#include "attestation/internal/revocation.h"
#include "attestation/nvidia_gpu.h"
#include "base/encoding.h"
#include "base/json.h"
#include "measure/coco.h"
#include "nlohmann/json.hpp"

namespace triad::attestation {
namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

constexpr char kWhat[] = "evidence document";

absl::Status Bad(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(kWhat, ": ", where, " ", what));
}

// An object with every key of `required`, possibly those of `optional`, and no other.
absl::Status CheckKeys(const Json& j, absl::string_view where,
                       std::initializer_list<absl::string_view> required,
                       std::initializer_list<absl::string_view> optional = {}) {
  if (!j.is_object()) return Bad(where, "is not an object");
  size_t known = 0;
  for (absl::string_view k : required) {
    if (!j.contains(std::string(k))) return Bad(where, absl::StrCat("has no \"", k, "\""));
    ++known;
  }
  for (absl::string_view k : optional) known += j.contains(std::string(k)) ? 1 : 0;
  if (j.size() != known) return Bad(where, "has a key that is not allowed");
  return absl::OkStatus();
}

// A base64 string value at `at`, decoded, at most `max` bytes.
absl::StatusOr<std::string> B64Value(const Json& v, const std::string& at, size_t max) {
  if (!v.is_string()) return Bad(at, "is not a string");
  const std::string& text = v.get_ref<const std::string&>();
  absl::StatusOr<std::string> raw;
  if (text.size() <= (max + 2) / 3 * 4) raw = base::Base64Decode(text);
  if (text.size() > (max + 2) / 3 * 4 || (raw.ok() && raw->size() > max)) {
    return absl::ResourceExhaustedError(
        absl::StrCat(kWhat, ": ", at, " is larger than ", max, " bytes"));
  }
  if (!raw.ok()) return Bad(at, "is not base64");
  return raw;
}

absl::StatusOr<std::string> B64(const Json& j, const std::string& key, absl::string_view where,
                                size_t max) {
  const std::string at = where.empty() ? key : absl::StrCat(where, ".", key);
  auto it = j.find(key);
  if (it == j.end()) return Bad(at, "is missing");
  return B64Value(*it, at, max);
}

absl::StatusOr<std::vector<std::string>> B64List(const Json& j, const std::string& key,
                                                 absl::string_view where, size_t max_items,
                                                 size_t max_each) {
  const std::string at = absl::StrCat(where, ".", key);
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return Bad(at, "is not an array");
  if (it->size() > max_items) {
    return absl::ResourceExhaustedError(
        absl::StrCat(kWhat, ": ", at, " holds more than ", max_items, " items"));
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < it->size(); ++i) {
    absl::StatusOr<std::string> v = B64Value((*it)[i], absl::StrCat(at, "[", i, "]"), max_each);
    if (!v.ok()) return v.status();
    out.push_back(*std::move(v));
  }
  return out;
}

absl::StatusOr<uint32_t> U32(const Json& j, const char* key, absl::string_view where) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned() || it->get<uint64_t>() > UINT32_MAX) {
    return Bad(absl::StrCat(where, ".", key), "is not an integer from 0 to 4294967295");
  }
  return static_cast<uint32_t>(it->get<uint64_t>());
}

OJson B64Array(const std::vector<std::string>& items) {
  OJson a = OJson::array();
  for (const std::string& s : items) a.push_back(base::Base64Encode(s));
  return a;
}

}  // namespace

std::string EvidenceDocument(const Evidence& evidence) {
  OJson j;
  j["tee"] = evidence.tee;
  j["report"] = base::Base64Encode(evidence.report);
  j["certs"] = base::Base64Encode(evidence.certs);
  j["collateral"] = base::Base64Encode(evidence.collateral);
  if (!evidence.gpus.empty() || evidence.gpu_cc) {
    const contracts::GpuCcState cc = evidence.gpu_cc.value_or(contracts::GpuCcState{});
    OJson devices = OJson::array();
    for (const GpuEvidence& g : evidence.gpus) {
      devices.push_back(OJson{{"uuid", g.uuid},
                              {"report", base::Base64Encode(g.report)},
                              {"certs", base::Base64Encode(g.certs)},
                              {"rims", B64Array(g.rims)},
                              {"ocsp", B64Array(g.ocsp)}});
    }
    j["gpus"] = OJson{{"cc",
                       {{"environment", cc.environment},
                        {"cc_feature", cc.cc_feature},
                        {"devtools_mode", cc.devtools_mode},
                        {"multi_gpu_mode", cc.multi_gpu_mode},
                        {"gpus_ready", cc.gpus_ready}}},
                      {"devices", std::move(devices)}};
  }
  if (!evidence.initdata.empty()) j["initdata"] = base::Base64Encode(evidence.initdata);
  return j.dump();
}

absl::StatusOr<Evidence> ParseEvidenceDocument(absl::string_view text) {
  base::JsonLimits limits;
  limits.max_bytes = kMaxEvidenceDocumentSize;
  limits.max_depth = 6;
  absl::StatusOr<Json> parsed = base::ParseJsonStrict(text, limits);
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(),
                        absl::StrCat(kWhat, ": ", parsed.status().message()));
  }
  const Json& d = *parsed;
  if (!d.is_object()) return Bad("the top level", "is not an object");
  if (absl::Status st = CheckKeys(d, "the top level", {"tee", "report", "certs", "collateral"},
                                  {"gpus", "initdata"});
      !st.ok()) {
    return st;
  }
  Evidence ev;
  if (!d["tee"].is_string()) return Bad("tee", "is not a string");
  ev.tee = d["tee"].get<std::string>();
  absl::StatusOr<std::string> report = B64(d, "report", "", kMaxEvidenceReportSize);
  if (!report.ok()) return report.status();
  absl::StatusOr<std::string> certs = B64(d, "certs", "", kMaxEvidenceCertsSize);
  if (!certs.ok()) return certs.status();
  absl::StatusOr<std::string> collateral = B64(d, "collateral", "", kMaxEvidenceCollateralSize);
  if (!collateral.ok()) return collateral.status();
  ev.report = *std::move(report);
  ev.certs = *std::move(certs);
  ev.collateral = *std::move(collateral);

  if (d.contains("gpus")) {
    const Json& g = d["gpus"];
    if (absl::Status st = CheckKeys(g, "gpus", {"cc", "devices"}); !st.ok()) return st;
    const Json& cc = g["cc"];
    if (absl::Status st = CheckKeys(
            cc, "gpus.cc",
            {"environment", "cc_feature", "devtools_mode", "multi_gpu_mode", "gpus_ready"});
        !st.ok()) {
      return st;
    }
    contracts::GpuCcState state;
    uint32_t* fields[] = {&state.environment, &state.cc_feature, &state.devtools_mode,
                          &state.multi_gpu_mode, &state.gpus_ready};
    const char* names[] = {"environment", "cc_feature", "devtools_mode", "multi_gpu_mode",
                           "gpus_ready"};
    for (int i = 0; i < 5; ++i) {
      absl::StatusOr<uint32_t> v = U32(cc, names[i], "gpus.cc");
      if (!v.ok()) return v.status();
      *fields[i] = *v;
    }
    ev.gpu_cc = state;
    const Json& devices = g["devices"];
    if (!devices.is_array()) return Bad("gpus.devices", "is not an array");
    if (devices.size() > contracts::kMaxGpus) {
      return absl::ResourceExhaustedError(
          absl::StrCat(kWhat, ": gpus.devices holds more than ", contracts::kMaxGpus, " GPUs"));
    }
    for (size_t i = 0; i < devices.size(); ++i) {
      const std::string at = absl::StrCat("gpus.devices[", i, "]");
      const Json& dev = devices[i];
      if (absl::Status st = CheckKeys(dev, at, {"uuid", "report", "certs", "rims", "ocsp"});
          !st.ok()) {
        return st;
      }
      GpuEvidence one;
      if (!dev["uuid"].is_string()) return Bad(at + ".uuid", "is not a string");
      one.uuid = dev["uuid"].get<std::string>();
      absl::StatusOr<std::string> r = B64(dev, "report", at, internal::kMaxGpuReportSize);
      if (!r.ok()) return r.status();
      absl::StatusOr<std::string> c = B64(dev, "certs", at, kMaxGpuCertsSize);
      if (!c.ok()) return c.status();
      absl::StatusOr<std::vector<std::string>> rims =
          B64List(dev, "rims", at, kMaxGpuRims, internal::kMaxRimSize);
      if (!rims.ok()) return rims.status();
      absl::StatusOr<std::vector<std::string>> ocsp =
          B64List(dev, "ocsp", at, internal::kMaxOcspResponses, internal::kMaxOcspResponseSize);
      if (!ocsp.ok()) return ocsp.status();
      one.report = *std::move(r);
      one.certs = *std::move(c);
      one.rims = *std::move(rims);
      one.ocsp = *std::move(ocsp);
      ev.gpus.push_back(std::move(one));
    }
  }
  if (d.contains("initdata")) {
    absl::StatusOr<std::string> initdata = B64(d, "initdata", "", measure::kMaxInitDataSize);
    if (!initdata.ok()) return initdata.status();
    ev.initdata = *std::move(initdata);
  }
  if (EvidenceDocument(ev) != text) {
    return absl::InvalidArgumentError(absl::StrCat(
        kWhat,
        ": not in canonical form (compact JSON, keys in the documented order, standard "
        "base64 with padding)"));
  }
  return ev;
}

std::vector<std::string> GpuUuids(const Evidence& evidence) {
  std::vector<std::string> out;
  for (const GpuEvidence& g : evidence.gpus) out.push_back(g.uuid);
  return out;
}

}  // namespace triad::attestation
