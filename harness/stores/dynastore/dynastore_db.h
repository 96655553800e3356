// DynastoreDb: the Database adapter for the bundled dynastore. Install copies
// the dynastore binary and a generated cluster.json into each node's
// directory; the daemon listens on <address>:http_port (HTTP) and
// <address>:rpc_port (node-to-node), data in <dir>/data, log in
// <dir>/dynastore.log. DynastoreOptions::node_env adds environment per
// node (the clock nemesis preloads libfaketime with it); with it set, the
// files libfaketime leaves in /dev/shm for a dead daemon's pid are removed.
// NewClient's clients know every installed node's HTTP address, so they can
// read a key from each of its replicas (Client::ReadReplicas).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "harness/api/database.h"
#include "harness/stores/daemon_database.h"
#include "harness/stores/dynastore/dynastore_config.h"

namespace faultline {

// The user's "dynastore" config (binary: the dynastore to install, never
// empty here; sync: fsync before ack, else --no-sync; args: extra daemon
// flags, e.g. fault switches --lww), plus what the harness decides.
struct DynastoreOptions : DynastoreConfig {
  DynastoreOptions() = default;
  explicit DynastoreOptions(DynastoreConfig config) : DynastoreConfig(std::move(config)) {}

  int http_port = 8080;
  int rpc_port = 8081;
  // Every node's --threads (request threads); 0: dynastore's default, one
  // per core. The user's `args` win when they name --threads.
  int threads = 0;
  std::chrono::milliseconds start_timeout{10000};  // Restart's wait for health
  // Extra environment for the store's process on a node (Start, Restart),
  // e.g. the nemesis's FaketimeEnv; empty = none.
  std::function<Env(const NodeInfo&)> node_env;
};

class DynastoreDb : public DaemonDatabase {
 public:
  explicit DynastoreDb(DynastoreOptions options);
  std::string name() const override { return "dynastore"; }
  void Install(const std::vector<NodeInfo>& nodes) override;
  void Start(const NodeInfo& node) override;
  void WaitHealthy(const NodeInfo& node, std::chrono::milliseconds deadline) override;
  // Every node's /status lists every node as up and every node's /ring is the same.
  void WaitClusterReady(const std::vector<NodeInfo>& nodes, std::chrono::milliseconds timeout) override;
  // Kill and Stop also remove what libfaketime left behind (node_env).
  void Kill(const NodeInfo& node) override;
  void Stop(const NodeInfo& node) override;
  void Wipe(const NodeInfo& node) override;
  void CollectLogs(const NodeInfo& node, const std::filesystem::path& dest) override;
  std::unique_ptr<Client> NewClient(const NodeInfo& node, const ClientOptions& options) override;

  const DynastoreOptions& options() const { return options_; }

 private:
  DynastoreOptions options_;
  std::mutex mu_;
  std::vector<NodeInfo> nodes_;  // from Install, for clients' replica reads; guarded by mu_
};

}  // namespace faultline
