// Helpers shared by the trainer's benchmarks: process memory from /proc and a byte tokenizer
// (id = byte), so that they run without the BPE tokenizer and feed the same ids as the Python peers.
#ifndef TRIAD_BENCH_TRAINER_BENCH_UTIL_H_
#define TRIAD_BENCH_TRAINER_BENCH_UTIL_H_

#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "trainer/tokenizer.h"

namespace triad::bench {

// A field of /proc/self/status in bytes ("VmRSS:", "VmHWM:"), 0 when absent.
inline uint64_t ProcStatusBytes(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stoull(line.substr(std::strlen(key))) * 1024;
  }
  return 0;
}

// Resets VmHWM to the current RSS (Linux >= 4.0, proc(5) clear_refs "5").
inline bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  return static_cast<bool>(out);
}

class ByteTokenizer : public trainer::Tokenizer {
 public:
  trainer::Result<trainer::Encoding> Encode(std::string_view text, bool) const override {
    trainer::Encoding e;
    for (unsigned char c : text) e.ids.push_back(c);
    return e;
  }
  trainer::Result<std::string> Decode(const std::vector<int32_t>& ids, bool) const override {
    std::string s;
    for (int32_t i : ids) s.push_back(static_cast<char>(i));
    return s;
  }
  std::optional<int32_t> TokenToId(std::string_view) const override { return std::nullopt; }
  // Overrides Tokenizer::IdToToken where the interface has it.
  std::optional<std::string> IdToToken(int32_t id) const {  // NOLINT(modernize-use-override)
    if (id < 0 || id > 255) return std::nullopt;
    return std::string(1, static_cast<char>(id));
  }
  int32_t VocabSize() const override { return 256; }
};

}  // namespace triad::bench

#endif  // TRIAD_BENCH_TRAINER_BENCH_UTIL_H_
