// PEM certificate chains and the Intel SGX PCK certificate extension (private to attestation/).
#ifndef TRIAD_ATTESTATION_INTERNAL_TDX_PCK_H_
#define TRIAD_ATTESTATION_INTERNAL_TDX_PCK_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation::internal {

// Splits a concatenation of PEM "CERTIFICATE" blocks into the DER of each (not parsed further).
// Only whitespace and trailing NUL bytes (quote generators NUL-terminate the chain) may surround
// the blocks. At most `max_certs` blocks of at most 16 KiB of DER each.
absl::StatusOr<std::vector<std::string>> ParsePemBlocks(absl::string_view pem, size_t max_certs);

// Parses one whole DER certificate; `index` (from 1) names it in the error.
absl::StatusOr<crypto::SslPtr<X509>> ParseDerCertificate(absl::string_view der, size_t index);

// ParsePemBlocks, then ParseDerCertificate on each block. Only whitespace and trailing NUL bytes
// (quote generators NUL-terminate the chain) may surround the blocks; each block must be one whole
// DER certificate. At most `max_certs` certificates of at most 16 KiB each.
absl::StatusOr<std::vector<crypto::SslPtr<X509>>> ParsePemCertificates(absl::string_view pem,
                                                                       size_t max_certs);

// The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1, "SGX Extensions" in
// Intel's "SGX PCK Certificate and Certificate Revocation List Profile Specification").
struct PckSgxExtensions {
  std::string ppid;                              // .1, 16 bytes
  std::array<uint8_t, 16> sgx_tcb_components{};  // .2.1 .. .2.16
  uint32_t pce_svn = 0;                          // .2.17 (0..65535)
  std::string cpu_svn;                           // .2.18, 16 bytes
  std::string pce_id;                            // .3, 2 bytes
  std::string fmspc;                             // .4, 6 bytes
  int sgx_type = 0;                              // .5: 0 Standard, 1 Scalable, 2 Scalable+Integrity
  std::string platform_instance_id;              // .6, 16 bytes (platform CA PCKs only), or empty
};

// Parses the DER value of the SGX extension (the content of its extnValue OCTET STRING). Unknown
// sub-extensions are skipped; each known one must appear once with its exact type and size.
absl::StatusOr<PckSgxExtensions> ParseSgxExtensionValue(absl::string_view der);

// Finds the SGX extension in `pck` and parses it.
absl::StatusOr<PckSgxExtensions> ParsePckSgxExtensions(X509* pck);

// The certificate's subject common name, or "" when it has none.
std::string CommonName(const X509* cert);

}  // namespace triad::attestation::internal

#endif  // TRIAD_ATTESTATION_INTERNAL_TDX_PCK_H_
