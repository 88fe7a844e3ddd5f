// The SEV-SNP launch digest (the report's MEASUREMENT) of a direct-boot guest under QEMU: OVMF,
// the kernel/initrd/command-line hashes table QEMU writes into it, and one VMSA per vCPU, each fed to
// SNP_LAUNCH_UPDATE in the order QEMU uses. Every party computes it offline from the same parts and
// compares it with the contract (and with the hardware's report).
//
// The digest is a chain over PAGE_INFO structures (SEV-SNP Firmware ABI 1.55, section 8.17
// SNP_LAUNCH_UPDATE, "PAGE_INFO" table): digest = SHA-384(digest ‖ contents ‖ 0x70 (u16) ‖
// page type ‖ IMI ‖ VMPL3/2/1 permissions ‖ 0 ‖ GPA (u64)), starting from 48 zero bytes, where
// contents is the SHA-384 of a normal or VMSA page and zero for the other page types.
//
// Checked against virtee/sev-snp-measure's published vectors (testdata/measure/README.md).
#ifndef TRIAD_MEASURE_SNP_H_
#define TRIAD_MEASURE_SNP_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace triad::measure {

// The SHA-256 digests QEMU puts in the SEV hashes table (target/i386/sev.c): of the kernel file, of
// the initrd file (of nothing when there is none), and of the command line with its terminating NUL
// ("\0" alone when there is none).
struct DirectBootHashes {
  std::string kernel;   // 32 bytes
  std::string initrd;   // 32 bytes
  std::string cmdline;  // 32 bytes
};

// The hashes from the parts themselves (kernel and initrd bytes, the -append text).
DirectBootHashes HashDirectBoot(absl::string_view kernel, absl::string_view initrd,
                                absl::string_view append);

struct SnpGuest {
  std::string ovmf;                   // the whole OVMF image (-bios), mapped to end at 4 GiB
  // When set, the 48-byte digest of the OVMF pages alone (SnpOvmfDigest), and `ovmf` is read only
  // for its footer table and metadata: for firmware whose full image the caller does not have.
  std::string ovmf_digest;
  std::optional<DirectBootHashes> direct_boot;  // -kernel/-initrd/-append; none: no hashes page
  int vcpus = 1;                      // 1..512
  uint32_t vcpu_signature = 0;        // CPUID Fn0000_0001_EAX of the vCPU model (VcpuSignature)
  uint64_t guest_features = 0x1;      // VMSA SEV_FEATURES (bit 0 SNPActive; QEMU's default)
};

// The CPUID signature of a QEMU CPU model that SNP guests use ("EPYC-v4", "EPYC-Milan", "EPYC-Genoa",
// "EPYC-Turin", …, as in QEMU's builtin_x86_defs): (ext family, ext model, family, model,
// stepping) packed as CPUID Fn0000_0001_EAX (AMD CPUID Specification #25481). kNotFound otherwise.
absl::StatusOr<uint32_t> VcpuSignature(absl::string_view vcpu_type);

// The 48-byte launch digest of `guest`. kInvalidArgument when the image has no OVMF footer table or
// SEV metadata, a section is malformed, direct boot is asked of a firmware without an
// SNP_KERNEL_HASHES section ("OVMF has no SNP_KERNEL_HASHES section: this firmware cannot measure
// -kernel/-initrd/-append; use the AmdSev build"), or an AP needs a reset vector the image lacks.
absl::StatusOr<std::string> SnpLaunchDigest(const SnpGuest& guest);

// The digest after the OVMF pages alone (the first step of SnpLaunchDigest).
absl::StatusOr<std::string> SnpOvmfDigest(absl::string_view ovmf);

}  // namespace triad::measure

#endif  // TRIAD_MEASURE_SNP_H_
