// DigestIndex: one node's in-memory map partition -> (key -> digest of the
// key's stored VersionSet), the input to anti-entropy's Merkle trees
// (merkle_tree.h). The node builds it at startup from a Storage::ForEach
// scan and updates it on every local write, so a tree costs one pass over
// memory instead of a storage scan.
//
// Thread-safe: one mutex per partition, so writers to different partitions
// never contend. Snapshot, Tree and KeysInBuckets each see one consistent
// state of their partition; Size/TotalSize across partitions is not an
// atomic cut.
//
// Ordering contract for callers: the index must end up with the digest of
// what storage holds, so call Set/Erase for a key while holding that key's
// storage lock (e.g. inside Storage::Update's mutate). Two writers that
// update storage in one order and the index in the other would leave a stale
// digest, and a stale digest that happens to match a peer's hides a real
// difference from anti-entropy until the key is written again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/merkle_tree.h"
#include "store/version_set.h"

namespace dynastore {

// XXH3_64bits of set.Encode(): equal sets, equal digests.
uint64_t DigestOf(const VersionSet& set);
// The same from the set's encoded bytes, when they are at hand (a write).
uint64_t DigestOfEncoded(std::string_view encoded);

class DigestIndex {
 public:
  // REQUIRES: partitions > 0 (the ring's partition count).
  explicit DigestIndex(int partitions);
  DigestIndex(const DigestIndex&) = delete;
  DigestIndex& operator=(const DigestIndex&) = delete;

  // Every `partition` argument below REQUIRES 0 <= partition < partitions()
  // (asserted); the caller maps a key to its partition with Ring::PartitionOf.
  int partitions() const { return partitions_; }

  // Insert or replace.
  void Set(int partition, std::string_view key, uint64_t digest);
  // No-op if absent.
  void Erase(int partition, std::string_view key);
  std::optional<uint64_t> Get(int partition, std::string_view key) const;
  size_t Size(int partition) const;
  size_t TotalSize() const;

  // A consistent copy of one partition's (key, digest) pairs, sorted by key.
  std::vector<std::pair<std::string, uint64_t>> Snapshot(int partition) const;
  // This partition's Merkle tree, from one consistent snapshot.
  MerkleTree Tree(int partition) const;
  // The (key, digest) pairs of the given leaf buckets of a partition, sorted
  // by key. Buckets >= MerkleTree::kLeaves match nothing.
  std::vector<std::pair<std::string, uint64_t>> KeysInBuckets(int partition,
                                                              const std::vector<uint32_t>& buckets) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Hashed, not ordered: every local write sets a digest, while the sorted
  // views (Snapshot, KeysInBuckets) serve rare anti-entropy rounds and sort
  // their copy; a tree's leaves are sums, so it needs no order.
  struct Partition {
    mutable std::mutex mu;
    std::unordered_map<std::string, uint64_t, Hash, std::equal_to<>> digests;  // guarded by mu
  };
  Partition& At(int partition) const;

  int partitions_;
  std::unique_ptr<Partition[]> parts_;
};

}  // namespace dynastore
