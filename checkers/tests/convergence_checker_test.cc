#include "checkers/convergence_checker.h"

#include <gtest/gtest.h>

#include "testing/history_builder.h"

namespace faultline {
namespace {

using test::HistoryBuilder;
using test::kOk, test::kFail, test::kInfo, test::kInvoke;

CheckResult CheckConvergence(const HistoryBuilder& b) { return ConvergenceChecker().Check(b.history()); }

void ReplicaRead(HistoryBuilder& b, const std::string& key, int64_t round, nlohmann::json replicas) {
  b.Add(kInvoke, 200, "replica-read", key, {{"round", round}});
  b.Add(kOk, 200, "replica-read", key, {{"round", round}, {"replicas", std::move(replicas)}});
}

TEST(ConvergenceCheckerTest, Name) { EXPECT_EQ(ConvergenceChecker().name(), "convergence"); }

TEST(ConvergenceCheckerTest, AgreeingLastRoundIsValid) {
  HistoryBuilder b;
  b.Add(kInfo, kNemesisProcess, "heal-partition", "", nullptr);               // op 0, time 0
  ReplicaRead(b, "k1", 0, {{"n1", {1, 2}}, {"n2", {1, 2}}, {"n3", {1, 2}}});  // ends at 2000
  ReplicaRead(b, "k2", 0, {{"n1", {5}}, {"n2", {5}}, {"n3", {5}}});           // ends at 4000
  CheckResult r = CheckConvergence(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.details["rounds"], 1);
  EXPECT_EQ(r.details["key_count"], 2);
  EXPECT_EQ(r.details["divergent_count"], 0);
  EXPECT_DOUBLE_EQ(r.details["converged_after_s"].get<double>(), 4000 / 1e9);
}

TEST(ConvergenceCheckerTest, UnsortedButEqualSiblingsAgree) {
  HistoryBuilder b;
  ReplicaRead(b, "k1", 0, {{"n1", {2, 1}}, {"n2", {1, 2}}});
  EXPECT_EQ(CheckConvergence(b).valid, Validity::kTrue);
}

TEST(ConvergenceCheckerTest, DivergentLastRoundIsInvalidWithTheReplicas) {
  HistoryBuilder b;
  ReplicaRead(b, "k1", 0, {{"n1", {1}}, {"n2", {2}}});
  ReplicaRead(b, "k2", 0, {{"n1", {3}}, {"n2", {3}}});
  ReplicaRead(b, "k1", 1, {{"n1", {1}}, {"n2", {1, 2}}, {"n3", {1}}});
  CheckResult r = CheckConvergence(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  ASSERT_EQ(r.details["divergent_count"], 1);
  const auto& d = r.details["divergent"][0];
  EXPECT_EQ(d["key"], "k1");
  EXPECT_EQ(d["round"], 1);
  EXPECT_EQ(d["replicas"], nlohmann::json({{"n1", {1}}, {"n2", {1, 2}}, {"n3", {1}}}));
  EXPECT_TRUE(r.details["converged_after_s"].is_null());
  EXPECT_EQ(r.details["rounds"], 2);
  EXPECT_EQ(r.summary, "1 of 2 keys still diverge across replicas after 2 rounds (k1)");
}

TEST(ConvergenceCheckerTest, EarlyDivergenceThenAgreementIsValidAndTimed) {
  HistoryBuilder b;
  b.Add(kInfo, kNemesisProcess, "start-partition", "", nullptr);  // 0
  b.Add(kInfo, kNemesisProcess, "heal-partition", "", nullptr);   // 1: final heal at 1000
  ReplicaRead(b, "k1", 0, {{"n1", {1}}, {"n2", {2}}});            // 2, 3
  ReplicaRead(b, "k2", 0, {{"n1", {3}}, {"n2", {3}}});            // 4, 5
  ReplicaRead(b, "k1", 1, {{"n1", {1, 2}}, {"n2", {1, 2}}});      // 6, 7: round 1 ends at 7000
  CheckResult r = CheckConvergence(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.details["final_heal_time"], 1000);
  EXPECT_DOUBLE_EQ(r.details["converged_after_s"].get<double>(), 6000 / 1e9);
  EXPECT_GT(r.details["converged_after_s"].get<double>(), 0);
  EXPECT_EQ(r.details["rounds"], 2);
}

TEST(ConvergenceCheckerTest, WithoutHealTheFirstReplicaReadStartsTheClock) {
  HistoryBuilder b;
  b.Add(kOk, 0, "add", "k1", 1);                        // 0
  ReplicaRead(b, "k1", 0, {{"n1", {1}}, {"n2", {1}}});  // 1 (invoke at 1000), 2
  CheckResult r = CheckConvergence(b);
  EXPECT_EQ(r.details["final_heal_time"], 1000);
  EXPECT_DOUBLE_EQ(r.details["converged_after_s"].get<double>(), 1000 / 1e9);
}

TEST(ConvergenceCheckerTest, NoReplicaReadsIsUnknown) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 1, kOk);
  CheckResult r = CheckConvergence(b);
  EXPECT_EQ(r.valid, Validity::kUnknown);
  EXPECT_EQ(r.summary, "the store adapter has no replica reads");
  EXPECT_EQ(r.details["rounds"], 0);
}

TEST(ConvergenceCheckerTest, FailedLastRoundIsUnknown) {
  HistoryBuilder b;
  ReplicaRead(b, "k1", 0, {{"n1", {1}}, {"n2", {1}}});
  b.Add(kInvoke, 200, "replica-read", "k2", {{"round", 0}});
  b.Add(kFail, 200, "replica-read", "k2", {{"round", 0}}, "", "n3 unreachable");
  CheckResult r = CheckConvergence(b);
  EXPECT_EQ(r.valid, Validity::kUnknown);
  ASSERT_EQ(r.details["unreadable_count"], 1);
  EXPECT_EQ(r.details["unreadable"][0]["key"], "k2");
  EXPECT_EQ(r.details["unreadable"][0]["error"], "n3 unreachable");
}

TEST(ConvergenceCheckerTest, AbsentInputNamesMissingReplicaReads) {
  ConvergenceChecker without;
  HistoryBuilder no_rounds;  // named: a range-for over a temporary's history() would dangle
  no_rounds.AddOp(0, "k1", 1, kOk);
  for (const Op& op : no_rounds.history()) without.Add(op);
  EXPECT_EQ(without.AbsentInput(), "no replica-read rounds in the history");
  HistoryBuilder b;
  b.Add(kInvoke, 200, "replica-read", "k1", {{"round", 0}});
  b.Add(kFail, 200, "replica-read", "k1", {{"round", 0}}, "", "n3 unreachable");  // a failed round is still input
  ConvergenceChecker with;
  for (const Op& op : b.history()) with.Add(op);
  EXPECT_EQ(with.AbsentInput(), "");
}

// Rounds from the heal on: the replicas converged after the last round that
// differed ended and by the end of the first that agreed; the summary gives
// that interval, not one number.
TEST(ConvergenceCheckerTest, TimeToConvergeIsTheIntervalBetweenTheRounds) {
  HistoryBuilder b;
  b.Add(kInfo, kNemesisProcess, "heal-partition", "", nullptr);  // 0: final heal at 0
  ReplicaRead(b, "k1", 0, {{"n1", {1}}, {"n2", {2}}});           // 1, 2: round 0 ends at 2000
  ReplicaRead(b, "k1", 1, {{"n1", {1, 2}}, {"n2", {1, 2}}});     // 3, 4: round 1 ends at 4000
  ReplicaRead(b, "k1", 2, {{"n1", {1, 2}}, {"n2", {1, 2}}});     // 5, 6
  CheckResult r = CheckConvergence(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_DOUBLE_EQ(r.details["differed_until_s"].get<double>(), 2000 / 1e9);
  EXPECT_DOUBLE_EQ(r.details["converged_after_s"].get<double>(), 4000 / 1e9);
  EXPECT_DOUBLE_EQ(r.details["first_read_after_s"].get<double>(), 1000 / 1e9);
  EXPECT_EQ(r.details["measured_from"], "the final heal");
  EXPECT_EQ(r.summary,
            "all 1 keys agree on every replica, converged between 0.000 s (end of the last round that differed) and "
            "0.000 s (end of the first that agreed) after the final heal (3 rounds)");
}

// Agreeing at the very first round says only "within": when they converged
// before that reading is unknown (it used to read as a measured time).
TEST(ConvergenceCheckerTest, AgreementAtTheFirstRoundSaysWithin) {
  HistoryBuilder b;
  b.Add(kInfo, kNemesisProcess, "heal-kill", "", nullptr);  // 0
  ReplicaRead(b, "k1", 0, {{"n1", {1}}, {"n2", {1}}});      // 1, 2
  CheckResult r = CheckConvergence(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_TRUE(r.details["differed_until_s"].is_null());
  EXPECT_DOUBLE_EQ(r.details["converged_after_s"].get<double>(), 2000 / 1e9);
  EXPECT_NE(r.summary.find("within 0.000 s of the final heal (already at the first replica-read round; 1 round)"),
            std::string::npos)
      << r.summary;
  EXPECT_EQ(r.summary.find("converged 0"), std::string::npos) << r.summary;
}

TEST(ConvergenceCheckerTest, WithoutHealTheSummaryNamesTheFirstReplicaRead) {
  HistoryBuilder b;
  ReplicaRead(b, "k1", 0, {{"n1", {1}}, {"n2", {1}}});
  CheckResult r = CheckConvergence(b);
  EXPECT_EQ(r.details["measured_from"], "the first replica read");
  EXPECT_NE(r.summary.find("of the first replica read"), std::string::npos) << r.summary;
  EXPECT_EQ(r.summary.find("heal"), std::string::npos) << r.summary;
}

}  // namespace
}  // namespace faultline
