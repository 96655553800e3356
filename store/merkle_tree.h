// MerkleTree: a fixed-shape hash tree over one partition's (key, digest)
// pairs, for anti-entropy (DeCandia et al., Dynamo §4.7). Two replicas of a
// partition compare roots, descend only into children whose hashes differ,
// and end at the leaf buckets whose keys they must exchange.
//
// Shape: kFanout-ary, kDepth levels below the root, so kLeaves leaf buckets.
// Level L has kFanout^L nodes; node i at level L has children
// i*kFanout .. i*kFanout+kFanout-1 at level L+1. Every tree has every node,
// so two trees line up index by index with no shape negotiation.
//
// The hashes are compared across nodes, so they are a wire format (all
// integers little-endian, XXH3 = XXH3_64bits, seed 0):
//   bucket(key) = XXH3(key) mod kLeaves — the LOW bits of Ring::Hash; the
//                 ring picks the partition from the high bits, so a
//                 partition's keys spread evenly over its buckets.
//   term(k, d)  = XXH3(k bytes || d as 8 bytes)
//   leaf        = sum of term over the bucket's keys, mod 2^64
//   inner       = XXH3(the kFanout child hashes, 8 bytes each, in order)
//   An empty bucket, and a node whose children are all 0, hashes to 0; a
//   non-empty one that would hash to 0 hashes to 1 instead, so 0 means
//   "nothing below here" exactly and empty trees compare equal at the root.
// Why a sum for leaves: it is order-independent (no sort needed, and a leaf
// could be updated incrementally). XOR would be too, but XOR is linear over
// GF(2): any 65 terms have a subset XORing to 0 (Gaussian elimination finds
// it). Sum mod 2^64 has no such shortcut; for non-adversarial keys a
// differing bucket goes unnoticed with probability about 2^-64, as with XOR.
// Not cryptographic: a client choosing keys to collide is out of scope.
//
// A value type: immutable after Build, so safe to read from many threads.
// About 35 KB (4369 hashes) per tree.
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dynastore {

namespace merkle_internal {
constexpr uint32_t Power(uint32_t base, int exponent) {
  uint32_t n = 1;
  for (int i = 0; i < exponent; ++i) n *= base;
  return n;
}
}  // namespace merkle_internal

class MerkleTree {
 public:
  static constexpr int kFanout = 16;
  static constexpr int kDepth = 3;
  // Nodes at `level` (0 = root .. kDepth = leaves).
  static constexpr uint32_t LevelSize(int level) { return merkle_internal::Power(kFanout, level); }
  static constexpr uint32_t kLeaves = merkle_internal::Power(kFanout, kDepth);  // 4096

  // The empty tree (every hash 0).
  MerkleTree();

  static uint32_t BucketOf(std::string_view key);
  // REQUIRES: keys are distinct (any order).
  static MerkleTree Build(const std::vector<std::pair<std::string, uint64_t>>& keys_and_digests);

  uint64_t Root() const { return levels_[0][0]; }
  // Hashes of the nodes at `level` with the given indexes, in that order.
  // REQUIRES: 0 <= level <= kDepth and each index < LevelSize(level); a
  // peer's request must be checked before calling. Out of range asserts in
  // debug builds and reads as 0 otherwise.
  std::vector<uint64_t> Hashes(int level, const std::vector<uint32_t>& indexes) const;
  // Children indexes (at level+1) of node `index` at `level`.
  static std::vector<uint32_t> Children(uint32_t index);

  // Leaf buckets where `a` and `b` differ, ascending, found by descending
  // only into differing subtrees. `hashes_compared`, if given, is set to the
  // number of node pairs compared: 1 + kFanout * (differing inner nodes),
  // so 1 when the roots match.
  static std::vector<uint32_t> DiffLeaves(const MerkleTree& a, const MerkleTree& b, size_t* hashes_compared = nullptr);

  bool operator==(const MerkleTree&) const = default;

 private:
  friend class DigestIndex;  // builds from its own map, without copying keys

  // Accumulates leaves key by key; Finish hashes the inner levels.
  class Builder {
   public:
    Builder();
    // REQUIRES: each key added once.
    void Add(std::string_view key, uint64_t digest);
    MerkleTree Finish() &&;

   private:
    std::vector<uint64_t> leaves_;
    std::bitset<kLeaves> occupied_;
  };

  // levels_[L] holds the LevelSize(L) hashes of level L.
  std::array<std::vector<uint64_t>, kDepth + 1> levels_;
};

}  // namespace dynastore
