#include "checkers/counter_checker.h"

#include <gtest/gtest.h>

#include "testing/history_builder.h"

namespace faultline {
namespace {

using test::HistoryBuilder;
using test::kOk, test::kFail, test::kInfo, test::kInvoke;

CheckResult CheckCounter(const HistoryBuilder& b) { return CounterChecker().Check(b.history()); }

TEST(CounterCheckerTest, Name) { EXPECT_EQ(CounterChecker().name(), "counter"); }

TEST(CounterCheckerTest, CleanHistoryIsValid) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 5, kOk).AddOp(1, "k1", 3, kOk).AddOp(0, "k2", 2, kOk).AddOp(1, "k2", 100, kFail);
  b.Add(kInfo, kNemesisProcess, "start-partition", "", {{"n1", {"n2"}}});
  for (const char* node : {"n1", "n2"}) b.Read(10, "k1", node, 8).Read(10, "k2", node, 2);
  CheckResult r = CheckCounter(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.summary, "all 4 final reads of 2 keys within the range the adds allow");
  EXPECT_EQ(r.details["add_count"], 4);
  EXPECT_EQ(r.details["ok_count"], 3);
  EXPECT_EQ(r.details["fail_count"], 1);
  EXPECT_EQ(r.details["info_count"], 0);
  EXPECT_EQ(r.details["error_count"], 0);
  EXPECT_EQ(r.details["errors"], nlohmann::json::array());
  EXPECT_EQ(r.details["final_read_count"], 4);
  EXPECT_EQ(r.details["keys_without_final_read"], nlohmann::json::array());
  EXPECT_EQ(r.details["per_key"]["k1"],
            nlohmann::json({{"ok_sum", 8}, {"lower", 8}, {"upper", 8}, {"reads", {{"n1", 8}, {"n2", 8}}}}));
  EXPECT_EQ(r.details["per_key"]["k2"]["ok_sum"], 2);  // the failed 100 did not count
}

TEST(CounterCheckerTest, OkAddMissingFromAReadIsInvalid) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 5, kOk).AddOp(1, "k1", 3, kOk);
  b.Read(10, "k1", "n1", 8).Read(10, "k1", "n2", 5).Read(10, "k1", "n3", 8);
  CheckResult r = CheckCounter(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  ASSERT_EQ(r.details["error_count"], 1);
  EXPECT_EQ(r.details["errors"][0], nlohmann::json({{"key", "k1"},
                                                    {"node", "n2"},
                                                    {"value", 5},
                                                    {"lower", 8},
                                                    {"upper", 8},
                                                    {"index", 7},  // the read's ok completion
                                                    {"time", 7000}}));
  EXPECT_EQ(r.summary,
            "1 final read out of the range the adds allow on key k1 (e.g. n2 read 5 of k1, expected 8 to 8)");
}

TEST(CounterCheckerTest, InfoAddsAllowARange) {
  // ok 10, info +4 and +6: any total in [10, 20] is possible, also an info add landing on one node only.
  HistoryBuilder b;
  b.AddOp(0, "k1", 10, kOk).AddOp(1, "k1", 4, kInfo).AddOp(2, "k1", 6, kInfo);
  b.Read(10, "k1", "n1", 10).Read(10, "k1", "n2", 14).Read(10, "k1", "n3", 20);
  CheckResult r = CheckCounter(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.details["info_count"], 2);
  EXPECT_EQ(r.details["per_key"]["k1"]["lower"], 10);
  EXPECT_EQ(r.details["per_key"]["k1"]["upper"], 20);
  EXPECT_NE(r.summary.find("2 indeterminate adds"), std::string::npos) << r.summary;

  HistoryBuilder below;
  below.AddOp(0, "k1", 10, kOk).AddOp(1, "k1", 4, kInfo);
  below.Read(10, "k1", "n1", 9);
  CheckResult r2 = CheckCounter(below);
  EXPECT_EQ(r2.valid, Validity::kFalse);
  EXPECT_EQ(r2.details["errors"][0]["lower"], 10);
  EXPECT_EQ(r2.details["errors"][0]["upper"], 14);
}

TEST(CounterCheckerTest, UncompletedAddCountsAsInfo) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 1, kOk);
  b.Add(kInvoke, 1, "add", "k1", 7);  // never completed (crashed run)
  b.Read(10, "k1", "n1", 8).Read(10, "k1", "n2", 1);
  CheckResult r = CheckCounter(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.details["info_count"], 1);
  EXPECT_EQ(r.details["per_key"]["k1"]["upper"], 8);
}

TEST(CounterCheckerTest, NegativeDeltasWidenTheRangeDownwards) {
  // ok +10, ok -3, info -5, info +2: ok_sum 7, lower 7 - 5 = 2, upper 7 + 2 = 9.
  HistoryBuilder b;
  b.AddOp(0, "k1", 10, kOk).AddOp(1, "k1", -3, kOk).AddOp(2, "k1", -5, kInfo).AddOp(3, "k1", 2, kInfo);
  b.AddOp(4, "k1", -50, kFail);
  b.Read(10, "k1", "n1", 2).Read(10, "k1", "n2", 9).Read(10, "k1", "n3", 4);
  CheckResult r = CheckCounter(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.details["per_key"]["k1"]["ok_sum"], 7);
  EXPECT_EQ(r.details["per_key"]["k1"]["lower"], 2);
  EXPECT_EQ(r.details["per_key"]["k1"]["upper"], 9);

  // Both ways out: a lost ok decrement (too high) and a decrement applied twice (too low).
  HistoryBuilder out;
  out.AddOp(0, "k1", 10, kOk).AddOp(1, "k1", -3, kOk).AddOp(2, "k1", -5, kInfo);
  out.Read(10, "k1", "n1", 10).Read(10, "k1", "n2", -1).Read(10, "k1", "n3", 5);
  CheckResult r2 = CheckCounter(out);
  EXPECT_EQ(r2.valid, Validity::kFalse);
  ASSERT_EQ(r2.details["error_count"], 2);
  EXPECT_EQ(r2.details["errors"][0]["node"], "n1");
  EXPECT_EQ(r2.details["errors"][0]["value"], 10);
  EXPECT_EQ(r2.details["errors"][1]["node"], "n2");
  EXPECT_EQ(r2.details["errors"][1]["value"], -1);
  EXPECT_EQ(r2.details["errors"][1]["lower"], 2);
  EXPECT_EQ(r2.details["errors"][1]["upper"], 7);
}

TEST(CounterCheckerTest, AddCountedTwiceIsInvalid) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 5, kOk).AddOp(1, "k1", 3, kOk).AddOp(0, "k2", 1, kOk);
  b.Read(10, "k1", "n1", 13).Read(10, "k1", "n2", 8).Read(10, "k2", "n1", 1).Read(10, "k2", "n2", 2);
  CheckResult r = CheckCounter(b);
  EXPECT_EQ(r.valid, Validity::kFalse);
  ASSERT_EQ(r.details["error_count"], 2);
  EXPECT_EQ(r.details["errors"][0]["key"], "k1");
  EXPECT_EQ(r.details["errors"][0]["value"], 13);
  EXPECT_EQ(r.details["errors"][0]["upper"], 8);
  EXPECT_EQ(r.details["errors"][1]["key"], "k2");
  EXPECT_EQ(r.details["errors"][1]["node"], "n2");
  EXPECT_NE(r.summary.find("2 final reads out of the range the adds allow on keys k1, k2"), std::string::npos)
      << r.summary;
}

TEST(CounterCheckerTest, KeyWithoutFinalReadIsUnknown) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 5, kOk).AddOp(0, "k2", 1, kOk);
  b.Read(10, "k1", "n1", 5).Read(10, "k2", "n1", nullptr, kFail);
  CheckResult r = CheckCounter(b);
  EXPECT_EQ(r.valid, Validity::kUnknown);
  EXPECT_EQ(r.details["keys_without_final_read"], nlohmann::json({"k2"}));
  EXPECT_EQ(r.summary, "no final read succeeded for key k2, so their adds could not be checked");
}

TEST(CounterCheckerTest, NoFinalReadAtAllIsUnknown) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 5, kOk);
  CheckResult r = CheckCounter(b);
  EXPECT_EQ(r.valid, Validity::kUnknown);
  EXPECT_EQ(r.details["final_read_count"], 0);
}

TEST(CounterCheckerTest, EmptyHistoryIsUnknown) {
  CheckResult r = CounterChecker().Check({});
  EXPECT_EQ(r.valid, Validity::kUnknown);
  EXPECT_EQ(r.details["add_count"], 0);
  EXPECT_EQ(r.details["per_key"], nlohmann::json::object());
}

TEST(CounterCheckerTest, AbsentKeyReadsZero) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 5, kFail);
  b.Read(10, "k1", "n1", nullptr).Read(10, "k1", "n2", 0);
  CheckResult r = CheckCounter(b);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  EXPECT_EQ(r.details["per_key"]["k1"]["reads"], nlohmann::json({{"n1", 0}, {"n2", 0}}));
}

TEST(CounterCheckerTest, NonIntegerValuesAreUnknownNotValid) {
  HistoryBuilder b;
  b.AddOp(0, "k1", 5, kOk);
  b.Add(kInvoke, 1, "add", "k1", "five").Add(kOk, 1, "add", "k1", "five");
  b.Read(10, "k1", "n1", 5).Read(10, "k1", "n2", "lots");
  CheckResult r = CheckCounter(b);
  EXPECT_EQ(r.valid, Validity::kUnknown);
  EXPECT_EQ(r.details["malformed_count"], 2);
}

}  // namespace
}  // namespace faultline
