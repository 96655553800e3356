#include "harness/nodes/local/local_remote.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/host_tools.h"
#include "harness/nodes/local/process_spawn.h"

namespace faultline {
namespace {

using local_internal::Joined;

// The file `ip netns add` made for a namespace; empty for the host.
std::string NetnsFile(const std::string& netns) { return netns.empty() ? "" : "/run/netns/" + netns; }

// A node's namespace that is gone (its cluster destroyed under us).
bool NetnsMissing(const std::string& netns) { return !netns.empty() && ::access(NetnsFile(netns).c_str(), F_OK) != 0; }

// The command to exec: argv, inside the node's network namespace when it
// has one (entered between fork and exec).
Spawn BuildSpawn(const std::string& netns, const std::vector<std::string>& argv, const std::string& resolved) {
  Spawn spawn;
  spawn.exe = resolved;
  spawn.args.assign(argv.begin() + 1, argv.end());
  spawn.join_netns = NetnsFile(netns);
  return spawn;
}

}  // namespace

struct LocalRemote::Daemon {
  bool exited = false;  // reaped by us; the pid may belong to someone else now
};

LocalRemote::LocalRemote(std::string node, std::string netns) : node_(std::move(node)), netns_(std::move(netns)) {}

// Daemons are not ours to kill; their pids stay waitable by whoever cleans up.
LocalRemote::~LocalRemote() = default;

CommandResult LocalRemote::Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (argv.empty()) throw HarnessError("Run on " + node_ + ": empty command");
  CommandResult result;
  std::string resolved = ResolveExecutable(argv[0]);
  if (resolved.empty() || ::access(resolved.c_str(), F_OK) != 0) {
    result.exit_code = 127;
    result.err = argv[0] + ": command not found\n";
    return result;
  }
  if (::access(resolved.c_str(), X_OK) != 0) {
    result.exit_code = 126;
    result.err = argv[0] + ": Permission denied\n";
    return result;
  }
  if (NetnsMissing(netns_)) {
    result.exit_code = 255;  // what `ip netns exec` answered
    result.err = "network namespace " + netns_ + " of " + node_ + " does not exist\n";
    return result;
  }
  return RunSpawn(BuildSpawn(netns_, argv, resolved), timeout, "`" + Joined(argv) + "` on " + node_);
}

void LocalRemote::Upload(const std::filesystem::path& local, const std::string& remote_path) {
  CopyKeepingMode(local, remote_path, "upload to " + node_);
}

void LocalRemote::Download(const std::string& remote_path, const std::filesystem::path& local) {
  CopyKeepingMode(remote_path, local, "download from " + node_);
}

int LocalRemote::StartDaemon(const std::vector<std::string>& argv, const std::string& log_path, const Env& env) {
  if (argv.empty()) throw HarnessError("StartDaemon on " + node_ + ": empty command");
  std::string resolved = ResolveExecutable(argv[0]);
  if (resolved.empty() || ::access(resolved.c_str(), X_OK) != 0) {
    throw HarnessError("cannot start `" + Joined(argv) + "` on " + node_ + ": " + argv[0] +
                       " not found or not executable");
  }
  if (NetnsMissing(netns_)) {
    throw HarnessError("cannot start `" + Joined(argv) + "` on " + node_ + ": network namespace " + netns_ +
                       " does not exist");
  }
  // Inside the namespace once this returns (Boost.Process returns after the
  // exec), so a cluster's Destroy, which kills the namespace's processes, sees it.
  const int pid = StartSpawn(BuildSpawn(netns_, argv, resolved), log_path, env, "`" + Joined(argv) + "` on " + node_);
  auto daemon = std::make_unique<Daemon>();
  std::lock_guard lock(mu_);
  daemons_[pid] = std::move(daemon);
  return pid;
}

void LocalRemote::Signal(int pid, int signal) {
  if (pid <= 0) throw HarnessError("Signal on " + node_ + ": bad pid " + std::to_string(pid));
  {
    std::lock_guard lock(mu_);
    auto it = daemons_.find(pid);
    if (it != daemons_.end() && it->second->exited) return;  // the pid may have been reused
  }
  if (::kill(pid, signal) != 0 && errno != ESRCH) {
    throw HarnessError("cannot send signal " + std::to_string(signal) + " to pid " + std::to_string(pid) + " on " +
                       node_ + ": " + std::strerror(errno));
  }
}

bool LocalRemote::Alive(int pid) {
  if (pid <= 0) return false;
  std::lock_guard lock(mu_);
  auto it = daemons_.find(pid);
  if (it != daemons_.end() && it->second->exited) return false;
  int status = 0;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) {
    if (it != daemons_.end()) it->second->exited = true;
    return false;
  }
  if (r == 0) return true;  // our child, running or stopped
  // Not our child (another Remote's, or already reaped elsewhere): ask /proc.
  char state = ProcessState(pid);
  if (state == 0 && it != daemons_.end()) it->second->exited = true;
  return state != 0 && state != 'Z' && state != 'X';
}

}  // namespace faultline
