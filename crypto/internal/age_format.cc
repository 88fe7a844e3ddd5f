#include "crypto/internal/age_format.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/status.h"
#include "crypto/internal/age_primitives.h"

namespace triad::crypto::age {
namespace {

// The status payload that carries the ErrorKind; its value is ErrorKindName(kind).
constexpr absl::string_view kKindUrl = "type.triad.dev/triad.crypto.age.ErrorKind";

constexpr ErrorKind kAllKinds[] = {ErrorKind::kHeader, ErrorKind::kHmac, ErrorKind::kNoMatch,
                                   ErrorKind::kPayload, ErrorKind::kArmor};

}  // namespace

absl::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNone: return "none";
    case ErrorKind::kHeader: return "header failure";
    case ErrorKind::kHmac: return "HMAC failure";
    case ErrorKind::kNoMatch: return "no match";
    case ErrorKind::kPayload: return "payload failure";
    case ErrorKind::kArmor: return "armor failure";
  }
  return "none";
}

ErrorKind GetErrorKind(const absl::Status& status) {
  if (status.ok()) return ErrorKind::kNone;
  auto payload = status.GetPayload(kKindUrl);
  if (!payload.has_value()) return ErrorKind::kNone;
  for (ErrorKind k : kAllKinds) {
    if (*payload == ErrorKindName(k)) return k;
  }
  return ErrorKind::kNone;
}

namespace internal {
namespace {

constexpr absl::string_view kVersionLine = "age-encryption.org/v1\n";
constexpr absl::string_view kVersionPrefix = "age-encryption.org/";
constexpr absl::string_view kStanzaPrefix = "->";
constexpr absl::string_view kMacPrefix = "---";
constexpr size_t kColumns = 64;      // body lines (age spec, "Recipient stanza")
constexpr size_t kMacSize = 32;
constexpr size_t kMacB64Size = 43;   // unpadded base64 of 32 bytes
constexpr size_t kReadBlock = 64 * 1024;

absl::Status HeaderError(absl::string_view message) { return AgeError(ErrorKind::kHeader, message); }

}  // namespace

absl::Status AgeError(ErrorKind kind, absl::string_view message) {
  absl::StatusCode code = absl::StatusCode::kInvalidArgument;
  absl::string_view prefix = "age";
  switch (kind) {
    case ErrorKind::kHeader: prefix = "age header"; break;
    case ErrorKind::kArmor: prefix = "age armor"; break;
    case ErrorKind::kHmac:
      prefix = "age header MAC";
      code = absl::StatusCode::kDataLoss;
      break;
    case ErrorKind::kPayload:
      prefix = "age payload";
      code = absl::StatusCode::kDataLoss;
      break;
    case ErrorKind::kNoMatch: code = absl::StatusCode::kPermissionDenied; break;
    case ErrorKind::kNone: code = absl::StatusCode::kInternal; break;
  }
  absl::Status st(code, absl::StrCat(prefix, ": ", message));
  if (kind != ErrorKind::kNone) st.SetPayload(kKindUrl, absl::Cord(ErrorKindName(kind)));
  return st;
}

// ---- BufferedInput ----

BufferedInput::BufferedInput(ByteSource& source) : source_(source), size_(source.Size()) {}

absl::StatusOr<size_t> BufferedInput::SourceRead(char* buf, size_t n) {
  if (!size_.has_value()) return source_.Read(buf, n);
  TRIAD_ASSIGN_OR_RETURN(size_t got, source_.ReadAt(source_offset_, buf, n));
  source_offset_ += got;
  return got;
}

absl::StatusOr<bool> BufferedInput::Fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  // With the source's size known, read no more than what is left (at least one byte, to see the
  // end): a short input then never grows (and zero-fills) a whole block, which dominated the
  // cost of parsing small headers.
  size_t want = kReadBlock;
  if (size_.has_value()) {
    uint64_t left = *size_ > source_offset_ ? *size_ - source_offset_ : 0;
    want = static_cast<size_t>(std::max<uint64_t>(1, std::min<uint64_t>(kReadBlock, left)));
  }
  if (buf_.size() < end_ + want) buf_.resize(end_ + want);
  TRIAD_ASSIGN_OR_RETURN(size_t got, SourceRead(buf_.data() + end_, want));
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

absl::StatusOr<BufferedInput::Line> BufferedInput::ReadLine(size_t max) {
  size_t scanned = 0;
  while (true) {
    size_t avail = end_ - begin_;
    size_t limit = std::min(avail, max);
    const char* start = buf_.data() + begin_;
    const void* nl = limit > scanned ? std::memchr(start + scanned, '\n', limit - scanned) : nullptr;
    if (nl != nullptr) {
      size_t len = static_cast<const char*>(nl) - start + 1;
      begin_ += len;
      position_ += len;
      return Line{absl::string_view(start, len), LineEnd::kNewline};
    }
    scanned = limit;
    if (avail >= max) return Line{absl::string_view(), LineEnd::kTooLong};
    TRIAD_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) {
      absl::string_view rest(buf_.data() + begin_, end_ - begin_);
      position_ += rest.size();
      begin_ = end_;
      return Line{rest, LineEnd::kEndOfInput};
    }
  }
}

absl::StatusOr<absl::string_view> BufferedInput::Peek(size_t n) {
  while (end_ - begin_ < n) {
    TRIAD_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) break;
  }
  return absl::string_view(buf_.data() + begin_, std::min(n, end_ - begin_));
}

void BufferedInput::Skip(size_t n) {
  n = std::min(n, end_ - begin_);
  begin_ += n;
  position_ += n;
}

absl::StatusOr<size_t> BufferedInput::ReadFull(char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    TRIAD_ASSIGN_OR_RETURN(size_t k, Read(buf + got, n - got));
    if (k == 0) break;
    got += k;
  }
  return got;
}

absl::StatusOr<size_t> BufferedInput::Read(char* buf, size_t n) {
  if (n == 0) return 0;
  if (begin_ == end_) {
    if (eof_) return 0;
    // Large reads bypass the buffer: no copy through it.
    if (n >= kReadBlock) {
      TRIAD_ASSIGN_OR_RETURN(size_t got, SourceRead(buf, n));
      if (got == 0) eof_ = true;
      position_ += got;
      return got;
    }
    TRIAD_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) return 0;
  }
  size_t k = std::min(n, end_ - begin_);
  std::memcpy(buf, buf_.data() + begin_, k);
  begin_ += k;
  position_ += k;
  return k;
}

absl::StatusOr<bool> BufferedInput::AtEnd() {
  if (begin_ < end_) return false;
  TRIAD_ASSIGN_OR_RETURN(bool more, Fill());
  return !more;
}

// ---- encodings ----

bool IsValidArgument(absl::string_view arg) {
  if (arg.empty()) return false;
  for (char c : arg) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string Base64Raw(absl::string_view bytes) {
  return base::Base64Encode(bytes, base::Base64Padding::kWithout);
}

absl::StatusOr<std::string> Base64RawDecode(absl::string_view text) {
  // base::Base64Decode is strict: no padding, no whitespace, zero trailing bits.
  return base::Base64Decode(text, base::Base64Padding::kWithout);
}

// ---- header ----

namespace {

// Reads one header line into `encoded` and returns it without its '\n'.
absl::StatusOr<absl::string_view> NextHeaderLine(BufferedInput& in, std::string& encoded,
                                                 absl::string_view what) {
  size_t room = kMaxHeaderSize - std::min(kMaxHeaderSize, encoded.size());
  TRIAD_ASSIGN_OR_RETURN(BufferedInput::Line line, in.ReadLine(room));
  switch (line.end) {
    case BufferedInput::LineEnd::kNewline: break;
    case BufferedInput::LineEnd::kTooLong:
      return HeaderError(absl::StrCat("longer than ", kMaxHeaderSize, " bytes"));
    case BufferedInput::LineEnd::kEndOfInput:
      return HeaderError(absl::StrCat("truncated: the input ends in ", what));
  }
  size_t start = encoded.size();
  encoded.append(line.text.data(), line.text.size());
  return absl::string_view(encoded).substr(start, line.text.size() - 1);
}

absl::StatusOr<Stanza> ParseStanza(BufferedInput& in, std::string& encoded, absl::string_view first,
                                   size_t index) {
  std::string where = absl::StrCat("stanza ", index + 1);
  // arg-line = "-> " argument *(SP argument) LF
  if (first.size() < 3 || first[2] != ' ') {
    return HeaderError(absl::StrCat(where, ": \"->\" must be followed by a space and arguments"));
  }
  Stanza stanza;
  absl::string_view rest = first.substr(3);
  while (true) {
    size_t sp = rest.find(' ');
    absl::string_view arg = rest.substr(0, sp);
    if (!IsValidArgument(arg)) {
      return HeaderError(absl::StrCat(
          where, ": argument ", stanza.args.size() + 1,
          " is empty or has characters outside printable ASCII (single spaces separate arguments)"));
    }
    stanza.args.emplace_back(arg);
    if (sp == absl::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  // The body: full 64-column lines, then one shorter line (possibly empty) that ends the stanza.
  while (true) {
    TRIAD_ASSIGN_OR_RETURN(absl::string_view line, NextHeaderLine(in, encoded, "a stanza body"));
    if (line.size() > kColumns) {
      return HeaderError(absl::StrCat(where, ": body line longer than 64 columns"));
    }
    absl::StatusOr<std::string> bytes = Base64RawDecode(line);
    if (!bytes.ok()) {
      return HeaderError(absl::StrCat(where, ": body is not canonical unpadded base64 (",
                                      bytes.status().message(), ")"));
    }
    stanza.body += *bytes;
    if (line.size() < kColumns) break;
  }
  return stanza;
}

}  // namespace

absl::StatusOr<Header> ReadHeader(BufferedInput& in) {
  std::string encoded;
  {
    size_t room = std::min(kMaxHeaderSize, size_t{256});
    TRIAD_ASSIGN_OR_RETURN(BufferedInput::Line line, in.ReadLine(room));
    if (line.end == BufferedInput::LineEnd::kNewline && line.text == kVersionLine) {
      encoded.append(line.text.data(), line.text.size());
    } else if (line.text.empty() && line.end == BufferedInput::LineEnd::kEndOfInput) {
      return HeaderError("the input is empty");
    } else if (absl::string_view(line.text).substr(0, kVersionPrefix.size()) == kVersionPrefix) {
      return HeaderError("unsupported version line (Triad reads age-encryption.org/v1)");
    } else {
      return HeaderError("not an age file: it does not start with \"age-encryption.org/v1\"");
    }
  }
  std::vector<Stanza> stanzas;
  while (true) {
    TRIAD_ASSIGN_OR_RETURN(absl::string_view line, NextHeaderLine(in, encoded, "the header"));
    if (line.substr(0, kMacPrefix.size()) == kMacPrefix) {
      // end = "--- " 43base64char LF
      if (line.size() != 4 + kMacB64Size || line[3] != ' ') {
        return HeaderError("malformed MAC line: must be \"--- \" and 43 base64 characters");
      }
      absl::StatusOr<std::string> mac = Base64RawDecode(line.substr(4));
      if (!mac.ok() || mac->size() != kMacSize) {
        return HeaderError("malformed MAC line: the MAC is not canonical base64 of 32 bytes");
      }
      if (stanzas.empty()) return HeaderError("no recipient stanza");
      return HeaderBuilder::FromParsed(std::move(stanzas), std::move(*mac), std::move(encoded));
    }
    if (line.substr(0, kStanzaPrefix.size()) == kStanzaPrefix) {
      TRIAD_ASSIGN_OR_RETURN(Stanza s, ParseStanza(in, encoded, line, stanzas.size()));
      stanzas.push_back(std::move(s));
      continue;
    }
    return HeaderError(absl::StrCat("after stanza ", stanzas.size(),
                                    ": a line that is neither a stanza (\"-> \") nor the MAC line (\"--- \")"));
  }
}

Header HeaderBuilder::FromParsed(std::vector<Stanza> stanzas, std::string mac, std::string encoded) {
  Header h;
  h.stanzas_ = std::move(stanzas);
  h.mac_ = std::move(mac);
  h.encoded_ = std::move(encoded);
  return h;
}

namespace {

// The bytes the MAC covers: the whole header through "---" (the MAC line is "--- " + 43 + "\n").
absl::string_view MacInput(const Header& header) {
  return absl::string_view(header.encoded()).substr(0, header.size() - (1 + kMacB64Size + 1));
}

absl::StatusOr<std::string> MacOver(const SecretBytes& file_key, absl::string_view data) {
  TRIAD_ASSIGN_OR_RETURN(SecretBytes mac_key, HkdfSha256(file_key.view(), "", "header"));
  return HmacSha256(mac_key.view(), data);
}

}  // namespace

absl::StatusOr<std::string> HeaderMac(const SecretBytes& file_key, const Header& header) {
  return MacOver(file_key, MacInput(header));
}

absl::StatusOr<Header> HeaderBuilder::Build(std::vector<Stanza> stanzas, const SecretBytes& file_key) {
  if (stanzas.empty()) return absl::InvalidArgumentError("age header: needs at least one stanza");
  std::string out(kVersionLine);
  for (const Stanza& s : stanzas) {
    absl::StrAppend(&out, kStanzaPrefix);
    if (s.args.empty()) return absl::InvalidArgumentError("age header: a stanza needs a type");
    for (const std::string& arg : s.args) {
      if (!IsValidArgument(arg)) return absl::InvalidArgumentError("age header: invalid stanza argument");
      out += ' ';
      out += arg;
    }
    out += '\n';
    std::string b64 = Base64Raw(s.body);
    // Full 64-column lines, then a final shorter one, empty when the body fills whole lines.
    size_t i = 0;
    for (; i + kColumns <= b64.size(); i += kColumns) {
      out.append(b64, i, kColumns);
      out += '\n';
    }
    out.append(b64, i, std::string::npos);
    out += '\n';
  }
  absl::StrAppend(&out, kMacPrefix);
  TRIAD_ASSIGN_OR_RETURN(std::string mac, MacOver(file_key, out));
  out += ' ';
  out += Base64Raw(mac);
  out += '\n';
  if (out.size() > kMaxHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("age header: would be longer than ", kMaxHeaderSize, " bytes (too many recipients)"));
  }
  return FromParsed(std::move(stanzas), std::move(mac), std::move(out));
}

}  // namespace internal

absl::StatusOr<Header> Header::Parse(absl::string_view data) {
  StringSource source(data);
  internal::BufferedInput in(source);
  return internal::ReadHeader(in);
}

}  // namespace triad::crypto::age
