// End to end on container nodes: `faultline run --containers` with every
// fault kind (whole-node ones too), Redis Cluster and the external example
// inside containers, a third-party store from an image the test builds
// itself, a harness SIGKILLed mid-run, and a machine without podman.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "testing/run_fixture.h"

namespace faultline::test {
namespace {

class ContainerRun : public FaultlineRun {
 protected:
  // "cluster <id> on " in the run log (the db name may also say "cluster").
  std::string RunClusterId(const fs::path& run) const {
    const std::string log = ReadFile(run / "faultline.log");
    for (size_t at = log.find("cluster "); at != std::string::npos; at = log.find("cluster ", at + 1)) {
      const size_t end = log.find(' ', at + 8);
      if (end == at + 14 && log.compare(end, 4, " on ") == 0) return log.substr(at + 8, 6);
    }
    return "";
  }
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
  const int code = RunFaultline({"run", "--local", "5", "--containers", "--node-memory", "512m", "--store-dir",
                                 store_.string(), "--seed", "7", "--nemesis", "all,crash,freeze,starve",
                                 "--nemesis-interval", "1.5", "--time-limit", "14", "--rate", "50", "--quiesce", "3"});
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
  ExpectNothingLeft(RunClusterId(run));
}

// Each whole-node fault made to happen: the final fault of the main phase
// is still in effect when it ends, and the heal undoes it.
TEST_F(ContainerRun, CrashFreezeAndStarveEachHitANodeAndAreUndone) {
  const std::map<std::string, std::string> undone = {{"crash", "booted"}, {"freeze", "thawed"}, {"starve", "restored"}};
  for (const auto& [fault, key] : undone) {
    const int code = RunFaultline({"run", "--local", "3", "--containers", "--store-dir", store_.string(), "--seed", "3",
                                   "--nemesis", fault, "--nemesis-targets", "one", "--nemesis-interval", "30",
                                   "--nemesis-final", "2", "--time-limit", "4", "--rate", "40", "--quiesce", "2"});
    const fs::path run = LatestRun();
    EXPECT_EQ(code, 0) << fault << ":\n" << Output() << ReadFile(run / "results.json");
    auto ops = NemesisOps(run);
    ASSERT_EQ(ops["start-" + fault].size(), 1u) << fault;
    const Op& start = ops["start-" + fault][0];
    EXPECT_EQ(start.error, "") << fault;
    ASSERT_EQ(start.value["targets"].size(), 1u) << start.value.dump();
    ASSERT_EQ(ops["heal-" + fault].size(), 1u) << fault;
    EXPECT_EQ(ops["heal-" + fault][0].value[key], start.value["targets"]) << ops["heal-" + fault][0].value.dump();
    ExpectNothingLeft(RunClusterId(run));
  }
}

TEST_F(ContainerRun, WholeNodeFaultsWithoutContainersAreAConfigError) {
  const int code = RunFaultline(RunArgs({"--nemesis", "crash", "--time-limit", "2"}));
  EXPECT_EQ(code, 2) << Output();
  EXPECT_NE(Output().find("needs container nodes"), std::string::npos) << Output();
}

TEST_F(ContainerRun, RedisClusterRunsOnContainerNodes) {
  const int code = RunFaultline({"run", "--db", "redis-cluster", "--local", "6", "--containers", "--nemesis",
                                 "partition", "--nemesis-interval", "3", "--time-limit", "8", "--store-dir",
                                 store_.string(), "--seed", "3", "--quiesce", "2", "--convergence-timeout", "10"});
  EXPECT_TRUE(code == 0 || code == 1) << "exit " << code << ":\n" << Output();
  const fs::path run = LatestRun();
  const std::string log = ReadFile(run / "faultline.log");
  EXPECT_NE(log.find("redis-cluster is up on 6 nodes"), std::string::npos) << log;
  EXPECT_NE(log.find("Podman containers"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(run / "nodes" / "n1" / "redis.log"));
  ExpectNothingLeft(RunClusterId(run));
}

TEST_F(ContainerRun, HarnessKilledMidRunLeavesNothingAfterCleanup) {
  pid_ = Start(RunArgs({"--containers", "--time-limit", "60", "--nemesis", "freeze", "--nemesis-interval", "1"}));
  const fs::path run = WaitForMainPhase(store_, 120s);
  ASSERT_FALSE(run.empty()) << Output();
  const std::string id = RunClusterId(run);
  ASSERT_FALSE(id.empty());
  EXPECT_NE(Capture("podman ps -a --format '{{.Names}}'").find("fl-" + id + "-n1"), std::string::npos);
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  ASSERT_EQ(RunFaultline({"cleanup"}), 0) << Output();
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
