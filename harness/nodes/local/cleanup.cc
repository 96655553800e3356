#include "harness/nodes/local/cleanup.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/base/secure_fs.h"
#include "harness/nodes/local/host_tools.h"
#include "harness/nodes/local/local_cluster.h"
#include "harness/nodes/local/netns_names.h"
#include "harness/nodes/local/netns_thread.h"

namespace faultline {
namespace local_internal {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kKillWait = 5s;  // how long processes in a namespace get to die after SIGKILL

// Runs fn; a failure is an error only while the thing still exists (a
// concurrent cleanup may have removed it first).
void Attempt(std::vector<std::string>& errors, const std::string& what, const std::function<void()>& fn,
             const std::function<bool()>& exists) {
  try {
    fn();
  } catch (const std::exception& e) {
    if (exists()) errors.push_back(what + ": " + e.what());
  }
}

// Private node roots of a run whose record is lost (only ours: checked before removal).
std::vector<fs::path> StrayNodesRoots(const std::string& run_id) {
  std::vector<fs::path> roots;
  std::error_code ec;
  const fs::path tmp = fs::temp_directory_path(ec);
  for (const std::string& name : ListDir(tmp)) {
    if (IsNodesRootOf(tmp / name, run_id) && PrivateDirProblem(tmp / name).empty()) roots.push_back(tmp / name);
  }
  return roots;
}

// SIGKILL (and SIGCONT, for stopped ones) every process in the namespaces
// until none is left, then reap ours (daemons started by this process).
void KillProcesses(const std::set<std::string>& namespaces, std::vector<std::string>& removed,
                   std::vector<std::string>& errors) {
  std::set<int> killed;
  for (const auto& ns : namespaces) {
    auto deadline = std::chrono::steady_clock::now() + kKillWait;
    std::vector<int> pids;
    while (!(pids = NetnsPids(ns)).empty() && std::chrono::steady_clock::now() < deadline) {
      for (int pid : pids) {
        ::kill(pid, SIGKILL);
        ::kill(pid, SIGCONT);
        killed.insert(pid);
      }
      std::this_thread::sleep_for(2ms);
    }
    if (!pids.empty()) errors.push_back("processes in " + ns + " survived SIGKILL for 5 s");
  }
  if (!killed.empty()) removed.push_back("killed " + std::to_string(killed.size()) + " process(es)");
  // Ours would stay zombies: reap them.
  for (int pid : killed) {
    for (int i = 0; i < 200 && ::waitpid(pid, nullptr, WNOHANG) == 0; ++i) std::this_thread::sleep_for(1ms);
  }
}

// The run's Podman containers (recorded, or named after its namespaces),
// first: their processes live in the namespaces and their mounts hold the
// node directories. `podman rm` removes each one's overlay too. A cluster's
// record names each container before it is created, and its nodes before
// any container, so a record with nodes and no container has none, and one
// that names containers names them all: Podman (~0.1 CPU-s a call) is asked
// to list containers only for a record without nodes (debris), or to learn
// what a failed `rm` left.
void RemoveContainers(const ClusterState& st, std::vector<std::string>& removed, std::vector<std::string>& errors) {
  if (st.containers.empty() && !st.nodes.empty()) return;
  std::set<std::string> names(st.containers.begin(), st.containers.end());
  if (names.empty()) {
    try {
      for (const auto& n : PodmanContainerNames()) {
        if (RunIdOfNetns(n) == st.run_id) names.insert(n);
      }
    } catch (const std::exception&) {
      return;  // podman could not be asked, and the record names no container to report
    }
    if (names.empty()) return;
  }
  // --ignore: a recorded container never made (or removed already) is no error;
  // podman prints the name of each one it removed.
  std::vector<std::string> args = {"rm", "--force", "--ignore", "--time", "0"};
  args.insert(args.end(), names.begin(), names.end());
  CommandResult r;
  try {
    r = RunPodman(args);
  } catch (const std::exception& e) {
    errors.push_back("removing containers " + Joined({names.begin(), names.end()}) + ": " + e.what());
    return;
  }
  std::istringstream out(r.out);
  for (std::string line; std::getline(out, line);) {
    if (names.count(line)) removed.push_back("removed container " + line);
  }
  if (r.ok()) return;
  std::vector<std::string> left;
  try {
    left = PodmanContainerNames();
  } catch (const std::exception& e) {
    errors.push_back("removing containers " + Joined({names.begin(), names.end()}) + ": " + Trimmed(r.err) +
                     "; listing what is left: " + e.what());
    return;
  }
  for (const auto& n : names) {
    if (std::find(left.begin(), left.end(), n) != left.end()) {
      errors.push_back("removing container " + n + ": " + Trimmed(r.err));
    }
  }
}

// The nodes' files, once nothing runs from them: only the private directory
// Create() made (a path someone else made or swapped in is left alone).
void RemoveNodesRoots(const ClusterState& st, std::vector<std::string>& removed, std::vector<std::string>& errors) {
  std::vector<fs::path> roots;
  if (!st.nodes_root.empty()) roots.push_back(st.nodes_root);
  if (st.nodes_root.empty()) roots = StrayNodesRoots(st.run_id);
  for (const fs::path& root : roots) {
    const std::string problem = PrivateDirProblem(root);
    if (problem == "does not exist") continue;
    if (!problem.empty() || !IsNodesRootOf(root, st.run_id)) {
      errors.push_back(
          fmt::format("refusing to remove {}: it is {}, not the private directory faultline made for "
                      "cluster {}; remove it by hand if it is debris",
                      root.string(), problem.empty() ? "misnamed" : problem, st.run_id));
      continue;
    }
    std::error_code ec;
    fs::remove_all(root, ec);
    if (ec) {
      errors.push_back("remove " + root.string() + ": " + ec.message());
    } else {
      removed.push_back("removed node directories " + root.string());
    }
  }
}

// Deleting a veth's host end deletes its eth0 too. All in one `ip -batch`
// first (an ip costs ~11 ms of CPU); when that fails, the rest one by one,
// so each failure names its resource and nothing else is left behind.
void RemoveLinksAndNamespaces(const std::set<std::string>& veths, const std::set<std::string>& namespaces,
                              std::vector<std::string>& removed, std::vector<std::string>& errors) {
  struct Item {
    std::vector<std::string> del;  // the ip command
    std::string what;              // "link X", "network namespace X"
    std::function<bool()> exists;
  };
  std::vector<Item> items;
  for (const auto& veth : veths) {
    if (LinkExists(veth)) items.push_back({{"link", "del", veth}, "link " + veth, [veth] { return LinkExists(veth); }});
  }
  for (const auto& ns : namespaces) {
    if (NetnsExists(ns)) {
      items.push_back({{"netns", "del", ns}, "network namespace " + ns, [ns] { return NetnsExists(ns); }});
    }
  }
  if (items.empty()) return;
  std::vector<std::vector<std::string>> batch;
  for (const auto& item : items) batch.push_back(item.del);
  try {
    IpBatch({}, batch);
  } catch (const HarnessError&) {
    // One by one below: ip stopped at the first failure.
  }
  for (const auto& item : items) {
    if (item.exists()) {
      Attempt(
          errors, "removing " + item.what, [&] { Ip(item.del); }, item.exists);
    }
    if (!item.exists()) removed.push_back("removed " + item.what);
  }
}

// The recorded rules plus any FORWARD rule naming the bridge on both sides,
// each as "iptables -D ...".
std::vector<std::vector<std::string>> IptablesRulesOf(const ClusterState& st) {
  std::vector<std::vector<std::string>> rules = st.iptables;
  if (!IptablesAvailable()) return rules;
  CommandResult listed = RunTool("iptables", {"-S", "FORWARD"});
  std::istringstream lines(listed.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> args;
    std::string w;
    while (words >> w) args.push_back(w);
    if (args.size() < 2 || args[0] != "-A") continue;
    bool in = false, out = false;
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      in |= args[i] == "-i" && args[i + 1] == st.bridge;
      out |= args[i] == "-o" && args[i + 1] == st.bridge;
    }
    if (!in || !out) continue;
    args[0] = "-D";
    args.insert(args.begin(), "iptables");
    rules.push_back(args);
  }
  return rules;
}

void RemoveIptablesRules(const ClusterState& st, std::vector<std::string>& removed, std::vector<std::string>& errors) {
  std::set<std::vector<std::string>> done;
  for (auto rule : IptablesRulesOf(st)) {
    if (rule.size() < 3 || rule[0] != "iptables" || !done.insert(rule).second) continue;
    std::vector<std::string> args(rule.begin() + 1, rule.end());
    CommandResult r = RunTool("iptables", args);
    if (r.ok()) {
      removed.push_back("removed iptables rule: " + Joined(rule));
      continue;
    }
    // Already gone (a previous cleanup, or never inserted) is fine.
    auto check = args;
    for (auto& a : check) {
      if (a == "-D") a = "-C";
    }
    if (RunTool("iptables", check).exit_code == 0) {
      errors.push_back("removing iptables rule `" + Joined(rule) + "`: " + Trimmed(r.err));
    }
  }
}

ClusterSummary Summarize(const ClusterState& st) {
  ClusterSummary s;
  s.run_id = st.run_id;
  s.subnet = st.subnet;
  s.manual = st.manual;
  s.owner_alive = st.manual || (st.owner && OwnerAlive(*st.owner));
  s.description = st.description;
  for (const auto& n : st.nodes) s.nodes.push_back({n.name, n.netns, n.address});
  s.containers = st.containers;
  return s;
}

// Whether the bridge of run `run_id` (not recorded in our state directory)
// still belongs to someone: its alias names an existing state file or a live
// owner, or it has no alias we can read (be conservative).
bool BridgeClaimed(const std::string& run_id, bool include_manual) {
  std::string bridge = BridgeName(run_id);
  if (!LinkExists(bridge)) return false;
  std::string alias = ReadSmallFile("/sys/class/net/" + bridge + "/ifalias");
  std::istringstream words(alias);
  std::string w;
  words >> w;
  if (w != "faultline") return true;
  bool manual = false;
  std::optional<ClusterOwner> owner;
  while (words >> w) {
    if (w.rfind("state=", 0) == 0 && fs::exists(w.substr(6))) return true;
    if (w == "manual") manual = true;
    if (w.rfind("owner=", 0) == 0) {
      auto colon = w.find(':');
      if (colon == std::string::npos) return true;
      try {
        owner = ClusterOwner{std::stoi(w.substr(6, colon - 6)), std::stoull(w.substr(colon + 1))};
      } catch (...) {
        return true;
      }
    }
  }
  if (manual) return !include_manual;
  return !owner || OwnerAlive(*owner);
}

}  // namespace

void DestroyResources(const ClusterState& st, std::vector<std::string>& removed, std::vector<std::string>& errors) {
  std::set<std::string> namespaces, veths;
  for (const auto& n : st.nodes) {
    namespaces.insert(n.netns);
    veths.insert(n.host_veth);
  }
  for (const auto& ns : ListDir("/run/netns")) {
    if (RunIdOfNetns(ns) == st.run_id) namespaces.insert(ns);
  }
  for (const auto& link : ListDir("/sys/class/net")) {
    if (RunIdOfLink(link) == st.run_id && link != st.bridge) veths.insert(link);
  }
  RemoveContainers(st, removed, errors);
  KillProcesses(namespaces, removed, errors);
  RemoveNodesRoots(st, removed, errors);
  RemoveLinksAndNamespaces(veths, namespaces, removed, errors);
  RemoveIptablesRules(st, removed, errors);
  // The bridge last: its presence tells other cleanups the run may be live.
  if (!st.bridge.empty() && LinkExists(st.bridge)) {
    Attempt(
        errors, "removing bridge " + st.bridge,
        [&] {
          Ip({"link", "del", st.bridge});
          removed.push_back("removed bridge " + st.bridge);
        },
        [&] { return LinkExists(st.bridge); });
  }
}

void RemoveStateFile(const std::string& run_id, std::vector<std::string>& removed, std::vector<std::string>& errors) {
  std::error_code ec;
  fs::path file = ClusterStatePath(run_id);
  if (fs::remove(file, ec)) removed.push_back("removed state file " + file.string());
  if (ec) errors.push_back("removing state file " + file.string() + ": " + ec.message());
}

std::string ErrorList(const std::vector<std::string>& errors) {
  std::string s;
  for (const auto& e : errors) s += "\n  " + e;
  return s;
}
}  // namespace local_internal

using local_internal::BridgeClaimed;
using local_internal::DestroyResources;
using local_internal::ErrorList;
using local_internal::ListDir;
using local_internal::PodmanContainerNames;
using local_internal::RemoveStateFile;
using local_internal::Summarize;
namespace fs = std::filesystem;

std::vector<ClusterSummary> ListLocalClusters() {
  std::vector<ClusterSummary> clusters;
  for (const auto& id : ListClusterStateIds()) {
    try {
      if (auto st = ReadClusterState(ClusterStatePath(id))) clusters.push_back(Summarize(*st));
    } catch (const HarnessError&) {
      // Unreadable records are reported (and removed) by cleanup.
    }
  }
  return clusters;
}

std::vector<std::string> CleanupLocalClusters(bool include_manual) {
  std::vector<std::string> removed, errors;
  FileLock dir_lock(PrivateClusterStateDir() / ".lock");
  std::set<std::string> recorded;
  for (const auto& id : ListClusterStateIds()) {
    std::optional<ClusterState> st;
    try {
      st = ReadClusterState(ClusterStatePath(id));
    } catch (const HarnessError& e) {
      // Its resources, if any, are swept below by name like any debris.
      std::error_code ec;
      if (fs::remove(ClusterStatePath(id), ec))
        removed.push_back("removed unreadable state file (" + std::string(e.what()) + ")");
      continue;
    }
    if (!st) continue;
    recorded.insert(id);
    if (st->manual ? !include_manual : (st->owner && OwnerAlive(*st->owner))) continue;
    size_t before = errors.size();
    DestroyResources(*st, removed, errors);
    if (errors.size() == before) RemoveStateFile(id, removed, errors);
  }
  // Debris no state file here mentions (its record lost, or a run killed
  // before writing it can't happen: the record comes first). Removed only
  // when its run id has no state file here and its bridge is gone or names
  // a dead owner and a missing state file (another state directory's live
  // clusters are left alone).
  std::set<std::string> stray;
  for (const auto& ns : ListDir("/run/netns")) {
    if (auto id = RunIdOfNetns(ns); !id.empty() && !recorded.count(id)) stray.insert(id);
  }
  for (const auto& link : ListDir("/sys/class/net")) {
    if (auto id = RunIdOfLink(link); !id.empty() && !recorded.count(id)) stray.insert(id);
  }
  for (const auto& name : PodmanContainerNames()) {
    if (auto id = RunIdOfNetns(name); !id.empty() && !recorded.count(id)) stray.insert(id);
  }
  for (const auto& id : stray) {
    if (fs::exists(ClusterStatePath(id)) || BridgeClaimed(id, include_manual)) continue;
    ClusterState st;
    st.run_id = id;
    st.bridge = BridgeName(id);
    DestroyResources(st, removed, errors);
  }
  if (!errors.empty()) {
    std::string done;
    for (const auto& r : removed) done += "\n  " + r;
    throw HarnessError("cleanup failed on:" + ErrorList(errors) +
                       "\nafter removing:" + (done.empty() ? " nothing" : done));
  }
  return removed;
}

}  // namespace faultline
