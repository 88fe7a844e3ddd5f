#include "trainer/internal/tokenizer_unicode.h"

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "utf8proc.h"

namespace triad::trainer::internal {
namespace {

// The length of the longest prefix of s[pos..] that is a valid start of a UTF-8 sequence, and
// whether it is complete. Follows the well-formed byte sequences of Unicode table 3-7.
size_t ValidPrefix(std::string_view s, size_t pos, bool* complete) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(pos);
  *complete = false;
  if (b0 < 0x80) {
    *complete = true;
    return 1;
  }
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  size_t len = 1;
  while (len < need && pos + len < s.size()) {
    unsigned char b = byte(pos + len);
    unsigned char l = len == 1 ? lo : 0x80, h = len == 1 ? hi : 0xBF;
    if (b < l || b > h) break;
    ++len;
  }
  *complete = len == need;
  return len;
}

struct FreeDeleter {
  void operator()(utf8proc_uint8_t* p) const { std::free(p); }
};

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    if (static_cast<unsigned char>(s[pos]) < 0x80) {
      ++pos;
      continue;
    }
    bool complete;
    size_t len = ValidPrefix(s, pos, &complete);
    if (!complete) return false;
    pos += len;
  }
  return true;
}

char32_t NextCodePoint(std::string_view s, size_t* pos) {
  const auto byte = [&](size_t i) {
    return static_cast<char32_t>(static_cast<unsigned char>(s[i]));
  };
  size_t p = *pos;
  char32_t b0 = byte(p);
  if (b0 < 0x80) {
    *pos = p + 1;
    return b0;
  }
  if (b0 < 0xE0) {
    *pos = p + 2;
    return ((b0 & 0x1F) << 6) | (byte(p + 1) & 0x3F);
  }
  if (b0 < 0xF0) {
    *pos = p + 3;
    return ((b0 & 0x0F) << 12) | ((byte(p + 1) & 0x3F) << 6) | (byte(p + 2) & 0x3F);
  }
  *pos = p + 4;
  return ((b0 & 0x07) << 18) | ((byte(p + 1) & 0x3F) << 12) | ((byte(p + 2) & 0x3F) << 6) |
         (byte(p + 3) & 0x3F);
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsWhiteSpace(char32_t cp) {
  // PropList.txt, White_Space (unchanged since Unicode 6.3).
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

namespace {

Result<std::string> NormalizeWithUtf8proc(std::string_view s, NormalForm form) {
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalForm::kNfc:
      options |= UTF8PROC_COMPOSE;
      break;
    case NormalForm::kNfd:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case NormalForm::kNfkc:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalForm::kNfkd:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                    static_cast<utf8proc_ssize_t>(s.size()), &out,
                                    static_cast<utf8proc_option_t>(options));
  std::unique_ptr<utf8proc_uint8_t, FreeDeleter> owned(out);
  if (n < 0)
    return InvalidArgument(std::string("Unicode normalization failed: ") + utf8proc_errmsg(n));
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

}  // namespace

Result<std::string> Normalize(std::string_view s, NormalForm form) {
  // Characters below U+0300 are their own NFC form, have combining class 0, and are never the
  // second character of a canonical composition; for the other forms (which decompose, e.g. U+00C0,
  // or map compatibility characters, e.g. U+00A0) the same holds below U+0080. So the text may be
  // cut before any such "stable" character and normalized piece by piece, and runs of stable
  // characters need no normalization, except the last one before an unstable character, which may
  // compose with the combining marks after it.
  const bool ascii_only = form != NormalForm::kNfc;
  // Lead bytes of stable characters: ASCII, and for NFC also C2..CB (U+0080..U+02FF).
  const auto stable_lead = [ascii_only](unsigned char b) {
    return b < 0x80 || (!ascii_only && b >= 0xC2 && b < 0xCC);
  };
  const auto unstable_lead = [&stable_lead](unsigned char b) {
    return b >= 0xC0 && !stable_lead(b);
  };
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && !unstable_lead(static_cast<unsigned char>(s[j]))) ++j;
    if (j == s.size()) {
      out.append(s.substr(i));
      break;
    }
    // The region to normalize starts at the stable character just before j, if there is one.
    size_t region = j;
    if (j > i) {
      do {
        --region;
      } while (region > i && (static_cast<unsigned char>(s[region]) & 0xC0) == 0x80);
    }
    out.append(s.substr(i, region - i));
    size_t k = j;
    while (k < s.size() && !stable_lead(static_cast<unsigned char>(s[k]))) ++k;
    TRAINER_ASSIGN_OR_RETURN(std::string normalized,
                             NormalizeWithUtf8proc(s.substr(region, k - region), form));
    out.append(normalized);
    i = k;
  }
  return out;
}

const std::array<std::string, 256>& ByteToUnicode() {
  static const std::array<std::string, 256> table = [] {
    // Printable bytes stand for themselves; the others are shifted to U+0100 and up, in byte order.
    std::array<std::string, 256> t;
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      AppendUtf8(printable ? static_cast<char32_t>(b) : next++, &t[b]);
    }
    return t;
  }();
  return table;
}

int UnicodeToByte(char32_t cp) {
  static const std::array<int16_t, 324> inverse = [] {
    std::array<int16_t, 324> inv;
    inv.fill(-1);
    const auto& table = ByteToUnicode();
    for (int b = 0; b < 256; ++b) {
      size_t pos = 0;
      inv[NextCodePoint(table[b], &pos)] = static_cast<int16_t>(b);
    }
    return inv;
  }();
  return cp < inverse.size() ? inverse[cp] : -1;
}

std::string Utf8Lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    bool complete;
    size_t len = ValidPrefix(bytes, pos, &complete);
    if (complete) {
      out.append(bytes.substr(pos, len));
      pos += len;
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD for the maximal subpart (at least one byte)
      pos += len == 0 ? 1 : len;
    }
  }
  return out;
}

}  // namespace triad::trainer::internal
