#include "measure/coco.h"

#include <zlib.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/encoding.h"
#include "base/json.h"
#include "base/status.h"
#include "crypto/hash.h"

namespace triad::measure {
namespace internal {
extern const char kAgentPolicyRego[];
extern const size_t kAgentPolicyRegoSize;
}  // namespace internal

namespace {

constexpr char kPolicyKey[] = "policy.rego";
constexpr char kDataLinePrefix[] = "triad_worker := ";

// The TOML subset of init-data (TOML 1.0.0: comments, bare and quoted keys, the four string forms,
// one standard table). One parser object per document.
class TomlReader {
 public:
  explicit TomlReader(absl::string_view text) : s_(text) {}

  absl::Status Read(InitData& out) {
    std::map<std::string, std::string>* table = &top_;
    bool seen_data = false;
    while (true) {
      SkipBlank();
      if (AtEnd()) break;
      if (Peek() == '[') {
        if (s_.substr(pos_, 2) == "[[") return Fail("arrays of tables are not init-data");
        ++pos_;
        SkipSpace();
        std::string name;
        TRIAD_RETURN_IF_ERROR(Key(name));
        SkipSpace();
        if (AtEnd() || Peek() != ']') return Fail("expected ] after the table name");
        ++pos_;
        TRIAD_RETURN_IF_ERROR(EndOfLine());
        if (name != "data") {
          return Fail(absl::StrCat("table [", name, "]: init-data has only the [data] table"));
        }
        if (seen_data) return Fail("table [data] defined twice");
        seen_data = true;
        table = &out.data;
        continue;
      }
      std::string key, value;
      const int key_line = line_;
      TRIAD_RETURN_IF_ERROR(Key(key));
      SkipSpace();
      if (!AtEnd() && Peek() == '.') return Fail("dotted keys are not init-data");
      if (AtEnd() || Peek() != '=') return Fail(absl::StrCat("expected = after key \"", key, "\""));
      ++pos_;
      SkipSpace();
      TRIAD_RETURN_IF_ERROR(String(value));
      TRIAD_RETURN_IF_ERROR(EndOfLine());
      if (!table->emplace(key, std::move(value)).second) {
        line_ = key_line;
        return Fail(absl::StrCat("key \"", key, "\" defined twice"));
      }
    }
    if (!seen_data) return absl::InvalidArgumentError("init-data: no [data] table");
    for (const auto& [k, v] : top_) {
      if (k == "version") {
        out.version = v;
      } else if (k == "algorithm") {
        out.algorithm = v;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("init-data: unknown top-level key \"", k,
                         "\" (init-data has version, algorithm and [data])"));
      }
    }
    return absl::OkStatus();
  }

 private:
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return s_[pos_]; }
  absl::Status Fail(absl::string_view why) const {
    return absl::InvalidArgumentError(
        absl::StrCat("init-data is not TOML Triad reads: line ", line_, ": ", why));
  }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t')) ++pos_;
  }
  // Blank lines and comment lines.
  void SkipBlank() {
    while (!AtEnd()) {
      SkipSpace();
      if (AtEnd()) return;
      if (Peek() == '#') {
        while (!AtEnd() && Peek() != '\n') ++pos_;
      }
      if (AtEnd()) return;
      if (Peek() == '\n') {
        ++pos_;
        ++line_;
      } else if (s_.substr(pos_, 2) == "\r\n") {
        pos_ += 2;
        ++line_;
      } else {
        return;
      }
    }
  }
  absl::Status EndOfLine() {
    SkipSpace();
    if (!AtEnd() && Peek() == '#') {
      while (!AtEnd() && Peek() != '\n') {
        const unsigned char c = static_cast<unsigned char>(Peek());
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) return Fail("control character in a comment");
        ++pos_;
      }
    }
    if (AtEnd()) return absl::OkStatus();
    if (Peek() == '\n') {
      ++pos_;
      ++line_;
      return absl::OkStatus();
    }
    if (s_.substr(pos_, 2) == "\r\n") {
      pos_ += 2;
      ++line_;
      return absl::OkStatus();
    }
    return Fail("expected the end of the line");
  }
  absl::Status Key(std::string& key) {
    if (AtEnd()) return Fail("expected a key");
    if (Peek() == '"' || Peek() == '\'') {
      if (s_.substr(pos_, 3) == "\"\"\"" || s_.substr(pos_, 3) == "'''") {
        return Fail("a key cannot be a multi-line string");
      }
      TRIAD_RETURN_IF_ERROR(String(key));
      return absl::OkStatus();
    }
    const size_t start = pos_;
    while (!AtEnd() && (absl::ascii_isalnum(Peek()) || Peek() == '_' || Peek() == '-')) ++pos_;
    if (pos_ == start) return Fail("expected a key");
    key = std::string(s_.substr(start, pos_ - start));
    return absl::OkStatus();
  }
  // A newline (LF or CRLF) inside a multi-line string: kept as written (LF or CRLF).
  bool Newline(std::string& out) {
    if (Peek() == '\n') {
      out.push_back('\n');
      ++pos_;
      ++line_;
      return true;
    }
    if (s_.substr(pos_, 2) == "\r\n") {
      out += "\r\n";
      pos_ += 2;
      ++line_;
      return true;
    }
    return false;
  }
  absl::Status String(std::string& out) {
    if (AtEnd()) return Fail("expected a string value");
    if (s_.substr(pos_, 3) == "'''") return MultiLine(out, /*basic=*/false);
    if (s_.substr(pos_, 3) == "\"\"\"") return MultiLine(out, /*basic=*/true);
    const char q = Peek();
    if (q != '"' && q != '\'') {
      return Fail("values must be strings (init-data holds only strings)");
    }
    ++pos_;
    while (true) {
      if (AtEnd() || Peek() == '\n' || Peek() == '\r') return Fail("unterminated string");
      const char c = Peek();
      if (c == q) {
        ++pos_;
        return absl::OkStatus();
      }
      if (q == '"' && c == '\\') {
        TRIAD_RETURN_IF_ERROR(Escape(out));
        continue;
      }
      TRIAD_RETURN_IF_ERROR(Plain(out));
    }
  }
  absl::Status MultiLine(std::string& out, bool basic) {
    const char q = basic ? '"' : '\'';
    const std::string delim(3, q);
    pos_ += 3;
    std::string ignored;
    if (!AtEnd()) Newline(ignored);  // a newline right after the opening delimiter is trimmed
    while (true) {
      if (AtEnd()) return Fail("unterminated multi-line string");
      if (s_.substr(pos_, 3) == delim) {
        // Up to two more quotes belong to the content ("""a""""" is a"" in TOML).
        size_t run = 3;
        while (pos_ + run < s_.size() && s_[pos_ + run] == q && run < 5) ++run;
        out.append(run - 3, q);
        pos_ += run;
        return absl::OkStatus();
      }
      if (Newline(out)) continue;
      if (basic && Peek() == '\\') {
        // A line-ending backslash trims the newline and the whitespace that follows.
        size_t p = pos_ + 1;
        while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t')) ++p;
        if (p < s_.size() && (s_[p] == '\n' || s_.substr(p, 2) == "\r\n")) {
          pos_ = p;
          while (!AtEnd()) {
            if (Newline(ignored)) {
              ignored.clear();
              continue;
            }
            if (Peek() == ' ' || Peek() == '\t') {
              ++pos_;
              continue;
            }
            break;
          }
          continue;
        }
        TRIAD_RETURN_IF_ERROR(Escape(out));
        continue;
      }
      TRIAD_RETURN_IF_ERROR(Plain(out));
    }
  }
  // One character of string content: tabs and printable text; other control characters are
  // refused, as TOML requires.
  absl::Status Plain(std::string& out) {
    const unsigned char c = static_cast<unsigned char>(Peek());
    if ((c < 0x20 && c != '\t') || c == 0x7f) return Fail("control character in a string");
    out.push_back(static_cast<char>(c));
    ++pos_;
    return absl::OkStatus();
  }
  absl::Status Escape(std::string& out) {
    ++pos_;  // the backslash
    if (AtEnd()) return Fail("unterminated escape");
    const char e = Peek();
    ++pos_;
    switch (e) {
      case 'b': out.push_back('\b'); return absl::OkStatus();
      case 't': out.push_back('\t'); return absl::OkStatus();
      case 'n': out.push_back('\n'); return absl::OkStatus();
      case 'f': out.push_back('\f'); return absl::OkStatus();
      case 'r': out.push_back('\r'); return absl::OkStatus();
      case '"': out.push_back('"'); return absl::OkStatus();
      case '\\': out.push_back('\\'); return absl::OkStatus();
      case 'u':
      case 'U': {
        const size_t n = e == 'u' ? 4 : 8;
        if (s_.size() - pos_ < n) return Fail("short unicode escape");
        uint32_t cp = 0;
        for (size_t i = 0; i < n; ++i) {
          const char h = s_[pos_ + i];
          if (!absl::ascii_isxdigit(h)) return Fail("bad unicode escape");
          cp = cp * 16 + (absl::ascii_isdigit(h) ? h - '0' : absl::ascii_tolower(h) - 'a' + 10);
        }
        pos_ += n;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          return Fail("unicode escape is not a scalar value");
        }
        AppendUtf8(out, cp);
        return absl::OkStatus();
      }
      default:
        return Fail(absl::StrCat("unknown escape \\", std::string(1, e)));
    }
  }
  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  absl::string_view s_;
  size_t pos_ = 0;
  int line_ = 1;
  std::map<std::string, std::string> top_;
};

// Well-formed UTF-8 (TOML documents must be): no overlongs, no surrogates, nothing past U+10FFFF.
bool ValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0, min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(c) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

absl::Status ReadStringList(const nlohmann::json& j, const char* key, std::vector<std::string>& out,
                            bool required_non_empty) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be an array of strings"));
  }
  for (const auto& e : *it) {
    if (!e.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be an array of strings"));
    }
    out.push_back(e.get<std::string>());
  }
  if (required_non_empty && out.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" is empty"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<InitData> ParseInitData(absl::string_view text) {
  if (text.size() > kMaxInitDataSize) {
    return absl::InvalidArgumentError(absl::StrCat("init-data of ", text.size(),
                                                   " bytes is larger than ", kMaxInitDataSize));
  }
  if (!ValidUtf8(text)) return absl::InvalidArgumentError("init-data is not UTF-8 text");
  InitData d;
  d.text = std::string(text);
  TomlReader reader(text);
  TRIAD_RETURN_IF_ERROR(reader.Read(d));
  if (d.version != "0.1.0") {
    return absl::InvalidArgumentError(
        d.version.empty() ? "init-data has no version (expected version = \"0.1.0\")"
                          : absl::StrCat("init-data version \"", d.version,
                                         "\" is not one Triad knows (0.1.0)"));
  }
  if (d.algorithm != "sha256" && d.algorithm != "sha384" && d.algorithm != "sha512") {
    return absl::InvalidArgumentError(
        d.algorithm.empty()
            ? "init-data has no algorithm (expected sha256, sha384 or sha512)"
            : absl::StrCat("init-data algorithm \"", d.algorithm,
                           "\" is not sha256, sha384 or sha512"));
  }
  return d;
}

std::string InitDataDigest(const InitData& d) {
  if (d.algorithm == "sha256") return crypto::Sha256(d.text);
  if (d.algorithm == "sha512") return crypto::Sha512(d.text);
  return crypto::Sha384(d.text);
}

std::string FitDigest(absl::string_view digest, size_t size) {
  std::string out(digest.substr(0, size));
  out.resize(size, '\0');
  return out;
}

std::string WorkerPin::image_digest() const {
  const size_t at = image.rfind('@');
  return at == std::string::npos ? "" : image.substr(at + 1);
}

absl::Status CheckImageReference(absl::string_view image) {
  const size_t at = image.rfind('@');
  const absl::string_view name = at == absl::string_view::npos ? image : image.substr(0, at);
  const absl::string_view digest = at == absl::string_view::npos ? "" : image.substr(at + 1);
  if (name.empty() || !absl::StartsWith(digest, "sha256:") || digest.size() != 7 + 64 ||
      !IsLowerHex(digest.substr(7))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image \"", image, "\" is not pinned by digest (expected NAME@sha256:<64 hex digits>)"));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '-' && c != '_' && c != '/' && c != ':') {
      return absl::InvalidArgumentError(absl::StrCat("image name \"", name, "\" has a bad character"));
    }
  }
  return absl::OkStatus();
}

absl::string_view AgentPolicyRules() {
  return absl::string_view(internal::kAgentPolicyRego, internal::kAgentPolicyRegoSize);
}

std::string MakeAgentPolicy(const WorkerPin& pin) {
  nlohmann::ordered_json j;
  j["image"] = pin.image;
  j["args"] = pin.args;
  j["env_names"] = pin.env_names;
  j["mount_destinations"] = pin.mount_destinations;
  return absl::StrCat(AgentPolicyRules(), kDataLinePrefix, j.dump(), "\n");
}

std::string MakeInitData(const WorkerPin& pin) {
  return absl::StrCat("algorithm = \"sha384\"\nversion = \"0.1.0\"\n\n[data]\n\"", kPolicyKey,
                      "\" = '''\n", MakeAgentPolicy(pin), "'''\n");
}

absl::StatusOr<WorkerPin> ReadWorkerPin(const InitData& d) {
  auto it = d.data.find(kPolicyKey);
  if (it == d.data.end()) {
    return absl::InvalidArgumentError(
        "init-data has no policy: [data] lacks \"policy.rego\", so kata-agent would run any "
        "container; Triad needs its worker agent policy there");
  }
  const std::string& policy = it->second;
  const absl::string_view rules = AgentPolicyRules();
  if (!absl::StartsWith(policy, rules)) {
    size_t same = 0;
    while (same < policy.size() && same < rules.size() && policy[same] == rules[same]) ++same;
    const int line = 1 + static_cast<int>(std::count(policy.begin(), policy.begin() + same, '\n'));
    return absl::InvalidArgumentError(absl::StrCat(
        "init-data policy.rego is not the Triad worker agent policy v1 (it differs from "
        "deploy/kubernetes/coco/agent-policy.rego at line ",
        line, "), so Triad cannot tell which images it lets the pod run"));
  }
  absl::string_view rest = absl::string_view(policy).substr(rules.size());
  if (!absl::ConsumePrefix(&rest, kDataLinePrefix) || !absl::ConsumeSuffix(&rest, "\n") ||
      absl::StrContains(rest, '\n')) {
    return absl::InvalidArgumentError(
        "init-data policy.rego does not pin the worker image: the Triad agent policy must end with "
        "one line `triad_worker := {...}`");
  }
  base::JsonLimits limits;
  limits.max_depth = 3;
  absl::StatusOr<nlohmann::json> j = base::ParseJsonStrict(rest, limits);
  if (!j.ok() || !j->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "init-data policy.rego does not pin the worker image: triad_worker is not a JSON object",
        j.ok() ? "" : absl::StrCat(" (", j.status().message(), ")")));
  }
  WorkerPin pin;
  const std::set<std::string> keys = {"image", "args", "env_names", "mount_destinations"};
  for (const auto& [k, v] : j->items()) {
    if (keys.count(k) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("init-data policy.rego: triad_worker has an unknown key \"", k, "\""));
    }
  }
  auto image = j->find("image");
  if (image == j->end() || !image->is_string()) {
    return absl::InvalidArgumentError(
        "init-data policy.rego does not pin the worker image: triad_worker has no \"image\"");
  }
  pin.image = image->get<std::string>();
  absl::Status st = CheckImageReference(pin.image);
  if (!st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "init-data policy.rego does not pin the worker image by digest: ", st.message()));
  }
  for (auto [key, list, non_empty] :
       {std::make_tuple("args", &pin.args, true), std::make_tuple("env_names", &pin.env_names, false),
        std::make_tuple("mount_destinations", &pin.mount_destinations, false)}) {
    st = ReadStringList(*j, key, *list, non_empty);
    if (!st.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("init-data policy.rego: triad_worker: ", st.message()));
    }
  }
  return pin;
}

absl::StatusOr<std::string> InitDataAnnotation(absl::string_view text) {
  if (text.size() > kMaxInitDataSize) return absl::InvalidArgumentError("init-data too large");
  z_stream z{};
  // windowBits 31: a gzip wrapper; zlib writes no name and a zero time, so the output is the same
  // on every machine for the same zlib.
  if (deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("gzip: deflateInit2 failed");
  }
  std::string out(deflateBound(&z, text.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return absl::InternalError("gzip: deflate did not finish");
  return base::Base64Encode(out);
}

absl::StatusOr<std::string> DecodeInitDataAnnotation(absl::string_view annotation) {
  TRIAD_ASSIGN_OR_RETURN(std::string gz,
                         base::Annotate(base::Base64Decode(annotation), "init-data annotation"));
  z_stream z{};
  if (inflateInit2(&z, 31) != Z_OK) return absl::InternalError("gzip: inflateInit2 failed");
  std::string out(kMaxInitDataSize + 1, '\0');
  z.next_in = reinterpret_cast<Bytef*>(gz.data());
  z.avail_in = static_cast<uInt>(gz.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  const size_t produced = z.total_out;
  const bool trailing = z.avail_in != 0;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || trailing || produced > kMaxInitDataSize) {
    return absl::InvalidArgumentError(
        "init-data annotation is not one gzip stream of at most 256 KiB");
  }
  out.resize(produced);
  return out;
}

}  // namespace triad::measure
