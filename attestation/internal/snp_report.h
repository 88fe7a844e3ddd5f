// Parsing of the AMD SEV-SNP ATTESTATION_REPORT: bytes to fields, with no cryptography, so that the
// parser can be fuzzed alone.
//
// Layout: "SEV Secure Nested Paging Firmware ABI Specification" (AMD publication 56860), revision
// 1.55, section 7.3 "Attestation", Table 22 "ATTESTATION_REPORT Structure" (Table 23 in
// revisions 1.57 and later, which add the version 5 fields). All integers are little-endian.
#ifndef TRIAD_ATTESTATION_INTERNAL_SNP_REPORT_H_
#define TRIAD_ATTESTATION_INTERNAL_SNP_REPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contracts/claims.h"

namespace triad::attestation::internal {

// Table 22: the report is 0x4A0 bytes; the signature covers bytes 0x000..0x29F.
inline constexpr size_t kSnpReportSize = 0x4A0;
inline constexpr size_t kSnpSignedSize = 0x2A0;
// Table 22 SIGNATURE_ALGO; the ABI's "Signature Formats" chapter: 1 = ECDSA P-384 with SHA-384.
inline constexpr uint32_t kSnpSigAlgoEcdsaP384Sha384 = 1;

// GUEST_POLICY bits (ABI Table 9 "Guest Policy Structure").
inline constexpr uint64_t kSnpPolicySmt = 1ull << 16;
inline constexpr uint64_t kSnpPolicyReservedMustBeOne = 1ull << 17;
inline constexpr uint64_t kSnpPolicyMigrateMa = 1ull << 18;
inline constexpr uint64_t kSnpPolicyDebug = 1ull << 19;
inline constexpr uint64_t kSnpPolicySingleSocket = 1ull << 20;

// KEY_INFO / flags at 0x48 (Table 22): bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2
// SIGNING_KEY.
inline constexpr uint32_t kSnpKeyInfoAuthorKeyEn = 1u << 0;
inline constexpr uint32_t kSnpKeyInfoMaskChipKey = 1u << 1;
enum class SnpSigningKey : uint8_t { kVcek = 0, kVlek = 1, kNone = 7 };

enum class SnpProduct { kUnknown, kMilan, kGenoa, kTurin };
// "Milan", "Genoa", "Turin" ("unknown" for kUnknown).
const char* SnpProductName(SnpProduct p);
// Parses "Milan", "Genoa", "Turin" (case-insensitive); kUnknown otherwise.
SnpProduct SnpProductFromName(absl::string_view name);
// The product of a CPUID family/model as the report's CPUID_FAM_ID / CPUID_MOD_ID give them (the
// combined extended and base values): family 0x19 models 0x00-0x0F Milan, 0x10-0x1F and 0xA0-0xAF
// Genoa (and Siena, which shares Genoa's keys); family 0x1A models 0x00-0x11 Turin. kUnknown
// otherwise.
SnpProduct SnpProductFromCpuid(uint8_t family, uint8_t model);

// TCB_VERSION (ABI Table 3; 8 bytes, little-endian) decoded for a product. Milan and Genoa:
// byte 0 BOOT_LOADER, 1 TEE, 6 SNP, 7 MICROCODE. Turin: byte 0 FMC, 1 BOOT_LOADER, 2 TEE, 3 SNP,
// 7 MICROCODE.
contracts::SnpTcb DecodeSnpTcb(uint64_t raw, SnpProduct product);

struct SnpReport {
  uint32_t version = 0;           // 0x000
  uint32_t guest_svn = 0;         // 0x004
  uint64_t policy = 0;            // 0x008
  std::string family_id;          // 0x010, 16 bytes
  std::string image_id;           // 0x020, 16 bytes
  uint32_t vmpl = 0;              // 0x030
  uint32_t signature_algo = 0;    // 0x034
  uint64_t current_tcb = 0;       // 0x038
  uint64_t platform_info = 0;     // 0x040
  uint32_t key_info = 0;          // 0x048
  std::string report_data;        // 0x050, 64 bytes
  std::string measurement;        // 0x090, 48 bytes
  std::string host_data;          // 0x0C0, 32 bytes
  std::string id_key_digest;      // 0x0E0, 48 bytes
  std::string author_key_digest;  // 0x110, 48 bytes
  std::string report_id;          // 0x140, 32 bytes
  std::string report_id_ma;       // 0x160, 32 bytes
  uint64_t reported_tcb = 0;      // 0x180
  // 0x188..0x18A, version 3 and later: CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP. has_cpuid is false
  // for version 2 and when the firmware left the fields zero.
  bool has_cpuid = false;
  uint8_t cpuid_family = 0;
  uint8_t cpuid_model = 0;
  uint8_t cpuid_stepping = 0;
  std::string chip_id;          // 0x1A0, 64 bytes
  uint64_t committed_tcb = 0;   // 0x1E0
  uint8_t current_build = 0;    // 0x1E8
  uint8_t current_minor = 0;    // 0x1E9
  uint8_t current_major = 0;    // 0x1EA
  uint8_t committed_build = 0;  // 0x1EC
  uint8_t committed_minor = 0;  // 0x1ED
  uint8_t committed_major = 0;  // 0x1EE
  uint64_t launch_tcb = 0;      // 0x1F0
  // 0x1F8 and 0x200, version 5 and later.
  bool has_mitigation_vectors = false;
  uint64_t launch_mit_vector = 0;
  uint64_t current_mit_vector = 0;
  // SIGNATURE at 0x2A0 (the ABI's "Signature Formats" chapter, ECDSA P-384): R at 0x2A0 and S at
  // 0x2E8, each a 72-byte little-endian integer; here as 48-byte big-endian values (the parser has
  // checked that their high 24 bytes and the rest of the 0x200-byte field are zero).
  std::string signature_r;
  std::string signature_s;

  SnpSigningKey signing_key() const { return static_cast<SnpSigningKey>((key_info >> 2) & 7); }
  bool mask_chip_key() const { return (key_info & kSnpKeyInfoMaskChipKey) != 0; }
  bool chip_id_masked() const;  // chip_id is all zero (MASK_CHIP_ID, or a VLEK-signed report)
};

// Parses a report: exactly kSnpReportSize bytes, VERSION 2, 3 or 5, and a signature field with no
// bytes outside R and S (a second encoding of the same signature would make reports malleable).
// Fails with kInvalidArgument naming the problem. Checks nothing that needs a key.
absl::StatusOr<SnpReport> ParseSnpReport(absl::string_view bytes);

}  // namespace triad::attestation::internal

#endif  // TRIAD_ATTESTATION_INTERNAL_SNP_REPORT_H_
