#include "convergence_checker.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace faultline {
namespace {

using testing::HistoryBuilder;
constexpr OpType kOk = OpType::kOk, kFail = OpType::kFail, kInfo = OpType::kInfo, kInvoke = OpType::kInvoke;

CheckResult Check(const HistoryBuilder& b) { return ConvergenceChecker().Check(b.history()); }

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
  CheckResult r = Check(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.details["rounds"], 1);
  EXPECT_EQ(r.details["key_count"], 2);
  EXPECT_EQ(r.details["divergent_count"], 0);
  EXPECT_DOUBLE_EQ(r.details["converged_after_s"].get<double>(), 4000 / 1e9);
}

TEST(ConvergenceCheckerTest, UnsortedButEqualSiblingsAgree) {
  HistoryBuilder b;
  ReplicaRead(b, "k1", 0, {{"n1", {2, 1}}, {"n2", {1, 2}}});
  EXPECT_EQ(Check(b).valid, Validity::kTrue);
}

TEST(ConvergenceCheckerTest, DivergentLastRoundIsInvalidWithTheReplicas) {
  HistoryBuilder b;
  ReplicaRead(b, "k1", 0, {{"n1", {1}}, {"n2", {2}}});
  ReplicaRead(b, "k2", 0, {{"n1", {3}}, {"n2", {3}}});
  ReplicaRead(b, "k1", 1, {{"n1", {1}}, {"n2", {1, 2}}, {"n3", {1}}});
  CheckResult r = Check(b);
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
  CheckResult r = Check(b);
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
  CheckResult r = Check(b);
  EXPECT_EQ(r.details["final_heal_time"], 1000);
  EXPECT_DOUBLE_EQ(r.details["converged_after_s"].get<double>(), 1000 / 1e9);
}

TEST(ConvergenceCheckerTest, NoReplicaReadsIsUnknown) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 1, kOk);
  CheckResult r = Check(b);
  EXPECT_EQ(r.valid, Validity::kUnknown);
  EXPECT_EQ(r.summary, "the store adapter has no replica reads");
  EXPECT_EQ(r.details["rounds"], 0);
}

TEST(ConvergenceCheckerTest, FailedLastRoundIsUnknown) {
  HistoryBuilder b;
  ReplicaRead(b, "k1", 0, {{"n1", {1}}, {"n2", {1}}});
  b.Add(kInvoke, 200, "replica-read", "k2", {{"round", 0}});
  b.Add(kFail, 200, "replica-read", "k2", {{"round", 0}}, "", "n3 unreachable");
  CheckResult r = Check(b);
  EXPECT_EQ(r.valid, Validity::kUnknown);
  ASSERT_EQ(r.details["unreadable_count"], 1);
  EXPECT_EQ(r.details["unreadable"][0]["key"], "k2");
  EXPECT_EQ(r.details["unreadable"][0]["error"], "n3 unreachable");
}

}  // namespace
}  // namespace faultline
