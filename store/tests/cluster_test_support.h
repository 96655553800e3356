// Helpers of the cluster tests (cluster_test.cc, cluster_faults_test.cc):
// writes and contexts through a node, which nodes hold a value, keys by
// placement, and the printed seed of a random test.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/causal_context.h"
#include "store/tests/cluster_fixture.h"
#include "store/tests/test_http_client.h"
#include "store/tests/test_node.h"

namespace dynastore::test {

using nlohmann::json;  // NOLINT: the tests' JSON type
using Values = TestCluster::Values;

// PUT {value, context} via node i; the reply (status checked by callers).
inline HttpResult Put(TestCluster& c, int i, const std::string& key, const std::string& value,
                      const std::string& context = "") {
  return c.Client(i).Put(KvPath(key), {{"value", value}, {"context", context}});
}

// The context of a 200 PUT or GET reply ("" if there is none).
inline std::string ContextOf(const HttpResult& r) {
  json j = r.Json();
  return j.is_object() && j.contains("context") && j["context"].is_string() ? j["context"].get<std::string>() : "";
}

// True once node i's own copy of `key` holds exactly `want`.
inline bool LocalIs(TestCluster& c, int i, const std::string& key, const Values& want) {
  return c.LocalValues(i, key) == want;
}

// The nodes whose own copy of `key` (owned data and hints) holds exactly `want`.
inline std::set<int> Holders(TestCluster& c, const std::string& key, const Values& want) {
  std::set<int> holders;
  for (int i = 0; i < c.size(); ++i) {
    if (c.running(i) && !c.paused(i) && LocalIs(c, i, key, want)) holders.insert(i);
  }
  return holders;
}

// `count` keys named prefix-N whose preference list satisfies `pred`.
inline std::vector<std::string> KeysWhere(TestCluster& c, const std::string& prefix, size_t count,
                                          const std::function<bool(const KeyPlacement&)>& pred) {
  std::vector<std::string> keys;
  for (int k = 0; keys.size() < count && k < 100000; ++k) {
    std::string key = prefix + "-" + std::to_string(k);
    if (pred(c.Placement(key))) keys.push_back(std::move(key));
  }
  return keys;
}

inline std::set<int> AsSet(const std::vector<int>& v) { return {v.begin(), v.end()}; }

// The seed of a random test, printed; rerun one with --gtest_random_seed=<seed>.
inline unsigned Seed(const char* test) {
  const int seed = testing::UnitTest::GetInstance()->random_seed();
  std::printf("[ seed     ] %s seed=%d (rerun with --gtest_random_seed=%d)\n", test, seed, seed);
  return static_cast<unsigned>(seed);
}

#define ASSERT_CLUSTER_OK(c) ASSERT_TRUE((c).ok()) << (c).error()

}  // namespace dynastore::test
