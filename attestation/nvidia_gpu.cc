#include "attestation/nvidia_gpu.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "attestation/internal/nvidia_rim.h"
#include "attestation/internal/nvidia_spdm.h"
#include "attestation/internal/revocation.h"
#include "attestation/internal/x509_check.h"
#include "base/encoding.h"
#include "crypto/hash.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation {
namespace {

using crypto::SslPtr;

constexpr size_t kMaxChainCerts = 8;
constexpr size_t kFwidSize = 48;
constexpr uint8_t kSignatureRequested = 0x01;  // GET_MEASUREMENTS param1 bit 0
constexpr char kDiceTcbInfoOid[] = "2.23.133.5.4.1";
// NVIDIA's opaque field 11 (NVDEC0 status): 0x55 when NVDEC0 is disabled, and then RIM index 35
// (which measures it) is not compared (local GPU verifier, config.py NVDEC_STATUS, verifier.py).
constexpr uint16_t kOpaqueNvdec0Status = 11;
constexpr uint8_t kNvdec0Disabled = 0x55;
constexpr uint32_t kNvdec0RimIndex = 35;

// Opaque text fields are NUL-padded ASCII; anything else is shown in hex.
std::string Text(const std::string* value) {
  if (value == nullptr) return "";
  absl::string_view v = *value;
  while (!v.empty() && v.back() == '\0') v.remove_suffix(1);
  for (char c : v) {
    if (!absl::ascii_isprint(static_cast<unsigned char>(c))) {
      return absl::StrCat("0x", base::HexEncode(*value));
    }
  }
  return std::string(v);
}

// VBIOS version bytes b0..b7 as NVIDIA prints them: b3.b2.b1.b0.b4 in upper-case hex.
std::string VbiosVersion(const std::string* value) {
  if (value == nullptr || value->size() != 8) return Text(value);
  const auto* b = reinterpret_cast<const unsigned char*>(value->data());
  return absl::StrFormat("%02X.%02X.%02X.%02X.%02X", b[3], b[2], b[1], b[0], b[4]);
}

// The value of the certificate's DICE TcbInfo extension (the DER of its TcbInfo), or null.
const ASN1_OCTET_STRING* DiceTcbInfo(X509* cert) {
  SslPtr<ASN1_OBJECT> oid(OBJ_txt2obj(kDiceTcbInfoOid, 1));
  if (oid == nullptr) return nullptr;
  int at = X509_get_ext_by_OBJ(cert, oid.get(), -1);
  if (at < 0) return nullptr;
  return X509_EXTENSION_get_data(X509_get_ext(cert, at));
}

// "GH100 A01 GSP FMC LF" -> "GH100"; the architecture from NVIDIA's chip names (GH: Hopper,
// GB: Blackwell).
std::string Chip(const std::string& device_cn) { return device_cn.substr(0, device_cn.find(' ')); }
std::string Architecture(absl::string_view chip) {
  if (absl::StartsWith(chip, "GH")) return "hopper";
  if (absl::StartsWith(chip, "GB")) return "blackwell";
  return "";
}

std::string Short(absl::string_view bytes) {
  return absl::StrCat(base::HexEncode(bytes.substr(0, 8)), "…");
}

// The checks of one report, collecting every reason.
class GpuCheck {
 public:
  GpuCheck(const TrustAnchors& anchors, absl::Time now) : anchors_(anchors), now_(now) {}

  void Fail(std::string reason) { reasons_.push_back(std::move(reason)); }
  std::vector<std::string>& reasons() { return reasons_; }

  // Verifies `certs` (leaf first) to the pinned root in `root_pem`; the verified path (leaf first,
  // root last) when it holds, empty otherwise.
  std::vector<X509*> CheckChain(const std::string& root_pem, const std::vector<X509*>& certs,
                                absl::string_view what, absl::string_view root_name) {
    absl::StatusOr<std::vector<SslPtr<X509>>> root_certs =
        internal::ParsePemCertificates(root_pem, 1);
    if (!root_certs.ok() || root_certs->size() != 1) {
      Fail(absl::StrCat("no pinned ", root_name));
      return {};
    }
    X509* root = (*root_certs)[0].get();
    if (certs.empty()) {
      Fail(absl::StrCat(what, ": no certificate"));
      return {};
    }
    bool ok = true;
    std::vector<X509*> intermediates;
    for (size_t i = 1; i < certs.size(); ++i) {
      X509* c = certs[i];
      if (X509_cmp(c, root) == 0) continue;  // a copy of the pinned root
      if (X509_check_issued(c, c) == X509_V_OK) {
        Fail(absl::StrCat(what, ": certificate ", i + 1, " ", internal::QuotedName(c),
                          " is a root that is not the pinned one"));
        ok = false;
      }
      intermediates.push_back(c);
    }
    X509* first = certs[0];
    if (X509_cmp(first, root) == 0) {
      Fail(absl::StrCat(what, ": it holds only the root; the ", leaf_role_,
                        " certificate is missing"));
      return {};
    }
    if (X509_check_ca(first) != 0) {
      Fail(absl::StrCat(what, ": the first certificate ", internal::QuotedName(first),
                        " is a CA certificate, not the ", leaf_role_, " certificate"));
      return {};
    }
    SslPtr<X509_STORE> store(X509_STORE_new());
    if (store == nullptr || X509_STORE_add_cert(store.get(), root) != 1) {
      crypto::ClearOpenSslErrors();
      Fail(absl::StrCat(what, ": cannot set up certificate verification"));
      return {};
    }
    std::vector<X509*> path;
    std::vector<std::string> errors =
        internal::VerifyPath(store.get(), first, intermediates, now_, &path);
    for (const std::string& e : errors) Fail(absl::StrCat(what, ": ", e));
    if (!errors.empty() || !ok) return {};
    // The path's root is the store's copy; keep it alive with the path.
    roots_.push_back(std::move((*root_certs)[0]));
    return path;
  }
  void set_leaf_role(absl::string_view role) { leaf_role_ = std::string(role); }

  // OCSP for path[from] .. path[size - 2], each by its issuer: "good" when every one is covered
  // and good, "not checked" when none is covered, "incomplete" otherwise. A revoked, unknown or
  // untrustworthy answer is a reason.
  std::string CheckPathOcsp(const std::vector<SslPtr<OCSP_BASICRESP>>& responses,
                            const std::vector<X509*>& path, size_t from, absl::string_view what) {
    size_t needed = 0;
    size_t good = 0;
    for (size_t i = from; i + 1 < path.size(); ++i) {
      ++needed;
      const std::string name = absl::StrCat(what, " certificate ", internal::QuotedName(path[i]));
      internal::OcspCheck c = internal::CheckOcsp(responses, path[i], path[i + 1], now_, name);
      for (std::string& p : c.problems) Fail(std::move(p));
      switch (c.status) {
        case internal::CertStatus::kGood:
          ++good;
          break;
        case internal::CertStatus::kRevoked:
          Fail(absl::StrCat(name, " is revoked (OCSP)"));
          break;
        case internal::CertStatus::kUnknown:
          Fail(absl::StrCat(name, ": the OCSP responder does not know it (status unknown)"));
          break;
        case internal::CertStatus::kNotCovered:
          break;
      }
    }
    if (needed > 0 && good == needed) return "good";
    return good == 0 ? "not checked" : "incomplete";
  }

  // The OCSP responses, or none (and a reason) when they do not parse.
  std::vector<SslPtr<OCSP_BASICRESP>> ParseOcsp(const std::vector<std::string>& der) {
    absl::StatusOr<std::vector<SslPtr<OCSP_BASICRESP>>> parsed = internal::ParseOcspResponses(der);
    if (parsed.ok()) return *std::move(parsed);
    Fail(std::string(parsed.status().message()));
    return {};
  }

  const TrustAnchors& anchors() const { return anchors_; }
  absl::Time now() const { return now_; }

 private:
  const TrustAnchors& anchors_;
  absl::Time now_;
  std::string leaf_role_ = "leaf";
  std::vector<SslPtr<X509>> roots_;
  std::vector<std::string> reasons_;
};

// Verifies a parsed RIM's signer chain (to the pinned CoRIM root), its XML signature and the OCSP
// responses about its chain. Fills `claims` (signer, revocation, version, tag id); false with
// reasons when the RIM cannot be trusted.
bool VerifyRimDocument(GpuCheck& check, const std::string& xml, const internal::Rim& rim,
                       const std::string& label,
                       const std::vector<SslPtr<OCSP_BASICRESP>>& ocsp,
                       contracts::GpuRimClaims& claims) {
  std::vector<SslPtr<X509>> owned;
  std::vector<X509*> certs;
  for (const std::string& der : rim.certificates) {
    absl::StatusOr<SslPtr<X509>> c = internal::ParseDerCertificate(der, owned.size() + 1);
    if (!c.ok()) {
      check.Fail(absl::StrCat(label, " signer certificates: ", c.status().message()));
      return false;
    }
    certs.push_back(c->get());
    owned.push_back(*std::move(c));
  }
  check.set_leaf_role("RIM signing");
  std::vector<X509*> path = check.CheckChain(
      check.anchors().nvidia_corim_signing_root_ca, certs, absl::StrCat(label, " certificate chain"),
      "NVIDIA CoRIM signing Root CA (nvidia_corim_signing_root_ca.pem in the roots)");
  if (path.empty()) return false;
  absl::Status sig = internal::VerifyRimSignature(xml, X509_get0_pubkey(path[0]));
  if (!sig.ok()) {
    check.Fail(absl::StrCat(label, ": ", sig.message(), " with the key of ",
                            internal::QuotedName(path[0])));
    return false;
  }
  claims.revocation = check.CheckPathOcsp(ocsp, path, 0, label);
  claims.version = rim.version;
  claims.tag_id = rim.tag_id;
  claims.signer = internal::CommonName(path[0]);
  return true;
}

// A RIM that verified, with what it says.
struct VerifiedRim {
  std::string label;  // "driver RIM 550.144.03"
  internal::Rim rim;
  contracts::GpuRimClaims claims;
};

// Verifies one RIM document as the driver's or the VBIOS's of this GPU; nullopt (with reasons)
// when it is not usable.
std::optional<VerifiedRim> CheckRim(GpuCheck& check, const std::string& xml, size_t n,
                                    const contracts::GpuClaims& gpu,
                                    const std::vector<SslPtr<OCSP_BASICRESP>>& ocsp) {
  absl::StatusOr<internal::Rim> rim = internal::ParseRim(xml);
  if (!rim.ok()) {
    check.Fail(absl::StrCat("RIM ", n, ": ", rim.status().message()));
    return std::nullopt;
  }
  VerifiedRim v;
  const std::string version = absl::AsciiStrToLower(rim->version);
  if (version == absl::AsciiStrToLower(gpu.driver_version)) {
    v.claims.kind = "driver";
  } else if (version == absl::AsciiStrToLower(gpu.vbios_version)) {
    v.claims.kind = "vbios";
  } else {
    check.Fail(absl::StrCat("RIM ", n, " is for version ", rim->version,
                            ", neither this GPU's driver ", gpu.driver_version, " nor its VBIOS ",
                            gpu.vbios_version));
    return std::nullopt;
  }
  v.label = absl::StrCat(v.claims.kind == "driver" ? "driver" : "VBIOS", " RIM ", rim->version);
  bool ok = true;
  if (rim->product != gpu.chip) {
    check.Fail(absl::StrCat(v.label, " is for product \"", rim->product, "\", not this GPU's ",
                            gpu.chip));
    ok = false;
  }
  if (!VerifyRimDocument(check, xml, *rim, v.label, ocsp, v.claims) || !ok) return std::nullopt;
  v.rim = *std::move(rim);
  return v;
}

// NVIDIA's comparison: the active indices of the driver and VBIOS RIMs together, each RIM index i
// against SPDM block i + 1. Returns whether every one matched.
bool CompareMeasurements(GpuCheck& check, const std::vector<VerifiedRim>& rims,
                         const internal::SpdmReport& rep) {
  std::map<uint32_t, const VerifiedRim*> owner;
  bool conflict = false;
  for (const VerifiedRim& r : rims) {
    for (const internal::RimMeasurement& m : r.rim.measurements) {
      if (!m.active) continue;
      auto [it, fresh] = owner.emplace(m.index, &r);
      if (!fresh) {
        check.Fail(absl::StrCat("measurement index ", m.index, " is active in both the ",
                                it->second->label, " and the ", r.label));
        conflict = true;
      }
    }
  }
  const std::string* nvdec = rep.Opaque(kOpaqueNvdec0Status);
  const bool skip_nvdec = nvdec != nullptr && nvdec->size() >= 1 &&
                          static_cast<uint8_t>((*nvdec)[0]) == kNvdec0Disabled;
  std::map<int, const std::string*> blocks;
  for (const internal::SpdmMeasurement& b : rep.measurements) blocks.emplace(b.index, &b.value);
  bool all = !conflict;
  for (const VerifiedRim& r : rims) {
    for (const internal::RimMeasurement& m : r.rim.measurements) {
      if (!m.active || (skip_nvdec && m.index == kNvdec0RimIndex)) continue;
      auto b = blocks.find(static_cast<int>(m.index) + 1);
      if (b == blocks.end()) {
        check.Fail(absl::StrCat(r.label, ": measurement index ", m.index, " has no block ",
                                m.index + 1, " in the report"));
        all = false;
        continue;
      }
      bool match = false;
      for (const std::string& alt : m.values) match = match || alt == *b->second;
      if (!match) {
        std::vector<std::string> allowed;
        for (const std::string& alt : m.values) allowed.push_back(Short(alt));
        check.Fail(absl::StrCat(r.label, ": measurement index ", m.index, " (block ", m.index + 1,
                                ") is ", Short(*b->second), ", the RIM allows ",
                                absl::StrJoin(allowed, " or ")));
        all = false;
      }
    }
  }
  return all;
}

}  // namespace

absl::StatusOr<std::string> GpuReportBytes(absl::string_view file) {
  absl::string_view text = absl::StripAsciiWhitespace(file);
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::string(file);  // binary
  }
  absl::StatusOr<std::string> bytes = base::HexDecode(text);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the GPU report is hex text of odd length (", text.size(), " digits)"));
  }
  return bytes;
}

GpuVerdict VerifyNvidiaGpu(absl::string_view report, absl::string_view cert_chain_pem,
                           const GpuCollateral& collateral, const TrustAnchors& anchors,
                           absl::Time now) {
  GpuVerdict v;
  GpuCheck check(anchors, now);

  absl::StatusOr<internal::SpdmReport> rep = internal::ParseSpdmReport(report);
  if (!rep.ok()) {
    v.reasons.push_back(std::string(rep.status().message()));
    return v;
  }
  if ((rep->request_param1 & kSignatureRequested) == 0) {
    check.Fail("the GET_MEASUREMENTS request did not ask for a signature");
  }

  // The device chain, to the pinned root.
  absl::StatusOr<std::vector<SslPtr<X509>>> certs =
      internal::ParsePemCertificates(cert_chain_pem, kMaxChainCerts);
  std::vector<X509*> path;
  if (anchors.nvidia_device_identity_ca.empty()) {
    check.Fail("no pinned NVIDIA Device Identity CA (nvidia_device_identity_ca.pem in the roots)");
  } else if (!certs.ok()) {
    check.Fail(absl::StrCat("GPU certificate chain: ", certs.status().message()));
  } else {
    std::vector<X509*> raw;
    for (const SslPtr<X509>& c : *certs) raw.push_back(c.get());
    check.set_leaf_role("GPU's device");
    path = check.CheckChain(anchors.nvidia_device_identity_ca, raw, "GPU certificate chain",
                            "NVIDIA Device Identity CA (nvidia_device_identity_ca.pem in the roots)");
  }
  X509* device = path.empty() ? nullptr : path[0];

  GpuClaims c;
  bool fwid_bound = false;
  if (device != nullptr) {
    EVP_PKEY* key = X509_get0_pubkey(device);
    if (!internal::IsEcKey(key, "secp384r1")) {
      check.Fail(absl::StrCat("the device certificate ", internal::QuotedName(device),
                              " does not hold an ECDSA P-384 key"));
    } else if (!internal::VerifyEcdsaRaw(key, EVP_sha384(), rep->signed_part, rep->signature)) {
      check.Fail(absl::StrCat("the report signature does not verify with the key of ",
                              internal::QuotedName(device)));
    }
    const ASN1_OCTET_STRING* tcb_info = DiceTcbInfo(device);
    const std::string* fwid = rep->Opaque(internal::kOpaqueFwid);
    if (fwid != nullptr && fwid->size() != kFwidSize) {
      check.Fail(absl::StrCat("the report's FWID is ", fwid->size(), " bytes, not ", kFwidSize));
    } else if (tcb_info != nullptr && fwid != nullptr) {
      absl::string_view ext(reinterpret_cast<const char*>(ASN1_STRING_get0_data(tcb_info)),
                            static_cast<size_t>(ASN1_STRING_length(tcb_info)));
      if (ext.size() < kFwidSize || ext.substr(ext.size() - kFwidSize) != *fwid) {
        check.Fail(absl::StrCat("the report's FWID ", Short(*fwid),
                                " is not the one in the device certificate ",
                                internal::QuotedName(device)));
      } else {
        fwid_bound = true;
      }
    }
    c.device_certificate = internal::CommonName(device);
    c.chip = Chip(c.device_certificate);
    c.architecture = Architecture(c.chip);
    if (path.size() >= 2) c.device_id = crypto::Sha256(internal::CertificateDer(path[1]));
  }
  c.report_digest = crypto::Sha384(report);
  c.nonce = rep->nonce;
  c.driver_version = Text(rep->Opaque(internal::kOpaqueDriverVersion));
  c.vbios_version = VbiosVersion(rep->Opaque(internal::kOpaqueVbiosVersion));
  c.chip_sku = Text(rep->Opaque(internal::kOpaqueChipSku));
  c.project = Text(rep->Opaque(internal::kOpaqueProject));
  c.project_sku = Text(rep->Opaque(internal::kOpaqueProjectSku));
  if (const std::string* fwid = rep->Opaque(internal::kOpaqueFwid)) c.fwid = *fwid;
  c.fwid_bound = fwid_bound;
  c.trailing_zero_bytes = static_cast<uint32_t>(rep->trailing_zero_bytes);
  for (const internal::SpdmMeasurement& m : rep->measurements) {
    c.measurements.emplace_back(m.index, m.value);
  }

  // Collateral: OCSP for the device chain (not the device certificate, which the GPU's own
  // identity issues at boot and no responder knows: NVIDIA's verifier starts at index 1), then
  // the RIMs with their chains.
  std::vector<SslPtr<OCSP_BASICRESP>> ocsp = check.ParseOcsp(collateral.ocsp);
  if (!path.empty()) c.device_revocation = check.CheckPathOcsp(ocsp, path, 1, "GPU");
  if (collateral.rims.size() > kMaxGpuRims) {
    check.Fail(absl::StrCat(collateral.rims.size(), " RIMs, more than ", kMaxGpuRims));
  } else if (device != nullptr) {
    std::vector<VerifiedRim> rims;
    bool all_rims_ok = true;
    for (size_t i = 0; i < collateral.rims.size(); ++i) {
      std::optional<VerifiedRim> r = CheckRim(check, collateral.rims[i], i + 1, c, ocsp);
      if (!r) {
        all_rims_ok = false;
        continue;
      }
      bool duplicate = false;
      for (const VerifiedRim& seen : rims) duplicate = duplicate || seen.claims.kind == r->claims.kind;
      if (duplicate) {
        check.Fail(absl::StrCat("RIM ", i + 1, " is a second ",
                                r->claims.kind == "driver" ? "driver" : "VBIOS",
                                " RIM; at most one of each may be given"));
        all_rims_ok = false;
        continue;
      }
      rims.push_back(*std::move(r));
    }
    bool matched = CompareMeasurements(check, rims, *rep);
    bool driver = false;
    bool vbios = false;
    for (const VerifiedRim& r : rims) {
      driver = driver || r.claims.kind == "driver";
      vbios = vbios || r.claims.kind == "vbios";
      c.rims.push_back(r.claims);
    }
    c.measurements_match = matched && all_rims_ok && driver && vbios;
  }

  if (!check.reasons().empty()) {
    v.reasons = std::move(check.reasons());
    return v;
  }
  v.valid = true;
  v.claims = std::move(c);
  return v;
}

GpuVerdict VerifyNvidiaGpuReport(absl::string_view report, absl::string_view cert_chain_pem,
                                 const TrustAnchors& anchors, absl::Time now) {
  return VerifyNvidiaGpu(report, cert_chain_pem, GpuCollateral(), anchors, now);
}

RimVerdict VerifyNvidiaRim(absl::string_view xml, const std::vector<std::string>& ocsp_der,
                           const TrustAnchors& anchors, absl::Time now) {
  RimVerdict v;
  GpuCheck check(anchors, now);
  absl::StatusOr<internal::Rim> rim = internal::ParseRim(xml);
  if (!rim.ok()) {
    v.reasons.push_back(std::string(rim.status().message()));
    return v;
  }
  std::vector<SslPtr<OCSP_BASICRESP>> ocsp = check.ParseOcsp(ocsp_der);
  const std::string label = absl::StrCat("RIM ", rim->version);
  contracts::GpuRimClaims claims;
  bool ok = VerifyRimDocument(check, std::string(xml), *rim, label, ocsp, claims);
  if (!ok || !check.reasons().empty()) {
    v.reasons = std::move(check.reasons());
    return v;
  }
  v.valid = true;
  v.version = claims.version;
  v.product = rim->product;
  v.tag_id = claims.tag_id;
  v.signer = claims.signer;
  v.revocation = claims.revocation;
  for (const internal::RimMeasurement& m : rim->measurements) v.active_indices += m.active ? 1 : 0;
  return v;
}

}  // namespace triad::attestation
