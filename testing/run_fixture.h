// FaultlineRun: a fixture that runs the real `faultline` binary as a child
// process with its own store dir and state dir (FAULTLINE_STATE_DIR), so
// concurrent tests never see each other's clusters, and checks that a
// cluster left nothing behind. Used by the end-to-end tests.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "checkers/history.h"
#include "testing/per_test_dir.h"
#include "testing/proc_support.h"

namespace faultline {
namespace test {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

// Output of a shell-free command on the host.
inline std::string Capture(const std::string& command) {
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
    dir_ = PerTestDir("faultline-run-test");
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
    // Whatever a failed test left: remove it the way users would. A test
    // that passed with no cluster record in its state dir has nothing there
    // to remove, and skips the cleanup's sweep (it asks Podman for its
    // containers: ~0.1 CPU-s, in ~90 tests); debris without a record is
    // swept once at the end of ctest (scripts/sweep_test_leftovers).
    std::error_code ec;
    if (HasFailure() || !StateRecords(ec).empty() || ec) RunFaultline({"cleanup", "--all"});
    fs::remove_all(dir_);
  }

  // The cluster records in the state dir (<id>.json; its lock files start
  // with a dot). `ec` says when the directory could not be read.
  std::vector<fs::path> StateRecords(std::error_code& ec) const {
    std::vector<fs::path> records;
    for (const auto& entry : fs::directory_iterator(dir_ / "state", ec)) {
      if (entry.path().filename().string()[0] != '.') records.push_back(entry.path());
    }
    return records;
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

  // `faultline run` on `nodes` local namespace nodes with this test's store dir, then `extra`.
  std::vector<std::string> RunArgs(std::vector<std::string> extra, int nodes = 3) {
    std::vector<std::string> args{
        "run", "--local", std::to_string(nodes), "--store-dir", store_.string(), "--quiesce", "1", "--seed", "12345"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  fs::path LatestRun() const { return fs::canonical(store_ / "latest"); }

  // The run's cluster id, from "cluster <id> on <subnet>" in faultline.log
  // (the db name may say "cluster" too: redis-cluster).
  std::string ClusterId(const fs::path& run) const {
    const std::string log = ReadFile(run / "faultline.log");
    for (size_t at = log.find("cluster "); at != std::string::npos; at = log.find("cluster ", at + 1)) {
      const size_t end = log.find(' ', at + 8);
      if (end == at + 14 && log.compare(end, 4, " on ") == 0) return log.substr(at + 8, 6);
    }
    return "";
  }

  // Nothing of cluster `id` is left: no state file, namespace, link, node
  // directory, process or container.
  void ExpectNothingLeft(const std::string& id) {
    ASSERT_FALSE(id.empty());
    std::error_code ec;
    for (const fs::path& record : StateRecords(ec)) ADD_FAILURE() << "state file left: " << record;
    EXPECT_FALSE(ec) << "cannot read " << dir_ / "state"
                     << ": " << ec.message();
    EXPECT_EQ(Capture("ip netns list").find("fl-" + id), std::string::npos) << Capture("ip netns list");
    EXPECT_EQ(Capture("ip -o link").find(id), std::string::npos) << Capture("ip -o link");
    EXPECT_EQ(NodesRoot(id), fs::path()) << "node directories left";
    EXPECT_EQ(ProcessesMentioning(NodesRootPrefix(id)), "") << "processes left";
    // Container nodes' containers (and with them their overlays).
    if (!MayHaveContainers(id)) return;
    const std::string containers = Capture("podman ps -a --format '{{.Names}}' 2>/dev/null");
    EXPECT_EQ(containers.find("fl-" + id + "-"), std::string::npos) << "containers left:\n" << containers;
  }

  // False only when `id` is the latest run's cluster and its resolved
  // config (test.json) says it ran without containers; anything else is
  // asked of Podman (~0.1 CPU-s a question).
  bool MayHaveContainers(const std::string& id) const {
    std::error_code ec;
    const fs::path run = fs::canonical(store_ / "latest", ec);
    if (ec || ClusterId(run) != id) return true;
    const json test = json::parse(ReadFile(run / "test.json"), nullptr, false);
    return !test.is_object() || !test.contains("containers") || test["containers"] != false;
  }

  // Where cluster `id` keeps its nodes' files: <temp dir>/faultline-<id>-XXXXXX (mkdtemp).
  static std::string NodesRootPrefix(const std::string& id) {
    return (fs::temp_directory_path() / ("faultline-" + id + "-")).string();
  }
  static fs::path NodesRoot(const std::string& id) {
    for (const auto& entry : fs::directory_iterator(fs::temp_directory_path())) {
      if (entry.path().string().rfind(NodesRootPrefix(id), 0) == 0) return entry.path();
    }
    return {};
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

// Waits until the run's history shows ops (the main phase is under way).
inline fs::path WaitForMainPhase(const fs::path& store, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    const fs::path run = fs::canonical(store / "latest", ec);
    if (!ec && fs::exists(run / "history.jsonl") && fs::file_size(run / "history.jsonl") > 2000) return run;
    std::this_thread::sleep_for(100ms);
  }
  return {};
}

// Waits until the history's latest nemesis op starts a fault (without an
// error); returns its f ("start-partition"), or "" at the limit.
inline std::string WaitForFaultInEffect(const fs::path& store, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    const fs::path run = fs::canonical(store / "latest", ec);
    if (!ec && fs::exists(run / "history.jsonl")) {
      std::string last;
      std::stringstream lines(ReadFile(run / "history.jsonl"));
      for (std::string line; std::getline(lines, line);) {
        if (line.find("\"process\":\"nemesis\"") != std::string::npos) last = line;
      }
      if (last.find("\"f\":\"start-") != std::string::npos && last.find("\"error\"") == std::string::npos) {
        return json::parse(last)["f"];
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  return "";
}

}  // namespace test
}  // namespace faultline
