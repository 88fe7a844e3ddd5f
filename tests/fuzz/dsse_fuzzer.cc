// Fuzzes the DSSE envelope parser and the strict JSON parser under it.
#include <cstddef>
#include <cstdint>

#include "crypto/dsse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto env = triad::crypto::DsseEnvelope::FromJson(text);
  if (env.ok()) {
    // Whatever parses must re-serialize to something that parses to the same envelope.
    auto again = triad::crypto::DsseEnvelope::FromJson(env->ToJson());
    if (!again.ok() || again->ToJson() != env->ToJson()) __builtin_trap();
  }
  return 0;
}
