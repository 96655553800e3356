// EtcdDb: the Database adapter for etcd (Debian's etcd-server 3.4; any etcd
// 3.4+ binary through "etcd": {"binary"}). One member per node, named after
// the node, started in the foreground:
//   etcd --name nI --data-dir <dir>/etcd.data
//        --listen-client-urls http://<addr>:<client-port> (advertised the same)
//        --listen-peer-urls http://<addr>:<peer-port> (advertised the same)
//        --initial-cluster n1=http://<addr1>:<peer-port>,... (every node)
//        --initial-cluster-state new|existing --initial-cluster-token <per install>
//        --logger zap --log-outputs stderr <"etcd.args"...>
// its output in <dir>/etcd.log. The state is "existing" when the data
// directory already holds a member (a restart after a kill or crash), so a
// restarted member rejoins the cluster from its own log.
//
// Start-up is done (WaitHealthy on every node, then WaitClusterReady) when
// every member answers GET /health with {"health":"true"} and every member's
// status (POST /v3/maintenance/status) names the same leader. Restart is
// Start plus a wait until the member listens on its client port: etcd
// serves requests only once it has rejoined a quorum, which a partition may
// hold off for the rest of the fault, so Restart does not wait for that.
// Kill/Pause/Resume/Stop are signals to the etcd process (DaemonDatabase);
// Wipe removes the data directory (the member forgets the cluster, so it is
// only useful when every member is wiped); CollectLogs copies etcd.log.
//
// NewClient gives an EtcdClient for the node's member that knows every
// member's address (replica reads).
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
#include "harness/stores/etcd/etcd_config.h"

namespace faultline {

struct EtcdOptions : EtcdConfig {
  EtcdOptions() = default;
  explicit EtcdOptions(EtcdConfig config) : EtcdConfig(std::move(config)) {}

  std::chrono::milliseconds start_timeout{30000};  // Restart's wait for the client port
};

class EtcdDb : public DaemonDatabase {
 public:
  explicit EtcdDb(EtcdOptions options);
  std::string name() const override { return "etcd"; }
  void Install(const std::vector<NodeInfo>& nodes) override;
  void Start(const NodeInfo& node) override;
  void WaitHealthy(const NodeInfo& node, std::chrono::milliseconds timeout) override;
  void WaitClusterReady(const std::vector<NodeInfo>& nodes, std::chrono::milliseconds timeout) override;
  void Restart(const NodeInfo& node) override;
  void Wipe(const NodeInfo& node) override;
  void CollectLogs(const NodeInfo& node, const std::filesystem::path& dest) override;
  std::unique_ptr<Client> NewClient(const NodeInfo& node, const ClientOptions& options) override;

  const EtcdOptions& options() const { return options_; }
  // The member's command line (for tests and the log).
  std::vector<std::string> CommandLine(const NodeInfo& node, bool existing) const;

 private:
  EtcdOptions options_;
  mutable std::mutex mu_;
  std::vector<NodeInfo> nodes_;  // from Install; guarded by mu_
  std::string token_;            // --initial-cluster-token, new per Install; guarded by mu_
};

}  // namespace faultline
