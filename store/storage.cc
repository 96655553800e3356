#include "store/storage.h"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <unordered_map>

#include "store/codec.h"

namespace dynastore {

namespace {
// Three key spaces that never mix (doc/causality.md, "Formats"):
//   k/<key>                        owned data
//   h/<varint len><key><owner>     hints held for an unreachable owner
//   c/<key>                        highest dot counter issued while standing in
constexpr std::string_view kDataPrefix = "k/";
constexpr std::string_view kHintPrefix = "h/";
constexpr std::string_view kCounterPrefix = "c/";

std::string DataKey(std::string_view key) {
  std::string k(kDataPrefix);
  k.append(key);
  return k;
}

std::string HintKeyPrefix(std::string_view key) {
  std::string k(kHintPrefix);
  codec::PutVarint(k, key.size());
  k.append(key);
  return k;
}

std::string HintKey(std::string_view key, std::string_view owner) { return HintKeyPrefix(key).append(owner); }

// What a record stores: the set's encoding, or nothing (the record is
// deleted) for an empty set.
std::string RecordBytes(const VersionSet& set) { return set.empty() ? std::string() : set.Encode(); }

// Splits a hint record's key into (key, owner).
bool ParseHintKey(std::string_view db_key, std::string& key, std::string& owner) {
  if (!db_key.starts_with(kHintPrefix)) return false;
  db_key.remove_prefix(kHintPrefix.size());
  uint64_t len;
  if (!codec::GetVarint(db_key, len) || len > db_key.size()) return false;
  key.assign(db_key.substr(0, len));
  owner.assign(db_key.substr(len));
  return !owner.empty();
}
}  // namespace

Status Storage::Open(const StorageOptions& options, std::unique_ptr<Storage>& out) {
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) return Status::IOError("cannot create data directory " + options.path + ": " + ec.message());
  std::unique_ptr<Storage> storage(new Storage(options));
  storage->cache_.reset(leveldb::NewLRUCache(options.cache_bytes));
  storage->filter_.reset(leveldb::NewBloomFilterPolicy(10));
  leveldb::Options opts;
  opts.create_if_missing = true;
  opts.paranoid_checks = true;
  opts.block_cache = storage->cache_.get();
  opts.filter_policy = storage->filter_.get();
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(opts, options.path, &raw);
  if (!s.ok()) return Status::IOError("cannot open LevelDB at " + options.path + ": " + s.ToString());
  storage->db_.reset(raw);
  std::unique_ptr<leveldb::Iterator> it(raw->NewIterator(leveldb::ReadOptions()));
  it->Seek(leveldb::Slice(kHintPrefix.data(), kHintPrefix.size()));
  storage->may_have_hints_ =
      it->Valid() && it->key().starts_with(leveldb::Slice(kHintPrefix.data(), kHintPrefix.size()));
  it.reset();
  if (storage->sync_) {
    storage->commit_thread_ = std::thread([s = storage.get()] {
      pthread_setname_np(pthread_self(), "ds-commit");  // for top and perf
      s->CommitLoop();
    });
  }
  out = std::move(storage);
  return Status::Ok();
}

Storage::Storage(const StorageOptions& options)
    : sync_(options.sync),
      log_(options.log),
      records_(options.record_cache_bytes),
      max_commit_delay_(std::max(options.max_commit_delay, std::chrono::microseconds(0))) {
  if (!log_) {
    log_ = [](std::string_view line) { std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data()); };
  }
}

void Storage::LogCorrupt(std::string_view what, std::string_view key, const Status& status) const {
  {
    // Scans repeat (the reaper, hinted handoff): say it once per record.
    std::lock_guard<std::mutex> lock(reported_mu_);
    if (!reported_.insert(std::string(what) + '\0' + std::string(key)).second) return;
  }
  log_("skipping corrupt " + std::string(what) + " for key '" + std::string(key) + "': " + status.message());
}

Storage::~Storage() {
  if (commit_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      stopping_ = true;
    }
    queue_cv_.notify_one();
    commit_thread_.join();
  }
}

namespace {

// LevelDB parks a writer that finds another one writing on a condition
// variable. An unsynced write takes a few microseconds (log append, memtable
// insert), less than the futex sleep and wake-up that parking costs: those
// were 0.45 futex calls per request of a 50/50 load on two HTTP threads.
// So a waiting writer spins a little first, and sleeps only if the holder
// was preempted.
constexpr auto kWriteSpin = std::chrono::microseconds(20);

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Locks `mu`, spinning briefly before it sleeps: for locks held a few
// microseconds.
void LockBriefly(std::mutex& mu) {
  if (mu.try_lock()) return;
  const auto give_up = std::chrono::steady_clock::now() + kWriteSpin;
  do {
    for (int i = 0; i < 32; ++i) CpuRelax();
    if (mu.try_lock()) return;
  } while (std::chrono::steady_clock::now() < give_up);
  mu.lock();
}

}  // namespace

std::mutex& Storage::LockFor(std::string_view key) {
  return stripes_[std::hash<std::string_view>{}(key) % stripes_.size()];
}

bool Storage::ReadCached(const std::string& db_key, VersionSet& out, Status& status) const {
  return records_.Read(db_key, [&](std::string_view bytes) { status = VersionSet::Decode(bytes, out); });
}

Status Storage::Read(const std::string& db_key, VersionSet& out) const {
  if (Status cached; ReadCached(db_key, out, cached)) return cached;
  std::string bytes;
  leveldb::Status s = db_->Get(leveldb::ReadOptions(), db_key, &bytes);
  if (s.IsNotFound()) {
    out = VersionSet();
    return Status::Ok();
  }
  if (!s.ok()) return Status::IOError("read failed: " + s.ToString());
  return VersionSet::Decode(bytes, out);
}

Status Storage::Write(const std::string& db_key, const std::string& encoded, const std::string* counter_key,
                      uint64_t counter) {
  leveldb::WriteBatch batch;
  if (encoded.empty()) {
    batch.Delete(db_key);
  } else {
    batch.Put(db_key, encoded);
  }
  if (counter_key) {
    std::string bytes;
    codec::PutVarint(bytes, counter);
    batch.Put(*counter_key, bytes);
  }
  const leveldb::WriteOptions wo;  // not synced: only RunInline (sync off) writes through here
  leveldb::Status s;
  {
    LockBriefly(inline_write_mu_);
    std::lock_guard<std::mutex> lock(inline_write_mu_, std::adopt_lock);
    s = db_->Write(wo, &batch);
  }
  WriteThrough(db_key, encoded, s.ok());
  if (!s.ok()) return Status::IOError("write failed: " + s.ToString());
  return Status::Ok();
}

void Storage::WriteThrough(const std::string& db_key, const std::string& encoded, bool ok) {
  if (ok && !encoded.empty()) {
    records_.Put(db_key, encoded);
  } else {
    records_.Erase(db_key);
  }
}

Status Storage::Get(std::string_view key, VersionSet& out) const { return Read(DataKey(key), out); }

bool Storage::GetCached(std::string_view key, VersionSet& out, Status& status) const {
  return ReadCached(DataKey(key), out, status);
}

Status Storage::ReadCounter(const std::string& counter_key, uint64_t& out) const {
  out = 0;
  std::string bytes;
  leveldb::Status ls = db_->Get(leveldb::ReadOptions(), counter_key, &bytes);
  if (ls.IsNotFound()) return Status::Ok();
  if (!ls.ok()) return Status::IOError("read failed: " + ls.ToString());
  std::string_view in = bytes;
  if (!codec::GetVarint(in, out)) return Status::Corruption("bad issued-counter record");
  return Status::Ok();
}

Status Storage::Update(std::string_view key, const std::function<bool(VersionSet&)>& mutate) {
  return SubmitAndWait(Op{.key = std::string(key),
                          .db_key = DataKey(key),
                          .counter_key = {},
                          .is_data = true,
                          .mutate = [&mutate](VersionSet& set, uint64_t&) { return mutate(set); },
                          .done = nullptr});
}

void Storage::UpdateAsync(std::string key, std::function<bool(VersionSet&)> mutate, Done done) {
  std::string db_key = DataKey(key);
  Submit(Op{.key = std::move(key),
            .db_key = std::move(db_key),
            .counter_key = {},
            .is_data = true,
            .mutate = [mutate = std::move(mutate)](VersionSet& set, uint64_t&) { return mutate(set); },
            .done = std::move(done)});
}

Status Storage::UpdateHint(std::string_view key, std::string_view owner,
                           const std::function<bool(VersionSet&)>& mutate) {
  return UpdateHintAsCoordinator(key, owner, [&](VersionSet& set, uint64_t&) { return mutate(set); });
}

void Storage::UpdateHintAsync(std::string key, std::string owner, std::function<bool(VersionSet&)> mutate, Done done) {
  UpdateHintAsCoordinatorAsync(
      std::move(key), std::move(owner),
      [mutate = std::move(mutate)](VersionSet& set, uint64_t&) { return mutate(set); }, std::move(done));
}

Status Storage::UpdateHintAsCoordinator(std::string_view key, std::string_view owner,
                                        const std::function<bool(VersionSet&, uint64_t&)>& mutate) {
  return SubmitAndWait(Op{.key = std::string(key),
                          .db_key = HintKey(key, owner),
                          .counter_key = std::string(kCounterPrefix).append(key),
                          .is_data = false,
                          .mutate = [&mutate](VersionSet& set, uint64_t& issued) { return mutate(set, issued); },
                          .done = nullptr});
}

void Storage::UpdateHintAsCoordinatorAsync(std::string key, std::string owner,
                                           std::function<bool(VersionSet&, uint64_t&)> mutate, Done done) {
  std::string db_key = HintKey(key, owner);
  std::string counter_key = std::string(kCounterPrefix).append(key);
  Submit(Op{.key = std::move(key),
            .db_key = std::move(db_key),
            .counter_key = std::move(counter_key),
            .is_data = false,
            .mutate = std::move(mutate),
            .done = std::move(done)});
}

Status Storage::SubmitAndWait(Op op) {
  if (!sync_) {
    Status result;
    op.done = [&result](Status s) { result = std::move(s); };
    RunInline(op);
    return result;
  }
  std::promise<Status> promise;
  std::future<Status> future = promise.get_future();
  op.done = [&promise](Status s) { promise.set_value(std::move(s)); };
  Submit(std::move(op));
  return future.get();
}

void Storage::Drain() {
  if (sync_) SubmitAndWait(Op{});
}

void Storage::Submit(Op op) {
  if (!sync_) return RunInline(op);
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    queue_.push_back(std::move(op));
  }
  queue_cv_.notify_one();
}

void Storage::RunInline(Op& op) {
  Status result;
  {
    std::lock_guard<std::mutex> lock(LockFor(op.key));
    VersionSet set;
    uint64_t issued = 0;
    result = Read(op.db_key, set);
    if (result.ok() && !op.counter_key.empty()) result = ReadCounter(op.counter_key, issued);
    const uint64_t before = issued;
    if (result.ok() && op.mutate(set, issued)) {
      if (!op.is_data && !set.empty()) may_have_hints_ = true;
      const std::string encoded = RecordBytes(set);
      result = Write(op.db_key, encoded, issued != before ? &op.counter_key : nullptr, issued);
      if (result.ok()) {
        writes_committed_.fetch_add(1, std::memory_order_relaxed);
        commits_.fetch_add(1, std::memory_order_relaxed);
        if (op.is_data && observer_) observer_(op.key, set, encoded);
      }
    }
  }
  if (op.done) op.done(std::move(result));
}

void Storage::CommitLoop() {
  std::vector<Op> ops;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      ops.swap(queue_);
    }
    if (ops.size() >= 2) {
      if (const auto delay = commit_delay(); delay.count() > 0) {
        // Sleep rather than wait on queue_cv_: a wake-up per arriving write
        // would cost more than the fsync it saves.
        std::this_thread::sleep_for(delay);
        std::lock_guard<std::mutex> lock(queue_mu_);
        for (Op& op : queue_) ops.push_back(std::move(op));
        queue_.clear();
      }
    }
    Commit(ops);
    ops.clear();
  }
}

void Storage::RecordCommitTime(std::chrono::nanoseconds took) {
  // An exponential moving average over ~8 commits: follows the disk's
  // speed without jumping at one slow fsync.
  const int64_t avg = commit_ns_avg_.load(std::memory_order_relaxed);
  commit_ns_avg_.store(avg == 0 ? took.count() : avg + (took.count() - avg) / 8, std::memory_order_relaxed);
}

std::chrono::microseconds Storage::commit_delay() const {
  if (!sync_) return std::chrono::microseconds(0);
  const auto half = std::chrono::nanoseconds(commit_ns_avg_.load(std::memory_order_relaxed) / 2);
  return std::min(max_commit_delay_, std::chrono::duration_cast<std::chrono::microseconds>(half));
}

void Storage::Commit(std::vector<Op>& ops) {
  // What the batch has made of each record so far: a later op on the same
  // key reads its predecessor's result, not the stale stored one.
  struct Record {
    VersionSet set;
    size_t op;            // the batch's latest op on it
    std::string encoded;  // RecordBytes(set), once the batch is built
  };
  std::unordered_map<std::string, Record> sets;
  std::unordered_map<std::string, uint64_t> counters;
  std::vector<Status> results(ops.size());
  std::vector<size_t> changed;  // ops whose mutate asked for a write
  for (size_t i = 0; i < ops.size(); ++i) {
    Op& op = ops[i];
    if (op.db_key.empty()) continue;  // a Drain() marker
    VersionSet set;
    if (auto it = sets.find(op.db_key); it != sets.end()) {
      set = it->second.set;
    } else if (results[i] = Read(op.db_key, set); !results[i].ok()) {
      continue;
    }
    uint64_t issued = 0;
    if (!op.counter_key.empty()) {
      if (auto it = counters.find(op.counter_key); it != counters.end()) {
        issued = it->second;
      } else if (results[i] = ReadCounter(op.counter_key, issued); !results[i].ok()) {
        continue;
      }
    }
    const uint64_t before = issued;
    try {
      if (!op.mutate(set, issued)) continue;
    } catch (const std::exception& e) {
      // Only bad_alloc or a bug: fail this write, keep the thread (and
      // every other write) going, as a request thread would have.
      results[i] = Status::IOError(std::string("write failed: ") + e.what());
      continue;
    }
    if (!op.is_data && !set.empty()) may_have_hints_ = true;
    if (issued != before) counters[op.counter_key] = issued;
    sets[op.db_key] = Record{std::move(set), i, {}};
    changed.push_back(i);
  }
  if (!changed.empty()) {
    leveldb::WriteBatch batch;
    for (auto& [db_key, record] : sets) {
      record.encoded = RecordBytes(record.set);
      if (record.encoded.empty()) {
        batch.Delete(db_key);
      } else {
        batch.Put(db_key, record.encoded);
      }
    }
    for (const auto& [counter_key, counter] : counters) {
      std::string bytes;
      codec::PutVarint(bytes, counter);
      batch.Put(counter_key, bytes);
    }
    leveldb::WriteOptions wo;
    wo.sync = sync_;
    const auto start = std::chrono::steady_clock::now();
    leveldb::Status s = db_->Write(wo, &batch);
    RecordCommitTime(std::chrono::steady_clock::now() - start);
    for (const auto& [db_key, record] : sets) WriteThrough(db_key, record.encoded, s.ok());
    if (!s.ok()) {
      for (size_t i : changed) results[i] = Status::IOError("write failed: " + s.ToString());
    } else {
      writes_committed_.fetch_add(changed.size(), std::memory_order_relaxed);
      commits_.fetch_add(1, std::memory_order_relaxed);
      if (observer_) {
        for (const auto& [db_key, record] : sets) {
          if (ops[record.op].is_data) observer_(ops[record.op].key, record.set, record.encoded);
        }
      }
    }
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!ops[i].done) continue;
    try {
      ops[i].done(std::move(results[i]));
    } catch (const std::exception& e) {
      log_(std::string("unexpected exception in a write's completion: ") + e.what());
    }
  }
}

Status Storage::GetHints(std::string_view key, std::vector<std::pair<std::string, VersionSet>>& out) const {
  out.clear();
  if (!may_have_hints_) return Status::Ok();
  const std::string prefix = HintKeyPrefix(key);
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    VersionSet set;
    std::string_view value(it->value().data(), it->value().size());
    if (Status s = VersionSet::Decode(value, set); !s.ok()) return s;
    out.emplace_back(it->key().ToString().substr(prefix.size()), std::move(set));
  }
  if (!it->status().ok()) return Status::IOError("hint scan failed: " + it->status().ToString());
  return Status::Ok();
}

Status Storage::ForEachHint(
    const std::function<void(std::string_view, std::string_view, const VersionSet&)>& fn) const {
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  std::string key, owner;
  for (it->Seek(leveldb::Slice(kHintPrefix.data(), kHintPrefix.size())); it->Valid(); it->Next()) {
    std::string_view db_key(it->key().data(), it->key().size());
    if (!db_key.starts_with(kHintPrefix)) break;
    if (!ParseHintKey(db_key, key, owner)) {
      LogCorrupt("hint record", db_key, Status::Corruption("bad hint record key"));
      continue;
    }
    VersionSet set;
    if (Status s = VersionSet::Decode(std::string_view(it->value().data(), it->value().size()), set); !s.ok()) {
      LogCorrupt("hint record (for " + owner + ")", key, s);
      continue;
    }
    fn(key, owner, set);
  }
  if (!it->status().ok()) return Status::IOError("hint scan failed: " + it->status().ToString());
  return Status::Ok();
}

Status Storage::DeleteHintIf(std::string_view key, std::string_view owner, const VersionSet& delivered, bool& deleted) {
  deleted = false;
  return UpdateHint(key, owner, [&](VersionSet& set) {
    if (!(set == delivered)) return false;
    set = VersionSet();
    deleted = true;
    return true;
  });
}

Status Storage::ReapTombstones(int64_t cutoff_ms, size_t& reaped) {
  reaped = 0;
  std::vector<std::string> candidates;
  Status scan = ForEach([&](std::string_view key, const VersionSet& set) {
    if (set.ReapableBefore(cutoff_ms)) candidates.emplace_back(key);
  });
  if (!scan.ok()) return scan;
  // Re-check under the key lock: a write may have landed since the scan.
  for (const auto& key : candidates) {
    bool deleted = false;
    Status s = Update(key, [&](VersionSet& set) {
      if (!set.ReapableBefore(cutoff_ms)) return false;
      set = VersionSet();
      deleted = true;
      return true;
    });
    if (!s.ok()) return s;
    if (deleted) ++reaped;
  }
  return Status::Ok();
}

Status Storage::ForEach(const std::function<void(std::string_view, const VersionSet&)>& fn) const {
  leveldb::ReadOptions ro;
  ro.fill_cache = false;
  ro.snapshot = db_->GetSnapshot();
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
  Status result;
  for (it->Seek(leveldb::Slice(kDataPrefix.data(), kDataPrefix.size())); it->Valid(); it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (!k.starts_with(kDataPrefix)) break;
    VersionSet set;
    if (Status s = VersionSet::Decode(std::string_view(it->value().data(), it->value().size()), set); !s.ok()) {
      LogCorrupt("record", k.substr(kDataPrefix.size()), s);
      continue;
    }
    fn(k.substr(kDataPrefix.size()), set);
  }
  if (result.ok() && !it->status().ok()) result = Status::IOError("scan failed: " + it->status().ToString());
  it.reset();
  db_->ReleaseSnapshot(ro.snapshot);
  return result;
}

}  // namespace dynastore
