// A dynastore node for tests, two ways, each owning everything it creates:
//   TempDir           testing/temp_dir.h, a fresh directory removed on destruction.
//   InProcessNode     a single-node dynastore::Node in the test process, on
//                     127.0.0.1 and an ephemeral port.
//   DynastoreProcess  the real `dynastore` binary (DYNASTORE_BIN) as a child
//                     process, started on port 0 (the port is read from its
//                     startup line) and ready once GET /status answers. The
//                     destructor SIGKILLs and reaps it if it is still running,
//                     and the child dies with the test process (PDEATHSIG).
// Not thread-safe; use from the test's thread.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/http_api.h"
#include "store/node.h"
#include "store/node_stats.h"
#include "store/tests/test_http_client.h"
#include "testing/temp_dir.h"

#ifndef DYNASTORE_BIN
#error "DYNASTORE_BIN must name the dynastore binary (store/CMakeLists.txt sets it)"
#endif

namespace dynastore::test {

using TempDir = faultline::test::TempDir;

struct InProcessNodeOptions {
  std::string node_id = "n1";
  size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
};

class InProcessNode {
 public:
  using Options = InProcessNodeOptions;

  // A real single-node dynastore::Node (sync off). Check ok() before use;
  // error() says what failed.
  explicit InProcessNode(Options options = {}) {
    NodeOptions node;
    node.id = options.node_id;
    node.cluster = SingleNodeCluster(options.node_id, Endpoint{"127.0.0.1", 0});
    node.data_dir = dir_.Sub("data");
    node.sync = false;
    node.http_threads = 2;
    node.rpc_threads = 1;
    node.max_body_bytes = options.max_body_bytes;
    node.idle_timeout = options.idle_timeout;
    node.log = [log = log_](std::string_view line) { log->Append(line); };
    Status s = Node::Start(std::move(node), node_);
    if (!s.ok()) error_ = s.message();
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  uint16_t port() const { return node_->http_port(); }
  Node& node() { return *node_; }
  NodeStats& stats() { return node_->stats(); }
  // What the node logged so far, a line each.
  std::string Log() const { return log_->Text(); }

 private:
  // Shared with the node's log callback, which any of its threads may call.
  struct LogLines {
    void Append(std::string_view line) {
      std::lock_guard<std::mutex> lock(mu);
      text.append(line).push_back('\n');
    }
    std::string Text() {
      std::lock_guard<std::mutex> lock(mu);
      return text;
    }
    std::mutex mu;
    std::string text;
  };

  TempDir dir_;
  std::string error_;
  std::shared_ptr<LogLines> log_ = std::make_shared<LogLines>();
  std::unique_ptr<Node> node_;
};

// Raises this process's open-file limit to the hard limit; returns the new
// soft limit.
inline rlim_t RaiseFileLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  getrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

class DynastoreProcess {
 public:
  struct Options {
    std::string id = "n1";
    std::string data_dir;                 // required
    std::string log_path;                 // child's stdout+stderr, appended; required
    std::vector<std::string> extra_args;  // e.g. {"--idle-timeout-s", "1"}
    std::chrono::milliseconds ready_deadline = std::chrono::seconds(10);
    rlim_t max_open_files = 0;         // if set, the child's hard RLIMIT_NOFILE
    std::string http = "127.0.0.1:0";  // --http; empty omits it (with --cluster the file gives it)
  };

  // Starts the daemon and waits until it serves GET /status. On failure
  // returns nullptr and sets `error` (including the child's log).
  static std::unique_ptr<DynastoreProcess> Start(const Options& options, std::string& error) {
    std::unique_ptr<DynastoreProcess> p(new DynastoreProcess());
    p->log_path_ = options.log_path;
    p->log_offset_ = FileSize(options.log_path);
    std::vector<std::string> args = {DYNASTORE_BIN, "--id", options.id, "--data", options.data_dir};
    if (!options.http.empty()) args.insert(args.end(), {"--http", options.http});
    args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
    if (!p->Spawn(args, options.log_path, options.max_open_files, error)) return nullptr;

    const auto deadline = std::chrono::steady_clock::now() + options.ready_deadline;
    while (p->port_ == 0) {
      p->port_ = p->PortFromLog();
      if (p->port_ != 0) break;
      if (!p->running()) {
        error = "dynastore exited during startup; log:\n" + p->Log();
        return nullptr;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        error = "dynastore printed no startup line in time; log:\n" + p->Log();
        return nullptr;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    TestHttpClient client(p->port_, std::chrono::seconds(1));
    while (true) {
      HttpResult r = client.Get("/status");
      if (r.ok() && r.status() == 200) break;
      if (std::chrono::steady_clock::now() > deadline) {
        error = "dynastore did not answer GET /status in time; log:\n" + p->Log();
        return nullptr;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return p;
  }

  // Runs the daemon with `args` (after the binary name) to completion and
  // returns its exit code (-1 if it did not exit normally in time).
  static int RunToExit(const std::vector<std::string>& args, const std::string& log_path,
                       std::chrono::milliseconds timeout, std::string& log) {
    DynastoreProcess p;
    p.log_path_ = log_path;
    p.log_offset_ = FileSize(log_path);
    std::vector<std::string> full = {DYNASTORE_BIN};
    full.insert(full.end(), args.begin(), args.end());
    std::string error;
    if (!p.Spawn(full, log_path, 0, error)) {
      log = error;
      return -1;
    }
    std::optional<int> status = p.WaitExit(timeout);
    log = p.Log();
    return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }

  ~DynastoreProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  DynastoreProcess(const DynastoreProcess&) = delete;
  DynastoreProcess& operator=(const DynastoreProcess&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  void Signal(int signo) {
    if (pid_ > 0) kill(pid_, signo);
  }

  // Waits up to `timeout` for the child to exit; returns its wait status.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return exit_status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_status_ = status;
        return status;
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_status_ = status;
      return false;
    }
    return true;
  }

  // What this run of the child has written to its log.
  std::string Log() const {
    std::ifstream in(log_path_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(log_offset_));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  DynastoreProcess() = default;

  static size_t FileSize(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    return ec ? 0 : static_cast<size_t>(size);
  }

  bool Spawn(const std::vector<std::string>& args, const std::string& log_path, rlim_t max_open_files,
             std::string& error) {
    // Everything the child needs is prepared before fork(): after it, only
    // async-signal-safe calls.
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || null_fd < 0) {
      error = "cannot open " + log_path;
      if (log_fd >= 0) close(log_fd);
      if (null_fd >= 0) close(null_fd);
      return false;
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      dup2(null_fd, 0);
      dup2(log_fd, 1);
      dup2(log_fd, 2);
      // The test process may hold thousands of sockets; the child must not.
      close_range(3, ~0U, 0);
      if (max_open_files > 0) {
        const rlimit lim{max_open_files, max_open_files};
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0) _exit(126);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(log_fd);
    close(null_fd);
    if (pid < 0) {
      error = "fork failed";
      return false;
    }
    pid_ = pid;
    return true;
  }

  // The port from "listening on http://127.0.0.1:PORT" in this run's log.
  uint16_t PortFromLog() const {
    const std::string log = Log();
    const std::string marker = "listening on http://127.0.0.1:";
    const size_t at = log.find(marker);
    if (at == std::string::npos) return 0;
    return static_cast<uint16_t>(std::atoi(log.c_str() + at + marker.size()));
  }

  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  uint16_t port_ = 0;
  std::string log_path_;
  size_t log_offset_ = 0;
};

// The daemon as node n1 on `dir`/data, logging to `dir`/dynastore.log; a
// failure to start fails the test (and returns nullptr).
inline std::unique_ptr<DynastoreProcess> StartDaemonIn(const TempDir& dir, std::vector<std::string> extra_args) {
  std::string error;
  auto p = DynastoreProcess::Start({.id = "n1",
                                    .data_dir = dir.Sub("data"),
                                    .log_path = dir.Sub("dynastore.log"),
                                    .extra_args = std::move(extra_args)},
                                   error);
  EXPECT_NE(p, nullptr) << error;
  return p;
}

}  // namespace dynastore::test
