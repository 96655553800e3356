// `faultline cluster up|down|status`: local namespace clusters by hand, for
// experiments (README "Command line").
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <memory>

#include "harness/cli/commands.h"
#include "harness/nodes/container/container_environment.h"
#include "harness/nodes/local/local_cluster.h"
#include "harness/nodes/local/local_environment.h"
#include "harness/nodes/ssh/sshd_nodes.h"

namespace faultline {
namespace {

void PrintCluster(const ClusterSummary& c) {
  std::cout << "cluster " << c.run_id << "  subnet " << c.subnet << (c.manual ? "  (manual)" : "")
            << (c.containers.empty() ? "" : "  (Podman containers)")
            << (c.owner_alive ? "" : "  (creator gone: `faultline cleanup` removes it)") << "\n";
  for (const LocalNode& n : c.nodes) std::cout << "  " << n.name << "  " << n.address << "  netns " << n.netns << "\n";
}

struct UpFlags {
  int nodes = 5;
  std::string subnet;
  bool sshd = false;
  bool containers = false;
  ContainerOptions container;
};

int ClusterUp(UpFlags& flags) {
  LocalClusterOptions o;
  o.nodes = flags.nodes;
  o.subnet = flags.subnet;
  o.manual = true;
  o.description = "faultline cluster up";
  // Removed again by the environment's destructor unless everything below works.
  std::unique_ptr<Environment> env;
  LocalCluster* made = nullptr;
  if (flags.containers || !flags.container.image.empty()) {
    flags.container.cluster = o;
    auto containers = ContainerEnvironment::Create(flags.container);
    made = &containers->cluster();
    env = std::move(containers);
  } else {
    auto local = LocalEnvironment::Create(o);
    made = &local->cluster();
    env = std::move(local);
  }
  LocalCluster& cluster = *made;
  for (const ClusterSummary& c : ListLocalClusters()) {
    if (c.run_id == cluster.run_id()) PrintCluster(c);
  }
  if (flags.sshd) {
    const SshdNodes s = StartSshd(cluster);
    std::cout << "sshd on port 22 of every node; client key " << s.client_key.string() << ", known_hosts "
              << s.known_hosts.string() << "\n"
              << "test over SSH with: faultline run " << SshdRunFlags(s) << "\n";
  }
  env->Release();  // a manual cluster: it outlives this command
  if (flags.containers || !flags.container.image.empty()) {
    std::cout << "run commands on a node with: podman exec " << cluster.nodes()[0].netns << " <command>\n";
  } else {
    std::cout << "run commands on a node with: ip netns exec " << cluster.nodes()[0].netns << " <command>\n";
  }
  std::cout << "remove it with: faultline cluster down " << cluster.run_id() << std::endl;
  return 0;
}

int ClusterDown(const std::vector<std::string>& ids) {
  const auto clusters = ListLocalClusters();
  int removed = 0;
  for (const ClusterSummary& c : clusters) {
    const bool named = std::find(ids.begin(), ids.end(), c.run_id) != ids.end();
    if (!(named || (ids.empty() && c.manual))) continue;
    LocalCluster::Attach(c.run_id)->Destroy();
    std::cout << "removed cluster " << c.run_id << std::endl;
    ++removed;
  }
  for (const std::string& id : ids) {
    if (std::none_of(clusters.begin(), clusters.end(), [&](const ClusterSummary& c) { return c.run_id == id; })) {
      std::cerr << "faultline cluster down: no cluster " << id << " (see `faultline cluster status`)" << std::endl;
      return kExitBadInput;
    }
  }
  if (removed == 0) std::cout << "no manual cluster to remove" << std::endl;
  return 0;
}

int ClusterStatus() {
  const auto clusters = ListLocalClusters();
  if (clusters.empty()) std::cout << "no local clusters" << std::endl;
  for (const ClusterSummary& c : clusters) PrintCluster(c);
  return 0;
}

}  // namespace

void AddClusterCommand(CLI::App& app, std::vector<Command>& commands) {
  CLI::App* cluster = app.add_subcommand("cluster", "create and remove local clusters by hand");
  cluster->require_subcommand(1);

  auto up_flags = std::make_shared<UpFlags>();
  CLI::App* up = cluster->add_subcommand("up", "create a local cluster and print its nodes");
  up->add_option("--local", up_flags->nodes, "number of nodes")->check(CLI::Range(1, 200));
  up->add_option("--subnet", up_flags->subnet, "a /24 in 10.0.0.0/8 (default: a free one)");
  up->add_flag("--sshd", up_flags->sshd,
               "also start sshd in every node (own keys, never /etc/ssh) and print the "
               "`faultline run --nodes ...` flags that test over SSH");
  up->add_flag("--containers", up_flags->containers, "nodes as Podman containers (README \"Nodes\")");
  up->add_option("--image", up_flags->container.image, "container nodes from this local image (implies --containers)");
  up->add_option("--node-memory", up_flags->container.memory, "memory limit of each container node, e.g. 256m");
  up->add_option("--node-cpus", up_flags->container.cpus, "CPU limit of each container node in cores")
      ->check(CLI::NonNegativeNumber);
  commands.push_back({up, [up_flags] { return ClusterUp(*up_flags); }});

  auto down_ids = std::make_shared<std::vector<std::string>>();
  CLI::App* down = cluster->add_subcommand("down", "remove local clusters (default: every manual one)");
  down->add_option("ids", *down_ids, "cluster ids from `faultline cluster status`");
  commands.push_back({down, [down_ids] { return ClusterDown(*down_ids); }});

  CLI::App* status = cluster->add_subcommand("status", "list local clusters, their nodes and addresses");
  commands.push_back({status, [] { return ClusterStatus(); }});
}
}  // namespace faultline
