#include "harness/stores/daemon_table.h"

#include <fmt/format.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/base/wait.h"

namespace faultline {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kExitWait{5000};

// Each thread's state letter from /proc/<pid>/task/*/stat; nullopt when unreadable.
std::optional<std::string> ThreadStates(Remote& remote, int pid, std::string* error) {
  CommandResult r = remote.Run({"sh", "-c", fmt::format("cat /proc/{}/task/*/stat", pid)}, milliseconds(30000));
  if (!r.ok() && r.out.empty()) {
    *error = r.err;
    return std::nullopt;
  }
  std::string states;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    auto paren = line.rfind(')');
    states += paren != std::string::npos && paren + 2 < line.size() ? line[paren + 2] : '?';
  }
  return states;
}

}  // namespace

Remote& RemoteOf(const NodeInfo& node) {
  if (node.remote == nullptr) throw HarnessError(fmt::format("node {} has no remote", node.name));
  return *node.remote;
}

CommandResult RunOrThrow(Remote& remote, const std::vector<std::string>& argv, const std::string& what,
                         milliseconds timeout) {
  CommandResult r = remote.Run(argv, timeout);
  if (!r.ok()) {
    throw HarnessError(fmt::format("{} on {} failed ({}): {}{}", what, remote.node(),
                                   r.timed_out ? "timed out" : fmt::format("exit code {}", r.exit_code), r.err,
                                   r.err.empty() ? r.out : ""));
  }
  return r;
}

std::string LogTail(Remote& remote, const std::string& path) {
  try {
    CommandResult r = remote.Run({"tail", "-n", "20", path}, milliseconds(5000));
    if (r.ok()) return r.out.empty() ? "(log is empty)" : r.out;
    return fmt::format("(cannot read {}: {})", path, r.err);
  } catch (const HarnessError& e) {
    return fmt::format("(cannot read {}: {})", path, e.what());
  }
}

void CollectFiles(const NodeInfo& node, const std::vector<std::pair<std::string, std::string>>& files,
                  const std::filesystem::path& dest) {
  std::error_code ec;
  std::filesystem::create_directories(dest, ec);
  if (ec) throw HarnessError(fmt::format("cannot create {}: {}", dest.string(), ec.message()));
  for (const auto& [path, name] : files) {
    try {
      RemoteOf(node).Download(path, dest / name);
    } catch (const HarnessError& e) {
      std::ofstream(dest / (name + ".missing")) << e.what() << "\n";
    }
  }
}

std::string HostPort(const std::string& address, int port) {
  return address.find(':') != std::string::npos ? fmt::format("[{}]:{}", address, port)
                                                : fmt::format("{}:{}", address, port);
}

int DaemonTable::Start(const NodeInfo& node, const std::vector<std::string>& argv, const std::string& log,
                       const Env& env) {
  Remote& remote = RemoteOf(node);
  {
    std::lock_guard lock(mu_);
    auto it = pids_.find(node.name);
    if (it != pids_.end() && remote.Alive(it->second)) {
      throw HarnessError(fmt::format("{} on {} is already running (pid {})", store_, node.name, it->second));
    }
  }
  int pid = remote.StartDaemon(argv, log, env);
  std::lock_guard lock(mu_);
  pids_[node.name] = pid;
  return pid;
}

std::optional<int> DaemonTable::Pid(const NodeInfo& node) {
  std::lock_guard lock(mu_);
  auto it = pids_.find(node.name);
  if (it == pids_.end()) return std::nullopt;
  return it->second;
}

void DaemonTable::Kill(const NodeInfo& node) {
  auto pid = Pid(node);
  if (!pid) return;  // never started: nothing to kill
  Remote& remote = RemoteOf(node);
  remote.Signal(*pid, SIGKILL);
  if (!WaitFor([&] { return !remote.Alive(*pid); }, kExitWait)) {
    throw HarnessError(
        fmt::format("{} on {} (pid {}) still alive {} ms after SIGKILL", store_, node.name, *pid, kExitWait.count()));
  }
}

void DaemonTable::Pause(const NodeInfo& node) {
  auto pid = Pid(node);
  if (!pid) throw HarnessError(fmt::format("cannot pause {} on {}: it was never started", store_, node.name));
  Remote& remote = RemoteOf(node);
  remote.Signal(*pid, SIGSTOP);
  // kill() returns before every thread has stopped: wait until all are in state T.
  std::string last;
  auto deadline = Clock::now() + kExitWait;
  while (Clock::now() < deadline) {
    std::string error;
    auto states = ThreadStates(remote, *pid, &error);
    if (!states) {
      if (!remote.Alive(*pid)) return;
      last = error;
    } else {
      bool all = !states->empty();
      for (char s : *states) all = all && (s == 'T' || s == 't');
      if (all) return;
      last = *states;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  throw HarnessError(fmt::format("{} on {} (pid {}) not stopped {} ms after SIGSTOP: {}", store_, node.name, *pid,
                                 kExitWait.count(), last));
}

void DaemonTable::Resume(const NodeInfo& node) {
  auto pid = Pid(node);
  if (!pid) throw HarnessError(fmt::format("cannot resume {} on {}: it was never started", store_, node.name));
  RemoteOf(node).Signal(*pid, SIGCONT);
}

void DaemonTable::Stop(const NodeInfo& node) {
  auto pid = Pid(node);
  if (!pid) return;
  Remote& remote = RemoteOf(node);
  if (!remote.Alive(*pid)) return;
  remote.Signal(*pid, SIGCONT);  // a paused process cannot act on SIGTERM
  remote.Signal(*pid, SIGTERM);
  if (!WaitFor([&] { return !remote.Alive(*pid); }, kExitWait)) {
    remote.Signal(*pid, SIGKILL);
    if (!WaitFor([&] { return !remote.Alive(*pid); }, kExitWait)) {
      throw HarnessError(fmt::format("{} on {} (pid {}) survived SIGTERM and SIGKILL", store_, node.name, *pid));
    }
  }
}

void DaemonTable::ThrowIfExited(const NodeInfo& node, const std::string& log) {
  auto pid = Pid(node);
  Remote& remote = RemoteOf(node);
  if (pid && !remote.Alive(*pid)) {
    throw HarnessError(fmt::format("{} on {} exited (pid {}); last lines of {}:\n{}", store_, node.name, *pid, log,
                                   LogTail(remote, log)));
  }
}

bool DaemonTable::Running(const NodeInfo& node) {
  auto pid = Pid(node);
  return pid && RemoteOf(node).Alive(*pid);
}

bool DaemonTable::Paused(const NodeInfo& node) {
  auto pid = Pid(node);
  if (!pid) return false;
  Remote& remote = RemoteOf(node);
  if (!remote.Alive(*pid)) return false;
  std::string error;
  auto states = ThreadStates(remote, *pid, &error);
  if (!states) {
    if (!remote.Alive(*pid)) return false;
    throw HarnessError(fmt::format("cannot read the state of {} on {} (pid {}): {}", store_, node.name, *pid, error));
  }
  for (char s : *states) {
    if (s == 'T' || s == 't') return true;
  }
  return false;
}

}  // namespace faultline
