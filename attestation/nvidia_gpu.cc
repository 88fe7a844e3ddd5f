#include "attestation/nvidia_gpu.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attestation/internal/nvidia_spdm.h"
#include "attestation/internal/x509_check.h"
#include "base/encoding.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation {
namespace {

using crypto::SslPtr;

constexpr size_t kMaxChainCerts = 8;
constexpr size_t kFwidSize = 48;
constexpr uint8_t kSignatureRequested = 0x01;  // GET_MEASUREMENTS param1 bit 0
constexpr char kDiceTcbInfoOid[] = "2.23.133.5.4.1";

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

GpuClaims ClaimsOf(const internal::SpdmReport& rep, X509* device, bool fwid_bound) {
  GpuClaims c;
  c.nonce = rep.nonce;
  c.driver_version = Text(rep.Opaque(internal::kOpaqueDriverVersion));
  c.vbios_version = VbiosVersion(rep.Opaque(internal::kOpaqueVbiosVersion));
  c.chip_sku = Text(rep.Opaque(internal::kOpaqueChipSku));
  c.project = Text(rep.Opaque(internal::kOpaqueProject));
  c.project_sku = Text(rep.Opaque(internal::kOpaqueProjectSku));
  c.device_certificate = internal::CommonName(device);
  if (const std::string* fwid = rep.Opaque(internal::kOpaqueFwid)) c.fwid = *fwid;
  c.fwid_bound = fwid_bound;
  for (const internal::SpdmMeasurement& m : rep.measurements) {
    c.measurements.emplace_back(m.index, m.value);
  }
  return c;
}

}  // namespace

nlohmann::ordered_json GpuClaims::ToJson() const {
  nlohmann::ordered_json blocks = nlohmann::ordered_json::array();
  for (const auto& [index, value] : measurements) {
    blocks.push_back({{"index", index}, {"value", base::HexEncode(value)}});
  }
  return {{"nonce", base::HexEncode(nonce)},
          {"driver_version", driver_version},
          {"vbios_version", vbios_version},
          {"chip_sku", chip_sku},
          {"project", project},
          {"project_sku", project_sku},
          {"device_certificate", device_certificate},
          {"fwid", base::HexEncode(fwid)},
          {"fwid_bound", fwid_bound},
          {"measurements", std::move(blocks)}};
}

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

GpuVerdict VerifyNvidiaGpuReport(absl::string_view report, absl::string_view cert_chain_pem,
                                 const TrustAnchors& anchors, absl::Time now) {
  GpuVerdict v;
  auto fail = [&v](std::string reason) { v.reasons.push_back(std::move(reason)); };

  absl::StatusOr<internal::SpdmReport> rep = internal::ParseSpdmReport(report);
  if (!rep.ok()) {
    fail(std::string(rep.status().message()));
    return v;
  }
  if ((rep->request_param1 & kSignatureRequested) == 0) {
    fail("the GET_MEASUREMENTS request did not ask for a signature");
  }

  // The chain, to the pinned root.
  absl::StatusOr<std::vector<SslPtr<X509>>> root_certs =
      internal::ParsePemCertificates(anchors.nvidia_device_identity_ca, 1);
  absl::StatusOr<std::vector<SslPtr<X509>>> certs =
      internal::ParsePemCertificates(cert_chain_pem, kMaxChainCerts);
  X509* device = nullptr;
  if (!root_certs.ok() || root_certs->size() != 1) {
    fail("no pinned NVIDIA Device Identity CA (nvidia_device_identity_ca.pem in the roots)");
  } else if (!certs.ok()) {
    fail(absl::StrCat("GPU certificate chain: ", certs.status().message()));
  } else if (certs->empty()) {
    fail("GPU certificate chain: no certificate");
  } else {
    X509* root = (*root_certs)[0].get();
    std::vector<X509*> intermediates;
    for (size_t i = 1; i < certs->size(); ++i) {
      X509* c = (*certs)[i].get();
      if (X509_cmp(c, root) == 0) continue;  // a copy of the pinned root
      if (X509_check_issued(c, c) == X509_V_OK) {
        fail(absl::StrCat("GPU certificate chain: certificate ", i + 1, " ",
                          internal::QuotedName(c), " is a root that is not the pinned one"));
      }
      intermediates.push_back(c);
    }
    X509* first = (*certs)[0].get();
    SslPtr<X509_STORE> store(X509_STORE_new());
    if (X509_cmp(first, root) == 0) {
      fail("GPU certificate chain: it holds only the root; the GPU's device certificate is missing");
    } else if (X509_check_ca(first) != 0) {
      fail(absl::StrCat("GPU certificate chain: the first certificate ", internal::QuotedName(first),
                        " is a CA certificate, not the GPU's device certificate"));
    } else if (store == nullptr || X509_STORE_add_cert(store.get(), root) != 1) {
      crypto::ClearOpenSslErrors();
      fail("GPU certificate chain: cannot set up certificate verification");
    } else {
      std::vector<std::string> errors =
          internal::VerifyPath(store.get(), first, intermediates, now, nullptr);
      for (const std::string& e : errors) fail(absl::StrCat("GPU certificate chain: ", e));
      device = first;
    }
  }

  bool fwid_bound = false;
  if (device != nullptr) {
    EVP_PKEY* key = X509_get0_pubkey(device);
    if (!internal::IsEcKey(key, "secp384r1")) {
      fail(absl::StrCat("the device certificate ", internal::QuotedName(device),
                        " does not hold an ECDSA P-384 key"));
    } else if (!internal::VerifyEcdsaRaw(key, EVP_sha384(), rep->signed_part, rep->signature)) {
      fail(absl::StrCat("the report signature does not verify with the key of ",
                        internal::QuotedName(device)));
    }
    const ASN1_OCTET_STRING* tcb_info = DiceTcbInfo(device);
    const std::string* fwid = rep->Opaque(internal::kOpaqueFwid);
    if (fwid != nullptr && fwid->size() != kFwidSize) {
      fail(absl::StrCat("the report's FWID is ", fwid->size(), " bytes, not ", kFwidSize));
    } else if (tcb_info != nullptr && fwid != nullptr) {
      absl::string_view ext(reinterpret_cast<const char*>(ASN1_STRING_get0_data(tcb_info)),
                            static_cast<size_t>(ASN1_STRING_length(tcb_info)));
      if (ext.size() < kFwidSize || ext.substr(ext.size() - kFwidSize) != *fwid) {
        fail(absl::StrCat("the report's FWID ", base::HexEncode(fwid->substr(0, 8)),
                          "… is not the one in the device certificate ",
                          internal::QuotedName(device)));
      } else {
        fwid_bound = true;
      }
    }
  }
  if (!v.reasons.empty()) return v;
  v.valid = true;
  v.claims = ClaimsOf(*rep, device, fwid_bound);
  return v;
}

}  // namespace triad::attestation
