#include "store/storage.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

namespace dynastore {
namespace {

class StorageTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("storage_test_" + std::to_string(::getpid()) + "_" +
                                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(Storage::Open({.path = dir_.string(), .sync = false}, storage_).ok());
  }
  void TearDown() override {
    storage_.reset();
    std::filesystem::remove_all(dir_);
  }
  Status Write(const std::string& key, const CausalContext& ctx, std::optional<std::string> value, int64_t ts = 1) {
    return storage_->Update(key, [&](VersionSet& s) {
      s.Write("n1", ctx, value, ts, 64);
      return true;
    });
  }

  std::filesystem::path dir_;
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

TEST(StorageOpen, UnwritableDirectoryIsAClearError) {
  std::unique_ptr<Storage> s;
  Status st = Storage::Open({.path = "/proc/definitely/not/here"}, s);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("/proc/definitely/not/here"), std::string::npos);
}

}  // namespace
}  // namespace dynastore
