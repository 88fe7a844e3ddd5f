// Fuzzes the Merkle proof verifier (crypto/merkle.h) two ways, chosen by the first byte:
//   even: arbitrary index, sizes, hashes and proofs straight from the input: no crash, and never an
//         accepted inclusion proof for an index outside the tree;
//   odd:  a tree of up to 64 leaves cut from the input, with proofs made by the naive reference
//         implementation: the verifier must accept them, and reject them with one byte changed.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "crypto/merkle.h"
#include "tests/crypto/merkle_reference.h"

namespace merkle = triad::crypto::merkle;
namespace ref = triad::testing::merkle_reference;

namespace {

uint64_t TakeU64(absl::string_view* in) {
  uint64_t v = 0;
  size_t n = std::min<size_t>(8, in->size());
  std::memcpy(&v, in->data(), n);
  in->remove_prefix(n);
  return v;
}

std::string TakeHash(absl::string_view* in) {
  size_t n = std::min<size_t>(merkle::kHashSize, in->size());
  std::string h(in->substr(0, n));
  in->remove_prefix(n);
  return h;
}

void Raw(absl::string_view in) {
  uint64_t a = TakeU64(&in) % 200;  // small sizes reach the interesting shapes
  uint64_t b = TakeU64(&in) % 200;
  std::string h1 = TakeHash(&in);
  std::string h2 = TakeHash(&in);
  std::vector<std::string> proof;
  while (!in.empty() && proof.size() < 80) proof.push_back(TakeHash(&in));
  if (merkle::VerifyInclusion(a, b, h1, proof, h2).ok() && a >= b) __builtin_trap();
  (void)merkle::VerifyConsistency(a, b, proof, h1, h2);
  (void)merkle::VerifyConsistency(b, a, proof, h2, h1);
}

void Differential(absl::string_view in) {
  if (in.size() < 3) return;
  uint64_t n = 1 + static_cast<uint8_t>(in[0]) % 64;
  uint64_t m = static_cast<uint8_t>(in[1]) % n;
  size_t flip = static_cast<uint8_t>(in[2]);
  in.remove_prefix(3);
  ref::Entries d;
  for (uint64_t i = 0; i < n; ++i) {
    size_t len = in.empty() ? 0 : std::min<size_t>(in.size(), 1 + static_cast<uint8_t>(in[0]) % 16);
    d.emplace_back(in.substr(0, len));
    in.remove_prefix(len);
  }
  std::string root = ref::Mth(d);
  std::vector<std::string> path = ref::Path(m, d);
  if (!merkle::VerifyInclusion(m, n, merkle::LeafHash(d[m]), path, root).ok()) __builtin_trap();
  uint64_t m1 = flip % (n + 1);
  std::vector<std::string> proof = ref::Proof(m1, d);
  std::string old_root = ref::Mth(ref::Slice(d, 0, m1));
  if (!merkle::VerifyConsistency(m1, n, proof, old_root, root).ok()) __builtin_trap();
  if (!path.empty()) {
    std::string& h = path[flip % path.size()];
    h[flip % h.size()] ^= 0x20;
    if (merkle::VerifyInclusion(m, n, merkle::LeafHash(d[m]), path, root).ok()) __builtin_trap();
  }
  if (!proof.empty()) {
    std::string& h = proof[flip % proof.size()];
    h[(flip / 3) % h.size()] ^= 0x01;
    if (merkle::VerifyConsistency(m1, n, proof, old_root, root).ok()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  absl::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    Raw(in);
  } else {
    Differential(in);
  }
  return 0;
}
