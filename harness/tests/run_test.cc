// End to end: the real `faultline` binary runs dynastore on real local
// network-namespace nodes. Valid runs, a store broken on purpose, bad input,
// and interruption (SIGINT, SIGKILL + `faultline cleanup`) leaving nothing
// behind. Each test has its own store dir and state dir (FAULTLINE_STATE_DIR),
// so concurrent tests never see each other's clusters.
#include "testing/run_fixture.h"

namespace faultline {
namespace test {
namespace {

TEST_F(FaultlineRun, ThreeNodesGiveAValidVerdict) {
  const int code = RunFaultline(RunArgs({"--time-limit", "8", "--rate", "60"}));
  ASSERT_EQ(code, 0) << Output();
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  EXPECT_EQ(results["valid"], true) << results.dump(2);
  const json& set = results["checkers"]["set"];
  EXPECT_GT(set["ok_count"].get<int>(), 200) << set.dump(2);  // ~60/s for 8 s
  EXPECT_EQ(set["lost_count"], 0);
  // The resolved config repeats the run: seed and node count recorded.
  const json test = json::parse(ReadFile(run / "test.json"));
  EXPECT_EQ(test["seed"], 12345);
  EXPECT_EQ(test["local"], 3);
  EXPECT_EQ(test["concurrency"], "2n");
  // The history is readable and has final reads from every node.
  const HistoryReadResult h = ReadHistory(run / "history.jsonl");
  EXPECT_TRUE(h.warnings.empty());
  std::set<std::string> read_nodes;
  for (const Op& op : h.ops) {
    if (op.f == "read" && op.type == OpType::kOk) read_nodes.insert(op.node);
  }
  EXPECT_EQ(read_nodes, (std::set<std::string>{"n1", "n2", "n3"}));
  // Replica-read rounds start right after the heal, during the quiesce, so the
  // time to converge is measured from there rather than from after the final reads.
  const auto first = [&](const std::string& f) {
    return std::find_if(h.ops.begin(), h.ops.end(), [&](const Op& op) { return op.f == f; }) - h.ops.begin();
  };
  EXPECT_LT(first("replica-read"), first("read"));
  EXPECT_EQ(results["checkers"]["convergence"]["valid"], true) << results["checkers"]["convergence"].dump(2);
  for (const char* node : {"n1", "n2", "n3"}) {
    EXPECT_NE(ReadFile(run / "nodes" / node / "dynastore.log").find("listening"), std::string::npos) << node;
  }
  // The terminal got the verdict line and the run directory, not the nodes' output.
  EXPECT_NE(Output().find("verdict: valid"), std::string::npos) << Output();
  EXPECT_EQ(Output().find("dynastore 0."), std::string::npos) << Output();
  ExpectNothingLeft(ClusterId(run));

  // `faultline check` reaches the same verdict from the stored files...
  fs::remove(dir_ / "out.txt");
  EXPECT_EQ(RunFaultline({"check", run.string()}), 0) << Output();
  EXPECT_NE(Output().find("verdict: valid"), std::string::npos) << Output();
  // ...accepts a truncated last line (a crashed writer)...
  const std::string text = ReadFile(run / "history.jsonl");
  const fs::path copy = dir_ / "history.jsonl";
  std::ofstream(copy) << text.substr(0, text.size() - 10);
  EXPECT_EQ(RunFaultline({"check", copy.string(), "--workload", "set"}), 0) << Output();
  // ...reports a malformed middle line by number and will not call the rest valid...
  std::string broken = text;
  const size_t third_line = broken.find('\n', broken.find('\n') + 1) + 1;
  broken.insert(third_line, "{\"index\": oops\n");
  std::ofstream(copy) << broken;
  fs::remove(dir_ / "out.txt");
  EXPECT_EQ(RunFaultline({"check", copy.string(), "--workload", "set"}), 2) << Output();
  EXPECT_NE(Output().find("line 3"), std::string::npos) << Output();
  // ...and asks which workload wrote a bare history.
  fs::remove(dir_ / "out.txt");
  EXPECT_EQ(RunFaultline({"check", copy.string()}), 2);
  EXPECT_NE(Output().find("--workload"), std::string::npos) << Output();
}

TEST_F(FaultlineRun, LastWriteWinsLosesAddsAndTheVerdictSaysSo) {
  // --lww drops concurrent siblings: concurrent adds to one key must get lost.
  const int code = RunFaultline(
      RunArgs({"--time-limit", "6", "--rate", "300", "--keys", "1", "--concurrency", "12", "--dynastore-arg=--lww"}));
  ASSERT_EQ(code, 1) << Output();
  const json results = json::parse(ReadFile(LatestRun() / "results.json"));
  EXPECT_EQ(results["valid"], false);
  EXPECT_GT(results["checkers"]["set"]["lost_count"].get<int>(), 0);
  EXPECT_NE(Output().find("verdict: invalid"), std::string::npos) << Output();
  ExpectNothingLeft(ClusterId(LatestRun()));
}

TEST_F(FaultlineRun, BadInputExitsTwoWithOneLineAndCreatesNothing) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--workload", "bank"}, "unknown \"workload\" \"bank\""},
      {{"--db", "mongo"}, "unknown \"db\" \"mongo\""},
      {{"--time-limit", "0"}, "\"time-limit\""},
      {{"--rate", "-1"}, "\"rate\""},
      {{"--concurrency", "abc"}, "\"concurrency\""},
      {{"--local", "2"}, "too few nodes for N"},
      {{"--config", "/nonexistent.json"}, "/nonexistent.json"},
  };
  for (const auto& [args, expected] : cases) {
    fs::remove(dir_ / "out.txt");
    std::vector<std::string> all{"run", "--store-dir", store_.string()};
    all.insert(all.end(), args.begin(), args.end());
    EXPECT_EQ(RunFaultline(all), 2) << Output();
    const std::string out = Output();
    EXPECT_NE(out.find(expected), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  }
  EXPECT_FALSE(fs::exists(store_));
  EXPECT_EQ(RunFaultline({"run", "--no-such-flag"}), 2);
}

TEST_F(FaultlineRun, WithoutNetAdminItSaysToUseSudo) {
  // Root without CAP_NET_ADMIN, as in a restricted container.
  const int code = Wait(Start(RunArgs({"--time-limit", "5"}), {"setpriv", "--bounding-set", "-net_admin", "--"}));
  const std::string out = Output();
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("needs root (CAP_NET_ADMIN)"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_FALSE(fs::exists(store_));
}

TEST_F(FaultlineRun, ClusterUpStatusDownByHand) {
  ASSERT_EQ(RunFaultline({"cluster", "up", "--local", "2"}), 0) << Output();
  const std::string up = Output();
  const auto at = up.find("cluster ");
  ASSERT_NE(at, std::string::npos) << up;
  const std::string id = up.substr(at + 8, up.find(' ', at + 8) - at - 8);
  EXPECT_NE(up.find("n2  10."), std::string::npos) << up;
  EXPECT_NE(Capture("ip netns list").find("fl-" + id + "-n2"), std::string::npos);
  // A manual cluster is not debris: cleanup without --all leaves it.
  ASSERT_EQ(RunFaultline({"cleanup"}), 0);
  EXPECT_NE(Capture("ip netns list").find("fl-" + id + "-n1"), std::string::npos);
  fs::remove(dir_ / "out.txt");
  ASSERT_EQ(RunFaultline({"cluster", "status"}), 0);
  EXPECT_NE(Output().find(id), std::string::npos) << Output();
  EXPECT_EQ(RunFaultline({"cluster", "down", "nosuchid"}), 2);
  ASSERT_EQ(RunFaultline({"cluster", "down", id}), 0) << Output();
  ExpectNothingLeft(id);
}

TEST_F(FaultlineRun, LeaveDbRunningKeepsTheStoreUpUntilClusterDown) {
  ASSERT_EQ(RunFaultline(RunArgs({"--time-limit", "2", "--leave-db-running"})), 0) << Output();
  const std::string id = ClusterId(LatestRun());
  ASSERT_FALSE(id.empty());
  EXPECT_NE(ProcessesMentioning(NodesRoot(id).string() + "/n3/"), "") << "the store should still run";
  EXPECT_NE(Output().find("faultline cluster down " + id), std::string::npos) << Output();
  ASSERT_EQ(RunFaultline({"cluster", "down", id}), 0) << Output();
  ExpectNothingLeft(id);
}

TEST_F(FaultlineRun, SigintMidRunTearsDownAndEndsUnknown) {
  pid_ = Start(RunArgs({"--time-limit", "60", "--rate", "50"}));
  const fs::path run = WaitForMainPhase(store_, 60s);
  ASSERT_FALSE(run.empty()) << Output();
  ASSERT_EQ(::kill(pid_, SIGINT), 0);
  EXPECT_EQ(Wait(pid_, 60s), 2) << Output();
  const json results = json::parse(ReadFile(run / "results.json"));
  EXPECT_EQ(results["valid"], "unknown");
  EXPECT_EQ(results["incomplete"], true);
  const HistoryReadResult h = ReadHistory(run / "history.jsonl");  // kept, readable
  EXPECT_GT(h.ops.size(), 20u);
  EXPECT_TRUE(fs::exists(run / "nodes" / "n1" / "dynastore.log"));
  ExpectNothingLeft(ClusterId(run));
}

TEST_F(FaultlineRun, SigkillMidRunThenCleanupLeavesNothing) {
  pid_ = Start(RunArgs({"--time-limit", "60", "--rate", "50"}));
  const fs::path run = WaitForMainPhase(store_, 60s);
  ASSERT_FALSE(run.empty()) << Output();
  const std::string id = ClusterId(run);
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(::kill(pid_, SIGKILL), 0);
  Wait(pid_, 10s);
  // The crashed run's nodes are still there until cleanup.
  EXPECT_NE(Capture("ip netns list").find("fl-" + id), std::string::npos);
  ASSERT_EQ(RunFaultline({"cleanup"}), 0) << Output();
  ExpectNothingLeft(id);
  // The history survives the crash: readable, at most a truncated last line.
  const HistoryReadResult h = ReadHistory(run / "history.jsonl");
  EXPECT_GT(h.ops.size(), 20u);
  EXPECT_LE(h.warnings.size(), 1u);
}

}  // namespace
}  // namespace test
}  // namespace faultline
