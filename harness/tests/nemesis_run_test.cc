// End to end with faults: `faultline run --nemesis ...` on real namespace
// nodes. Every fault is healed at the end (and after SIGINT); a harness
// killed mid-fault leaves a cluster that `faultline heal` repairs. The runs
// use --leave-db-running so the healed cluster can be inspected afterwards.
#include "testing/run_fixture.h"

namespace faultline {
namespace test {
namespace {

class NemesisRun : public FaultlineRun {
 protected:
  // Node namespaces of cluster `id`.
  std::vector<std::string> Namespaces(const std::string& id) {
    std::vector<std::string> out;
    std::stringstream list(Capture("ip netns list"));
    for (std::string line; std::getline(list, line);) {
      const std::string ns = line.substr(0, line.find(' '));
      if (ns.rfind("fl-" + id + "-", 0) == 0) out.push_back(ns);
    }
    return out;
  }
  // Nodes that still have a faultline iptables chain or jump.
  std::string RulesLeft(const std::string& id) {
    std::string left;
    for (const std::string& ns : Namespaces(id)) {
      const std::string rules = Capture("ip netns exec " + ns + " iptables -S 2>&1");
      if (rules.find("FAULTLINE") != std::string::npos) left += ns + ":\n" + rules;
    }
    return left;
  }
  // Processes in the cluster's namespaces that are stopped (state T).
  std::string StoppedProcesses(const std::string& id) {
    std::string stopped;
    for (const std::string& ns : Namespaces(id)) {
      std::stringstream pids(Capture("ip netns pids " + ns));
      for (int pid; pids >> pid;) {
        if (ProcState(pid) == 'T') stopped += ns + " pid " + std::to_string(pid) + "\n";
      }
    }
    return stopped;
  }
};

TEST_F(NemesisRun, AllFaultsOnFiveNodesAreHealedAndTheVerdictIsValid) {
  const int code = RunFaultline({"run", "--local", "5", "--store-dir", store_.string(), "--seed", "7", "--nemesis",
                                 "all", "--nemesis-interval", "1.5", "--time-limit", "16", "--rate", "60", "--quiesce",
                                 "5", "--leave-db-running"});
  const fs::path run = LatestRun();
  const std::string id = ClusterId(run);
  EXPECT_EQ(code, 0) << Output() << ReadFile(run / "results.json");
  const History ops = ReadHistory(run / "history.jsonl").ops;
  std::set<std::string> started, healed;
  int nemesis_ops = 0;
  for (const Op& op : ops) {
    if (op.process != kNemesisProcess) continue;
    ++nemesis_ops;
    EXPECT_EQ(op.type, OpType::kInfo);
    if (op.f.rfind("start-", 0) == 0 && op.error.empty()) started.insert(op.f.substr(6));
    if (op.f.rfind("heal-", 0) == 0) {
      EXPECT_TRUE(op.error.empty()) << op.f << ": " << op.error;
      healed.insert(op.f.substr(5));
    }
  }
  EXPECT_GE(started.size(), 2u) << "faults started: " << nemesis_ops << " nemesis ops";
  EXPECT_EQ(healed, (std::set<std::string>{"partition", "kill", "pause", "clock", "loss"}));
  // The cluster left running is healthy: no rule, no stopped process, clocks at 0.
  EXPECT_EQ(RulesLeft(id), "");
  EXPECT_EQ(StoppedProcesses(id), "");
  for (int i = 1; i <= 5; ++i) {
    const std::string rc = ReadFile(NodesRoot(id) / ("n" + std::to_string(i)) / "faketime.rc");
    EXPECT_NE(rc.find('0'), std::string::npos) << "n" << i << " clock file: " << rc;
    EXPECT_EQ(rc.find_first_of("123456789"), std::string::npos) << "n" << i << " clock file: " << rc;
  }
  ASSERT_EQ(RunFaultline({"cluster", "down", id}), 0) << Output();
  ExpectNothingLeft(id);
}

TEST_F(NemesisRun, SigintDuringAPartitionOrPauseLeavesNoRuleAndNoStoppedProcess) {
  for (const std::string fault : {"partition", "pause"}) {
    pid_ = Start(RunArgs(
        {"--nemesis", fault, "--nemesis-interval", "2", "--time-limit", "60", "--rate", "30", "--leave-db-running"}));
    ASSERT_EQ(WaitForFaultInEffect(store_, 60s), "start-" + fault) << Output();
    ASSERT_EQ(::kill(pid_, SIGINT), 0);
    EXPECT_EQ(Wait(pid_, 60s), 2) << Output();
    const fs::path run = LatestRun();
    const std::string id = ClusterId(run);
    EXPECT_EQ(RulesLeft(id), "") << fault;
    EXPECT_EQ(StoppedProcesses(id), "") << fault;
    EXPECT_NE(ReadFile(run / "history.jsonl").find("\"f\":\"heal-" + fault + "\""), std::string::npos) << fault;
    ASSERT_EQ(RunFaultline({"cluster", "down", id}), 0) << Output();
    ExpectNothingLeft(id);
  }
}

TEST_F(NemesisRun, HealRepairsAClusterWhoseHarnessWasKilledMidFault) {
  // Faults held 5 s: long enough to see one in effect and kill the harness
  // before the scheduler stops it, even on a loaded machine.
  pid_ = Start(RunArgs({"--nemesis", "partition,pause", "--nemesis-interval", "5", "--time-limit", "60", "--rate", "30",
                        "--leave-db-running"}));
  const std::string fault = WaitForFaultInEffect(store_, 60s);
  ASSERT_FALSE(fault.empty()) << Output();
  ASSERT_EQ(::kill(pid_, SIGKILL), 0);
  Wait(pid_, 10s);
  const std::string id = ClusterId(LatestRun());
  // The fault outlived its harness...
  EXPECT_NE(RulesLeft(id) + StoppedProcesses(id), "") << fault;
  // ...until `faultline heal`.
  ASSERT_EQ(RunFaultline({"heal", id}), 0) << Output();
  EXPECT_EQ(RulesLeft(id), "");
  EXPECT_EQ(StoppedProcesses(id), "");
  ASSERT_EQ(RunFaultline({"cleanup", "--all"}), 0) << Output();
  ExpectNothingLeft(id);
}

}  // namespace
}  // namespace test
}  // namespace faultline
