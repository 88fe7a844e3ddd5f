// Fuzzes what `triad measure tdx --kernel` reads from an untrusted file (measure/pe.h,
// measure/tdx.h): the PE/COFF digest and QEMU's setup-header patching. Whatever is measured must
// give 48-byte registers, and the patched kernel must keep the input's length.
#include <cstddef>
#include <cstdint>

#include "crypto/hash.h"
#include "measure/pe.h"
#include "measure/tdx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  auto d = triad::measure::PeImageDigest(in, triad::crypto::HashAlg::kSha384);
  if (d.ok() && d->size() != 48) __builtin_trap();
  auto patched = triad::measure::QemuPatchKernel(in, 0x1000, 4ULL << 30);
  if (patched.ok() && patched->size() != size) __builtin_trap();
  triad::measure::TdxDirectBoot boot;
  boot.kernel = std::string(in);
  boot.initrd = triad::measure::TdxInitrd{0x1000, std::string(48, 'i')};
  boot.cmdline = "console=hvc0";
  boot.memory_bytes = 2ULL << 30;
  auto r = triad::measure::TdxDirectBootRtmrs(boot);
  if (r.ok() && (r->rtmr1.size() != 48 || r->rtmr2.size() != 48)) __builtin_trap();
  return 0;
}
