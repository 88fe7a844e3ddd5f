// ASCII armor (age spec, "ASCII armor"): RFC 7468 section 3 strict PEM, label "AGE ENCRYPTED FILE",
// padded base64 in 64-column lines (48 bytes each), the last line shorter or full.
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/status.h"
#include "crypto/age.h"
#include "crypto/internal/age_format.h"

namespace triad::crypto::age {
namespace {

constexpr absl::string_view kBegin = "-----BEGIN AGE ENCRYPTED FILE-----";
constexpr absl::string_view kEnd = "-----END AGE ENCRYPTED FILE-----";
constexpr size_t kColumns = 64;
constexpr size_t kBytesPerLine = kColumns / 4 * 3;  // 48
// Longer than any valid line (64 columns or a marker, and CR LF): a line this long is refused
// without reading further.
constexpr size_t kMaxLine = 80;

absl::Status ArmorError(absl::string_view message) {
  return internal::AgeError(ErrorKind::kArmor, message);
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

}  // namespace

// ---- writer ----

ArmorWriter::ArmorWriter(ByteSink& out) : out_(out) {}

absl::Status ArmorWriter::WriteLines(absl::string_view data, bool final) {
  std::string text;
  text.reserve((data.size() / kBytesPerLine + 3) * (kColumns + 1) + kBegin.size() + kEnd.size());
  if (!started_) {
    absl::StrAppend(&text, kBegin, "\n");
    started_ = true;
  }
  while (data.size() >= kBytesPerLine || (final && !data.empty())) {
    size_t take = std::min(kBytesPerLine, data.size());
    absl::StrAppend(&text, base::Base64Encode(data.substr(0, take)), "\n");
    data.remove_prefix(take);
  }
  if (final) absl::StrAppend(&text, kEnd, "\n");
  pending_.assign(data.data(), data.size());
  return out_.Write(text);
}

absl::Status ArmorWriter::Write(absl::string_view data) {
  if (finished_) return absl::FailedPreconditionError("age armor: write after finish");
  if (pending_.size() + data.size() < kBytesPerLine) {
    pending_.append(data.data(), data.size());
    return absl::OkStatus();
  }
  if (!pending_.empty()) {
    // Complete the pending line, then encode the rest straight from `data`.
    size_t take = kBytesPerLine - pending_.size();
    std::string line = pending_ + std::string(data.substr(0, take));
    pending_.clear();
    TRIAD_RETURN_IF_ERROR(WriteLines(line, false));
    data.remove_prefix(take);
  }
  return WriteLines(data, false);
}

absl::Status ArmorWriter::Finish() {
  if (finished_) return absl::FailedPreconditionError("age armor: finished twice");
  finished_ = true;
  std::string rest = std::move(pending_);
  pending_.clear();
  return WriteLines(rest, true);
}

// ---- reader ----

struct ArmorReader::State {
  explicit State(ByteSource& source) : in(source) {}
  internal::BufferedInput in;
  enum class Phase { kStart, kBody, kDone } phase = Phase::kStart;
  bool saw_last_line = false;  // a short or padded line: only the end marker may follow it
  std::string decoded;
  size_t pos = 0;
  absl::Status error;  // sticky

  absl::Status Advance();
  absl::Status SkipSpace(bool must_reach_end);
};

ArmorReader::ArmorReader(ByteSource& in) : state_(std::make_unique<State>(in)) {}
ArmorReader::~ArmorReader() = default;

absl::Status ArmorReader::State::SkipSpace(bool must_reach_end) {
  while (true) {
    TRIAD_ASSIGN_OR_RETURN(absl::string_view ahead, in.Peek(4096));
    if (ahead.empty()) return absl::OkStatus();
    size_t n = 0;
    while (n < ahead.size() && IsSpace(ahead[n])) ++n;
    in.Skip(n);
    if (n < ahead.size()) {
      return must_reach_end ? ArmorError(absl::StrCat("data after the ", kEnd, " line"))
                            : absl::OkStatus();
    }
  }
}

absl::Status ArmorReader::State::Advance() {
  if (phase == Phase::kStart) {
    TRIAD_RETURN_IF_ERROR(SkipSpace(false));
    TRIAD_ASSIGN_OR_RETURN(internal::BufferedInput::Line line, in.ReadLine(kMaxLine));
    absl::string_view text = line.text;
    if (line.end == internal::BufferedInput::LineEnd::kNewline) {
      text.remove_suffix(1);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    }
    if (line.end != internal::BufferedInput::LineEnd::kNewline || text != kBegin) {
      return ArmorError(absl::StrCat("the input does not start with a ", kBegin, " line"));
    }
    phase = Phase::kBody;
    return absl::OkStatus();
  }
  TRIAD_ASSIGN_OR_RETURN(internal::BufferedInput::Line line, in.ReadLine(kMaxLine));
  if (line.end == internal::BufferedInput::LineEnd::kTooLong) {
    return ArmorError("a line is longer than 64 columns");
  }
  absl::string_view text = line.text;
  const bool eol = line.end == internal::BufferedInput::LineEnd::kNewline;
  if (eol) {
    text.remove_suffix(1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  }
  if (text == kEnd) {
    // Only white space may follow, up to the end of the input.
    if (eol) TRIAD_RETURN_IF_ERROR(SkipSpace(true));
    phase = Phase::kDone;
    return absl::OkStatus();
  }
  if (!eol) return ArmorError(absl::StrCat("the input ends without a ", kEnd, " line"));
  if (saw_last_line) {
    return ArmorError("a line follows a short or padded base64 line, which must be the last");
  }
  if (text.empty()) return ArmorError("an empty line inside the armor");
  if (text.size() > kColumns) return ArmorError("a line is longer than 64 columns");
  if (text.size() % 4 != 0) {
    return ArmorError("a base64 line is not a multiple of 4 characters (missing padding?)");
  }
  absl::StatusOr<std::string> bytes = base::Base64Decode(text, base::Base64Padding::kWith);
  if (!bytes.ok()) {
    return ArmorError(absl::StrCat("a line is not canonical base64 (", bytes.status().message(), ")"));
  }
  if (text.size() < kColumns || text.back() == '=') saw_last_line = true;
  decoded = std::move(*bytes);
  pos = 0;
  return absl::OkStatus();
}

absl::StatusOr<size_t> ArmorReader::Read(char* buf, size_t n) {
  State& s = *state_;
  if (!s.error.ok()) return s.error;
  while (s.pos == s.decoded.size()) {
    if (s.phase == State::Phase::kDone) return 0;
    absl::Status st = s.Advance();
    if (!st.ok()) {
      s.error = st;
      return st;
    }
  }
  size_t k = std::min(n, s.decoded.size() - s.pos);
  std::memcpy(buf, s.decoded.data() + s.pos, k);
  s.pos += k;
  return k;
}

// ---- in memory ----

std::string ArmorEncode(absl::string_view binary) {
  std::string out;
  StringSink sink(&out);
  ArmorWriter w(sink);
  // Writing to a string cannot fail.
  (void)w.Write(binary);
  (void)w.Finish();
  return out;
}

absl::StatusOr<std::string> ArmorDecode(absl::string_view armored) {
  StringSource source(armored);
  ArmorReader r(source);
  std::string out;
  out.reserve(armored.size() / 4 * 3);
  char buf[4096];
  while (true) {
    TRIAD_ASSIGN_OR_RETURN(size_t n, r.Read(buf, sizeof buf));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

}  // namespace triad::crypto::age
