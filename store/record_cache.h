// RecordCache: the stored bytes of recently written records, so that reads
// (a GET, and the read half of every read-modify-write) skip LevelDB's
// memtable, table and block lookups. Write-through only: Storage puts a
// record here after LevelDB accepted it, and a read that misses goes to
// LevelDB without filling the cache. So an entry is never older than what
// LevelDB holds: a reader racing a writer cannot put a stale record back.
// Least recently used entries go first once a shard is over its budget.
// Thread-safe (one mutex per shard).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dynastore {

class RecordCache {
 public:
  // 0 bytes: a cache that holds nothing.
  explicit RecordCache(size_t capacity_bytes);

  // Calls `use` with a copy of the cached bytes of `db_key`, outside the
  // shard's lock (the copy is the thread's, reused: `use` must not Read
  // again), and returns true; false on a miss.
  bool Read(std::string_view db_key, const std::function<void(std::string_view bytes)>& use);
  // Sets `db_key`'s bytes (after LevelDB stored them).
  void Put(std::string_view db_key, std::string_view bytes);
  // Forgets `db_key` (deleted, or a write whose outcome in LevelDB is unknown).
  void Erase(std::string_view db_key);

  // Reads answered from the cache, and reads that went to LevelDB.
  uint64_t hits() const;
  uint64_t misses() const;

 private:
  struct Entry;
  using Lru = std::list<Entry>;  // most recently used first
  struct Entry {
    std::string key, bytes;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mu;
    Lru lru;
    std::unordered_map<std::string_view, Lru::iterator, Hash, std::equal_to<>> index;  // views into lru's keys
    size_t bytes = 0;
    uint64_t hits = 0, misses = 0;  // per shard: no counter shared by every reader
  };
  static constexpr size_t kShards = 16;
  // What an entry costs beyond its key and bytes (list node, index slot).
  static constexpr size_t kEntryOverhead = 96;

  Shard& ShardFor(std::string_view db_key);
  static size_t Cost(const Entry& e) { return e.key.size() + e.bytes.size() + kEntryOverhead; }
  void EraseLocked(Shard& shard, Lru::iterator it);
  uint64_t Sum(uint64_t Shard::*counter) const;  // over every shard

  const size_t shard_capacity_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace dynastore
