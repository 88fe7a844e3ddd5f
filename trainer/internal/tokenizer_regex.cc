#include "trainer/internal/tokenizer_regex.h"

#include <optional>
#include <utility>

#include "trainer/internal/tokenizer_unicode.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace triad::trainer::internal {
namespace {

constexpr size_t kMaxPatternBytes = 16 << 10;
// Bounds one match attempt, so that a hostile pattern cannot backtrack for ever. The tokenizer
// patterns backtrack about once per character of a run of one class, so this allows runs of tens of
// megabytes.
constexpr uint32_t kMatchLimit = 20'000'000;

struct CodeDeleter {
  void operator()(pcre2_code* p) const { pcre2_code_free(p); }
};
struct MatchContextDeleter {
  void operator()(pcre2_match_context* p) const { pcre2_match_context_free(p); }
};
struct CompileContextDeleter {
  void operator()(pcre2_compile_context* p) const { pcre2_compile_context_free(p); }
};
struct MatchDataDeleter {
  void operator()(pcre2_match_data* p) const { pcre2_match_data_free(p); }
};

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

std::string Pcre2Error(int code) {
  PCRE2_UCHAR buffer[256];
  if (pcre2_get_error_message(code, buffer, sizeof(buffer)) < 0)
    return "PCRE2 error " + std::to_string(code);
  return std::string(reinterpret_cast<const char*>(buffer));
}

Status PatternError(std::string_view pattern, const std::string& what) {
  return Unimplemented("regex \"" + std::string(pattern.substr(0, 200)) + "\": " + what);
}

// Translates the escape at pattern[*i] == '\\' (inside or outside a character class) and advances
// *i past it.
Status TranslateEscape(std::string_view p, size_t* i, bool in_class, std::string* out) {
  if (*i + 1 >= p.size()) return PatternError(p, "ends with a lone backslash");
  char c = p[*i + 1];
  size_t next = *i + 2;
  switch (c) {
    case 's':
      out->append("\\p{White_Space}");
      break;
    case 'S':
      out->append("\\P{White_Space}");
      break;
    case 'v':
      out->append("\\x{0B}");
      break;
    case 'd':
    case 'D':
    case 't':
    case 'n':
    case 'r':
    case 'f':
    case 'a':
    case 'e':
      out->push_back('\\');
      out->push_back(c);
      break;
    case 'A':
    case 'z':
    case 'Z':
      if (in_class)
        return PatternError(p,
                            std::string("\\") + c + " inside a character class is not supported");
      out->push_back('\\');
      out->push_back(c);
      break;
    case 'p':
    case 'P': {
      if (next >= p.size() || p[next] != '{')
        return PatternError(p, std::string("\\") + c + " without {...}");
      size_t close = p.find('}', next);
      if (close == std::string_view::npos) return PatternError(p, "unterminated \\p{...}");
      std::string_view name = p.substr(next + 1, close - next - 1);
      for (char n : name) {
        if (!IsAsciiLetter(n) && !IsAsciiDigit(n) && n != '_' && n != '^' && n != ' ' && n != '-' &&
            n != '=' && n != '&') {
          return PatternError(p, "unexpected character in a Unicode property name");
        }
      }
      out->append(p.substr(*i, close + 1 - *i));
      next = close + 1;
      break;
    }
    case 'u': {
      if (next + 4 > p.size() || !IsHex(p[next]) || !IsHex(p[next + 1]) || !IsHex(p[next + 2]) ||
          !IsHex(p[next + 3])) {
        return PatternError(p, "\\u must be followed by four hex digits");
      }
      out->append("\\x{");
      out->append(p.substr(next, 4));
      out->push_back('}');
      next += 4;
      break;
    }
    case 'x': {
      if (next < p.size() && p[next] == '{') {
        size_t close = p.find('}', next);
        if (close == std::string_view::npos || close == next + 1 || close - next > 9) {
          return PatternError(p, "malformed \\x{...}");
        }
        for (size_t k = next + 1; k < close; ++k) {
          if (!IsHex(p[k])) return PatternError(p, "malformed \\x{...}");
        }
        out->append(p.substr(*i, close + 1 - *i));
        next = close + 1;
      } else if (next + 2 <= p.size() && IsHex(p[next]) && IsHex(p[next + 1]) && p[next] <= '7') {
        // Oniguruma reads \xHH above 7F as a raw byte, PCRE2 as a code point: only ASCII agrees.
        out->append(p.substr(*i, 4));
        next += 2;
      } else {
        return PatternError(p, "\\x must be followed by two hex digits below 80 or {...}");
      }
      break;
    }
    default:
      if (IsAsciiLetter(c) || IsAsciiDigit(c)) {
        return PatternError(p, std::string("the escape \\") + c + " is not supported");
      }
      if (static_cast<unsigned char>(c) >= 0x80)
        return PatternError(p, "a backslash before a non-ASCII character");
      out->push_back('\\');
      out->push_back(c);
      break;
  }
  *i = next;
  return Status::Ok();
}

}  // namespace

Result<std::string> TranslateOnigurumaPattern(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 32);
  size_t i = 0;
  bool in_class = false;
  size_t class_start = 0;  // index in `p` just after '[' or '[^'
  while (i < p.size()) {
    char c = p[i];
    if (c == '\\') {
      TRAINER_RETURN_IF_ERROR(TranslateEscape(p, &i, in_class, &out));
      continue;
    }
    if (in_class) {
      if (c == ']' && i != class_start) {
        in_class = false;
      } else if (c == '[') {
        return PatternError(p, "nested character classes and POSIX brackets are not supported");
      } else if (c == '&' && i + 1 < p.size() && p[i + 1] == '&') {
        return PatternError(p, "character class intersection (&&) is not supported");
      }
      out.push_back(c);
      ++i;
      continue;
    }
    switch (c) {
      case '[':
        in_class = true;
        out.push_back(c);
        ++i;
        if (i < p.size() && p[i] == '^') {
          out.push_back('^');
          ++i;
        }
        class_start = i;
        continue;
      case '^':
      case '$':
        return PatternError(p, std::string("the line anchor ") + c + " is not supported");
      case '{':
        if (i + 1 < p.size() && p[i + 1] == ',')
          return PatternError(p, "the quantifier {,n} is not supported");
        break;
      case '(':
        if (i + 1 < p.size() && p[i + 1] == '?') {
          if (i + 2 >= p.size()) return PatternError(p, "unterminated group");
          char g = p[i + 2];
          if (g == ':' || g == '=' || g == '!' || g == '>') break;
          if (g == '<' && i + 3 < p.size() && (p[i + 3] == '=' || p[i + 3] == '!')) break;
          // Inline options: only case-insensitivity means the same in both engines.
          size_t k = i + 2;
          while (k < p.size() && (p[k] == 'i' || p[k] == '-')) ++k;
          if (k > i + 2 && k < p.size() && (p[k] == ':' || p[k] == ')')) break;
          return PatternError(p, "the group \"(?" + std::string(1, g) + "\" is not supported");
        }
        break;
      default:
        break;
    }
    out.push_back(c);
    ++i;
  }
  if (in_class) return PatternError(p, "unterminated character class");
  return out;
}

struct Regex::Impl {
  std::unique_ptr<pcre2_code, CodeDeleter> code;
  std::unique_ptr<pcre2_match_context, MatchContextDeleter> match_context;
};

Regex::Regex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Regex::~Regex() = default;

Result<std::unique_ptr<Regex>> Regex::FromOniguruma(std::string_view pattern) {
  if (pattern.size() > kMaxPatternBytes) return PatternError(pattern, "longer than 16 KiB");
  TRAINER_ASSIGN_OR_RETURN(std::string translated, TranslateOnigurumaPattern(pattern));
  auto regex = FromPcre2(translated);
  if (!regex.ok())
    return regex.status().Annotate("regex \"" + std::string(pattern.substr(0, 200)) + "\"");
  return regex;
}

Result<std::unique_ptr<Regex>> Regex::FromPcre2(std::string_view pattern) {
  if (!IsValidUtf8(pattern)) return InvalidArgument("regex is not valid UTF-8");
  std::unique_ptr<pcre2_compile_context, CompileContextDeleter> cctx(
      pcre2_compile_context_create(nullptr));
  if (!cctx) return Status(Code::kResourceExhausted, "out of memory compiling a regex");
  pcre2_set_newline(cctx.get(), PCRE2_NEWLINE_LF);  // '.' excludes only \n, as in Oniguruma
  pcre2_set_parens_nest_limit(cctx.get(), 64);
  int error = 0;
  PCRE2_SIZE offset = 0;
  std::unique_ptr<pcre2_code, CodeDeleter> code(
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C, &error, &offset, cctx.get()));
  if (!code) {
    return InvalidArgument("does not compile (PCRE2, at offset " + std::to_string(offset) +
                           "): " + Pcre2Error(error));
  }
  // JIT is an optimization: when it is not available the interpreter gives the same matches.
  (void)pcre2_jit_compile(code.get(), PCRE2_JIT_COMPLETE);
  std::unique_ptr<pcre2_match_context, MatchContextDeleter> mctx(
      pcre2_match_context_create(nullptr));
  if (!mctx) return Status(Code::kResourceExhausted, "out of memory compiling a regex");
  pcre2_set_match_limit(mctx.get(), kMatchLimit);
  // For the interpreter (used when the JIT's stack is too small): deep enough for group repetitions
  // over long inputs, bounded in memory.
  pcre2_set_depth_limit(mctx.get(), 10'000'000);
  pcre2_set_heap_limit(mctx.get(), 256 * 1024);  // KiB
  auto impl = std::make_unique<Impl>();
  impl->code = std::move(code);
  impl->match_context = std::move(mctx);
  return std::unique_ptr<Regex>(new Regex(std::move(impl)));
}

Status Regex::FindAll(std::string_view text, std::vector<Span>* out) const {
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(
      pcre2_match_data_create_from_pattern(impl_->code.get(), nullptr));
  if (!md) return Status(Code::kResourceExhausted, "out of memory matching a regex");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t last_end = 0;
  std::optional<size_t> last_match_end;
  while (last_end <= text.size()) {
    // The text is well-formed UTF-8 and every start offset is a character boundary (checked by the
    // callers), so PCRE2 need not re-check the whole subject at every call.
    int rc = pcre2_match(impl_->code.get(), subject, text.size(), last_end, PCRE2_NO_UTF_CHECK,
                         md.get(), impl_->match_context.get());
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      // The JIT's machine stack is small; the interpreter keeps its backtracking on the heap.
      rc = pcre2_match(impl_->code.get(), subject, text.size(), last_end,
                       PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md.get(), impl_->match_context.get());
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) return Status(Code::kResourceExhausted, "regex matching failed: " + Pcre2Error(rc));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    size_t s = ov[0], e = ov[1];
    if (e < s) return Internal("regex match ends before it starts");
    if (s == e && last_match_end == e) {
      last_end +=
          last_end < text.size() ? Utf8Length(static_cast<unsigned char>(text[last_end])) : 1;
      continue;
    }
    last_end = e;
    last_match_end = e;
    out->push_back({s, e});
  }
  return Status::Ok();
}

Result<bool> Regex::Matches(std::string_view text) const {
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(
      pcre2_match_data_create_from_pattern(impl_->code.get(), nullptr));
  if (!md) return Status(Code::kResourceExhausted, "out of memory matching a regex");
  int rc = pcre2_match(impl_->code.get(), reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                       PCRE2_NO_UTF_CHECK, md.get(), impl_->match_context.get());
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) return Status(Code::kResourceExhausted, "regex matching failed: " + Pcre2Error(rc));
  return true;
}

void FindLiteral(std::string_view text, std::string_view needle, std::vector<Span>* out) {
  if (needle.empty()) return;
  size_t pos = 0;
  while ((pos = text.find(needle, pos)) != std::string_view::npos) {
    out->push_back({pos, pos + needle.size()});
    pos += needle.size();
  }
}

}  // namespace triad::trainer::internal
