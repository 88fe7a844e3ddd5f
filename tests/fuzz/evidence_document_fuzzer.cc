// Fuzzes the evidence document parser (attestation/evidence_document.h): strict bounded JSON, the
// exact keys, base64 parts and GPU entries; what parses must be canonical (it serializes back to
// the same bytes, so one piece of evidence has one digest). Seeds:
// tests/fuzz/seeds/evidence_document.
#include <cstddef>
#include <cstdint>

#include "attestation/evidence_document.h"

namespace att = triad::attestation;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto ev = att::ParseEvidenceDocument(text);
  if (!ev.ok()) return 0;
  if (att::EvidenceDocument(*ev) != text) __builtin_trap();
  if (ev->gpus.size() > 8) __builtin_trap();
  return 0;
}
