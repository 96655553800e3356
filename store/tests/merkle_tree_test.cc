// Tests for MerkleTree and DigestIndex (anti-entropy's data structures).
#include "store/merkle_tree.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "store/digest_index.h"
#include "store/ring.h"

namespace dynastore {
namespace {

using Pairs = std::vector<std::pair<std::string, uint64_t>>;

Pairs MakeKeys(int n, uint64_t digest_salt = 0) {
  Pairs out;
  for (int i = 0; i < n; ++i) out.emplace_back("key-" + std::to_string(i), i * 1000003ull + digest_salt);
  return out;
}

std::vector<uint32_t> SortedBuckets(const std::set<std::string>& keys) {
  std::set<uint32_t> b;
  for (const auto& k : keys) b.insert(MerkleTree::BucketOf(k));
  return {b.begin(), b.end()};
}

// Random tests print their seed; rerun one with --gtest_random_seed=<seed>.
uint32_t Seed() {
  const int seed = testing::UnitTest::GetInstance()->random_seed();
  std::cout << "seed=" << seed << " (rerun with --gtest_random_seed=" << seed << ")\n";
  return static_cast<uint32_t>(seed);
}

TEST(MerkleTree, EqualContentsGiveEqualRootsRegardlessOfInsertionOrder) {
  Pairs keys = MakeKeys(5000);
  Pairs shuffled = keys;
  std::mt19937_64 rng(42);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  MerkleTree a = MerkleTree::Build(keys), b = MerkleTree::Build(shuffled);
  EXPECT_NE(a.Root(), 0u);
  EXPECT_EQ(a.Root(), b.Root());
  EXPECT_EQ(a, b);
  EXPECT_TRUE(MerkleTree::DiffLeaves(a, b).empty());
}

TEST(MerkleTree, OneChangedDigestChangesTheRootAndDiffsOnlyItsBucket) {
  Pairs keys = MakeKeys(5000);
  MerkleTree before = MerkleTree::Build(keys);
  keys[1234].second ^= 1;
  MerkleTree after = MerkleTree::Build(keys);
  EXPECT_NE(before.Root(), after.Root());
  EXPECT_EQ(MerkleTree::DiffLeaves(before, after), std::vector<uint32_t>{MerkleTree::BucketOf(keys[1234].first)});
}

TEST(MerkleTree, KeyPresentOnOneSideOnlyDiffsItsBucket) {
  Pairs keys = MakeKeys(5000);
  MerkleTree without = MerkleTree::Build(keys);
  keys.emplace_back("only-here", 7);
  MerkleTree with = MerkleTree::Build(keys);
  const std::vector<uint32_t> expected{MerkleTree::BucketOf("only-here")};
  EXPECT_EQ(MerkleTree::DiffLeaves(without, with), expected);
  EXPECT_EQ(MerkleTree::DiffLeaves(with, without), expected);
}

TEST(MerkleTree, RandomDifferencesDiffExactlyTheBucketsOfTheDifferingKeys) {
  std::mt19937_64 rng(Seed());
  for (int round = 0; round < 50; ++round) {
    const int n = std::uniform_int_distribution<int>(0, 3000)(rng);
    std::map<std::string, uint64_t> a;
    for (int i = 0; i < n; ++i) a["k" + std::to_string(rng() % 100000)] = rng();
    std::map<std::string, uint64_t> b = a;
    std::set<std::string> differing;
    const int changes = std::uniform_int_distribution<int>(0, 200)(rng);
    for (int c = 0; c < changes; ++c) {
      std::string key = "k" + std::to_string(rng() % 100000);
      switch (rng() % 3) {
        case 0:
          b[key] = rng();
          break;  // change or add on b
        case 1:
          b.erase(key);
          break;  // missing on b
        case 2:
          a[key] = rng();
          break;  // change or add on a
      }
    }
    for (const auto& [k, d] : a) {
      auto it = b.find(k);
      if (it == b.end() || it->second != d) differing.insert(k);
    }
    for (const auto& [k, d] : b) {
      if (!a.contains(k)) differing.insert(k);
    }
    MerkleTree ta = MerkleTree::Build({a.begin(), a.end()});
    MerkleTree tb = MerkleTree::Build({b.begin(), b.end()});
    ASSERT_EQ(MerkleTree::DiffLeaves(ta, tb), SortedBuckets(differing)) << "round " << round;
    ASSERT_EQ(ta.Root() == tb.Root(), differing.empty()) << "round " << round;
  }
}

TEST(MerkleTree, DescendingComparesFarFewerHashesThanALeafScan) {
  Pairs keys = MakeKeys(20000);
  MerkleTree a = MerkleTree::Build(keys);
  for (int i : {3, 5000, 17000}) keys[i].second += 1;
  MerkleTree b = MerkleTree::Build(keys);
  size_t compared = 0;
  EXPECT_EQ(MerkleTree::DiffLeaves(a, b, &compared).size(), 3u);
  // Root, then at most 3 differing nodes per level each opening 16 children.
  EXPECT_LE(compared, 1u + 3 * 3 * MerkleTree::kFanout);
  EXPECT_LT(compared * 20, size_t{MerkleTree::kLeaves});

  size_t equal_compared = 0;
  MerkleTree::DiffLeaves(a, a, &equal_compared);
  EXPECT_EQ(equal_compared, 1u);
}

TEST(MerkleTree, EmptyTreesAreEqualAndHashToZero) {
  MerkleTree built = MerkleTree::Build({}), constructed;
  EXPECT_EQ(built.Root(), 0u);
  EXPECT_EQ(built, constructed);
  size_t compared = 0;
  EXPECT_TRUE(MerkleTree::DiffLeaves(built, constructed, &compared).empty());
  EXPECT_EQ(compared, 1u);
  // Empty subtrees of a non-empty tree are 0 too, so a peer can tell "nothing here".
  MerkleTree one = MerkleTree::Build({{"k", 1}});
  const uint32_t bucket = MerkleTree::BucketOf("k");
  std::vector<uint32_t> all(MerkleTree::kLeaves);
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  auto leaves = one.Hashes(MerkleTree::kDepth, all);
  for (uint32_t i = 0; i < all.size(); ++i) EXPECT_EQ(leaves[i] != 0, i == bucket) << i;
}

TEST(MerkleTree, HashesFollowTheDocumentedWireFormat) {
  // Pins merkle_tree.h's format: replicas on different builds must agree.
  const std::string key = "user:42";
  const uint64_t digest = 0x0102030405060708ull;
  MerkleTree tree = MerkleTree::Build({{key, digest}});

  std::string bytes = key;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>(digest >> (8 * i)));
  const uint64_t leaf = XXH3_64bits(bytes.data(), bytes.size());
  const uint32_t bucket = static_cast<uint32_t>(XXH3_64bits(key.data(), key.size()) % MerkleTree::kLeaves);
  ASSERT_EQ(MerkleTree::BucketOf(key), bucket);
  ASSERT_EQ(tree.Hashes(MerkleTree::kDepth, {bucket}), std::vector<uint64_t>{leaf});

  // Walk up: each parent is XXH3 over its 16 children, little-endian.
  uint64_t h = leaf;
  uint32_t index = bucket;
  for (int level = MerkleTree::kDepth - 1; level >= 0; --level) {
    std::string children(MerkleTree::kFanout * 8, '\0');
    const uint32_t slot = index % MerkleTree::kFanout;
    for (int i = 0; i < 8; ++i) children[slot * 8 + i] = static_cast<char>(h >> (8 * i));
    h = XXH3_64bits(children.data(), children.size());
    index /= MerkleTree::kFanout;
    ASSERT_EQ(tree.Hashes(level, {index}), std::vector<uint64_t>{h}) << "level " << level;
  }
  EXPECT_EQ(tree.Root(), h);
}

TEST(MerkleTree, ChildrenNameTheNextLevelsNodes) {
  EXPECT_EQ(MerkleTree::Children(0), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}));
  EXPECT_EQ(MerkleTree::Children(17).front(), 272u);
  EXPECT_EQ(MerkleTree::Children(17).back(), 287u);
  EXPECT_EQ(MerkleTree::LevelSize(0), 1u);
  EXPECT_EQ(MerkleTree::LevelSize(MerkleTree::kDepth), 4096u);

  // A manual exchange with Hashes + Children finds what DiffLeaves finds.
  Pairs keys = MakeKeys(3000);
  MerkleTree a = MerkleTree::Build(keys);
  keys[10].second += 1;
  keys[2000].second += 1;
  MerkleTree b = MerkleTree::Build(keys);
  std::vector<uint32_t> frontier{0};
  for (int level = 0; level <= MerkleTree::kDepth; ++level) {
    auto ha = a.Hashes(level, frontier), hb = b.Hashes(level, frontier);
    std::vector<uint32_t> next;
    for (size_t i = 0; i < frontier.size(); ++i) {
      if (ha[i] == hb[i]) continue;
      if (level == MerkleTree::kDepth) {
        next.push_back(frontier[i]);
      } else {
        for (uint32_t c : MerkleTree::Children(frontier[i])) next.push_back(c);
      }
    }
    frontier = next;
  }
  EXPECT_EQ(frontier, MerkleTree::DiffLeaves(a, b));
  EXPECT_EQ(frontier, SortedBuckets({keys[10].first, keys[2000].first}));
}

TEST(MerkleTree, KeysOfOnePartitionSpreadOverTheBuckets) {
  // The ring picks partitions from the high hash bits; buckets use the low
  // ones, so one partition's keys still fill its buckets.
  ClusterConfig config;
  config.n = 1;
  config.partitions = 64;
  config.nodes.push_back({"n1", {"127.0.0.1", 8000}, {"127.0.0.1", 9000}});
  Ring ring(config);
  std::set<uint32_t> buckets;
  int in_partition = 0;
  for (int i = 0; in_partition < 8192; ++i) {
    std::string key = "spread-" + std::to_string(i);
    if (ring.PartitionOf(key) != 5) continue;
    ++in_partition;
    buckets.insert(MerkleTree::BucketOf(key));
  }
  // 8192 keys into 4096 buckets: about 4096 * (1 - e^-2) ~ 3542 used if uniform.
  EXPECT_GT(buckets.size(), 3400u);
}

TEST(DigestIndex, SetGetEraseAndSize) {
  DigestIndex index(4);
  EXPECT_EQ(index.partitions(), 4);
  EXPECT_EQ(index.Get(0, "a"), std::nullopt);
  index.Set(0, "a", 1);
  index.Set(0, "b", 2);
  index.Set(3, "a", 9);  // partitions are independent
  EXPECT_EQ(index.Get(0, "a"), 1u);
  EXPECT_EQ(index.Get(3, "a"), 9u);
  index.Set(0, "a", 5);  // replace
  EXPECT_EQ(index.Get(0, "a"), 5u);
  EXPECT_EQ(index.Size(0), 2u);
  EXPECT_EQ(index.Size(1), 0u);
  EXPECT_EQ(index.TotalSize(), 3u);
  index.Erase(0, "a");
  index.Erase(0, "missing");
  EXPECT_EQ(index.Get(0, "a"), std::nullopt);
  EXPECT_EQ(index.Get(3, "a"), 9u);
  EXPECT_EQ(index.TotalSize(), 2u);
}

TEST(DigestIndex, SnapshotIsSortedByKey) {
  DigestIndex index(2);
  for (const char* k : {"m", "a", "z", "b\xff", "b"}) index.Set(1, k, k[0]);
  EXPECT_EQ(index.Snapshot(1), (Pairs{{"a", 'a'}, {"b", 'b'}, {"b\xff", 'b'}, {"m", 'm'}, {"z", 'z'}}));
  EXPECT_TRUE(index.Snapshot(0).empty());
}

TEST(DigestIndex, TreeIsTheTreeOfTheSnapshot) {
  DigestIndex index(3);
  for (const auto& [k, d] : MakeKeys(2000)) index.Set(2, k, d);
  EXPECT_EQ(index.Tree(2), MerkleTree::Build(index.Snapshot(2)));
  EXPECT_EQ(index.Tree(0).Root(), 0u);
}

TEST(DigestIndex, KeysInBucketsReturnsExactlyThoseBucketsKeysSorted) {
  DigestIndex index(1);
  Pairs keys = MakeKeys(10000);
  for (const auto& [k, d] : keys) index.Set(0, k, d);
  const std::vector<uint32_t> wanted{MerkleTree::BucketOf(keys[7].first), MerkleTree::BucketOf(keys[9000].first),
                                     MerkleTree::kLeaves + 5 /* out of range: matches nothing */};
  Pairs expected;
  for (const auto& [k, d] : index.Snapshot(0)) {
    uint32_t b = MerkleTree::BucketOf(k);
    if (b == wanted[0] || b == wanted[1]) expected.emplace_back(k, d);
  }
  Pairs got = index.KeysInBuckets(0, wanted);
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  EXPECT_GE(got.size(), 2u);
  EXPECT_TRUE(index.KeysInBuckets(0, {}).empty());
}

TEST(DigestIndex, ConcurrentSetsFromSeveralThreadsAreAllKept) {
  constexpr int kThreads = 4, kPerThread = 5000, kPartitions = 8;
  DigestIndex index(kPartitions);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&index, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        index.Set(i % kPartitions, key, i);            // own keys
        index.Set(i % kPartitions, "shared", t);       // contended key
        if (i % 64 == 0) index.Tree(i % kPartitions);  // readers interleave
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(index.TotalSize(), size_t{kThreads * kPerThread} + kPartitions);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      ASSERT_EQ(index.Get(i % kPartitions, "t" + std::to_string(t) + "-" + std::to_string(i)), uint64_t(i));
    }
  }
}

TEST(DigestIndex, DigestOfIdentifiesTheVersionSet) {
  VersionSet a, b, c;
  a.Write("n1", CausalContext(), "x", 1, 10);
  b.Write("n1", CausalContext(), "x", 1, 10);  // the same write, independently
  c.Write("n1", CausalContext(), "y", 1, 10);
  EXPECT_EQ(DigestOf(a), DigestOf(b));
  EXPECT_NE(DigestOf(a), DigestOf(c));
  VersionSet siblings = a;
  siblings.Write("n1", CausalContext(), "y", 2, 10);  // a concurrent sibling
  EXPECT_NE(DigestOf(a), DigestOf(siblings));
  VersionSet tombstone = a;
  tombstone.Write("n1", a.Context(), std::nullopt, 3, 10);
  EXPECT_NE(DigestOf(a), DigestOf(tombstone));
  EXPECT_EQ(DigestOf(VersionSet()), DigestOf(VersionSet()));
}

}  // namespace
}  // namespace dynastore
