// Database: the lifecycle of one store on the run's nodes (install, start,
// kill, restart, pause, resume, wipe, logs) through each node's Remote, plus
// a factory for that store's clients. One adapter per store
// (harness/stores/<store>/): dynastore, redis-cluster, etcd, external.
//
// Methods throw HarnessError when the rig cannot do what was asked.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness/api/client.h"
#include "harness/api/environment.h"
#include "harness/api/remote.h"

namespace faultline {

struct ClientOptions {
  std::chrono::milliseconds op_timeout{1000};
  WorkloadKind workload = WorkloadKind::kSet;  // how f/value map onto the store
};

// Where an adapter reports what belongs in the run's faultline.log (e.g. a
// client program that crashed); called from any thread.
using LogSink = std::function<void(const std::string&)>;

class Database {
 public:
  virtual ~Database() = default;
  virtual std::string name() const = 0;

  // The run gives every adapter its log; adapters with nothing to say ignore it.
  virtual void SetLog(LogSink /*log*/) {}

  // Copies what the store needs to every node and configures it.
  virtual void Install(const std::vector<NodeInfo>& nodes) = 0;
  // Starts the store on a node (all output to its log, never the terminal).
  virtual void Start(const NodeInfo& node) = 0;
  // Waits until the node serves requests; throws HarnessError at the deadline.
  virtual void WaitHealthy(const NodeInfo& node, std::chrono::milliseconds deadline) = 0;
  // Called once every node is WaitHealthy: waits until the cluster as a whole
  // serves requests (every node sees every other as up), so a healthy run
  // records no failure caused by start-up. Throws HarnessError naming the node
  // that was not ready at the deadline. Stores whose WaitHealthy already
  // covers the whole cluster keep this default.
  virtual void WaitClusterReady(const std::vector<NodeInfo>& /*nodes*/, std::chrono::milliseconds /*timeout*/) {}
  // SIGKILL; returns when the process is gone.
  virtual void Kill(const NodeInfo& node) = 0;
  // Starts a killed node again and waits until it is healthy.
  virtual void Restart(const NodeInfo& node) = 0;
  virtual void Pause(const NodeInfo& node) = 0;   // SIGSTOP
  virtual void Resume(const NodeInfo& node) = 0;  // SIGCONT
  // Stops the store gracefully (SIGTERM, then SIGKILL after a grace period).
  virtual void Stop(const NodeInfo& node) = 0;
  // Removes the node's data (the store must not be running).
  virtual void Wipe(const NodeInfo& node) = 0;
  // Whether the store's process on the node is running.
  virtual bool Running(const NodeInfo& node) = 0;
  // Whether the store's process on the node is stopped (SIGSTOP, Pause);
  // false when it is not running at all.
  virtual bool Paused(const NodeInfo& node) = 0;
  // Copies the node's log files into `dest` (the run's nodes/<node>/).
  virtual void CollectLogs(const NodeInfo& node, const std::filesystem::path& dest) = 0;

  virtual std::unique_ptr<Client> NewClient(const NodeInfo& node, const ClientOptions& options) = 0;
};

}  // namespace faultline
