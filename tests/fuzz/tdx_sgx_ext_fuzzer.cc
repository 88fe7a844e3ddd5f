// Fuzzes the DER parser of the Intel SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1).
#include <cstddef>
#include <cstdint>

#include "attestation/internal/tdx_pck.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace triad::attestation::internal;
  absl::StatusOr<PckSgxExtensions> ext =
      ParseSgxExtensionValue(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!ext.ok()) return 0;
  if (ext->ppid.size() != 16 || ext->cpu_svn.size() != 16 || ext->pce_id.size() != 2 ||
      ext->fmspc.size() != 6 || ext->pce_svn > 65535) {
    __builtin_trap();
  }
  return 0;
}
