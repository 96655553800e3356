#include "store/digest_index.h"

#include <xxhash.h>

#include <algorithm>
#include <bitset>
#include <cassert>

namespace dynastore {

uint64_t DigestOf(const VersionSet& set) { return DigestOfEncoded(set.Encode()); }

uint64_t DigestOfEncoded(std::string_view encoded) { return XXH3_64bits(encoded.data(), encoded.size()); }

DigestIndex::DigestIndex(int partitions)
    : partitions_(partitions), parts_(std::make_unique<Partition[]>(partitions > 0 ? partitions : 0)) {
  assert(partitions > 0);
}

DigestIndex::Partition& DigestIndex::At(int partition) const {
  assert(partition >= 0 && partition < partitions_);
  return parts_[partition];
}

void DigestIndex::Set(int partition, std::string_view key, uint64_t digest) {
  Partition& p = At(partition);
  std::lock_guard lock(p.mu);
  // find first: a replace (the common case) must not allocate a key string.
  if (auto it = p.digests.find(key); it != p.digests.end()) {
    it->second = digest;
  } else {
    p.digests.emplace(std::string(key), digest);
  }
}

void DigestIndex::Erase(int partition, std::string_view key) {
  Partition& p = At(partition);
  std::lock_guard lock(p.mu);
  if (auto it = p.digests.find(key); it != p.digests.end()) p.digests.erase(it);
}

std::optional<uint64_t> DigestIndex::Get(int partition, std::string_view key) const {
  const Partition& p = At(partition);
  std::lock_guard lock(p.mu);
  if (auto it = p.digests.find(key); it != p.digests.end()) return it->second;
  return std::nullopt;
}

size_t DigestIndex::Size(int partition) const {
  const Partition& p = At(partition);
  std::lock_guard lock(p.mu);
  return p.digests.size();
}

size_t DigestIndex::TotalSize() const {
  size_t total = 0;
  for (int i = 0; i < partitions_; ++i) total += Size(i);
  return total;
}

std::vector<std::pair<std::string, uint64_t>> DigestIndex::Snapshot(int partition) const {
  const Partition& p = At(partition);
  std::vector<std::pair<std::string, uint64_t>> out;
  std::unique_lock lock(p.mu);
  out.reserve(p.digests.size());
  out.assign(p.digests.begin(), p.digests.end());
  lock.unlock();
  std::sort(out.begin(), out.end());
  return out;
}

MerkleTree DigestIndex::Tree(int partition) const {
  // Hash straight from the map under the lock: about as long as copying the
  // keys out would hold it, and no allocation per key.
  MerkleTree::Builder builder;
  {
    const Partition& p = At(partition);
    std::lock_guard lock(p.mu);
    for (const auto& [key, digest] : p.digests) builder.Add(key, digest);
  }
  return std::move(builder).Finish();
}

std::vector<std::pair<std::string, uint64_t>> DigestIndex::KeysInBuckets(int partition,
                                                                         const std::vector<uint32_t>& buckets) const {
  std::bitset<MerkleTree::kLeaves> wanted;
  for (uint32_t b : buckets) {
    if (b < MerkleTree::kLeaves) wanted.set(b);
  }
  std::vector<std::pair<std::string, uint64_t>> out;
  if (wanted.none()) return out;
  const Partition& p = At(partition);
  {
    std::lock_guard lock(p.mu);
    for (const auto& [key, digest] : p.digests) {
      if (wanted.test(MerkleTree::BucketOf(key))) out.emplace_back(key, digest);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace dynastore
