// Grudge construction: every kind on 3, 5, 7 and 9 nodes (and the small
// and large edge cases), symmetry, majorities, determinism, JSON validation.
#include "nemesis/grudge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "nemesis/tests/node_names.h"

namespace faultline {
namespace {

using test::Nodes;

bool Drops(const Grudge& g, const std::string& a, const std::string& b) {
  auto it = g.find(a);
  return it != g.end() && it->second.count(b) > 0;
}

// Checks what holds for every kind: only known nodes, nobody drops itself,
// no empty entries, symmetric.
void ExpectWellFormed(const Grudge& g, const std::vector<std::string>& nodes, const std::string& what) {
  for (const auto& [a, drops] : g) {
    EXPECT_NE(std::find(nodes.begin(), nodes.end(), a), nodes.end()) << what << ": unknown " << a;
    EXPECT_FALSE(drops.empty()) << what << ": empty entry for " << a;
    EXPECT_EQ(drops.count(a), 0u) << what << ": " << a << " drops itself";
    for (const auto& b : drops) {
      EXPECT_NE(std::find(nodes.begin(), nodes.end(), b), nodes.end()) << what << ": unknown " << b;
      EXPECT_TRUE(Drops(g, b, a)) << what << ": " << a << " drops " << b << " but not the reverse";
    }
  }
}

std::string Describe(const Grudge& g) { return GrudgeToJson(g).dump(); }

class GrudgeSizes : public ::testing::TestWithParam<int> {};

TEST_P(GrudgeSizes, EveryKindIsWellFormedAndSymmetric) {
  const auto nodes = Nodes(GetParam());
  for (const auto& kind : GrudgeKinds()) {
    for (uint64_t seed = 0; seed < 20; ++seed) {
      std::mt19937_64 rng(seed);
      Grudge g = MakeGrudge(kind, nodes, rng);
      ExpectWellFormed(g, nodes, kind + " seed " + std::to_string(seed) + ": " + Describe(g));
      EXPECT_FALSE(g.empty()) << kind << " on " << nodes.size() << " nodes cuts nothing";
    }
  }
}

TEST_P(GrudgeSizes, HalvesSplitsFirstCeilHalfFromTheRest) {
  const auto nodes = Nodes(GetParam());
  const size_t first = (nodes.size() + 1) / 2;
  std::mt19937_64 rng(1);
  auto reach = Reachable(MakeGrudge("halves", nodes, rng), nodes);
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::set<std::string> want;
    for (size_t j = 0; j < nodes.size(); ++j) {
      if ((i < first) == (j < first)) want.insert(nodes[j]);
    }
    EXPECT_EQ(reach[nodes[i]], want) << nodes[i];
  }
}

TEST_P(GrudgeSizes, RandomHalvesSplitsIntoCeilAndFloorHalves) {
  const auto nodes = Nodes(GetParam());
  const size_t n = nodes.size();
  std::set<std::set<std::string>> splits;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng(seed);
    auto reach = Reachable(MakeGrudge("random-halves", nodes, rng), nodes);
    std::set<std::set<std::string>> components;
    for (const auto& [node, sees] : reach) {
      components.insert(sees);
      EXPECT_TRUE(sees.count(node));
    }
    ASSERT_EQ(components.size(), 2u);
    std::vector<size_t> sizes;
    for (const auto& c : components) sizes.push_back(c.size());
    std::sort(sizes.begin(), sizes.end());
    EXPECT_EQ(sizes, (std::vector<size_t>{n / 2, (n + 1) / 2}));
    splits.insert(*components.begin());
  }
  EXPECT_GT(splits.size(), 1u) << "20 seeds gave one split: not random";
}

TEST_P(GrudgeSizes, OneIsolatesExactlyOneNode) {
  const auto nodes = Nodes(GetParam());
  std::set<std::string> isolated_over_seeds;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng(seed);
    const Grudge g = MakeGrudge("one", nodes, rng);
    auto reach = Reachable(g, nodes);
    std::vector<std::string> alone;
    for (const auto& [node, sees] : reach) {
      if (sees.size() == 1) {
        alone.push_back(node);
      } else {
        EXPECT_EQ(sees.size(), nodes.size() - 1) << node << " in " << Describe(g);
      }
    }
    ASSERT_EQ(alone.size(), 1u) << Describe(g);
    isolated_over_seeds.insert(alone[0]);
  }
  EXPECT_GT(isolated_over_seeds.size(), 1u);
}

TEST_P(GrudgeSizes, BridgeHasOneNodeSeeingTwoHalvesThatDoNotSeeEachOther) {
  const auto nodes = Nodes(GetParam());
  const size_t n = nodes.size();
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng(seed);
    const Grudge g = MakeGrudge("bridge", nodes, rng);
    auto reach = Reachable(g, nodes);
    std::vector<std::string> bridges;
    for (const auto& [node, sees] : reach) {
      if (sees.size() == n) bridges.push_back(node);
    }
    ASSERT_EQ(bridges.size(), 1u) << Describe(g);
    const std::string bridge = bridges[0];
    // Everyone else sees exactly its own half plus the bridge.
    std::set<std::set<std::string>> halves;
    for (const auto& [node, sees] : reach) {
      if (node == bridge) continue;
      EXPECT_TRUE(sees.count(bridge)) << node << " in " << Describe(g);
      std::set<std::string> half = sees;
      half.erase(bridge);
      halves.insert(half);
    }
    ASSERT_EQ(halves.size(), 2u) << Describe(g);
    const auto& a = *halves.begin();
    const auto& b = *halves.rbegin();
    EXPECT_EQ(a.size() + b.size(), n - 1);
    for (const auto& x : a) {
      EXPECT_EQ(b.count(x), 0u);
      for (const auto& y : b) EXPECT_TRUE(Drops(g, x, y) && Drops(g, y, x)) << x << " / " << y;
    }
    EXPECT_LE(std::max(a.size(), b.size()) - std::min(a.size(), b.size()), 1u);
  }
}

TEST_P(GrudgeSizes, MajoritiesRingGivesEveryNodeADifferentMajority) {
  const auto nodes = Nodes(GetParam());
  const size_t n = nodes.size();
  const size_t majority = n / 2 + 1;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng(seed);
    const Grudge g = MakeGrudge("majorities-ring", nodes, rng);
    auto reach = Reachable(g, nodes);
    std::set<std::set<std::string>> views;
    size_t larger = 0;
    for (const auto& [node, sees] : reach) {
      EXPECT_GE(sees.size(), majority) << node << " in " << Describe(g);
      if (sees.size() > majority) ++larger;
      views.insert(sees);
    }
    EXPECT_EQ(views.size(), n) << "two nodes see the same nodes: " << Describe(g);
    // Exact majorities, except on odd n with odd n/2 (3, 7, ...): one node sees two more.
    const bool odd_degree = n % 2 == 1 && (n / 2) % 2 == 1;
    EXPECT_EQ(larger, odd_degree ? 1u : 0u) << Describe(g);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, GrudgeSizes, ::testing::Values(3, 4, 5, 6, 7, 8, 9, 10, 11));

TEST(Grudge, MajoritiesRingOnThreeIsAPathAndOnFourACycle) {
  std::mt19937_64 rng(3);
  auto reach3 = Reachable(MakeGrudge("majorities-ring", Nodes(3), rng), Nodes(3));
  std::multiset<size_t> sizes3;
  for (const auto& [node, sees] : reach3) sizes3.insert(sees.size());
  EXPECT_EQ(sizes3, (std::multiset<size_t>{2, 2, 3}));  // a - b - c: b sees all
  const Grudge g4 = MakeGrudge("majorities-ring", Nodes(4), rng);
  for (const auto& node : Nodes(4)) {
    ASSERT_EQ(g4.count(node), 1u);
    EXPECT_EQ(g4.at(node).size(), 1u) << node << " should drop only the node opposite it";
  }
}

TEST(Grudge, TwoNodes) {
  std::mt19937_64 rng(1);
  const auto nodes = Nodes(2);
  EXPECT_EQ(MakeGrudge("halves", nodes, rng), (Grudge{{"n1", {"n2"}}, {"n2", {"n1"}}}));
  EXPECT_EQ(MakeGrudge("one", nodes, rng).size(), 2u);
  // A majority of 2 is both, and a bridge needs two halves: nothing to cut.
  EXPECT_TRUE(MakeGrudge("majorities-ring", nodes, rng).empty());
  EXPECT_TRUE(MakeGrudge("bridge", nodes, rng).empty());
}

TEST(Grudge, SameSeedSameGrudgeAndSeedsDiffer) {
  const auto nodes = Nodes(7);
  for (const auto& kind : GrudgeKinds()) {
    std::mt19937_64 a(42), b(42);
    EXPECT_EQ(MakeGrudge(kind, nodes, a), MakeGrudge(kind, nodes, b)) << kind;
    if (kind == "halves") continue;
    std::set<Grudge> seen;
    for (uint64_t seed = 0; seed < 10; ++seed) {
      std::mt19937_64 r(seed);
      seen.insert(MakeGrudge(kind, nodes, r));
    }
    EXPECT_GT(seen.size(), 1u) << kind << " ignores the seed";
  }
}

TEST(Grudge, HalvesFollowsTheGivenNodeOrder) {
  std::mt19937_64 rng(1);
  const Grudge g = MakeGrudge("halves", {"c", "a", "b"}, rng);
  EXPECT_EQ(g, (Grudge{{"c", {"b"}}, {"a", {"b"}}, {"b", {"a", "c"}}}));
}

TEST(Grudge, CompleteGrudgeWithOverlappingComponents) {
  const Grudge g = CompleteGrudge({{"n1", "n2", "n3"}, {"n3", "n4"}});
  EXPECT_EQ(g, (Grudge{{"n1", {"n4"}}, {"n2", {"n4"}}, {"n4", {"n1", "n2"}}}));
}

TEST(Grudge, MakeGrudgeRejectsUnknownKindAndTooFewNodes) {
  std::mt19937_64 rng(1);
  try {
    MakeGrudge("thirds", Nodes(5), rng);
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown partition kind \"thirds\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("majorities-ring"), std::string::npos) << e.what();
  }
  EXPECT_THROW(MakeGrudge("halves", Nodes(1), rng), std::invalid_argument);
  EXPECT_THROW(MakeGrudge("one", {}, rng), std::invalid_argument);
  EXPECT_THROW(MakeGrudge("halves", {"n1", "n1"}, rng), std::invalid_argument);
}

TEST(Grudge, JsonRoundTrip) {
  const auto nodes = Nodes(5);
  std::mt19937_64 rng(9);
  const Grudge g = MakeGrudge("majorities-ring", nodes, rng);
  EXPECT_EQ(GrudgeFromJson(GrudgeToJson(g), nodes), g);
  EXPECT_EQ(GrudgeToJson(Grudge{{"n1", {"n3", "n2"}}}).dump(), R"({"n1":["n2","n3"]})");
  EXPECT_EQ(GrudgeToJson(Grudge{}).dump(), "{}");
  // An explicit grudge may be one-sided.
  EXPECT_EQ(GrudgeFromJson(nlohmann::json::parse(R"({"n1":["n2"],"n3":[]})"), nodes), (Grudge{{"n1", {"n2"}}}));
}

std::string FromJsonError(const std::string& text) {
  try {
    GrudgeFromJson(nlohmann::json::parse(text), {"n1", "n2", "n3"});
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(Grudge, FromJsonNamesTheProblem) {
  EXPECT_EQ(FromJsonError(R"({"n9":["n1"]})"), R"(grudge: "n9" is not a node (nodes: n1, n2, n3))");
  EXPECT_EQ(FromJsonError(R"({"n1":["n2","n9"]})"), R"(grudge: "n9" is not a node (nodes: n1, n2, n3))");
  EXPECT_EQ(FromJsonError(R"({"n1":["n1"]})"), R"(grudge: "n1" cannot drop itself)");
  EXPECT_EQ(FromJsonError(R"({"n1":"n2"})"), R"(grudge: value of "n1" must be an array of node names)");
  EXPECT_EQ(FromJsonError(R"({"n1":[2]})"), R"(grudge: value of "n1" must be an array of node names)");
  EXPECT_NE(FromJsonError(R"(["n1","n2"])").find("grudge: must be an object"), std::string::npos);
  EXPECT_NE(FromJsonError("null").find("grudge: must be an object"), std::string::npos);
}

TEST(Grudge, ReachableNeedsBothDirections) {
  const auto reach = Reachable(Grudge{{"n1", {"n2"}}}, {"n1", "n2", "n3"});
  EXPECT_EQ(reach.at("n1"), (std::set<std::string>{"n1", "n3"}));
  EXPECT_EQ(reach.at("n2"), (std::set<std::string>{"n2", "n3"}));
  EXPECT_EQ(reach.at("n3"), (std::set<std::string>{"n1", "n2", "n3"}));
}

}  // namespace
}  // namespace faultline
