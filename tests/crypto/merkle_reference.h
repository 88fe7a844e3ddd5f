// A second, naive implementation of RFC 6962 section 2.1, written straight from the RFC's recursive
// definitions (MTH, PATH, PROOF/SUBPROOF) over the whole list of entries, for checking the verifier
// (crypto/merkle.h) and the log writer (storage/log.h) against. Deliberately slow and simple: it
// shares no code with either, not even the hash prefixes.
#ifndef TRIAD_TESTS_CRYPTO_MERKLE_REFERENCE_H_
#define TRIAD_TESTS_CRYPTO_MERKLE_REFERENCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/hash.h"

namespace triad::testing::merkle_reference {

using Entries = std::vector<std::string>;

inline Entries Slice(const Entries& d, uint64_t begin, uint64_t end) {
  return Entries(d.begin() + static_cast<std::ptrdiff_t>(begin), d.begin() + static_cast<std::ptrdiff_t>(end));
}

// "the largest power of two smaller than n"
inline uint64_t K(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// MTH(D[n]).
inline std::string Mth(const Entries& d) {
  if (d.empty()) return crypto::Sha256("");
  if (d.size() == 1) return crypto::Sha256(std::string(1, '\0') + d[0]);
  uint64_t k = K(d.size());
  return crypto::Sha256(std::string(1, '\1') + Mth(Slice(d, 0, k)) + Mth(Slice(d, k, d.size())));
}

// PATH(m, D[n]).
inline std::vector<std::string> Path(uint64_t m, const Entries& d) {
  if (d.size() <= 1) return {};
  uint64_t n = d.size();
  uint64_t k = K(n);
  std::vector<std::string> out;
  if (m < k) {
    out = Path(m, Slice(d, 0, k));
    out.push_back(Mth(Slice(d, k, n)));
  } else {
    out = Path(m - k, Slice(d, k, n));
    out.push_back(Mth(Slice(d, 0, k)));
  }
  return out;
}

// SUBPROOF(m, D[n], b).
inline std::vector<std::string> SubProof(uint64_t m, const Entries& d, bool b) {
  uint64_t n = d.size();
  if (m == n) {
    if (b) return {};
    return {Mth(d)};
  }
  uint64_t k = K(n);
  std::vector<std::string> out;
  if (m <= k) {
    out = SubProof(m, Slice(d, 0, k), b);
    out.push_back(Mth(Slice(d, k, n)));
  } else {
    out = SubProof(m - k, Slice(d, k, n), false);
    out.push_back(Mth(Slice(d, 0, k)));
  }
  return out;
}

// PROOF(m, D[n]); empty for m == 0 (nothing to prove) as for m == n.
inline std::vector<std::string> Proof(uint64_t m, const Entries& d) {
  if (m == 0) return {};
  return SubProof(m, d, true);
}

// Entries of varied lengths, distinct for each index.
inline Entries MakeEntries(uint64_t n) {
  Entries d;
  for (uint64_t i = 0; i < n; ++i) d.push_back("entry " + std::to_string(i) + std::string(i % 7, 'x'));
  return d;
}

}  // namespace triad::testing::merkle_reference

#endif  // TRIAD_TESTS_CRYPTO_MERKLE_REFERENCE_H_
