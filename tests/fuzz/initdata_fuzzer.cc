// Fuzzes the CoCo init-data reader (measure/coco.h): the TOML subset, the Triad agent policy pin and
// the annotation decoder. Whatever parses must re-hash to the same digest and keep its bytes.
#include <cstddef>
#include <cstdint>

#include "measure/coco.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = triad::measure::ParseInitData(text);
  if (d.ok()) {
    if (d->text != text) __builtin_trap();
    const std::string digest = triad::measure::InitDataDigest(*d);
    if (digest.size() != 32 && digest.size() != 48 && digest.size() != 64) __builtin_trap();
    auto pin = triad::measure::ReadWorkerPin(*d);
    if (pin.ok() && !triad::measure::CheckImageReference(pin->image).ok()) __builtin_trap();
  }
  (void)triad::measure::DecodeInitDataAnnotation(text);
  return 0;
}
