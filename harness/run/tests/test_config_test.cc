// TestConfig: defaults, merging (file < flags), validation messages that
// name the field, and test.json round trips.
#include "harness/run/test_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace faultline {
namespace {

using json = nlohmann::json;

TestConfig Resolve(const json& j) { return ResolveConfig(j, 42); }

// Expects a ConfigError whose message contains `fragment`.
void ExpectError(const json& j, const std::string& fragment) {
  try {
    Resolve(j);
    FAIL() << "accepted " << j.dump();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(TestConfig, DefaultsMatchTheIssue) {
  const TestConfig c = Resolve(json::object());
  EXPECT_EQ(c.db, "dynastore");
  EXPECT_EQ(c.workload, "set");
  EXPECT_EQ(c.name, "dynastore-set");
  EXPECT_EQ(c.local, 5);
  EXPECT_EQ(c.time_limit, 60);
  EXPECT_EQ(c.workers(), 10);  // 2n on 5 nodes
  EXPECT_EQ(c.rate, 100);
  EXPECT_EQ(c.seed, 42u);  // the seed given for "missing"
  EXPECT_EQ(c.store_dir, "store");
  EXPECT_EQ(c.op_timeout_ms, 1000);
}

TEST(TestConfig, ConcurrencyForms) {
  EXPECT_EQ(Resolve({{"concurrency", 7}}).workers(), 7);
  EXPECT_EQ(Resolve({{"concurrency", "7"}}).workers(), 7);
  EXPECT_EQ(Resolve({{"concurrency", "3n"}, {"local", 3}}).workers(), 9);
  EXPECT_EQ(Resolve({{"concurrency", "n"}, {"local", 4}}).workers(), 4);
  ExpectError({{"concurrency", "2x"}}, "\"concurrency\"");
  ExpectError({{"concurrency", 0}}, "\"concurrency\"");
  ExpectError({{"concurrency", "-1n"}}, "\"concurrency\"");
  ExpectError({{"concurrency", 1.5}}, "\"concurrency\"");
}

TEST(TestConfig, BadValuesNameTheField) {
  ExpectError({{"db", "cassandra"}}, "unknown \"db\" \"cassandra\"");
  ExpectError({{"workload", "bank"}}, "unknown \"workload\" \"bank\"");
  ExpectError({{"time-limit", 0}}, "\"time-limit\" must be > 0");
  ExpectError({{"time-limit", -5}}, "\"time-limit\"");
  ExpectError({{"rate", -3}}, "\"rate\" must be > 0");
  ExpectError({{"rate", "fast"}}, "\"rate\" must be a number");
  ExpectError({{"test-count", 0}}, "\"test-count\"");
  ExpectError({{"local", 0}}, "\"local\"");
  ExpectError({{"op-timeout-ms", 0}}, "\"op-timeout-ms\"");
  ExpectError({{"quiesce", -1}}, "\"quiesce\"");
  ExpectError({{"keys", 0}}, "\"keys\"");
  ExpectError({{"seed", -1}}, "\"seed\"");
  ExpectError({{"subnet", "192.168.1.0/24"}}, "\"subnet\"");
  ExpectError({{"subnet", "10.1.2.0/16"}}, "\"subnet\"");
  ExpectError({{"name", "a/b"}}, "\"name\"");
  ExpectError({{"time-limt", 5}}, "unknown key \"time-limt\"");
  ExpectError({{"dynastore", {{"q", 1}}}}, "unknown key \"dynastore.q\"");
  ExpectError({{"dynastore", {{"r", "2"}}}}, "\"dynastore.r\" must be an integer");
  for (const char* size : {"m", "256mb", "256x", "-1", "1.5g", "256 m", "g256"}) {
    ExpectError({{"containers", true}, {"node-memory", size}}, "\"node-memory\" must be a size like 256m or 1g");
  }
}

TEST(TestConfig, NodeMemoryIsDigitsAndOneUnit) {
  for (const char* size : {"256m", "1g", "1048576", "512K", "4096b"}) {
    EXPECT_EQ(Resolve({{"containers", true}, {"node-memory", size}}).node_memory, size);
  }
}

TEST(TestConfig, TooFewNodesForN) {
  ExpectError({{"local", 2}}, "\"dynastore.n\" is 3 but the cluster has only 2 nodes");
  ExpectError({{"dynastore", {{"n", 3}, {"r", 4}}}}, "\"dynastore.r\"");
  ExpectError({{"dynastore", {{"w", 0}}}}, "\"dynastore.w\"");
  EXPECT_NO_THROW(Resolve({{"local", 1}, {"dynastore", {{"n", 1}, {"r", 1}, {"w", 1}}}}));
}

TEST(TestConfig, ContradictionsAreRefused) {
  ExpectError({{"local", 3}, {"nodes", {"a", "b", "c"}}}, "\"local\" and \"nodes\"");
  ExpectError({{"nodes", {"a", "b", "c"}}, {"ssh", {{"nodes", {{"d", {{"port", 2222}}}}}}}}, "\"ssh.nodes\" has \"d\"");
}

TEST(TestConfig, UnderscoresAreAcceptedForDashes) {
  const TestConfig c = Resolve({{"time_limit", 12}, {"op_timeout_ms", 300}});
  EXPECT_EQ(c.time_limit, 12);
  EXPECT_EQ(c.op_timeout_ms, 300);
}

TEST(TestConfig, FlagsOverrideTheFile) {
  const json file = {{"time-limit", 30}, {"rate", 50}, {"dynastore", {{"n", 3}, {"w", 3}}}};
  const json flags = {{"rate", 200}, {"dynastore", {{"w", 1}}}};
  const TestConfig c = Resolve(MergeConfig(file, flags));
  EXPECT_EQ(c.time_limit, 30);
  EXPECT_EQ(c.rate, 200);
  EXPECT_EQ(c.dynastore.n, 3);
  EXPECT_EQ(c.dynastore.w, 1);
}

TEST(TestConfig, TestJsonRepeatsTheRunExactly) {
  TestConfig c = Resolve({{"local", 3}, {"concurrency", "2n"}, {"seed", 7}, {"dynastore", {{"args", {"--lww"}}}}});
  const json written = ToJson(c);
  const TestConfig again = ResolveConfig(written, 999);  // the seed in the file wins
  EXPECT_EQ(ToJson(again), written);
  EXPECT_EQ(again.seed, 7u);
  EXPECT_EQ(again.dynastore.args, std::vector<std::string>{"--lww"});
}

TEST(TestConfig, ConfigFileErrorsNameTheFile) {
  const std::string path = ::testing::TempDir() + "/faultline_bad_config.json";
  std::ofstream(path) << "{\"rate\": 10,";
  try {
    LoadConfigFile(path);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_THROW(LoadConfigFile("/nonexistent/test.json"), ConfigError);
  std::ofstream(path) << "[1,2]";
  EXPECT_THROW(LoadConfigFile(path), ConfigError);
  std::remove(path.c_str());
}

// Issue 14: a config nested 200,000 deep crashed `faultline run` (stack overflow).
TEST(TestConfig, DeepNestingIsAnErrorNotACrash) {
  const int depth = 200000;
  const std::string nested = std::string(depth, '[') + std::string(depth, ']');
  const std::string path = ::testing::TempDir() + "/faultline_deep_config.json";
  std::ofstream(path) << "{\"nodes\": " << nested << "}";
  try {
    ResolveConfig(MergeConfig(LoadConfigFile(path), json::object()), 1);
    FAIL() << "accepted a config nested 200000 deep";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("more than 32 deep"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
  // The same from anywhere else a config comes from (flags, suite plans): built, not parsed.
  json deep = json::object();
  json* at = &deep;
  for (int i = 0; i < depth; ++i) at = &((*at)["dynastore"] = json::object());
  ExpectError(deep, "more than 32 deep");
  json deep_grudge = {{"grudge", json::array()}};  // built in place: copying it would recurse
  at = &deep_grudge["grudge"];
  for (int i = 0; i < depth; ++i) at = &at->emplace_back(json::array());
  ExpectError(deep_grudge, "more than 32 deep");
}

TEST(TestConfig, NodesFileIsCapped) {
  const std::string path = ::testing::TempDir() + "/faultline_big_nodes_file";
  {
    std::ofstream out(path);
    for (int i = 0; i < 100000; ++i) out << "host-" << i << ".example.com\n";  // 2.3 MB
  }
  ExpectError({{"nodes-file", path}}, "is larger than 1048576 bytes");
  std::remove(path.c_str());
}

TEST(TestConfig, HugeIntegersAreOutOfRangeNotNegative) {
  // 2^64 - 1 read as a signed 64-bit integer is -1: "got -1" named a value nobody gave.
  ExpectError({{"keys", 18446744073709551615ull}}, "\"keys\" is out of range: 18446744073709551615");
  ExpectError({{"keys", 4294967296ull}}, "\"keys\" is out of range: 4294967296");
  ExpectError({{"keys", -4294967296ll}}, "\"keys\" is out of range: -4294967296");
  EXPECT_EQ(Resolve({{"keys", 7u}}).keys, 7);
}

}  // namespace
}  // namespace faultline
