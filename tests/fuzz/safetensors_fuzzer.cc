// Fuzzes the safetensors header parser and checks (torch-free triad_safetensors): whatever parses
// has tensors that tile the data section exactly, and copies out; a rewrite parses to the same
// tensors.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "trainer/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view buffer(reinterpret_cast<const char*>(data), size);
  auto file = triad::trainer::SafetensorsFile::Parse(buffer);
  if (!file.ok()) return 0;
  std::vector<triad::trainer::TensorToWrite> again;
  const char* expected = nullptr;
  for (const auto& t : file->tensors()) {
    if (expected && t.data.data() != expected) __builtin_trap();  // contiguous, in order
    expected = t.data.data() + t.data.size();
    if (static_cast<size_t>(t.numel()) * triad::trainer::DtypeSize(t.dtype) != t.data.size())
      __builtin_trap();
    if (t.dtype == triad::trainer::Dtype::kF32 || t.dtype == triad::trainer::Dtype::kBF16 ||
        t.dtype == triad::trainer::Dtype::kF16) {
      auto values = triad::trainer::CopyToFloat32(t);
      if (!values.ok() || values->size() != static_cast<size_t>(t.numel())) __builtin_trap();
    }
    again.push_back({t.name, t.dtype, t.shape, std::string(t.data)});
  }
  if (expected && expected != buffer.data() + buffer.size()) __builtin_trap();
  auto written = triad::trainer::WriteSafetensors(again, file->metadata());
  if (!written.ok()) __builtin_trap();
  auto reparsed = triad::trainer::SafetensorsFile::Parse(*written);
  if (!reparsed.ok() || reparsed->tensors().size() != file->tensors().size()) __builtin_trap();
  for (const auto& t : reparsed->tensors()) {
    const auto* orig = file->Find(t.name);
    if (!orig || orig->data != t.data || orig->shape != t.shape || orig->dtype != t.dtype)
      __builtin_trap();
  }
  // The sharded path over the same bytes.
  (void)triad::trainer::LoadCheckpoint({{"model.safetensors", buffer}}, "");
  return 0;
}
