#include "crypto/note.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/match.h"
#include "base/encoding.h"
#include "base/status.h"
#include "crypto/hash.h"

namespace triad::crypto {
namespace {

// "— ": U+2014 EM DASH in UTF-8, then a space (c2sp.org/signed-note, "Format").
constexpr absl::string_view kSigPrefix = "\xE2\x80\x94 ";
constexpr size_t kKeyIdSize = 4;

// Decodes one UTF-8 code point at `s[*i]`, advancing *i. Returns -1 for anything but the shortest
// encoding of a scalar value (no overlongs, no surrogates, nothing above U+10FFFF).
int32_t NextCodePoint(absl::string_view s, size_t* i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t b0 = byte(*i);
  if (b0 < 0x80) {
    *i += 1;
    return b0;
  }
  size_t len;
  int32_t cp;
  int32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (*i + len > s.size()) return -1;
  for (size_t k = 1; k < len; ++k) {
    uint8_t b = byte(*i + k);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *i += len;
  return cp;
}

// Go's unicode.IsSpace: the Unicode White_Space property.
bool IsUnicodeSpace(int32_t cp) {
  switch (cp) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

// Valid UTF-8 with no control character below U+0020 other than newline.
absl::Status CheckNoteChars(absl::string_view what, absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t at = i;
    int32_t cp = NextCodePoint(s, &i);
    if (cp < 0) return absl::InvalidArgumentError(absl::StrCat(what, " is not valid UTF-8 at byte ", at));
    if (cp < 0x20 && cp != '\n') {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s has control character 0x%02x at byte %d", what, cp, at));
    }
  }
  return absl::OkStatus();
}

std::string KeyIdHex(uint32_t id) { return absl::StrFormat("%08x", id); }

std::string KeyLabel(absl::string_view name, uint32_t id) { return absl::StrCat(name, "+", KeyIdHex(id)); }

absl::StatusOr<NoteSignature> ParseSignatureLine(absl::string_view line, size_t n) {
  std::string where = absl::StrCat("signed note: signature line ", n);
  if (!absl::StartsWith(line, kSigPrefix)) {
    return absl::InvalidArgumentError(absl::StrCat(where, " does not start with an em dash and a space"));
  }
  line.remove_prefix(kSigPrefix.size());
  size_t space = line.find(' ');
  if (space == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(where, " has no space between key name and signature"));
  }
  absl::string_view name = line.substr(0, space);
  absl::string_view b64 = line.substr(space + 1);
  absl::Status st = ValidateNoteKeyName(name);
  if (!st.ok()) return base::Annotate(st, where);
  absl::StatusOr<std::string> raw = base::Base64Decode(b64);
  if (!raw.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": signature is not canonical base64"));
  }
  if (raw->size() <= kKeyIdSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": signature has ", raw->size(), " bytes; a key ID and a signature need at least 5"));
  }
  NoteSignature sig;
  sig.key_name = std::string(name);
  const auto* p = reinterpret_cast<const uint8_t*>(raw->data());
  sig.key_id = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  sig.signature = raw->substr(kKeyIdSize);
  return sig;
}

absl::Status CheckSignableText(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("note text is empty");
  if (text.back() != '\n') return absl::InvalidArgumentError("note text does not end in a newline");
  return CheckNoteChars("note text", text);
}

}  // namespace

absl::Status ValidateNoteKeyName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("note key name is empty");
  for (size_t i = 0; i < name.size();) {
    size_t at = i;
    int32_t cp = NextCodePoint(name, &i);
    if (cp < 0) {
      return absl::InvalidArgumentError(absl::StrCat("note key name is not valid UTF-8 at byte ", at));
    }
    if (cp == '+') return absl::InvalidArgumentError("note key name contains '+'");
    if (IsUnicodeSpace(cp)) {
      return absl::InvalidArgumentError(absl::StrFormat("note key name contains space U+%04X", cp));
    }
    if (cp < 0x20 || cp == 0x7F) {
      return absl::InvalidArgumentError(absl::StrFormat("note key name contains control character 0x%02x", cp));
    }
  }
  return absl::OkStatus();
}

uint32_t NoteKeyIdEd25519(absl::string_view name, const Ed25519PublicKey& key) {
  std::string input = absl::StrCat(name, "\n");
  input.push_back(static_cast<char>(kNoteSignatureTypeEd25519));
  input += key.raw();
  std::string h = Sha256(input);
  const auto* p = reinterpret_cast<const uint8_t*>(h.data());
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

absl::StatusOr<Note> ParseNote(absl::string_view message) {
  if (message.size() > kMaxNoteSize) {
    return absl::InvalidArgumentError(absl::StrCat("signed note is ", message.size(),
                                                   " bytes, more than the limit of ", kMaxNoteSize));
  }
  TRIAD_RETURN_IF_ERROR(CheckNoteChars("signed note", message));
  if (message.empty() || message.back() != '\n') {
    return absl::InvalidArgumentError("signed note does not end in a newline");
  }
  // The text ends at the last blank line (c2sp.org/signed-note: "the text is separated from the
  // signatures by the last empty line in the note").
  size_t split = message.rfind("\n\n");
  if (split == absl::string_view::npos) {
    return absl::InvalidArgumentError("signed note has no blank line before its signatures");
  }
  Note note;
  note.text = std::string(message.substr(0, split + 1));
  absl::string_view sigs = message.substr(split + 2);
  if (sigs.empty()) return absl::InvalidArgumentError("signed note has no signature lines");
  sigs.remove_suffix(1);  // the final newline; every line ended in one
  size_t n = 0;
  for (absl::string_view line : absl::StrSplit(sigs, '\n')) {
    ++n;
    if (n > kMaxNoteSignatures) {
      return absl::InvalidArgumentError(
          absl::StrCat("signed note has more than ", kMaxNoteSignatures, " signatures"));
    }
    TRIAD_ASSIGN_OR_RETURN(NoteSignature sig, ParseSignatureLine(line, n));
    note.signatures.push_back(std::move(sig));
  }
  return note;
}

absl::StatusOr<NoteVerifier> NoteVerifier::Create(absl::string_view name, Ed25519PublicKey key) {
  TRIAD_RETURN_IF_ERROR(ValidateNoteKeyName(name));
  uint32_t id = NoteKeyIdEd25519(name, key);
  return NoteVerifier(std::string(name), std::move(key), id);
}

absl::StatusOr<NoteVerifier> NoteVerifier::FromVerifierKey(absl::string_view vkey) {
  if (vkey.size() > 1024) return absl::InvalidArgumentError("note verifier key is too long");
  // The name has no '+', the ID is 8 hex digits; base64 of the key may itself hold '+'.
  size_t plus = vkey.find('+');
  if (plus == absl::string_view::npos) {
    return absl::InvalidArgumentError("note verifier key is not <name>+<key id>+<key>");
  }
  absl::string_view name = vkey.substr(0, plus);
  absl::string_view rest = vkey.substr(plus + 1);
  if (rest.size() < 9 || rest[8] != '+') {
    return absl::InvalidArgumentError("note verifier key is not <name>+<key id>+<key>");
  }
  absl::string_view id_hex = rest.substr(0, 8);
  for (char c : id_hex) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) {
      return absl::InvalidArgumentError("note verifier key ID is not 8 lower-case hex digits");
    }
  }
  TRIAD_RETURN_IF_ERROR(base::Annotate(ValidateNoteKeyName(name), "note verifier key"));
  absl::StatusOr<std::string> raw = base::Base64Decode(rest.substr(9));
  if (!raw.ok()) return absl::InvalidArgumentError("note verifier key is not canonical base64");
  if (raw->empty() || static_cast<uint8_t>((*raw)[0]) != kNoteSignatureTypeEd25519) {
    return absl::InvalidArgumentError("note verifier key is not an Ed25519 key (type byte 0x01)");
  }
  absl::StatusOr<Ed25519PublicKey> key = Ed25519PublicKey::FromRaw(raw->substr(1));
  if (!key.ok()) return base::Annotate(key.status(), "note verifier key");
  absl::StatusOr<NoteVerifier> v = Create(name, *std::move(key));
  if (!v.ok()) return v.status();
  if (KeyIdHex(v->key_id()) != id_hex) {
    return absl::InvalidArgumentError(absl::StrCat("note verifier key ID ", id_hex,
                                                   " does not match its key (", KeyIdHex(v->key_id()), ")"));
  }
  return v;
}

std::string NoteVerifier::VerifierKey() const {
  std::string typed(1, static_cast<char>(kNoteSignatureTypeEd25519));
  typed += key_.raw();
  return absl::StrCat(name_, "+", KeyIdHex(key_id_), "+", base::Base64Encode(typed));
}

absl::StatusOr<NoteSigner> NoteSigner::Create(absl::string_view name, Ed25519PrivateKey key) {
  TRIAD_ASSIGN_OR_RETURN(NoteVerifier v, NoteVerifier::Create(name, key.public_key()));
  return NoteSigner(std::move(key), std::move(v));
}

absl::StatusOr<std::string> NoteSigner::Sign(absl::string_view text) const {
  TRIAD_RETURN_IF_ERROR(CheckSignableText(text));
  std::string sig = key_.Sign(text);
  uint32_t id = key_id();
  std::string blob;
  blob.reserve(kKeyIdSize + sig.size());
  blob.push_back(static_cast<char>(id >> 24));
  blob.push_back(static_cast<char>(id >> 16));
  blob.push_back(static_cast<char>(id >> 8));
  blob.push_back(static_cast<char>(id));
  blob += sig;
  std::string note = absl::StrCat(text, "\n", kSigPrefix, name(), " ", base::Base64Encode(blob), "\n");
  if (note.size() > kMaxNoteSize) {
    return absl::InvalidArgumentError(absl::StrCat("signed note would be ", note.size(),
                                                   " bytes, more than the limit of ", kMaxNoteSize));
  }
  return note;
}

absl::StatusOr<std::string> OpenNote(absl::string_view message,
                                     absl::Span<const NoteVerifier> verifiers) {
  for (size_t i = 0; i < verifiers.size(); ++i) {
    for (size_t j = i + 1; j < verifiers.size(); ++j) {
      if (verifiers[i].name() == verifiers[j].name() && verifiers[i].key_id() == verifiers[j].key_id()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "two note verifiers for the same key ", KeyLabel(verifiers[i].name(), verifiers[i].key_id())));
      }
    }
  }
  TRIAD_ASSIGN_OR_RETURN(Note note, ParseNote(message));
  size_t verified = 0;
  std::vector<std::string> unknown;
  for (const NoteSignature& sig : note.signatures) {
    const NoteVerifier* match = nullptr;
    for (const NoteVerifier& v : verifiers) {
      if (v.name() == sig.key_name && v.key_id() == sig.key_id) match = &v;
    }
    if (match == nullptr) {
      // c2sp.org/signed-note: verifiers MUST ignore signatures from unknown keys.
      unknown.push_back(KeyLabel(sig.key_name, sig.key_id));
      continue;
    }
    if (!match->public_key().Verify(note.text, sig.signature).ok()) {
      return absl::UnauthenticatedError(absl::StrCat(
          "signed note: signature by ", KeyLabel(sig.key_name, sig.key_id), " does not verify"));
    }
    ++verified;
  }
  if (verified == 0) {
    return absl::UnauthenticatedError(absl::StrCat("signed note has no signature by a trusted key (signed by ",
                                                   absl::StrJoin(unknown, ", "), ")"));
  }
  return std::move(note.text);
}

std::string Checkpoint::ToText() const {
  std::string out = absl::StrCat(origin, "\n", size, "\n", base::Base64Encode(root_hash), "\n");
  for (const std::string& e : extensions) absl::StrAppend(&out, e, "\n");
  return out;
}

absl::StatusOr<Checkpoint> ParseCheckpoint(absl::string_view text) {
  if (text.size() > kMaxNoteSize) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint is ", text.size(),
                                                   " bytes, more than the limit of ", kMaxNoteSize));
  }
  TRIAD_RETURN_IF_ERROR(CheckNoteChars("checkpoint", text));
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError("checkpoint does not end in a newline");
  }
  text.remove_suffix(1);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (lines.size() < 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint has ", lines.size(), " lines; it needs origin, tree size and root hash"));
  }
  if (lines.size() - 3 > kMaxCheckpointExtensions) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint has more than ", kMaxCheckpointExtensions,
                                                   " extension lines"));
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) return absl::InvalidArgumentError(absl::StrCat("checkpoint line ", i + 1, " is empty"));
  }
  Checkpoint cp;
  cp.origin = std::string(lines[0]);
  absl::string_view size = lines[1];
  bool digits = size.size() <= 20;
  for (char c : size) digits = digits && absl::ascii_isdigit(c);
  // tlog-checkpoint: "ASCII decimal ... with no leading zeroes (unless the tree is empty ...)".
  if (!digits || (size.size() > 1 && size[0] == '0') || !absl::SimpleAtoi(size, &cp.size)) {
    return absl::InvalidArgumentError(
        "checkpoint tree size is not a decimal number without leading zeros below 2^64");
  }
  absl::StatusOr<std::string> root = base::Base64Decode(lines[2]);
  if (!root.ok() || root->size() != 32) {
    return absl::InvalidArgumentError("checkpoint root hash is not canonical base64 of 32 bytes");
  }
  cp.root_hash = *std::move(root);
  for (size_t i = 3; i < lines.size(); ++i) cp.extensions.emplace_back(lines[i]);
  return cp;
}

absl::StatusOr<Checkpoint> OpenCheckpoint(absl::string_view signed_note, const NoteVerifier& verifier,
                                          absl::string_view expected_origin) {
  TRIAD_ASSIGN_OR_RETURN(std::string text, OpenNote(signed_note, absl::MakeConstSpan(&verifier, 1)));
  TRIAD_ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpoint(text));
  if (cp.origin != expected_origin) {
    return absl::UnauthenticatedError(
        absl::StrCat("checkpoint origin \"", cp.origin, "\" is not \"", expected_origin, "\""));
  }
  return cp;
}

// ---- cosignatures ----

namespace {

uint32_t KeyIdOf(absl::string_view name, uint8_t type, const Ed25519PublicKey& key) {
  std::string input = absl::StrCat(name, "\n");
  input.push_back(static_cast<char>(type));
  input += key.raw();
  std::string h = Sha256(input);
  const auto* p = reinterpret_cast<const uint8_t*>(h.data());
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// tlog-cosignature, "Ed25519 signed message".
std::string CosignedMessage(uint64_t timestamp, absl::string_view text) {
  return absl::StrCat("cosignature/v1\ntime ", timestamp, "\n", text);
}

}  // namespace

uint32_t CosignatureKeyId(absl::string_view name, const Ed25519PublicKey& key) {
  return KeyIdOf(name, kNoteSignatureTypeCosignatureV1, key);
}

absl::StatusOr<std::string> CosignatureLine(absl::string_view name, const Ed25519PrivateKey& key,
                                            absl::string_view checkpoint_text, absl::Time time) {
  TRIAD_RETURN_IF_ERROR(ValidateNoteKeyName(name));
  TRIAD_RETURN_IF_ERROR(CheckSignableText(checkpoint_text));
  int64_t seconds = absl::ToUnixSeconds(time);
  if (seconds < 0) return absl::InvalidArgumentError("a cosignature's time is not before 1970");
  uint64_t ts = static_cast<uint64_t>(seconds);
  std::string sig = key.Sign(CosignedMessage(ts, checkpoint_text));
  uint32_t id = CosignatureKeyId(name, key.public_key());
  std::string blob;
  for (int shift = 24; shift >= 0; shift -= 8) blob.push_back(static_cast<char>(id >> shift));
  for (int shift = 56; shift >= 0; shift -= 8) blob.push_back(static_cast<char>(ts >> shift));
  blob += sig;
  return absl::StrCat(kSigPrefix, name, " ", base::Base64Encode(blob), "\n");
}

absl::StatusOr<std::string> AddSignatureLine(absl::string_view signed_note,
                                             absl::string_view line) {
  TRIAD_ASSIGN_OR_RETURN(Note note, ParseNote(signed_note));
  TRIAD_ASSIGN_OR_RETURN(Note added, ParseNote(absl::StrCat(note.text, "\n", line)));
  if (added.signatures.size() != 1) return absl::InvalidArgumentError("not one signature line");
  const NoteSignature& a = added.signatures[0];
  // The signature lines as they stand, minus any by the same key (the new one replaces it).
  absl::string_view lines = signed_note.substr(note.text.size() + 1);
  std::string out = absl::StrCat(note.text, "\n");
  size_t i = 0;
  for (absl::string_view l : absl::StrSplit(lines, '\n', absl::SkipEmpty())) {
    if (i < note.signatures.size() && note.signatures[i].key_name == a.key_name &&
        note.signatures[i].key_id == a.key_id) {
      ++i;
      continue;
    }
    ++i;
    absl::StrAppend(&out, l, "\n");
  }
  absl::StrAppend(&out, line);
  TRIAD_RETURN_IF_ERROR(ParseNote(out).status());
  return out;
}

absl::StatusOr<std::vector<VerifiedCosignature>> VerifyCosignatures(
    absl::string_view signed_note, absl::Span<const Cosigner> cosigners) {
  TRIAD_ASSIGN_OR_RETURN(Note note, ParseNote(signed_note));
  std::vector<VerifiedCosignature> out;
  for (const Cosigner& c : cosigners) {
    uint32_t id = CosignatureKeyId(c.name, c.key);
    for (const NoteSignature& sig : note.signatures) {
      if (sig.key_name != c.name || sig.key_id != id) continue;
      if (sig.signature.size() != 8 + 64) {
        return absl::UnauthenticatedError(absl::StrCat(
            "cosignature by ", c.name, " is not a timestamp and an Ed25519 signature"));
      }
      uint64_t ts = 0;
      for (int k = 0; k < 8; ++k) ts = (ts << 8) | static_cast<uint8_t>(sig.signature[k]);
      if (ts > static_cast<uint64_t>(INT64_MAX)) {
        return absl::UnauthenticatedError(
            absl::StrCat("cosignature by ", c.name, " has a timestamp over 2^63-1"));
      }
      if (!c.key.Verify(CosignedMessage(ts, note.text), sig.signature.substr(8)).ok()) {
        return absl::UnauthenticatedError(
            absl::StrCat("cosignature by ", c.name, " does not verify"));
      }
      out.push_back({c.name, c.key.KeyId(), absl::FromUnixSeconds(static_cast<int64_t>(ts))});
    }
  }
  return out;
}

}  // namespace triad::crypto
