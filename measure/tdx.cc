#include "measure/tdx.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "measure/internal/ovmf.h"
#include "measure/pe.h"

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

// ---- RTMR1 and RTMR2 of a direct-boot TD

namespace {

constexpr uint64_t kMaxKernel = 256 << 20;
constexpr size_t kMaxCmdline = 64 << 10;
constexpr uint64_t kMinMemory = 64 << 20;
constexpr uint64_t kMaxMemory = 1ULL << 44;  // 16 TiB
// QEMU's pc/q35 machines reserve this much below the top of low memory for ACPI data
// (hw/i386/pc.c: 0x20000 + 0x8000); the initrd is placed beneath it.
constexpr uint64_t kAcpiDataSize = 0x28000;

// Setup header offsets (Linux Documentation/arch/x86/boot.rst).
constexpr size_t kSetupSects = 0x1f1;
constexpr size_t kHeaderMagic = 0x202;
constexpr size_t kVersion = 0x206;
constexpr size_t kTypeOfLoader = 0x210;
constexpr size_t kLoadflags = 0x211;
constexpr size_t kRamdiskImage = 0x218;
constexpr size_t kRamdiskSize = 0x21c;
constexpr size_t kHeapEndPtr = 0x224;
constexpr size_t kCmdLinePtr = 0x228;
constexpr size_t kInitrdAddrMax = 0x22c;
constexpr size_t kXloadflags = 0x236;
constexpr uint8_t kLoadedHigh = 0x01;
constexpr uint8_t kCanUseHeap = 0x80;
constexpr uint16_t kXlfCanBeLoadedAbove4g = 0x02;

// QEMU's addresses for a "high and recent" kernel (protocol >= 2.02, LOADED_HIGH).
constexpr uint32_t kRealAddr = 0x10000;
constexpr uint32_t kCmdlineAddr = 0x20000;

void PutLeAt(std::string& s, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Memory below 4 GiB on QEMU's q35 (hw/i386/pc_q35.c, pc_q35_init): all of it up to 2.75 GiB,
// otherwise 2 GiB (the rest goes above 4 GiB).
uint64_t Below4g(uint64_t memory) {
  const uint64_t lowmem = memory >= 0xb0000000ULL ? 0x80000000ULL : 0xb0000000ULL;
  return std::min(memory, lowmem);
}

std::string Sha384Of(absl::string_view s) { return crypto::Sha384(s); }

}  // namespace

absl::StatusOr<std::string> QemuPatchKernel(absl::string_view kernel,
                                            std::optional<uint64_t> initrd_size,
                                            uint64_t memory_bytes) {
  if (kernel.size() > kMaxKernel) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kernel of ", kernel.size(), " bytes is larger than the limit of ", kMaxKernel));
  }
  if (memory_bytes < kMinMemory || memory_bytes > kMaxMemory) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory size ", memory_bytes, " is outside 64 MiB to 16 TiB"));
  }
  if (kernel.size() < 0x400 || kernel.substr(kHeaderMagic, 4) != "HdrS") {
    return absl::InvalidArgumentError("not a Linux bzImage: no \"HdrS\" setup header at 0x202");
  }
  std::string k(kernel);
  auto u8 = [&](size_t at) { return static_cast<uint8_t>(k[at]); };
  auto u16 = [&](size_t at) { return static_cast<uint16_t>(u8(at) | (u8(at + 1) << 8)); };
  uint32_t initrd_max = 0;
  internal::ReadLe32(k, kInitrdAddrMax, &initrd_max);
  const uint16_t protocol = u16(kVersion);
  const uint64_t setup = (u8(kSetupSects) == 0 ? 4 : u8(kSetupSects)) + 1ULL;
  if (setup * 512 > k.size()) {
    return absl::InvalidArgumentError("kernel setup size lies past the end of the file");
  }
  if (protocol < 0x202 || (u8(kLoadflags) & kLoadedHigh) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kernel boot protocol ", protocol >> 8, ".", absl::Dec(protocol & 0xff, absl::kZeroPad2),
        " not loaded high: only EFI-stub kernels (protocol >= 2.02, LOADED_HIGH) "
        "are modelled"));
  }
  // hw/i386/x86.c x86_load_linux: the highest address the initrd may end at (initrd_addr_max
  // exists from protocol 2.03).
  if (protocol >= 0x20c && (u16(kXloadflags) & kXlfCanBeLoadedAbove4g) != 0) {
    initrd_max = UINT32_MAX;
  } else if (protocol < 0x203) {
    initrd_max = 0x37ffffff;
  }
  const uint64_t usable = Below4g(memory_bytes) - kAcpiDataSize;
  if (initrd_max >= usable) initrd_max = static_cast<uint32_t>(usable - 1);
  PutLeAt(k, kCmdLinePtr, kCmdlineAddr, 4);
  k[kTypeOfLoader] = static_cast<char>(0xb0);  // QEMU, version 0
  k[kLoadflags] = static_cast<char>(u8(kLoadflags) | kCanUseHeap);
  PutLeAt(k, kHeapEndPtr, kCmdlineAddr - kRealAddr - 0x200, 2);
  if (initrd_size.has_value()) {
    if (*initrd_size >= initrd_max) {
      return absl::InvalidArgumentError(absl::StrCat(
          "initrd of ", *initrd_size, " bytes does not fit below 0x", absl::Hex(initrd_max)));
    }
    const uint64_t addr = (initrd_max - *initrd_size) & ~uint64_t{4095};
    PutLeAt(k, kRamdiskImage, addr, 4);
    PutLeAt(k, kRamdiskSize, *initrd_size, 4);
  }
  return k;
}

absl::StatusOr<TdxRtmrs> TdxDirectBootRtmrs(const TdxDirectBoot& boot) {
  if (boot.cmdline.size() > kMaxCmdline) {
    return absl::InvalidArgumentError(absl::StrCat("kernel command line of ", boot.cmdline.size(),
                                                   " bytes is longer than ", kMaxCmdline));
  }
  for (char c : boot.cmdline) {
    // TDVF widens each byte to a CHAR16; anything but printable ASCII would be ambiguous to write.
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError("kernel command line: only printable ASCII is supported");
    }
  }
  std::optional<uint64_t> initrd_size;
  if (boot.initrd.has_value()) {
    if (boot.initrd->size == 0) {
      return absl::InvalidArgumentError("initrd is empty: leave it out");
    }
    if (boot.initrd->sha384.size() != 48) {
      return absl::InvalidArgumentError("initrd digest is not 48 bytes");
    }
    initrd_size = boot.initrd->size;
  }
  TRIAD_ASSIGN_OR_RETURN(std::string patched,
                         QemuPatchKernel(boot.kernel, initrd_size, boot.memory_bytes));
  TRIAD_ASSIGN_OR_RETURN(
      std::string kernel_digest,
      base::Annotate(PeImageDigest(patched, crypto::HashAlg::kSha384), "kernel"));
  TdxRtmrs out;
  out.rtmr1.assign(48, '\0');
  out.rtmr2.assign(48, '\0');
  auto extend = [&](int rtmr, std::string name, std::string digest) {
    std::string& r = rtmr == 1 ? out.rtmr1 : out.rtmr2;
    r = Sha384Of(r + digest);
    out.events.push_back({rtmr, std::move(name), std::move(digest)});
  };
  auto action = [&](absl::string_view text) {
    extend(1, absl::StrCat("EV_EFI_ACTION ", text), Sha384Of(text));
  };
  extend(1, "EV_EFI_BOOT_SERVICES_APPLICATION kernel", kernel_digest);
  action("Calling EFI Application from Boot Option");
  if (boot.separator == TdvfSeparator::kRtmr1) {
    extend(1, "EV_SEPARATOR", Sha384Of(std::string(4, '\0')));
  }
  // The EFI stub runs here, before it calls ExitBootServices.
  std::string options = boot.cmdline;
  if (boot.initrd.has_value()) options += " initrd=initrd";
  if (!options.empty()) {
    std::string ucs2;
    for (char c : options) {
      ucs2.push_back(c);
      ucs2.push_back('\0');
    }
    ucs2.append(2, '\0');
    extend(2, "EV_EVENT_TAG LOADED_IMAGE::LoadOptions", Sha384Of(ucs2));
  }
  if (boot.initrd.has_value()) extend(2, "EV_EVENT_TAG Linux initrd", boot.initrd->sha384);
  action("Exit Boot Services Invocation");
  action("Exit Boot Services Returned with Success");
  return out;
}

}  // namespace triad::measure
