#include "measure/tdx.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
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

// EV_SEPARATOR's digest: SHA-384 of four zero bytes.
std::string SeparatorDigest() { return Sha384Of(std::string(4, '\0')); }

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

// ---- RTMR0

namespace {

constexpr size_t kLoaderCommand = 128;      // QEMU's BiosLinkerLoaderEntry
constexpr size_t kLoaderFileName = 56;      // its file name field, NUL-terminated
constexpr size_t kMaxAllocations = 16;
constexpr uint32_t kLoaderAllocate = 1;

constexpr uint32_t kSectionCfv = 1;
constexpr uint32_t kSectionTdHob = 2;
constexpr uint32_t kSectionTempMem = 3;

constexpr char kGlobalVariableGuid[] = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
constexpr char kImageSecurityDatabaseGuid[] = "d719b2cb-3d3a-4596-a3bc-dad00e67656f";
constexpr char kSecureBootEnableDisableGuid[] = "f0a30bc7-af08-4556-99c4-001009c93a44";
// OvmfPkg's DXEFV (FvNameGuid) and UiApp's file GUID: the device path of the Boot0000 option.
constexpr char kOvmfDxeFvGuid[] = "7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1";
constexpr char kUiAppFileGuid[] = "462caa21-7614-4503-836e-8ab6f4662331";

bool IsFwCfgName(absl::string_view name) {
  if (name.empty() || name.front() == '/' || name.back() == '/') return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == absl::string_view::npos) end = name.size();
    absl::string_view part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

std::string Utf16(absl::string_view ascii, bool nul) {
  std::string out;
  for (char c : ascii) {
    out.push_back(c);
    out.push_back('\0');
  }
  if (nul) out.append(2, '\0');
  return out;
}

// EFI_HOB_RESOURCE_DESCRIPTOR: header (type 3, length 48), zero owner GUID, type, attributes
// (PRESENT | INITIALIZED | TESTED), start, length.
void AppendResourceHob(std::string& hob, uint32_t type, uint64_t start, uint64_t end) {
  std::string r;
  PutLe(r, 3, 2);
  PutLe(r, 48, 2);
  r.append(4 + 16, '\0');
  PutLe(r, type, 4);
  PutLe(r, 7, 4);
  PutLe(r, start, 8);
  PutLe(r, end - start, 8);
  hob += r;
}

// The bytes TDVF hashes of the TD HOB QEMU writes for `memory_bytes` of RAM.
absl::StatusOr<std::string> TdHobPreimage(const std::vector<TdvfSection>& sections,
                                          uint64_t memory_bytes) {
  const TdvfSection* hob_section = nullptr;
  std::vector<const TdvfSection*> accepted;
  for (const TdvfSection& s : sections) {
    if (s.type == kSectionTdHob) {
      if (hob_section != nullptr) {
        return absl::InvalidArgumentError("TDVF metadata: more than one TD_HOB section");
      }
      hob_section = &s;
    }
    if (s.type == kSectionTdHob || s.type == kSectionTempMem) accepted.push_back(&s);
  }
  if (hob_section == nullptr) {
    return absl::InvalidArgumentError("TDVF metadata: no TD_HOB section for QEMU's TD HOB");
  }
  std::sort(accepted.begin(), accepted.end(), [](const TdvfSection* a, const TdvfSection* b) {
    return a->memory_address < b->memory_address;
  });
  const uint64_t below4g = Below4g(memory_bytes);
  std::string hob;
  // EFI_HOB_HANDOFF_INFO_TABLE: header (type 1, length 56), version 9, boot mode 0, four memory
  // fields QEMU leaves zero, EfiEndOfHobList (filled in below).
  PutLe(hob, 1, 2);
  PutLe(hob, 56, 2);
  PutLe(hob, 0, 4);
  PutLe(hob, 9, 4);
  hob.resize(56, '\0');
  uint64_t at = 0;
  for (const TdvfSection* s : accepted) {
    const uint64_t end = s->memory_address + s->memory_data_size;
    if (s->memory_address < at || end > below4g) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TDVF metadata: the ", s->type == kSectionTdHob ? "TD_HOB" : "TempMem", " section at 0x",
          absl::Hex(s->memory_address), " overlaps another or lies outside the RAM below 4 GiB"));
    }
    if (s->memory_address > at) AppendResourceHob(hob, 7, at, s->memory_address);
    AppendResourceHob(hob, 0, s->memory_address, end);
    at = end;
  }
  if (at < below4g) AppendResourceHob(hob, 7, at, below4g);
  if (memory_bytes > below4g) {
    AppendResourceHob(hob, 7, 1ULL << 32, (1ULL << 32) + memory_bytes - below4g);
  }
  const uint64_t with_end = hob.size() + 8;  // the end-of-list HOB, which is not hashed
  if (with_end > hob_section->memory_data_size) {
    return absl::InvalidArgumentError(
        "TDVF metadata: QEMU's TD HOB does not fit the TD_HOB section");
  }
  std::string end_of_list;
  PutLe(end_of_list, hob_section->memory_address + with_end, 8);
  hob.replace(48, 8, end_of_list);
  return hob;
}

const internal::Variable* FindVariable(const std::vector<internal::Variable>& vars,
                                       absl::string_view guid, absl::string_view name) {
  const std::string g = internal::GuidBytes(guid);
  const std::string n = Utf16(name, /*nul=*/true);
  for (const internal::Variable& v : vars) {
    if (v.guid == g && v.name == n) return &v;
  }
  return nullptr;
}

// UEFI_VARIABLE_DATA (TCG PC Client PFP): VariableName GUID, name length in characters, data
// length, the name without its NUL, the data.
std::string VariableData(absl::string_view guid, absl::string_view name, absl::string_view data) {
  std::string out = internal::GuidBytes(guid);
  PutLe(out, name.size(), 8);
  PutLe(out, data.size(), 8);
  out += Utf16(name, /*nul=*/false);
  out.append(data.data(), data.size());
  return out;
}

// The Boot0000 EFI_LOAD_OPTION OvmfPkg registers for UiApp: attributes ACTIVE | HIDDEN |
// CATEGORY_APP, the device path's length, "UiApp", then Fv(DXEFV)/FvFile(UiApp)/End.
std::string UiAppLoadOption() {
  std::string path;
  auto node = [&](uint8_t type, uint8_t subtype, absl::string_view guid) {
    path.push_back(static_cast<char>(type));
    path.push_back(static_cast<char>(subtype));
    PutLe(path, 20, 2);
    path += internal::GuidBytes(guid);
  };
  node(4, 7, kOvmfDxeFvGuid);                  // MEDIA_DEVICE_PATH, MEDIA_PIWG_FW_VOL_DP
  node(4, 6, kUiAppFileGuid);                  // MEDIA_DEVICE_PATH, MEDIA_PIWG_FW_FILE_DP
  path += std::string("\x7f\xff\x04\x00", 4);  // END_DEVICE_PATH
  std::string out;
  PutLe(out, 0x109, 4);
  PutLe(out, path.size(), 2);
  out += Utf16("UiApp", /*nul=*/true);
  return out + path;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> QemuLoaderAllocations(absl::string_view loader) {
  if (loader.size() > kMaxQemuLoaderBytes) {
    return absl::InvalidArgumentError(absl::StrCat("ACPI table loader of ", loader.size(),
                                                   " bytes is larger than ", kMaxQemuLoaderBytes));
  }
  if (loader.size() % kLoaderCommand != 0) {
    return absl::InvalidArgumentError(
        "ACPI table loader is not a whole number of 128-byte commands");
  }
  std::vector<std::string> out;
  for (size_t at = 0; at < loader.size(); at += kLoaderCommand) {
    uint32_t command = 0;
    ReadLe32(loader, at, &command);
    if (command != kLoaderAllocate) continue;
    absl::string_view field = loader.substr(at + 4, kLoaderFileName);
    const size_t nul = field.find('\0');
    if (nul == absl::string_view::npos) {
      return absl::InvalidArgumentError("ACPI table loader: a file name is not NUL-terminated");
    }
    std::string name(field.substr(0, nul));
    if (!IsFwCfgName(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("ACPI table loader: \"", absl::CHexEscape(name),
                       "\" is not a fw_cfg file name this reads (relative, [A-Za-z0-9._-])"));
    }
    if (std::find(out.begin(), out.end(), name) != out.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ACPI table loader allocates ", name, " twice"));
    }
    if (out.size() == kMaxAllocations) {
      return absl::InvalidArgumentError(
          absl::StrCat("ACPI table loader allocates more than ", kMaxAllocations, " files"));
    }
    out.push_back(std::move(name));
  }
  if (out.empty()) {
    return absl::InvalidArgumentError("ACPI table loader allocates no file");
  }
  return out;
}

namespace {

// RTMR0's events up to the kernel's load: the TD HOB, the CFV, the secure-boot policy and its
// separator, QEMU's ACPI data.
template <typename Extend>
absl::Status Rtmr0BeforeBoot(const TdxDirectBoot& boot, Extend& extend) {
  TRIAD_ASSIGN_OR_RETURN(std::vector<TdvfSection> sections,
                         base::Annotate(ParseTdvfMetadata(boot.firmware), "firmware"));
  TRIAD_ASSIGN_OR_RETURN(std::string hob, TdHobPreimage(sections, boot.memory_bytes));
  extend(0, "EV_EFI_HANDOFF_TABLES2 TD HOB", Sha384Of(hob));
  const TdvfSection* cfv = nullptr;
  for (const TdvfSection& s : sections) {
    if (s.type != kSectionCfv) continue;
    if (cfv != nullptr) return absl::InvalidArgumentError("TDVF metadata: more than one CFV");
    cfv = &s;
  }
  if (cfv == nullptr) return absl::InvalidArgumentError("TDVF metadata: no CFV section");
  absl::string_view cfv_bytes =
      absl::string_view(boot.firmware).substr(cfv->data_offset, cfv->raw_data_size);
  extend(0, "EV_EFI_PLATFORM_FIRMWARE_BLOB2 CFV", Sha384Of(cfv_bytes));

  TRIAD_ASSIGN_OR_RETURN(std::vector<internal::Variable> vars, internal::CfvVariables(cfv_bytes));
  auto data = [&](absl::string_view guid, absl::string_view name) -> absl::string_view {
    const internal::Variable* v = FindVariable(vars, guid, name);
    return v == nullptr ? absl::string_view() : absl::string_view(v->data);
  };
  auto config = [&](absl::string_view guid, absl::string_view name, absl::string_view value) {
    extend(0, absl::StrCat("EV_EFI_VARIABLE_DRIVER_CONFIG ", name),
           Sha384Of(VariableData(guid, name, value)));
  };
  const internal::Variable* enable =
      FindVariable(vars, kSecureBootEnableDisableGuid, "SecureBootEnable");
  const bool secure_boot = FindVariable(vars, kGlobalVariableGuid, "PK") != nullptr &&
                           (enable == nullptr || enable->data.empty() || enable->data[0] == 1);
  config(kGlobalVariableGuid, "SecureBoot", secure_boot ? std::string(1, '\1') : std::string());
  config(kGlobalVariableGuid, "PK", data(kGlobalVariableGuid, "PK"));
  config(kGlobalVariableGuid, "KEK", data(kGlobalVariableGuid, "KEK"));
  config(kImageSecurityDatabaseGuid, "db", data(kImageSecurityDatabaseGuid, "db"));
  config(kImageSecurityDatabaseGuid, "dbx", data(kImageSecurityDatabaseGuid, "dbx"));
  if (FindVariable(vars, kImageSecurityDatabaseGuid, "dbt") != nullptr) {
    config(kImageSecurityDatabaseGuid, "dbt", data(kImageSecurityDatabaseGuid, "dbt"));
  }
  extend(0, "EV_SEPARATOR", SeparatorDigest());

  TRIAD_ASSIGN_OR_RETURN(std::vector<std::string> files,
                         QemuLoaderAllocations(boot.acpi->table_loader));
  extend(0, "EV_PLATFORM_CONFIG_FLAGS etc/table-loader", Sha384Of(boot.acpi->table_loader));
  for (const std::string& name : files) {
    auto it = boot.acpi->files.find(name);
    if (it == boot.acpi->files.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fw_cfg file ", name, ", which the ACPI table loader allocates, is missing"));
    }
    if (it->second.size() > kMaxFwCfgFileBytes) {
      return absl::InvalidArgumentError(absl::StrCat("fw_cfg file ", name, " of ",
                                                     it->second.size(), " bytes is larger than ",
                                                     kMaxFwCfgFileBytes));
    }
    extend(0, absl::StrCat("EV_PLATFORM_CONFIG_FLAGS ", name), Sha384Of(it->second));
  }
  return absl::OkStatus();
}

}  // namespace

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
  const bool rtmr0 = boot.acpi.has_value();
  if (rtmr0) out.rtmr0.assign(48, '\0');
  out.rtmr1.assign(48, '\0');
  out.rtmr2.assign(48, '\0');
  auto extend = [&](int rtmr, std::string name, std::string digest) {
    std::string& r = rtmr == 0 ? out.rtmr0 : rtmr == 1 ? out.rtmr1 : out.rtmr2;
    r = Sha384Of(r + digest);
    out.events.push_back({rtmr, std::move(name), std::move(digest)});
  };
  auto action = [&](absl::string_view text) {
    extend(1, absl::StrCat("EV_EFI_ACTION ", text), Sha384Of(text));
  };
  const std::string separator = SeparatorDigest();
  if (rtmr0) {
    TRIAD_RETURN_IF_ERROR(Rtmr0BeforeBoot(boot, extend));
  }
  extend(1, "EV_EFI_BOOT_SERVICES_APPLICATION kernel", kernel_digest);
  if (rtmr0) {
    // ReadyToBoot: BootOrder = {0x0000}, then Boot0000.
    extend(0, "EV_EFI_VARIABLE_BOOT BootOrder", Sha384Of(std::string(2, '\0')));
    extend(0, "EV_EFI_VARIABLE_BOOT Boot0000", Sha384Of(UiAppLoadOption()));
  }
  action("Calling EFI Application from Boot Option");
  if (rtmr0 && boot.separator == TdvfSeparator::kRtmr0) extend(0, "EV_SEPARATOR", separator);
  if (boot.separator == TdvfSeparator::kRtmr1) extend(1, "EV_SEPARATOR", separator);
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
