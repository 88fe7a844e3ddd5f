// RFC 6962 Merkle tree hashing and proof verification (the algorithms of RFC 9162 section 2.1).
//
// This is the verifier side of Triad's transparency log: it depends on nothing but SHA-256, so an
// auditor checks proofs without the coordinator's storage. The writer (storage/log.h) produces the
// proofs; tests check the two against each other and against a naive implementation.
//
//   leaf hash  = SHA-256(0x00 || entry)
//   node hash  = SHA-256(0x01 || left || right)
//   empty root = SHA-256("")
//
// A tree of n leaves splits at k, the largest power of two smaller than n (RFC 6962 section 2.1).
// Hashes are raw 32-byte strings. All functions are pure and thread-safe.
#ifndef TRIAD_CRYPTO_MERKLE_H_
#define TRIAD_CRYPTO_MERKLE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace triad::crypto::merkle {

inline constexpr size_t kHashSize = 32;
// Proofs longer than this cannot belong to any tree of at most 2^64 - 1 leaves (an inclusion proof
// has at most 64 hashes, a consistency proof at most 65).
inline constexpr size_t kMaxProofHashes = 65;

std::string LeafHash(absl::string_view entry);
// Fails only by aborting when an argument is not 32 bytes (a programming error).
std::string NodeHash(absl::string_view left, absl::string_view right);
std::string EmptyRoot();

// The root of the tree whose leaves have these leaf hashes (EmptyRoot() when there are none).
// O(n) time, O(log n) memory. Fails with kInvalidArgument when a hash is not 32 bytes.
absl::StatusOr<std::string> RootFromLeafHashes(absl::Span<const std::string> leaf_hashes);

// The number of hashes in the inclusion proof of leaf `index` in a tree of `size` leaves, and in the
// consistency proof from `size1` to `size2`. 0 where there is no proof (index >= size) or it is
// empty (size1 == 0 or size1 >= size2).
size_t InclusionProofSize(uint64_t index, uint64_t size);
size_t ConsistencyProofSize(uint64_t size1, uint64_t size2);

// Recomputes the root from an inclusion proof (RFC 9162 section 2.1.3.2). Fails with kInvalidArgument
// when index >= size, when a hash is not 32 bytes, or when the proof does not have the length a
// tree of that size needs; the messages say which.
absl::StatusOr<std::string> RootFromInclusionProof(uint64_t index, uint64_t size,
                                                   absl::string_view leaf_hash,
                                                   absl::Span<const std::string> proof);

// OK when `proof` proves that the leaf with hash `leaf_hash` is at `index` in the tree of `size`
// leaves whose root is `root`. Otherwise kInvalidArgument for a malformed proof (see above) and
// kUnauthenticated "inclusion proof of leaf I in tree size S leads to root X, not Y" for a proof that
// is well formed but wrong.
absl::Status VerifyInclusion(uint64_t index, uint64_t size, absl::string_view leaf_hash,
                             absl::Span<const std::string> proof, absl::string_view root);

// OK when `proof` proves that the tree of `size2` leaves with root `root2` extends the tree of
// `size1` leaves with root `root1` (RFC 9162 section 2.1.4.2). size1 == size2 needs an empty proof
// and equal roots; size1 == 0 needs an empty proof and root1 == EmptyRoot(). Otherwise
// kInvalidArgument for malformed input (size1 > size2, wrong hash or proof length) and
// kUnauthenticated when the proof does not reproduce root1 or root2; the messages say which.
absl::Status VerifyConsistency(uint64_t size1, uint64_t size2, absl::Span<const std::string> proof,
                               absl::string_view root1, absl::string_view root2);

}  // namespace triad::crypto::merkle

#endif  // TRIAD_CRYPTO_MERKLE_H_
