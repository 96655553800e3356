// report.html's linearization diagrams: a run directory whose results.json
// holds the linearizable checker's explanation of a stale read (lin_common's
// details schema, written here by hand: the checker is another library's)
// gets a diagram with lanes, bars, the prefix's points and states, the
// offending op and the faults over the window, linked to its anomaly; the
// page stays small (the window's ops are not repeated in "ops" or details).
#include <gtest/gtest.h>

#include <fstream>

#include "checkers/history.h"
#include "reports/report.h"
#include "reports/results.h"
#include "reports/run_files.h"
#include "testing/proc_support.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int64_t kMs = 1000000;

// p0 writes 1 [10, 20 ms], p1 writes 2 [30, 40 ms], p2 reads 1 [50, 60 ms]: a stale read, under a partition
// from 25 ms on; p3's write of 3 [5 ms, never completed] is an info op.
struct StaleRead {
  History ops;
  json op_w1, op_w2, op_read, op_w3;
};

Op MakeOp(int64_t index, int64_t ms, OpType type, int64_t process, const std::string& f, json value) {
  Op op;
  op.index = index;
  op.time = ms * kMs;
  op.type = type;
  op.process = process;
  op.f = f;
  op.key = process == kNemesisProcess ? "" : "k1";
  op.value = std::move(value);
  return op;
}

// The checker's form of an op (lin_common): times in ns like the history's.
json LinOp(int64_t process, const std::string& f, json value, const char* type, int64_t invoke_index,
           json complete_index, int64_t invoke_ms, json complete_ms) {
  return {{"process", process},
          {"f", f},
          {"value", std::move(value)},
          {"type", type},
          {"invoke_index", invoke_index},
          {"complete_index", std::move(complete_index)},
          {"invoke_time", invoke_ms * kMs},
          {"complete_time", complete_ms.is_null() ? json() : json(complete_ms.get<int64_t>() * kMs)}};
}

void WriteRun(const fs::path& dir) {
  fs::create_directories(dir);
  History h = {
      MakeOp(0, 5, OpType::kInvoke, 3, "write", 3),
      MakeOp(1, 10, OpType::kInvoke, 0, "write", 1),
      MakeOp(2, 20, OpType::kOk, 0, "write", 1),
      MakeOp(3, 25, OpType::kInfo, kNemesisProcess, "start-partition", {{"n1", {"n2"}}}),
      MakeOp(4, 30, OpType::kInvoke, 1, "write", 2),
      MakeOp(5, 40, OpType::kOk, 1, "write", 2),
      MakeOp(6, 50, OpType::kInvoke, 2, "read", nullptr),
      MakeOp(7, 60, OpType::kOk, 2, "read", 1),
      MakeOp(8, 70, OpType::kInfo, 3, "write", 3),
  };
  std::ofstream out(dir / "history.jsonl");
  for (const Op& op : h) out << ToJsonLine(op) << "\n";
  out.close();
  const json w1 = LinOp(0, "write", 1, "ok", 1, 2, 10, 20), w2 = LinOp(1, "write", 2, "ok", 4, 5, 30, 40),
             read = LinOp(2, "read", 1, "ok", 6, 7, 50, 60), w3 = LinOp(3, "write", 3, "info", 0, nullptr, 5, nullptr);
  const json anomaly = {{"type", "nonlinearizable"},
                        {"key", "k1"},
                        {"sentence",
                         "read of 1 by process 2 at 0.050 s returned 1, but every linearization of the 3 ops before it "
                         "leaves the register at 2 or 3"},
                        {"op", read},
                        {"prefix", {{{"op", w1}, {"state", 1}}, {{"op", w2}, {"state", 2}}}},
                        {"states_before", {2, 3}},
                        {"concurrent", {w3}},
                        {"window", {{"start_ns", 5 * kMs}, {"end_ns", 60 * kMs}}},
                        {"window_ops", {w3, w1, w2, read}}};
  const json siblings = {{"type", "siblings"},
                         {"key", "k9"},
                         {"sentence", "read of [1,2] by process 2 returned two siblings"},
                         {"op", read},
                         {"writes", {w1, w2}}};
  CheckResult lin;
  lin.valid = Validity::kFalse;
  lin.summary = "1 of 2 keys is not linearizable";
  lin.details = {
      {"model", "register"},
      {"keys", {{"checked", 2}, {"linearizable", 0}, {"non_linearizable", 1}, {"unknown", 0}, {"siblings", 1}}},
      {"anomalies", {anomaly, siblings}},
      {"unknown_keys", json::array()}};
  RunResults results;
  results.checkers.emplace_back("linearizable", lin);
  WriteJsonFile(dir / "results.json", results.ToJson());
  WriteJsonFile(dir / "test.json", {{"name", "lin"}, {"db", "redis-cluster"}, {"workload", "cas-register"}});
}

const json* FindOp(const json& diagram, int64_t index) {
  for (const json& op : diagram["ops"]) {
    if (op["index"] == index) return &op;
  }
  return nullptr;
}

TEST(ReportLinearizationTest, ANonLinearizableKeyGetsItsDiagram) {
  test::TempDir tmp("report-lin");
  const fs::path dir = tmp.path() / "run";
  WriteRun(dir);
  const json d = BuildReportData(dir);
  ASSERT_EQ(d["linearizations"].size(), 1u) << d["linearizations"].dump(2);  // siblings have no diagram
  const json& lin = d["linearizations"][0];
  EXPECT_EQ(lin["id"], "linearizable-nonlinearizable-0");
  EXPECT_EQ(lin["key"], "k1");
  EXPECT_EQ(lin["model"], "register");
  EXPECT_EQ(lin["processes"], (json{0, 1, 2, 3}));
  EXPECT_EQ(lin["window"], (json{{"start_ms", 5.0}, {"end_ms", 60.0}}));
  EXPECT_EQ(lin["states_before"], (json{2, 3}));
  ASSERT_EQ(lin["ops"].size(), 4u);
  // The offending read, outlined; not part of the prefix.
  const json* read = FindOp(lin, 6);
  ASSERT_NE(read, nullptr);
  EXPECT_EQ((*read)["offending"], true);
  EXPECT_TRUE((*read)["order"].is_null());
  EXPECT_EQ((*read)["start_ms"], 50.0);
  EXPECT_EQ((*read)["end_ms"], 60.0);
  // The prefix: in order, each point inside its op's interval and after the previous one, with the state after it.
  const json* w1 = FindOp(lin, 1);
  const json* w2 = FindOp(lin, 4);
  ASSERT_TRUE(w1 != nullptr && w2 != nullptr);
  EXPECT_EQ((*w1)["order"], 0);
  EXPECT_EQ((*w2)["order"], 1);
  EXPECT_EQ((*w1)["state"], 1);
  EXPECT_EQ((*w2)["state"], 2);
  const double p1 = (*w1)["point_ms"], p2 = (*w2)["point_ms"];
  EXPECT_GE(p1, 10.0);
  EXPECT_LE(p1, 20.0);
  EXPECT_GE(p2, 30.0);
  EXPECT_LE(p2, 40.0);
  // The info write: open-ended (no completion), not linearized.
  const json* w3 = FindOp(lin, 0);
  ASSERT_NE(w3, nullptr);
  EXPECT_TRUE((*w3)["end_ms"].is_null());
  EXPECT_EQ((*w3)["type"], "info");
  // The partition over the window is shaded.
  ASSERT_EQ(lin["faults"].size(), 1u);
  EXPECT_EQ(lin["faults"][0]["start_ms"], 25.0);
  EXPECT_EQ(lin["faults"][0]["fault"], "partition");

  // Its anomaly: same id (the page links them), the checker's sentence, the offending op's indices.
  const json& card = d["checkers"][0];
  ASSERT_EQ(card["name"], "linearizable");
  EXPECT_EQ(card["anomaly_count"], 2);
  ASSERT_EQ(card["anomalies"].size(), 2u);
  const json& a = card["anomalies"][0];
  EXPECT_EQ(a["id"], lin["id"]);
  EXPECT_EQ(a["kind"], "nonlinearizable");
  EXPECT_EQ(a["text"], lin["sentence"]);
  EXPECT_EQ(a["ops"], (json{6, 7}));
  EXPECT_EQ(a["fault"], "partition");
  EXPECT_EQ(card["anomalies"][1]["kind"], "siblings");
  EXPECT_EQ(card["anomalies"][1]["key"], "k9");
  // Small page: the window's ops are not repeated as page ops or raw details.
  // Only the anomalies' own ops: the stale read and the siblings' writes, not the window's info write.
  EXPECT_FALSE(d["ops"].contains("0")) << d["ops"].dump();
  EXPECT_FALSE(d["ops"].contains("8")) << d["ops"].dump();
  EXPECT_TRUE(d["ops"].contains("6") && d["ops"].contains("7")) << d["ops"].dump();
  EXPECT_TRUE(card["details"]["anomalies"].is_string()) << card["details"].dump();
  EXPECT_EQ(card["details"]["keys"]["non_linearizable"], 1);

  // The written page carries the diagram's data and the panel that draws it.
  const std::string html = test::ReadFile(WriteReport(dir));
  EXPECT_NE(html.find("\"linearizations\":[{"), std::string::npos);
  EXPECT_NE(html.find("R.panels.linearization"), std::string::npos);
}

TEST(ReportLinearizationTest, NoDiagramsWithoutTheLinearizableChecker) {
  test::TempDir tmp("report-lin");
  const fs::path dir = tmp.path() / "run";
  fs::create_directories(dir);
  std::ofstream(dir / "history.jsonl") << ToJsonLine(MakeOp(0, 1, OpType::kInvoke, 0, "read", nullptr)) << "\n";
  RunResults results;
  results.checkers.emplace_back("stats", CheckResult{Validity::kTrue, json::object(), "fine"});
  WriteJsonFile(dir / "results.json", results.ToJson());
  const json d = BuildReportData(dir);
  EXPECT_EQ(d["linearizations"], json::array());
}

}  // namespace
}  // namespace faultline
