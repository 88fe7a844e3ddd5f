#include "crypto/merkle.h"

#include <cstdlib>
#include <utility>

#include "absl/numeric/bits.h"
#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "crypto/hash.h"

namespace triad::crypto::merkle {
namespace {

// RFC 6962 section 2.1: domain separation of leaves and interior nodes.
constexpr char kLeafPrefix = 0x00;
constexpr char kNodePrefix = 0x01;

size_t BitLength(uint64_t x) { return x == 0 ? 0 : 64 - static_cast<size_t>(absl::countl_zero(x)); }

absl::Status CheckHash(absl::string_view what, absl::string_view hash) {
  if (hash.size() != kHashSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", hash.size(), " bytes, not ", kHashSize));
  }
  return absl::OkStatus();
}

absl::Status CheckProofHashes(absl::string_view what, absl::Span<const std::string> proof) {
  for (size_t i = 0; i < proof.size(); ++i) {
    absl::Status st = CheckHash(absl::StrCat(what, " hash ", i), proof[i]);
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

std::string Hex(absl::string_view h) { return base::HexEncode(h); }

}  // namespace

std::string LeafHash(absl::string_view entry) {
  Hasher h(HashAlg::kSha256);
  h.Update(absl::string_view(&kLeafPrefix, 1));
  h.Update(entry);
  return h.Finish();
}

std::string NodeHash(absl::string_view left, absl::string_view right) {
  if (left.size() != kHashSize || right.size() != kHashSize) std::abort();
  char buf[1 + 2 * kHashSize];
  buf[0] = kNodePrefix;
  left.copy(buf + 1, kHashSize);
  right.copy(buf + 1 + kHashSize, kHashSize);
  return Sha256(absl::string_view(buf, sizeof buf));
}

std::string EmptyRoot() { return Sha256(""); }

absl::StatusOr<std::string> RootFromLeafHashes(absl::Span<const std::string> leaf_hashes) {
  if (leaf_hashes.empty()) return EmptyRoot();
  // The right edge of the tree as a stack of perfect subtrees, largest first: (height, hash).
  std::vector<std::pair<int, std::string>> stack;
  for (size_t i = 0; i < leaf_hashes.size(); ++i) {
    if (leaf_hashes[i].size() != kHashSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("leaf hash ", i, " is ", leaf_hashes[i].size(), " bytes, not ", kHashSize));
    }
    stack.emplace_back(0, leaf_hashes[i]);
    while (stack.size() >= 2 && stack[stack.size() - 1].first == stack[stack.size() - 2].first) {
      std::string right = std::move(stack.back().second);
      stack.pop_back();
      stack.back().second = NodeHash(stack.back().second, right);
      ++stack.back().first;
    }
  }
  // The unbalanced right part hangs off the perfect subtrees from right to left.
  std::string root = std::move(stack.back().second);
  for (size_t i = stack.size() - 1; i-- > 0;) root = NodeHash(stack[i].second, root);
  return root;
}

size_t InclusionProofSize(uint64_t index, uint64_t size) {
  if (index >= size) return 0;
  // Below the level where the paths to `index` and to the last leaf part, every level adds one hash
  // (`inner`); above it, one hash per left sibling on the path (`border`), i.e. per set bit.
  size_t inner = BitLength(index ^ (size - 1));
  size_t border = inner >= 64 ? 0 : static_cast<size_t>(absl::popcount(index >> inner));
  return inner + border;
}

size_t ConsistencyProofSize(uint64_t size1, uint64_t size2) {
  if (size1 == 0 || size1 >= size2) return 0;
  // The proof is the inclusion proof of the last leaf of the old tree, minus the levels below the
  // old tree's lowest perfect subtree, plus that subtree's hash unless it is the whole old tree.
  size_t shift = static_cast<size_t>(absl::countr_zero(size1));
  size_t inner = BitLength((size1 - 1) ^ (size2 - 1));
  size_t border = inner >= 64 ? 0 : static_cast<size_t>(absl::popcount((size1 - 1) >> inner));
  size_t start = (size1 >> shift) == 1 ? 0 : 1;
  return start + (inner - shift) + border;
}

absl::StatusOr<std::string> RootFromInclusionProof(uint64_t index, uint64_t size,
                                                   absl::string_view leaf_hash,
                                                   absl::Span<const std::string> proof) {
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof: leaf index ", index, " is not less than tree size ", size));
  }
  absl::Status st = CheckHash("inclusion proof: leaf hash", leaf_hash);
  if (!st.ok()) return st;
  if (proof.size() > kMaxProofHashes) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof has ", proof.size(), " hashes, more than any tree needs"));
  }
  st = CheckProofHashes("inclusion proof:", proof);
  if (!st.ok()) return st;
  size_t want = InclusionProofSize(index, size);
  if (proof.size() != want) {
    return absl::InvalidArgumentError(absl::StrCat("inclusion proof has ", proof.size(),
                                                   " hashes; leaf ", index, " in a tree of size ",
                                                   size, " needs ", want));
  }
  // RFC 9162 section 2.1.3.2.
  uint64_t fn = index;
  uint64_t sn = size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (sn == 0) return absl::InvalidArgumentError("inclusion proof is longer than the path");
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::InvalidArgumentError("inclusion proof is shorter than the path");
  return r;
}

absl::Status VerifyInclusion(uint64_t index, uint64_t size, absl::string_view leaf_hash,
                             absl::Span<const std::string> proof, absl::string_view root) {
  absl::Status st = CheckHash("inclusion proof: root hash", root);
  if (!st.ok()) return st;
  absl::StatusOr<std::string> got = RootFromInclusionProof(index, size, leaf_hash, proof);
  if (!got.ok()) return got.status();
  if (*got != root) {
    return absl::UnauthenticatedError(absl::StrCat("inclusion proof of leaf ", index,
                                                   " in tree size ", size, " leads to root ",
                                                   Hex(*got), ", not ", Hex(root)));
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t size1, uint64_t size2, absl::Span<const std::string> proof,
                               absl::string_view root1, absl::string_view root2) {
  absl::Status st = CheckHash("consistency proof: first root", root1);
  if (st.ok()) st = CheckHash("consistency proof: second root", root2);
  if (!st.ok()) return st;
  if (size1 > size2) {
    return absl::InvalidArgumentError(absl::StrCat("consistency proof: first tree size ", size1,
                                                   " is larger than second tree size ", size2));
  }
  if (proof.size() > kMaxProofHashes) {
    return absl::InvalidArgumentError(
        absl::StrCat("consistency proof has ", proof.size(), " hashes, more than any tree needs"));
  }
  st = CheckProofHashes("consistency proof:", proof);
  if (!st.ok()) return st;
  size_t want = 0;
  if (size1 != 0 && size1 != size2) want = ConsistencyProofSize(size1, size2);
  if (proof.size() != want) {
    return absl::InvalidArgumentError(absl::StrCat("consistency proof has ", proof.size(),
                                                   " hashes; from tree size ", size1, " to ", size2,
                                                   " it needs ", want));
  }
  if (size1 == size2) {
    if (root1 != root2) {
      return absl::UnauthenticatedError(absl::StrCat("consistency proof: two roots of tree size ",
                                                     size1, " differ: ", Hex(root1), " and ",
                                                     Hex(root2)));
    }
    return absl::OkStatus();
  }
  if (size1 == 0) {
    if (root1 != EmptyRoot()) {
      return absl::UnauthenticatedError(
          absl::StrCat("consistency proof: root of the empty tree is ", Hex(root1), ", not ",
                       Hex(EmptyRoot())));
    }
    return absl::OkStatus();
  }

  // RFC 9162 section 2.1.4.2. When the old tree is a perfect subtree its root is the proof's seed.
  std::vector<std::string> path;
  path.reserve(proof.size() + 1);
  if ((size1 & (size1 - 1)) == 0) path.emplace_back(root1);
  path.insert(path.end(), proof.begin(), proof.end());

  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = path[0];
  std::string sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string& c = path[i];
    if (sn == 0) return absl::InvalidArgumentError("consistency proof is longer than the path");
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::InvalidArgumentError("consistency proof is shorter than the path");
  if (fr != root1) {
    return absl::UnauthenticatedError(absl::StrCat("consistency proof from tree size ", size1,
                                                   " to ", size2, " leads to first root ", Hex(fr),
                                                   ", not ", Hex(root1)));
  }
  if (sr != root2) {
    return absl::UnauthenticatedError(absl::StrCat("consistency proof from tree size ", size1,
                                                   " to ", size2, " leads to second root ", Hex(sr),
                                                   ", not ", Hex(root2)));
  }
  return absl::OkStatus();
}

}  // namespace triad::crypto::merkle
