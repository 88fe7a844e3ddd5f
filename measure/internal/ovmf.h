// The OVMF "GUIDed footer table": how QEMU, and anyone who measures a guest, finds the firmware's
// SEV and TDX structures without running it. Private to measure/.
//
// Layout (edk2 OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm, QEMU hw/i386/pc_sysfw_ovmf.c): the
// table ends 32 bytes before the end of the image. Its last entry is the footer: a 16-bit length of
// the whole table (footer included) followed by the footer GUID 96b582de-1fb2-45f7-baea-a366c55a082d.
// Entries are read backwards from there; each is [data][u16 length of data+18][GUID], so an entry's
// length and GUID come after its data.
#ifndef TRIAD_MEASURE_INTERNAL_OVMF_H_
#define TRIAD_MEASURE_INTERNAL_OVMF_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace triad::measure::internal {

// A GUID in its text form ("96b582de-1fb2-45f7-baea-a366c55a082d") to the 16 bytes of its
// little-endian (EFI_GUID) encoding; the text must be well formed (constants only).
std::string GuidBytes(absl::string_view text);

inline constexpr char kOvmfTableFooterGuid[] = "96b582de-1fb2-45f7-baea-a366c55a082d";
inline constexpr char kSevEsResetBlockGuid[] = "00f771de-1a7e-4fcb-890e-68c77e2fb44e";
inline constexpr char kSevHashTableRvGuid[] = "7255371f-3a3b-4b04-927b-1da6efa8d454";
inline constexpr char kOvmfSevMetadataGuid[] = "dc886566-984a-4798-a75e-5585a7bf67cc";
inline constexpr char kTdxMetadataOffsetGuid[] = "e47a6535-984a-4798-865e-4685a7bf8ec2";

// Entries by the raw bytes of their GUID. An image without the footer GUID has no table (empty
// map); a malformed table (a length past the table) is kInvalidArgument.
absl::StatusOr<std::map<std::string, std::string>> ParseFooterTable(absl::string_view image);

// Little-endian u32 at `offset` of `data`; false when out of range.
bool ReadLe32(absl::string_view data, size_t offset, uint32_t* out);
bool ReadLe64(absl::string_view data, size_t offset, uint64_t* out);
void PutLe(std::string& out, uint64_t v, int bytes);

inline constexpr char kAuthenticatedVariableGuid[] = "aaf32c78-947b-439a-a180-2e144ec37792";

struct Variable {
  std::string guid;  // 16 bytes
  std::string name;  // UTF-16LE, NUL included
  std::string data;
};

// The variables of the authenticated variable store (edk2 MdeModulePkg VariableFormat.h) at the
// start of a TDVF CFV, right after its firmware volume header, in their order; only those in state
// VAR_ADDED (0x3f). kInvalidArgument when there is no volume header ("_FVH"), the store is not an
// authenticated one or not formatted and healthy, its size or a variable runs past the volume, or
// it holds more than 4096 variables.
absl::StatusOr<std::vector<Variable>> CfvVariables(absl::string_view cfv);

}  // namespace triad::measure::internal

#endif  // TRIAD_MEASURE_INTERNAL_OVMF_H_
