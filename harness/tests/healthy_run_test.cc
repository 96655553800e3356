// A healthy cluster is fully available (issue 14): with no fault injected,
// every operation of a default 5-node run succeeds. A fail or info op here
// means the harness sent traffic before the store was ready (or the store
// is broken), and would turn a nightly job red for nothing.
#include "testing/run_fixture.h"

namespace faultline {
namespace test {
namespace {

TEST_F(FaultlineRun, HealthyRunRecordsNoFailedOrUnknownOps) {
  const int code = RunFaultline(
      {"run", "--local", "5", "--store-dir", store_.string(), "--time-limit", "6", "--quiesce", "1", "--seed", "14"});
  ASSERT_EQ(code, 0) << Output();
  const fs::path run = LatestRun();
  const HistoryReadResult h = ReadHistory(run / "history.jsonl");
  int64_t ok = 0;
  std::vector<std::string> bad;
  for (const Op& op : h.ops) {
    if (op.process == kNemesisProcess) continue;
    if (op.type == OpType::kOk) ++ok;
    if (op.type == OpType::kFail || op.type == OpType::kInfo) bad.push_back(ToJsonLine(op));
  }
  EXPECT_GT(ok, 100) << "the run did too little to show anything";
  EXPECT_TRUE(bad.empty()) << bad.size() << " ops failed or are unknown on a healthy cluster, first: " << bad.front();
  ExpectNothingLeft(ClusterId(run));
}

}  // namespace
}  // namespace test
}  // namespace faultline
