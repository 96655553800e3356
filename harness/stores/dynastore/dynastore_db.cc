#include "harness/stores/dynastore/dynastore_db.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/base/secure_fs.h"
#include "harness/base/wait.h"
#include "harness/stores/daemon_table.h"
#include "harness/stores/dynastore/dynastore_client.h"
#include "harness/stores/http_connection.h"

namespace faultline {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPollInterval{50};  // WaitHealthy's /status polling

// The cluster file's timing, tuned for tests: failures are noticed within
// seconds and replicas converge soon after a heal.
constexpr int kHeartbeatMs = 500, kFailureTimeoutMs = 2000, kRequestTimeoutMs = 1000, kAntiEntropyMs = 2000,
              kHandoffMs = 1000;

std::string BinaryPath(const NodeInfo& node) { return node.dir + "/dynastore"; }
std::string ClusterPath(const NodeInfo& node) { return node.dir + "/cluster.json"; }
std::string DataPath(const NodeInfo& node) { return node.dir + "/data"; }
std::string LogPath(const NodeInfo& node) { return node.dir + "/dynastore.log"; }

// libfaketime (the clock nemesis preloads it through node_env) keeps a
// semaphore and a shared-memory segment named after the first process that
// loaded it: the daemon's pid. It removes them only on a clean exit of the
// process that created them, so a SIGKILL leaves them in /dev/shm. Called
// once the pid is gone; never throws.
void RemoveFaketimeLeftovers(Remote& remote, int pid) {
  try {
    remote.Run(
        {"rm", "-f", fmt::format("/dev/shm/faketime_shm_{}", pid), fmt::format("/dev/shm/sem.faketime_sem_{}", pid)},
        milliseconds(5000));
  } catch (const HarnessError&) {
    // Two small files on a tmpfs: not worth failing a kill or stop over.
  }
}

}  // namespace

DynastoreDb::DynastoreDb(DynastoreOptions options)
    : DaemonDatabase("dynastore", options.start_timeout), options_(std::move(options)) {}

void DynastoreDb::Install(const std::vector<NodeInfo>& nodes) {
  const auto& o = options_;
  if (nodes.empty()) throw HarnessError("dynastore: no nodes to install on");
  if (o.n < 1 || o.n > static_cast<int>(nodes.size())) {
    throw HarnessError(fmt::format("dynastore: n={} must be between 1 and the node count {}", o.n, nodes.size()));
  }
  if (o.r < 1 || o.r > o.n) throw HarnessError(fmt::format("dynastore: r={} must be between 1 and n={}", o.r, o.n));
  if (o.w < 1 || o.w > o.n) throw HarnessError(fmt::format("dynastore: w={} must be between 1 and n={}", o.w, o.n));
  if (o.partitions < static_cast<int>(nodes.size())) {
    throw HarnessError(
        fmt::format("dynastore: partitions={} must be at least the node count {}", o.partitions, nodes.size()));
  }
  for (auto [field, port] : {std::pair{"http_port", o.http_port}, std::pair{"rpc_port", o.rpc_port}}) {
    if (port < 1 || port > 65535) throw HarnessError(fmt::format("dynastore: {}={} is not a port", field, port));
  }
  if (o.http_port == o.rpc_port) {
    throw HarnessError(fmt::format("dynastore: http_port and rpc_port are both {}", o.rpc_port));
  }
  std::error_code ec;
  if (!fs::is_regular_file(o.binary, ec)) {
    throw HarnessError(fmt::format("dynastore: binary {} not found (build the dynastore target)", o.binary));
  }

  json list = json::array();
  for (const NodeInfo& node : nodes) {
    list.push_back({{"id", node.name},
                    {"http", HostPort(node.address, o.http_port)},
                    {"rpc", HostPort(node.address, o.rpc_port)}});
  }
  json cluster = {{"n", o.n},
                  {"r", o.r},
                  {"w", o.w},
                  {"partitions", o.partitions},
                  {"nodes", list},
                  {"heartbeat_interval_ms", kHeartbeatMs},
                  {"failure_timeout_ms", kFailureTimeoutMs},
                  {"request_timeout_ms", kRequestTimeoutMs},
                  {"anti_entropy_interval_ms", kAntiEntropyMs},
                  {"handoff_interval_ms", kHandoffMs}};
  // A fresh secret per run that every node shares: it signs the context
  // tokens clients carry, so none can be forged (store/context_key.h).
  std::random_device random;
  std::string key;
  for (int i = 0; i < 8; ++i) key += fmt::format("{:08x}", random());
  cluster["context_key"] = key;

  const PrivateTempFile local("cluster.json", cluster.dump(2) + "\n");  // never a guessable /tmp name
  for (const NodeInfo& node : nodes) {
    Remote& remote = RemoteOf(node);
    RunOrThrow(remote, {"mkdir", "-p", node.dir}, "mkdir -p " + node.dir);
    remote.Upload(o.binary, BinaryPath(node));
    remote.Upload(local.path(), ClusterPath(node));
  }
  std::lock_guard lock(mu_);
  nodes_ = nodes;
}

void DynastoreDb::Start(const NodeInfo& node) {
  Remote& remote = RemoteOf(node);
  // A previous process that died on its own (or was killed) may have left these.
  const std::optional<int> previous = daemons().Pid(node);
  if (previous && options_.node_env && !remote.Alive(*previous)) RemoveFaketimeLeftovers(remote, *previous);
  std::vector<std::string> argv = {BinaryPath(node),  "--id",   node.name,     "--cluster",
                                   ClusterPath(node), "--data", DataPath(node)};
  if (!options_.sync) argv.push_back("--no-sync");
  if (options_.threads > 0 && !SetsFlag(options_.args, "--threads")) {
    argv.insert(argv.end(), {"--threads", std::to_string(options_.threads)});
  }
  argv.insert(argv.end(), options_.args.begin(), options_.args.end());
  daemons().Start(node, argv, LogPath(node), options_.node_env ? options_.node_env(node) : Env{});
}

void DynastoreDb::WaitHealthy(const NodeInfo& node, std::chrono::milliseconds timeout) {
  Remote& remote = RemoteOf(node);
  const std::optional<int> pid = daemons().Pid(node);
  auto deadline = Clock::now() + timeout;
  HttpConnection conn(node.address, options_.http_port);
  std::string last = "no answer yet";
  while (true) {
    if (pid && !remote.Alive(*pid)) {
      throw HarnessError(fmt::format("dynastore on {} exited while starting (pid {}); last lines of {}:\n{}", node.name,
                                     *pid, LogPath(node), LogTail(remote, LogPath(node))));
    }
    auto now = Clock::now();
    HttpResult r = conn.Request("GET", "/status", "", std::min(deadline, now + milliseconds(1000)));
    if (r.ok() && r.status == 200) {
      // Make sure the port is served by this node's process, not a stale one.
      json status = json::parse(r.body, nullptr, false);
      std::string id = status.is_object() && status.contains("node") && status["node"].is_string()
                           ? status["node"].get<std::string>()
                           : "";
      if (id == node.name) return;
      last = fmt::format("/status answered as node \"{}\"", id);
    } else if (r.ok()) {
      last = fmt::format("/status answered {}", r.status);
    } else {
      last = r.error;
    }
    if (Clock::now() + kPollInterval >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  throw HarnessError(fmt::format("dynastore on {} not healthy at {} after {} ms ({}); last lines of {}:\n{}", node.name,
                                 HostPort(node.address, options_.http_port), timeout.count(), last, LogPath(node),
                                 LogTail(remote, LogPath(node))));
}

namespace {

// What keeps the node behind `conn` from serving the whole cluster, judged
// from its /status and /ring; empty when it sees every node up and has `ring`
// (the first node's /ring, or empty to set it from this node).
std::string NotReadyReason(HttpConnection& conn, const std::vector<NodeInfo>& nodes, std::string& ring,
                           Clock::time_point deadline) {
  HttpResult status = conn.Request("GET", "/status", "", deadline);
  if (!status.ok()) return "/status: " + status.error;
  if (status.status != 200) return fmt::format("/status answered {}", status.status);
  const json body = json::parse(status.body, nullptr, false);
  if (!body.is_object() || !body.contains("members") || !body["members"].is_object()) {
    return "/status has no members object";
  }
  std::vector<std::string> down;
  for (const NodeInfo& peer : nodes) {
    const json& members = body["members"];
    auto it = members.find(peer.name);
    if (it == members.end() || !it->is_object() || it->value("up", false) != true) down.push_back(peer.name);
  }
  if (!down.empty()) return fmt::format("sees {} down", fmt::join(down, ", "));
  HttpResult r = conn.Request("GET", "/ring", "", deadline);
  if (!r.ok() || r.status != 200) return "/ring: " + (r.ok() ? std::to_string(r.status) : r.error);
  if (ring.empty()) ring = r.body;
  if (r.body != ring) return fmt::format("its /ring differs from {}'s", nodes.front().name);
  return "";
}

}  // namespace

// Dynamo's members learn of each other by heartbeats: right after start a
// node still counts its peers down and answers 503 to quorum requests. A
// healthy run must not record those, so the start waits for the full view.
void DynastoreDb::WaitClusterReady(const std::vector<NodeInfo>& nodes, std::chrono::milliseconds timeout) {
  if (nodes.empty()) return;
  const auto deadline = Clock::now() + timeout;
  std::vector<std::unique_ptr<HttpConnection>> conns;
  for (const NodeInfo& node : nodes)
    conns.push_back(std::make_unique<HttpConnection>(node.address, options_.http_port));
  const std::vector<std::string> why = PollUntilAllReady(
      [&] {
        std::vector<std::string> round(nodes.size());
        std::string ring;
        for (size_t i = 0; i < nodes.size(); ++i) {
          round[i] = NotReadyReason(*conns[i], nodes, ring, std::min(deadline, Clock::now() + milliseconds(1000)));
        }
        return round;
      },
      deadline, kPollInterval);
  std::vector<std::string> reasons;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!why[i].empty()) reasons.push_back(nodes[i].name + " " + why[i]);
  }
  if (reasons.empty()) return;
  throw HarnessError(
      fmt::format("dynastore cluster not ready after {} ms: {}", timeout.count(), fmt::join(reasons, "; ")));
}

void DynastoreDb::Kill(const NodeInfo& node) {
  const std::optional<int> pid = daemons().Pid(node);
  daemons().Kill(node);
  if (pid && options_.node_env) RemoveFaketimeLeftovers(RemoteOf(node), *pid);
}

void DynastoreDb::Stop(const NodeInfo& node) {
  const std::optional<int> pid = daemons().Pid(node);
  if (!pid || !RemoteOf(node).Alive(*pid)) return;
  daemons().Stop(node);
  if (options_.node_env) RemoveFaketimeLeftovers(RemoteOf(node), *pid);
}

void DynastoreDb::Wipe(const NodeInfo& node) {
  if (Running(node)) throw HarnessError(fmt::format("cannot wipe dynastore on {}: it is running", node.name));
  RunOrThrow(RemoteOf(node), {"rm", "-rf", DataPath(node)}, "rm -rf " + DataPath(node));
}

// Copies dynastore.log and cluster.json. A file that cannot be fetched (the
// node never started, the host is gone) does not fail the run's collection:
// the reason goes into <file>.missing next to where the file would be.
void DynastoreDb::CollectLogs(const NodeInfo& node, const std::filesystem::path& dest) {
  CollectFiles(node, {{LogPath(node), "dynastore.log"}, {ClusterPath(node), "cluster.json"}}, dest);
}

std::unique_ptr<Client> DynastoreDb::NewClient(const NodeInfo& node, const ClientOptions& options) {
  // Every node's address, so the client can read a key from each of its replicas.
  std::map<std::string, DynastoreEndpoint> endpoints;
  {
    std::lock_guard lock(mu_);
    for (const NodeInfo& n : nodes_) endpoints[n.name] = DynastoreEndpoint{n.address, options_.http_port};
  }
  return std::make_unique<DynastoreClient>(node.address, options_.http_port, options, std::move(endpoints));
}

}  // namespace faultline
