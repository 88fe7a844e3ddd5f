// C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures, and transparency log checkpoints
// (c2sp.org/tlog-checkpoint) carried in them.
//
// A signed note is a text ending in a newline, a blank line, and one or more signature lines
//   "— <key name> <base64(4-byte big-endian key ID || signature)>\n"
// (an em dash U+2014 and a space first). The signature covers the text including its final newline.
// For Ed25519 (signature type 0x01) the key ID is the first four bytes of
//   SHA-256(key name || 0x0A || 0x01 || 32-byte public key).
// A checkpoint is a note whose text is: origin line, tree size in decimal, base64 root hash, then
// optional non-empty extension lines.
//
// The parsers are strict and bounded (they take hostile input: a coordinator's answer, an audit
// bundle): valid UTF-8 only, no control characters but newline, canonical base64, at most
// kMaxNoteSize bytes and kMaxNoteSignatures signatures. Every rejection says which rule failed.
// Everything here is thread-safe; NoteSigner and NoteVerifier are immutable after creation.
#ifndef TRIAD_CRYPTO_NOTE_H_
#define TRIAD_CRYPTO_NOTE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "crypto/ed25519.h"

namespace triad::crypto {

inline constexpr size_t kMaxNoteSize = 64 * 1024;
// The spec asks verifiers to accept at least 16; Go's reference implementation accepts 100.
inline constexpr size_t kMaxNoteSignatures = 100;
inline constexpr size_t kMaxCheckpointExtensions = 32;
// Signature type byte of Ed25519 note signatures (c2sp.org/signed-note, "Signature types").
inline constexpr uint8_t kNoteSignatureTypeEd25519 = 0x01;
// Signature type byte of Ed25519 checkpoint cosignatures (c2sp.org/tlog-cosignature, "Format").
inline constexpr uint8_t kNoteSignatureTypeCosignatureV1 = 0x04;

// OK when `name` may name a note key: non-empty valid UTF-8 with no Unicode space (Go's
// unicode.IsSpace), no '+' and no control character. Otherwise kInvalidArgument saying which.
absl::Status ValidateNoteKeyName(absl::string_view name);

// The key ID of an Ed25519 note key (see above).
uint32_t NoteKeyIdEd25519(absl::string_view name, const Ed25519PublicKey& key);

struct NoteSignature {
  std::string key_name;
  uint32_t key_id = 0;
  std::string signature;  // the bytes after the key ID (64 for Ed25519)
};

struct Note {
  std::string text;  // includes the final newline, not the blank line
  std::vector<NoteSignature> signatures;
};

// Parses a signed note's syntax; verifies no signature. kInvalidArgument on any malformation.
absl::StatusOr<Note> ParseNote(absl::string_view message);

class NoteVerifier {
 public:
  // Fails with kInvalidArgument when `name` is not a valid key name.
  static absl::StatusOr<NoteVerifier> Create(absl::string_view name, Ed25519PublicKey key);
  // Parses a verifier key "<name>+<8 hex digits of key ID>+<base64(0x01 || public key)>", the form
  // Go's golang.org/x/mod/sumdb/note writes; the key ID must match the key.
  static absl::StatusOr<NoteVerifier> FromVerifierKey(absl::string_view vkey);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  const Ed25519PublicKey& public_key() const { return key_; }
  // The verifier key text, as FromVerifierKey reads it.
  std::string VerifierKey() const;

 private:
  NoteVerifier(std::string name, Ed25519PublicKey key, uint32_t key_id)
      : name_(std::move(name)), key_(std::move(key)), key_id_(key_id) {}
  std::string name_;
  Ed25519PublicKey key_;
  uint32_t key_id_;
};

// Move-only: owns the private key.
class NoteSigner {
 public:
  static absl::StatusOr<NoteSigner> Create(absl::string_view name, Ed25519PrivateKey key);

  const std::string& name() const { return verifier_.name(); }
  uint32_t key_id() const { return verifier_.key_id(); }
  const NoteVerifier& verifier() const { return verifier_; }

  // Returns the signed note: `text`, a blank line, and this key's signature line. `text` must be
  // non-empty valid UTF-8 ending in a newline with no control character but newline, and the note
  // must fit in kMaxNoteSize; otherwise kInvalidArgument.
  absl::StatusOr<std::string> Sign(absl::string_view text) const;

 private:
  NoteSigner(Ed25519PrivateKey key, NoteVerifier verifier)
      : key_(std::move(key)), verifier_(std::move(verifier)) {}
  Ed25519PrivateKey key_;
  NoteVerifier verifier_;
};

// Opens a signed note: parses it and returns its text when at least one signature is by a key in
// `verifiers` (same name and key ID) and verifies. Signatures by unknown keys are ignored. Fails with
// kInvalidArgument for a malformed note or two verifiers with the same name and key ID, and with
// kUnauthenticated when a signature by a known key does not verify ("signed note: signature by
// NAME+KEYID does not verify") or when no known key signed it.
absl::StatusOr<std::string> OpenNote(absl::string_view message,
                                     absl::Span<const NoteVerifier> verifiers);

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  std::string root_hash;  // 32 raw bytes
  std::vector<std::string> extensions;

  // The note text: "<origin>\n<size>\n<base64 root>\n" and one line per extension.
  std::string ToText() const;
};

// Parses checkpoint text (the note text, without signatures). kInvalidArgument when it has fewer
// than three lines, an empty line, a size with leading zeros or not in decimal or over 2^64-1, a root
// hash that is not canonical base64 of 32 bytes, or too many extension lines.
absl::StatusOr<Checkpoint> ParseCheckpoint(absl::string_view text);

// OpenNote with `verifier` alone, then ParseCheckpoint, then checks that the origin is
// `expected_origin` (kUnauthenticated otherwise).
absl::StatusOr<Checkpoint> OpenCheckpoint(absl::string_view signed_note,
                                          const NoteVerifier& verifier,
                                          absl::string_view expected_origin);

// ---- Witness cosignatures (c2sp.org/tlog-cosignature v1, Ed25519) ----
//
// A cosignature is a note signature line on a checkpoint whose key ID is
//   SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 public key)[:4]
// and whose signature is timestamped_signature: 8-byte big-endian POSIX timestamp || the Ed25519
// signature of "cosignature/v1\ntime <timestamp>\n" followed by the checkpoint's note text. It says
// that, as of that time, the largest consistent tree head the witness has seen for that origin is
// this one.

uint32_t CosignatureKeyId(absl::string_view name, const Ed25519PublicKey& key);

// A witness's identity as log clients configure it.
struct Cosigner {
  std::string name;  // a valid note key name
  Ed25519PublicKey key;
};

// The signature line ("— <name> <base64>\n") by which `key` cosigns the checkpoint whose note text
// is `checkpoint_text` at `time` (whole seconds). kInvalidArgument for a bad name or text.
absl::StatusOr<std::string> CosignatureLine(absl::string_view name, const Ed25519PrivateKey& key,
                                            absl::string_view checkpoint_text, absl::Time time);

// `signed_note` with `line` (a signature line, "— …\n") added after its signature lines, unless a
// line by the same key name and ID is there already (then that one is replaced).
absl::StatusOr<std::string> AddSignatureLine(absl::string_view signed_note, absl::string_view line);

struct VerifiedCosignature {
  std::string name;
  std::string key_id;  // the cosigner's Ed25519 key id (Ed25519PublicKey::KeyId)
  absl::Time time;
};

// The cosignatures in `signed_note` by the `cosigners` (matched by name and key ID; others are
// ignored), each verified over the note's text. A matching line whose signature does not verify,
// or whose timestamp is over 2^63-1, fails the call (kUnauthenticated "cosignature by NAME does not
// verify"). Does not check the log's own signature (OpenCheckpoint does).
absl::StatusOr<std::vector<VerifiedCosignature>> VerifyCosignatures(
    absl::string_view signed_note, absl::Span<const Cosigner> cosigners);

}  // namespace triad::crypto

#endif  // TRIAD_CRYPTO_NOTE_H_
