#include "checkers/stats_checker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "testing/history_builder.h"

namespace faultline {
namespace {

using test::kOk, test::kFail, test::kInfo, test::kInvoke;

// Builds a history with explicit times (ns).
class TimedHistory {
 public:
  TimedHistory& At(int64_t time, OpType type, int64_t process, std::string f, nlohmann::json value = nullptr) {
    Op op;
    op.index = static_cast<int64_t>(ops_.size());
    op.time = time;
    op.type = type;
    op.process = process;
    op.f = std::move(f);
    op.key = "k1";
    op.value = std::move(value);
    ops_.push_back(std::move(op));
    return *this;
  }
  // An op of `process` invoked at `start` that completes with `outcome` `latency` ns later.
  TimedHistory& Op2(int64_t start, int64_t latency, int64_t process, const std::string& f, OpType outcome,
                    nlohmann::json value = nullptr) {
    At(start, kInvoke, process, f);
    return At(start + latency, outcome, process, f, std::move(value));
  }
  TimedHistory& Nemesis(int64_t time, const std::string& f) { return At(time, kInfo, kNemesisProcess, f, {}); }
  const History& ops() const { return ops_; }

 private:
  History ops_;
};

CheckResult Check(const TimedHistory& h) { return StatsChecker().Check(h.ops()); }

using test::kMs;

TEST(StatsCheckerTest, Name) { EXPECT_EQ(StatsChecker().name(), "stats"); }

TEST(StatsCheckerTest, CountsAndLatencyQuantiles) {
  TimedHistory h;
  int64_t t = 0;
  // read: 10 ok ops with latencies 1..10 ms.
  for (int64_t i = 1; i <= 10; ++i) {
    h.Op2(t, i * kMs, 0, "read", kOk);
    t += 20 * kMs;
  }
  // add: 2 ok (exactly 50 and 100 ns: exact buckets), 1 fail, 1 info, 1 never completed.
  h.Op2(t, 50, 1, "add", kOk).Op2(t + 1000, 100, 1, "add", kOk).Op2(t + 2000, 3 * kMs, 1, "add", kFail);
  h.Op2(t + 3000, 7 * kMs, 2, "add", kInfo);
  h.At(t + 4000, kInvoke, 3, "add");
  CheckResult r = Check(h);
  EXPECT_EQ(r.valid, Validity::kTrue) << r.summary;
  const auto& read = r.details["by_f"]["read"];
  EXPECT_EQ(read["ok"], 10);
  EXPECT_EQ(read["fail"], 0);
  EXPECT_EQ(read["info"], 0);
  // Nearest rank: p50 = 5th of 10, p90 = 9th, p99 and p99.9 = 10th; within the histogram's 0.4%.
  const auto& lat = read["latency_ms"];
  EXPECT_NEAR(lat["p50"].get<double>(), 5.0, 5.0 * 0.004);
  EXPECT_NEAR(lat["p90"].get<double>(), 9.0, 9.0 * 0.004);
  EXPECT_DOUBLE_EQ(lat["p99"].get<double>(), 10.0);  // the top rank is clamped to the exact max
  EXPECT_DOUBLE_EQ(lat["p999"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(lat["max"].get<double>(), 10.0);

  const auto& add = r.details["by_f"]["add"];
  EXPECT_EQ(add["ok"], 2);
  EXPECT_EQ(add["fail"], 1);
  EXPECT_EQ(add["info"], 2);  // the info and the never-completed invoke
  // 50 ns, 100 ns, 3 ms, 7 ms (the uncompleted one has no latency): p50 = 2nd = 100 ns.
  EXPECT_DOUBLE_EQ(add["latency_ms"]["p50"].get<double>(), 0.0);
  EXPECT_NEAR(add["latency_ms"]["p90"].get<double>(), 7.0, 7.0 * 0.004);
  EXPECT_DOUBLE_EQ(add["latency_ms"]["max"].get<double>(), 7.0);
  EXPECT_EQ(r.details["no_ok"], nlohmann::json::array());
}

TEST(StatsCheckerTest, HistogramQuantilesWithinRelativeError) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(15.0, 2.0);  // ~3 ms median, long tail
  LatencyHistogram h;
  std::vector<int64_t> exact;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<int64_t>(dist(rng));
    h.Record(v);
    exact.push_back(v);
  }
  std::sort(exact.begin(), exact.end());
  for (double q : {0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    const int64_t truth = exact[static_cast<size_t>(std::ceil(q * exact.size())) - 1];
    EXPECT_NEAR(static_cast<double>(h.Quantile(q)), static_cast<double>(truth), truth * 0.004 + 1) << "q=" << q;
  }
  EXPECT_EQ(h.max(), exact.back());
  EXPECT_EQ(h.count(), 100000);
  // Small values are exact; negative ones (skewed foreign clocks) count as 0.
  LatencyHistogram small;
  for (int64_t v : {3, 1, 2, -5}) small.Record(v);
  EXPECT_EQ(small.Quantile(0.25), 0);
  EXPECT_EQ(small.Quantile(0.5), 1);
  EXPECT_EQ(small.Quantile(1.0), 3);
  EXPECT_EQ(LatencyHistogram().Quantile(0.5), 0);
}

TEST(StatsCheckerTest, AvailabilitySplitByNemesisIntervals) {
  TimedHistory h;
  h.Op2(0, 10, 0, "add", kOk).Op2(100, 10, 0, "add", kOk);  // healthy: 2 ok
  h.Nemesis(1000, "start-partition");
  h.Op2(1100, 10, 0, "add", kOk).Op2(1200, 10, 0, "add", kFail).Op2(1300, 10, 0, "add", kInfo);
  h.Nemesis(1400, "start-kill");
  h.Nemesis(1500, "stop-partition");  // kill still open
  h.Op2(1600, 10, 1, "add", kFail);
  h.Nemesis(1700, "heal-kill");
  // Invoked while healthy, completed during a fault: healthy (invocation time decides).
  h.At(1800, kInvoke, 1, "add").Nemesis(1850, "start-pause").At(1900, kOk, 1, "add").Nemesis(1950, "stop-pause");
  h.Op2(2000, 10, 1, "add", kFail);  // healthy
  CheckResult r = Check(h);
  const auto& a = r.details["availability"];
  EXPECT_EQ(a["ops_during_faults"], 4);
  EXPECT_EQ(a["ops_healthy"], 4);
  EXPECT_DOUBLE_EQ(a["during_faults"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(a["healthy"].get<double>(), 0.75);
  EXPECT_NE(r.summary.find("availability 25.0% during faults, 75.0% healthy"), std::string::npos) << r.summary;
  // Nemesis ops are not client ops.
  EXPECT_FALSE(r.details["by_f"].contains("start-partition"));
  EXPECT_EQ(r.details["by_f"]["add"]["ok"], 4);
}

TEST(StatsCheckerTest, SiblingHistogramForRegisterReads) {
  TimedHistory h;
  using J = nlohmann::json;
  // rmw completions carry the values their read saw.
  const std::vector<J> seen = {J::array(), {1}, {2}, {3}, {4}, {5, 6}, {7, 8, 9}, {1, 2, 3, 4}, {1, 2, 3, 4, 5, 6}};
  int64_t t = 0;
  for (const J& s : seen) {
    h.Op2(t, 10, 0, "rmw", kOk, {{"read", s}, {"write", 100 + t}});
    t += 100;
  }
  h.Op2(t, 10, 1, "rmw", kInfo, {{"read", {1}}, {"write", 999}});  // the read happened; the write timed out
  h.Op2(t + 100, 10, 2, "rmw", kFail);                             // the read failed: nothing seen
  // Final reads: the array is the sibling set.
  h.Op2(t + 200, 10, 3, "read", kOk, {1}).Op2(t + 300, 10, 3, "read", kOk, {1, 2});
  h.Op2(t + 400, 10, 3, "read", kFail);
  CheckResult r = Check(h);
  const auto& s = r.details["siblings"];
  EXPECT_EQ(s["reads"], 12);
  EXPECT_EQ(s["histogram"], J({{"empty", 1}, {"1", 6}, {"2", 2}, {"3", 1}, {"4", 1}, {"5+", 1}}));
  EXPECT_DOUBLE_EQ(s["percent"]["1"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(s["percent"]["2"].get<double>(), 16.666667);
  EXPECT_DOUBLE_EQ(s["percent"]["empty"].get<double>(), 8.333333);
  EXPECT_EQ(s["dynamo_paper"], J({{"1", 99.94}, {"2", 0.00057}, {"3", 0.00047}, {"4", 0.00009}}));
  EXPECT_NE(r.summary.find("12 reads: 50.0000% saw one version"), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("(Dynamo paper: 99.94%"), std::string::npos) << r.summary;
}

TEST(StatsCheckerTest, SetReadsAreNotSiblingSets) {
  TimedHistory h;
  h.Op2(0, 10, 0, "add", kOk).Op2(100, 10, 1, "read", kOk, {1, 2, 3});
  CheckResult r = Check(h);
  EXPECT_EQ(r.details["siblings"]["reads"], 0);
  EXPECT_TRUE(r.details["siblings"]["percent"]["1"].is_null());
}

TEST(StatsCheckerTest, AnFWithoutOkIsInvalid) {
  TimedHistory h;
  h.Op2(0, 10, 0, "add", kOk).Op2(100, 10, 1, "read", kFail).Op2(200, 10, 2, "read", kInfo);
  h.Op2(300, 10, 3, "cas", kFail);
  CheckResult r = Check(h);
  EXPECT_EQ(r.valid, Validity::kFalse);
  EXPECT_EQ(r.details["no_ok"], nlohmann::json({"cas", "read"}));
  EXPECT_EQ(r.details["by_f"]["read"]["fail"], 1);
  EXPECT_EQ(r.details["by_f"]["read"]["info"], 1);
  EXPECT_NE(r.summary.find("no cas or read op completed ok, out of 4 client ops"), std::string::npos) << r.summary;
}

TEST(StatsCheckerTest, EmptyHistory) {
  CheckResult r = StatsChecker().Check({});
  EXPECT_EQ(r.valid, Validity::kTrue);
  EXPECT_EQ(r.summary, "no client ops");
  EXPECT_EQ(r.details["by_f"], nlohmann::json::object());
  EXPECT_TRUE(r.details["availability"]["during_faults"].is_null());
  EXPECT_TRUE(r.details["availability"]["healthy"].is_null());
  EXPECT_EQ(r.details["siblings"]["reads"], 0);
}

TEST(StatsCheckerTest, FWithOnlyUncompletedOpsHasNullLatency) {
  TimedHistory h;
  h.Op2(0, 10, 0, "add", kOk).At(100, kInvoke, 1, "read");
  CheckResult r = Check(h);
  EXPECT_EQ(r.valid, Validity::kFalse);
  EXPECT_EQ(r.details["by_f"]["read"]["info"], 1);
  EXPECT_TRUE(r.details["by_f"]["read"]["latency_ms"]["p50"].is_null());
  EXPECT_TRUE(r.details["by_f"]["read"]["latency_ms"]["max"].is_null());
}

}  // namespace
}  // namespace faultline
