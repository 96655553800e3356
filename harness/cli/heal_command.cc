// `faultline heal [ID]`: removes every fault from a running local cluster
// (one left by --leave-db-running or made by `cluster up`, or one whose run
// is still going): partition and loss rules, stopped processes, skewed
// clocks; container nodes frozen, crashed or starved; and restarts a killed
// store when the cluster's run directory (its test.json) says how. Prints what it did and each problem left.
#include <fmt/format.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "harness/base/harness_error.h"
#include "harness/cli/commands.h"
#include "harness/nodes/container/container_environment.h"
#include "harness/nodes/local/local_cluster.h"
#include "harness/nodes/local/local_environment.h"
#include "harness/nodes/local/netns_thread.h"
#include "harness/run/registry.h"
#include "harness/run/test_config.h"
#include "nemesis/clock_fault.h"
#include "nemesis/net_faults.h"

namespace faultline {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Container nodes: thawed, booted (a crashed node's store is then restarted
// below), their CPU limits restored.
void HealMachines(ContainerEnvironment& env, const std::string& run_id, std::ostream& out,
                  std::vector<std::string>& problems) {
  for (const NodeInfo& n : env.nodes()) {
    try {
      if (n.machine->Frozen()) n.machine->Thaw();
      n.machine->Boot();  // a crashed node; a running one is left alone
      n.machine->SetCpuLimit(n.machine->BaseCpuLimit());
    } catch (const std::exception& e) {
      problems.push_back(n.name + ": " + e.what());
    }
  }
  out << "cluster " << run_id << ": containers thawed, booted, CPU limits restored" << std::endl;
}

// Processes of a node's namespace but a container's init (catatonit).
std::vector<int> StorePids(const std::string& netns) {
  std::vector<int> pids;
  for (int pid : NetnsPids(netns)) {
    std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
    std::string argv0;
    std::getline(cmdline, argv0, '\0');
    if (argv0 != "/run/podman-init") pids.push_back(pid);
  }
  return pids;
}

std::vector<std::string> HealLocalCluster(const std::string& run_id, std::ostream& out) {
  std::unique_ptr<LocalCluster> cluster = LocalCluster::Attach(run_id);  // attached, never destroyed here
  std::vector<std::string> problems;
  std::unique_ptr<ContainerEnvironment> containers;
  std::vector<NodeInfo> nodes = LocalNodeInfos(*cluster);
  for (const ClusterSummary& c : ListLocalClusters()) {
    if (c.run_id == run_id && !c.containers.empty()) {
      containers = ContainerEnvironment::Attach(run_id);
      HealMachines(*containers, run_id, out, problems);
      nodes = containers->nodes();
    }
  }
  HealNetwork(nodes);
  out << "cluster " << run_id << ": partition and loss rules removed" << std::endl;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (int pid : NetnsPids(cluster->nodes()[i].netns)) ::kill(pid, SIGCONT);
    // Seen from here: the node's directory on this machine.
    if (fs::exists(fs::path(cluster->node_dir(i)) / fs::path(ClockFile(nodes[i])).filename())) {
      SetClockOffset(nodes[i], 0);
    }
  }
  out << "cluster " << run_id << ": processes resumed, clocks reset" << std::endl;

  // A node with no process left had its store killed: restart it the way
  // its run started it, if the run directory is known.
  std::vector<const NodeInfo*> dead;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (StorePids(cluster->nodes()[i].netns).empty() && fs::exists(cluster->node_dir(i))) dead.push_back(&nodes[i]);
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
      for (const NodeInfo* n : dead)
        problems.push_back(n->name + ": the store is not running and no test.json says how to start it");
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

int HealCommand(const std::vector<std::string>& ids) {
  std::vector<std::string> targets = ids;
  if (targets.empty()) {
    for (const ClusterSummary& c : ListLocalClusters()) targets.push_back(c.run_id);
  }
  if (targets.empty()) std::cout << "no local clusters to heal" << std::endl;
  int code = 0;
  for (const std::string& id : targets) {
    for (const std::string& problem : HealLocalCluster(id, std::cout)) {
      std::cerr << "faultline heal: cluster " << id << ": " << problem << std::endl;
      code = kExitBadInput;
    }
  }
  return code;
}

}  // namespace

void AddHealCommand(CLI::App& app, std::vector<Command>& commands) {
  auto ids = std::make_shared<std::vector<std::string>>();
  CLI::App* heal = app.add_subcommand("heal",
                                      "remove every fault from running local clusters: partition and loss "
                                      "rules, paused processes, clock skew; restart killed stores");
  heal->add_option("ids", *ids, "cluster ids (default: every local cluster)");
  commands.push_back({heal, [ids] { return HealCommand(*ids); }});
}

}  // namespace faultline
