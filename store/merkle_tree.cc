#include "store/merkle_tree.h"

#include <xxhash.h>

#include <cassert>
#include <cstring>
#include <string>

#include "store/ring.h"

namespace dynastore {

namespace {

static_assert((MerkleTree::kLeaves & (MerkleTree::kLeaves - 1)) == 0, "BucketOf masks low bits");

// Explicit byte order: the hashes are compared between machines.
void StoreLittleEndian64(uint64_t v, unsigned char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(v >> (8 * i));
}

// 0 is reserved for "empty": a non-empty node never hashes to it.
uint64_t NonZero(uint64_t h) { return h == 0 ? 1 : h; }

uint64_t Term(std::string_view key, uint64_t digest) {
  unsigned char tail[8];
  StoreLittleEndian64(digest, tail);
  constexpr size_t kStackKey = 256;
  if (key.size() <= kStackKey) {
    unsigned char buf[kStackKey + 8];
    std::memcpy(buf, key.data(), key.size());
    std::memcpy(buf + key.size(), tail, 8);
    return XXH3_64bits(buf, key.size() + 8);
  }
  std::string buf(key);  // rare long key: a heap copy is fine
  buf.append(reinterpret_cast<const char*>(tail), 8);
  return XXH3_64bits(buf.data(), buf.size());
}

uint64_t InnerHash(const uint64_t* children) {
  unsigned char buf[MerkleTree::kFanout * 8];
  bool any = false;
  for (int i = 0; i < MerkleTree::kFanout; ++i) {
    any |= children[i] != 0;
    StoreLittleEndian64(children[i], buf + 8 * i);
  }
  return any ? NonZero(XXH3_64bits(buf, sizeof buf)) : 0;
}

}  // namespace

MerkleTree::MerkleTree() {
  for (int level = 0; level <= kDepth; ++level) levels_[level].assign(LevelSize(level), 0);
}

uint32_t MerkleTree::BucketOf(std::string_view key) { return static_cast<uint32_t>(Ring::Hash(key) & (kLeaves - 1)); }

MerkleTree::Builder::Builder() : leaves_(kLeaves, 0) {}

void MerkleTree::Builder::Add(std::string_view key, uint64_t digest) {
  const uint32_t bucket = BucketOf(key);
  leaves_[bucket] += Term(key, digest);  // wraps mod 2^64 by definition
  occupied_.set(bucket);
}

MerkleTree MerkleTree::Builder::Finish() && {
  for (uint32_t i = 0; i < kLeaves; ++i) {
    if (occupied_.test(i)) leaves_[i] = NonZero(leaves_[i]);
  }
  MerkleTree tree;
  tree.levels_[kDepth] = std::move(leaves_);
  for (int level = kDepth - 1; level >= 0; --level) {
    const auto& below = tree.levels_[level + 1];
    auto& here = tree.levels_[level];
    for (uint32_t i = 0; i < here.size(); ++i) here[i] = InnerHash(&below[i * kFanout]);
  }
  return tree;
}

MerkleTree MerkleTree::Build(const std::vector<std::pair<std::string, uint64_t>>& keys_and_digests) {
  Builder builder;
  for (const auto& [key, digest] : keys_and_digests) builder.Add(key, digest);
  return std::move(builder).Finish();
}

std::vector<uint64_t> MerkleTree::Hashes(int level, const std::vector<uint32_t>& indexes) const {
  std::vector<uint64_t> out;
  out.reserve(indexes.size());
  const bool level_ok = level >= 0 && level <= kDepth;
  assert(level_ok);
  for (uint32_t index : indexes) {
    const bool ok = level_ok && index < levels_[level].size();
    assert(ok);
    out.push_back(ok ? levels_[level][index] : 0);
  }
  return out;
}

std::vector<uint32_t> MerkleTree::Children(uint32_t index) {
  std::vector<uint32_t> out(kFanout);
  for (int i = 0; i < kFanout; ++i) out[i] = index * kFanout + i;
  return out;
}

std::vector<uint32_t> MerkleTree::DiffLeaves(const MerkleTree& a, const MerkleTree& b, size_t* hashes_compared) {
  // Breadth-first, level by level: children are appended in index order, so
  // each frontier, and the result, stays sorted.
  std::vector<uint32_t> frontier = {0};
  size_t compared = 0;
  for (int level = 0; level < kDepth && !frontier.empty(); ++level) {
    std::vector<uint32_t> next;
    for (uint32_t index : frontier) {
      ++compared;
      if (a.levels_[level][index] == b.levels_[level][index]) continue;
      for (int i = 0; i < kFanout; ++i) next.push_back(index * kFanout + i);
    }
    frontier = std::move(next);
  }
  std::vector<uint32_t> leaves;
  for (uint32_t index : frontier) {
    ++compared;
    if (a.levels_[kDepth][index] != b.levels_[kDepth][index]) leaves.push_back(index);
  }
  if (hashes_compared != nullptr) *hashes_compared = compared;
  return leaves;
}

}  // namespace dynastore
