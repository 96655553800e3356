#include "heal_command.h"

#include <signal.h>

#include <filesystem>

#include <fmt/format.h>

#include "clock_fault.h"
#include "harness_error.h"
#include "local_cluster.h"
#include "net_faults.h"
#include "netns_thread.h"
#include "registry.h"
#include "test_config.h"

namespace faultline {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::vector<std::string> HealLocalCluster(const std::string& run_id, std::ostream& out) {
  std::unique_ptr<LocalCluster> cluster = LocalCluster::Attach(run_id);
  std::vector<NodeInfo> nodes;
  for (size_t i = 0; i < cluster->nodes().size(); ++i) {
    const LocalNode& n = cluster->nodes()[i];
    nodes.push_back(NodeInfo{n.name, n.address, cluster->node_dir(i), &cluster->remote(i)});
  }
  std::vector<std::string> problems;
  HealNetwork(nodes);
  out << "cluster " << run_id << ": partition and loss rules removed" << std::endl;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (int pid : NetnsPids(cluster->nodes()[i].netns)) ::kill(pid, SIGCONT);
    if (fs::exists(ClockFile(nodes[i]))) SetClockOffset(nodes[i], 0);
  }
  out << "cluster " << run_id << ": processes resumed, clocks reset" << std::endl;

  // A node with no process left had its store killed: restart it the way
  // its run started it, if the run directory is known.
  std::vector<const NodeInfo*> dead;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (NetnsPids(cluster->nodes()[i].netns).empty() && fs::exists(nodes[i].dir)) dead.push_back(&nodes[i]);
  }
  if (!dead.empty()) {
    std::string run_dir;
    for (const ClusterSummary& c : ListLocalClusters()) {
      // The runner's description is "<test name> <run dir>".
      if (c.run_id == run_id && c.description.find(' ') != std::string::npos) {
        run_dir = c.description.substr(c.description.find(' ') + 1);
      }
    }
    const fs::path test_json = fs::path(run_dir) / "test.json";
    if (run_dir.empty() || !fs::exists(test_json)) {
      for (const NodeInfo* n : dead) problems.push_back(n->name + ": the store is not running and no test.json says how to start it");
    } else {
      const TestConfig config = ResolveConfig(LoadConfigFile(test_json), 0);
      std::unique_ptr<Database> db = MakeDatabase(config);
      for (const NodeInfo* n : dead) {
        try {
          db->Start(*n);
          db->WaitHealthy(*n, 20s);
          out << n->name << ": " << db->name() << " restarted" << std::endl;
        } catch (const std::exception& e) {
          problems.push_back(n->name + ": restart failed: " + e.what());
        }
      }
    }
  }
  for (const std::string& p : VerifyNetworkHealed(nodes)) problems.push_back(p);
  return problems;
}

}  // namespace faultline
