// LocalRemote: a node on this machine, optionally inside a network
// namespace. Commands run argv (never through a shell) through
// Boost.Process, the child entering the node's namespace between fork and
// exec (netns empty: the host itself). Files are copied locally (the
// namespaces share this machine's filesystem).
//
// Run: the command gets its own process group, stdin /dev/null, stdout and
// stderr captured separately; on timeout the whole group is SIGKILLed. A
// command that is not found yields exit_code 127 (126: not executable) with
// the reason in err, as a shell over SSH would; HarnessError only when the
// process cannot be spawned at all. Once the command exited, its output is
// read for at most 250 ms more (a background child may hold the pipes).
// Children never inherit the harness's other descriptors.
// Upload/Download write a temp file then rename (a running binary can be
// replaced). StartDaemon in a namespace returns once the process is inside
// it (so a cluster's Destroy, which kills the namespace's processes, sees
// it). Daemons are reaped by Alive(); a pid this Remote did not start is
// answered from /proc.
//
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "harness/api/remote.h"

namespace faultline {

class LocalRemote : public Remote {
 public:
  // netns empty: commands run in the caller's network namespace.
  LocalRemote(std::string node, std::string netns);
  ~LocalRemote() override;  // does not kill daemons: the DB adapter / cleanup does

  const std::string& node() const override { return node_; }
  const std::string& netns() const { return netns_; }

  CommandResult Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) override;
  void Upload(const std::filesystem::path& local, const std::string& remote_path) override;
  void Download(const std::string& remote_path, const std::filesystem::path& local) override;
  int StartDaemon(const std::vector<std::string>& argv, const std::string& log_path, const Env& env = {}) override;
  void Signal(int pid, int signal) override;
  bool Alive(int pid) override;

 private:
  struct Daemon;
  const std::string node_;
  const std::string netns_;
  std::mutex mu_;
  std::map<int, std::unique_ptr<Daemon>> daemons_;  // guarded by mu_
};

}  // namespace faultline
