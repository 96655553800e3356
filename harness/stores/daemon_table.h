// DaemonTable: the one long-running store process per node that a DB adapter
// started through Remote::StartDaemon, and its signal lifecycle (kill,
// pause, resume, graceful stop, running/paused state). Shared by the
// dynastore, redis-cluster, etcd, couchdb and external adapters; `store`
// names the store in errors.
// Also small helpers for commands and files on a node (RunOrThrow, LogTail,
// CollectFiles).
//
// Thread-safe (a nemesis and the runner may act on different nodes at once).
// Methods throw HarnessError when the rig cannot do what was asked.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "harness/api/database.h"

namespace faultline {

class DaemonTable {
 public:
  explicit DaemonTable(std::string store) : store_(std::move(store)) {}

  // Starts argv on the node (output appended to `log`); throws if it runs already.
  int Start(const NodeInfo& node, const std::vector<std::string>& argv, const std::string& log, const Env& env = {});
  // The pid started last on the node, if any.
  std::optional<int> Pid(const NodeInfo& node);
  void Kill(const NodeInfo& node);    // SIGKILL; returns when the process is gone
  void Pause(const NodeInfo& node);   // SIGSTOP; returns when every thread is stopped
  void Resume(const NodeInfo& node);  // SIGCONT
  void Stop(const NodeInfo& node);    // SIGCONT + SIGTERM, SIGKILL after 5 s
  bool Running(const NodeInfo& node);
  bool Paused(const NodeInfo& node);
  // Throws HarnessError "<store> on <node> exited (pid N)" with the end of
  // `log` when the process started last on the node is gone; else nothing.
  void ThrowIfExited(const NodeInfo& node, const std::string& log);

 private:
  std::string store_;
  std::mutex mu_;
  std::map<std::string, int> pids_;  // node name -> pid; guarded by mu_
};

Remote& RemoteOf(const NodeInfo& node);
// Runs argv on the node; throws HarnessError naming `what`, the node and stderr unless it exits 0.
CommandResult RunOrThrow(Remote& remote, const std::vector<std::string>& argv, const std::string& what,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
// The last lines of a file on the node, for error messages; never throws.
std::string LogTail(Remote& remote, const std::string& path);
// Copies each {path on the node, file name} into `dest` (created if needed).
// A file that cannot be fetched (the node never started, the host is gone)
// does not fail the collection: <name>.missing holds the reason instead.
// Throws HarnessError only when `dest` cannot be created.
void CollectFiles(const NodeInfo& node, const std::vector<std::pair<std::string, std::string>>& files,
                  const std::filesystem::path& dest);
// "ADDR:PORT", IPv6 literals bracketed.
std::string HostPort(const std::string& address, int port);

}  // namespace faultline
