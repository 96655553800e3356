#include "store/storage.h"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include <cstdio>
#include <filesystem>
#include <functional>

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
  std::unique_ptr<Storage> storage(new Storage(options.sync, options.log));
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
  out = std::move(storage);
  return Status::Ok();
}

Storage::Storage(bool sync, std::function<void(std::string_view)> log) : sync_(sync), log_(std::move(log)) {
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

Storage::~Storage() = default;

std::mutex& Storage::LockFor(std::string_view key) {
  return stripes_[std::hash<std::string_view>{}(key) % stripes_.size()];
}

Status Storage::Read(const std::string& db_key, VersionSet& out) const {
  std::string bytes;
  leveldb::Status s = db_->Get(leveldb::ReadOptions(), db_key, &bytes);
  if (s.IsNotFound()) {
    out = VersionSet();
    return Status::Ok();
  }
  if (!s.ok()) return Status::IOError("read failed: " + s.ToString());
  return VersionSet::Decode(bytes, out);
}

Status Storage::Write(const std::string& db_key, const VersionSet& set, const std::string* counter_key,
                      uint64_t counter) {
  leveldb::WriteBatch batch;
  if (set.empty()) {
    batch.Delete(db_key);
  } else {
    batch.Put(db_key, set.Encode());
  }
  if (counter_key) {
    std::string bytes;
    codec::PutVarint(bytes, counter);
    batch.Put(*counter_key, bytes);
  }
  leveldb::WriteOptions wo;
  wo.sync = sync_;
  leveldb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) return Status::IOError("write failed: " + s.ToString());
  return Status::Ok();
}

Status Storage::Get(std::string_view key, VersionSet& out) const { return Read(DataKey(key), out); }

Status Storage::Update(std::string_view key, const std::function<bool(VersionSet&)>& mutate) {
  std::lock_guard<std::mutex> lock(LockFor(key));
  VersionSet set;
  if (Status s = Get(key, set); !s.ok()) return s;
  if (!mutate(set)) return Status::Ok();
  if (Status s = Write(DataKey(key), set); !s.ok()) return s;
  if (observer_) observer_(key, set);
  return Status::Ok();
}

Status Storage::UpdateHint(std::string_view key, std::string_view owner,
                           const std::function<bool(VersionSet&)>& mutate) {
  return UpdateHintAsCoordinator(key, owner, [&](VersionSet& set, uint64_t&) { return mutate(set); });
}

Status Storage::UpdateHintAsCoordinator(std::string_view key, std::string_view owner,
                                        const std::function<bool(VersionSet&, uint64_t&)>& mutate) {
  std::lock_guard<std::mutex> lock(LockFor(key));
  const std::string hint_key = HintKey(key, owner);
  const std::string counter_key = std::string(kCounterPrefix).append(key);
  VersionSet set;
  if (Status s = Read(hint_key, set); !s.ok()) return s;
  uint64_t issued = 0;
  std::string bytes;
  leveldb::Status ls = db_->Get(leveldb::ReadOptions(), counter_key, &bytes);
  if (ls.ok()) {
    std::string_view in = bytes;
    if (!codec::GetVarint(in, issued)) return Status::Corruption("bad issued-counter record");
  } else if (!ls.IsNotFound()) {
    return Status::IOError("read failed: " + ls.ToString());
  }
  const uint64_t before = issued;
  if (!mutate(set, issued)) return Status::Ok();
  if (!set.empty()) may_have_hints_ = true;
  return Write(hint_key, set, issued != before ? &counter_key : nullptr, issued);
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
