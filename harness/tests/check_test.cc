// `faultline check` on history files from elsewhere: checkers whose input is
// absent are skipped, --checkers chooses, malformed lines and index holes or
// duplicates make the verdict unknown and never invalid on their own. The
// real binary on real files, and CheckHistoryFile as `faultline run` calls it.
#include "harness/run/check.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "checkers/history.h"
#include "harness/run/registry.h"
#include "harness/run/test_config.h"
#include "testing/history_builder.h"
#include "testing/proc_support.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A set-workload history as lines: adds of 1..3 to k1 (ok), final reads of k1
// from n1 and n2 holding `read`; replica-read rounds only when asked.
std::vector<std::string> SetHistory(json read = {1, 2, 3}, bool replica_reads = false) {
  test::HistoryBuilder h;
  for (int e = 1; e <= 3; ++e) h.AddOp(0, "k1", e, OpType::kOk);
  for (const char* node : {"n1", "n2"}) h.Read(5, "k1", node, read);
  if (replica_reads) {
    h.Add(OpType::kInvoke, 9, "replica-read", "k1", {{"round", 0}});
    h.Add(OpType::kOk, 9, "replica-read", "k1", {{"round", 0}, {"replicas", {{"n1", read}, {"n2", read}}}});
  }
  std::vector<std::string> lines;
  for (const Op& op : h.history()) lines.push_back(ToJsonLine(op));
  return lines;
}

class CheckTest : public ::testing::Test {
 protected:
  void Write(const std::vector<std::string>& lines) {
    std::ofstream out(tmp_.file(), std::ios::binary);
    for (const std::string& line : lines) out << line << "\n";
  }
  // Runs `faultline check <history> --workload set <extra>`; its exit code, output in out_.
  int Check(const std::vector<std::string>& extra = {}) {
    const fs::path out = tmp_.path() / "out.txt";
    std::vector<std::string> args{FAULTLINE_BIN, "check", tmp_.file().string(), "--workload", "set"};
    args.insert(args.end(), extra.begin(), extra.end());
    const int code = test::RunToFile(args, out);
    out_ = test::ReadFile(out);
    return code;
  }
  RunResults CheckInProcess(const CheckOptions& options) {
    TestConfig config = ResolveConfig({{"workload", "set"}}, 0);
    return CheckHistoryFile(tmp_.file(), *MakeWorkload(config), &warnings_, options);
  }
  bool OutputHas(const std::string& text) const { return out_.find(text) != std::string::npos; }

  test::TempDir tmp_{"faultline-check-test"};
  std::string out_;
  std::vector<std::string> warnings_;
};

TEST_F(CheckTest, AHistoryWithoutReplicaReadsSkipsConvergenceAndIsValid) {
  Write(SetHistory());
  EXPECT_EQ(Check(), 0) << out_;
  EXPECT_TRUE(OutputHas("convergence: skipped: no replica-read rounds in the history")) << out_;
  EXPECT_TRUE(OutputHas("set: valid")) << out_;
  EXPECT_TRUE(OutputHas("verdict: valid")) << out_;
  // With replica reads the convergence checker runs.
  Write(SetHistory({1, 2, 3}, /*replica_reads=*/true));
  EXPECT_EQ(Check(), 0) << out_;
  EXPECT_TRUE(OutputHas("convergence: valid")) << out_;
  EXPECT_FALSE(OutputHas("skipped")) << out_;
}

// Inside `faultline run` (no skip_absent) the adapter should have recorded
// replica reads: their absence still makes convergence, and the run, unknown.
TEST_F(CheckTest, InARunMissingReplicaReadsStayUnknown) {
  Write(SetHistory());
  RunResults run = CheckInProcess({});
  EXPECT_EQ(run.valid(), Validity::kUnknown) << run.summary();
  EXPECT_TRUE(run.skipped.empty());
  RunResults check = CheckInProcess({.lenient = true, .skip_absent = true, .only = {}});
  EXPECT_EQ(check.valid(), Validity::kTrue) << check.summary();
  const json j = check.ToJson();
  EXPECT_EQ(j["skipped"], json({{"convergence", "no replica-read rounds in the history"}}));
  EXPECT_FALSE(j["checkers"].contains("convergence")) << j.dump(2);
  EXPECT_EQ(j["history"]["skipped_lines"], 0);
  EXPECT_EQ(j["history"]["missing_index_count"], 0);
  // The same JSON from the command line, for scripts.
  EXPECT_EQ(Check({"--json"}), 0) << out_;
  const json printed = json::parse(out_);
  EXPECT_EQ(printed["valid"], true);
  EXPECT_EQ(printed["skipped"], j["skipped"]);
  EXPECT_EQ(printed["checkers"]["set"]["valid"], true);
}

TEST_F(CheckTest, CheckersFlagChoosesAndNamesBadNames) {
  Write(SetHistory({1, 2, 3}, true));
  EXPECT_EQ(Check({"--checkers", "set"}), 0) << out_;
  EXPECT_TRUE(OutputHas("set: valid")) << out_;
  EXPECT_TRUE(OutputHas("convergence: skipped: not chosen (--checkers)")) << out_;
  EXPECT_TRUE(OutputHas("stats: skipped: not chosen (--checkers)")) << out_;
  // A loss the set checker finds is still found when only it runs.
  Write(SetHistory({1, 2}, true));
  EXPECT_EQ(Check({"--checkers", "set,stats"}), 1) << out_;
  EXPECT_EQ(Check({"--checkers", "stats"}), 0) << out_;

  EXPECT_EQ(Check({"--checkers", "set,lost-updates"}), 2) << out_;
  EXPECT_TRUE(OutputHas("unknown checker \"lost-updates\" for workload set; its checkers are: set, convergence, stats"))
      << out_;
  EXPECT_EQ(Check({"--checkers", ","}), 2) << out_;
  EXPECT_TRUE(OutputHas("--checkers needs at least one checker name")) << out_;
  // Only convergence chosen, and the history has no replica reads: nothing ran, so nothing is proven.
  Write(SetHistory());
  EXPECT_EQ(Check({"--checkers", "convergence"}), 2) << out_;
  EXPECT_TRUE(
      OutputHas("verdict: unknown: no checker ran (set skipped: not chosen (--checkers); convergence skipped: "
                "no replica-read rounds in the history; stats skipped: not chosen (--checkers))"))
      << out_;
}

// The issue's case: a lone ok line with invalid UTF-8 is skipped; the stats
// checker then saw no ok add ("no add op completed ok") and the verdict was
// invalid (exit 1). Absent data is not an anomaly: unknown, with why.
TEST_F(CheckTest, ASkippedLineCannotMakeTheVerdictInvalid) {
  std::vector<std::string> lines = {
      R"({"index":0,"time":1,"type":"invoke","process":0,"f":"add","key":"k1","value":1})",
      "{\"index\":1,\"time\":2,\"type\":\"ok\",\"process\":0,\"f\":\"add\",\"key\":\"k1\",\"value\":1,\"node\":"
      "\"n\xff\"}",
      R"({"index":2,"time":3,"type":"invoke","process":5,"f":"read","key":"k1","node":"n1"})",
      R"({"index":3,"time":4,"type":"ok","process":5,"f":"read","key":"k1","value":[1],"node":"n1"})"};
  Write(lines);
  EXPECT_EQ(Check(), 2) << out_;
  EXPECT_TRUE(OutputHas("line 2: skipped")) << out_;
  EXPECT_TRUE(OutputHas("stats: unknown: not confirmed, as 1 history line is missing")) << out_;
  EXPECT_TRUE(
      OutputHas("verdict: unknown: the history is not whole (1 malformed line skipped, 1 index value missing (1))"))
      << out_;
  // A clean history with one malformed middle line: unknown too, never valid.
  lines = SetHistory();
  lines.insert(lines.begin() + 3, "{\"index\": oops");
  Write(lines);
  EXPECT_EQ(Check(), 2) << out_;
  EXPECT_TRUE(OutputHas("1 malformed line skipped")) << out_;
}

// An ok add whose own line names its element, missing from a read that names
// its key, is lost whatever a skipped line held: still invalid.
TEST_F(CheckTest, ALossInLinesThatParsedIsStillInvalid) {
  std::vector<std::string> lines = SetHistory({1, 2});
  lines.insert(lines.begin() + 2, "garbage");
  Write(lines);
  EXPECT_EQ(Check(), 1) << out_;
  EXPECT_TRUE(OutputHas("set: invalid: 1 acknowledged add is lost whatever the 1 missing history line held")) << out_;
}

TEST_F(CheckTest, IndexHolesAndDuplicatesAreReportedAndUnknown) {
  std::vector<std::string> lines = SetHistory();
  lines.erase(lines.begin() + 6);  // the invoke of n1's read: a clean history otherwise
  Write(lines);
  RunResults hole = CheckInProcess({.lenient = true, .skip_absent = true, .only = {}});
  EXPECT_EQ(hole.valid(), Validity::kUnknown) << hole.summary();
  EXPECT_EQ(hole.index.missing, (std::vector<int64_t>{6}));
  EXPECT_EQ(hole.ToJson()["history"]["missing_index"], json({6}));
  EXPECT_EQ(Check(), 2) << out_;
  EXPECT_TRUE(OutputHas("verdict: unknown: the history is not whole (1 index value missing (6))")) << out_;

  lines = SetHistory();
  lines.insert(lines.begin() + 4, lines[3]);  // an ok line written twice
  Write(lines);
  EXPECT_EQ(Check(), 2) << out_;
  EXPECT_TRUE(OutputHas("the history is not whole (1 line with an index already seen (3))")) << out_;
}

// A crashed writer's truncated last line is a warning, not a missing line:
// the verdict stands (README "faultline check").
TEST_F(CheckTest, ATruncatedLastLineKeepsTheVerdict) {
  std::vector<std::string> lines = SetHistory();
  lines.push_back(R"({"index":10,"time":11,"type":"inv)");
  std::ofstream(tmp_.file(), std::ios::binary) << [&] {
    std::string text;
    for (size_t i = 0; i < lines.size(); ++i) text += lines[i] + (i + 1 < lines.size() ? "\n" : "");
    return text;
  }();
  EXPECT_EQ(Check(), 0) << out_;
  EXPECT_TRUE(OutputHas("last line skipped (truncated?)")) << out_;
}

}  // namespace
}  // namespace faultline
