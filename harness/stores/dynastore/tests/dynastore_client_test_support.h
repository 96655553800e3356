// What the DynastoreClient tests share: Daemon (one dynastore child process,
// fork/exec, dying with the test through PDEATHSIG), waits for readiness, and
// the DynastoreClientTest fixture that starts single nodes and clusters on
// free ports. The daemons are started directly so the client is tested apart
// from the Remote/DB adapter machinery.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/local_remote.h"
#include "harness/stores/dynastore/dynastore_client.h"
#include "harness/stores/dynastore/dynastore_db.h"
#include "harness/stores/http_connection.h"
#include "testing/dynastore_test_support.h"

namespace faultline::test {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// One dynastore child process; SIGKILLed and reaped on destruction.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& args, const fs::path& log) : log_(log) {
    std::vector<char*> argv;
    std::string bin = DYNASTORE_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string log_path = log.string();
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Daemon() { Kill(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // SIGSTOP returns once every thread is stopped (kill() alone returns before
  // a busy thread has noticed, and that thread may still answer a request).
  void Signal(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    if (sig != SIGSTOP) return;
    auto deadline = Clock::now() + milliseconds(5000);
    while (Clock::now() < deadline) {
      bool all_stopped = true;
      for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid_) + "/task")) {
        std::string stat = ReadFile(task.path() / "stat");
        auto paren = stat.rfind(')');
        all_stopped = all_stopped && paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'T';
      }
      if (all_stopped) return;
      std::this_thread::sleep_for(milliseconds(1));
    }
    ADD_FAILURE() << "dynastore " << pid_ << " not stopped after SIGSTOP";
  }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool Exited() {
    if (pid_ <= 0) return true;
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }
  std::string Log() const { return ReadFile(log_); }

 private:
  pid_t pid_ = -1;
  fs::path log_;
};

inline HttpResult Raw(HttpConnection& conn, std::string_view method, std::string_view target,
                      std::string_view body = "") {
  return conn.Request(method, target, body, Clock::now() + milliseconds(5000));
}

// Waits until GET /status answers 200.
inline ::testing::AssertionResult WaitReady(Daemon& d, int port) {
  HttpConnection conn("127.0.0.1", port);
  auto deadline = Clock::now() + milliseconds(15000);
  while (Clock::now() < deadline) {
    if (d.Exited()) return ::testing::AssertionFailure() << "dynastore exited: " << d.Log();
    HttpResult r = conn.Request("GET", "/status", "", Clock::now() + milliseconds(500));
    if (r.ok() && r.status == 200) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(milliseconds(20));
  }
  return ::testing::AssertionFailure() << "dynastore not ready on port " << port << ": " << d.Log();
}

// Waits until the node's failure detector sees `count` members up (nodes
// started one by one first see their later peers as down).
inline ::testing::AssertionResult WaitAllUp(int port, size_t count) {
  return test::AllMembersUp("127.0.0.1", port, count, milliseconds(15000), milliseconds(500));
}

inline Invocation Add(const std::string& key, int64_t e) { return {"add", key, e}; }
inline Invocation Read(const std::string& key) { return {"read", key, nullptr}; }

class DynastoreClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("faultline-dsclient");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    daemons_.clear();  // kills them
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  // A lone node (N=R=W=1) on a free port. Returns its port.
  int StartSingle(const std::vector<std::string>& extra_args = {}) {
    const std::string id = "n1";
    int port = FreePort();
    std::vector<std::string> args = {
        "--id",     id, "--http", "127.0.0.1:" + std::to_string(port), "--data", (dir_ / (id + "-data")).string(),
        "--no-sync"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    daemons_.push_back(std::make_unique<Daemon>(args, dir_ / (id + ".log")));
    EXPECT_TRUE(WaitReady(*daemons_.back(), port));
    return port;
  }

  struct ClusterNode {
    std::string id;
    int http, rpc;
  };
  // Writes a 3-node cluster file on free ports; nodes start with StartNode.
  std::vector<ClusterNode> WriteCluster(int r, int w, int request_timeout_ms, int failure_timeout_ms, int n = 3) {
    std::vector<ClusterNode> nodes;
    json list = json::array();
    for (int i = 1; i <= 3; ++i) {
      ClusterNode n{"n" + std::to_string(i), FreePort(), FreePort()};
      list.push_back({{"id", n.id},
                      {"http", "127.0.0.1:" + std::to_string(n.http)},
                      {"rpc", "127.0.0.1:" + std::to_string(n.rpc)}});
      nodes.push_back(n);
    }
    json cluster = {{"n", n},
                    {"r", r},
                    {"w", w},
                    {"partitions", 12},
                    {"nodes", list},
                    {"request_timeout_ms", request_timeout_ms},
                    {"failure_timeout_ms", failure_timeout_ms}};
    std::ofstream(dir_ / "cluster.json") << cluster.dump();
    return nodes;
  }
  void StartNode(const ClusterNode& n, const std::vector<std::string>& extra_args = {}) {
    std::vector<std::string> args = {
        "--id",     n.id, "--cluster", (dir_ / "cluster.json").string(), "--data", (dir_ / (n.id + "-data")).string(),
        "--no-sync"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    daemons_.push_back(std::make_unique<Daemon>(args, dir_ / (n.id + ".log")));
    EXPECT_TRUE(WaitReady(*daemons_.back(), n.http));
  }
  // Every node's HTTP endpoint, for ReadReplicas.
  static std::map<std::string, DynastoreEndpoint> Endpoints(const std::vector<ClusterNode>& nodes) {
    std::map<std::string, DynastoreEndpoint> out;
    for (const auto& n : nodes) out[n.id] = DynastoreEndpoint{"127.0.0.1", n.http};
    return out;
  }

  fs::path dir_;
  std::vector<std::unique_ptr<Daemon>> daemons_;
};

inline ClientOptions Options(WorkloadKind workload, milliseconds timeout = milliseconds(2000)) {
  ClientOptions o;
  o.op_timeout = timeout;
  o.workload = workload;
  return o;
}
inline Invocation Rmw(const std::string& key, int64_t id) { return {"rmw", key, {{"write", id}}}; }

// The stored siblings of a key, sorted.
inline json StoredValues(HttpConnection& raw, const std::string& key) {
  HttpResult r = Raw(raw, "GET", "/kv/" + PercentEncode(key));
  EXPECT_TRUE(r.ok()) << r.error;
  std::vector<std::string> values = json::parse(r.body)["values"];
  std::sort(values.begin(), values.end());
  return values;
}

}  // namespace faultline::test
