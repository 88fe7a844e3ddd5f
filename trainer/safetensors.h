// safetensors (https://github.com/huggingface/safetensors, format described in its README): parsing
// from a memory buffer with every check the reference Rust reader makes, sharded checkpoints
// through model.safetensors.index.json, and a writer. Torch-free, so it is fuzzed without LibTorch.
//
// Layout: 8 bytes little-endian header length N; N bytes of UTF-8 JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__":
// {str: str}}; then the data section, whose byte ranges the tensors cover exactly, in order,
// without gaps or overlaps.
#ifndef TRIAD_TRAINER_SAFETENSORS_H_
#define TRIAD_TRAINER_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trainer/status.h"

namespace triad::trainer {

enum class Dtype {
  kBool,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kF64,
  kI64,
  kU64
};

// "F32", "BF16", ... as safetensors spells them.
const char* DtypeName(Dtype dtype);
std::optional<Dtype> ParseDtype(std::string_view name);
size_t DtypeSize(Dtype dtype);  // bytes per element

// The reference reader's limit on the JSON header (safetensors MAX_HEADER_SIZE).
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

// One tensor of a parsed file. `data` points into the buffer given to Parse (which must outlive
// it); it may be unaligned: read it with memcpy (CopyTo*), never by casting the pointer.
struct TensorView {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;
  std::string_view data;
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Checks, in the reference reader's order: buffer of at least 8 bytes; header length <= 100 MB
  // and within the buffer; header UTF-8 JSON object starting with '{' (duplicate keys rejected
  // too); each entry has exactly dtype, shape, data_offsets of the right types, a known dtype;
  // __metadata__ maps strings to strings; sorted by offsets the tensors start where the previous
  // ended (no gap, no overlap), end >= begin, numel x dtype size (no overflow) == end - begin; the
  // last end is the data section's size. Errors name the tensor and the check.
  static Result<SafetensorsFile> Parse(std::string_view buffer);

  const std::vector<TensorView>& tensors() const { return tensors_; }  // in data order
  const TensorView* Find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

// Converts an F32, F16 or BF16 tensor to float32 values (copying; any alignment).
Result<std::vector<float>> CopyToFloat32(const TensorView& tensor);
// Float conversions used by the writer and tests (round to nearest even).
uint16_t FloatToBf16(float f);
uint16_t FloatToF16(float f);
float Bf16ToFloat(uint16_t h);
float F16ToFloat(uint16_t h);

// A checkpoint: one file, or shards named by model.safetensors.index.json.
struct NamedBuffer {
  std::string name;       // file name, e.g. "model-00001-of-00002.safetensors"
  std::string_view data;  // borrowed
};

// Parses every shard and returns all tensors by name. With an index: its "weight_map" must name
// every tensor of every shard, each in the shard that holds it, and every file it names must be
// given; without one there must be exactly one file. Views point into the given buffers.
Result<std::map<std::string, TensorView>> LoadCheckpoint(const std::vector<NamedBuffer>& files,
                                                         std::string_view index_json);

// A tensor to write: raw little-endian bytes of `dtype` elements.
struct TensorToWrite {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;
  std::string data;
};

// Writes a safetensors file: tensors in name order, header padded with spaces to a multiple of 8
// bytes (as the reference writer does), the given __metadata__ (omitted when empty). Fails on
// duplicate names or a size that does not match the shape.
Result<std::string> WriteSafetensors(const std::vector<TensorToWrite>& tensors,
                                     const std::map<std::string, std::string>& metadata);

}  // namespace triad::trainer

#endif  // TRIAD_TRAINER_SAFETENSORS_H_
