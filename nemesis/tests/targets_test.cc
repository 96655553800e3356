// Target specs: sizes on 1..9 nodes, explicit names, errors, determinism.
#include "nemesis/targets.h"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

#include "nemesis/tests/node_names.h"

namespace faultline {
namespace {

using test::Nodes;

// Distinct nodes, all known, in the nodes' order.
void ExpectOrderedSubset(const std::vector<std::string>& got, const std::vector<std::string>& nodes) {
  size_t pos = 0;
  for (const auto& t : got) {
    while (pos < nodes.size() && nodes[pos] != t) ++pos;
    ASSERT_LT(pos, nodes.size()) << t << " is not a node or is out of order";
    ++pos;
  }
}

TEST(Targets, SizesOnOneToNineNodes) {
  for (int n = 1; n <= 9; ++n) {
    const auto nodes = Nodes(n);
    const size_t minority = std::max(1, (n - 1) / 2);
    const size_t majority = std::min(n, n / 2 + 1);
    for (uint64_t seed = 0; seed < 10; ++seed) {
      std::mt19937_64 rng(seed);
      auto one = PickTargets("one", nodes, rng);
      auto minor = PickTargets("minority", nodes, rng);
      auto major = PickTargets("majority", nodes, rng);
      auto all = PickTargets("all", nodes, rng);
      EXPECT_EQ(one.size(), 1u) << n;
      EXPECT_EQ(minor.size(), minority) << n;
      EXPECT_EQ(major.size(), majority) << n;
      EXPECT_EQ(all, nodes);
      for (const auto* t : {&one, &minor, &major}) ExpectOrderedSubset(*t, nodes);
      if (n >= 3) {
        EXPECT_LT(minor.size() * 2, static_cast<size_t>(n)) << "minority is not a minority on " << n;
      }
      EXPECT_GT(major.size() * 2, static_cast<size_t>(n)) << "majority is not a majority on " << n;
    }
  }
}

TEST(Targets, RandomSpecsVaryWithTheSeedAndRepeatWithIt) {
  const auto nodes = Nodes(7);
  for (const std::string spec : {"one", "minority", "majority"}) {
    std::set<std::vector<std::string>> seen;
    for (uint64_t seed = 0; seed < 20; ++seed) {
      std::mt19937_64 a(seed), b(seed);
      auto got = PickTargets(spec, nodes, a);
      EXPECT_EQ(got, PickTargets(spec, nodes, b)) << spec << " seed " << seed;
      seen.insert(got);
    }
    EXPECT_GT(seen.size(), 3u) << spec << " barely depends on the seed";
  }
}

TEST(Targets, ExplicitNamesComeBackInNodeOrder) {
  std::mt19937_64 rng(1);
  const auto nodes = Nodes(5);
  EXPECT_EQ(PickTargets("n1+n3", nodes, rng), (std::vector<std::string>{"n1", "n3"}));
  EXPECT_EQ(PickTargets("n4+n2", nodes, rng), (std::vector<std::string>{"n2", "n4"}));
  EXPECT_EQ(PickTargets("n5", nodes, rng), (std::vector<std::string>{"n5"}));
  // Explicit specs draw nothing from the rng.
  std::mt19937_64 fresh(1);
  EXPECT_EQ(rng(), fresh());
}

std::string Error(const std::string& spec, int n = 3) {
  try {
    ValidateTargetSpec(spec, Nodes(n));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(Targets, ErrorsNameTheSpecOrNode) {
  EXPECT_EQ(Error("one"), "no error");
  EXPECT_EQ(Error("n1+n2+n3"), "no error");
  EXPECT_NE(Error("most").find("\"most\" is not a target spec"), std::string::npos) << Error("most");
  EXPECT_NE(Error("most").find("nodes: n1, n2, n3"), std::string::npos) << Error("most");
  EXPECT_NE(Error("n9").find("\"n9\" is not a target spec"), std::string::npos) << Error("n9");
  EXPECT_EQ(Error("n1+n9"), "targets \"n1+n9\": \"n9\" is not a node (nodes: n1, n2, n3)");
  EXPECT_EQ(Error("n1+n1"), "targets \"n1+n1\": \"n1\" is named twice");
  EXPECT_NE(Error("n1++n2").find("is not a target spec"), std::string::npos);
  EXPECT_NE(Error("").find("is not a target spec"), std::string::npos);
  EXPECT_NE(Error("n1+").find("is not a target spec"), std::string::npos);
  EXPECT_NE(Error("all", 0).find("no nodes"), std::string::npos);
  std::mt19937_64 rng(1);
  EXPECT_THROW(PickTargets("minority", {}, rng), std::invalid_argument);
  EXPECT_THROW(PickTargets("n7", Nodes(3), rng), std::invalid_argument);
}

}  // namespace
}  // namespace faultline
