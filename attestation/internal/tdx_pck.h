// The Intel SGX PCK certificate extension (private to attestation/). The PEM chain helpers its
// callers use are in x509_check.h.
#ifndef TRIAD_ATTESTATION_INTERNAL_TDX_PCK_H_
#define TRIAD_ATTESTATION_INTERNAL_TDX_PCK_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attestation/internal/x509_check.h"
#include "crypto/ssl_ptr.h"

namespace triad::attestation::internal {

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

}  // namespace triad::attestation::internal

#endif  // TRIAD_ATTESTATION_INTERNAL_TDX_PCK_H_
