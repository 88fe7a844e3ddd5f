// The digest UEFI firmware measures when it loads a PE/COFF image (a Linux kernel with its EFI
// stub, a UKI): the Authenticode image hash as edk2 computes it in MeasureBootPeCoff
// (SecurityPkg DxeTpm2MeasureBootLib, OvmfPkg/Tcg/TdTcg2Dxe/MeasureBootPeCoff.c), following the
// Authenticode specification ("Calculating the PE Image Hash"):
//   1. the headers up to SizeOfHeaders, less the optional header's CheckSum and, when the image has
//      one, the Certificate Table entry of the data directory (IMAGE_DIRECTORY_ENTRY_SECURITY);
//   2. every section with raw data, in the order of PointerToRawData;
//   3. what follows SizeOfHeaders + the sections' raw sizes, less the certificate table's size.
// edk2 pads nothing (unlike signing tools, which pad the file to 8 bytes); neither does this.
#ifndef TRIAD_MEASURE_PE_H_
#define TRIAD_MEASURE_PE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/hash.h"

namespace triad::measure {

// Images larger than this are refused (kernels and UKIs are tens of MiB).
inline constexpr size_t kMaxPeImageSize = 512 << 20;

// kInvalidArgument, with the reason, for anything that is not a well-formed PE32 or PE32+ image:
// no MZ or PE signature, headers or sections outside the file, a certificate table larger than
// what follows the sections, more than 96 sections (the PE/COFF limit).
absl::StatusOr<std::string> PeImageDigest(absl::string_view image, crypto::HashAlg alg);

}  // namespace triad::measure

#endif  // TRIAD_MEASURE_PE_H_
