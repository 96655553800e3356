// Removing a local cluster's resources, for LocalCluster::Destroy and
// `faultline cleanup` (CleanupLocalClusters). Internal to harness/nodes/local.
#pragma once

#include <string>
#include <vector>

#include "harness/nodes/local/cluster_state_file.h"

namespace faultline::local_internal {

// Removes every resource of one run: the recorded ones plus anything named
// after its run id (processes in its namespaces, the private node
// directories, links, namespaces, iptables rules, the bridge last). Appends
// what it removed to `removed` and failures to `errors`; never throws. A
// concurrent cleanup may remove the same debris first: gone is fine.
void DestroyResources(const ClusterState& st, std::vector<std::string>& removed, std::vector<std::string>& errors);

void RemoveStateFile(const std::string& run_id, std::vector<std::string>& removed, std::vector<std::string>& errors);

// "\n  error1\n  error2": a list for a HarnessError message.
std::string ErrorList(const std::vector<std::string>& errors);

}  // namespace faultline::local_internal
