// Fuzzes the TDX collateral parser: the dcap-qvl JSON, its PEM chains, hex DER CRLs, and the TCB
// info and QE identity JSON inside it.
#include <cstddef>
#include <cstdint>

#include "attestation/internal/tdx_collateral.h"
#include "attestation/tdx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto c = triad::attestation::ParseTdxCollateral(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!c.ok()) return 0;
  const triad::attestation::TdxCollateral& col = **c;
  if (col.root_ca_crl == nullptr || col.pck_crl == nullptr || col.tcb_info.levels.empty() ||
      col.qe_identity.levels.empty() || col.tcb_info_signature.size() != 64) {
    __builtin_trap();
  }
  return 0;
}
