// Fuzzes the SNP extended-report certificate table parser (configfs-tsm auxblob; parser only).
#include <cstddef>
#include <cstdint>

#include "attestation/internal/snp_certs.h"

using triad::attestation::internal::ParseSnpCertTable;
using triad::attestation::internal::SerializeSnpCertTable;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto entries = ParseSnpCertTable(bytes);
  if (!entries.ok()) return 0;
  // The entries survive a canonical re-encoding.
  auto again = ParseSnpCertTable(SerializeSnpCertTable(*entries));
  if (!again.ok() || again->size() != entries->size()) __builtin_trap();
  for (size_t i = 0; i < entries->size(); ++i) {
    if ((*again)[i].guid != (*entries)[i].guid || (*again)[i].data != (*entries)[i].data)
      __builtin_trap();
  }
  return 0;
}
