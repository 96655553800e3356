// End-to-end: faultline run --db redis-cluster on 6 local nodes (3 masters,
// 1 replica each) under partitions completes, heals and gives a verdict
// (valid or invalid: Redis may lose acknowledged writes under partitions,
// and then the checker must say so; exit 2 would mean the rig failed).
#include <gtest/gtest.h>

#include "testing/run_fixture.h"

namespace faultline::test {
namespace {

using RedisRunTest = FaultlineRun;

TEST_F(RedisRunTest, PartitionedClusterRunsToAVerdict) {
  const int code = RunFaultline({"run", "--db", "redis-cluster", "--local", "6", "--nemesis", "partition",
                                 "--nemesis-interval", "3", "--time-limit", "12", "--store-dir", store_.string(),
                                 "--seed", "3", "--quiesce", "2", "--convergence-timeout", "10"});
  EXPECT_TRUE(code == 0 || code == 1) << "exit " << code << ":\n" << Output();
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  EXPECT_NE(results["valid"], "unknown") << results.dump(2);
  const std::string log = ReadFile(run / "faultline.log");
  EXPECT_NE(log.find("redis-cluster is up on 6 nodes"), std::string::npos) << log;
  EXPECT_NE(log.find("every fault healed"), std::string::npos) << log;
  std::ifstream in(run / "history.jsonl");
  size_t partitions = 0, ok = 0, final_reads = 0;
  for (std::string line; std::getline(in, line);) {
    const json op = json::parse(line);
    partitions += op.value("f", "") == "start-partition" ? 1 : 0;
    ok += op.value("type", "") == "ok" && op.value("f", "") == "add" ? 1 : 0;
    final_reads += op.value("type", "") == "ok" && op.value("f", "") == "read" ? 1 : 0;
  }
  EXPECT_GE(partitions, 1u);
  EXPECT_GT(ok, 100u);
  EXPECT_EQ(final_reads, 6u * 5u);  // every key from every node
  EXPECT_TRUE(fs::exists(run / "nodes" / "n1" / "redis.log"));
  EXPECT_TRUE(fs::exists(run / "nodes" / "n1" / "nodes.conf"));
  ExpectNothingLeft(ClusterId(run));
}

}  // namespace
}  // namespace faultline::test
