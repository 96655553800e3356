// LocalCluster: create, attach, destroy. The subnet choice is in subnet.cc,
// the removal of resources (Destroy, `faultline cleanup`) in cleanup.cc.
#include "harness/nodes/local/local_cluster.h"

#include <fmt/format.h>

#include <ctime>
#include <fstream>
#include <sstream>

#include "harness/base/harness_error.h"
#include "harness/base/secure_fs.h"
#include "harness/nodes/local/cleanup.h"
#include "harness/nodes/local/cluster_state_file.h"
#include "harness/nodes/local/host_tools.h"
#include "harness/nodes/local/netns_names.h"
#include "harness/nodes/local/netns_thread.h"
#include "harness/nodes/local/subnet.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using namespace local_internal;

constexpr int kCapNetAdmin = 12;

std::string RandomRunId() {
  static const char kChars[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id;
  for (int i = 0; i < 6; ++i) id += kChars[Rng()() % 36];
  return id;
}

std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm;
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The bridge's alias says which state file and owner it belongs to, so a
// cleanup looking at another state directory can tell a live cluster from
// debris.
std::string BridgeAlias(const ClusterState& st) {
  std::string alias = "faultline state=" + ClusterStatePath(st.run_id).string();
  if (st.manual || !st.owner) return alias + " manual";
  return alias + " owner=" + std::to_string(st.owner->pid) + ":" + std::to_string(st.owner->start_time);
}

// Under the state directory's lock and the machine-wide subnet lock: a fresh
// run id, the private node directory, the subnet and the record (first: from
// there on a kill leaves a record), then the bridge with its address, whose
// routes keep other runs off the subnet once the locks are released.
Subnet MakeBridge(ClusterState& st, const std::string& requested_subnet) {
  FileLock dir_lock(PrivateClusterStateDir() / ".lock");
  FileLock subnet_lock(SubnetLockPath());
  do {
    st.run_id = RandomRunId();
  } while (fs::exists(ClusterStatePath(st.run_id)) || LinkExists(BridgeName(st.run_id)) ||
           NetnsExists(NetnsName(st.run_id, 1)));
  // Made atomically, 0700, before anything is recorded or installed: no
  // one else can own or pre-create the directory root will run programs from.
  st.nodes_root = MakePrivateTempDir(fs::temp_directory_path(), NodesRootPrefix(st.run_id)).string();
  const Subnet subnet = PickSubnet(requested_subnet);
  st.subnet = SubnetString(subnet);
  st.bridge = BridgeName(st.run_id);
  WriteClusterState(st);

  Ip({"link", "add", "name", st.bridge, "type", "bridge"});
  WriteSysctl("/sys/class/net/" + st.bridge + "/ifalias", BridgeAlias(st));
  DisableIpv6(st.bridge);
  IpBatch({}, {{"addr", "add", AddressString(subnet.base + 1) + "/24", "dev", st.bridge},
               {"link", "set", st.bridge, "up"}});
  return subnet;
}

// With br_netfilter, bridged frames traverse the host's FORWARD chain,
// whose policy may be DROP (Docker sets it so).
void AllowForwarding(ClusterState& st) {
  if (!IptablesAvailable() || ReadSmallFile("/proc/sys/net/bridge/bridge-nf-call-iptables") != "1") return;
  std::vector<std::string> del = ForwardRuleArgs(st.bridge, "-D");
  del.insert(del.begin(), "iptables");
  st.iptables.push_back(del);
  WriteClusterState(st);
  MustRun("iptables", ForwardRuleArgs(st.bridge, "-I"));
}

// The nodes: recorded first, then their namespaces and veth pairs on the
// bridge, each step for all nodes in one `ip -batch` (and one per node
// inside its namespace): 3 nodes took 18 ip processes, now 6.
void AddNodes(ClusterState& st, const Subnet& subnet, int count) {
  for (int i = 1; i <= count; ++i) {
    st.nodes.push_back({"n" + std::to_string(i), NetnsName(st.run_id, i), AddressString(subnet.base + 1 + i),
                        HostVethName(st.run_id, i)});
  }
  WriteClusterState(st);

  std::vector<std::vector<std::string>> add_namespaces, add_veths, attach_veths;
  for (const auto& node : st.nodes) {
    add_namespaces.push_back({"netns", "add", node.netns});
    add_veths.push_back({"link", "add", node.host_veth, "type", "veth", "peer", "name", "eth0", "netns", node.netns});
    attach_veths.push_back({"link", "set", node.host_veth, "master", st.bridge, "up"});
  }
  IpBatch({}, add_namespaces);
  // Before any link comes up inside, so neither lo nor eth0 ever speaks IPv6.
  for (const auto& node : st.nodes) {
    RunInNetns(node.netns, [] {
      WriteSysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
      WriteSysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    });
  }
  IpBatch({}, add_veths);
  for (const auto& node : st.nodes) DisableIpv6(node.host_veth);
  IpBatch({}, attach_veths);
  for (const auto& node : st.nodes) {
    IpBatch({"-n", node.netns}, {{"addr", "add", node.address + "/24", "dev", "eth0"},
                                 {"link", "set", "eth0", "up"},
                                 {"link", "set", "lo", "up"}});
  }
}

// Safety: every node address must route via our bridge, and no node may
// have a default route, before anything is sent.
void VerifyRoutes(const ClusterState& st) {
  std::vector<std::vector<std::string>> lookups;
  for (const auto& node : st.nodes) lookups.push_back({"route", "get", node.address});
  std::istringstream answers(IpBatch({"-o"}, lookups));  // one line per lookup
  for (const auto& node : st.nodes) {
    std::string route;
    if (!std::getline(answers, route)) {
      throw HarnessError("unsafe local cluster: `ip route get " + node.address + "` printed no route");
    }
    std::istringstream words(route);
    std::string w, dev;
    while (words >> w) {
      if (w == "dev" && words >> dev) break;
    }
    if (dev != st.bridge) {
      throw HarnessError("unsafe local cluster: node address " + node.address + " routes via `" +
                         Trimmed(route.substr(0, route.find('\\'))) + "`, not via bridge " + st.bridge +
                         "; another interface on this machine claims that subnet");
    }
    const std::string default_route = DefaultRouteIn(node.netns);
    if (!default_route.empty()) {
      throw HarnessError("unsafe local cluster: namespace " + node.netns + " has a default route: " + default_route);
    }
  }
}

}  // namespace

fs::path LocalCluster::state_dir() { return ClusterStateDir(); }

const fs::path& LocalCluster::nodes_root() const {
  if (const std::string problem = PrivateDirProblem(nodes_root_); nodes_root_.empty() || !problem.empty()) {
    throw HarnessError(
        fmt::format("local cluster {}: its node directory {} is {}; it is not used (a directory "
                    "faultline did not make could hold anything). Remove the cluster with "
                    "`faultline cluster down {}`",
                    run_id_, nodes_root_.empty() ? "(not recorded)" : nodes_root_.string(),
                    nodes_root_.empty() ? "unknown" : problem, run_id_));
  }
  return nodes_root_;
}

std::string LocalCluster::node_dir(size_t i) const { return (nodes_root() / nodes_[i].name).string(); }

void RequireNetAdmin() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    // CapEff, not geteuid(): root in a container may lack the capability.
    if (line.rfind("CapEff:", 0) == 0 && ((std::stoull(line.substr(7), nullptr, 16) >> kCapNetAdmin) & 1)) return;
  }
  throw HarnessError("faultline needs root (CAP_NET_ADMIN) to create network namespaces; run it with sudo");
}

std::unique_ptr<LocalCluster> LocalCluster::Create(const LocalClusterOptions& options) {
  RequireNetAdmin();
  if (options.nodes < 1 || options.nodes > 253) {
    throw HarnessError("a local cluster has 1 to 253 nodes, not " + std::to_string(options.nodes));
  }
  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  ClusterState st;
  st.manual = options.manual;
  st.description = options.description;
  st.created_at = NowUtc();
  if (!options.manual) st.owner = CurrentProcessOwner();
  try {
    const Subnet subnet = MakeBridge(st, options.subnet);
    AllowForwarding(st);
    AddNodes(st, subnet, options.nodes);
    VerifyRoutes(st);
  } catch (const std::exception& e) {
    std::string what = e.what();
    cluster->Adopt(st);  // what Destroy() goes by if the record cannot be read
    if (!st.run_id.empty() && fs::exists(ClusterStatePath(st.run_id))) {
      try {
        cluster->Destroy();
      } catch (const std::exception& cleanup) {
        what += "; removing the partial cluster also failed: " + std::string(cleanup.what());
      }
    } else if (!st.nodes_root.empty()) {
      std::error_code ec;
      fs::remove(st.nodes_root, ec);  // still empty: nothing was recorded or installed
    }
    throw HarnessError("cannot create local cluster: " + what);
  }
  cluster->Adopt(st);
  for (const auto& n : cluster->nodes_) cluster->remotes_.push_back(std::make_unique<LocalRemote>(n.name, n.netns));
  return cluster;
}

void LocalCluster::Adopt(const ClusterState& st) {
  run_id_ = st.run_id;
  bridge_ = st.bridge;
  subnet_ = st.subnet;
  nodes_root_ = st.nodes_root;
  nodes_.clear();
  for (const auto& n : st.nodes) nodes_.push_back({n.name, n.netns, n.address});
}

std::unique_ptr<LocalCluster> LocalCluster::Attach(const std::string& run_id) {
  if (!IsRunId(run_id)) throw HarnessError("bad local cluster run id \"" + run_id + "\": expected 6 chars [0-9a-z]");
  auto st = ReadClusterState(ClusterStatePath(run_id));
  if (!st) {
    throw HarnessError("no local cluster " + run_id + " (no state file " + ClusterStatePath(run_id).string() + ")");
  }
  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  cluster->Adopt(*st);
  // A missing one is fine for Destroy(); one that is there must be ours.
  if (const std::string problem = PrivateDirProblem(st->nodes_root);
      !st->nodes_root.empty() && !problem.empty() && problem != "does not exist") {
    throw HarnessError(
        fmt::format("local cluster {}: its node directory {} is {}, not the private directory "
                    "faultline made; refusing to use it. Remove it by hand (rm -rf {}), then run "
                    "`faultline cluster down {}`",
                    run_id, st->nodes_root, problem, st->nodes_root, run_id));
  }
  for (const auto& n : cluster->nodes_) cluster->remotes_.push_back(std::make_unique<LocalRemote>(n.name, n.netns));
  return cluster;
}

LocalCluster::~LocalCluster() = default;

void LocalCluster::RecordContainer(const std::string& name) {
  auto st = ReadClusterState(ClusterStatePath(run_id_));
  if (!st) throw HarnessError("local cluster " + run_id_ + ": its state file is gone; cannot record container " + name);
  st->containers.push_back(name);
  WriteClusterState(*st);
}

void LocalCluster::Destroy() {
  std::vector<std::string> removed, errors;
  std::optional<ClusterState> st;
  try {
    st = ReadClusterState(ClusterStatePath(run_id_));
  } catch (const HarnessError& e) {
    errors.push_back(e.what());
  }
  if (!st) {  // already destroyed, or the record is unreadable: go by names
    st.emplace();
    st->run_id = run_id_;
    st->bridge = bridge_;
    st->nodes_root = nodes_root_.string();
    for (size_t i = 0; i < nodes_.size(); ++i) {
      st->nodes.push_back({nodes_[i].name, nodes_[i].netns, nodes_[i].address, HostVethName(run_id_, int(i) + 1)});
    }
  }
  DestroyResources(*st, removed, errors);
  if (!errors.empty()) {
    throw HarnessError("could not fully remove local cluster " + run_id_ + " (state file " +
                       ClusterStatePath(run_id_).string() + " kept for `faultline cleanup`):" + ErrorList(errors));
  }
  RemoveStateFile(run_id_, removed, errors);
  if (!errors.empty()) throw HarnessError("local cluster " + run_id_ + ":" + ErrorList(errors));
}

}  // namespace faultline
