// Fuzzes the SEV-SNP ATTESTATION_REPORT parser (no cryptography: parser only).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "attestation/internal/snp_report.h"

using triad::attestation::internal::DecodeSnpTcb;
using triad::attestation::internal::ParseSnpReport;
using triad::attestation::internal::SnpProduct;
using triad::attestation::internal::SnpProductFromCpuid;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto r = ParseSnpReport(bytes);
  if (!r.ok()) return 0;
  // What parses is exactly one report, and its fields are the bytes at their offsets.
  if (size != 0x4A0) __builtin_trap();
  if (r->version != 2 && r->version != 3 && r->version != 5) __builtin_trap();
  if (r->report_data != bytes.substr(0x50, 64) || r->measurement != bytes.substr(0x90, 48) ||
      r->chip_id != bytes.substr(0x1A0, 64)) {
    __builtin_trap();
  }
  if (r->signature_r.size() != 48 || r->signature_s.size() != 48) __builtin_trap();
  if (r->has_mitigation_vectors != (r->version >= 5)) __builtin_trap();
  SnpProduct p = SnpProductFromCpuid(r->cpuid_family, r->cpuid_model);
  for (SnpProduct q : {p, SnpProduct::kMilan, SnpProduct::kTurin}) {
    (void)DecodeSnpTcb(r->reported_tcb, q);
  }
  (void)r->signing_key();
  (void)r->chip_id_masked();
  return 0;
}
