// LocalEnvironment: the Environment of a run on a LocalCluster (network
// namespaces on this machine, the default when no --nodes are given).
//
// Owns the cluster: the destructor destroys it (processes, namespaces,
// links, rules, node directories, state file) unless it was released or
// torn down already. A released cluster stays up and recorded in its state
// file for `faultline cluster down` (make it with options.manual so that
// `faultline cleanup` does not remove it once this process is gone).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness/api/environment.h"
#include "harness/nodes/local/local_cluster.h"

namespace faultline {

// The NodeInfos of a cluster's nodes, pointing at its Remotes. Throws
// HarnessError when the node directory is not the private one (nodes_root()).
std::vector<NodeInfo> LocalNodeInfos(LocalCluster& cluster);

class LocalEnvironment : public Environment {
 public:
  // Creates the cluster (LocalCluster::Create; throws HarnessError).
  static std::unique_ptr<LocalEnvironment> Create(const LocalClusterOptions& options);
  // Takes over a cluster; destroys it and rethrows when its nodes cannot be listed.
  explicit LocalEnvironment(std::unique_ptr<LocalCluster> cluster);
  ~LocalEnvironment() override;

  LocalCluster& cluster() { return *cluster_; }

  const std::vector<NodeInfo>& nodes() const override { return nodes_; }
  // "cluster R on 10.x.y.0/24: n1=10.x.y.2 n2=..."
  std::string Describe() const override;
  // Destroys the cluster; throws HarnessError "destroy cluster R: ...".
  void Teardown() override;
  // "cluster R left running (--leave-db-running); remove it with: faultline cluster down R"
  std::string Release() override;

 private:
  std::unique_ptr<LocalCluster> cluster_;
  std::vector<NodeInfo> nodes_;
  bool owned_ = true;  // false once released or torn down
};

}  // namespace faultline
