// Fuzzes the parsers of the signed JSON inside TDX collateral: Intel's TCB info ("tcbInfo") and QE
// identity ("enclaveIdentity"). Each input is tried as both.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <tuple>

#include "attestation/internal/tdx_collateral.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace triad::attestation::internal;
  absl::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<TdxTcbInfo> info = ParseTdxTcbInfo(json);
  if (info.ok()) {
    // Levels come out ordered highest first, without duplicates, as QVL keeps them.
    for (size_t i = 1; i < info->levels.size(); ++i) {
      const auto& a = info->levels[i - 1];
      const auto& b = info->levels[i];
      if (std::tie(a.sgx_components, a.pce_svn, a.tdx_components) <=
          std::tie(b.sgx_components, b.pce_svn, b.tdx_components)) {
        __builtin_trap();
      }
    }
  }
  (void)ParseQeIdentity(json);
  return 0;
}
