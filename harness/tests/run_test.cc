// End to end: the real `faultline` binary runs dynastore on real local
// network-namespace nodes. Valid runs, a store broken on purpose, bad input,
// and interruption (SIGINT, SIGKILL + `faultline cleanup`) leaving nothing
// behind. Each test has its own store dir and state dir (FAULTLINE_STATE_DIR),
// so concurrent tests never see each other's clusters.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "history.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Output of a shell-free command on the host.
std::string Capture(const std::string& command) {
  std::string out;
  FILE* f = ::popen(command.c_str(), "r");
  char buf[4096];
  while (f != nullptr && std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
  if (f != nullptr) ::pclose(f);
  return out;
}

class FaultlineRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    dir_ = fs::temp_directory_path() /
           ("faultline-run-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "state");
    store_ = dir_ / "store";
  }
  void TearDown() override {
    if (dir_.empty()) return;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    // Whatever a failed test left: remove it the way users would.
    RunFaultline({"cleanup", "--all"});
    fs::remove_all(dir_);
  }

  // Starts faultline with argv (behind `prefix`, e.g. setpriv); output to dir_/out.txt.
  pid_t Start(const std::vector<std::string>& args, const std::vector<std::string>& prefix = {}) {
    const std::string out = (dir_ / "out.txt").string();
    const std::string state = (dir_ / "state").string();
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setenv("FAULTLINE_STATE_DIR", state.c_str(), 1);
      FILE* f = std::fopen(out.c_str(), "a");
      ::dup2(::fileno(f), 1);
      ::dup2(::fileno(f), 2);
      std::vector<char*> argv;
      for (const auto& a : prefix) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(const_cast<char*>(FAULTLINE_BIN));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    return pid;
  }
  int Wait(pid_t pid, std::chrono::seconds limit = 120s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        ADD_FAILURE() << "faultline did not exit in time; output:\n" << Output();
        return -1;
      }
      std::this_thread::sleep_for(50ms);
    }
    if (pid == pid_) pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  int RunFaultline(const std::vector<std::string>& args) { return Wait(Start(args)); }
  std::string Output() const { return ReadFile(dir_ / "out.txt"); }

  std::vector<std::string> RunArgs(std::vector<std::string> extra) {
    std::vector<std::string> args{"run", "--local", "3", "--store-dir", store_.string(), "--quiesce", "1",
                                  "--seed", "12345"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  fs::path LatestRun() const { return fs::canonical(store_ / "latest"); }

  // The run's cluster id, from the node directory named in faultline.log.
  std::string ClusterId(const fs::path& run) const {
    const std::string log = ReadFile(run / "faultline.log");
    const auto at = log.find("cluster ");
    if (at == std::string::npos) return "";
    return log.substr(at + 8, log.find(' ', at + 8) - at - 8);
  }

  // Nothing of cluster `id` is left: no state file, namespace, link, node
  // directory or process.
  void ExpectNothingLeft(const std::string& id) {
    ASSERT_FALSE(id.empty());
    for (const auto& entry : fs::directory_iterator(dir_ / "state")) {
      EXPECT_EQ(entry.path().filename().string()[0], '.') << "state file left: " << entry.path();
    }
    EXPECT_EQ(Capture("ip netns list").find("fl-" + id), std::string::npos) << Capture("ip netns list");
    EXPECT_EQ(Capture("ip -o link").find(id), std::string::npos) << Capture("ip -o link");
    EXPECT_FALSE(fs::exists("/tmp/faultline-" + id));
    EXPECT_EQ(ProcessesMentioning("/tmp/faultline-" + id + "/"), "") << "processes left";
  }

  // Command lines of processes whose argv mentions `text`.
  static std::string ProcessesMentioning(const std::string& text) {
    std::string found;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = ReadFile(entry.path() / "cmdline");
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      if (cmdline.find(text) != std::string::npos) found += name + ": " + cmdline + "\n";
    }
    return found;
  }

  fs::path dir_;
  fs::path store_;
  pid_t pid_ = -1;
};

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
  for (const char* node : {"n1", "n2", "n3"}) {
    EXPECT_NE(ReadFile(run / "nodes" / node / "dynastore.log").find("listening"), std::string::npos) << node;
  }
  // The terminal got the verdict line and the run directory, not the nodes' output.
  EXPECT_NE(Output().find("verdict: valid"), std::string::npos) << Output();
  EXPECT_EQ(Output().find("dynastore 0."), std::string::npos) << Output();
  ExpectNothingLeft(ClusterId(run));
}

TEST_F(FaultlineRun, LastWriteWinsLosesAddsAndTheVerdictSaysSo) {
  // --lww drops concurrent siblings: concurrent adds to one key must get lost.
  const int code = RunFaultline(RunArgs({"--time-limit", "6", "--rate", "300", "--keys", "1", "--concurrency", "12",
                                         "--dynastore-arg=--lww"}));
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

// Waits until the run's history shows ops (the main phase is under way).
fs::path WaitForMainPhase(const fs::path& store, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    const fs::path run = fs::canonical(store / "latest", ec);
    if (!ec && fs::exists(run / "history.jsonl") && fs::file_size(run / "history.jsonl") > 2000) return run;
    std::this_thread::sleep_for(100ms);
  }
  return {};
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
}  // namespace faultline
