// Fuzzes the party card parser (strict JSON, base64, bech32 recipients, Ed25519 keys).
#include <cstddef>
#include <cstdint>

#include "contracts/card.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto card = triad::contracts::PartyCard::FromJson(text);
  if (card.ok()) {
    auto again = triad::contracts::PartyCard::FromJson(card->ToJson());
    if (!again.ok() || again->ToJson() != card->ToJson()) __builtin_trap();
  }
  return 0;
}
