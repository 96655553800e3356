// RedisClusterDb: the Database adapter for Redis Cluster (Debian's
// redis-server and redis-cli). On each node, redis-server runs in cluster
// mode in the foreground:
//   redis-server --port P --bind <address> --cluster-enabled yes
//     --cluster-config-file <dir>/nodes.conf --cluster-node-timeout T
//     --appendonly yes --dir <dir> --protected-mode no --daemonize no
// its output in <dir>/redis.log; the cluster bus is port + 10000.
//
// The cluster is created once, by the first WaitHealthy after every
// installed node has been started: it waits until every node answers PING,
// runs `redis-cli --cluster create <addr:port>... --cluster-replicas R
// --cluster-yes` on the first node through its Remote, and from then on
// WaitHealthy(node) (and Restart) wait until that node's CLUSTER INFO says
// cluster_state:ok with all 16384 slots assigned. Kill/Pause/Resume/Stop are
// signals to the redis-server process (DaemonDatabase); Wipe removes the
// node's directory contents (nodes.conf, append-only files).
//
// NewClient gives a RedisClusterClient seeded with the node and knowing
// every node's address (for routing and replica reads).
//
// Thread-safe.
#pragma once

#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "harness/api/database.h"
#include "harness/stores/daemon_database.h"
#include "harness/stores/redis/redis_config.h"

namespace faultline {

// The user's "redis" config plus what the harness decides.
struct RedisClusterOptions : RedisConfig {
  RedisClusterOptions() = default;
  explicit RedisClusterOptions(RedisConfig config) : RedisConfig(std::move(config)) {}

  std::chrono::milliseconds start_timeout{30000};  // Restart's wait for cluster_state:ok
};

class RedisClusterDb : public DaemonDatabase {
 public:
  explicit RedisClusterDb(RedisClusterOptions options);
  std::string name() const override { return "redis-cluster"; }
  void Install(const std::vector<NodeInfo>& nodes) override;
  void Start(const NodeInfo& node) override;
  void WaitHealthy(const NodeInfo& node, std::chrono::milliseconds deadline) override;
  // Every node says cluster_state:ok with every slot assigned and none in
  // (p)fail, and all nodes name the same master for every slot: after a
  // heal, failovers and FAIL flags take node-timeout multiples to settle.
  void WaitClusterReady(const std::vector<NodeInfo>& nodes, std::chrono::milliseconds timeout) override;
  void Wipe(const NodeInfo& node) override;
  void CollectLogs(const NodeInfo& node, const std::filesystem::path& dest) override;
  std::unique_ptr<Client> NewClient(const NodeInfo& node, const ClientOptions& options) override;

  const RedisClusterOptions& options() const { return options_; }
  // The output of `redis-cli --cluster create` (empty before it ran).
  std::string create_output() const;

 private:
  void CreateCluster(std::chrono::steady_clock::time_point deadline);
  void WaitReplicas(const NodeInfo& node, std::chrono::steady_clock::time_point deadline);
  // Waits until the node answers PING (and, once the cluster exists, is ok).
  void WaitNode(const NodeInfo& node, std::chrono::steady_clock::time_point deadline, bool cluster_ok);
  // What keeps `node` from being ready ("" when nothing); its slot map
  // ("start-end:master,...") in *slots.
  std::string NotReadyReason(const NodeInfo& node, std::chrono::steady_clock::time_point deadline, std::string* slots);

  RedisClusterOptions options_;
  mutable std::mutex mu_;
  std::vector<NodeInfo> nodes_;  // from Install; guarded by mu_
  bool created_ = false;         // guarded by mu_
  std::mutex create_mu_;         // one cluster creation at a time
  std::string create_output_;    // guarded by mu_
};

}  // namespace faultline
