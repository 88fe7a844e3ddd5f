#include "crypto/merkle.h"

#include <random>
#include <string>
#include <vector>

#include "base/encoding.h"
#include "gtest/gtest.h"
#include "tests/crypto/merkle_reference.h"
#include "tests/testing/testing.h"

namespace triad::crypto::merkle {
namespace {

namespace ref = triad::testing::merkle_reference;

std::string H(const std::string& hex) {
  auto b = base::HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : std::string();
}

std::vector<std::string> Hs(const std::vector<std::string>& hexes) {
  std::vector<std::string> out;
  for (const auto& h : hexes) out.push_back(H(h));
  return out;
}

std::vector<std::string> LeafHashes(const ref::Entries& d) {
  std::vector<std::string> out;
  for (const auto& e : d) out.push_back(LeafHash(e));
  return out;
}

// The RFC 6962 test data published with the Certificate Transparency code (transparency-dev/merkle
// testonly/constants.go and proof/verify_test.go; also google/certificate-transparency's
// merkle_tree_test.cc): eight leaves and the roots of their prefixes.
const ref::Entries& CtLeaves() {
  static const ref::Entries* leaves = new ref::Entries{
      H(""), H("00"), H("10"), H("2021"), H("3031"), H("40414243"), H("5051525354555657"),
      H("606162636465666768696a6b6c6d6e6f")};
  return *leaves;
}

const std::vector<std::string>& CtRoots() {
  static const std::vector<std::string>* roots = new std::vector<std::string>(Hs({
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  }));
  return *roots;
}

TEST(MerkleVectors, RootsOfTheCtTestTree) {
  for (size_t n = 0; n <= 8; ++n) {
    ref::Entries d = ref::Slice(CtLeaves(), 0, n);
    auto root = RootFromLeafHashes(LeafHashes(d));
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(base::HexEncode(*root), base::HexEncode(CtRoots()[n])) << "size " << n;
    EXPECT_EQ(ref::Mth(d), CtRoots()[n]) << "the reference implementation, size " << n;
  }
  EXPECT_EQ(EmptyRoot(), CtRoots()[0]);
}

TEST(MerkleVectors, InclusionProofsOfTheCtTestTree) {
  struct Vector {
    uint64_t index, size;
    std::vector<std::string> proof;
  };
  // transparency-dev/merkle proof/verify_test.go inclusionProofs (their leaf numbers are 1-based).
  const std::vector<Vector> vectors = {
      {0, 8, Hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8, Hs({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                 "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 3, Hs({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5, Hs({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {0, 1, {}},
  };
  for (const Vector& v : vectors) {
    SCOPED_TRACE(::testing::Message() << "leaf " << v.index << " of " << v.size);
    ref::Entries d = ref::Slice(CtLeaves(), 0, v.size);
    EXPECT_EQ(ref::Path(v.index, d), v.proof) << "the reference implementation disagrees with the vector";
    EXPECT_TRUE(VerifyInclusion(v.index, v.size, LeafHash(CtLeaves()[v.index]), v.proof, CtRoots()[v.size]).ok());
  }
}

TEST(MerkleVectors, ConsistencyProofsOfTheCtTestTree) {
  struct Vector {
    uint64_t size1, size2;
    std::vector<std::string> proof;
  };
  // transparency-dev/merkle proof/verify_test.go consistencyProofs.
  const std::vector<Vector> vectors = {
      {1, 1, {}},
      {1, 8, Hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8, Hs({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                 "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5, Hs({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {6, 7, Hs({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                 "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
  };
  for (const Vector& v : vectors) {
    SCOPED_TRACE(::testing::Message() << v.size1 << " -> " << v.size2);
    ref::Entries d = ref::Slice(CtLeaves(), 0, v.size2);
    EXPECT_EQ(ref::Proof(v.size1, d), v.proof) << "the reference implementation disagrees with the vector";
    EXPECT_TRUE(VerifyConsistency(v.size1, v.size2, v.proof, CtRoots()[v.size1], CtRoots()[v.size2]).ok());
  }
}

std::string FlipBit(std::string s, size_t byte, int bit) {
  s[byte] = static_cast<char>(s[byte] ^ (1 << bit));
  return s;
}

// Every leaf of every tree up to 64 leaves: the verifier accepts the reference path, and the length
// it expects is the reference path's; any change to the proof, the index, the size, the leaf or the
// root is rejected.
TEST(MerkleInclusion, EveryLeafOfEveryTreeUpTo64) {
  ref::Entries all = ref::MakeEntries(64);
  for (uint64_t n = 1; n <= 64; ++n) {
    ref::Entries d = ref::Slice(all, 0, n);
    std::string root = ref::Mth(d);
    auto computed = RootFromLeafHashes(LeafHashes(d));
    ASSERT_TRUE(computed.ok());
    ASSERT_EQ(*computed, root) << "size " << n;
    for (uint64_t m = 0; m < n; ++m) {
      SCOPED_TRACE(::testing::Message() << "leaf " << m << " of " << n);
      std::vector<std::string> path = ref::Path(m, d);
      std::string leaf = LeafHash(d[m]);
      ASSERT_EQ(InclusionProofSize(m, n), path.size());
      ASSERT_TRUE(VerifyInclusion(m, n, leaf, path, root).ok());
      for (size_t i = 0; i < path.size(); ++i) {
        std::vector<std::string> bad = path;
        bad[i] = FlipBit(bad[i], i % kHashSize, 3);
        absl::Status st = VerifyInclusion(m, n, leaf, bad, root);
        EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated) << st;
      }
      EXPECT_FALSE(VerifyInclusion(m, n, FlipBit(leaf, 0, 0), path, root).ok());
      EXPECT_FALSE(VerifyInclusion(m, n, leaf, path, FlipBit(root, 31, 7)).ok());
      // Another index either needs another proof length or leads elsewhere. (Another tree size whose
      // path has the same shape computes the same root: the size is bound by the signed checkpoint
      // that carries the root, not by the proof. Twice or half the size never has that shape.)
      for (uint64_t other = 0; other < n; ++other) {
        if (other != m) {
          EXPECT_FALSE(VerifyInclusion(other, n, leaf, path, root).ok());
        }
      }
      EXPECT_FALSE(VerifyInclusion(m, 2 * n, leaf, path, root).ok());
      if (m < n / 2) {
        EXPECT_FALSE(VerifyInclusion(m, n / 2, leaf, path, root).ok());
      }
      std::vector<std::string> longer = path;
      longer.push_back(root);
      EXPECT_EQ(VerifyInclusion(m, n, leaf, longer, root).code(), absl::StatusCode::kInvalidArgument);
      if (!path.empty()) {
        std::vector<std::string> shorter(path.begin(), path.end() - 1);
        EXPECT_EQ(VerifyInclusion(m, n, leaf, shorter, root).code(), absl::StatusCode::kInvalidArgument);
      }
    }
  }
}

// Every pair of sizes 0 <= m <= n <= 64.
TEST(MerkleConsistency, EveryPairOfSizesUpTo64) {
  ref::Entries all = ref::MakeEntries(64);
  std::vector<std::string> roots;
  for (uint64_t n = 0; n <= 64; ++n) roots.push_back(ref::Mth(ref::Slice(all, 0, n)));
  for (uint64_t n = 0; n <= 64; ++n) {
    ref::Entries d = ref::Slice(all, 0, n);
    for (uint64_t m = 0; m <= n; ++m) {
      SCOPED_TRACE(::testing::Message() << m << " -> " << n);
      std::vector<std::string> proof = ref::Proof(m, d);
      if (m != 0 && m != n) {
        ASSERT_EQ(ConsistencyProofSize(m, n), proof.size());
      }
      ASSERT_TRUE(VerifyConsistency(m, n, proof, roots[m], roots[n]).ok());
      if (m == 0 || m == n) {
        // Nothing but equal roots (or the empty tree's) are consistent here.
        EXPECT_FALSE(VerifyConsistency(m, n, proof, FlipBit(roots[m], 0, 1), roots[n]).ok());
        continue;
      }
      for (size_t i = 0; i < proof.size(); ++i) {
        std::vector<std::string> bad = proof;
        bad[i] = FlipBit(bad[i], 31 - i % kHashSize, 4);
        absl::Status st = VerifyConsistency(m, n, bad, roots[m], roots[n]);
        EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated) << st;
      }
      EXPECT_FALSE(VerifyConsistency(m, n, proof, FlipBit(roots[m], 5, 5), roots[n]).ok());
      EXPECT_FALSE(VerifyConsistency(m, n, proof, roots[m], FlipBit(roots[n], 5, 5)).ok());
      EXPECT_FALSE(VerifyConsistency(m, n, proof, roots[n], roots[m]).ok());
      // Any other old tree size on the same proof fails.
      for (uint64_t other = 1; other < n; ++other) {
        if (other != m) {
          EXPECT_FALSE(VerifyConsistency(other, n, proof, roots[other], roots[n]).ok());
        }
      }
      EXPECT_FALSE(VerifyConsistency(m, 2 * n, proof, roots[m], roots[n]).ok());
      std::vector<std::string> longer = proof;
      longer.insert(longer.begin(), roots[m]);
      EXPECT_EQ(VerifyConsistency(m, n, longer, roots[m], roots[n]).code(), absl::StatusCode::kInvalidArgument);
      std::vector<std::string> shorter(proof.begin(), proof.end() - 1);
      EXPECT_EQ(VerifyConsistency(m, n, shorter, roots[m], roots[n]).code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

// Larger trees, random sizes and leaves, against the reference.
TEST(MerkleRandom, LargerTrees) {
  std::mt19937_64 rng(6962);
  ref::Entries all = ref::MakeEntries(3000);
  for (int round = 0; round < 6; ++round) {
    uint64_t n = 65 + rng() % (all.size() - 65);
    ref::Entries d = ref::Slice(all, 0, n);
    std::string root = ref::Mth(d);
    auto computed = RootFromLeafHashes(LeafHashes(d));
    ASSERT_TRUE(computed.ok());
    ASSERT_EQ(*computed, root) << n;
    for (int k = 0; k < 5; ++k) {
      uint64_t m = rng() % n;
      std::vector<std::string> path = ref::Path(m, d);
      EXPECT_EQ(InclusionProofSize(m, n), path.size());
      EXPECT_TRUE(VerifyInclusion(m, n, LeafHash(d[m]), path, root).ok()) << m << " of " << n;
      uint64_t m1 = 1 + rng() % (n - 1);
      std::vector<std::string> proof = ref::Proof(m1, d);
      EXPECT_EQ(ConsistencyProofSize(m1, n), proof.size());
      EXPECT_TRUE(VerifyConsistency(m1, n, proof, ref::Mth(ref::Slice(d, 0, m1)), root).ok()) << m1 << " -> " << n;
    }
  }
}

TEST(MerkleReasons, Inclusion) {
  std::string leaf = LeafHash("a");
  std::string root = EmptyRoot();
  EXPECT_EQ(VerifyInclusion(8, 8, leaf, {}, root).message(), "inclusion proof: leaf index 8 is not less than tree size 8");
  EXPECT_EQ(VerifyInclusion(0, 0, leaf, {}, root).message(), "inclusion proof: leaf index 0 is not less than tree size 0");
  EXPECT_EQ(VerifyInclusion(0, 1, "short", {}, root).message(), "inclusion proof: leaf hash is 5 bytes, not 32");
  EXPECT_EQ(VerifyInclusion(0, 1, leaf, {}, "").message(), "inclusion proof: root hash is 0 bytes, not 32");
  EXPECT_EQ(VerifyInclusion(0, 2, leaf, {"x"}, root).message(), "inclusion proof: hash 0 is 1 bytes, not 32");
  EXPECT_EQ(VerifyInclusion(0, 8, leaf, {root}, root).message(),
            "inclusion proof has 1 hashes; leaf 0 in a tree of size 8 needs 3");
  EXPECT_EQ(VerifyInclusion(0, 1, leaf, {}, root).message(),
            "inclusion proof of leaf 0 in tree size 1 leads to root " + base::HexEncode(leaf) + ", not " +
                base::HexEncode(root));
  EXPECT_EQ(VerifyInclusion(0, 2, leaf, std::vector<std::string>(66, root), root).message(),
            "inclusion proof has 66 hashes, more than any tree needs");
  // The largest tree: 2^64 - 1 leaves; the last leaf's proof has 63 hashes.
  EXPECT_EQ(InclusionProofSize(UINT64_MAX - 1, UINT64_MAX), 63u);
  EXPECT_EQ(InclusionProofSize(0, UINT64_MAX), 64u);
  EXPECT_EQ(InclusionProofSize(5, 5), 0u);
  EXPECT_EQ(ConsistencyProofSize(0, 5), 0u);
  EXPECT_EQ(ConsistencyProofSize(5, 5), 0u);
  EXPECT_EQ(ConsistencyProofSize(6, 5), 0u);
  EXPECT_EQ(ConsistencyProofSize(1, UINT64_MAX), 64u);
  EXPECT_EQ(ConsistencyProofSize(3, UINT64_MAX), 65u);  // the seed and a full path
}

TEST(MerkleReasons, Consistency) {
  std::string a = LeafHash("a");
  std::string b = LeafHash("b");
  EXPECT_EQ(VerifyConsistency(3, 2, {}, a, b).message(),
            "consistency proof: first tree size 3 is larger than second tree size 2");
  EXPECT_EQ(VerifyConsistency(2, 2, {}, a, b).message(),
            "consistency proof: two roots of tree size 2 differ: " + base::HexEncode(a) + " and " + base::HexEncode(b));
  EXPECT_TRUE(VerifyConsistency(2, 2, {}, a, a).ok());
  EXPECT_EQ(VerifyConsistency(2, 2, {a}, a, a).message(), "consistency proof has 1 hashes; from tree size 2 to 2 it needs 0");
  EXPECT_TRUE(VerifyConsistency(0, 5, {}, EmptyRoot(), b).ok());
  EXPECT_EQ(VerifyConsistency(0, 5, {}, a, b).message(),
            "consistency proof: root of the empty tree is " + base::HexEncode(a) + ", not " + base::HexEncode(EmptyRoot()));
  EXPECT_EQ(VerifyConsistency(1, 2, {}, a, b).message(), "consistency proof has 0 hashes; from tree size 1 to 2 it needs 1");
  EXPECT_EQ(VerifyConsistency(1, 2, {b}, a, a).message(),
            "consistency proof from tree size 1 to 2 leads to second root " + base::HexEncode(NodeHash(a, b)) +
                ", not " + base::HexEncode(a));
  // Old tree of 3 leaves: its root is not the proof's seed, so the first root is recomputed.
  ref::Entries d = ref::MakeEntries(4);
  std::vector<std::string> proof = ref::Proof(3, d);
  std::string wrong_old = ref::Mth(ref::Slice(d, 0, 2));
  EXPECT_EQ(VerifyConsistency(3, 4, proof, wrong_old, ref::Mth(d)).message(),
            "consistency proof from tree size 3 to 4 leads to first root " + base::HexEncode(ref::Mth(ref::Slice(d, 0, 3))) +
                ", not " + base::HexEncode(wrong_old));
  EXPECT_EQ(VerifyConsistency(1, 2, {"x"}, a, b).message(), "consistency proof: hash 0 is 1 bytes, not 32");
  EXPECT_EQ(VerifyConsistency(1, 2, {}, "", b).message(), "consistency proof: first root is 0 bytes, not 32");
}

TEST(MerkleReasons, RootFromLeafHashesChecksLengths) {
  EXPECT_EQ(RootFromLeafHashes({LeafHash("a"), "x"}).status().message(), "leaf hash 1 is 1 bytes, not 32");
}

}  // namespace
}  // namespace triad::crypto::merkle
