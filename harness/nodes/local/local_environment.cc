#include "harness/nodes/local/local_environment.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "harness/base/harness_error.h"

namespace faultline {

std::vector<NodeInfo> LocalNodeInfos(LocalCluster& cluster) {
  std::vector<NodeInfo> nodes;
  for (size_t i = 0; i < cluster.nodes().size(); ++i) {
    const LocalNode& n = cluster.nodes()[i];
    nodes.push_back(NodeInfo{n.name, n.address, cluster.node_dir(i), &cluster.remote(i)});
  }
  return nodes;
}

std::unique_ptr<LocalEnvironment> LocalEnvironment::Create(const LocalClusterOptions& options) {
  return std::make_unique<LocalEnvironment>(LocalCluster::Create(options));
}

LocalEnvironment::LocalEnvironment(std::unique_ptr<LocalCluster> cluster) : cluster_(std::move(cluster)) {
  try {
    nodes_ = LocalNodeInfos(*cluster_);
  } catch (const std::exception&) {
    // No destructor runs for a half-made object: remove the cluster here.
    try {
      cluster_->Destroy();
    } catch (const std::exception&) {
      // The state file is kept for `faultline cleanup`; the first error says more.
    }
    throw;
  }
}

LocalEnvironment::~LocalEnvironment() {
  if (!owned_) return;
  try {
    cluster_->Destroy();
  } catch (const std::exception&) {
    // Nowhere to report it; what is left is in the state file for `faultline cleanup`.
  }
}

std::string LocalEnvironment::Describe() const {
  std::vector<std::string> listing;
  for (const NodeInfo& n : nodes_) listing.push_back(n.name + "=" + n.address);
  return fmt::format("cluster {} on {}: {}", cluster_->run_id(), cluster_->subnet(), fmt::join(listing, " "));
}

void LocalEnvironment::Teardown() {
  owned_ = false;  // one attempt: what it leaves is recorded for `faultline cleanup`
  try {
    cluster_->Destroy();
  } catch (const std::exception& e) {
    throw HarnessError(fmt::format("destroy cluster {}: {}", cluster_->run_id(), e.what()));
  }
}

std::string LocalEnvironment::Release() {
  owned_ = false;
  return fmt::format("cluster {} left running (--leave-db-running); remove it with: faultline cluster down {}",
                     cluster_->run_id(), cluster_->run_id());
}

}  // namespace faultline
