#include "measure/snp.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "measure/internal/ovmf.h"

namespace triad::measure {
namespace {

using internal::GuidBytes;
using internal::PutLe;
using internal::ReadLe32;

constexpr size_t kPage = 4096;
constexpr uint64_t kFourGiB = 0x100000000ULL;
// The RMP records a VMSA page at GPA (u64)-1, page-aligned with bits above 51 cleared (what QEMU's
// measurement and sev-snp-measure use).
constexpr uint64_t kVmsaGpa = 0xFFFFFFFFF000ULL;
constexpr uint32_t kBspEip = 0xFFFFFFF0;

// SNP Firmware ABI, PAGE_INFO.PAGE_TYPE.
enum PageType : uint8_t {
  kNormal = 0x01,
  kVmsa = 0x02,
  kZero = 0x03,
  kUnmeasured = 0x04,
  kSecrets = 0x05,
  kCpuid = 0x06,
};

// OVMF SEV metadata section types (edk2 OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm).
enum SectionType : uint32_t {
  kSnpSecMem = 1,
  kSnpSecrets = 2,
  kSnpCpuid = 3,
  kSvsmCaa = 4,
  kSnpKernelHashes = 0x10,
};

struct Section {
  uint32_t gpa = 0;
  uint32_t size = 0;
  uint32_t type = 0;
};

class LaunchDigest {
 public:
  explicit LaunchDigest(std::string seed = std::string(48, '\0')) : ld_(std::move(seed)) {}

  void Update(uint8_t type, uint64_t gpa, const std::string& contents) {
    std::string info = ld_ + contents;
    PutLe(info, 0x70, 2);  // LENGTH of PAGE_INFO
    info.push_back(static_cast<char>(type));
    info.push_back(0);                 // IMI_PAGE
    info.append(3, '\0');              // VMPL3, VMPL2, VMPL1 permissions
    info.push_back(0);                 // reserved
    PutLe(info, gpa, 8);
    ld_ = crypto::Sha384(info);
  }
  void Pages(uint8_t type, uint64_t gpa, absl::string_view data) {
    for (size_t off = 0; off < data.size(); off += kPage) {
      Update(type, gpa + off, crypto::Sha384(data.substr(off, kPage)));
    }
  }
  void EmptyPages(uint8_t type, uint64_t gpa, uint64_t size) {
    for (uint64_t off = 0; off < size; off += kPage) Update(type, gpa + off, std::string(48, '\0'));
  }
  const std::string& digest() const { return ld_; }

 private:
  std::string ld_;
};

struct Ovmf {
  std::map<std::string, std::string> table;
  std::vector<Section> sections;
};

absl::StatusOr<Ovmf> ParseOvmf(absl::string_view image) {
  if (image.empty() || image.size() % kPage != 0 || image.size() > kFourGiB / 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "OVMF image of ", image.size(), " bytes: expected a non-empty multiple of 4096 bytes"));
  }
  Ovmf o;
  TRIAD_ASSIGN_OR_RETURN(o.table, internal::ParseFooterTable(image));
  if (o.table.empty()) {
    return absl::InvalidArgumentError(
        "OVMF image has no GUIDed footer table (not an OVMF build with SEV support)");
  }
  auto meta = o.table.find(GuidBytes(internal::kOvmfSevMetadataGuid));
  if (meta == o.table.end()) return o;  // no SNP metadata: only the image is measured
  uint32_t from_end = 0;
  if (!ReadLe32(meta->second, 0, &from_end) || from_end > image.size() || from_end < 16) {
    return absl::InvalidArgumentError("OVMF SEV metadata: offset outside the image");
  }
  // OvmfSevMetadata.asm: "ASEV", u32 size, u32 version (1), u32 item count, then 12-byte items.
  absl::string_view header = image.substr(image.size() - from_end);
  uint32_t size = 0, version = 0, count = 0;
  if (header.substr(0, 4) != "ASEV" || !ReadLe32(header, 4, &size) ||
      !ReadLe32(header, 8, &version) || !ReadLe32(header, 12, &count)) {
    return absl::InvalidArgumentError("OVMF SEV metadata: no ASEV signature");
  }
  if (version != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("OVMF SEV metadata: version ", version, " (expected 1)"));
  }
  if (size > header.size() || size < 16 || (size - 16) / 12 < count) {
    return absl::InvalidArgumentError("OVMF SEV metadata: items run past the header size");
  }
  for (uint32_t i = 0; i < count; ++i) {
    Section s;
    ReadLe32(header, 16 + 12 * i, &s.gpa);
    ReadLe32(header, 20 + 12 * i, &s.size);
    ReadLe32(header, 24 + 12 * i, &s.type);
    if (s.gpa % kPage != 0 || s.size % kPage != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "OVMF SEV metadata: section ", i, " is not page aligned (gpa ", s.gpa, ", size ", s.size,
          ")"));
    }
    o.sections.push_back(s);
  }
  return o;
}

// QEMU's SEV hashes table (target/i386/sev.c, SevHashTable): header GUID, u16 length, then the
// command line, initrd and kernel entries (GUID, u16 length 50, SHA-256), padded to 16 bytes.
std::string HashesTable(const DirectBootHashes& h) {
  auto entry = [](const char* guid, const std::string& digest) {
    std::string e = GuidBytes(guid);
    PutLe(e, 16 + 2 + 32, 2);
    return e + digest;
  };
  std::string body = entry("97d02dd8-bd20-4c94-aa78-e7714d36ab2a", h.cmdline) +
                     entry("44baf731-3a2f-4bd7-9af1-41e29169781d", h.initrd) +
                     entry("4de79437-abd2-427f-b835-d5b172d2045b", h.kernel);
  std::string t = GuidBytes("9438d606-4f22-4cc9-b479-a793d411fd21");
  PutLe(t, 16 + 2 + body.size(), 2);
  t += body;
  t.resize((t.size() + 15) & ~size_t{15}, '\0');
  return t;
}

void PutSegment(std::string& vmsa, size_t at, uint16_t selector, uint16_t attrib, uint32_t limit,
                uint64_t base) {
  std::string s;
  PutLe(s, selector, 2);
  PutLe(s, attrib, 2);
  PutLe(s, limit, 4);
  PutLe(s, base, 8);
  vmsa.replace(at, s.size(), s);
}

void Put(std::string& vmsa, size_t at, uint64_t v, int bytes) {
  std::string s;
  PutLe(s, v, bytes);
  vmsa.replace(at, s.size(), s);
}

// The initial VMSA QEMU gives a vCPU that starts at `eip` (QEMU target/i386 reset state, as KVM
// syncs it into the VMSA). Offsets: AMD64 APM Vol. 2, Table B-4 "VMSA Layout, State Save Area for
// SEV-ES".
std::string Vmsa(uint32_t eip, uint64_t sev_features, uint32_t vcpu_signature) {
  std::string v(kPage, '\0');
  PutSegment(v, 0x000, 0, 0x93, 0xffff, 0);                     // ES
  PutSegment(v, 0x010, 0xf000, 0x9b, 0xffff, eip & 0xffff0000);  // CS
  PutSegment(v, 0x020, 0, 0x93, 0xffff, 0);                     // SS
  PutSegment(v, 0x030, 0, 0x93, 0xffff, 0);                     // DS
  PutSegment(v, 0x040, 0, 0x93, 0xffff, 0);                     // FS
  PutSegment(v, 0x050, 0, 0x93, 0xffff, 0);                     // GS
  PutSegment(v, 0x060, 0, 0, 0xffff, 0);                        // GDTR
  PutSegment(v, 0x070, 0, 0x82, 0xffff, 0);                     // LDTR
  PutSegment(v, 0x080, 0, 0, 0xffff, 0);                        // IDTR
  PutSegment(v, 0x090, 0, 0x8b, 0xffff, 0);                     // TR
  Put(v, 0x0D0, 0x1000, 8);            // EFER: SVME (KVM sets it)
  Put(v, 0x148, 0x40, 8);              // CR4: MCE
  Put(v, 0x158, 0x10, 8);              // CR0: ET
  Put(v, 0x160, 0x400, 8);             // DR7
  Put(v, 0x168, 0xffff0ff0, 8);        // DR6
  Put(v, 0x170, 0x2, 8);               // RFLAGS
  Put(v, 0x178, eip & 0xffff, 8);      // RIP
  Put(v, 0x268, 0x0007040600070406ULL, 8);  // G_PAT: the PAT MSR's reset value (APM Vol. 2 A.3)
  Put(v, 0x310, vcpu_signature, 8);    // RDX holds the CPUID signature at reset
  Put(v, 0x3B0, sev_features, 8);      // SEV_FEATURES
  Put(v, 0x3E8, 0x1, 8);               // XCR0
  Put(v, 0x408, 0x1f80, 4);            // MXCSR
  Put(v, 0x410, 0x37f, 2);             // x87 FCW
  return v;
}

uint32_t CpuSignature(int family, int model, int stepping) {
  uint32_t family_low = family > 0xf ? 0xf : family;
  uint32_t family_high = family > 0xf ? (family - 0xf) & 0xff : 0;
  return (family_high << 20) | (((model >> 4) & 0xf) << 16) | (family_low << 8) |
         ((model & 0xf) << 4) | (stepping & 0xf);
}

}  // namespace

DirectBootHashes HashDirectBoot(absl::string_view kernel, absl::string_view initrd,
                                absl::string_view append) {
  DirectBootHashes h;
  h.kernel = crypto::Sha256(kernel);
  h.initrd = crypto::Sha256(initrd);
  h.cmdline = crypto::Sha256(absl::StrCat(append, std::string(1, '\0')));
  return h;
}

absl::StatusOr<uint32_t> VcpuSignature(absl::string_view vcpu_type) {
  struct Model {
    const char* name;
    int family, model, stepping;
  };
  // QEMU target/i386/cpu.c builtin_x86_defs and their versions.
  static constexpr Model kModels[] = {
      {"EPYC", 23, 1, 2},         {"EPYC-v1", 23, 1, 2},       {"EPYC-v2", 23, 1, 2},
      {"EPYC-v3", 23, 1, 2},      {"EPYC-v4", 23, 1, 2},       {"EPYC-IBPB", 23, 1, 2},
      {"EPYC-Rome", 23, 49, 0},   {"EPYC-Rome-v1", 23, 49, 0}, {"EPYC-Rome-v2", 23, 49, 0},
      {"EPYC-Rome-v3", 23, 49, 0}, {"EPYC-Rome-v4", 23, 49, 0}, {"EPYC-Milan", 25, 1, 1},
      {"EPYC-Milan-v1", 25, 1, 1}, {"EPYC-Milan-v2", 25, 1, 1}, {"EPYC-Genoa", 25, 17, 0},
      {"EPYC-Genoa-v1", 25, 17, 0}, {"EPYC-Turin", 26, 0, 0},
  };
  for (const Model& m : kModels) {
    if (vcpu_type == m.name) return CpuSignature(m.family, m.model, m.stepping);
  }
  return absl::NotFoundError(absl::StrCat(
      "unknown vCPU type \"", vcpu_type,
      "\" (expected a QEMU EPYC model such as EPYC-v4, EPYC-Milan, EPYC-Genoa, EPYC-Turin)"));
}

absl::StatusOr<std::string> SnpOvmfDigest(absl::string_view ovmf) {
  TRIAD_RETURN_IF_ERROR(ParseOvmf(ovmf).status());
  LaunchDigest ld;
  ld.Pages(kNormal, kFourGiB - ovmf.size(), ovmf);
  return ld.digest();
}

absl::StatusOr<std::string> SnpLaunchDigest(const SnpGuest& g) {
  if (g.vcpus < 1 || g.vcpus > 512) {
    return absl::InvalidArgumentError(absl::StrCat("vcpus must be 1..512, got ", g.vcpus));
  }
  if (!g.ovmf_digest.empty() && g.ovmf_digest.size() != 48) {
    return absl::InvalidArgumentError("the OVMF digest must be 48 bytes");
  }
  TRIAD_ASSIGN_OR_RETURN(Ovmf o, ParseOvmf(g.ovmf));
  LaunchDigest ld(g.ovmf_digest.empty() ? std::string(48, '\0') : g.ovmf_digest);
  if (g.ovmf_digest.empty()) ld.Pages(kNormal, kFourGiB - g.ovmf.size(), g.ovmf);

  bool has_hashes_section = false;
  for (const Section& s : o.sections) {
    switch (s.type) {
      case kSnpSecMem:
      case kSvsmCaa:
        ld.EmptyPages(kZero, s.gpa, s.size);
        break;
      case kSnpSecrets:
        ld.Update(kSecrets, s.gpa, std::string(48, '\0'));
        break;
      case kSnpCpuid:
        ld.Update(kCpuid, s.gpa, std::string(48, '\0'));
        break;
      case kSnpKernelHashes: {
        has_hashes_section = true;
        if (!g.direct_boot) {
          ld.EmptyPages(kZero, s.gpa, s.size);
          break;
        }
        auto rv = o.table.find(GuidBytes(internal::kSevHashTableRvGuid));
        uint32_t table_gpa = 0;
        if (rv == o.table.end() || !ReadLe32(rv->second, 0, &table_gpa) || table_gpa == 0) {
          return absl::InvalidArgumentError(
              "OVMF has an SNP_KERNEL_HASHES section but no SEV hash table address");
        }
        std::string table = HashesTable(*g.direct_boot);
        const size_t at = table_gpa & (kPage - 1);
        if (s.size != kPage || at + table.size() > kPage) {
          return absl::InvalidArgumentError(
              "OVMF SNP_KERNEL_HASHES section is not one page holding the hashes table");
        }
        std::string page(kPage, '\0');
        page.replace(at, table.size(), table);
        ld.Pages(kNormal, s.gpa, page);
        break;
      }
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("OVMF SEV metadata: unknown section type ", s.type));
    }
  }
  if (g.direct_boot && !has_hashes_section) {
    return absl::InvalidArgumentError(
        "OVMF has no SNP_KERNEL_HASHES section: this firmware cannot measure "
        "-kernel/-initrd/-append; use the AmdSev build (OvmfPkg/AmdSev/AmdSevX64.dsc)");
  }

  uint32_t ap_eip = 0;
  if (g.vcpus > 1) {
    auto reset = o.table.find(GuidBytes(internal::kSevEsResetBlockGuid));
    if (reset == o.table.end() || !ReadLe32(reset->second, 0, &ap_eip) || ap_eip == 0) {
      return absl::InvalidArgumentError(
          "OVMF has no SEV-ES reset block: application processors have no reset vector");
    }
  }
  const std::string bsp = crypto::Sha384(Vmsa(kBspEip, g.guest_features, g.vcpu_signature));
  const std::string ap =
      g.vcpus > 1 ? crypto::Sha384(Vmsa(ap_eip, g.guest_features, g.vcpu_signature)) : "";
  for (int i = 0; i < g.vcpus; ++i) ld.Update(kVmsa, kVmsaGpa, i == 0 ? bsp : ap);
  return ld.digest();
}

}  // namespace triad::measure
