// LocalCluster: N nodes on this machine, each a Linux network namespace with
// its own address, joined by a bridge (ARCHITECTURE.md, "Remote: local").
//
// Names are unique per run: run id R (6 lowercase base-36 chars) gives
// namespaces "fl-R-n1".., bridge "flbR", host-side veths "flR-<i>"; inside
// each namespace the veth is "eth0". The bridge holds the subnet's first
// address (.1), node i holds .(i+1). The subnet is given, or chosen free in
// 10.0.0.0/8 (no overlap with any route on the machine or any other
// faultline cluster), under a lock so concurrent runs never collide (a
// machine-wide one, /run/faultline/subnets.lock, held until the bridge
// has its address, so runs with different state directories don't either).
// Locks wait at most LockWait() (secure_fs.h), then fail naming the holder.
//
// Safety: before anything is sent, each node address must route via the
// bridge (`ip route get`); if not, Create() tears down and throws. Nodes
// get no default route, so nothing they send can leave the machine.
//
// Every resource is recorded in a state file (state_dir()/R.json) as it is
// created, so `faultline cleanup` can remove what a killed run left:
// processes in the namespaces, namespaces, links, host iptables rules, and
// the nodes' directories (nodes_root()).
//
// Security (root on a shared machine): the nodes' files live in a private
// directory made with mkdtemp, <temp dir>/faultline-R-XXXXXX (0700, root's),
// recorded in the state file; whatever re-opens it by name (Attach, node_dir,
// Destroy, cleanup) first checks it is still that: a real directory, ours,
// mode 0700. The state directory is private too (cluster_state_file.h).
//
// Needs root (CAP_NET_ADMIN): Create() throws a HarnessError saying so.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/nodes/local/local_remote.h"

namespace faultline {

struct ClusterState;

struct LocalNode {
  std::string name;     // n1, n2, ...
  std::string netns;    // fl-R-n1
  std::string address;  // 10.x.y.2
};

struct LocalClusterOptions {
  int nodes = 5;
  std::string subnet;       // "10.42.7.0/24"; empty = pick a free /24 in 10.0.0.0/8
  bool manual = false;      // made by `cluster up`: survives its creator's exit
  std::string description;  // shown by `cluster status` (e.g. the test name)
};

class LocalCluster {
 public:
  // Creates everything, verifies routes. On failure removes what it made
  // and throws HarnessError.
  static std::unique_ptr<LocalCluster> Create(const LocalClusterOptions& options);
  // Attaches to an existing cluster by run id (from its state file). Throws
  // when its node directory exists but is not the private one Create() made.
  static std::unique_ptr<LocalCluster> Attach(const std::string& run_id);

  ~LocalCluster();  // does NOT destroy: call Destroy() (a run may leave it up)

  const std::string& run_id() const { return run_id_; }
  const std::string& bridge() const { return bridge_; }
  const std::string& subnet() const { return subnet_; }
  const std::vector<LocalNode>& nodes() const { return nodes_; }
  // One Remote per node, owned by the cluster.
  Remote& remote(size_t i) { return *remotes_[i]; }
  // The private directory holding the nodes' files; throws HarnessError
  // unless it is (still) a real 0700 directory of ours.
  const std::filesystem::path& nodes_root() const;
  // Node i's working directory (store binary, data, logs): nodes_root()/<name>.
  std::string node_dir(size_t i) const;

  // Records a Podman container that holds one of the nodes (container
  // nodes, harness/nodes/container), before it is created: Destroy and
  // `faultline cleanup` remove it first. Throws HarnessError.
  void RecordContainer(const std::string& name);

  // Kills every process in the namespaces, deletes namespaces, links, host
  // rules, the node directories and the state file. Best effort: keeps going past errors and
  // throws one HarnessError listing them at the end. Idempotent.
  void Destroy();

  // state file directory: $FAULTLINE_STATE_DIR or /run/faultline.
  static std::filesystem::path state_dir();

 private:
  LocalCluster() = default;
  // Takes names, subnet and nodes from a record (no Remotes).
  void Adopt(const ClusterState& st);
  std::string run_id_, bridge_, subnet_;
  std::filesystem::path nodes_root_;
  std::vector<LocalNode> nodes_;
  std::vector<std::unique_ptr<LocalRemote>> remotes_;
};

// Throws HarnessError ("... needs root (CAP_NET_ADMIN) ...; run it with sudo")
// unless this process may create network namespaces.
void RequireNetAdmin();

struct ClusterSummary {
  std::string run_id;
  std::string subnet;
  bool manual = false;
  bool owner_alive = false;  // the creating process still runs (or manual)
  std::string description;
  std::vector<LocalNode> nodes;
  std::vector<std::string> containers;  // container nodes' containers (named like the namespaces)
};

// Every cluster recorded in the state directory.
std::vector<ClusterSummary> ListLocalClusters();

// Removes clusters whose creator is dead (and manual ones too when
// include_manual). Returns one line per removed resource for the user.
// Also removes debris named like ours (namespaces fl-R-n*, links flbR,
// flR-*) whose run id R has no state file here, unless its bridge still
// claims it: the bridge's alias names the creating state file and owner, and
// a bridge whose state file exists or whose owner lives (or that is manual,
// without include_manual, or that has no readable alias) is left alone.
// Throws HarnessError listing what could not be removed (after trying all).
std::vector<std::string> CleanupLocalClusters(bool include_manual);

}  // namespace faultline
