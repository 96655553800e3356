// CasRegisterWorkload: the public op format, the mix, the per-key op limit
// moving to fresh keys, unique values, final reads and checkers.
#include "workloads/cas_register_workload.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "checkers/stats_checker.h"

namespace faultline {
namespace {

std::vector<Invocation> GenerateOps(Workload& w, uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  std::vector<Invocation> ops;
  for (int i = 0; i < count; ++i) ops.push_back(w.Next(rng));
  return ops;
}

// Options with these fields, the rest default.
CasRegisterWorkloadOptions Opts(int keys, int ops_per_key, CasMix mix = {}, bool unique_values = false) {
  CasRegisterWorkloadOptions o;
  o.keys = keys;
  o.ops_per_key = ops_per_key;
  o.mix = mix;
  o.unique_values = unique_values;
  return o;
}

// The key's number: "k12" -> 12.
int KeyNumber(const std::string& key) {
  EXPECT_EQ(key[0], 'k') << key;
  return std::stoi(key.substr(1));
}

TEST(CasRegisterWorkloadTest, OpsHaveThePublicFormatAndSmallValues) {
  CasRegisterWorkload w(Opts(3, 1000000));
  std::map<std::string, int> per_f;
  std::set<int64_t> values;
  for (const Invocation& op : GenerateOps(w, 1, 3000)) {
    ++per_f[op.f];
    EXPECT_GE(KeyNumber(op.key), 1);
    EXPECT_LE(KeyNumber(op.key), 3);
    if (op.f == "read") {
      EXPECT_TRUE(op.value.is_null()) << op.value;
    } else if (op.f == "write") {
      ASSERT_TRUE(op.value.is_number_integer()) << op.value;
      values.insert(op.value.get<int64_t>());
    } else {
      ASSERT_EQ(op.f, "cas");
      ASSERT_TRUE(op.value.is_array() && op.value.size() == 2) << op.value;
      ASSERT_TRUE(op.value[0].is_number_integer() && op.value[1].is_number_integer()) << op.value;
      values.insert(op.value[0].get<int64_t>());
      values.insert(op.value[1].get<int64_t>());
    }
  }
  EXPECT_EQ(values, (std::set<int64_t>{0, 1, 2, 3, 4}));
  // The default mix weighs the three alike: ~1000 each.
  ASSERT_EQ(per_f.size(), 3u);
  for (const auto& [f, n] : per_f) {
    EXPECT_GT(n, 850) << f;
    EXPECT_LT(n, 1150) << f;
  }
}

TEST(CasRegisterWorkloadTest, TheMixWeighsTheOpsAndAZeroWeightLeavesOneOut) {
  CasRegisterWorkload w(Opts(5, 200, {.read = 3, .write = 1, .cas = 0}));
  std::map<std::string, int> per_f;
  for (const Invocation& op : GenerateOps(w, 2, 4000)) ++per_f[op.f];
  EXPECT_EQ(per_f.count("cas"), 0u);
  EXPECT_NEAR(per_f["read"] / 4000.0, 0.75, 0.04);
  EXPECT_NEAR(per_f["write"] / 4000.0, 0.25, 0.04);

  CasRegisterWorkload only_cas(Opts(5, 200, {.read = 0, .write = 0, .cas = 1}));
  for (const Invocation& op : GenerateOps(only_cas, 3, 200)) EXPECT_EQ(op.f, "cas");
}

TEST(CasRegisterWorkloadTest, TheModelIsRegisterWithoutCas) {
  EXPECT_EQ(CasRegisterWorkload(CasRegisterWorkloadOptions()).CheckerOptions().model, LinModel::kCasRegister);
  EXPECT_EQ(CasRegisterWorkload(Opts(5, 200, {.read = 1, .write = 1, .cas = 0})).CheckerOptions().model,
            LinModel::kRegister);
  CasRegisterWorkloadOptions o;
  o.checker.time_limit_s = 3;
  o.checker.memory_mb = 64;
  o.checker.all_keys = true;
  const LinearizableOptions c = CasRegisterWorkload(o).CheckerOptions();
  EXPECT_EQ(c.time_limit_s, 3);
  EXPECT_EQ(c.memory_mb, 64);
  EXPECT_TRUE(c.all_keys);
}

TEST(CasRegisterWorkloadTest, AfterKOpsAKeyMovesToAFreshOne) {
  const int keys = 4, k = 25, count = 2000;
  CasRegisterWorkload w(Opts(keys, k));
  std::map<int, int> per_key;
  int highest = 0;
  for (const Invocation& op : GenerateOps(w, 4, count)) {
    const int n = KeyNumber(op.key);
    ++per_key[n];
    if (n > highest) {
      EXPECT_EQ(n, highest < keys ? n : highest + 1) << "fresh keys are numbered in order";
      highest = std::max(highest, n);
    }
  }
  EXPECT_GE(highest, count / k) << "about count / K keys were used";
  EXPECT_LE(highest, count / k + keys);
  for (const auto& [n, ops] : per_key) EXPECT_LE(ops, k) << "k" << n;
  // Every key but the last `keys` ones (still in use) got exactly K ops.
  int full = 0;
  for (const auto& [n, ops] : per_key) full += ops == k ? 1 : 0;
  EXPECT_GE(full, static_cast<int>(per_key.size()) - keys);
  // The final reads read the keys in use at the end: the last one of each slot.
  std::set<std::string> final_keys;
  for (const Invocation& r : w.FinalReads()) {
    EXPECT_EQ(r.f, "read");
    EXPECT_TRUE(r.value.is_null());
    final_keys.insert(r.key);
  }
  EXPECT_EQ(final_keys.size(), static_cast<size_t>(keys));
  for (const std::string& key : final_keys) EXPECT_LT(per_key[KeyNumber(key)], k + 1);
  EXPECT_TRUE(final_keys.count("k" + std::to_string(highest))) << "the newest key is in use";
}

TEST(CasRegisterWorkloadTest, FinalReadsBeforeAnyOpAreK1ToKn) {
  CasRegisterWorkload w(Opts(3, 200));
  std::vector<std::string> keys;
  for (const Invocation& r : w.FinalReads()) keys.push_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"k1", "k2", "k3"}));
  EXPECT_TRUE(w.Keys().empty()) << "no replica reads: no convergence checker";
}

TEST(CasRegisterWorkloadTest, UniqueValuesAreDistinctAndCasExpectsARecentValueOfItsKey) {
  CasRegisterWorkload w(Opts(3, 50, {}, /*unique_values=*/true));
  std::set<int64_t> written;
  std::map<std::string, std::vector<int64_t>> per_key;  // values written to each key, in order
  int cas = 0;
  for (const Invocation& op : GenerateOps(w, 5, 3000)) {
    if (op.f == "read") continue;
    const int64_t v = op.f == "write" ? op.value.get<int64_t>() : op.value[1].get<int64_t>();
    if (op.f == "cas") {
      ++cas;
      const auto& history = per_key[op.key];
      ASSERT_FALSE(history.empty()) << "a cas on a key never written to is a write";
      const int64_t expected = op.value[0].get<int64_t>();
      const size_t n = history.size();
      bool recent = false;
      for (size_t i = n > CasRegisterWorkload::kRecentValues ? n - CasRegisterWorkload::kRecentValues : 0; i < n; ++i)
        recent = recent || history[i] == expected;
      EXPECT_TRUE(recent) << op.key << " cas expects " << expected;
    }
    EXPECT_TRUE(written.insert(v).second) << "value " << v << " written twice";
    per_key[op.key].push_back(v);
  }
  EXPECT_GT(cas, 500);
  EXPECT_EQ(*written.begin(), 1);
}

TEST(CasRegisterWorkloadTest, SameSeedSameOps) {
  CasRegisterWorkload a(Opts(5, 10)), b(Opts(5, 10)), c(Opts(5, 10));
  const auto ops_a = GenerateOps(a, 9, 300), ops_b = GenerateOps(b, 9, 300), ops_c = GenerateOps(c, 10, 300);
  bool same_ab = true, same_ac = true;
  for (size_t i = 0; i < ops_a.size(); ++i) {
    same_ab = same_ab && ops_a[i].f == ops_b[i].f && ops_a[i].key == ops_b[i].key && ops_a[i].value == ops_b[i].value;
    same_ac = same_ac && ops_a[i].f == ops_c[i].f && ops_a[i].key == ops_c[i].key && ops_a[i].value == ops_c[i].value;
  }
  EXPECT_TRUE(same_ab);
  EXPECT_FALSE(same_ac);
}

TEST(CasRegisterWorkloadTest, NameAndCheckers) {
  CasRegisterWorkload w{CasRegisterWorkloadOptions()};
  EXPECT_EQ(w.name(), "cas-register");
  std::set<std::string> names;
  for (const auto& c : w.Checkers()) names.insert(c->name());
  EXPECT_EQ(names, (std::set<std::string>{"linearizable", StatsChecker().name()}));
}

TEST(CasRegisterWorkloadTest, RefusesAnEmptyMix) {
  EXPECT_THROW(CasRegisterWorkload(Opts(5, 200, {.read = 0, .write = 0, .cas = 0})), std::invalid_argument);
  EXPECT_THROW(CasRegisterWorkload(Opts(5, 0)), std::invalid_argument);
}

}  // namespace
}  // namespace faultline
