// report.html's data on run directories whose histories hold anomalies
// (lost adds during a partition), clean ones, big ones (downsampled) and
// broken ones; results.json is made by the real checkers from the history.
#include "reports/report.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "checkers/set_checker.h"
#include "checkers/stats_checker.h"
#include "reports/html_page.h"
#include "reports/results.h"
#include "reports/run_files.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class RunDirBuilder {
 public:
  explicit RunDirBuilder(const fs::path& dir) : dir_(dir) { fs::create_directories(dir); }

  void Invoke(int64_t process, const std::string& f, const std::string& key, json value) {
    Add(OpType::kInvoke, process, f, key, std::move(value), "");
  }
  void Complete(OpType type, int64_t process, const std::string& f, const std::string& key, json value,
                const std::string& node) {
    Add(type, process, f, key, std::move(value), node);
  }
  void Nemesis(const std::string& f, json value) { Add(OpType::kInfo, kNemesisProcess, f, "", std::move(value), ""); }
  void Advance(int64_t ms) { time_ += ms * 1000000; }

  // Writes history.jsonl, results.json (set + stats checkers) and test.json.
  void Finish() {
    std::ofstream out(dir_ / "history.jsonl");
    for (const Op& op : ops_) out << ToJsonLine(op) << "\n";
    out.close();
    RunResults results;
    SetChecker set;
    StatsChecker stats;
    results.checkers.emplace_back("set", set.Check(ops_));
    results.checkers.emplace_back("stats", stats.Check(ops_));
    WriteJsonFile(dir_ / "results.json", results.ToJson());
    WriteJsonFile(dir_ / "test.json", {{"name", "report-test"}, {"db", "dynastore"}, {"workload", "set"}, {"seed", 7}});
  }
  int64_t last_index() const { return ops_.back().index; }

 private:
  void Add(OpType type, int64_t process, const std::string& f, const std::string& key, json value,
           const std::string& node) {
    Op op;
    op.index = static_cast<int64_t>(ops_.size());
    op.time = (time_ += 1000000);
    op.type = type;
    op.process = process;
    op.f = f;
    op.key = key;
    op.value = std::move(value);
    op.node = node;
    ops_.push_back(std::move(op));
  }
  fs::path dir_;
  History ops_;
  int64_t time_ = 0;
};

// Adds of 1..n to k1 by two processes, a partition in the middle, final
// reads from n1 and n2; `lose` is missing from n2's final read.
void WriteSetRun(const fs::path& dir, int n, int lose, int64_t* lost_add_index) {
  RunDirBuilder b(dir);
  for (int i = 1; i <= n; ++i) {
    if (i == n / 2)
      b.Nemesis("start-partition", {{"fault", "partition"}, {"kind", "halves"}, {"targets", {"n1", "n2"}}});
    const int64_t p = i % 2;
    b.Invoke(p, "add", "k1", i);
    b.Advance(2);
    b.Complete(OpType::kOk, p, "add", "k1", i, p == 0 ? "n1" : "n2");
    if (i == lose) *lost_add_index = b.last_index();
    if (i == n / 2 + 2) b.Nemesis("stop-partition", {{"fault", "partition"}, {"healed", {"n1", "n2"}}});
  }
  // process 1 is retired by an info op; process 3 takes its lane.
  b.Invoke(1, "add", "k1", n + 1);
  b.Complete(OpType::kInfo, 1, "add", "k1", n + 1, "n2");
  b.Invoke(3, "add", "k1", n + 2);
  b.Complete(OpType::kOk, 3, "add", "k1", n + 2, "n1");
  b.Nemesis("heal-partition", {{"fault", "partition"}, {"healed", json::array()}});
  json all = json::array(), missing = json::array();
  for (int i = 1; i <= n + 2; ++i) {
    all.push_back(i);
    if (i != lose) missing.push_back(i);
  }
  b.Invoke(10, "read", "k1", nullptr);
  b.Complete(OpType::kOk, 10, "read", "k1", all, "n1");
  b.Invoke(11, "read", "k1", nullptr);
  b.Complete(OpType::kOk, 11, "read", "k1", lose > 0 ? missing : all, "n2");
  b.Finish();
}

TEST(ReportDataTest, LostAddIsExplainedWithItsOpsFaultAndEvidence) {
  test::TempDir tmp("report-lost");
  const fs::path dir = tmp.path() / "run";
  int64_t lost_index = -1;
  WriteSetRun(dir, 20, 11, &lost_index);  // add 11 completes during the partition (it starts before add 10)
  const json d = BuildReportData(dir);

  EXPECT_EQ(d["kind"], "report");
  EXPECT_EQ(d["verdict"]["valid"], false);
  const std::string sentence = d["verdict"]["sentence"];
  EXPECT_NE(sentence.find("1 acknowledged add lost"), std::string::npos) << sentence;
  EXPECT_NE(sentence.find("during partition halves on n1, n2"), std::string::npos) << sentence;

  const json& set = d["checkers"][0];
  ASSERT_EQ(set["name"], "set");
  EXPECT_EQ(set["anomaly_count"], 1);
  ASSERT_EQ(set["anomalies"].size(), 1u);
  const json& a = set["anomalies"][0];
  EXPECT_EQ(a["kind"], "lost");
  EXPECT_EQ(a["key"], "k1");
  EXPECT_EQ(a["fault"], "partition halves on n1, n2");
  EXPECT_NE(a["text"].get<std::string>().find("add of 11 to k1"), std::string::npos) << a["text"];
  EXPECT_NE(a["text"].get<std::string>().find("missing from the final reads of n2"), std::string::npos) << a["text"];
  // The add's completion (with its invoke linked) and n2's final read, which lacks it.
  const auto ops = a["ops"].get<std::vector<int64_t>>();
  ASSERT_GE(ops.size(), 2u);
  EXPECT_EQ(ops.front(), lost_index);
  const json& add = d["ops"][std::to_string(lost_index)];
  EXPECT_EQ(add["f"], "add");
  EXPECT_EQ(add["value"], 11);
  EXPECT_EQ(add["invoke_index"], lost_index - 1);
  EXPECT_NEAR(add["latency_ms"].get<double>(), 3.0, 0.01);
  bool read_shown = false;
  for (int64_t i : ops) {
    const json& op = d["ops"][std::to_string(i)];
    if (op["f"] == "read" && op["node"] == "n2") read_shown = true;
  }
  EXPECT_TRUE(read_shown);
  EXPECT_LE(a["focus"]["start_ms"].get<double>(), add["invoke_ms"].get<double>());
  EXPECT_GE(a["focus"]["end_ms"].get<double>(), add["time_ms"].get<double>());

  ASSERT_EQ(d["nemesis"].size(), 1u);
  EXPECT_EQ(d["nemesis"][0]["fault"], "partition");
  EXPECT_TRUE(d["nemesis"][0]["end_ms"].is_number());
  EXPECT_LT(d["nemesis"][0]["start_ms"].get<double>(), d["nemesis"][0]["end_ms"].get<double>());
  EXPECT_EQ(d["run"]["command"], "faultline run --config " + (dir / "test.json").string());
}

TEST(ReportDataTest, RetiredProcessHandsItsLaneToTheNextProcess) {
  test::TempDir tmp("report-lanes");
  const fs::path dir = tmp.path() / "run";
  int64_t unused;
  WriteSetRun(dir, 6, 0, &unused);
  const json d = BuildReportData(dir);
  const json& lanes = d["timeline"]["lanes"];
  ASSERT_EQ(lanes.size(), 4u);  // p1 then p3; p0; the two final readers
  EXPECT_EQ(lanes[0]["processes"], json({1, 3}));
  EXPECT_EQ(lanes[1]["processes"], json::array({0}));
  EXPECT_TRUE(d["timeline"]["exact"]);
  EXPECT_EQ(d["timeline"]["total"], 6 + 2 + 2);
  EXPECT_EQ(d["timeline"]["ops"]["index"].size(), 10u);
  EXPECT_EQ(d["verdict"]["valid"], true);
  EXPECT_EQ(d["stats"]["ops"]["info"], 1);
  for (const auto& c : d["checkers"]) EXPECT_TRUE(c["anomalies"].empty());
}

TEST(ReportDataTest, BigHistoryIsDownsampledButKeepsEveryAnomalyOp) {
  test::TempDir tmp("report-big");
  const fs::path dir = tmp.path() / "run";
  int64_t lost_index = -1;
  WriteSetRun(dir, 20000, 12345, &lost_index);
  ReportOptions options;
  options.max_timeline_ops = 2000;
  options.max_latency_points = 1000;
  const json d = BuildReportData(dir, options);
  EXPECT_FALSE(d["timeline"]["exact"]);
  EXPECT_EQ(d["timeline"]["total"], 20004);
  const auto shown = d["timeline"]["ops"]["index"].get<std::vector<int64_t>>();
  EXPECT_LE(shown.size(), 2000u);
  EXPECT_GE(shown.size(), 1900u);
  EXPECT_NE(std::find(shown.begin(), shown.end(), lost_index), shown.end());
  const json& buckets = d["timeline"]["buckets"];
  ASSERT_TRUE(buckets.is_object());
  int64_t counted = 0;
  for (const auto& lane : buckets["lanes"]) {
    for (const char* t : {"ok", "fail", "info"}) {
      for (const auto& c : lane[t]) counted += c.get<int64_t>();
    }
  }
  EXPECT_EQ(counted, 20004);  // the density accounts for every op
  EXPECT_TRUE(d["charts"]["latency"]["sampled"]);
  size_t points = 0;
  for (const auto& s : d["charts"]["latency"]["series"]) points += s["t_ms"].size();
  EXPECT_LE(points, 1000u + 700u);  // thinned ok points + every info + the slowest per bucket
  EXPECT_EQ(d["checkers"][0]["anomaly_count"], 1);
}

TEST(ReportDataTest, BrokenRunDirectoriesSayWhatIsMissing) {
  test::TempDir tmp("report-broken");
  try {
    BuildReportData(tmp.path() / "nope");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nope is not a run directory"), std::string::npos) << e.what();
  }
  fs::create_directories(tmp.path() / "empty");
  try {
    BuildReportData(tmp.path() / "empty");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("neither history.jsonl nor results.json"), std::string::npos) << e.what();
  }
  // A crashed run: a history with a bad line and a truncated last one, no results.json.
  const fs::path crashed = tmp.path() / "crashed";
  fs::create_directories(crashed);
  std::ofstream(crashed / "history.jsonl")
      << R"({"index":0,"time":1,"type":"invoke","process":0,"f":"add","key":"k1","value":1})"
         "\n"
      << "garbage\n"
      << R"({"index":2,"time":3,"type":"ok","process":0,"f":"add","key":"k1","value":1,"node":"n1"})"
         "\n"
      << R"({"index":3,"time":4,"type":"inv)";
  const json d = BuildReportData(crashed);
  EXPECT_EQ(d["verdict"]["valid"], "unknown");
  EXPECT_NE(d["verdict"]["sentence"].get<std::string>().find("no results.json"), std::string::npos);
  EXPECT_EQ(d["timeline"]["total"], 1);
  ASSERT_EQ(d["warnings"].size(), 2u) << d["warnings"];
  EXPECT_NE(d["warnings"][0].get<std::string>().find("line 2"), std::string::npos) << d["warnings"];
  EXPECT_TRUE(d["test"].is_null());
}

// A checker that did not run (results.json "skipped") is listed with why,
// as "skipped" (report.js gives it its own pill), never as a verdict.
TEST(ReportDataTest, SkippedCheckerIsListedWithWhy) {
  test::TempDir tmp("report-skipped");
  const fs::path dir = tmp.path() / "run";
  WriteSetRun(dir, 6, 0, nullptr);
  json results = ReadJsonFile(dir / "results.json");
  ASSERT_EQ(results["skipped"], json::object());  // RunResults always writes it
  results["skipped"]["convergence"] = "no replica-read rounds in the history";
  WriteJsonFile(dir / "results.json", results);
  const json d = BuildReportData(dir);
  ASSERT_EQ(d["checkers"].size(), 3u) << d["checkers"];
  const json& c = d["checkers"][2];
  EXPECT_EQ(c["name"], "convergence");
  EXPECT_EQ(c["valid"], "skipped");
  EXPECT_EQ(c["summary"], "no replica-read rounds in the history");
  EXPECT_EQ(c["anomalies"], json::array());
  EXPECT_EQ(d["verdict"]["valid"], true);
  std::stringstream page;
  page << std::ifstream(WriteReport(dir)).rdbuf();
  EXPECT_NE(page.str().find("no replica-read rounds in the history"), std::string::npos);
}

// The convergence panel gets both ends of the measured interval.
TEST(ReportDataTest, ConvergencePanelHasTheIntervalOfTheRounds) {
  test::TempDir tmp("report-convergence");
  const fs::path dir = tmp.path() / "run";
  WriteSetRun(dir, 6, 0, nullptr);
  json results = ReadJsonFile(dir / "results.json");
  results["checkers"]["convergence"] = {{"valid", true},
                                        {"summary", "..."},
                                        {"rounds", 3},
                                        {"final_heal_time", 5},
                                        {"converged_after_s", 1.5},
                                        {"differed_until_s", 1.0},
                                        {"divergent", json::array()}};
  WriteJsonFile(dir / "results.json", results);
  const json c = BuildReportData(dir)["charts"]["convergence"];
  EXPECT_EQ(c["converged_after_s"], 1.5) << c;
  EXPECT_EQ(c["differed_until_s"], 1.0) << c;
}

TEST(ReportHtmlTest, PageIsSelfContainedAndDataCannotEndItsScript) {
  HtmlPage page;
  page.title = "a <b> & \"c\"";
  page.styles = {"body{}"};
  page.scripts = {"var s = '</script>';"};
  page.data = {{"text", "</script><script>alert(1)</script>"}};
  const std::string html = RenderHtmlPage(page);
  EXPECT_NE(html.find("<title>a &lt;b&gt; &amp; &quot;c&quot;</title>"), std::string::npos);
  // Exactly the two script elements we made end in the page: the data's and the script's.
  const std::regex end_tag("</script>");
  EXPECT_EQ(std::distance(std::sregex_iterator(html.begin(), html.end(), end_tag), std::sregex_iterator()), 2);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);

  test::TempDir tmp("report-html");
  const fs::path dir = tmp.path() / "run";
  int64_t lost_index;
  WriteSetRun(dir, 10, 6, &lost_index);
  const fs::path written = WriteReport(dir);
  ASSERT_TRUE(fs::exists(written));
  std::ifstream in(written);
  const std::string report((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(report.find("<title>report-test: invalid"), std::string::npos);
  EXPECT_NE(report.find("id=\"faultline-data\""), std::string::npos);
  EXPECT_NE(report.find("uPlot"), std::string::npos);      // the charting library is inlined
  for (const auto& entry : fs::directory_iterator(dir)) {  // no temp file left behind
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

}  // namespace
}  // namespace faultline
