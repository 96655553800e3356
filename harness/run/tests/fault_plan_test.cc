// The fault plan (issue 20): warnings before a run that cannot inject what it asks for, and the words after a
// run whose history shows a requested kind never injected.
#include "harness/run/fault_plan.h"

#include <gtest/gtest.h>

namespace faultline {
namespace {

TestConfig Config(std::vector<std::string> faults, double time_limit, double interval = 10, double final_s = 0) {
  TestConfig c;
  c.time_limit = time_limit;
  c.nemesis.faults = std::move(faults);
  c.nemesis.interval_s = interval;
  c.nemesis.final_s = final_s;
  return c;
}

TEST(FaultPlan, IntervalNotBelowTheTimeLimitWarnsWithTheNumbersAndTheFix) {
  const std::vector<std::string> w = FaultPlanWarnings(Config({"partition"}, 8));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("no fault can start"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("interval 10 s ≥ time limit 8 s"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("--nemesis-interval below 8 (e.g. 4)"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("--nemesis-final"), std::string::npos) << w[0];
}

TEST(FaultPlan, FewerWindowsThanKindsWarns) {
  const std::vector<std::string> w = FaultPlanWarnings(Config({"partition", "kill", "pause"}, 30));  // at 10 only
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("only 1 fault window in time-limit 30 s"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("2 kinds will never be injected"), std::string::npos) << w[0];
}

TEST(FaultPlan, AFaultThatCannotActOnTheStoreOrNodesWarns) {
  TestConfig c = Config({"clock", "partition"}, 60, 2);
  c.db = "redis-cluster";
  c.local = 1;
  const std::vector<std::string> w = FaultPlanWarnings(c);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NE(w[0].find("nemesis clock: cannot apply: the redis-cluster adapter does not run the store under "
                      "libfaketime"),
            std::string::npos)
      << w[0];
  EXPECT_NE(w[1].find("nemesis partition: cannot apply: it needs at least 2 nodes, the cluster has 1"),
            std::string::npos)
      << w[1];
}

TEST(FaultPlan, EtcdWarnsThatTheClockCannotReachAGoProgram) {
  TestConfig c = Config({"partition", "clock"}, 60, 2);
  c.db = "etcd";
  const std::vector<std::string> w = FaultPlanWarnings(c);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("nemesis clock: cannot apply: etcd is a Go program"), std::string::npos) << w[0];
  FaultCoverage clock;
  clock.injected = {{"partition", 3}, {"clock", 3}};
  ExplainFaultCoverage(c, &clock);
  EXPECT_NE(clock.warning.find("no clock was injected (etcd is a Go program"), std::string::npos) << clock.warning;
}

TEST(FaultPlan, APlanThatFitsAndNoNemesisWarnNothing) {
  EXPECT_TRUE(FaultPlanWarnings(Config({}, 8)).empty());
  EXPECT_TRUE(FaultPlanWarnings(Config({"partition", "kill"}, 8, 1)).empty());
  EXPECT_TRUE(FaultPlanWarnings(Config({"partition"}, 10, 100, 5)).empty());  // the final fault
}

TEST(FaultPlan, CoverageSaysWhichKindWasNeverInjectedAndWhy) {
  FaultCoverage none;
  ExplainFaultCoverage(Config({"partition"}, 8), &none);
  EXPECT_EQ(none.requested, std::vector<std::string>{"partition"});
  EXPECT_EQ(none.warning, "no partition was injected (interval 10 s ≥ time limit 8 s)");
  EXPECT_EQ(VerdictWords(Validity::kTrue, none.warning),
            "valid — but no partition was injected (interval 10 s ≥ time limit 8 s)");
  EXPECT_EQ(none.ToJson()["injected"]["partition"], 0);

  FaultCoverage failed;
  failed.injected = {{"partition", 3}};
  failed.failed = {{"kill", 2}};
  ExplainFaultCoverage(Config({"partition", "kill"}, 60, 2), &failed);
  EXPECT_EQ(failed.warning, "no kill was injected (all 2 injections failed)");

  FaultCoverage few;  // windows at 10 and 30 s for three kinds
  few.injected = {{"partition", 1}, {"kill", 1}};
  ExplainFaultCoverage(Config({"partition", "kill", "pause"}, 40), &few);
  EXPECT_EQ(few.warning, "no pause was injected (2 fault windows in time limit 40 s at interval 10 s for 3 kinds)");

  FaultCoverage unpicked;
  unpicked.injected = {{"partition", 3}};
  ExplainFaultCoverage(Config({"partition", "loss"}, 60, 2), &unpicked);
  EXPECT_EQ(unpicked.warning.rfind("no loss was injected (the seeded schedule never picked it", 0), 0)
      << unpicked.warning;

  FaultCoverage clock;  // "started", but nothing reads the offset file on Redis
  clock.injected = {{"clock", 4}};
  TestConfig redis = Config({"clock"}, 60, 2);
  redis.db = "redis-cluster";
  ExplainFaultCoverage(redis, &clock);
  EXPECT_EQ(clock.warning,
            "no clock was injected (the redis-cluster adapter does not run the store under libfaketime, so skewing "
            "its clock changes nothing)");

  FaultCoverage stopped;
  ExplainFaultCoverage(Config({"kill"}, 60, 2), &stopped, /*stopped_early=*/true);
  EXPECT_EQ(stopped.warning, "no kill was injected (the run stopped before its main phase ended)");

  FaultCoverage all;
  all.injected = {{"partition", 1}, {"kill", 2}};
  ExplainFaultCoverage(Config({"partition", "kill"}, 60, 2), &all);
  EXPECT_EQ(all.warning, "");
  EXPECT_EQ(VerdictWords(Validity::kTrue, all.warning), "valid");
}

}  // namespace
}  // namespace faultline
