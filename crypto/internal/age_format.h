// The age v1 header format (age spec, "Header"): reading it line by line from a stream with every
// rule of the ABNF enforced, writing it canonically, its MAC; and the tagged errors of crypto/age.h.
#ifndef TRIAD_CRYPTO_INTERNAL_AGE_FORMAT_H_
#define TRIAD_CRYPTO_INTERNAL_AGE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/age.h"
#include "crypto/byte_stream.h"
#include "crypto/secret.h"

namespace triad::crypto::age::internal {

// An error of `kind` (see GetErrorKind), with a prefix naming the layer: "age header: …".
absl::Status AgeError(ErrorKind kind, absl::string_view message);

// A buffered reader over a ByteSource, with line reads and look-ahead for the parsers. Over a source
// that offers ReadAt it reads with ReadAt only (so the payload can later be read at known offsets);
// otherwise with Read. It is itself a ByteSource (Read only).
class BufferedInput : public ByteSource {
 public:
  explicit BufferedInput(ByteSource& source);

  enum class LineEnd { kNewline, kTooLong, kEndOfInput };
  struct Line {
    absl::string_view text;  // with its '\n' when end == kNewline; valid until the next call
    LineEnd end;
  };
  // Reads through the next '\n' when one comes within `max` bytes. kTooLong: no '\n' within `max`
  // bytes (nothing consumed). kEndOfInput: the input ended first; `text` holds what was left (now
  // consumed).
  absl::StatusOr<Line> ReadLine(size_t max);

  // Up to `n` bytes ahead, not consumed (fewer only at the end of the input).
  absl::StatusOr<absl::string_view> Peek(size_t n);
  void Skip(size_t n);  // n <= what Peek last returned
  // Reads `n` bytes, fewer only at the end of the input.
  absl::StatusOr<size_t> ReadFull(char* buf, size_t n);
  absl::StatusOr<bool> AtEnd();

  absl::StatusOr<size_t> Read(char* buf, size_t n) override;

  // Random access to the underlying source, when it has it: its size and the offset of the next byte
  // this reader would return.
  bool random_access() const { return size_.has_value(); }
  const ByteSource& source() const { return source_; }
  uint64_t position() const { return position_; }
  std::optional<uint64_t> source_size() const { return size_; }

 private:
  // Reads more from the source into the buffer; returns false at the end of the input.
  absl::StatusOr<bool> Fill();
  absl::StatusOr<size_t> SourceRead(char* buf, size_t n);

  ByteSource& source_;
  std::optional<uint64_t> size_;
  uint64_t source_offset_ = 0;  // random access: next offset to read from the source
  uint64_t position_ = 0;       // bytes handed out so far
  std::string buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
};

// Reads a header, consuming exactly its bytes; kHeader on any deviation, I/O errors as they are.
absl::StatusOr<Header> ReadHeader(BufferedInput& in);

// Builds Headers (Header's constructor is private to keep them valid).
class HeaderBuilder {
 public:
  // Encodes `stanzas` canonically and MACs them with `file_key`.
  static absl::StatusOr<Header> Build(std::vector<Stanza> stanzas, const SecretBytes& file_key);
  // Internal to ReadHeader: a header exactly as parsed.
  static Header FromParsed(std::vector<Stanza> stanzas, std::string mac, std::string encoded);
};

// The header MAC with `file_key` (age spec, "Header MAC"): HMAC-SHA-256 keyed with
// HKDF(file key, "", "header"), over the header up to and including the "---" of its last line.
absl::StatusOr<std::string> HeaderMac(const SecretBytes& file_key, const Header& header);

// Checks a stanza argument or type: 1 or more characters of VCHAR (0x21..0x7E).
bool IsValidArgument(absl::string_view arg);

// Unpadded canonical base64 of the age spec ("Conventions").
std::string Base64Raw(absl::string_view bytes);
absl::StatusOr<std::string> Base64RawDecode(absl::string_view text);

}  // namespace triad::crypto::age::internal

#endif  // TRIAD_CRYPTO_INTERNAL_AGE_FORMAT_H_
