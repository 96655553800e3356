// End to end over SSH: `faultline cluster up --local N --sshd` starts sshd in
// namespace nodes, then the real `faultline run --nodes ...` tests dynastore
// on them through SshRemote, exactly as it would real hosts.
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>

#include "harness/nodes/local/netns_thread.h"
#include "testing/run_fixture.h"

namespace faultline {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;
using test::FaultlineRun;
using test::ReadFile;

struct SshdUp {
  std::string id;     // cluster id
  std::string flags;  // --nodes ... --ssh-private-key ... --known-hosts ...
  std::string key, known_hosts;
  std::vector<std::string> addresses;
};

class SshRunTest : public FaultlineRun {
 protected:
  SshdUp ClusterUp(int nodes) {
    SshdUp up;
    const int rc = RunFaultline({"cluster", "up", "--local", std::to_string(nodes), "--sshd"});
    const std::string out = Output();
    EXPECT_EQ(rc, 0) << out;
    std::smatch m;
    if (std::regex_search(out, m, std::regex("cluster (\\w+)  subnet"))) up.id = m[1];
    const std::regex command("faultline run --nodes (\\S+) --ssh-private-key (\\S+) --known-hosts (\\S+)");
    if (std::regex_search(out, m, command)) {
      std::stringstream ss(m[1].str());
      for (std::string a; std::getline(ss, a, ',');) up.addresses.push_back(a);
      up.key = m[2];
      up.known_hosts = m[3];
    }
    EXPECT_EQ(static_cast<int>(up.addresses.size()), nodes) << out;
    return up;
  }
  std::vector<std::string> SshArgs(const SshdUp& up, std::vector<std::string> extra) {
    std::string nodes;
    for (const auto& a : up.addresses) nodes += (nodes.empty() ? "" : ",") + a;
    std::vector<std::string> args{"run",
                                  "--nodes",
                                  nodes,
                                  "--ssh-private-key",
                                  up.key,
                                  "--known-hosts",
                                  up.known_hosts,
                                  "--store-dir",
                                  store_.string(),
                                  "--quiesce",
                                  "1",
                                  "--seed",
                                  "4242",
                                  "--ssh-connect-timeout-ms",
                                  "3000"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  // The node directories the run logged ("n1=root@host:22:/tmp/faultline-...").
  static std::vector<std::string> RemoteDirs(const fs::path& run) {
    std::vector<std::string> dirs;
    const std::string log = ReadFile(run / "faultline.log");
    const std::regex dir("n\\d+=\\S+@\\S+:\\d+:(/\\S+)");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), dir); it != std::sregex_iterator(); ++it) {
      dirs.push_back((*it)[1]);
    }
    return dirs;
  }
  void ClusterDown(const SshdUp& up) {
    EXPECT_EQ(RunFaultline({"cluster", "down", up.id}), 0) << Output();
    ExpectNothingLeft(up.id);
  }
};

TEST_F(SshRunTest, FullRunOverSshWithPartitionsAndKillsIsValidAndCollectsLogs) {
  const SshdUp up = ClusterUp(3);
  ASSERT_FALSE(up.id.empty());
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = RunFaultline(SshArgs(up, {"--nemesis", "partition,kill", "--nemesis-interval", "2", "--time-limit",
                                           "8", "--convergence-timeout", "15"}));
  std::cout << "[figures] 8 s run over SSH took "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s" << std::endl;
  EXPECT_EQ(rc, 0) << Output();
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  EXPECT_EQ(results["valid"], true) << results.dump(2);
  for (const char* node : {"n1", "n2", "n3"}) {
    EXPECT_TRUE(fs::exists(run / "nodes" / node / "dynastore.log")) << node;
    EXPECT_GT(fs::file_size(run / "nodes" / node / "dynastore.log"), 0u) << node;
  }
  const std::string history = ReadFile(run / "history.jsonl");
  EXPECT_NE(history.find("\"start-partition\""), std::string::npos);
  // Partitions drop only node-to-node traffic: the harness's own SSH sessions
  // kept working through every one of them (no fault failed to start or heal).
  EXPECT_NE(Output().find(" 0 failed"), std::string::npos) << Output();
  const json config = json::parse(ReadFile(run / "test.json"));
  EXPECT_EQ(config["nodes"].size(), 3u);
  EXPECT_FALSE(config.contains("local"));
  EXPECT_EQ(config["ssh"]["private-key"], up.key);
  // The nodes' directories on the "hosts" are gone; no store process is left.
  // Each was a fresh mktemp -d directory (no name another user could plant).
  const std::vector<std::string> dirs = RemoteDirs(run);
  ASSERT_EQ(dirs.size(), 3u) << ReadFile(run / "faultline.log");
  for (const std::string& dir : dirs) {
    EXPECT_EQ(dir.rfind("/tmp/faultline-", 0), 0u) << dir;
    EXPECT_FALSE(fs::exists(dir)) << dir;
    EXPECT_EQ(ProcessesMentioning(dir + "/"), "");
  }
  ClusterDown(up);
}

TEST_F(SshRunTest, WrongKeyIsAnAuthenticationErrorNamingTheNodeExitTwo) {
  const SshdUp up = ClusterUp(1);
  ASSERT_FALSE(up.id.empty());
  const std::string wrong = (dir_ / "wrong_key").string();
  ASSERT_EQ(std::system(("ssh-keygen -q -t ed25519 -N '' -f " + wrong).c_str()), 0);
  SshdUp bad = up;
  bad.key = wrong;
  const int rc = RunFaultline(
      SshArgs(bad, {"--time-limit", "5", "--dynastore-n", "1", "--dynastore-r", "1", "--dynastore-w", "1"}));
  EXPECT_EQ(rc, 2) << Output();
  EXPECT_NE(Output().find("n1 (root@" + up.addresses[0] + ":22): authentication failed"), std::string::npos)
      << Output();
  // A password that does not work: tried, refused, and never printed or stored.
  const std::string secret = "hunter2 'secret'";
  std::vector<std::string> with_password = SshArgs(up, {"--time-limit", "1", "--password", secret, "--dynastore-n", "1",
                                                        "--dynastore-r", "1", "--dynastore-w", "1"});
  with_password.erase(with_password.begin() + 3, with_password.begin() + 5);  // no --ssh-private-key
  EXPECT_EQ(RunFaultline(with_password), 2);
  EXPECT_NE(Output().find("authentication failed for user root (tried password"), std::string::npos) << Output();
  EXPECT_EQ(Output().find("hunter2"), std::string::npos);
  EXPECT_EQ(ReadFile(LatestRun() / "test.json").find("hunter2"), std::string::npos);
  EXPECT_EQ(ReadFile(LatestRun() / "faultline.log").find("hunter2"), std::string::npos);
  // Unknown host key: refused; accepted with --strict-host-key-checking no.
  const fs::path empty = dir_ / "empty_known_hosts";
  std::ofstream(empty).close();
  SshdUp unknown = up;
  unknown.known_hosts = empty.string();
  EXPECT_EQ(RunFaultline(SshArgs(
                unknown, {"--time-limit", "1", "--dynastore-n", "1", "--dynastore-r", "1", "--dynastore-w", "1"})),
            2);
  EXPECT_NE(Output().find("unknown host key"), std::string::npos) << Output();
  EXPECT_EQ(RunFaultline(SshArgs(unknown, {"--time-limit", "1", "--dynastore-n", "1", "--dynastore-r", "1",
                                           "--dynastore-w", "1", "--strict-host-key-checking", "no"})),
            0)
      << Output();
  ClusterDown(up);
}

TEST_F(SshRunTest, SshdKilledMidRunEndsUnknownNamingTheNodeNeverHangs) {
  const SshdUp up = ClusterUp(3);
  ASSERT_FALSE(up.id.empty());
  pid_ = Start(SshArgs(up, {"--nemesis", "kill", "--nemesis-interval", "1", "--time-limit", "6"}));
  const fs::path run = test::WaitForMainPhase(store_, 60s);
  ASSERT_FALSE(run.empty()) << Output();
  // Every sshd process of n2 (listener and the harness's sessions) dies; the store stays.
  const std::string ns = "fl-" + up.id + "-n2";
  int killed = 0;
  for (int pid : NetnsPids(ns)) {
    const std::string cmd = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
    if (cmd.find("sshd") != std::string::npos) killed += ::kill(pid, SIGKILL) == 0;
  }
  EXPECT_GT(killed, 0);
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = Wait(pid_, 90s);
  std::cout << "[figures] run with n2's sshd killed ended "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
            << " s after the kill, exit " << rc << std::endl;
  EXPECT_EQ(rc, 2) << Output();
  EXPECT_NE(Output().find("n2 (root@" + up.addresses[1] + ":22)"), std::string::npos) << Output();
  std::cout << "[output] " << Output().substr(Output().find("verdict:")) << std::endl;
  ClusterDown(up);
  // n1's and n3's directories were removed over SSH; n2's could not be (its sshd is dead).
  const std::vector<std::string> dirs = RemoteDirs(run);
  ASSERT_EQ(dirs.size(), 3u) << ReadFile(run / "faultline.log");
  EXPECT_FALSE(fs::exists(dirs[0]));
  EXPECT_TRUE(fs::exists(dirs[1]));
  EXPECT_FALSE(fs::exists(dirs[2]));
  fs::remove_all(dirs[1]);
}

// etcd on SSH nodes: the same adapter, every member started, killed and
// restarted through SshRemote; a cas-register run under kills (the first
// 2 s in, so one certainly happens) must be valid, and every member's log
// comes back.
TEST_F(SshRunTest, EtcdOverSshWithKillsIsLinearizable) {
  const SshdUp up = ClusterUp(3);
  ASSERT_FALSE(up.id.empty());
  const int rc = RunFaultline(SshArgs(up, {"--db", "etcd", "--workload", "cas-register", "--nemesis", "kill",
                                           "--nemesis-interval", "2", "--time-limit", "8"}));
  const fs::path run = LatestRun();
  const json results = json::parse(ReadFile(run / "results.json"));
  EXPECT_EQ(rc, 0) << Output() << results.dump(2);
  EXPECT_EQ(results["checkers"]["linearizable"]["valid"], true) << results.dump(2);
  for (const char* node : {"n1", "n2", "n3"}) {
    EXPECT_GT(fs::file_size(run / "nodes" / node / "etcd.log"), 0u) << node;
  }
  EXPECT_NE(ReadFile(run / "history.jsonl").find("\"start-kill\""), std::string::npos);
  for (const std::string& dir : RemoteDirs(run)) EXPECT_EQ(ProcessesMentioning(dir + "/"), "") << dir;
  ClusterDown(up);
}

}  // namespace
}  // namespace faultline
