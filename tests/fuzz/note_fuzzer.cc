// Fuzzes the C2SP signed note and checkpoint parsers (crypto/note.h): no crash on any input, and
// whatever parses is canonical: it re-serializes to exactly the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/encoding.h"
#include "crypto/note.h"

namespace {

using triad::crypto::NoteVerifier;

const NoteVerifier& Peter() {
  // Go's sumdb/note test key (the seeds hold notes it signed).
  static const NoteVerifier* v = new NoteVerifier(
      *NoteVerifier::FromVerifierKey("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
  return *v;
}

std::string Reassemble(const triad::crypto::Note& note) {
  std::string out = note.text + "\n";
  for (const auto& sig : note.signatures) {
    std::string blob;
    blob.push_back(static_cast<char>(sig.key_id >> 24));
    blob.push_back(static_cast<char>(sig.key_id >> 16));
    blob.push_back(static_cast<char>(sig.key_id >> 8));
    blob.push_back(static_cast<char>(sig.key_id));
    blob += sig.signature;
    out += "\xE2\x80\x94 " + sig.key_name + " " + triad::base::Base64Encode(blob) + "\n";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto note = triad::crypto::ParseNote(text);
  if (note.ok() && Reassemble(*note) != text) __builtin_trap();
  auto opened = triad::crypto::OpenNote(text, {Peter()});
  if (opened.ok() && (!note.ok() || *opened != note->text)) __builtin_trap();
  auto cp = triad::crypto::ParseCheckpoint(text);
  if (cp.ok() && cp->ToText() != text) __builtin_trap();
  if (note.ok()) {
    auto inner = triad::crypto::ParseCheckpoint(note->text);
    if (inner.ok() && inner->ToText() != note->text) __builtin_trap();
  }
  (void)NoteVerifier::FromVerifierKey(text);
  return 0;
}
