// RegisterWorkload, CounterWorkload and SetWorkload: determinism by seed,
// unique write ids, the delta range, final reads, keys and checkers.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "checkers/convergence_checker.h"
#include "checkers/counter_checker.h"
#include "checkers/lost_update_checker.h"
#include "checkers/set_checker.h"
#include "checkers/stats_checker.h"
#include "workloads/counter_workload.h"
#include "workloads/register_workload.h"
#include "workloads/set_workload.h"

namespace faultline {
namespace {

using json = nlohmann::json;

std::vector<Invocation> Generate(Workload& w, uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  std::vector<Invocation> ops;
  for (int i = 0; i < count; ++i) ops.push_back(w.Next(rng));
  return ops;
}

bool Same(const std::vector<Invocation>& a, const std::vector<Invocation>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].f != b[i].f || a[i].key != b[i].key || a[i].value != b[i].value) return false;
  }
  return true;
}

// The names of a workload's checkers; a set, so two checkers with one name count once.
std::set<std::string> CheckerNames(const Workload& w) {
  std::set<std::string> names;
  for (const auto& c : w.Checkers()) {
    EXPECT_FALSE(c->name().empty());
    names.insert(c->name());
  }
  return names;
}

const std::vector<std::string> kThreeKeys = {"k1", "k2", "k3"};

TEST(RegisterWorkloadTest, SameSeedSameOpsOtherSeedOtherOps) {
  RegisterWorkload a({.keys = 4}), b({.keys = 4}), c({.keys = 4});
  auto ops_a = Generate(a, 42, 200), ops_b = Generate(b, 42, 200), ops_c = Generate(c, 43, 200);
  EXPECT_TRUE(Same(ops_a, ops_b));
  EXPECT_FALSE(Same(ops_a, ops_c));
}

TEST(RegisterWorkloadTest, RmwOpsCarryUniqueIncreasingWriteIds) {
  RegisterWorkload w({.keys = 3});
  std::set<int64_t> ids;
  std::map<std::string, int> per_key;
  int64_t last = 0;
  for (const Invocation& op : Generate(w, 7, 1000)) {
    EXPECT_EQ(op.f, "rmw");
    ASSERT_TRUE(op.value.is_object()) << op.value;
    ASSERT_EQ(op.value.size(), 1u) << op.value;
    ASSERT_TRUE(op.value["write"].is_number_integer()) << op.value;
    int64_t id = op.value["write"].get<int64_t>();
    EXPECT_GT(id, last);
    last = id;
    EXPECT_TRUE(ids.insert(id).second) << id;
    ++per_key[op.key];
  }
  EXPECT_EQ(*ids.begin(), 1);
  // Every key is used, and only k1..k3.
  ASSERT_EQ(per_key.size(), 3u);
  for (const auto& key : kThreeKeys) EXPECT_GT(per_key[key], 200) << key;
}

// The final reads of a workload over k1..k3: one "read" of each key, in order, with no value.
void ExpectOneReadPerKey(const Workload& w) {
  auto reads = w.FinalReads();
  ASSERT_EQ(reads.size(), 3u);
  for (size_t i = 0; i < reads.size(); ++i) {
    EXPECT_EQ(reads[i].f, "read");
    EXPECT_EQ(reads[i].key, kThreeKeys[i]);
    EXPECT_TRUE(reads[i].value.is_null());
  }
}

TEST(RegisterWorkloadTest, FinalReadsKeysAndCheckers) {
  RegisterWorkload w({.keys = 3});
  EXPECT_EQ(w.name(), "register");
  EXPECT_EQ(w.Keys(), kThreeKeys);
  ExpectOneReadPerKey(w);
  std::set<std::string> expected = {LostUpdateChecker().name(), ConvergenceChecker().name(), StatsChecker().name()};
  EXPECT_EQ(expected.size(), 3u);
  EXPECT_EQ(CheckerNames(w), expected);
}

TEST(CounterWorkloadTest, SameSeedSameOpsOtherSeedOtherOps) {
  CounterWorkload a({.keys = 2}), b({.keys = 2}), c({.keys = 2});
  auto ops_a = Generate(a, 5, 200), ops_b = Generate(b, 5, 200), ops_c = Generate(c, 6, 200);
  EXPECT_TRUE(Same(ops_a, ops_b));
  EXPECT_FALSE(Same(ops_a, ops_c));
}

TEST(CounterWorkloadTest, DeltasCoverMinusFiveToTenWithoutZero) {
  CounterWorkload w({.keys = 3});
  std::map<int64_t, int> seen;
  std::set<std::string> keys;
  const int count = 15000;
  for (const Invocation& op : Generate(w, 11, count)) {
    EXPECT_EQ(op.f, "add");
    ASSERT_TRUE(op.value.is_number_integer()) << op.value;
    ++seen[op.value.get<int64_t>()];
    keys.insert(op.key);
  }
  EXPECT_EQ(keys, std::set<std::string>(kThreeKeys.begin(), kThreeKeys.end()));
  // Exactly the 15 values -5..-1, 1..10, each about 1/15 of the draws.
  ASSERT_EQ(seen.size(), 15u);
  EXPECT_EQ(seen.count(0), 0u);
  EXPECT_EQ(seen.begin()->first, CounterWorkload::kMinDelta);
  EXPECT_EQ(seen.rbegin()->first, CounterWorkload::kMaxDelta);
  int positive = 0;
  for (const auto& [delta, n] : seen) {
    EXPECT_GT(n, 700) << delta;  // expected 1000; binomial sd ~31
    EXPECT_LT(n, 1300) << delta;
    if (delta > 0) positive += n;
  }
  EXPECT_NEAR(positive / static_cast<double>(count), 2.0 / 3, 0.03);
}

TEST(CounterWorkloadTest, FinalReadsKeysAndCheckers) {
  CounterWorkload w({.keys = 3});
  EXPECT_EQ(w.name(), "counter");
  EXPECT_EQ(w.Keys(), kThreeKeys);
  ExpectOneReadPerKey(w);
  std::set<std::string> expected = {CounterChecker().name(), ConvergenceChecker().name(), StatsChecker().name()};
  EXPECT_EQ(expected.size(), 3u);
  EXPECT_EQ(CheckerNames(w), expected);
}

TEST(SetWorkloadTest, KeysAndCheckers) {
  SetWorkload w({.keys = 3});
  EXPECT_EQ(w.Keys(), kThreeKeys);
  std::set<std::string> expected = {SetChecker().name(), ConvergenceChecker().name(), StatsChecker().name()};
  EXPECT_EQ(CheckerNames(w), expected);
}

}  // namespace
}  // namespace faultline
