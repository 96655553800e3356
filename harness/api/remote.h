// Remote: the control seam to one node. Everything the harness does on a
// node (DB adapters, nemesis, log collection) goes through it, so the same
// code runs on local network-namespace nodes (LocalRemote) and on SSH hosts
// (SshRemote). Arguments are argv vectors, never shell strings.
//
// Thread-safe: a nemesis and a DB adapter may use one Remote concurrently.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace faultline {

struct CommandResult {
  int exit_code = -1;      // -1 when it was killed by a signal or timed out
  std::string out;         // stdout
  std::string err;         // stderr
  bool timed_out = false;  // killed after the timeout

  bool ok() const { return exit_code == 0 && !timed_out; }
};

using Env = std::vector<std::pair<std::string, std::string>>;

class Remote {
 public:
  virtual ~Remote() = default;

  // The node's name as users see it (n1, n2, ...).
  virtual const std::string& node() const = 0;

  // Runs argv on the node and waits at most `timeout` (then kills it and
  // reports timed_out). Throws HarnessError only when it cannot be started.
  virtual CommandResult Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) = 0;

  // Copies a file to / from the node, keeping its permission bits. Parent
  // directories of the destination are created. Throws HarnessError.
  virtual void Upload(const std::filesystem::path& local, const std::string& remote_path) = 0;
  virtual void Download(const std::string& remote_path, const std::filesystem::path& local) = 0;

  // Starts a long-running process in its own session (a Ctrl-C on the
  // harness's terminal does not reach it), stdout and stderr appended to
  // log_path on the node, extra environment `env`. Returns its pid on the
  // node. Throws HarnessError when it cannot be started.
  virtual int StartDaemon(const std::vector<std::string>& argv, const std::string& log_path, const Env& env = {}) = 0;

  // Sends a signal to a process started by StartDaemon. A process that has
  // already exited is not an error.
  virtual void Signal(int pid, int signal) = 0;

  // Whether a process started by StartDaemon is still running (a stopped,
  // SIGSTOPped process is running; an exited one is reaped and is not).
  virtual bool Alive(int pid) = 0;
};

}  // namespace faultline
