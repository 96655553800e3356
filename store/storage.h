// Storage: one node's durable map key -> VersionSet, on LevelDB.
// Thread-safe. Update() is an atomic read-modify-write per key, so concurrent
// writes to one key never lose a sibling. With `sync` (the default) a write
// is fsynced before Update returns (or UpdateAsync calls back), so an
// acknowledged write survives SIGKILL and power loss of the process.
//
// Group commit (sync only): every write goes through one commit thread,
// which takes all writes queued while the previous fsync ran, applies their
// read-modify-writes in arrival order and commits them as one LevelDB batch
// with one fsync. When a batch finds company (two or more writes queued), the
// commit thread first waits a little for more (StorageOptions::
// max_commit_delay), so that more writes share each fsync. No caller thread
// waits on the disk unless it uses the blocking Update*. Without sync, writes run on the caller's thread under a
// per-key stripe lock (no hop: nothing waits on the disk).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "store/record_cache.h"
#include "store/status.h"
#include "store/version_set.h"

namespace leveldb {
class Cache;
class DB;
class FilterPolicy;
}  // namespace leveldb

namespace dynastore {

struct StorageOptions {
  std::string path;                      // LevelDB directory; created if missing
  bool sync = true;                      // fsync every write before acknowledging it
  size_t cache_bytes = 64 << 20;         // LevelDB's block cache
  size_t record_cache_bytes = 32 << 20;  // recently written records (record_cache.h); 0: none
  // Group commit delay (sync only): a batch of two or more writes waits half
  // the recent time a commit took (its fsync included), at most this long,
  // before it is taken, so writes arriving meanwhile share its fsync. A lone
  // writer never waits. PostgreSQL's commit_delay and MySQL's
  // binlog_group_commit_sync_delay do the same; half the fsync time is
  // PostgreSQL's advice for it. On this project's 2-core VM it doubled the
  // writes per fsync and cut p99 (issue 19's note). 0 turns it off.
  std::chrono::microseconds max_commit_delay{2000};
  // Where scans report the records they skip (see ForEach). Default: stderr.
  std::function<void(std::string_view)> log = nullptr;
};

class Storage {
 public:
  static Status Open(const StorageOptions& options, std::unique_ptr<Storage>& out);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // A missing key reads as an empty set.
  Status Get(std::string_view key, VersionSet& out) const;
  // Get from the record cache only: false (and `out` untouched) when the
  // record is not cached; true with Get's outcome in `status` otherwise.
  bool GetCached(std::string_view key, VersionSet& out, Status& status) const;
  // False while no hint was ever stored here: GetHints would find nothing.
  bool may_have_hints() const { return may_have_hints_.load(); }
  // Reads the key's set, lets `mutate` change it, and writes it back if
  // `mutate` returns true, all under the key's lock.
  Status Update(std::string_view key, const std::function<bool(VersionSet&)>& mutate);
  // As Update, but without waiting: `done` gets the outcome once the write
  // is durable (or refused, or failed). With sync, `mutate` and `done` run on
  // the commit thread, so neither may block or call a blocking Update*;
  // without sync both run inline, before UpdateAsync returns.
  using Done = std::function<void(Status)>;
  void UpdateAsync(std::string key, std::function<bool(VersionSet&)> mutate, Done done);
  // Hints (sloppy quorum): versions this node holds for `owner`, which was
  // unreachable when they were written. Kept apart from owned data, durably,
  // until the owner acknowledges them (hinted_handoff.h).
  Status UpdateHint(std::string_view key, std::string_view owner, const std::function<bool(VersionSet&)>& mutate);
  // Every hint held for `key`, whichever owner it is for.
  Status GetHints(std::string_view key, std::vector<std::pair<std::string, VersionSet>>& out) const;
  Status ForEachHint(
      const std::function<void(std::string_view key, std::string_view owner, const VersionSet&)>& fn) const;
  // Removes the hint only if it still equals `delivered`; a hint that grew
  // since it was read stays for the next round. `deleted` says which.
  Status DeleteHintIf(std::string_view key, std::string_view owner, const VersionSet& delivered, bool& deleted);
  // A write this node coordinates while no owner of the key is reachable: as
  // UpdateHint, and `mutate` also sees the highest dot counter this node ever
  // issued for the key, kept in its own record so it outlives the handoff
  // (a reissued dot would make stale contexts discard the new write).
  Status UpdateHintAsCoordinator(std::string_view key, std::string_view owner,
                                 const std::function<bool(VersionSet&, uint64_t& issued)>& mutate);
  // UpdateHint and UpdateHintAsCoordinator without waiting, as UpdateAsync.
  void UpdateHintAsync(std::string key, std::string owner, std::function<bool(VersionSet&)> mutate, Done done);
  void UpdateHintAsCoordinatorAsync(std::string key, std::string owner,
                                    std::function<bool(VersionSet&, uint64_t& issued)> mutate, Done done);

  // Called after every successful data write, under the key's lock, with
  // the key, its new set (empty when the key was removed) and the bytes
  // stored (set.Encode(); empty when removed). Set once, before concurrent
  // use.
  using WriteObserver = std::function<void(std::string_view key, const VersionSet&, std::string_view encoded)>;
  void SetWriteObserver(WriteObserver observer) { observer_ = std::move(observer); }

  // Deletes every key whose versions are all tombstones written before
  // `cutoff_ms` (doc/causality.md, "Tombstones"). Sets `reaped` to the count.
  Status ReapTombstones(int64_t cutoff_ms, size_t& reaped);
  // Calls `fn` for every stored key in key order (a consistent snapshot).
  // A record that does not decode is skipped and logged, not fatal: one bad
  // key must not keep the node from starting or the reaper from running.
  // Reading that key directly still reports the corruption.
  Status ForEach(const std::function<void(std::string_view key, const VersionSet&)>& fn) const;

  bool sync() const { return sync_; }
  // Returns once every write submitted before the call is done (its `done`
  // has returned). A shutdown step: completions may reach other components.
  void Drain();
  // Writes committed and LevelDB batches written (fsyncs, with sync) so far.
  uint64_t writes_committed() const { return writes_committed_.load(std::memory_order_relaxed); }
  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  // The wait a batch with company gets now (see StorageOptions).
  std::chrono::microseconds commit_delay() const;
  // Record lookups served from the record cache, and those that missed it.
  uint64_t cache_hits() const { return records_.hits(); }
  uint64_t cache_misses() const { return records_.misses(); }

 private:
  // One queued read-modify-write: of owned data (counter_key empty, is_data)
  // or of a hint (and then perhaps of the issued-counter record).
  struct Op {
    std::string key;          // the user's key
    std::string db_key;       // k/... or h/...
    std::string counter_key;  // c/...; empty: no counter
    bool is_data = true;
    std::function<bool(VersionSet&, uint64_t&)> mutate;
    Done done;
  };
  explicit Storage(const StorageOptions& options);
  // Runs `op` now (no sync) or queues it for the commit thread (sync).
  void Submit(Op op);
  // Runs `op` on the calling thread under its key's stripe lock.
  void RunInline(Op& op);
  // Blocks until `op` is done; returns its outcome.
  Status SubmitAndWait(Op op);
  void CommitLoop();
  // After a synced LevelDB write that took `took`.
  void RecordCommitTime(std::chrono::nanoseconds took);
  // Applies `ops` in order as one batch and one (synced) write, then calls
  // each op's `done`.
  void Commit(std::vector<Op>& ops);
  void LogCorrupt(std::string_view what, std::string_view key, const Status& status) const;
  std::mutex& LockFor(std::string_view key);
  // From the record cache only: false on a miss, else the outcome in `status`.
  bool ReadCached(const std::string& db_key, VersionSet& out, Status& status) const;
  Status Read(const std::string& db_key, VersionSet& out) const;
  Status ReadCounter(const std::string& counter_key, uint64_t& out) const;
  // Stores `encoded` (a set's bytes; empty: delete the record) and, when
  // `counter_key` is given, the issued counter, as one LevelDB write.
  Status Write(const std::string& db_key, const std::string& encoded, const std::string* counter_key, uint64_t counter);
  // After a LevelDB write of `db_key`: the cache follows it, or forgets the
  // record when the write failed (LevelDB then holds the truth).
  void WriteThrough(const std::string& db_key, const std::string& encoded, bool ok);

  // LevelDB borrows the cache and filter: declared first, destroyed last.
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;
  bool sync_;
  std::function<void(std::string_view)> log_;
  mutable std::mutex reported_mu_;
  mutable std::set<std::string> reported_;  // corrupt records already logged
  std::array<std::mutex, 1024> stripes_;
  // Without sync, writers enter LevelDB one at a time through this lock
  // (LockBriefly in storage.cc); with sync, only the commit thread writes.
  std::mutex inline_write_mu_;
  WriteObserver observer_;
  mutable RecordCache records_;
  std::atomic<uint64_t> writes_committed_{0}, commits_{0};
  const std::chrono::microseconds max_commit_delay_;
  std::atomic<int64_t> commit_ns_avg_{0};  // moving average of synced writes' time
  // The commit queue (sync only).
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<Op> queue_;      // guarded by queue_mu_
  bool stopping_ = false;      // guarded by queue_mu_
  std::thread commit_thread_;  // joined by the destructor after the queue drains
  // False until a hint exists: lets every read skip the hint scan on nodes
  // that never stood in for another (the common case).
  std::atomic<bool> may_have_hints_{false};
};

}  // namespace dynastore
