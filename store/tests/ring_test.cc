#include "store/ring.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace dynastore {
namespace {

ClusterConfig Cluster(int nodes, int n, int partitions) {
  ClusterConfig c;
  c.n = n;
  c.r = c.w = 1;
  c.partitions = partitions;
  for (int i = 0; i < nodes; ++i) {
    auto port = static_cast<uint16_t>(8000 + i);
    c.nodes.push_back(
        {"n" + std::to_string(i + 1), {"127.0.0.1", port}, {"127.0.0.1", static_cast<uint16_t>(port + 1000)}});
  }
  return c;
}

TEST(Ring, PreferenceListsHaveNDistinctNodesAndWalkEveryNode) {
  for (int nodes : {1, 3, 5, 7}) {
    ClusterConfig c = Cluster(nodes, std::min(3, nodes), 64);
    Ring ring(c);
    for (int p = 0; p < ring.partitions(); ++p) {
      const auto& walk = ring.Walk(p);
      EXPECT_EQ(std::set<int>(walk.begin(), walk.end()).size(), static_cast<size_t>(nodes));
      EXPECT_EQ(walk.front(), ring.OwnerOf(p));
    }
  }
}

TEST(Ring, PartitionsAndKeysSpreadEvenly) {
  Ring ring(Cluster(5, 3, 64));
  std::map<int, int> replicas_per_node, keys_per_node;
  for (int p = 0; p < ring.partitions(); ++p) {
    for (int i = 0; i < ring.n(); ++i) ++replicas_per_node[ring.Walk(p)[i]];
  }
  for (const auto& [node, count] : replicas_per_node) {
    EXPECT_GE(count, 64 * 3 / 5 - 3) << node;
    EXPECT_LE(count, 64 * 3 / 5 + 3) << node;
  }
  for (int k = 0; k < 50000; ++k) ++keys_per_node[ring.WalkForKey("key" + std::to_string(k)).front()];
  for (const auto& [node, count] : keys_per_node) {
    EXPECT_NEAR(count, 10000, 1500) << "node " << node;
  }
}

TEST(Ring, IsStableAcrossInstancesAndMatchesPartitionsOf) {
  Ring a(Cluster(5, 3, 64)), b(Cluster(5, 3, 64));
  for (int k = 0; k < 1000; ++k) {
    std::string key = "k" + std::to_string(k);
    EXPECT_EQ(a.PartitionOf(key), b.PartitionOf(key));
  }
  EXPECT_EQ(Ring::Hash("dynastore"), Ring::Hash("dynastore"));
  for (int node = 0; node < 5; ++node) {
    for (int p : a.PartitionsOf(node)) EXPECT_TRUE(a.IsReplica(node, p));
  }
  auto json = a.ToJson(Cluster(5, 3, 64));
  EXPECT_EQ(json["ring"].size(), 64u);
  EXPECT_EQ(json["ring"][0]["replicas"].size(), 3u);
  EXPECT_EQ(json["ring"][0]["start"], "0x0000000000000000");
}

}  // namespace
}  // namespace dynastore
