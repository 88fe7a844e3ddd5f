// A main for fuzz targets in builds without libFuzzer: runs LLVMFuzzerTestOneInput on every file of the
// given directories and on deterministic mutations of each (every byte flipped in turn for small
// inputs, a sample for large ones; truncations; extensions), so the normal suite keeps the targets
// building and catches crashes on the seeds' neighbourhood.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& s) { LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

size_t Mutate(const std::string& seed) {
  size_t runs = 0;
  Run(seed);
  ++runs;
  size_t step = seed.size() <= 4096 ? 1 : seed.size() / 4096;
  for (size_t i = 0; i < seed.size(); i += step) {
    std::string m = seed;
    m[i] = static_cast<char>(m[i] ^ 0xff);
    Run(m);
    ++runs;
  }
  for (size_t cut = 1; cut < seed.size(); cut = cut * 2 + 1) {
    Run(seed.substr(0, seed.size() - cut));
    ++runs;
  }
  Run(seed + std::string(64, '\0'));
  Run(seed + seed);
  Run("");
  return runs + 3;
}

}  // namespace

int main(int argc, char** argv) {
  size_t files = 0, runs = 0;
  for (int a = 1; a < argc; ++a) {
    for (const auto& entry : std::filesystem::directory_iterator(argv[a])) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::string seed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      runs += Mutate(seed);
      ++files;
    }
  }
  std::printf("replayed %zu seeds, %zu inputs\n", files, runs);
  return files == 0 ? 1 : 0;
}
