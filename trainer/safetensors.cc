#include "trainer/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "trainer/internal/json_util.h"

namespace triad::trainer {
namespace {

static_assert(sizeof(float) == 4, "float must be IEEE binary32");

struct DtypeInfo {
  Dtype dtype;
  const char* name;
  size_t size;
};
// The safetensors Dtype enum (safetensors/src/tensor.rs) that this reader accepts.
constexpr DtypeInfo kDtypes[] = {
    {Dtype::kBool, "BOOL", 1},      {Dtype::kU8, "U8", 1},          {Dtype::kI8, "I8", 1},
    {Dtype::kF8E5M2, "F8_E5M2", 1}, {Dtype::kF8E4M3, "F8_E4M3", 1}, {Dtype::kI16, "I16", 2},
    {Dtype::kU16, "U16", 2},        {Dtype::kF16, "F16", 2},        {Dtype::kBF16, "BF16", 2},
    {Dtype::kI32, "I32", 4},        {Dtype::kU32, "U32", 4},        {Dtype::kF32, "F32", 4},
    {Dtype::kF64, "F64", 8},        {Dtype::kI64, "I64", 8},        {Dtype::kU64, "U64", 8},
};

uint64_t ReadLe64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF.
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // needs bytes i..i+n
    for (int k = 1; k <= n; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

Result<uint64_t> AsIndex(const nlohmann::json& v, const std::string& what) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    return InvalidArgument(what + " must be a non-negative integer, not " +
                           internal::JsonTypeName(v));
  }
  return v.get<uint64_t>();
}

}  // namespace

const char* DtypeName(Dtype dtype) {
  for (const auto& d : kDtypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "?";
}

std::optional<Dtype> ParseDtype(std::string_view name) {
  for (const auto& d : kDtypes) {
    if (name == d.name) return d.dtype;
  }
  return std::nullopt;
}

size_t DtypeSize(Dtype dtype) {
  for (const auto& d : kDtypes) {
    if (d.dtype == dtype) return d.size;
  }
  return 0;
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Result<SafetensorsFile> SafetensorsFile::Parse(std::string_view buffer) {
  if (buffer.size() < 8) {
    return InvalidArgument("safetensors: file of " + std::to_string(buffer.size()) +
                           " bytes is shorter than the 8-byte header length");
  }
  uint64_t n = ReadLe64(buffer.data());
  if (n > kMaxSafetensorsHeader) {
    return InvalidArgument("safetensors: header length " + std::to_string(n) +
                           " exceeds the limit of " + std::to_string(kMaxSafetensorsHeader) +
                           " bytes");
  }
  if (n > buffer.size() - 8) {
    return InvalidArgument("safetensors: header length " + std::to_string(n) +
                           " runs past the end of the " + std::to_string(buffer.size()) +
                           "-byte file");
  }
  std::string_view header = buffer.substr(8, n);
  if (!IsUtf8(header)) return InvalidArgument("safetensors: header is not valid UTF-8");
  if (header.empty() || header[0] != '{')
    return InvalidArgument("safetensors: header does not start with '{'");
  TRAINER_ASSIGN_OR_RETURN(nlohmann::json json,
                           internal::ParseJson(header, "safetensors header", 8));
  if (!json.is_object()) return InvalidArgument("safetensors: header is not a JSON object");

  SafetensorsFile file;
  struct Entry {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Entry> entries;
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) return InvalidArgument("safetensors: __metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) {
          return InvalidArgument("safetensors: __metadata__ value of \"" + m.key() +
                                 "\" is not a string");
        }
        file.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    std::string what = "safetensors: tensor \"" + name + "\"";
    if (!v.is_object()) return InvalidArgument(what + " is not an object");
    for (auto f = v.begin(); f != v.end(); ++f) {
      if (f.key() != "dtype" && f.key() != "shape" && f.key() != "data_offsets") {
        return InvalidArgument(what + " has an unknown field \"" + f.key() + "\"");
      }
    }
    if (!v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets")) {
      return InvalidArgument(what + " lacks dtype, shape or data_offsets");
    }
    TensorView t;
    t.name = name;
    if (!v["dtype"].is_string()) return InvalidArgument(what + ": dtype is not a string");
    std::optional<Dtype> dtype = ParseDtype(v["dtype"].get<std::string>());
    if (!dtype)
      return InvalidArgument(what + ": unknown dtype \"" + v["dtype"].get<std::string>() + "\"");
    t.dtype = *dtype;
    if (!v["shape"].is_array()) return InvalidArgument(what + ": shape is not an array");
    for (const auto& d : v["shape"]) {
      TRAINER_ASSIGN_OR_RETURN(uint64_t dim, AsIndex(d, what + ": shape entry"));
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return InvalidArgument(what + ": shape overflows");
      }
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    const nlohmann::json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2)
      return InvalidArgument(what + ": data_offsets is not a pair");
    TRAINER_ASSIGN_OR_RETURN(uint64_t begin, AsIndex(off[0], what + ": data_offsets begin"));
    TRAINER_ASSIGN_OR_RETURN(uint64_t end, AsIndex(off[1], what + ": data_offsets end"));
    entries.push_back({begin, end, file.tensors_.size()});
    file.tensors_.push_back(std::move(t));
  }

  // As the reference does: sort by offsets, then each tensor must begin where the previous ended.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const uint64_t data_size = buffer.size() - 8 - n;
  std::string_view data = buffer.substr(8 + n);
  uint64_t expected_begin = 0;
  std::vector<TensorView> sorted;
  sorted.reserve(entries.size());
  for (const Entry& e : entries) {
    TensorView& t = file.tensors_[e.index];
    std::string what = "safetensors: tensor \"" + t.name + "\"";
    if (e.begin != expected_begin || e.end < e.begin) {
      return InvalidArgument(what + ": data_offsets [" + std::to_string(e.begin) + ", " +
                             std::to_string(e.end) + "] do not continue at byte " +
                             std::to_string(expected_begin) + " (gap, overlap or reversed range)");
    }
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d != 0 && numel > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d)) {
        return InvalidArgument(what + ": shape element count overflows");
      }
      numel *= static_cast<uint64_t>(d);
    }
    uint64_t size = DtypeSize(t.dtype);
    if (numel > std::numeric_limits<uint64_t>::max() / size) {
      return InvalidArgument(what + ": byte size overflows");
    }
    if (numel * size != e.end - e.begin) {
      return InvalidArgument(what + ": shape and dtype give " + std::to_string(numel * size) +
                             " bytes but data_offsets span " + std::to_string(e.end - e.begin));
    }
    if (e.end > data_size) {
      return InvalidArgument(what + ": data_offsets end " + std::to_string(e.end) +
                             " is past the " + std::to_string(data_size) + "-byte data section");
    }
    expected_begin = e.end;
    t.data = data.substr(e.begin, e.end - e.begin);
    sorted.push_back(std::move(t));
  }
  if (expected_begin != data_size) {
    return InvalidArgument("safetensors: tensors cover " + std::to_string(expected_begin) +
                           " of the " + std::to_string(data_size) + " data bytes (trailing bytes)");
  }
  file.tensors_ = std::move(sorted);
  for (size_t i = 0; i < file.tensors_.size(); ++i) file.index_[file.tensors_[i].name] = i;
  return file;
}

const TensorView* SafetensorsFile::Find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

float Bf16ToFloat(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t FloatToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x007FFFFFu) != 0) {
    return static_cast<uint16_t>((bits >> 16) | 0x0040);  // quiet NaN
  }
  uint32_t rounding = 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

float F16ToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3FF) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | (exp + 127 - 15) << 23 | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t FloatToF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  uint32_t exp = (bits >> 23) & 0xFF;
  uint32_t mant = bits & 0x7FFFFF;
  if (exp == 0xFF) return sign | 0x7C00 | (mant ? 0x200 : 0);
  int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 31) return sign | 0x7C00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    int shift = 14 - e;
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return sign | static_cast<uint16_t>(half);
  }
  uint32_t half = static_cast<uint32_t>(e) << 10 | (mant >> 13);
  uint32_t rem = mant & 0x1FFF;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
    ++half;  // may carry into the exponent: correct
  return sign | static_cast<uint16_t>(half);
}

Result<std::vector<float>> CopyToFloat32(const TensorView& t) {
  const size_t n = t.data.size() / DtypeSize(t.dtype);
  std::vector<float> out(n);
  const char* p = t.data.data();
  switch (t.dtype) {
    case Dtype::kF32:
      if (n) std::memcpy(out.data(), p, n * 4);
      return out;
    case Dtype::kBF16:
    case Dtype::kF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h = static_cast<uint16_t>(static_cast<unsigned char>(p[2 * i]) |
                                           static_cast<unsigned char>(p[2 * i + 1]) << 8);
        out[i] = t.dtype == Dtype::kBF16 ? Bf16ToFloat(h) : F16ToFloat(h);
      }
      return out;
    default:
      return InvalidArgument("safetensors: tensor \"" + t.name + "\" has dtype " +
                             DtypeName(t.dtype) +
                             "; only F32, F16 and BF16 are supported for weights");
  }
}

Result<std::map<std::string, TensorView>> LoadCheckpoint(const std::vector<NamedBuffer>& files,
                                                         std::string_view index_json) {
  std::map<std::string, TensorView> all;
  if (index_json.empty()) {
    if (files.size() != 1) {
      return InvalidArgument("checkpoint: " + std::to_string(files.size()) +
                             " safetensors files but no model.safetensors.index.json");
    }
    TRAINER_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::Parse(files[0].data));
    for (const TensorView& t : f.tensors()) all[t.name] = t;
    return all;
  }
  TRAINER_ASSIGN_OR_RETURN(nlohmann::json index,
                           internal::ParseJson(index_json, "model.safetensors.index.json", 8));
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    return InvalidArgument("model.safetensors.index.json: no \"weight_map\" object");
  }
  std::map<std::string, std::string> weight_map;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it.value().is_string()) {
      return InvalidArgument("model.safetensors.index.json: weight_map entry \"" + it.key() +
                             "\" is not a string");
    }
    weight_map[it.key()] = it.value().get<std::string>();
  }
  std::set<std::string> named_files;
  for (const auto& [tensor, file] : weight_map) named_files.insert(file);
  std::set<std::string> given;
  for (const NamedBuffer& f : files) {
    if (!given.insert(f.name).second)
      return InvalidArgument("checkpoint: shard \"" + f.name + "\" given twice");
    if (!named_files.count(f.name)) {
      return InvalidArgument("checkpoint: shard \"" + f.name +
                             "\" is not named in the index's weight_map");
    }
  }
  for (const std::string& f : named_files) {
    if (!given.count(f))
      return InvalidArgument("checkpoint: shard \"" + f + "\" named in the index is missing");
  }
  for (const NamedBuffer& f : files) {
    auto parsed = SafetensorsFile::Parse(f.data);
    if (!parsed.ok()) return parsed.status().Annotate("shard \"" + f.name + "\"");
    for (const TensorView& t : parsed->tensors()) {
      auto it = weight_map.find(t.name);
      if (it == weight_map.end()) {
        return InvalidArgument("checkpoint: tensor \"" + t.name + "\" of shard \"" + f.name +
                               "\" is not in the index's weight_map");
      }
      if (it->second != f.name) {
        return InvalidArgument("checkpoint: tensor \"" + t.name + "\" is in shard \"" + f.name +
                               "\" but the index puts it in \"" + it->second + "\"");
      }
      all[t.name] = t;
    }
  }
  for (const auto& [tensor, file] : weight_map) {
    if (!all.count(tensor)) {
      return InvalidArgument("checkpoint: tensor \"" + tensor +
                             "\" is in the index but not in shard \"" + file + "\"");
    }
  }
  return all;
}

Result<std::string> WriteSafetensors(const std::vector<TensorToWrite>& tensors,
                                     const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorToWrite*> order;
  for (const auto& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->name < b->name; });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const TensorToWrite& t = *order[i];
    if (i > 0 && order[i - 1]->name == t.name)
      return InvalidArgument("safetensors writer: duplicate tensor \"" + t.name + "\"");
    if (t.name == "__metadata__")
      return InvalidArgument("safetensors writer: tensor name \"__metadata__\" is reserved");
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0)
        return InvalidArgument("safetensors writer: tensor \"" + t.name +
                               "\" has a negative dimension");
      numel *= static_cast<uint64_t>(d);
    }
    if (numel * DtypeSize(t.dtype) != t.data.size()) {
      return InvalidArgument("safetensors writer: tensor \"" + t.name + "\" has " +
                             std::to_string(t.data.size()) + " bytes; its shape and dtype need " +
                             std::to_string(numel * DtypeSize(t.dtype)));
    }
    header[t.name] = {{"dtype", DtypeName(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + h.size() + offset);
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  out += h;
  for (const TensorToWrite* t : order) out += t->data;
  return out;
}

}  // namespace triad::trainer
