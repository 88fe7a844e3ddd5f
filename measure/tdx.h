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

}  // namespace triad::measure

#endif  // TRIAD_MEASURE_TDX_H_
