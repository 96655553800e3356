// The state file of one LocalCluster: state_dir()/<run id>.json, the record
// `faultline cleanup` uses to remove what a killed run left behind. Written
// before each resource is created (write a temp file, then rename), so a
// kill at any point leaves a record of everything that may exist.
//
//   {"run_id": "k3x9az", "subnet": "10.42.7.0/24", "bridge": "flbk3x9az",
//    "owner": {"pid": 4242, "start_time": 123456} | null (manual),
//    "manual": false, "description": "...", "created_at": "2026-11-27T07:12:42Z",
//    "nodes": [{"name": "n1", "netns": "fl-k3x9az-n1", "address": "10.42.7.2",
//               "host_veth": "flk3x9az-1"}],
//    "iptables": [["iptables", "-D", "FORWARD", ...]],   // argv that deletes each rule
//    "containers": ["fl-k3x9az-n1"]}   // Podman containers of container nodes (harness/nodes/container)
//
// owner.start_time is field 22 of /proc/<pid>/stat, so a reused pid does not
// pass for the owner. "nodes_root" is the cluster's private mkdtemp
// directory (LocalCluster::nodes_root()). Free functions; thread-safe (files
// are replaced atomically).
//
// Security (faultline runs as root on shared machines): the directory is
// private (secure_fs.h EnsurePrivateDir: ours, 0700, never a symlink; one
// that others could write is refused), files are 0600, created with
// O_EXCL | O_NOFOLLOW, and a record is only read from a private directory
// and from a regular file of ours.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace faultline {

struct ClusterOwner {
  int pid = 0;
  uint64_t start_time = 0;
};

struct ClusterStateNode {
  std::string name, netns, address, host_veth;
};

struct ClusterState {
  std::string run_id, subnet, bridge, description, created_at;
  std::string nodes_root;             // empty in records of older faultlines
  std::optional<ClusterOwner> owner;  // empty when manual
  bool manual = false;
  std::vector<ClusterStateNode> nodes;
  std::vector<std::vector<std::string>> iptables;
  std::vector<std::string> containers;  // recorded before each is created
};

// $FAULTLINE_STATE_DIR or /run/faultline.
std::filesystem::path ClusterStateDir();
// ClusterStateDir(), created or checked private first (throws HarnessError naming the path and the fix).
std::filesystem::path PrivateClusterStateDir();
std::filesystem::path ClusterStatePath(const std::string& run_id);

// Atomic replace (then fsyncs the directory); creates the directory. Throws HarnessError.
void WriteClusterState(const ClusterState& state);
// nullopt when the file (or the directory) does not exist; HarnessError when
// it is unreadable, not ours, or its directory is not private.
std::optional<ClusterState> ReadClusterState(const std::filesystem::path& file);
// Run ids of every *.json in the state directory, sorted (none when it does
// not exist; HarnessError when it is not private).
std::vector<std::string> ListClusterStateIds();

// Start time (field 22 of /proc/<pid>/stat) or nullopt when no such process.
std::optional<uint64_t> ProcessStartTime(int pid);
ClusterOwner CurrentProcessOwner();
// The same process still runs (a zombie does not count).
bool OwnerAlive(const ClusterOwner& owner);

}  // namespace faultline
