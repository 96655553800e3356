// ContainerEnvironment: a run's nodes as Podman containers, one per network
// namespace of a LocalCluster (so addresses, the bridge and iptables
// partitions are the namespace nodes' own). Each container is named after
// its namespace (fl-R-n1), has hostname n1, its own writable root (an
// overlay of the host's root, or the user's image), pid namespace and
// cgroup limits, and its node directory mounted at kContainerNodeDir.
// NodeInfo::machine gives whole-node faults (crash, freeze, starve).
//
// Podman runs with runc and cgroupfs and with faultline's own
// containers.conf (in the cluster's private node directory), never the
// machine's configuration. Containers are recorded in the cluster's state
// file before they are made; the environment's teardown, `faultline
// cluster down` and `faultline cleanup` remove them (and their overlays)
// before the namespaces.
//
// Not thread-safe itself; its Remotes and machines are.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness/api/environment.h"
#include "harness/nodes/container/container_node.h"
#include "harness/nodes/container/container_remote.h"
#include "harness/nodes/local/local_environment.h"

namespace faultline {

// Where every node's directory is, inside its container (the same path on
// every node, like a real deployment).
inline constexpr char kContainerNodeDir[] = "/var/lib/faultline";

struct ContainerOptions {
  LocalClusterOptions cluster;
  std::string image;   // empty: an overlay of the host's root (no image needed)
  std::string memory;  // podman --memory, e.g. "256m"; empty = no limit
  double cpus = 0;     // podman --cpus; 0 = no limit
};

// Throws HarnessError naming what is missing and what to install unless
// podman, runc and nsenter are on PATH (and `image`, when given, is in
// podman's local store). Creates nothing.
void RequireContainerSupport(const std::string& image);

class ContainerEnvironment : public Environment {
 public:
  // Checks support, creates the cluster, then the containers. On failure
  // removes everything it made and throws HarnessError with podman's message.
  static std::unique_ptr<ContainerEnvironment> Create(const ContainerOptions& options);
  // The container nodes of a running cluster (made by Create; its
  // containers recorded in its state file), for `faultline heal`. It never
  // removes anything. Throws HarnessError when the cluster has no containers.
  static std::unique_ptr<ContainerEnvironment> Attach(const std::string& run_id);
  ~ContainerEnvironment() override;

  LocalCluster& cluster() { return local_->cluster(); }
  ContainerNode& machine(size_t i) { return *machines_[i]; }

  const std::vector<NodeInfo>& nodes() const override { return nodes_; }
  // "cluster R on 10.x.y.0/24: n1=10.x.y.2 ... (Podman containers, overlay of the host's root)"
  std::string Describe() const override;
  void Teardown() override { local_->Teardown(); }
  std::string Release() override { return local_->Release(); }

 private:
  ContainerEnvironment() = default;
  void StartContainers(const ContainerOptions& options);
  // Machines, Remotes and NodeInfos of the cluster's containers; cpus[i]:
  // node i's base CPU limit; pids[i]: its init's host pid (0: unknown).
  void AddNodes(const std::string& conf, const std::vector<double>& cpus, const std::vector<int>& pids);

  std::unique_ptr<LocalEnvironment> local_;  // owns the cluster; destroyed last
  std::string image_;
  std::vector<std::unique_ptr<ContainerNode>> machines_;
  std::vector<std::unique_ptr<ContainerRemote>> remotes_;
  std::vector<NodeInfo> nodes_;
};

}  // namespace faultline
