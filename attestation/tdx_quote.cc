// TDX DCAP quote parser. Offsets and sizes are those of Intel's "TDX DCAP Quoting Library API",
// Appendix A ("Version 4 Quote Format", "Version 5 Quote Format"); each constant names its table.
// Cross-checked against google/go-tdx-guest abi/abi.go and Intel's QVL QuoteConstants.h.
#include "attestation/internal/tdx_quote.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "attestation/internal/le_reader.h"

namespace triad::attestation::internal {
namespace {

// Table "Quote Header" (48 bytes).
constexpr uint16_t kVersion4 = 4;
constexpr uint16_t kVersion5 = 5;
// Attestation key type 2, "ECDSA-256-with-P-256 curve": the only one defined for TDX.
constexpr uint16_t kAttKeyEcdsaP256 = 2;
constexpr uint32_t kTeeTypeTdx = 0x00000081;
constexpr char kIntelQeVendorId[] =
    "\x93\x9a\x72\x33\xf7\x9c\x4c\xa9\x94\x0a\x0d\xb3\x95\x7f\x06\x07";
// Version 5, table "Quote Body": u16 type, u32 size, then the body.
constexpr uint16_t kBodyTypeTdReport10 = 2;
constexpr uint16_t kBodyTypeTdReport15 = 3;
// Table "QE Certification Data": the outer certification data must be "QE Report Certification
// Data" (type 6), and the one inside it the "Concatenated PCK Cert Chain" (type 5, PEM).
constexpr uint16_t kCertTypeQeReport = 6;
constexpr uint16_t kCertTypePckChain = 5;
constexpr size_t kEcdsaSignatureBytes = 64;
constexpr size_t kEcdsaKeyBytes = 64;

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("TDX quote: ", what));
}

// Table "TD Quote Body" (TD report 1.0, 584 bytes), offsets relative to the body:
//   0x000 TEE_TCB_SVN[16]  0x010 MRSEAM[48]  0x040 MRSIGNERSEAM[48]  0x070 SEAMATTRIBUTES[8]
//   0x078 TDATTRIBUTES[8]  0x080 XFAM[8]     0x088 MRTD[48]          0x0B8 MRCONFIGID[48]
//   0x0E8 MROWNER[48]      0x118 MROWNERCONFIG[48]  0x148 RTMR0..3[4x48]  0x208 REPORTDATA[64]
// TD report 1.5 (648 bytes) appends 0x248 TEE_TCB_SVN2[16] and 0x258 MRSERVICETD[48].
TdReportBody ParseBody(absl::string_view b, bool td15) {
  LeReader r(b);  // the caller passes exactly 584 or 648 bytes, so no read below can fail
  TdReportBody body;
  r.Bytes(16, &body.tee_tcb_svn);
  r.Bytes(48, &body.mr_seam);
  r.Bytes(48, &body.mr_signer_seam);
  r.Bytes(8, &body.seam_attributes);
  r.U64(&body.td_attributes);
  r.U64(&body.xfam);
  r.Bytes(48, &body.mr_td);
  r.Bytes(48, &body.mr_config_id);
  r.Bytes(48, &body.mr_owner);
  r.Bytes(48, &body.mr_owner_config);
  for (std::string& rtmr : body.rtmr) r.Bytes(48, &rtmr);
  r.Bytes(64, &body.report_data);
  body.is_td15 = td15;
  if (td15) {
    r.Bytes(16, &body.tee_tcb_svn2);
    r.Bytes(48, &body.mr_service_td);
  }
  return body;
}

// SGX REPORT body (the QE report; Intel SGX SDK sgx_report_body_t, 384 bytes):
//   0 CPUSVN[16]  16 MISCSELECT[4]  48 ATTRIBUTES[16]  64 MRENCLAVE[32]  128 MRSIGNER[32]
//   256 ISVPRODID u16  258 ISVSVN u16  320 REPORTDATA[64]
SgxReportBody ParseSgxReport(const std::string& raw) {
  SgxReportBody rep;
  rep.raw = raw;
  rep.cpu_svn = raw.substr(0, 16);
  rep.misc_select = raw.substr(16, 4);
  rep.attributes = raw.substr(48, 16);
  rep.mr_enclave = raw.substr(64, 32);
  rep.mr_signer = raw.substr(128, 32);
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  rep.isv_prod_id = static_cast<uint16_t>(p[256] | (p[257] << 8));
  rep.isv_svn = static_cast<uint16_t>(p[258] | (p[259] << 8));
  rep.report_data = raw.substr(320, 64);
  return rep;
}

// Table "QE Report Certification Data" (certification data type 6):
//   [384] QE report  [64] QE report signature  u16 QE auth data size, data
//   then a nested "QE Certification Data": u16 type, u32 size, data (type 5: PEM chain).
// The nested structure must fill the type-6 data exactly (Intel's QVL checks the same).
absl::Status ParseQeReportCertificationData(absl::string_view data, TdxQuote* quote) {
  LeReader r(data);
  std::string qe_report;
  if (!r.Bytes(kSgxReportBytes, &qe_report) ||
      !r.Bytes(kEcdsaSignatureBytes, &quote->qe_report_signature)) {
    return Malformed(
        "QE report certification data is shorter than the QE report and its signature");
  }
  quote->qe_report = ParseSgxReport(qe_report);
  uint16_t auth_size = 0;
  if (!r.U16(&auth_size) || !r.Bytes(auth_size, &quote->qe_auth_data)) {
    return Malformed("QE authentication data runs past the QE report certification data");
  }
  uint16_t type = 0;
  uint32_t size = 0;
  if (!r.U16(&type) || !r.U32(&size)) {
    return Malformed("QE report certification data has no nested certification data header");
  }
  if (type != kCertTypePckChain) {
    return Malformed(absl::StrCat("QE certification data type ", type,
                                  " is not supported; only 5 (PCK certificate chain) is"));
  }
  if (size != r.remaining()) {
    return Malformed(absl::StrCat("PCK certificate chain size ", size, " does not match the ",
                                  r.remaining(),
                                  " bytes left in the QE report certification data"));
  }
  r.Bytes(size, &quote->pck_chain_pem);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TdxQuote> ParseTdxQuote(absl::string_view bytes) {
  if (bytes.size() > kTdxMaxQuoteBytes) {
    return Malformed(absl::StrCat(bytes.size(), " bytes is more than the ", kTdxMaxQuoteBytes,
                                  " a quote may have"));
  }
  LeReader r(bytes);
  TdxQuote q;
  // Table "Quote Header": 0 u16 version, 2 u16 attestation key type, 4 u32 TEE type,
  // 8 u16 + 10 u16 reserved, 12 QE vendor ID[16], 28 user data[20].
  uint16_t version = 0, key_type = 0, reserved1 = 0, reserved2 = 0;
  uint32_t tee_type = 0;
  if (!r.U16(&version) || !r.U16(&key_type) || !r.U32(&tee_type) || !r.U16(&reserved1) ||
      !r.U16(&reserved2) || !r.Bytes(16, &q.qe_vendor_id) || !r.Bytes(20, &q.user_data)) {
    return Malformed(absl::StrCat(bytes.size(), " bytes is shorter than the 48-byte header"));
  }
  if (version != kVersion4 && version != kVersion5) {
    return Malformed(absl::StrCat("version ", version, " is not supported; only 4 and 5 are"));
  }
  if (key_type != kAttKeyEcdsaP256) {
    return Malformed(absl::StrCat("attestation key type ", key_type,
                                  " is not supported; only 2 (ECDSA P-256) is"));
  }
  if (tee_type != kTeeTypeTdx) {
    return Malformed(absl::StrCat("TEE type 0x", absl::Hex(tee_type), " is not TDX (0x81)"));
  }
  if (q.qe_vendor_id != absl::string_view(kIntelQeVendorId, 16)) {
    return Malformed("QE vendor ID is not Intel's (939A7233F79C4CA9940A0DB3957F0607)");
  }
  q.version = version;

  size_t body_size = kTdReport10Bytes;
  q.body_type = kBodyTypeTdReport10;
  if (version == kVersion5) {
    uint16_t body_type = 0;
    uint32_t declared = 0;
    if (!r.U16(&body_type) || !r.U32(&declared)) {
      return Malformed("version 5 quote ends before its body type and size");
    }
    if (body_type == kBodyTypeTdReport10) {
      body_size = kTdReport10Bytes;
    } else if (body_type == kBodyTypeTdReport15) {
      body_size = kTdReport15Bytes;
    } else {
      return Malformed(absl::StrCat("body type ", body_type,
                                    " is not a TD report (2: TD report 1.0, 3: TD report 1.5)"));
    }
    if (declared != body_size) {
      return Malformed(absl::StrCat("body size ", declared, " does not match body type ", body_type,
                                    " (", body_size, " bytes)"));
    }
    q.body_type = body_type;
  }
  std::string body;
  if (!r.Bytes(body_size, &body)) {
    return Malformed(absl::StrCat("quote ends inside its ", body_size, "-byte TD report body"));
  }
  q.body = ParseBody(body, q.body_type == kBodyTypeTdReport15);
  q.signed_part.assign(bytes.data(), r.pos());

  // Table "Quote Signature Data": u32 length, then "ECDSA 256-bit Quote Signature Data Structure -
  // Version 4" (also used by version 5): [64] signature, [64] attestation key, then "QE
  // Certification Data": u16 type, u32 size, data. The declared lengths must agree exactly.
  uint32_t sig_len = 0;
  if (!r.U32(&sig_len)) return Malformed("quote ends before the signature data length");
  std::string sig_data;
  if (!r.Bytes(sig_len, &sig_data)) {
    return Malformed(absl::StrCat("signature data length ", sig_len, " runs past the end of the ",
                                  bytes.size(), "-byte quote"));
  }
  LeReader s(sig_data);
  uint16_t cert_type = 0;
  uint32_t cert_size = 0;
  if (!s.Bytes(kEcdsaSignatureBytes, &q.signature) ||
      !s.Bytes(kEcdsaKeyBytes, &q.attestation_key) || !s.U16(&cert_type) || !s.U32(&cert_size)) {
    return Malformed("signature data is shorter than the signature, key and certification header");
  }
  if (cert_type != kCertTypeQeReport) {
    return Malformed(absl::StrCat("certification data type ", cert_type,
                                  " is not supported; only 6 (QE report certification data) is"));
  }
  if (cert_size != s.remaining()) {
    return Malformed(absl::StrCat("certification data size ", cert_size, " does not match the ",
                                  s.remaining(), " bytes left in the signature data"));
  }
  std::string cert_data;
  s.Bytes(cert_size, &cert_data);
  absl::Status st = ParseQeReportCertificationData(cert_data, &q);
  if (!st.ok()) return st;
  return q;
}

}  // namespace triad::attestation::internal
