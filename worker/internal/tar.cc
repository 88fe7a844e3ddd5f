// TEMPORARY until base/tar lands (see tar.h).
#include "worker/internal/tar.h"

#include <cstdint>
#include <cstring>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace triad::worker::internal {
namespace {

// ustar header fields (offset, size), POSIX pax chapter "ustar Interchange Format".
constexpr size_t kNameOff = 0, kNameLen = 100;
constexpr size_t kModeOff = 100, kModeLen = 8;
constexpr size_t kUidOff = 108, kGidOff = 116, kIdLen = 8;
constexpr size_t kSizeOff = 124, kSizeLen = 12;
constexpr size_t kMtimeOff = 136, kMtimeLen = 12;
constexpr size_t kChksumOff = 148, kChksumLen = 8;
constexpr size_t kTypeOff = 156;
constexpr size_t kMagicOff = 257;  // "ustar\0" then version "00"; GNU: "ustar  \0"
constexpr size_t kPrefixOff = 345, kPrefixLen = 155;

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("tar archive: ", what));
}

// A NUL-terminated (or full-width) text field.
std::string Field(absl::string_view block, size_t off, size_t len) {
  absl::string_view f = block.substr(off, len);
  size_t nul = f.find('\0');
  return std::string(f.substr(0, nul));
}

// An octal number field (leading spaces, then digits, then NUL or space), or GNU base-256 (first
// byte 0x80: big-endian binary in the rest).
std::optional<uint64_t> Numeric(absl::string_view block, size_t off, size_t len) {
  absl::string_view f = block.substr(off, len);
  const auto first = static_cast<unsigned char>(f[0]);
  if (first & 0x80) {
    if (first != 0x80) return std::nullopt;  // negative (0xff) or unknown
    uint64_t v = 0;
    for (size_t i = 1; i < f.size(); ++i) {
      if (v >> 56) return std::nullopt;
      v = (v << 8) | static_cast<unsigned char>(f[i]);
    }
    return v;
  }
  size_t i = 0;
  while (i < f.size() && f[i] == ' ') ++i;
  uint64_t v = 0;
  bool digits = false;
  for (; i < f.size() && f[i] >= '0' && f[i] <= '7'; ++i) {
    if (v >> 60) return std::nullopt;
    v = v * 8 + static_cast<uint64_t>(f[i] - '0');
    digits = true;
  }
  for (; i < f.size(); ++i) {
    if (f[i] != '\0' && f[i] != ' ') return std::nullopt;
  }
  if (!digits) return std::nullopt;
  return v;
}

bool IsZeroBlock(absl::string_view block) {
  for (char c : block) {
    if (c != '\0') return false;
  }
  return true;
}

// The header checksum: the sum of the header's bytes with the checksum field taken as spaces. Some
// historic writers summed signed chars; both are accepted, as GNU tar does.
bool ChecksumMatches(absl::string_view block, uint64_t stored) {
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < kTarBlockSize; ++i) {
    char c = (i >= kChksumOff && i < kChksumOff + kChksumLen) ? ' ' : block[i];
    unsigned_sum += static_cast<unsigned char>(c);
    signed_sum += static_cast<signed char>(c);
  }
  return stored == unsigned_sum || static_cast<int64_t>(stored) == signed_sum;
}

// pax extended header records: "<len> <key>=<value>\n", len counting the whole record.
absl::Status ParsePax(absl::string_view data, std::optional<std::string>* path, bool* has_size,
                      uint64_t* size) {
  while (!data.empty()) {
    size_t space = data.find(' ');
    uint64_t len = 0;
    if (space == absl::string_view::npos || !absl::SimpleAtoi(data.substr(0, space), &len) ||
        len <= space + 1 || len > data.size() || data[len - 1] != '\n') {
      return Bad("malformed pax extended header record");
    }
    absl::string_view record = data.substr(space + 1, len - space - 2);
    size_t eq = record.find('=');
    if (eq == absl::string_view::npos) return Bad("malformed pax extended header record");
    absl::string_view key = record.substr(0, eq), value = record.substr(eq + 1);
    if (key == "path") {
      *path = std::string(value);
    } else if (key == "size") {
      uint64_t v = 0;
      if (!absl::SimpleAtoi(value, &v)) return Bad("pax size record is not a number");
      *has_size = true;
      *size = v;
    }
    data.remove_prefix(len);
  }
  return absl::OkStatus();
}

absl::string_view TypeName(char type) {
  switch (type) {
    case '1':
      return "a hard link";
    case '2':
      return "a symbolic link";
    case '3':
      return "a character device";
    case '4':
      return "a block device";
    case '6':
      return "a FIFO";
    default:
      return "of an unsupported type";
  }
}

void PutOctal(char* dst, size_t len, uint64_t v) {
  // len-1 octal digits, zero-padded, then NUL.
  for (size_t i = len - 1; i-- > 0;) {
    dst[i] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
  dst[len - 1] = '\0';
}

}  // namespace

absl::StatusOr<std::vector<TarMember>> ReadTar(absl::string_view archive) {
  std::vector<TarMember> members;
  std::optional<std::string> next_path;
  // From a pax header, for the next member (a plain flag and value: GCC 12 warns on optional here).
  bool has_next_size = false;
  uint64_t next_size = 0;
  size_t off = 0;
  for (int index = 0;; ++index) {
    if (archive.size() - off < kTarBlockSize) {
      return Bad(off == archive.size() ? "no end-of-archive block (truncated?)"
                                       : "ends inside a header block (truncated?)");
    }
    absl::string_view block = archive.substr(off, kTarBlockSize);
    if (IsZeroBlock(block)) break;  // end of archive (a second zero block may follow)
    const std::string where = absl::StrCat("header ", index, " at byte ", off);
    std::optional<uint64_t> chksum = Numeric(block, kChksumOff, kChksumLen);
    if (!chksum || !ChecksumMatches(block, *chksum))
      return Bad(absl::StrCat(where, ": bad checksum"));
    absl::string_view magic = block.substr(kMagicOff, 8);
    const bool gnu = magic == absl::string_view("ustar  \0", 8);
    if (!gnu && magic.substr(0, 6) != absl::string_view("ustar\0", 6)) {
      return Bad(absl::StrCat(where, ": not a ustar header"));
    }
    std::optional<uint64_t> size = Numeric(block, kSizeOff, kSizeLen);
    if (!size) return Bad(absl::StrCat(where, ": bad size field"));
    const char type = block[kTypeOff];
    if (has_next_size && (type == '0' || type == '\0' || type == '7')) size = next_size;
    const uint64_t available = archive.size() - off - kTarBlockSize;
    if (*size > available) return Bad(absl::StrCat(where, ": member data runs past the end"));
    absl::string_view data = archive.substr(off + kTarBlockSize, *size);
    const uint64_t padded = (*size + kTarBlockSize - 1) / kTarBlockSize * kTarBlockSize;
    off += kTarBlockSize + (padded > available ? available : padded);

    std::string name = Field(block, kNameOff, kNameLen);
    if (!gnu) {
      std::string prefix = Field(block, kPrefixOff, kPrefixLen);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    switch (type) {
      case 'L': {  // GNU long name of the next member
        absl::string_view n = data;
        while (!n.empty() && n.back() == '\0') n.remove_suffix(1);
        next_path = std::string(n);
        continue;
      }
      case 'x':
        if (absl::Status st = ParsePax(data, &next_path, &has_next_size, &next_size); !st.ok())
          return st;
        continue;
      case 'g':  // pax global header: nothing the worker needs
      case 'K':  // GNU long link name
        continue;
      case '5':
        next_path.reset();
        has_next_size = false;
        continue;
      case '0':
      case '\0':
      case '7':
        break;
      default:
        return Bad(absl::StrCat("member \"", next_path.value_or(name), "\" is ", TypeName(type),
                                "; only regular files are accepted"));
    }
    if (next_path) name = *next_path;
    next_path.reset();
    has_next_size = false;
    if (name.empty()) return Bad(absl::StrCat(where, ": empty member name"));
    members.push_back({std::move(name), data});
  }
  return members;
}

absl::StatusOr<crypto::SecretBytes> WriteTar(absl::Span<const TarMember> members) {
  size_t total = 2 * kTarBlockSize;
  for (const TarMember& m : members) {
    if (m.name.empty() || m.name.size() > kNameLen || m.name.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tar: member name \"", m.name, "\" is empty, longer than 100 bytes or holds a NUL"));
    }
    total += kTarBlockSize + (m.data.size() + kTarBlockSize - 1) / kTarBlockSize * kTarBlockSize;
  }
  crypto::SecretBytes out(total);  // zero-filled: padding and end blocks
  char* p = reinterpret_cast<char*>(out.data());
  for (const TarMember& m : members) {
    char* h = p;
    std::memcpy(h + kNameOff, m.name.data(), m.name.size());
    PutOctal(h + kModeOff, kModeLen, 0644);
    PutOctal(h + kUidOff, kIdLen, 0);
    PutOctal(h + kGidOff, kIdLen, 0);
    if (m.data.size() < (uint64_t{1} << 33)) {
      PutOctal(h + kSizeOff, kSizeLen, m.data.size());
    } else {  // base-256 (GNU/star), as libarchive writes sizes of 8 GiB and more
      h[kSizeOff] = static_cast<char>(0x80);
      uint64_t v = m.data.size();
      for (size_t i = kSizeLen; i-- > 1;) {
        h[kSizeOff + i] = static_cast<char>(v & 0xff);
        v >>= 8;
      }
    }
    PutOctal(h + kMtimeOff, kMtimeLen, 0);
    h[kTypeOff] = '0';
    std::memcpy(h + kMagicOff,
                "ustar\0"
                "00",
                8);
    std::memset(h + kChksumOff, ' ', kChksumLen);
    uint64_t sum = 0;
    for (size_t i = 0; i < kTarBlockSize; ++i) sum += static_cast<unsigned char>(h[i]);
    PutOctal(h + kChksumOff, 7, sum);  // six digits, NUL, then the space already there
    std::memcpy(h + kTarBlockSize, m.data.data(), m.data.size());
    p += kTarBlockSize + (m.data.size() + kTarBlockSize - 1) / kTarBlockSize * kTarBlockSize;
  }
  return out;
}

}  // namespace triad::worker::internal
