#include "store/record_cache.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace dynastore {
namespace {

std::optional<std::string> Lookup(RecordCache& cache, std::string_view key) {
  std::optional<std::string> out;
  if (!cache.Read(key, [&](std::string_view bytes) { out.emplace(bytes); })) return std::nullopt;
  return out;
}

TEST(RecordCache, ReadsWhatWasPutUntilErased) {
  RecordCache cache(1 << 20);
  EXPECT_EQ(Lookup(cache, "k"), std::nullopt);
  cache.Put("k", "v1");
  EXPECT_EQ(Lookup(cache, "k"), "v1");
  cache.Put("k", "v2");
  EXPECT_EQ(Lookup(cache, "k"), "v2");
  cache.Erase("k");
  EXPECT_EQ(Lookup(cache, "k"), std::nullopt);
  cache.Erase("never-there");
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 2u);
}

TEST(RecordCache, ZeroCapacityHoldsNothing) {
  RecordCache cache(0);
  cache.Put("k", "v");
  EXPECT_EQ(Lookup(cache, "k"), std::nullopt);
}

TEST(RecordCache, EvictsTheLeastRecentlyUsedAndStaysWithinItsBudget) {
  // 16 shards of 1 KB: each holds a few 200-byte records at most.
  RecordCache cache(16 * 1024);
  const std::string value(200, 'x');
  cache.Put("keep", value);
  for (int i = 0; i < 2000; ++i) {
    cache.Put("k" + std::to_string(i), value);
    ASSERT_TRUE(Lookup(cache, "keep").has_value()) << "after " << i << " puts";  // read: most recently used
  }
  int held = 0;
  for (int i = 0; i < 2000; ++i) held += Lookup(cache, "k" + std::to_string(i)).has_value();
  EXPECT_GT(held, 0);
  EXPECT_LT(held, 16 * 1024 / 200);                 // what the budget can hold
  EXPECT_TRUE(Lookup(cache, "k1999").has_value());  // the newest stays
}

TEST(RecordCache, ARecordLargerThanAShardIsNotCachedAndDropsTheOldOne) {
  RecordCache cache(16 * 1024);
  cache.Put("k", "small");
  cache.Put("k", std::string(4096, 'x'));
  EXPECT_EQ(Lookup(cache, "k"), std::nullopt);  // never the stale "small"
}

}  // namespace
}  // namespace dynastore
