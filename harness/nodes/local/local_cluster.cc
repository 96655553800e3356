#include "harness/nodes/local/local_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/base/secure_fs.h"
#include "harness/nodes/local/cluster_state_file.h"
#include "harness/nodes/local/netns_names.h"
#include "harness/nodes/local/netns_thread.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kCommandTimeout = 20s;
constexpr auto kKillWait = 5s;  // how long processes in a namespace get to die after SIGKILL
constexpr int kCapNetAdmin = 12;

LocalRemote& Host() {
  static LocalRemote host("host", "");
  return host;
}

// ip and iptables live in /usr/sbin, which a non-root PATH may lack.
std::string Tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    std::string path = dir + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return name;
}

std::string Joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

CommandResult RunTool(const std::string& tool, std::vector<std::string> args) {
  if (tool == "iptables") args.insert(args.begin(), "-w");  // wait for the xtables lock (legacy backend)
  args.insert(args.begin(), Tool(tool));
  return Host().Run(args, kCommandTimeout);
}

// Runs and throws HarnessError naming the command and its stderr on failure.
std::string MustRun(const std::string& tool, const std::vector<std::string>& args) {
  CommandResult r = RunTool(tool, args);
  if (!r.ok()) {
    throw HarnessError("`" + tool + " " + Joined(args) + "` failed" +
                       (r.timed_out ? std::string(" (timed out)") : " (exit " + std::to_string(r.exit_code) + ")") +
                       ": " + Trimmed(r.err));
  }
  return r.out;
}

std::string Ip(const std::vector<std::string>& args) { return MustRun("ip", args); }

bool LinkExists(const std::string& name) { return fs::exists("/sys/class/net/" + name); }

std::string ReadSmallFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return Trimmed(ss.str());
}

// Best effort: when IPv6 is off on the host there is nothing to disable.
void WriteSysctl(const fs::path& p, const std::string& value) {
  std::ofstream out(p);
  if (out) out << value;
}

void DisableIpv6(const std::string& dev) { WriteSysctl("/proc/sys/net/ipv6/conf/" + dev + "/disable_ipv6", "1"); }

// Machine-wide, whatever the state directory: held while a subnet is chosen
// and the bridge gets its address, so two runs with different state
// directories still never pick the same subnet. In a root-only directory:
// a lock file others can open is a lock others can hold forever.
fs::path SubnetLockPath() {
  const fs::path dir = "/run/faultline";
  EnsurePrivateDir(dir);
  return dir / "subnets.lock";
}

struct Subnet {
  uint32_t base = 0;  // host order, masked
  int prefix = 0;
  uint32_t Mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  uint32_t Last() const { return base | ~Mask(); }
  bool Overlaps(const Subnet& o) const { return base <= o.Last() && o.base <= Last(); }
};

std::string AddressString(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." + std::to_string((a >> 8) & 255) + "." +
         std::to_string(a & 255);
}

std::string SubnetString(const Subnet& s) { return AddressString(s.base) + "/" + std::to_string(s.prefix); }

// "a.b.c.d[/p]"; a bare address is a /32.
std::optional<Subnet> ParseSubnet(const std::string& text) {
  std::string addr = text;
  int prefix = 32;
  auto slash = text.find('/');
  if (slash != std::string::npos) {
    addr = text.substr(0, slash);
    try {
      size_t used;
      prefix = std::stoi(text.substr(slash + 1), &used);
      if (used != text.size() - slash - 1) return std::nullopt;
    } catch (...) {
      return std::nullopt;
    }
    if (prefix < 0 || prefix > 32) return std::nullopt;
  }
  in_addr in;
  if (::inet_pton(AF_INET, addr.c_str(), &in) != 1) return std::nullopt;
  Subnet s;
  s.prefix = prefix;
  s.base = ntohl(in.s_addr) & s.Mask();
  return s;
}

struct UsedRange {
  Subnet subnet;
  std::string what;  // for error messages
};

// Every IPv4 range this machine already routes or holds an address in, plus
// the subnets of clusters recorded in the state directory. The default
// route is skipped: it overlaps everything by definition.
std::vector<UsedRange> UsedRanges() {
  static const std::set<std::string> kRouteTypes = {"unicast",     "local",    "broadcast", "multicast", "throw",
                                                    "unreachable", "prohibit", "blackhole", "nat",       "anycast"};
  std::vector<UsedRange> used;
  std::istringstream routes(Ip({"-4", "route", "show", "table", "all"}));
  std::string line;
  while (std::getline(routes, line)) {
    std::istringstream words(line);
    std::string dest;
    words >> dest;
    if (kRouteTypes.count(dest)) words >> dest;
    if (dest == "default" || dest.empty()) continue;
    if (auto s = ParseSubnet(dest)) used.push_back({*s, "route `" + Trimmed(line) + "`"});
  }
  std::istringstream addrs(Ip({"-4", "-o", "addr", "show"}));
  while (std::getline(addrs, line)) {
    std::istringstream words(line);
    std::string w;
    while (words >> w) {
      if (w == "inet" && words >> w) {
        if (auto s = ParseSubnet(w)) used.push_back({*s, "address " + w});
        break;
      }
    }
  }
  for (const auto& id : ListClusterStateIds()) {
    try {
      if (auto st = ReadClusterState(ClusterStatePath(id))) {
        if (auto s = ParseSubnet(st->subnet)) used.push_back({*s, "faultline cluster " + id});
      }
    } catch (const HarnessError&) {
      // An unreadable record names no subnet; routes still protect us.
    }
  }
  return used;
}

const UsedRange* Conflict(const Subnet& s, const std::vector<UsedRange>& used) {
  for (const auto& u : used) {
    if (u.subnet.Overlaps(s)) return &u;
  }
  return nullptr;
}

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng(std::random_device{}() ^ (uint64_t(::getpid()) << 32) ^
                                   std::hash<std::thread::id>{}(std::this_thread::get_id()));
  return rng;
}

Subnet PickSubnet(const std::string& requested) {
  auto used = UsedRanges();
  if (!requested.empty()) {
    auto s = ParseSubnet(requested);
    if (!s || s->prefix != 24 || requested.find('/') == std::string::npos) {
      throw HarnessError("bad subnet \"" + requested + "\": expected an IPv4 /24 such as 10.42.7.0/24");
    }
    if (auto c = Conflict(*s, used)) {
      throw HarnessError("subnet " + SubnetString(*s) + " is already in use on this machine (" + c->what +
                         "); pick another or leave it empty to choose a free one");
    }
    return *s;
  }
  // Random start so concurrent or leaked runs rarely probe the same /24s.
  uint32_t start = Rng()() % 65536;
  for (uint32_t i = 0; i < 65536; ++i) {
    uint32_t n = (start + i) % 65536;
    Subnet s{(10u << 24) | (n << 8), 24};
    if (!Conflict(s, used)) return s;
  }
  throw HarnessError(
      "no free /24 in 10.0.0.0/8 on this machine (every one overlaps a route or address); "
      "give a subnet explicitly");
}

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

std::vector<std::string> ListDir(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  return names;
}

bool IptablesAvailable() { return ::access(Tool("iptables").c_str(), X_OK) == 0; }

std::vector<std::string> ForwardRuleArgs(const std::string& bridge, const std::string& op) {
  return {op, "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"};
}

// Node roots are <temp dir>/faultline-<run id>-XXXXXX (mkdtemp).
std::string NodesRootPrefix(const std::string& run_id) { return "faultline-" + run_id + "-"; }

bool IsNodesRootOf(const fs::path& root, const std::string& run_id) {
  const std::string name = root.filename().string();
  return root.is_absolute() && name.size() == NodesRootPrefix(run_id).size() + 6 &&
         name.rfind(NodesRootPrefix(run_id), 0) == 0;
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

// Removes every resource of one run: the recorded ones plus anything named
// after its run id. Appends what it removed to `removed` and failures to
// `errors`; never throws.
void DestroyResources(const ClusterState& st, std::vector<std::string>& removed, std::vector<std::string>& errors) {
  // A concurrent cleanup may remove the same debris first: gone is fine.
  auto attempt = [&](const std::string& what, const std::function<void()>& fn, const std::function<bool()>& exists) {
    try {
      fn();
    } catch (const std::exception& e) {
      if (exists()) errors.push_back(what + ": " + e.what());
    }
  };
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

  // 1. Processes: SIGKILL (and SIGCONT, for stopped ones) until none is left.
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
  // Ours (daemons started by this process) would stay zombies: reap them.
  for (int pid : killed) {
    for (int i = 0; i < 200 && ::waitpid(pid, nullptr, WNOHANG) == 0; ++i) std::this_thread::sleep_for(1ms);
  }
  // 2. The nodes' files, now that nothing runs from them: only the private
  // directory Create() made (a path someone else made or swapped in is left alone).
  {
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

  // 3. Links and namespaces. Deleting a veth's host end deletes its eth0 too.
  for (const auto& veth : veths) {
    if (!LinkExists(veth)) continue;
    attempt(
        "removing link " + veth,
        [&] {
          Ip({"link", "del", veth});
          removed.push_back("removed link " + veth);
        },
        [&] { return LinkExists(veth); });
  }
  for (const auto& ns : namespaces) {
    if (!NetnsExists(ns)) continue;
    attempt(
        "removing network namespace " + ns,
        [&] {
          Ip({"netns", "del", ns});
          removed.push_back("removed network namespace " + ns);
        },
        [&] { return NetnsExists(ns); });
  }

  // 4. iptables rules: the recorded ones, plus any FORWARD rule naming the bridge.
  std::vector<std::vector<std::string>> rules = st.iptables;
  if (IptablesAvailable()) {
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
  }
  std::set<std::vector<std::string>> done;
  for (auto rule : rules) {
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

  // 5. The bridge last: its presence tells other cleanups the run may be live.
  if (!st.bridge.empty() && LinkExists(st.bridge)) {
    attempt(
        "removing bridge " + st.bridge,
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

ClusterSummary Summarize(const ClusterState& st) {
  ClusterSummary s;
  s.run_id = st.run_id;
  s.subnet = st.subnet;
  s.manual = st.manual;
  s.owner_alive = st.manual || (st.owner && OwnerAlive(*st.owner));
  s.description = st.description;
  for (const auto& n : st.nodes) s.nodes.push_back({n.name, n.netns, n.address});
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
  Subnet subnet;
  try {
    {
      FileLock dir_lock(PrivateClusterStateDir() / ".lock");
      FileLock subnet_lock(SubnetLockPath());
      do {
        st.run_id = RandomRunId();
      } while (fs::exists(ClusterStatePath(st.run_id)) || LinkExists(BridgeName(st.run_id)) ||
               NetnsExists(NetnsName(st.run_id, 1)));
      // Made atomically, 0700, before anything is recorded or installed: no
      // one else can own or pre-create the directory root will run programs from.
      st.nodes_root = MakePrivateTempDir(fs::temp_directory_path(), NodesRootPrefix(st.run_id)).string();
      cluster->nodes_root_ = st.nodes_root;
      subnet = PickSubnet(options.subnet);
      st.subnet = SubnetString(subnet);
      st.bridge = BridgeName(st.run_id);
      cluster->run_id_ = st.run_id;
      cluster->bridge_ = st.bridge;
      cluster->subnet_ = st.subnet;
      WriteClusterState(st);  // first: from here on a kill leaves a record

      Ip({"link", "add", "name", st.bridge, "type", "bridge"});
      WriteSysctl("/sys/class/net/" + st.bridge + "/ifalias", BridgeAlias(st));
      DisableIpv6(st.bridge);
      Ip({"addr", "add", AddressString(subnet.base + 1) + "/24", "dev", st.bridge});
      Ip({"link", "set", st.bridge, "up"});
    }  // the bridge's routes now keep other runs off this subnet

    // With br_netfilter, bridged frames traverse the host's FORWARD chain,
    // whose policy may be DROP (Docker sets it so).
    if (IptablesAvailable() && ReadSmallFile("/proc/sys/net/bridge/bridge-nf-call-iptables") == "1") {
      std::vector<std::string> del = ForwardRuleArgs(st.bridge, "-D");
      del.insert(del.begin(), "iptables");
      st.iptables.push_back(del);
      WriteClusterState(st);
      MustRun("iptables", ForwardRuleArgs(st.bridge, "-I"));
    }

    for (int i = 1; i <= options.nodes; ++i) {
      ClusterStateNode node{"n" + std::to_string(i), NetnsName(st.run_id, i), AddressString(subnet.base + 1 + i),
                            HostVethName(st.run_id, i)};
      st.nodes.push_back(node);
      cluster->nodes_.push_back({node.name, node.netns, node.address});
      WriteClusterState(st);

      Ip({"netns", "add", node.netns});
      // Before any link comes up inside, so neither lo nor eth0 ever speaks IPv6.
      RunInNetns(node.netns, [] {
        WriteSysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
        WriteSysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
      });
      Ip({"link", "add", node.host_veth, "type", "veth", "peer", "name", "eth0", "netns", node.netns});
      DisableIpv6(node.host_veth);
      Ip({"link", "set", node.host_veth, "master", st.bridge, "up"});
      Ip({"-n", node.netns, "addr", "add", node.address + "/24", "dev", "eth0"});
      Ip({"-n", node.netns, "link", "set", "eth0", "up"});
      Ip({"-n", node.netns, "link", "set", "lo", "up"});
    }

    // Safety: every node address must route via our bridge, and no node may
    // have a default route, before anything is sent.
    for (const auto& node : st.nodes) {
      std::string route = Trimmed(Ip({"route", "get", node.address}));
      std::istringstream words(route);
      std::string w, dev;
      while (words >> w) {
        if (w == "dev" && words >> dev) break;
      }
      if (dev != st.bridge) {
        throw HarnessError("unsafe local cluster: node address " + node.address + " routes via `" +
                           route.substr(0, route.find('\n')) + "`, not via bridge " + st.bridge +
                           "; another interface on this machine claims that subnet");
      }
      std::string default_route = Trimmed(Ip({"-n", node.netns, "-4", "route", "show", "default"}));
      if (!default_route.empty()) {
        throw HarnessError("unsafe local cluster: namespace " + node.netns + " has a default route: " + default_route);
      }
    }
  } catch (const std::exception& e) {
    std::string what = e.what();
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
  for (const auto& n : cluster->nodes_) cluster->remotes_.push_back(std::make_unique<LocalRemote>(n.name, n.netns));
  return cluster;
}

std::unique_ptr<LocalCluster> LocalCluster::Attach(const std::string& run_id) {
  if (!IsRunId(run_id)) throw HarnessError("bad local cluster run id \"" + run_id + "\": expected 6 chars [0-9a-z]");
  auto st = ReadClusterState(ClusterStatePath(run_id));
  if (!st) {
    throw HarnessError("no local cluster " + run_id + " (no state file " + ClusterStatePath(run_id).string() + ")");
  }
  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  cluster->run_id_ = st->run_id;
  cluster->bridge_ = st->bridge;
  cluster->subnet_ = st->subnet;
  cluster->nodes_root_ = st->nodes_root;
  // A missing one is fine for Destroy(); one that is there must be ours.
  if (const std::string problem = PrivateDirProblem(st->nodes_root);
      !st->nodes_root.empty() && !problem.empty() && problem != "does not exist") {
    throw HarnessError(
        fmt::format("local cluster {}: its node directory {} is {}, not the private directory "
                    "faultline made; refusing to use it. Remove it by hand (rm -rf {}), then run "
                    "`faultline cluster down {}`",
                    run_id, st->nodes_root, problem, st->nodes_root, run_id));
  }
  for (const auto& n : st->nodes) {
    cluster->nodes_.push_back({n.name, n.netns, n.address});
    cluster->remotes_.push_back(std::make_unique<LocalRemote>(n.name, n.netns));
  }
  return cluster;
}

LocalCluster::~LocalCluster() = default;

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
