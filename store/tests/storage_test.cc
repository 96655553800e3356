#include "store/storage.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "testing/temp_dir.h"

namespace dynastore {
namespace {

class StorageTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Storage::Open({.path = dir_.string(), .sync = false}, storage_).ok()); }
  void TearDown() override { storage_.reset(); }
  Status Write(const std::string& key, const CausalContext& ctx, std::optional<std::string> value, int64_t ts = 1) {
    return storage_->Update(key, [&](VersionSet& s) {
      s.Write("n1", ctx, value, ts, 64);
      return true;
    });
  }

  faultline::test::TempDir tmp_{"storage_test"};  // mkdtemp; removed with the fixture
  const std::filesystem::path dir_ = tmp_.path() / "data";
  std::unique_ptr<Storage> storage_;
};

TEST_F(StorageTest, MissingKeyReadsEmpty) {
  VersionSet s;
  ASSERT_TRUE(storage_->Get("nope", s).ok());
  EXPECT_TRUE(s.empty());
}

TEST_F(StorageTest, ValuesSurviveReopen) {
  ASSERT_TRUE(Write("k", CausalContext(), "v1").ok());
  ASSERT_TRUE(Write("k", CausalContext(), "v2").ok());
  storage_.reset();
  ASSERT_TRUE(Storage::Open({.path = dir_.string()}, storage_).ok());
  VersionSet s;
  ASSERT_TRUE(storage_->Get("k", s).ok());
  EXPECT_EQ(s.LiveValues(), (std::vector<std::string>{"v1", "v2"}));
}

TEST_F(StorageTest, ConcurrentBlindWritesToOneKeyLoseNoSibling) {
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ASSERT_TRUE(Write("hot", CausalContext(), std::to_string(t * 1000 + i)).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  VersionSet s;
  ASSERT_TRUE(storage_->Get("hot", s).ok());
  EXPECT_EQ(s.LiveValues().size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_F(StorageTest, ReapRemovesOnlyOldAllTombstoneKeys) {
  ASSERT_TRUE(Write("live", CausalContext(), "v", 1).ok());
  ASSERT_TRUE(Write("old-dead", CausalContext(), std::nullopt, 10).ok());
  ASSERT_TRUE(Write("young-dead", CausalContext(), std::nullopt, 100).ok());
  ASSERT_TRUE(Write("mixed", CausalContext(), "v", 1).ok());
  ASSERT_TRUE(Write("mixed", CausalContext(), std::nullopt, 10).ok());
  size_t reaped = 0;
  ASSERT_TRUE(storage_->ReapTombstones(50, reaped).ok());
  EXPECT_EQ(reaped, 1u);
  std::vector<std::string> keys;
  ASSERT_TRUE(storage_->ForEach([&](std::string_view k, const VersionSet&) { keys.emplace_back(k); }).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"live", "mixed", "young-dead"}));
}

TEST_F(StorageTest, ReapedKeyReadsEmptyThoughItsRecordWasCached) {
  ASSERT_TRUE(Write("dead", CausalContext(), std::nullopt, 10).ok());
  VersionSet s;
  ASSERT_TRUE(storage_->Get("dead", s).ok());
  ASSERT_FALSE(s.empty());
  size_t reaped = 0;
  ASSERT_TRUE(storage_->ReapTombstones(50, reaped).ok());
  ASSERT_EQ(reaped, 1u);
  ASSERT_TRUE(storage_->Get("dead", s).ok());
  EXPECT_TRUE(s.empty());
}

// Reads after writes come from the record cache; with a cache far smaller
// than the data, most come from LevelDB. Both must give the latest write.
TEST(StorageRecordCache, ReadsGiveTheLatestWriteWhateverTheCacheHolds) {
  for (size_t cache_bytes : {size_t{32} << 20, size_t{4096}, size_t{0}}) {
    SCOPED_TRACE("record_cache_bytes " + std::to_string(cache_bytes));
    faultline::test::TempDir tmp("storage_cache_test");
    const std::filesystem::path dir = tmp.path() / "data";
    std::unique_ptr<Storage> storage;
    ASSERT_TRUE(Storage::Open({.path = dir.string(), .sync = false, .record_cache_bytes = cache_bytes}, storage).ok());
    constexpr int kKeys = 500;
    for (int round = 0; round < 2; ++round) {
      for (int k = 0; k < kKeys; ++k) {
        ASSERT_TRUE(storage
                        ->Update("k" + std::to_string(k),
                                 [&](VersionSet& set) {
                                   VersionSet fresh;  // replaces whatever was there
                                   fresh.Write("n1", CausalContext(), "r" + std::to_string(round), 1, 64);
                                   set = fresh;
                                   return true;
                                 })
                        .ok());
      }
    }
    for (int k = 0; k < kKeys; ++k) {
      VersionSet s;
      ASSERT_TRUE(storage->Get("k" + std::to_string(k), s).ok());
      ASSERT_EQ(s.LiveValues(), (std::vector<std::string>{"r1"})) << "key k" << k;
    }
    if (cache_bytes == 0) {
      EXPECT_EQ(storage->cache_hits(), 0u);
    } else if (cache_bytes > 4096) {
      EXPECT_GE(storage->cache_hits(), static_cast<uint64_t>(2 * kKeys));  // the second round's reads and the Gets
    } else {
      EXPECT_GT(storage->cache_misses(), static_cast<uint64_t>(kKeys));  // mostly evicted
    }
    storage.reset();
  }
}

TEST_F(StorageTest, GetCachedAnswersOnlyForCachedRecords) {
  VersionSet s;
  Status status;
  EXPECT_FALSE(storage_->GetCached("k", s, status));  // never written here: not cached
  ASSERT_TRUE(Write("k", CausalContext(), "v").ok());
  ASSERT_TRUE(storage_->GetCached("k", s, status));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(s.LiveValues(), (std::vector<std::string>{"v"}));
  EXPECT_FALSE(storage_->may_have_hints());
  ASSERT_TRUE(storage_
                  ->UpdateHint("k", "n2",
                               [](VersionSet& set) {
                                 set.Write("n1", CausalContext(), "hinted", 1, 64);
                                 return true;
                               })
                  .ok());
  EXPECT_TRUE(storage_->may_have_hints());  // so replica reads take the path that merges hints
}

// Group commit with its delay: concurrent synced writes from many threads
// all land (none lost to batching), and the delay stays within its bound.
TEST_F(StorageTest, ConcurrentSyncedWritesAllLandAndTheCommitDelayKeepsItsBound) {
  for (const auto max_delay : {std::chrono::microseconds(0), std::chrono::microseconds(300)}) {
    SCOPED_TRACE("max_commit_delay " + std::to_string(max_delay.count()) + " us");
    storage_.reset();
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(Storage::Open({.path = dir_.string(), .max_commit_delay = max_delay}, storage_).ok());
    constexpr int kThreads = 6, kPerThread = 40;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          ASSERT_TRUE(Write("k" + std::to_string(t), CausalContext(), std::to_string(i)).ok());
          EXPECT_LE(storage_->commit_delay(), max_delay);
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(storage_->writes_committed(), static_cast<uint64_t>(kThreads * kPerThread));
    EXPECT_LE(storage_->commits(), storage_->writes_committed());
    storage_.reset();
    ASSERT_TRUE(Storage::Open({.path = dir_.string(), .sync = false}, storage_).ok());
    for (int t = 0; t < kThreads; ++t) {
      VersionSet set;
      ASSERT_TRUE(storage_->Get("k" + std::to_string(t), set).ok());
      EXPECT_EQ(set.LiveValues().size(), static_cast<size_t>(kPerThread));  // blind writes: siblings
    }
  }
}

TEST_F(StorageTest, NoCommitDelayWithoutSync) {
  ASSERT_TRUE(Write("k", CausalContext(), "v").ok());
  EXPECT_EQ(storage_->commit_delay().count(), 0);
}

TEST(StorageOpen, UnwritableDirectoryIsAClearError) {
  std::unique_ptr<Storage> s;
  Status st = Storage::Open({.path = "/proc/definitely/not/here"}, s);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("/proc/definitely/not/here"), std::string::npos);
}

}  // namespace
}  // namespace dynastore
