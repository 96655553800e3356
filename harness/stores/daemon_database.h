// DaemonDatabase: a Database whose store is one long-running process per
// node, started through DaemonTable. It signals and tracks those processes
// (Kill, Pause, Resume, Stop, Running, Paused) and restarts a node as Start
// then WaitHealthy, so an adapter writes only what is its own: install,
// start, health, wipe, logs and clients. An adapter may override any of
// these (e.g. when the user's command replaces the signal), calling
// daemons() for the default.
//
// Thread-safe as DaemonTable is; adapters keep their own state guarded.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "harness/api/database.h"
#include "harness/stores/daemon_table.h"

namespace faultline {

class DaemonDatabase : public Database {
 public:
  // `process` names the store's process in errors ("redis-server");
  // `restart_timeout` is Restart's wait for WaitHealthy.
  DaemonDatabase(std::string process, std::chrono::milliseconds restart_timeout)
      : daemons_(std::move(process)), restart_timeout_(restart_timeout) {}

  void Kill(const NodeInfo& node) override { daemons_.Kill(node); }
  void Restart(const NodeInfo& node) override;
  void Pause(const NodeInfo& node) override { daemons_.Pause(node); }
  void Resume(const NodeInfo& node) override { daemons_.Resume(node); }
  void Stop(const NodeInfo& node) override { daemons_.Stop(node); }
  bool Running(const NodeInfo& node) override { return daemons_.Running(node); }
  bool Paused(const NodeInfo& node) override { return daemons_.Paused(node); }

 protected:
  DaemonTable& daemons() { return daemons_; }

 private:
  DaemonTable daemons_;
  std::chrono::milliseconds restart_timeout_;
};

// Whether a store's extra arguments from the config (`args`) set `flag`, as
// "--flag value" or "--flag=value": for the flags an adapter sets itself.
bool SetsFlag(const std::vector<std::string>& args, std::string_view flag);

}  // namespace faultline
