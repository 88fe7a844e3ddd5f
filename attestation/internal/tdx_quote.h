// Parser of Intel TDX DCAP quotes, versions 4 and 5 (private to attestation/).
//
// The layout is the one of Intel's "TDX DCAP Quoting Library API" (Appendix A, "Version 4 Quote
// Format" and "Version 5 Quote Format"); the .cc cites the table of every offset. Parsing checks
// structure only: lengths, fixed values (version, key type, TEE type, QE vendor, body type,
// certification data types). No signature is checked here; see attestation/tdx.cc.
//
// All multi-byte integers in a quote are little-endian.
#ifndef TRIAD_ATTESTATION_INTERNAL_TDX_QUOTE_H_
#define TRIAD_ATTESTATION_INTERNAL_TDX_QUOTE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace triad::attestation::internal {

// Larger inputs are rejected before parsing. Real quotes are about 5 KB (8 KB with the padding some
// quote generators leave).
inline constexpr size_t kTdxMaxQuoteBytes = 128 * 1024;

inline constexpr size_t kTdxHeaderBytes = 48;
inline constexpr size_t kTdReport10Bytes = 584;
inline constexpr size_t kTdReport15Bytes = 648;
inline constexpr size_t kSgxReportBytes = 384;

// The TD report body ("TD Quote Body"), TD report 1.0 fields and the two 1.5 additions.
struct TdReportBody {
  std::string tee_tcb_svn;      // 16: [0] TDX module ISVSVN, [1] module major version, ...
  std::string mr_seam;          // 48
  std::string mr_signer_seam;   // 48
  std::string seam_attributes;  // 8, raw
  uint64_t td_attributes = 0;   // bit 0: DEBUG
  uint64_t xfam = 0;
  std::string mr_td;                // 48
  std::string mr_config_id;         // 48
  std::string mr_owner;             // 48
  std::string mr_owner_config;      // 48
  std::array<std::string, 4> rtmr;  // 4 x 48
  std::string report_data;          // 64
  bool is_td15 = false;             // TD report 1.5: the fields below are set
  std::string tee_tcb_svn2;         // 16
  std::string mr_service_td;        // 48
};

// The QE report: an SGX REPORT body (384 bytes).
struct SgxReportBody {
  std::string raw;          // all 384 bytes, as signed by the PCK
  std::string cpu_svn;      // 16
  std::string misc_select;  // 4, raw (little-endian u32)
  std::string attributes;   // 16, raw
  std::string mr_enclave;   // 32
  std::string mr_signer;    // 32
  uint16_t isv_prod_id = 0;
  uint16_t isv_svn = 0;
  std::string report_data;  // 64
};

struct TdxQuote {
  uint16_t version = 0;      // 4 or 5
  uint16_t body_type = 0;    // 2 (TD report 1.0) or 3 (TD report 1.5); v4 quotes are 2
  std::string qe_vendor_id;  // 16
  std::string user_data;     // 20
  TdReportBody body;
  // The bytes the attestation key signs: header and body (v5: with the body type and size).
  std::string signed_part;
  std::string signature;        // 64: ECDSA P-256 r || s, big-endian
  std::string attestation_key;  // 64: P-256 point X || Y, big-endian
  SgxReportBody qe_report;
  std::string qe_report_signature;  // 64: r || s, by the PCK key over qe_report.raw
  std::string qe_auth_data;
  std::string pck_chain_pem;  // certification data type 5: PCK, its CA, the root (PEM)
};

// Parses `bytes` as a TDX quote. Bytes after the quote signature data (padding left by some quote
// generators) are ignored; they are signed by nobody. Fails with kInvalidArgument naming the field
// ("TDX quote: QE certification data type 3 is not supported ...").
absl::StatusOr<TdxQuote> ParseTdxQuote(absl::string_view bytes);

}  // namespace triad::attestation::internal

#endif  // TRIAD_ATTESTATION_INTERNAL_TDX_QUOTE_H_
