#include "checkers/set_checker.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "testing/history_builder.h"

namespace faultline {
namespace {

using test::HistoryBuilder;
using test::kOk, test::kFail, test::kInfo, test::kInvoke;

CheckResult CheckSet(const HistoryBuilder& b) { return SetChecker().Check(b.history()); }

TEST(SetCheckerTest, Name) { EXPECT_EQ(SetChecker().name(), "set"); }

TEST(SetCheckerTest, CleanHistoryIsValid) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 0, kOk).AddOp(1, "k1", 1, kOk).AddOp(0, "k2", 2, kOk).AddOp(1, "k2", 3, kFail);
  b.Add(kInfo, kNemesisProcess, "start-partition", "", {{"n1", {"n2"}}});
  for (const char* node : {"n1", "n2"}) b.Read(10, "k1", node, {0, 1}).Read(10, "k2", node, {2});
  CheckResult r = CheckSet(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.summary, "all 3 acknowledged adds present in the final reads of every node");
  EXPECT_EQ(r.details["attempt_count"], 4);
  EXPECT_EQ(r.details["ok_count"], 3);
  EXPECT_EQ(r.details["fail_count"], 1);
  EXPECT_EQ(r.details["info_count"], 0);
  EXPECT_EQ(r.details["lost_count"], 0);
  EXPECT_EQ(r.details["final_read_count"], 4);
  EXPECT_EQ(r.details["per_key"]["k1"]["attempts"], 2);
  EXPECT_EQ(r.details["per_key"]["k2"]["ok"], 1);
}

TEST(SetCheckerTest, LostElementIsInvalid) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 0, kOk).AddOp(0, "k2", 1, kOk).AddOp(1, "k2", 2, kOk);
  for (const char* node : {"n1", "n2", "n3"}) b.Read(10, "k1", node, {0});
  b.Read(10, "k2", "n1", {1}).Read(10, "k2", "n2", {1, 2}).Read(10, "k2", "n3", {1});
  CheckResult r = CheckSet(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  ASSERT_EQ(r.details["lost_count"], 1);
  const auto& lost = r.details["lost"][0];
  EXPECT_EQ(lost["key"], "k2");
  EXPECT_EQ(lost["element"], 2);
  EXPECT_EQ(lost["index"], 5);  // the ok completion of the third add
  EXPECT_EQ(lost["time"], 5000);
  EXPECT_EQ(lost["missing_on"], nlohmann::json({"n1", "n3"}));
  EXPECT_EQ(r.summary, "1 acknowledged add lost on key k2 (missing on n1, n3)");
  EXPECT_EQ(r.details["per_key"]["k2"]["lost"], 1);
  EXPECT_EQ(r.details["per_key"]["k1"]["lost"], 0);
}

TEST(SetCheckerTest, DivergentFinalReadsReportTheMissingNode) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 7, kOk);
  b.Read(10, "k1", "n1", {7}).Read(11, "k1", "n2", nlohmann::json::array());
  CheckResult r = CheckSet(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  ASSERT_EQ(r.details["lost"].size(), 1u);
  EXPECT_EQ(r.details["lost"][0]["missing_on"], nlohmann::json({"n2"}));
}

TEST(SetCheckerTest, InfoAddPresentIsRecoveredAndValid) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 0, kOk).AddOp(1, "k1", 1, kInfo).AddOp(3, "k1", 2, kInfo);
  b.Add(kInvoke, 4, "add", "k1", 3);  // never completed (crashed run): indeterminate
  b.Read(10, "k1", "n1", {0, 1, 3}).Read(10, "k1", "n2", {0});
  CheckResult r = CheckSet(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.details["info_count"], 3);
  ASSERT_EQ(r.details["recovered_count"], 2);
  EXPECT_EQ(r.details["recovered"][0]["element"], 1);
  EXPECT_EQ(r.details["recovered"][0]["present_on"], nlohmann::json({"n1"}));
  EXPECT_EQ(r.details["recovered"][1]["element"], 3);
  EXPECT_NE(r.summary.find("2 of 3 indeterminate adds recovered"), std::string::npos) << r.summary;
}

TEST(SetCheckerTest, ElementNeverAddedIsUnexpected) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 0, kOk).AddOp(0, "k2", 1, kOk);
  // 1 was added, but to k2, so it is unexpected in k1.
  b.Read(10, "k1", "n1", {0, 1, 99}).Read(10, "k1", "n2", {0, 99}).Read(10, "k2", "n1", {1});
  CheckResult r = CheckSet(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  ASSERT_EQ(r.details["unexpected_count"], 2);
  EXPECT_EQ(r.details["unexpected"][0], nlohmann::json({{"key", "k1"}, {"element", 1}, {"nodes", {"n1"}}}));
  EXPECT_EQ(r.details["unexpected"][1], nlohmann::json({{"key", "k1"}, {"element", 99}, {"nodes", {"n1", "n2"}}}));
  EXPECT_EQ(r.details["lost_count"], 0);
  EXPECT_NE(r.summary.find("2 elements that no add invoked on key k1"), std::string::npos) << r.summary;
}

TEST(SetCheckerTest, FailedAddPresentIsInvalid) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 0, kOk).AddOp(0, "k1", 1, kFail);
  b.Read(10, "k1", "n1", {0, 1}).Read(10, "k1", "n2", {0});
  CheckResult r = CheckSet(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  ASSERT_EQ(r.details["failed_present_count"], 1);
  EXPECT_EQ(r.details["failed_present"][0]["element"], 1);
  EXPECT_EQ(r.details["failed_present"][0]["present_on"], nlohmann::json({"n1"}));
  EXPECT_EQ(r.details["per_key"]["k1"]["failed_present"], 1);
}

TEST(SetCheckerTest, NoFinalReadsIsUnknown) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 0, kOk).AddOp(0, "k1", 1, kOk);
  b.Read(10, "k1", "n1", nullptr, kInfo);  // the only read timed out
  CheckResult r = CheckSet(b);
  EXPECT_EQ(r.valid, Validity::kUnknown);
  EXPECT_EQ(r.details["final_read_count"], 0);
  EXPECT_NE(r.summary.find("no final read"), std::string::npos);
  EXPECT_EQ(SetChecker().Check({}).valid, Validity::kUnknown);
}

TEST(SetCheckerTest, KeyWithoutFinalReadIsUnknownUnlessAlreadyInvalid) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 0, kOk).AddOp(0, "k2", 1, kOk);
  b.Read(10, "k1", "n1", {0});
  CheckResult r = CheckSet(b);
  EXPECT_EQ(r.valid, Validity::kUnknown);
  EXPECT_EQ(r.details["keys_without_final_read"], nlohmann::json({"k2"}));
  EXPECT_NE(r.summary.find("k2"), std::string::npos);

  b.AddOp(1, "k1", 2, kOk);  // lost on k1 (the read came earlier in the file, it is still the final read)
  CheckResult invalid = CheckSet(b);
  EXPECT_EQ(invalid.valid, Validity::kFalse);
  EXPECT_EQ(invalid.details["keys_without_final_read"], nlohmann::json({"k2"}));
}

TEST(SetCheckerTest, ManyLostAcrossKeysAreAllListed) {
  HistoryBuilder b;
  for (int i = 0; i < 1000; ++i) b.AddOp(i % 7, i % 2 ? "k1" : "k2", i, kOk);
  b.Read(10, "k1", "n1", nlohmann::json::array()).Read(10, "k2", "n2", nlohmann::json::array());
  CheckResult r = CheckSet(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  EXPECT_EQ(r.details["lost_count"], 1000);
  EXPECT_EQ(r.details["lost"].size(), 1000u);  // complete, not truncated
  EXPECT_EQ(r.summary, "1000 acknowledged adds lost on keys k1, k2 (missing on n1, n2)");
}

TEST(SetCheckerTest, SameElementsOnManyKeysAreKeptApart) {
  // Every key adds the same elements 0..299 (elements are per key): a key's
  // element must never be confused with another key's.
  HistoryBuilder b;
  for (int k = 0; k < 100; ++k) {
    for (int e = 0; e < 300; ++e) b.AddOp(k % 5, fmt::format("k{:02}", k), e, e == 7 && k == 42 ? kFail : kOk);
  }
  for (int k = 0; k < 100; ++k) {
    std::vector<int> elements;
    for (int e = 0; e < 300; ++e) {
      if (e != 7 && !(k == 13 && e == 250)) elements.push_back(e);
    }
    b.Read(10, fmt::format("k{:02}", k), "n1", elements);
  }
  CheckResult r = CheckSet(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  EXPECT_EQ(r.details["ok_count"], 100 * 300 - 1);
  ASSERT_EQ(r.details["lost_count"], 100);  // element 7 on the 99 keys where it was ok, and k13's 250
  EXPECT_EQ(r.details["lost"][0]["key"], "k00");
  EXPECT_EQ(r.details["lost"][0]["element"], 7);
  EXPECT_EQ(r.details["per_key"]["k13"]["lost"], 2);
  EXPECT_EQ(r.details["per_key"]["k42"]["lost"], 0);
  EXPECT_EQ(r.details["unexpected_count"], 0);
}

// With missing lines (skipped as malformed, index holes) only anomalies that
// no content of those lines could explain make the verdict false.
CheckResult CheckWithMissingLines(const History& ops, int64_t missing) {
  SetChecker checker;
  for (const Op& op : ops) checker.Add(op);
  EXPECT_TRUE(checker.JudgeDespiteMissingLines(missing));
  return checker.Finish();
}

TEST(SetCheckerTest, MissingLinesKeepASelfContainedLossInvalid) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 1, kOk).AddOp(0, "k1", 2, kOk);  // ok lines carry their own key and element
  for (const char* node : {"n1", "n2"}) b.Read(10, "k1", node, {1});
  CheckResult r = CheckWithMissingLines(b.history(), 3);
  EXPECT_EQ(r.valid, Validity::kFalse) << r.summary;
  EXPECT_EQ(r.details["confirmed_lost_count"], 1);
  EXPECT_NE(r.summary.find("1 acknowledged add is lost whatever the 3 missing history lines held"), std::string::npos)
      << r.summary;
}

// The line between the invoke of 5 and the ok of 6 (a fail of 5, then the
// invoke of 6) is missing: the ok then matches the invoke of 5, and 5 looks
// lost. Without missing lines the same history says "lost" (as today).
TEST(SetCheckerTest, MissingLinesMakeALossFromAMismatchedCompletionUnknown) {
  HistoryBuilder b;
  b.Add(kInvoke, 0, "add", "k1", 5);
  b.Add(kOk, 0, "add", "k1", 6, "n1");  // its invoke (and the fail of 5) are the missing lines
  b.Read(10, "k1", "n1", {6});
  EXPECT_EQ(CheckSet(b).valid, Validity::kFalse);
  CheckResult r = CheckWithMissingLines(b.history(), 2);
  EXPECT_EQ(r.valid, Validity::kUnknown) << r.summary;
  EXPECT_EQ(r.details["confirmed_lost_count"], 0);
  EXPECT_EQ(r.summary.rfind("not confirmed, as 2 history lines are missing and could explain it: ", 0), 0) << r.summary;
}

// An element no add invoked, or a failed add present, may be explained by a
// missing invoke or a missing later ok add: unknown, not invalid.
TEST(SetCheckerTest, MissingLinesMakeUnexpectedAndFailedPresentUnknown) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 1, kOk).AddOp(0, "k1", 2, kFail);
  b.Read(10, "k1", "n1", {1, 2, 7});
  EXPECT_EQ(CheckSet(b).valid, Validity::kFalse);
  CheckResult r = CheckWithMissingLines(b.history(), 1);
  EXPECT_EQ(r.valid, Validity::kUnknown) << r.summary;
  EXPECT_EQ(r.details["unexpected_count"], 1);
  EXPECT_EQ(r.details["failed_present_count"], 1);
}

// A completion without its own element (a foreign writer's format) is not
// self-contained: its loss cannot be confirmed.
TEST(SetCheckerTest, MissingLinesMakeALossOfAnOkWithoutItsElementUnknown) {
  HistoryBuilder b;
  b.Add(kInvoke, 0, "add", "k1", 1);
  b.Add(kOk, 0, "add", "k1", nullptr, "n1");
  b.Read(10, "k1", "n1", nlohmann::json::array());
  EXPECT_EQ(CheckSet(b).valid, Validity::kFalse);
  EXPECT_EQ(CheckWithMissingLines(b.history(), 1).valid, Validity::kUnknown);
}

TEST(SetCheckerTest, MissingLinesLeaveACleanVerdictToTheCaller) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 1, kOk);
  b.Read(10, "k1", "n1", {1});
  // The checker's own verdict over what parsed; the run's verdict is unknown (RunResults).
  EXPECT_EQ(CheckWithMissingLines(b.history(), 1).valid, Validity::kTrue);
}

}  // namespace
}  // namespace faultline
