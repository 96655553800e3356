#include "store/record_cache.h"

namespace dynastore {

RecordCache::RecordCache(size_t capacity_bytes) : shard_capacity_(capacity_bytes / kShards) {}

RecordCache::Shard& RecordCache::ShardFor(std::string_view db_key) {
  // The high bits: the index's buckets use the low ones.
  return shards_[(std::hash<std::string_view>{}(db_key) >> 40) % kShards];
}

bool RecordCache::Read(std::string_view db_key, const std::function<void(std::string_view)>& use) {
  // `use` decodes (and allocates): it runs on a copy, after the lock, so
  // the other loop threads wait only for the lookup.
  thread_local std::string copy;
  {
    Shard& shard = ShardFor(db_key);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.index.find(db_key);
    if (it == shard.index.end()) {
      ++shard.misses;
      return false;
    }
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    ++shard.hits;
    copy.assign(it->second->bytes);
  }
  use(copy);
  return true;
}

void RecordCache::Put(std::string_view db_key, std::string_view bytes) {
  Shard& shard = ShardFor(db_key);
  std::lock_guard<std::mutex> lock(shard.mu);
  if (db_key.size() + bytes.size() + kEntryOverhead > shard_capacity_) {  // would evict everything
    if (auto it = shard.index.find(db_key); it != shard.index.end()) EraseLocked(shard, it->second);
    return;
  }
  if (auto it = shard.index.find(db_key); it != shard.index.end()) {
    // Rewriting a cached key (the common case) reuses its entry: the bytes
    // string keeps its capacity, so the write allocates nothing here.
    Lru::iterator entry = it->second;
    shard.bytes -= Cost(*entry);
    if (entry->bytes.capacity() > 2 * bytes.size() + 64) {
      entry->bytes = std::string(bytes);  // a shrunk value must not keep its old buffer uncounted
    } else {
      entry->bytes.assign(bytes);
    }
    shard.bytes += Cost(*entry);
    shard.lru.splice(shard.lru.begin(), shard.lru, entry);
  } else {
    shard.lru.push_front(Entry{std::string(db_key), std::string(bytes)});
    shard.index.emplace(shard.lru.front().key, shard.lru.begin());
    shard.bytes += Cost(shard.lru.front());
  }
  while (shard.bytes > shard_capacity_) EraseLocked(shard, std::prev(shard.lru.end()));
}

void RecordCache::Erase(std::string_view db_key) {
  Shard& shard = ShardFor(db_key);
  std::lock_guard<std::mutex> lock(shard.mu);
  if (auto it = shard.index.find(db_key); it != shard.index.end()) EraseLocked(shard, it->second);
}

uint64_t RecordCache::hits() const { return Sum(&Shard::hits); }

uint64_t RecordCache::misses() const { return Sum(&Shard::misses); }

uint64_t RecordCache::Sum(uint64_t Shard::*counter) const {
  uint64_t n = 0;
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.*counter;
  }
  return n;
}

void RecordCache::EraseLocked(Shard& shard, Lru::iterator it) {
  shard.bytes -= Cost(*it);
  shard.index.erase(std::string_view(it->key));
  shard.lru.erase(it);
}

}  // namespace dynastore
