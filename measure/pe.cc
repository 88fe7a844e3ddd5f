#include "measure/pe.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "measure/internal/ovmf.h"

namespace triad::measure {
namespace {

using internal::ReadLe32;

bool ReadLe16(absl::string_view data, size_t offset, uint16_t* out) {
  if (offset > data.size() || data.size() - offset < 2) return false;
  *out = static_cast<uint16_t>(static_cast<unsigned char>(data[offset]) |
                               (static_cast<unsigned char>(data[offset + 1]) << 8));
  return true;
}

absl::Status Bad(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("not a PE/COFF image: ", why));
}

constexpr uint32_t kPeSignature = 0x00004550;  // "PE\0\0"
constexpr uint16_t kMagicPe32 = 0x10b;
constexpr uint16_t kMagicPe32Plus = 0x20b;
constexpr uint32_t kSecurityDirectory = 4;  // IMAGE_DIRECTORY_ENTRY_SECURITY
constexpr uint16_t kMaxSections = 96;       // PE/COFF specification, section 3.3
constexpr size_t kSectionHeaderSize = 40;

}  // namespace

absl::StatusOr<std::string> PeImageDigest(absl::string_view image, crypto::HashAlg alg) {
  if (image.size() > kMaxPeImageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PE/COFF image of ", image.size(), " bytes is larger than the limit of ", kMaxPeImageSize));
  }
  if (image.size() < 0x40 || image.substr(0, 2) != "MZ") return Bad("no MZ header");
  uint32_t lfanew = 0, signature = 0;
  ReadLe32(image, 0x3c, &lfanew);
  if (!ReadLe32(image, lfanew, &signature) || signature != kPeSignature) {
    return Bad("no PE signature at e_lfanew");
  }
  // COFF file header (20 bytes) after the signature, then the optional header.
  const uint64_t coff = static_cast<uint64_t>(lfanew) + 4;
  uint16_t sections = 0, optional_size = 0, magic = 0;
  if (!ReadLe16(image, coff + 2, &sections) || !ReadLe16(image, coff + 16, &optional_size)) {
    return Bad("truncated COFF header");
  }
  const uint64_t opt = coff + 20;
  if (!ReadLe16(image, opt, &magic)) return Bad("truncated optional header");
  uint64_t fixed = 0;  // the optional header up to its data directories
  if (magic == kMagicPe32) {
    fixed = 96;
  } else if (magic == kMagicPe32Plus) {
    fixed = 112;
  } else {
    return Bad(absl::StrCat("optional header magic 0x", absl::Hex(magic)));
  }
  uint32_t size_of_headers = 0, rva_count = 0;
  if (optional_size < fixed || opt + optional_size > image.size() ||
      !ReadLe32(image, opt + 60, &size_of_headers) ||
      !ReadLe32(image, opt + fixed - 4, &rva_count)) {
    return Bad("truncated optional header");
  }
  if (rva_count > (optional_size - fixed) / 8) {
    return Bad(absl::StrCat(rva_count, " data directories do not fit the optional header"));
  }
  if (sections > kMaxSections) return Bad(absl::StrCat(sections, " sections"));
  const uint64_t table = opt + optional_size;
  const uint64_t table_end = table + kSectionHeaderSize * sections;
  if (size_of_headers > image.size() || table_end > size_of_headers) {
    return Bad("SizeOfHeaders does not cover the section table or lies outside the file");
  }

  crypto::Hasher h(alg);
  const uint64_t checksum = opt + 64;
  h.Update(image.substr(0, checksum));
  uint32_t cert_size = 0;
  if (rva_count <= kSecurityDirectory) {
    h.Update(image.substr(checksum + 4, size_of_headers - (checksum + 4)));
  } else {
    const uint64_t cert_entry = opt + fixed + 8 * kSecurityDirectory;
    ReadLe32(image, cert_entry + 4, &cert_size);
    h.Update(image.substr(checksum + 4, cert_entry - (checksum + 4)));
    h.Update(image.substr(cert_entry + 8, size_of_headers - (cert_entry + 8)));
  }

  std::vector<std::pair<uint32_t, uint32_t>> raw;  // (PointerToRawData, SizeOfRawData)
  for (uint16_t i = 0; i < sections; ++i) {
    const uint64_t at = table + kSectionHeaderSize * i;
    uint32_t size = 0, pointer = 0;
    ReadLe32(image, at + 16, &size);
    ReadLe32(image, at + 20, &pointer);
    if (size == 0) continue;
    if (static_cast<uint64_t>(pointer) + size > image.size()) {
      return Bad(absl::StrCat("section ", i, " lies outside the file"));
    }
    raw.emplace_back(pointer, size);
  }
  std::stable_sort(raw.begin(), raw.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  uint64_t hashed = size_of_headers;
  for (const auto& [pointer, size] : raw) {
    h.Update(image.substr(pointer, size));
    hashed += size;
  }
  // Step 3 counts from SizeOfHeaders + the raw sizes, not from the end of the last section: that is
  // how edk2 and the Authenticode specification define it, overlapping sections included.
  if (image.size() > hashed) {
    if (image.size() < hashed + cert_size) {
      return Bad("the certificate table is larger than the data after the sections");
    }
    h.Update(image.substr(hashed, image.size() - hashed - cert_size));
  }
  return h.Finish();
}

}  // namespace triad::measure
