// The harness proves itself (issue 6): short fault-injection runs against
// dynastore with each fault switch must end with the verdict that switch
// deserves, and the correct configuration under every fault must be valid.
// Every case is a real `faultline run` on namespace nodes, and each makes its
// bug show by construction, for any seed (issue 14): a partition still in
// effect when the main phase ends (--nemesis-final) so both sides write to
// every key, kills of the nodes that coordinate writes, or ten workers on one
// key. examples/suites/detection.json runs each case for 10 seeds; the README
// has the detection rates.
#include "testing/run_fixture.h"

namespace faultline {
namespace test {
namespace {

class Validation : public FaultlineRun {
 protected:
  // Runs faultline on 5 nodes with `args`; returns results.json.
  json RunCase(std::vector<std::string> args, int expected_exit) {
    std::vector<std::string> all{"run",       "--local", "5",      "--store-dir", store_.string(),
                                 "--quiesce", "3",       "--seed", "20261127"};
    all.insert(all.end(), args.begin(), args.end());
    const int code = RunFaultline(all);
    const fs::path run = LatestRun();
    const std::string results = ReadFile(run / "results.json");
    EXPECT_EQ(code, expected_exit) << Output() << results;
    ExpectNothingLeft(ClusterId(run));
    return json::parse(results);
  }
};

// Both sides of a partition write both keys until the main phase ends; after
// the heal last-write-wins keeps one side's value and drops the other's.
TEST_F(Validation, LastWriteWinsLosesConcurrentRegisterWrites) {
  const json r = RunCase({"--workload", "register", "--keys", "2", "--concurrency", "10", "--rate", "200",
                          "--time-limit", "10", "--nemesis", "partition", "--nemesis-partitions", "halves",
                          "--nemesis-interval", "100", "--nemesis-final", "6", "--dynastore-arg=--lww"},
                         1);
  EXPECT_EQ(r["checkers"]["lost-update"]["valid"], false) << r.dump(2);
  EXPECT_GT(r["checkers"]["lost-update"]["lost_count"].get<int>(), 0);
}

// Ten workers on one key: read-modify-writes overlap all the time, and every
// write goes through the key's one coordinator, whose naive clock lets a
// stale-context write supersede the overlapping ones.
TEST_F(Validation, NaiveVectorClocksLoseConcurrentRegisterWrites) {
  const json r = RunCase({"--workload", "register", "--keys", "1", "--concurrency", "10", "--rate", "300",
                          "--time-limit", "8", "--convergence-timeout", "4", "--dynastore-arg=--naive-vclocks"},
                         1);
  EXPECT_EQ(r["checkers"]["lost-update"]["valid"], false) << r.dump(2);
  EXPECT_GT(r["checkers"]["lost-update"]["lost_count"].get<int>(), 0);
}

// A partition in effect when the main phase ends: each side's adds reach only
// its own replicas (20 keys: some replica of every key sits on each side), and
// with every repair mechanism off nothing copies them over after the heal.
TEST_F(Validation, NoRepairMechanismsDivergeUnderPartitions) {
  const json r = RunCase({"--workload",
                          "set",
                          "--keys",
                          "20",
                          "--rate",
                          "150",
                          "--time-limit",
                          "10",
                          "--nemesis",
                          "partition",
                          "--nemesis-partitions",
                          "halves",
                          "--nemesis-interval",
                          "100",
                          "--nemesis-final",
                          "5",
                          "--convergence-timeout",
                          "4",
                          "--dynastore-arg=--no-anti-entropy",
                          "--dynastore-arg=--no-read-repair",
                          "--dynastore-arg=--no-hinted-handoff"},
                         1);
  EXPECT_EQ(r["checkers"]["convergence"]["valid"], false) << r.dump(2);
  EXPECT_GT(r["checkers"]["convergence"]["divergent_count"].get<int>(), 0);
}

// Each kill takes down at least two of five nodes, which coordinate writes of
// some of the 20 keys; the adds they acknowledged in the 500 ms before the
// kill were never written anywhere.
TEST_F(Validation, AckingBeforeTheWriteLosesSetElementsUnderKills) {
  const json r = RunCase(
      {"--workload", "set", "--keys", "20", "--rate", "150", "--time-limit", "12", "--nemesis", "kill",
       "--nemesis-interval", "1", "--nemesis-targets", "minority,majority", "--dynastore-arg=--unsafe-ack-early"},
      1);
  EXPECT_EQ(r["checkers"]["set"]["valid"], false) << r.dump(2);
  EXPECT_GT(r["checkers"]["set"]["lost_count"].get<int>(), 0);
}

// The correct store stays valid under every fault, including one still in
// effect when the main phase ends.
TEST_F(Validation, CorrectStoreUnderEveryFaultIsValid) {
  const json r = RunCase({"--workload", "register", "--rate", "100", "--time-limit", "16", "--nemesis", "all",
                          "--nemesis-interval", "1.5", "--nemesis-final", "3"},
                         0);
  EXPECT_EQ(r["valid"], true) << r.dump(2);
  EXPECT_EQ(r["checkers"]["lost-update"]["lost_count"], 0);
  EXPECT_EQ(r["checkers"]["convergence"]["valid"], true);
}

}  // namespace
}  // namespace test
}  // namespace faultline
