// The harness proves itself (issue 6): short fault-injection runs against
// dynastore with each fault switch must end with the verdict that switch
// deserves, and the correct configuration under every fault must be valid.
// Seeds are fixed; every case is a real `faultline run` on namespace nodes.
#include "run_fixture.h"

namespace faultline {
namespace test {
namespace {

class Validation : public FaultlineRun {
 protected:
  // Runs faultline on 5 nodes with `args`; returns results.json.
  json RunCase(std::vector<std::string> args, int expected_exit) {
    std::vector<std::string> all{"run", "--local", "5", "--store-dir", store_.string(), "--quiesce", "3",
                                 "--seed", "20261127"};
    all.insert(all.end(), args.begin(), args.end());
    const int code = RunFaultline(all);
    const fs::path run = LatestRun();
    const std::string results = ReadFile(run / "results.json");
    EXPECT_EQ(code, expected_exit) << Output() << results;
    ExpectNothingLeft(ClusterId(run));
    return json::parse(results);
  }
};

TEST_F(Validation, LastWriteWinsLosesConcurrentRegisterWrites) {
  const json r = RunCase({"--workload", "register", "--keys", "2", "--concurrency", "10", "--rate", "200",
                          "--time-limit", "8", "--dynastore-arg=--lww"},
                         1);
  EXPECT_EQ(r["checkers"]["lost-update"]["valid"], false) << r.dump(2);
  EXPECT_GT(r["checkers"]["lost-update"]["lost_count"].get<int>(), 0);
}

TEST_F(Validation, NaiveVectorClocksLoseConcurrentRegisterWrites) {
  const json r = RunCase({"--workload", "register", "--keys", "2", "--concurrency", "10", "--rate", "200",
                          "--time-limit", "8", "--dynastore-arg=--naive-vclocks"},
                         1);
  EXPECT_EQ(r["checkers"]["lost-update"]["valid"], false) << r.dump(2);
  EXPECT_GT(r["checkers"]["lost-update"]["lost_count"].get<int>(), 0);
}

TEST_F(Validation, NoRepairMechanismsDivergeUnderPartitions) {
  const json r = RunCase({"--workload", "set", "--rate", "150", "--time-limit", "12", "--nemesis", "partition",
                          "--nemesis-interval", "2", "--nemesis-partitions", "halves,one,majorities-ring",
                          "--convergence-timeout", "4", "--dynastore-arg=--no-anti-entropy",
                          "--dynastore-arg=--no-read-repair", "--dynastore-arg=--no-hinted-handoff"},
                         1);
  EXPECT_EQ(r["checkers"]["convergence"]["valid"], false) << r.dump(2);
  EXPECT_GT(r["checkers"]["convergence"]["divergent_count"].get<int>(), 0);
}

TEST_F(Validation, AckingBeforeTheWriteLosesSetElementsUnderKills) {
  const json r = RunCase({"--workload", "set", "--rate", "150", "--time-limit", "12", "--nemesis", "kill",
                          "--nemesis-interval", "1", "--nemesis-targets", "minority,majority",
                          "--dynastore-arg=--unsafe-ack-early"},
                         1);
  EXPECT_EQ(r["checkers"]["set"]["valid"], false) << r.dump(2);
  EXPECT_GT(r["checkers"]["set"]["lost_count"].get<int>(), 0);
}

TEST_F(Validation, CorrectStoreUnderEveryFaultIsValid) {
  const json r = RunCase({"--workload", "register", "--rate", "100", "--time-limit", "16", "--nemesis", "all",
                          "--nemesis-interval", "1.5"},
                         0);
  EXPECT_EQ(r["valid"], true) << r.dump(2);
  EXPECT_EQ(r["checkers"]["lost-update"]["lost_count"], 0);
  EXPECT_EQ(r["checkers"]["convergence"]["valid"], true);
}

}  // namespace
}  // namespace test
}  // namespace faultline
