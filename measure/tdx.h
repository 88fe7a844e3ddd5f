// MRTD of a TD launched from a TDVF (TDX Virtual Firmware, edk2 OvmfPkg) image: the SHA-384 chain
// the TDX module builds from TDH.MEM.PAGE.ADD and TDH.MR.EXTEND as the host loads the firmware's
// sections (Intel TDX Module ABI 1.5, TDH.MEM.PAGE.ADD and TDH.MR.EXTEND: a 128-byte buffer
// "MEM.PAGE.ADD" ‖ GPA per added page; "MR.EXTEND" ‖ GPA then the 256 bytes of each chunk of an
// extended page). Which sections are added and extended is the firmware's TDVF metadata (Intel TDX
// Virtual Firmware Design Guide rev 1.01, section 11): sections with the PAGE.AUG attribute are not
// added (the guest accepts them later), those with MR.EXTEND are also measured.
//
// The order of the two operations is the host's: upstream KVM (Linux >= 6.16, with QEMU >= 10.1)
// adds and extends each page in turn; other hosts add a section's pages first and then extend them.
// Both are offered; the result must then match the hardware's MRTD.
#ifndef TRIAD_MEASURE_TDX_H_
#define TRIAD_MEASURE_TDX_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace triad::measure {

struct TdvfSection {
  uint32_t data_offset = 0;   // in the image
  uint32_t raw_data_size = 0;
  uint64_t memory_address = 0;
  uint64_t memory_data_size = 0;
  uint32_t type = 0;          // 0 BFV, 1 CFV, 2 TD_HOB, 3 TempMem, 4 PermMem, 5 Payload, 6 PayloadParam
  uint32_t attributes = 0;    // bit 0 MR.EXTEND, bit 1 PAGE.AUG
};

// The TDVF metadata of `image`: kInvalidArgument when there is no OVMF footer table, no TDX
// metadata entry ("not a TDVF image"), a descriptor other than "TDVF" version 1, or a section that
// is unaligned or lies outside the image.
absl::StatusOr<std::vector<TdvfSection>> ParseTdvfMetadata(absl::string_view image);

enum class PageAddOrder {
  kInterleaved,  // each page: PAGE.ADD, then its MR.EXTENDs (upstream KVM)
  kPerSection,   // each section: PAGE.ADD of all its pages, then their MR.EXTENDs
};

// The 48-byte MRTD.
absl::StatusOr<std::string> TdxMrtd(absl::string_view image,
                                    PageAddOrder order = PageAddOrder::kInterleaved);

// ---- RTMR0, RTMR1 and RTMR2 of a QEMU direct-boot TD (-bios TDVF -kernel -initrd -append)
//
// Who extends what (the RTMR index is the CC MR index less one; UEFI 2.10 section 38.4.1 and
// TdTcg2Dxe's MapPcrToMrIndex: PCR 2-6 -> RTMR1, PCR 8-15 -> RTMR2):
//   RTMR1  TDVF: the kernel's PE/COFF digest (EV_EFI_BOOT_SERVICES_APPLICATION, PCR 4), measured as
//          QemuLoadKernelImage loads the image QEMU patched (below); at ReadyToBoot "Calling EFI
//          Application from Boot Option" (EV_EFI_ACTION, PCR 4) and, from edk2-stable202411 (commit
//          efaf893, "Fix the SeparatorEvent issue in RTMRs"), the separator (EV_SEPARATOR, four
//          zero bytes); at ExitBootServices "Exit Boot Services Invocation" and "Exit Boot Services
//          Returned with Success" (EV_EFI_ACTION, PCR 5). Action strings are hashed without a NUL.
//   RTMR2  the Linux EFI stub (Linux >= 6.8 measures through EFI_CC_MEASUREMENT_PROTOCOL; older
//          kernels leave RTMR2 untouched): the LoadOptions TDVF gave it (EV_EVENT_TAG
//          "LOADED_IMAGE::LoadOptions", PCR 12), then the initrd it loaded through LoadFile2
//          (EV_EVENT_TAG "Linux initrd", PCR 9). TDVF builds the LoadOptions from QEMU's command
//          line plus " initrd=initrd" when there is an initrd, widened to UCS-2 with a UCS-2 NUL
//          (OvmfPkg X86QemuLoadImageLib); with neither there are none and nothing is measured.
// QEMU (hw/i386/x86.c, x86_load_linux) writes into the kernel's setup header before handing it over
// through fw_cfg, so the digest depends on the memory size and the initrd size: type_of_loader
// 0xb0, loadflags |= CAN_USE_HEAP, heap_end_ptr, cmd_line_ptr, and with an initrd ramdisk_image
// (the top of usable memory below 4 GiB, less the initrd, page aligned) and ramdisk_size.
//
// What this assumes, and what changes the values: a bzImage with EFI stub and boot protocol >= 2.02
// loaded high (every x86-64 kernel since 2.6); QEMU's q35 memory split (below 4 GiB: all memory up
// to 2.75 GiB, else 2 GiB), default max-ram-below-4g and ACPI data size (0x28000), no setup_data;
// no PCI option ROMs (each would add an EV_EFI_BOOT_SERVICES_DRIVER to RTMR1); not a UKI.
//
// RTMR0 (PCR 1 and 7; computed when TdxDirectBoot has the firmware and the ACPI fw_cfg files), in
// the order TDVF extends it:
//   - the TD HOB QEMU builds in the TD_HOB section (hw/i386/tdvf-hob.c; EV_EFI_HANDOFF_TABLES2,
//     measured by TDVF's SEC): a handoff table (PI spec vol. 3, version 9, only EfiEndOfHobList
//     set) and one resource descriptor per RAM range in address order, the TD_HOB and TempMem
//     sections accepted (EFI_RESOURCE_SYSTEM_MEMORY) and the rest of RAM unaccepted (type 7), all
//     present|initialized|tested, hashed up to the end-of-list HOB;
//   - the CFV section's bytes (EV_EFI_PLATFORM_FIRMWARE_BLOB2);
//   - the secure-boot policy from the CFV's authenticated variable store (TdTcg2Dxe
//     MeasureSecureBootPolicy; EV_EFI_VARIABLE_DRIVER_CONFIG, digest of UEFI_VARIABLE_DATA):
//     SecureBoot (1 when PK is enrolled and SecureBootEnable is not 0, else absent), PK, KEK, db,
//     dbx, and dbt only when present; then a separator (PCR 7);
//   - QEMU's ACPI data as OvmfPkg's AcpiPlatformDxe downloads it over fw_cfg, before patching
//     (EV_PLATFORM_CONFIG_FLAGS): "etc/table-loader", then each file its ALLOCATE commands name, in
//     their order (QEMU: "etc/acpi/rsdp", "etc/acpi/tables"). These bytes depend on QEMU's version
//     and its whole command line (vCPUs, memory, devices), so they are inputs: a guest of the same
//     shape reads them from /sys/firmware/qemu_fw_cfg/by_name/<name>/raw;
//   - at ReadyToBoot (after the kernel's RTMR1 event) the boot variables (EV_EFI_VARIABLE_BOOT,
//     digest of the data): BootOrder = {0} and Boot0000 = the UiApp load option, the only option
//     OvmfPkg's PlatformBootManagerLib has registered when it boots QEMU's -kernel;
//   - older TDVF (TdvfSeparator::kRtmr0): the ReadyToBoot separator.
// Assumed: no debugger PCD, no variables in deleted transition, a client platform class (no
// EV_TABLE_OF_DEVICES), a firmware without secure boot support or with PK enrolled (a secure-boot
// build with no PK reports SecureBoot = 0, which is not modelled).

enum class TdvfSeparator {
  kRtmr1,  // edk2-stable202411 and later: one separator in RTMR0, one in RTMR1
  kRtmr0,  // older TDVF: both in RTMR0, none in RTMR1 (e.g. Debian 12's edk2 2022.11,
           // Canonical's 2024.02 TDX build)
};

struct TdxInitrd {
  uint64_t size = 0;   // bytes; an empty initrd is refused (leave it out)
  std::string sha384;  // 48 bytes
};

// Bounds on QEMU's ACPI fw_cfg files: the table loader (QEMU writes one page; 512 commands is
// ample) and each file it allocates (the ACPI tables of even a large VM are a few MiB).
inline constexpr size_t kMaxQemuLoaderBytes = 64 << 10;
inline constexpr size_t kMaxFwCfgFileBytes = 16 << 20;

// QEMU's ACPI data as served over fw_cfg.
struct TdxFwCfgAcpi {
  std::string table_loader;                  // "etc/table-loader"
  std::map<std::string, std::string> files;  // each file the loader allocates, by its fw_cfg name
};

struct TdxDirectBoot {
  std::string kernel;               // the -kernel file
  std::optional<TdxInitrd> initrd;  // the -initrd file's size and digest
  std::string cmdline;              // -append; printable ASCII
  uint64_t memory_bytes = 0;        // -m
  TdvfSeparator separator = TdvfSeparator::kRtmr1;
  // For RTMR0; it is computed only when `acpi` is set (and then `firmware` is required).
  std::string firmware;  // the TDVF image (-bios)
  std::optional<TdxFwCfgAcpi> acpi;
};

struct TdxRtmrEvent {
  int rtmr = 0;
  std::string name;    // e.g. "EV_EFI_ACTION Calling EFI Application from Boot Option"
  std::string digest;  // 48 bytes
};

struct TdxRtmrs {
  std::string rtmr0;                 // 48 bytes, or empty when not computed
  std::string rtmr1, rtmr2;          // 48 bytes each
  std::vector<TdxRtmrEvent> events;  // in the order they are extended
};

// The kernel as TDVF receives it from QEMU: `kernel` with QEMU's setup-header writes.
// kInvalidArgument for what QEMU would refuse or this does not model: no "HdrS" setup header, a
// setup size past the file, boot protocol < 2.02 or not loaded high, an initrd that does not fit
// below the initrd limit.
absl::StatusOr<std::string> QemuPatchKernel(absl::string_view kernel,
                                            std::optional<uint64_t> initrd_size,
                                            uint64_t memory_bytes);

// The fw_cfg files the ALLOCATE commands of QEMU's table loader name, in their order.
// kInvalidArgument when the loader is larger than 64 KiB or not whole 128-byte commands, a name is
// not NUL-terminated or not a relative path of [A-Za-z0-9._-] components, a file is allocated
// twice, or there are none.
absl::StatusOr<std::vector<std::string>> QemuLoaderAllocations(absl::string_view loader);

// RTMR1 and RTMR2 after the kernel's EFI stub has called ExitBootServices, and RTMR0 when
// `boot.acpi` is set. For RTMR0, kInvalidArgument also for a firmware without exactly one TD_HOB
// and one CFV section, a TD_HOB or TempMem section outside RAM below 4 GiB or overlapping another,
// a CFV without an authenticated variable store, a fw_cfg file that is missing or larger than 16
// MiB.
absl::StatusOr<TdxRtmrs> TdxDirectBootRtmrs(const TdxDirectBoot& boot);

}  // namespace triad::measure

#endif  // TRIAD_MEASURE_TDX_H_
