// End to end on container nodes: `faultline run --containers` with every
// fault kind (whole-node ones too), Redis Cluster and the external example
// inside containers, a third-party store from an image the test builds
// itself, a harness SIGKILLed mid-run, and a machine without podman.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <sstream>

#include "testing/run_fixture.h"

namespace faultline::test {
namespace {

class ContainerRun : public FaultlineRun {
 protected:
  // Nemesis ops of the run: f → the ops with that f.
  std::map<std::string, std::vector<Op>> NemesisOps(const fs::path& run) {
    std::map<std::string, std::vector<Op>> ops;
    for (const Op& op : ReadHistory(run / "history.jsonl").ops) {
      if (op.process == kNemesisProcess) ops[op.f].push_back(op);
    }
    return ops;
  }
};

TEST_F(ContainerRun, EveryFaultKindOnFiveContainerNodesIsHealedAndTheVerdictIsValid) {
  const int code = RunFaultline({"run",
                                 "--local",
                                 "5",
                                 "--containers",
                                 "--node-memory",
                                 "512m",
                                 "--store-dir",
                                 store_.string(),
                                 "--seed",
                                 "7",
                                 "--nemesis",
                                 "all,crash,freeze,starve",
                                 "--nemesis-interval",
                                 "1.5",
                                 "--time-limit",
                                 "14",
                                 "--rate",
                                 "50",
                                 "--quiesce",
                                 "3"});
  const fs::path run = LatestRun();
  EXPECT_EQ(code, 0) << Output() << ReadFile(run / "results.json");
  auto ops = NemesisOps(run);
  for (const std::string fault : {"partition", "kill", "pause", "clock", "loss", "crash", "freeze", "starve"}) {
    ASSERT_EQ(ops["heal-" + fault].size(), 1u) << fault;
    EXPECT_EQ(ops["heal-" + fault][0].error, "") << fault;
  }
  const std::string log = ReadFile(run / "faultline.log");
  EXPECT_NE(log.find("Podman containers"), std::string::npos) << log;
  EXPECT_NE(log.find("every fault healed"), std::string::npos) << log;
  ExpectNothingLeft(ClusterId(run));
}

// Each whole-node fault made to happen: the final fault of the main phase
// is still in effect when it ends, and the heal undoes it.
TEST_F(ContainerRun, CrashFreezeAndStarveEachHitANodeAndAreUndone) {
  const std::map<std::string, std::string> undone = {{"crash", "booted"}, {"freeze", "thawed"}, {"starve", "restored"}};
  for (const auto& [fault, key] : undone) {
    const int code = RunFaultline({"run",
                                   "--local",
                                   "3",
                                   "--containers",
                                   "--store-dir",
                                   store_.string(),
                                   "--seed",
                                   "3",
                                   "--nemesis",
                                   fault,
                                   "--nemesis-targets",
                                   "one",
                                   "--nemesis-interval",
                                   "30",
                                   "--nemesis-final",
                                   "2",
                                   "--time-limit",
                                   "4",
                                   "--rate",
                                   "40",
                                   "--quiesce",
                                   "2"});
    const fs::path run = LatestRun();
    EXPECT_EQ(code, 0) << fault << ":\n" << Output() << ReadFile(run / "results.json");
    auto ops = NemesisOps(run);
    ASSERT_EQ(ops["start-" + fault].size(), 1u) << fault;
    const Op& start = ops["start-" + fault][0];
    EXPECT_EQ(start.error, "") << fault;
    ASSERT_EQ(start.value["targets"].size(), 1u) << start.value.dump();
    ASSERT_EQ(ops["heal-" + fault].size(), 1u) << fault;
    EXPECT_EQ(ops["heal-" + fault][0].value[key], start.value["targets"]) << ops["heal-" + fault][0].value.dump();
    ExpectNothingLeft(ClusterId(run));
  }
}

TEST_F(ContainerRun, WholeNodeFaultsWithoutContainersAreAConfigError) {
  const int code = RunFaultline(RunArgs({"--nemesis", "crash", "--time-limit", "2"}));
  EXPECT_EQ(code, 2) << Output();
  EXPECT_NE(Output().find("needs container nodes"), std::string::npos) << Output();
}

TEST_F(ContainerRun, RedisClusterRunsOnContainerNodes) {
  const int code = RunFaultline({"run",
                                 "--db",
                                 "redis-cluster",
                                 "--local",
                                 "6",
                                 "--containers",
                                 "--nemesis",
                                 "partition",
                                 "--nemesis-interval",
                                 "3",
                                 "--time-limit",
                                 "8",
                                 "--store-dir",
                                 store_.string(),
                                 "--seed",
                                 "3",
                                 "--quiesce",
                                 "2",
                                 "--convergence-timeout",
                                 "10"});
  EXPECT_TRUE(code == 0 || code == 1) << "exit " << code << ":\n" << Output();
  const fs::path run = LatestRun();
  const std::string log = ReadFile(run / "faultline.log");
  EXPECT_NE(log.find("redis-cluster is up on 6 nodes"), std::string::npos) << log;
  EXPECT_NE(log.find("Podman containers"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(run / "nodes" / "n1" / "redis.log"));
  ExpectNothingLeft(ClusterId(run));
}

// etcd members in containers, crashed (the container killed, then booted and
// the member restarted from its data directory) from 2 s in: a crash
// certainly happens, and linearizable key-value ops stay linearizable.
TEST_F(ContainerRun, EtcdSurvivesContainerCrashesLinearizably) {
  const int code = RunFaultline({"run",
                                 "--db",
                                 "etcd",
                                 "--workload",
                                 "cas-register",
                                 "--local",
                                 "3",
                                 "--containers",
                                 "--nemesis",
                                 "crash",
                                 "--nemesis-interval",
                                 "2",
                                 "--time-limit",
                                 "8",
                                 "--store-dir",
                                 store_.string(),
                                 "--seed",
                                 "5",
                                 "--quiesce",
                                 "2"});
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  ASSERT_EQ(code, 0) << Output() << results.dump(2);
  EXPECT_EQ(results["checkers"]["linearizable"]["valid"], true) << results.dump(2);
  const auto nemesis = NemesisOps(run);
  ASSERT_TRUE(nemesis.count("start-crash")) << ReadFile(run / "history.jsonl");
  EXPECT_TRUE(nemesis.count("stop-crash"));
  EXPECT_TRUE(fs::exists(run / "nodes" / "n1" / "etcd.log"));
  ExpectNothingLeft(ClusterId(run));
}

TEST_F(ContainerRun, HarnessKilledMidRunLeavesNothingAfterCleanup) {
  pid_ = Start(RunArgs({"--containers", "--time-limit", "60", "--nemesis", "freeze", "--nemesis-interval", "1"}));
  const fs::path run = WaitForMainPhase(store_, 120s);
  ASSERT_FALSE(run.empty()) << Output();
  const std::string id = ClusterId(run);
  ASSERT_FALSE(id.empty());
  EXPECT_NE(Capture("podman ps -a --format '{{.Names}}'").find("fl-" + id + "-n1"), std::string::npos);
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  ASSERT_EQ(RunFaultline({"cleanup"}), 0) << Output();
  EXPECT_NE(Output().find("removed container fl-" + id + "-n1"), std::string::npos) << Output();
  ExpectNothingLeft(id);
}

// A harness killed while a whole-node fault is in effect (held 5 s: long
// enough to see it and kill the harness on a loaded machine) leaves a node
// crashed, frozen or starved, which `faultline heal` repairs (restarting a
// crashed node's store from the run's test.json).
TEST_F(ContainerRun, HealRepairsANodeLeftCrashedFrozenOrStarved) {
  pid_ = Start(RunArgs({"--containers", "--node-cpus", "1", "--nemesis", "crash,freeze,starve", "--nemesis-interval",
                        "5", "--time-limit", "60", "--rate", "30", "--leave-db-running"}));
  const std::string fault = WaitForFaultInEffect(store_, 90s);
  ASSERT_FALSE(fault.empty()) << Output();
  ASSERT_EQ(::kill(pid_, SIGKILL), 0);
  Wait(pid_, 10s);
  const std::string id = ClusterId(LatestRun());
  ASSERT_FALSE(id.empty());
  // Each node's state and CPU quota, from one podman call (~0.1 CPU-s each).
  auto states = [&] {
    std::string s;
    std::istringstream inspected(Capture("podman inspect --format '{{.State.Status}} {{.Id}}' fl-" + id + "-n1 fl-" +
                                         id + "-n2 fl-" + id + "-n3"));
    for (std::string status, container; inspected >> status >> container;) {
      s += status + "\n" + ReadFile("/sys/fs/cgroup/cpu/libpod_parent/libpod-" + container + "/cpu.cfs_quota_us");
    }
    return s;
  };
  const std::string healthy = "running\n100000\nrunning\n100000\nrunning\n100000\n";
  EXPECT_NE(states(), healthy) << fault << " outlived its harness";
  ASSERT_EQ(RunFaultline({"heal", id}), 0) << Output();
  EXPECT_EQ(states(), healthy) << Output();
  ASSERT_EQ(RunFaultline({"cleanup", "--all"}), 0) << Output();
  ExpectNothingLeft(id);
}

TEST_F(ContainerRun, ClusterUpMakesContainerNodesThatClusterDownRemoves) {
  ASSERT_EQ(RunFaultline({"cluster", "up", "--local", "2", "--containers", "--node-memory", "128m"}), 0) << Output();
  const std::string up = Output();
  const size_t at = up.find("cluster ");
  ASSERT_NE(at, std::string::npos) << up;
  const std::string id = up.substr(at + 8, 6);
  EXPECT_NE(up.find("(Podman containers)"), std::string::npos) << up;
  EXPECT_NE(up.find("podman exec fl-" + id + "-n1"), std::string::npos) << up;
  EXPECT_EQ(Capture("podman exec fl-" + id + "-n2 hostname"), "n2\n");
  ASSERT_EQ(RunFaultline({"cluster", "down", id}), 0) << Output();
  ExpectNothingLeft(id);
}

TEST_F(ContainerRun, WithoutPodmanTheRunExitsTwoBeforeCreatingAnything) {
  const std::string path = (dir_ / "bin").string();
  fs::create_directories(path);
  for (const char* tool : {"ip", "iptables"}) {  // what namespace nodes need, not podman
    std::error_code ec;
    fs::create_symlink("/usr/sbin/" + std::string(tool), path + "/" + tool, ec);
  }
  const int code = Wait(Start(RunArgs({"--containers", "--time-limit", "2"}), {"env", "PATH=" + path}));
  EXPECT_EQ(code, 2) << Output();
  EXPECT_NE(Output().find("missing: podman, runc, nsenter"), std::string::npos) << Output();
  EXPECT_NE(Output().find("apt-get install podman runc"), std::string::npos) << Output();
  for (const auto& entry : fs::directory_iterator(dir_ / "state")) {
    EXPECT_EQ(entry.path().filename().string()[0], '.') << "state file made: " << entry.path();
  }
}

}  // namespace
}  // namespace faultline::test
