#include "measure/internal/ovmf.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/encoding.h"

namespace triad::measure::internal {

std::string GuidBytes(absl::string_view text) {
  // EFI_GUID: Data1 (u32), Data2 (u16), Data3 (u16) little-endian, then Data4 (8 bytes) as written.
  std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string raw = base::HexDecode(parts[i]).value_or("");
    if (i < 3) {
      out.append(raw.rbegin(), raw.rend());
    } else {
      out += raw;
    }
  }
  return out;
}

bool ReadLe32(absl::string_view data, size_t offset, uint32_t* out) {
  if (offset > data.size() || data.size() - offset < 4) return false;
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(data[offset + i]);
  *out = v;
  return true;
}

bool ReadLe64(absl::string_view data, size_t offset, uint64_t* out) {
  uint32_t lo = 0, hi = 0;
  if (!ReadLe32(data, offset, &lo) || !ReadLe32(data, offset + 4, &hi)) return false;
  *out = (static_cast<uint64_t>(hi) << 32) | lo;
  return true;
}

void PutLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

absl::StatusOr<std::map<std::string, std::string>> ParseFooterTable(absl::string_view image) {
  constexpr size_t kAfterFooter = 32;  // the table ends 32 bytes before the end of the image
  constexpr size_t kEntryHeader = 18;  // u16 length + GUID
  std::map<std::string, std::string> table;
  if (image.size() < kAfterFooter + kEntryHeader) return table;
  const size_t footer = image.size() - kAfterFooter - kEntryHeader;
  if (image.substr(footer + 2, 16) != GuidBytes(kOvmfTableFooterGuid)) return table;
  const size_t table_size = static_cast<unsigned char>(image[footer]) |
                            (static_cast<size_t>(static_cast<unsigned char>(image[footer + 1])) << 8);
  if (table_size < kEntryHeader || table_size - kEntryHeader > footer) {
    return absl::InvalidArgumentError(
        absl::StrCat("OVMF footer table: length ", table_size, " runs past the image"));
  }
  absl::string_view rest = image.substr(footer - (table_size - kEntryHeader),
                                        table_size - kEntryHeader);
  while (rest.size() >= kEntryHeader) {
    const size_t at = rest.size() - kEntryHeader;
    const size_t len = static_cast<unsigned char>(rest[at]) |
                       (static_cast<size_t>(static_cast<unsigned char>(rest[at + 1])) << 8);
    if (len < kEntryHeader || len > rest.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("OVMF footer table: an entry of length ", len, " does not fit the table"));
    }
    std::string guid(rest.substr(at + 2, 16));
    table[guid] = std::string(rest.substr(rest.size() - len, len - kEntryHeader));
    rest.remove_suffix(len);
  }
  return table;
}

absl::StatusOr<std::vector<Variable>> CfvVariables(absl::string_view cfv) {
  if (cfv.size() < 0x38 || cfv.substr(0x28, 4) != "_FVH") {
    return absl::InvalidArgumentError("CFV: no firmware volume header");
  }
  const uint16_t header = static_cast<uint8_t>(cfv[0x30]) | (static_cast<uint8_t>(cfv[0x31]) << 8);
  uint32_t store_size = 0;
  if (header + 28ULL > cfv.size() || !ReadLe32(cfv, header + 16, &store_size)) {
    return absl::InvalidArgumentError("CFV: no variable store after the volume header");
  }
  absl::string_view store = cfv.substr(header);
  if (store.substr(0, 16) != GuidBytes(kAuthenticatedVariableGuid)) {
    return absl::InvalidArgumentError(
        "CFV: the variable store is not an authenticated variable store (not modelled)");
  }
  if (static_cast<uint8_t>(store[20]) != 0x5a || static_cast<uint8_t>(store[21]) != 0xfe) {
    return absl::InvalidArgumentError("CFV: variable store not formatted and healthy");
  }
  if (store_size < 28 || store_size > store.size()) {
    return absl::InvalidArgumentError("CFV: variable store size runs past the volume");
  }
  store = store.substr(0, store_size);
  std::vector<Variable> out;
  // AUTHENTICATED_VARIABLE_HEADER: StartId 0x55aa, State, reserved, Attributes, MonotonicCount,
  // TimeStamp, PubKeyIndex, NameSize (at 36), DataSize (at 40), VendorGuid (at 44); 60 bytes.
  size_t at = 28;
  while (at + 60 <= store.size()) {
    if (static_cast<uint8_t>(store[at]) != 0xaa || static_cast<uint8_t>(store[at + 1]) != 0x55) {
      break;
    }
    uint32_t name_size = 0, data_size = 0;
    ReadLe32(store, at + 36, &name_size);
    ReadLe32(store, at + 40, &data_size);
    const uint64_t name_at = at + 60;
    if (name_at + name_size + data_size > store.size()) {
      return absl::InvalidArgumentError("CFV: a variable runs past the variable store");
    }
    if (out.size() >= 4096) {
      return absl::InvalidArgumentError("CFV: more than 4096 variables");
    }
    if (static_cast<uint8_t>(store[at + 2]) == 0x3f) {
      out.push_back({std::string(store.substr(at + 44, 16)),
                     std::string(store.substr(name_at, name_size)),
                     std::string(store.substr(name_at + name_size, data_size))});
    }
    at = (name_at + name_size + data_size + 3) & ~size_t{3};
  }
  return out;
}

}  // namespace triad::measure::internal
