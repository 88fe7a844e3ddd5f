// Fuzzes checkpoints with witness cosignatures (crypto/note.h, c2sp.org/tlog-cosignature): the
// log's checkpoint opened with OpenCheckpoint, and crypto::VerifyCosignatures with two configured
// witnesses, on any input. Besides "no crash":
//   - an opened checkpoint re-serializes to the note's text, and its origin is the log's;
//   - every verified cosignature is by a configured witness, and no more of them than lines;
//   - a note that parses, cosigned here by a third witness (CosignatureLine, AddSignatureLine),
//     still parses and opens as before, and that witness's cosignature verifies, once;
//   - changing a byte of the text makes a cosignature that verified fail.
// Seeds (tests/fuzz/make_seeds.py): a checkpoint the log's key signed, cosigned by both witnesses
// (and by a stranger, and with an extension line).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/encoding.h"
#include "crypto/ed25519.h"
#include "crypto/note.h"

namespace {

using namespace triad::crypto;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr char kOrigin[] = "example.com/triad-fuzz/log";

Ed25519PublicKey Key(const char* b64) {
  return *Ed25519PublicKey::FromRaw(*triad::base::Base64Decode(b64));
}

struct Fixture {
  NoteVerifier log;
  std::vector<Cosigner> witnesses;
  Ed25519PrivateKey third;
  Cosigner third_cosigner;
};

const Fixture& Get() {
  static const Fixture* f = [] {
    Ed25519PrivateKey third = Ed25519PrivateKey::Generate();
    Cosigner tc{"witness.example/third", third.public_key()};
    return new Fixture{
        *NoteVerifier::Create(kOrigin, Key("EHz/cmWFxmxv+d0PtzEQofHxELJXYFykJ+94zk8T080=")),
        {{"witness.example/w1", Key("amsrVr/gPcDZioJWkoRAVI8bC9XapSoFyl3TyhKdjYM=")},
         {"witness.example/w2", Key("4F5AUTl98ROAjvx0dapDZiAVgdF+pKr5730mtoV82uY=")}},
        std::move(third),
        std::move(tc)};
  }();
  return *f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  const Fixture& f = Get();
  absl::StatusOr<Note> note = ParseNote(text);
  absl::StatusOr<Checkpoint> cp = OpenCheckpoint(text, f.log, kOrigin);
  if (cp.ok()) Check(note.ok() && cp->ToText() == note->text && cp->origin == kOrigin);
  absl::StatusOr<std::vector<VerifiedCosignature>> cosigs = VerifyCosignatures(text, f.witnesses);
  if (cosigs.ok()) {
    Check(note.ok() && cosigs->size() <= note->signatures.size());
    for (const VerifiedCosignature& c : *cosigs) {
      Check(c.name == f.witnesses[0].name || c.name == f.witnesses[1].name);
    }
  } else {
    Check(!note.ok() || cosigs.status().code() == absl::StatusCode::kUnauthenticated);
  }
  if (!note.ok()) return 0;

  // A cosignature verifies over this text only.
  if (cosigs.ok() && !cosigs->empty() && !note->text.empty()) {
    std::string changed(text);
    changed[0] = static_cast<char>(changed[0] == 'a' ? 'b' : 'a');
    absl::StatusOr<std::vector<VerifiedCosignature>> again =
        VerifyCosignatures(changed, f.witnesses);
    Check(!again.ok() || again->empty());
  }

  // A third witness cosigns what parsed.
  absl::StatusOr<std::string> line = CosignatureLine(f.third_cosigner.name, f.third, note->text,
                                                     absl::FromUnixSeconds(1796637600));
  if (!line.ok()) return 0;
  absl::StatusOr<std::string> added = AddSignatureLine(text, *line);
  if (!added.ok()) {
    // Only a note already at the signature limit has no room for one more line.
    Check(note->signatures.size() >= kMaxNoteSignatures ||
          text.size() + line->size() > kMaxNoteSize);
    return 0;
  }
  absl::StatusOr<Note> added_note = ParseNote(*added);
  Check(added_note.ok() && added_note->text == note->text);
  absl::StatusOr<std::vector<VerifiedCosignature>> mine =
      VerifyCosignatures(*added, {f.third_cosigner});
  Check(mine.ok() && mine->size() == 1 && mine->front().time == absl::FromUnixSeconds(1796637600));
  absl::StatusOr<Checkpoint> cp2 = OpenCheckpoint(*added, f.log, kOrigin);
  Check(cp2.ok() == cp.ok());
  // Adding the same line again replaces it.
  absl::StatusOr<std::string> twice = AddSignatureLine(*added, *line);
  Check(twice.ok() && *twice == *added);
  return 0;
}
