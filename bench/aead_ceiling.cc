// aead_ceiling: how fast OpenSSL's ChaCha20-Poly1305, the primitive every age chunk goes through,
// opens 64 KiB chunks on this machine with nothing around it: no process start, no page faults, no
// output, no age framing. Two settings, on THREADS threads:
//
//   cache   each thread opens the same 1 MiB of chunks over and over, so the ciphertext stays in the
//           core's cache. This is what `openssl speed -evp chacha20-poly1305` measures.
//   memory  the threads open every chunk of FILE once, each its own contiguous share, so every byte
//           of ciphertext comes from RAM (the file is mapped and its pages populated beforehand).
//           This is what any decryptor of a file too large for the cache needs at least.
//
//   aead_ceiling FILE THREADS ROUNDS
//
// prints one line per setting, "cache MB/s" and "memory MB/s" (10^6 bytes per second of
// ciphertext, the median of ROUNDS rounds). The key is random, so every tag check fails; OpenSSL does
// the same work either way (it computes the whole tag before it compares), and the run stops if a
// call itself fails.
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

constexpr size_t kChunk = 64 * 1024 + 16;  // an age chunk: 64 KiB of ciphertext and its tag
constexpr size_t kHotChunks = 16;          // 1 MiB: stays in a core's L2 cache

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "aead_ceiling: %s\n", what);
  std::exit(1);
}

// Opens `count` chunks starting at `chunks`; when `hot`, the first kHotChunks over and over.
void OpenChunks(const uint8_t* chunks, size_t count, bool hot) {
  uint8_t key[32];
  for (size_t i = 0; i < sizeof key; ++i) key[i] = static_cast<uint8_t>(std::rand());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr || EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, key, nullptr) != 1) {
    Die("cannot set up ChaCha20-Poly1305");
  }
  std::vector<uint8_t> out(kChunk);
  uint8_t nonce[12] = {};
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* in = chunks + (hot ? i % kHotChunks : i) * kChunk;
    std::memcpy(nonce + 3, &i, sizeof i);
    int n = 0;
    uint8_t tag[16];
    std::memcpy(tag, in + kChunk - 16, 16);
    if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1 ||
        EVP_DecryptUpdate(ctx, out.data(), &n, in, static_cast<int>(kChunk - 16)) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1) {
      Die("ChaCha20-Poly1305 decryption call failed");
    }
    EVP_DecryptFinal_ex(ctx, out.data() + n, &n);  // the tag check: fails, as it must
  }
  EVP_CIPHER_CTX_free(ctx);
}

// One round: `threads` threads, started before the clock runs, each opening its share.
double RoundSeconds(const uint8_t* data, size_t chunks, int threads, bool hot) {
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  const size_t share = chunks / static_cast<size_t>(threads);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      while (!go.load(std::memory_order_acquire)) {
      }
      OpenChunks(data + static_cast<size_t>(t) * share * kChunk, share, hot);
    });
  }
  auto start = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  for (std::thread& th : pool) th.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) Die("usage: aead_ceiling FILE THREADS ROUNDS");
  const int threads = std::atoi(argv[2]);
  const int rounds = std::atoi(argv[3]);
  if (threads < 1 || rounds < 1) Die("THREADS and ROUNDS must be at least 1");
  int fd = ::open(argv[1], O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0) Die("cannot open FILE");
  const size_t chunks = static_cast<size_t>(st.st_size) / kChunk;
  if (chunks < kHotChunks * static_cast<size_t>(threads)) Die("FILE is too small");
  void* map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED | MAP_POPULATE,
                     fd, 0);
  if (map == MAP_FAILED) Die("cannot map FILE");
  const auto* data = static_cast<const uint8_t*>(map);
  const size_t share_bytes = chunks / static_cast<size_t>(threads) * static_cast<size_t>(threads) * kChunk;
  for (bool hot : {true, false}) {
    std::vector<double> seconds;
    RoundSeconds(data, chunks, threads, hot);  // warm-up
    for (int r = 0; r < rounds; ++r) seconds.push_back(RoundSeconds(data, chunks, threads, hot));
    std::sort(seconds.begin(), seconds.end());
    std::printf("%s %.0f\n", hot ? "cache" : "memory",
                static_cast<double>(share_bytes) / seconds[seconds.size() / 2] / 1e6);
  }
  ::munmap(map, static_cast<size_t>(st.st_size));
  ::close(fd);
  return 0;
}
