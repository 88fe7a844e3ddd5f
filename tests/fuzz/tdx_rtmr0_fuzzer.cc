// Fuzzes what `triad measure tdx --fw-cfg` and RTMR0 read from untrusted files (measure/tdx.h,
// measure/internal/ovmf.h): the ACPI table loader's ALLOCATE commands and the CFV's authenticated
// variable store. Every name the loader yields must be a relative path without "." or ".."
// components (it is opened under --fw-cfg), and every variable must lie within the input.
#include <cstddef>
#include <cstdint>

#include "absl/strings/str_split.h"
#include "measure/internal/ovmf.h"
#include "measure/tdx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  auto files = triad::measure::QemuLoaderAllocations(in);
  if (files.ok()) {
    if (files->empty()) __builtin_trap();
    for (const std::string& name : *files) {
      if (name.empty() || name.front() == '/') __builtin_trap();
      for (absl::string_view part : absl::StrSplit(name, '/')) {
        if (part.empty() || part == "." || part == "..") __builtin_trap();
      }
    }
  }
  auto vars = triad::measure::internal::CfvVariables(in);
  if (vars.ok()) {
    size_t total = 0;
    for (const auto& v : *vars) {
      if (v.guid.size() != 16) __builtin_trap();
      total += v.name.size() + v.data.size() + 60;
    }
    if (total > size) __builtin_trap();
  }
  return 0;
}
