// Verdicts that cannot mislead (issue 20), on real runs of the `faultline` binary (root):
//  - a nemesis whose schedule cannot inject anything in the time given is warned about before the run, and its
//    verdict line, results.json, report data, junit.xml, store index and suite line say no fault was injected;
//  - a lost add under --unsafe-ack-early is explained by the kill that followed it on the acknowledging node.
#include <gtest/gtest.h>

#include <fstream>

#include "testing/run_fixture.h"

namespace faultline {
namespace test {
namespace {

// The page data embedded in a report.html or index.html.
json PageData(const fs::path& html) {
  const std::string text = ReadFile(html);
  const std::string open = "<script type=\"application/json\" id=\"faultline-data\">";
  const size_t start = text.find(open);
  if (start == std::string::npos) return json();
  const size_t end = text.find("</script>", start);
  std::string data = text.substr(start + open.size(), end - start - open.size());
  for (size_t at = data.find("<\\/"); at != std::string::npos; at = data.find("<\\/", at)) data.replace(at, 3, "</");
  return json::parse(data);
}

constexpr const char* kNoPartition = "no partition was injected (interval 10 s ≥ time limit 8 s)";

using VerdictRun = FaultlineRun;

// The README's nightly plan as a new user wrote it: 3 nodes, time limit 8, a partition nemesis at the default
// 10 s interval. Nothing can start, and everything that shows the verdict must say so.
TEST_F(VerdictRun, APartitionThatNeverStartedIsSaidBeforeAndAfterTheRun) {
  ASSERT_EQ(RunFaultline(RunArgs({"--nemesis", "partition", "--time-limit", "8", "--rate", "40"})), 0) << Output();
  const std::string out = Output();
  const size_t warning = out.find("warning: nemesis partition: no fault can start");
  ASSERT_NE(warning, std::string::npos) << out;
  EXPECT_NE(out.find("(interval 10 s ≥ time limit 8 s); give --nemesis-interval below 8"), std::string::npos) << out;
  EXPECT_LT(warning, out.find("run ")) << "the warning comes before the run starts:\n" << out;
  EXPECT_NE(out.find(std::string("verdict: valid — but ") + kNoPartition + ": "), std::string::npos) << out;

  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  EXPECT_EQ(results["valid"], true) << results.dump(2);
  EXPECT_EQ(results["faults"]["requested"], json::array({"partition"}));
  EXPECT_EQ(results["faults"]["injected"]["partition"], 0);
  EXPECT_EQ(results["faults"]["warning"], kNoPartition);

  const json report = PageData(run / "report.html");
  EXPECT_EQ(report["verdict"]["fault_warning"], kNoPartition) << report["verdict"].dump(2);
  EXPECT_NE(ReadFile(run / "junit.xml").find(std::string("<property name=\"fault_warning\" value=\"") + kNoPartition),
            std::string::npos);
  const json index = PageData(store_ / "index.html");
  ASSERT_EQ(index["runs"].size(), 1u);
  EXPECT_EQ(index["runs"][0]["fault_warning"], kNoPartition);
}

TEST_F(VerdictRun, TheSuiteLineAndSummarySayNoPartitionWasInjected) {
  const json plan = {{"name", "nightly"},
                     {"local", 3},
                     {"time-limit", 8},
                     {"quiesce", 1},
                     {"rate", 40},
                     {"seed", 5},
                     {"stores", {"dynastore"}},
                     {"workloads", {"set"}},
                     {"nemeses", {"partition"}}};
  std::ofstream(dir_ / "plan.json") << plan.dump(2);
  ASSERT_EQ(RunFaultline({"suite", (dir_ / "plan.json").string(), "--dry-run", "--store-dir", store_.string()}), 0);
  EXPECT_NE(Output().find("warning: nightly-dynastore-set-partition: nemesis partition: no fault can start"),
            std::string::npos)
      << Output();
  fs::remove(dir_ / "out.txt");
  ASSERT_EQ(RunFaultline({"suite", (dir_ / "plan.json").string(), "--store-dir", store_.string()}), 0) << Output();
  const std::string out = Output();
  EXPECT_NE(out.find(std::string("[1/1] valid — but ") + kNoPartition + " nightly-dynastore-set-partition: "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("; 1 run did not inject every fault kind asked for;"), std::string::npos) << out;
  fs::path summary_file;
  for (const auto& e : fs::directory_iterator(store_ / "suites" / "nightly")) summary_file = e.path();
  const json summary = json::parse(ReadFile(summary_file));
  EXPECT_EQ(summary["counts"]["faults_missing"], 1) << summary.dump(2);
  EXPECT_EQ(summary["runs"][0]["fault_warning"], kNoPartition);
}

// --unsafe-ack-early acknowledges an add 500 ms before any replica writes it; the kill of the acknowledging node in
// between loses it. By construction: every kill takes all three nodes ("--nemesis-targets all"), at 1, 3, 5 and
// 7 s, while 150 adds/s are acknowledged; so each lost add was acknowledged by a node that a kill took down after
// the acknowledgement, and that kill is the first fault after the ack on that node (the only faults are kills of
// every node). The relation, not the count, is what is asserted beyond "some add was lost".
TEST_F(VerdictRun, ALostAddIsExplainedByTheKillThatFollowedItsAcknowledgement) {
  ASSERT_EQ(RunFaultline(
                RunArgs({"--workload", "set", "--keys", "20", "--rate", "150", "--time-limit", "8", "--nemesis", "kill",
                         "--nemesis-interval", "1", "--nemesis-targets", "all", "--dynastore-arg=--unsafe-ack-early"})),
            1)
      << Output();
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  const json& set = results["checkers"]["set"];
  ASSERT_GT(set["lost_count"].get<int>(), 0) << set.dump(2);
  EXPECT_TRUE(results["faults"]["warning"].is_null()) << results["faults"].dump();
  EXPECT_GT(results["faults"]["injected"]["kill"].get<int>(), 0);
  for (const json& lost : set["lost"]) {
    SCOPED_TRACE(lost.dump());
    ASSERT_TRUE(lost["ack"]["node"].is_string());
    const std::string node = lost["ack"]["node"].get<std::string>();
    bool explained = false;
    for (const json& f : lost["faults"]) {
      if (f["relation"] == "after-ack-on-node" && f["fault"] == "kill" && f["node"] == node) {
        explained = true;
        EXPECT_GE(f["delay_s"].get<double>(), 0);
        EXPECT_GT(f["start_s"].get<double>(), lost["ack"]["time_s"].get<double>() - 0.001);
      }
    }
    EXPECT_TRUE(explained);
  }
  const json report = PageData(run / "report.html");
  bool described = false;
  for (const json& c : report["checkers"]) {
    for (const json& a : c["anomalies"]) {
      if (a["kind"] != "lost" || !a["fault_context"].is_string()) continue;
      const std::string text = a["fault_context"].get<std::string>();
      EXPECT_NE(text.find("acknowledged by n"), std::string::npos) << text;
      described = described || text.find(" was killed at ") != std::string::npos;
    }
  }
  EXPECT_TRUE(described) << report["checkers"].dump(2).substr(0, 4000);
  EXPECT_NE(report["verdict"]["sentence"].get<std::string>().find("followed by a kill of the acknowledging node"),
            std::string::npos)
      << report["verdict"].dump(2);
}

}  // namespace
}  // namespace test
}  // namespace faultline
