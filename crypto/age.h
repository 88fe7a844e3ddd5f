// age v1 file encryption (age-encryption.org/v1, c2sp.org/age) with X25519 recipients, on OpenSSL.
//
// An age file is a text header that wraps a random 16-byte file key to each recipient (one "stanza"
// each) and ends in an HMAC of the header, then a binary payload: a 16-byte nonce and the plaintext
// in 64 KiB chunks, each sealed with ChaCha20-Poly1305 under a key derived from the file key and
// the nonce (STREAM). Files interoperate both ways with the stock `age` tool, binary or
// ASCII-armored.
//
// Chunks are independent, so decryption runs on several threads. Memory stays bounded for streams
// of any size. Every function here is thread-safe (they share no state); a Header is an immutable
// value.
//
// Failures of the format carry an ErrorKind (GetErrorKind) that says which layer refused the file;
// the kinds match the C2SP test kit's `expect:` values. Messages never contain key bytes or
// plaintext.
//
// An owner's keyholder uses Header, UnwrapFileKey, WrapFileKey and RewrapHeader: a file's
// payload never changes hands, only its header is replaced, so `new_header || old_payload` opens
// with the new recipient's identity.
#ifndef TRIAD_CRYPTO_AGE_H_
#define TRIAD_CRYPTO_AGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/age_keys.h"
#include "crypto/byte_stream.h"
#include "crypto/secret.h"

namespace triad::crypto::age {
namespace internal {
class HeaderBuilder;
}  // namespace internal

inline constexpr size_t kFileKeySize = 16;
// The plaintext size of every payload chunk but the last (age spec, "Payload").
inline constexpr size_t kChunkSize = 64 * 1024;
// Headers longer than this are refused as hostile (an X25519 stanza takes about 110 bytes).
inline constexpr size_t kMaxHeaderSize = 1 << 20;

// Which layer refused a file.
enum class ErrorKind {
  kNone,     // not an age format failure (I/O, bad arguments, OpenSSL) or not an error at all
  kHeader,   // the header is malformed, or a stanza addressed to an identity we hold is malformed
  kHmac,     // a stanza opened, but the header MAC does not match: the header was altered
  kNoMatch,  // the header is fine, but none of the identities opens any stanza
  kPayload,  // the payload is truncated, extended, reordered or altered
  kArmor,    // the ASCII armor is malformed
};

// The kind of an error returned by this file's functions (kNone for other errors and OK).
ErrorKind GetErrorKind(const absl::Status& status);
// "header failure", "HMAC failure", "no match", "payload failure", "armor failure" (the test kit's
// words), "none".
absl::string_view ErrorKindName(ErrorKind kind);

// One recipient stanza: "-> arg arg…" and a body. args[0] is the recipient type ("X25519").
struct Stanza {
  std::vector<std::string> args;
  std::string body;  // decoded

  bool operator==(const Stanza& o) const { return args == o.args && body == o.body; }
};

// An age v1 header. Its encoding is canonical (the format allows exactly one encoding per header),
// so encoded() is both the bytes a file starts with and what the MAC covers.
class Header {
 public:
  // Parses the header at the start of `data`, a binary (not armored) age file or a prefix of one
  // that holds the whole header; bytes after the header are not looked at. The payload starts at
  // data[header.size()]. Fails with kHeader on any deviation from the format, including a header
  // that does not end within `data` or within kMaxHeaderSize bytes. Does not check the MAC (that
  // needs the file key: UnwrapFileKey does it).
  static absl::StatusOr<Header> Parse(absl::string_view data);

  const std::vector<Stanza>& stanzas() const { return stanzas_; }
  // The 32-byte header MAC.
  const std::string& mac() const { return mac_; }
  // The header's bytes, from "age-encryption.org/v1\n" to the MAC line's "\n" inclusive.
  const std::string& encoded() const { return encoded_; }
  size_t size() const { return encoded_.size(); }

 private:
  friend class internal::HeaderBuilder;
  Header() = default;
  std::vector<Stanza> stanzas_;
  std::string mac_;
  std::string encoded_;
};

// Finds the first stanza that one of `identities` opens (trying identities in order, and stanzas in
// order for each), checks the header MAC with the file key it holds, and returns the 16-byte file
// key. Stanzas of other types are skipped. Fails with kHeader when an X25519 stanza is malformed
// (argument count, share encoding or length, body length, low-order share), kNoMatch when no stanza
// opens, kHmac when the MAC does not match.
absl::StatusOr<SecretBytes> UnwrapFileKey(const Header& header,
                                          absl::Span<const X25519Identity> identities);

// A new header that wraps `file_key` (16 bytes) to each of `recipients` (fresh ephemeral keys, one
// stanza each, in order) with its MAC. Fails with kInvalidArgument on an empty recipient list or a
// file key of the wrong size.
absl::StatusOr<Header> WrapFileKey(const SecretBytes& file_key,
                                   absl::Span<const X25519Recipient> recipients);

// Re-wraps a file to new recipients without touching its payload: unwraps `header` with
// `identities` (as UnwrapFileKey, with its failures) and wraps the same file key to
// `new_recipients` only. The result, followed by the original payload, is a valid age file for the
// new recipients, and only for them.
absl::StatusOr<Header> RewrapHeader(const Header& header,
                                    absl::Span<const X25519Identity> identities,
                                    absl::Span<const X25519Recipient> new_recipients);

struct EncryptOptions {
  // Write the ASCII armor ("-----BEGIN AGE ENCRYPTED FILE-----", as `age -a` does).
  bool armor = false;
  // Threads that seal chunks when the whole plaintext is in memory (Encrypt of a buffer, or of a
  // source that has a View): 0 means one per hardware thread. The Encryptor uses one.
  int threads = 0;
};

// Encrypts a stream to one or more recipients. Create writes the header; Write takes plaintext in
// pieces of any size; Close seals the last chunk (and closes the armor). The file is complete only
// after Close succeeds; after any error the encryptor is unusable and the output incomplete.
// Not thread-safe.
class Encryptor {
 public:
  // `out` is borrowed and must outlive the encryptor. Fails with kInvalidArgument when
  // `recipients` is empty.
  static absl::StatusOr<std::unique_ptr<Encryptor>> Create(
      absl::Span<const X25519Recipient> recipients, ByteSink& out, const EncryptOptions& options = {});
  virtual ~Encryptor() = default;
  virtual absl::Status Write(absl::string_view plaintext) = 0;
  virtual absl::Status Close() = 0;
};

// Encrypts everything `in` holds to `out`.
absl::Status Encrypt(absl::Span<const X25519Recipient> recipients, ByteSource& in, ByteSink& out,
                     const EncryptOptions& options = {});
// Encrypts a buffer; returns the whole age file.
absl::StatusOr<std::string> Encrypt(absl::Span<const X25519Recipient> recipients,
                                    absl::string_view plaintext, const EncryptOptions& options = {});

enum class ArmorMode {
  kAuto,     // armored if the first byte that is not white space is '-', binary otherwise
  kBinary,   // binary only
  kArmored,  // armored only
};

struct DecryptOptions {
  // Threads that decrypt chunks: 0 means one per hardware thread, 1 means only the calling thread.
  int threads = 0;
  ArmorMode armor = ArmorMode::kAuto;
};

// Decrypts a stream. Chunks are decrypted on up to options.threads threads (and read by them too
// when `in` offers ReadAt); `out` is written on the calling thread only, in order, in bounded memory
// (a few MiB per thread), and only with plaintext of chunks that authenticated.
//
// On failure the status says why (GetErrorKind: kArmor, kHeader, kNoMatch, kHmac, kPayload, or kNone
// for I/O), and `out` may already hold a prefix of the plaintext: the chunks that authenticated
// before the failing one (exactly what a one-chunk-at-a-time reader would have released). The file
// as a whole is NOT authentic then: the caller must discard that output (the CLI deletes it).
absl::Status Decrypt(absl::Span<const X25519Identity> identities, ByteSource& in, ByteSink& out,
                     const DecryptOptions& options = {});

// Decrypts a whole age file held in memory (binary or armored) into SecretBytes, on
// options.threads threads. Returns the whole plaintext, or an error and no plaintext at all.
absl::StatusOr<SecretBytes> DecryptToSecret(absl::Span<const X25519Identity> identities,
                                            absl::string_view ciphertext,
                                            const DecryptOptions& options = {});

// As DecryptToSecret, for a header obtained separately (re-wrapped by an owner's keyholder) and the
// payload of the original file: its bytes after its own header, from the 16-byte nonce to the end.
// options.armor is ignored (both parts are binary).
absl::StatusOr<SecretBytes> DecryptToSecret(absl::Span<const X25519Identity> identities,
                                            const Header& header, absl::string_view payload,
                                            const DecryptOptions& options = {});

// Streams the same: `payload` is a source positioned at the original file's nonce.
absl::Status Decrypt(absl::Span<const X25519Identity> identities, const Header& header,
                     ByteSource& payload, ByteSink& out, const DecryptOptions& options = {});

// ASCII armor (age spec, "ASCII armor": strict RFC 7468 PEM, label "AGE ENCRYPTED FILE", 64
// columns, canonical padded base64). Decoding accepts LF or CRLF line ends and white space (space,
// tab, CR, LF) before and after the block, and nothing else; every failure is kArmor.
std::string ArmorEncode(absl::string_view binary);
absl::StatusOr<std::string> ArmorDecode(absl::string_view armored);

// The streaming forms. ArmorWriter: Write binary data, then Finish (writes the last line and the
// end marker). ArmorReader: Read yields the binary data; it returns end of input only after it has
// checked everything up to the end of `in` (end marker, then white space only).
class ArmorWriter : public ByteSink {
 public:
  explicit ArmorWriter(ByteSink& out);
  absl::Status Write(absl::string_view data) override;
  absl::Status Finish();

 private:
  absl::Status WriteLines(absl::string_view data, bool final);
  ByteSink& out_;
  std::string pending_;  // fewer than 48 bytes not yet encoded
  bool started_ = false;
  bool finished_ = false;
};

class ArmorReader : public ByteSource {
 public:
  explicit ArmorReader(ByteSource& in);
  ~ArmorReader() override;
  absl::StatusOr<size_t> Read(char* buf, size_t n) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace triad::crypto::age

#endif  // TRIAD_CRYPTO_AGE_H_
