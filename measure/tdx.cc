#include "measure/tdx.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "measure/internal/ovmf.h"

namespace triad::measure {
namespace {

using internal::PutLe;
using internal::ReadLe32;
using internal::ReadLe64;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kExtendChunk = 256;  // TDH.MR.EXTEND measures 256 bytes at a time
constexpr uint32_t kAttrMrExtend = 1;
constexpr uint32_t kAttrPageAug = 2;
// Bounds a hostile image cannot push past: 64 sections, each at most 1 GiB of memory.
constexpr uint32_t kMaxSections = 64;
constexpr uint64_t kMaxSectionMemory = 1ULL << 30;

std::string OpBuffer(absl::string_view op, uint64_t gpa) {
  std::string b(op);
  b.resize(16, '\0');
  PutLe(b, gpa, 8);
  b.resize(128, '\0');
  return b;
}

}  // namespace

absl::StatusOr<std::vector<TdvfSection>> ParseTdvfMetadata(absl::string_view image) {
  TRIAD_ASSIGN_OR_RETURN(auto table, internal::ParseFooterTable(image));
  auto it = table.find(internal::GuidBytes(internal::kTdxMetadataOffsetGuid));
  if (it == table.end() || it->second.size() < 4) {
    return absl::InvalidArgumentError(
        "not a TDVF image: the OVMF footer table has no TDX metadata entry");
  }
  uint32_t from_end = 0;
  ReadLe32(it->second, it->second.size() - 4, &from_end);
  if (from_end > image.size() || from_end < 16) {
    return absl::InvalidArgumentError("TDVF metadata: offset outside the image");
  }
  absl::string_view desc = image.substr(image.size() - from_end);
  uint32_t length = 0, version = 0, count = 0;
  if (desc.substr(0, 4) != "TDVF" || !ReadLe32(desc, 4, &length) || !ReadLe32(desc, 8, &version) ||
      !ReadLe32(desc, 12, &count)) {
    return absl::InvalidArgumentError("TDVF metadata: no TDVF descriptor");
  }
  if (version != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TDVF metadata: descriptor version ", version, " (expected 1)"));
  }
  if (count == 0 || count > kMaxSections || desc.size() < 16 + 32ULL * count) {
    return absl::InvalidArgumentError(
        absl::StrCat("TDVF metadata: ", count, " sections do not fit the image"));
  }
  std::vector<TdvfSection> out;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = 16 + 32 * i;
    TdvfSection s;
    ReadLe32(desc, at, &s.data_offset);
    ReadLe32(desc, at + 4, &s.raw_data_size);
    ReadLe64(desc, at + 8, &s.memory_address);
    ReadLe64(desc, at + 16, &s.memory_data_size);
    ReadLe32(desc, at + 24, &s.type);
    ReadLe32(desc, at + 28, &s.attributes);
    const std::string which = absl::StrCat("TDVF metadata: section ", i, ": ");
    if (s.memory_address % kPage != 0 || s.memory_data_size % kPage != 0) {
      return absl::InvalidArgumentError(which + "memory range is not page aligned");
    }
    if (s.memory_data_size > kMaxSectionMemory || s.raw_data_size > s.memory_data_size) {
      return absl::InvalidArgumentError(
          absl::StrCat(which, "raw size ", s.raw_data_size, " and memory size ",
                       s.memory_data_size, " are inconsistent"));
    }
    if (static_cast<uint64_t>(s.data_offset) + s.raw_data_size > image.size()) {
      return absl::InvalidArgumentError(which + "data lies outside the image");
    }
    if ((s.attributes & ~(kAttrMrExtend | kAttrPageAug)) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(which, "unknown attributes 0x", absl::Hex(s.attributes)));
    }
    out.push_back(s);
  }
  return out;
}

absl::StatusOr<std::string> TdxMrtd(absl::string_view image, PageAddOrder order) {
  TRIAD_ASSIGN_OR_RETURN(std::vector<TdvfSection> sections, ParseTdvfMetadata(image));
  crypto::Hasher h(crypto::HashAlg::kSha384);
  // The section's memory as the host loads it: its raw data, then zeros up to the memory size.
  auto page_data = [&](const TdvfSection& s, uint64_t page) {
    std::string p(kPage, '\0');
    const uint64_t off = page * kPage;
    if (off < s.raw_data_size) {
      const uint64_t n = std::min<uint64_t>(kPage, s.raw_data_size - off);
      p.replace(0, n, image.data() + s.data_offset + off, n);
    }
    return p;
  };
  auto add = [&](const TdvfSection& s, uint64_t page) {
    if ((s.attributes & kAttrPageAug) == 0) {
      h.Update(OpBuffer("MEM.PAGE.ADD", s.memory_address + page * kPage));
    }
  };
  auto extend = [&](const TdvfSection& s, uint64_t page) {
    if ((s.attributes & kAttrMrExtend) == 0) return;
    const std::string p = page_data(s, page);
    for (uint64_t c = 0; c < kPage; c += kExtendChunk) {
      h.Update(OpBuffer("MR.EXTEND", s.memory_address + page * kPage + c));
      h.Update(absl::string_view(p).substr(c, kExtendChunk));
    }
  };
  for (const TdvfSection& s : sections) {
    const uint64_t pages = s.memory_data_size / kPage;
    if (order == PageAddOrder::kInterleaved) {
      for (uint64_t p = 0; p < pages; ++p) {
        add(s, p);
        extend(s, p);
      }
    } else {
      for (uint64_t p = 0; p < pages; ++p) add(s, p);
      for (uint64_t p = 0; p < pages; ++p) extend(s, p);
    }
  }
  return h.Finish();
}

}  // namespace triad::measure
