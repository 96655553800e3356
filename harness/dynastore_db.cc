#include "dynastore_db.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "dynastore_client.h"
#include "harness_error.h"
#include "wait.h"
#include "http_connection.h"

namespace faultline {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kCommandTimeout{30000};  // mkdir, rm -rf, tail on a node
constexpr milliseconds kExitWait{5000};         // for a signalled process to go away
constexpr milliseconds kPollInterval{50};       // WaitHealthy's /status polling

// The cluster file's timing, tuned for tests: failures are noticed within
// seconds and replicas converge soon after a heal.
constexpr int kHeartbeatMs = 500, kFailureTimeoutMs = 2000, kRequestTimeoutMs = 1000, kAntiEntropyMs = 2000,
              kHandoffMs = 1000;

std::string HostPort(const std::string& address, int port) {
  // IPv6 literals need brackets in "ADDR:PORT".
  return address.find(':') != std::string::npos ? fmt::format("[{}]:{}", address, port)
                                                 : fmt::format("{}:{}", address, port);
}

Remote& RemoteOf(const NodeInfo& node) {
  if (node.remote == nullptr) throw HarnessError(fmt::format("node {} has no remote", node.name));
  return *node.remote;
}

std::string BinaryPath(const NodeInfo& node) { return node.dir + "/dynastore"; }
std::string ClusterPath(const NodeInfo& node) { return node.dir + "/cluster.json"; }
std::string DataPath(const NodeInfo& node) { return node.dir + "/data"; }
std::string LogPath(const NodeInfo& node) { return node.dir + "/dynastore.log"; }

void RunOrThrow(Remote& remote, const std::vector<std::string>& argv, const std::string& what) {
  CommandResult r = remote.Run(argv, kCommandTimeout);
  if (!r.ok()) {
    throw HarnessError(fmt::format("{} on {} failed ({}): {}", what, remote.node(),
                                   r.timed_out ? "timed out" : fmt::format("exit code {}", r.exit_code), r.err));
  }
}

// The last lines of a node's log, for error messages; never throws.
std::string LogTail(Remote& remote, const std::string& log) {
  try {
    CommandResult r = remote.Run({"tail", "-n", "20", log}, milliseconds(5000));
    if (r.ok()) return r.out.empty() ? "(log is empty)" : r.out;
    return fmt::format("(cannot read {}: {})", log, r.err);
  } catch (const HarnessError& e) {
    return fmt::format("(cannot read {}: {})", log, e.what());
  }
}

// libfaketime (the clock nemesis preloads it through node_env) keeps a
// semaphore and a shared-memory segment named after the first process that
// loaded it: the daemon's pid, also under `ip netns exec`, which execs the
// daemon. It removes them only on a clean exit of the process that created
// them, so a SIGKILL (and every start through `ip netns exec`) leaves them
// in /dev/shm. Called once the pid is gone; never throws.
void RemoveFaketimeLeftovers(Remote& remote, int pid) {
  try {
    remote.Run({"rm", "-f", fmt::format("/dev/shm/faketime_shm_{}", pid),
                fmt::format("/dev/shm/sem.faketime_sem_{}", pid)},
               milliseconds(5000));
  } catch (const HarnessError&) {
    // Two small files on a tmpfs: not worth failing a kill or stop over.
  }
}

}  // namespace

DynastoreDb::DynastoreDb(DynastoreOptions options) : options_(std::move(options)) {}

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
    throw HarnessError(fmt::format("dynastore: binary {} not found (build the dynastore target)", o.binary.string()));
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

  static std::atomic<int> counter{0};
  fs::path local = fs::temp_directory_path() / fmt::format("faultline-cluster-{}-{}.json", ::getpid(), counter++);
  {
    std::ofstream out(local);
    out << cluster.dump(2) << "\n";
    if (!out) throw HarnessError(fmt::format("dynastore: cannot write {}", local.string()));
  }
  try {
    for (const NodeInfo& node : nodes) {
      Remote& remote = RemoteOf(node);
      RunOrThrow(remote, {"mkdir", "-p", node.dir}, "mkdir -p " + node.dir);
      remote.Upload(o.binary, BinaryPath(node));
      remote.Upload(local, ClusterPath(node));
    }
  } catch (...) {
    fs::remove(local, ec);
    throw;
  }
  fs::remove(local, ec);
  std::lock_guard lock(mu_);
  nodes_ = nodes;
}

void DynastoreDb::Start(const NodeInfo& node) {
  Remote& remote = RemoteOf(node);
  std::optional<int> previous;
  {
    std::lock_guard lock(mu_);
    auto it = pids_.find(node.name);
    if (it != pids_.end() && remote.Alive(it->second)) {
      throw HarnessError(fmt::format("dynastore on {} is already running (pid {})", node.name, it->second));
    }
    if (it != pids_.end()) previous = it->second;
  }
  // A previous process that died on its own (or was killed) may have left these.
  if (previous && options_.node_env) RemoveFaketimeLeftovers(remote, *previous);
  std::vector<std::string> argv = {BinaryPath(node), "--id",   node.name, "--cluster", ClusterPath(node),
                                   "--data",         DataPath(node)};
  if (!options_.sync) argv.push_back("--no-sync");
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  Env env = options_.node_env ? options_.node_env(node) : Env{};
  int pid = remote.StartDaemon(argv, LogPath(node), env);
  std::lock_guard lock(mu_);
  pids_[node.name] = pid;
}

void DynastoreDb::WaitHealthy(const NodeInfo& node, std::chrono::milliseconds timeout) {
  Remote& remote = RemoteOf(node);
  std::optional<int> pid;
  {
    std::lock_guard lock(mu_);
    if (auto it = pids_.find(node.name); it != pids_.end()) pid = it->second;
  }
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

void DynastoreDb::Kill(const NodeInfo& node) {
  Remote& remote = RemoteOf(node);
  int pid;
  {
    std::lock_guard lock(mu_);
    auto it = pids_.find(node.name);
    if (it == pids_.end()) return;  // never started here: nothing to kill
    pid = it->second;
  }
  remote.Signal(pid, SIGKILL);
  if (!WaitFor([&] { return !remote.Alive(pid); }, kExitWait)) {
    throw HarnessError(fmt::format("dynastore on {} (pid {}) still alive {} ms after SIGKILL", node.name, pid,
                                   kExitWait.count()));
  }
  if (options_.node_env) RemoveFaketimeLeftovers(remote, pid);
}

void DynastoreDb::Restart(const NodeInfo& node) {
  Start(node);
  WaitHealthy(node, options_.start_timeout);
}

void DynastoreDb::Pause(const NodeInfo& node) {
  Remote& remote = RemoteOf(node);
  int pid;
  {
    std::lock_guard lock(mu_);
    auto it = pids_.find(node.name);
    if (it == pids_.end()) {
      throw HarnessError(fmt::format("cannot pause dynastore on {}: it was never started", node.name));
    }
    pid = it->second;
  }
  remote.Signal(pid, SIGSTOP);
  // kill() returns before every thread has stopped; a busy thread can still
  // answer a request. Return only once all of them are in state T, so a
  // recorded pause is a pause.
  const std::vector<std::string> states = {"sh", "-c", fmt::format("cat /proc/{}/task/*/stat", pid)};
  std::string last;
  auto deadline = Clock::now() + kExitWait;
  while (Clock::now() < deadline) {
    CommandResult r = remote.Run(states, kCommandTimeout);
    if (!r.ok()) {
      if (!remote.Alive(pid)) return;  // gone: nothing left to pause
      last = r.err;
    } else {
      bool all_stopped = !r.out.empty();
      std::istringstream lines(r.out);
      for (std::string line; std::getline(lines, line);) {
        auto paren = line.rfind(')');
        char state = paren != std::string::npos && paren + 2 < line.size() ? line[paren + 2] : '?';
        all_stopped = all_stopped && (state == 'T' || state == 't');
      }
      if (all_stopped) return;
      last = r.out;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  throw HarnessError(fmt::format("dynastore on {} (pid {}) not stopped {} ms after SIGSTOP: {}", node.name, pid,
                                 kExitWait.count(), last));
}

void DynastoreDb::Resume(const NodeInfo& node) {
  std::lock_guard lock(mu_);
  auto it = pids_.find(node.name);
  if (it == pids_.end()) {
    throw HarnessError(fmt::format("cannot resume dynastore on {}: it was never started", node.name));
  }
  RemoteOf(node).Signal(it->second, SIGCONT);
}

void DynastoreDb::Stop(const NodeInfo& node) {
  Remote& remote = RemoteOf(node);
  int pid;
  {
    std::lock_guard lock(mu_);
    auto it = pids_.find(node.name);
    if (it == pids_.end()) return;
    pid = it->second;
  }
  if (!remote.Alive(pid)) return;
  remote.Signal(pid, SIGCONT);  // a paused process cannot act on SIGTERM
  remote.Signal(pid, SIGTERM);
  if (!WaitFor([&] { return !remote.Alive(pid); }, kExitWait)) {
    remote.Signal(pid, SIGKILL);
    if (!WaitFor([&] { return !remote.Alive(pid); }, kExitWait)) {
      throw HarnessError(fmt::format("dynastore on {} (pid {}) survived SIGTERM and SIGKILL", node.name, pid));
    }
  }
  if (options_.node_env) RemoveFaketimeLeftovers(remote, pid);
}

void DynastoreDb::Wipe(const NodeInfo& node) {
  if (Running(node)) throw HarnessError(fmt::format("cannot wipe dynastore on {}: it is running", node.name));
  RunOrThrow(RemoteOf(node), {"rm", "-rf", DataPath(node)}, "rm -rf " + DataPath(node));
}

bool DynastoreDb::Running(const NodeInfo& node) {
  int pid;
  {
    std::lock_guard lock(mu_);
    auto it = pids_.find(node.name);
    if (it == pids_.end()) return false;
    pid = it->second;
  }
  return RemoteOf(node).Alive(pid);
}

bool DynastoreDb::Paused(const NodeInfo& node) {
  Remote& remote = RemoteOf(node);
  int pid;
  {
    std::lock_guard lock(mu_);
    auto it = pids_.find(node.name);
    if (it == pids_.end()) return false;
    pid = it->second;
  }
  if (!remote.Alive(pid)) return false;
  // Any stopped thread counts: it cannot serve its share of the work.
  CommandResult r = remote.Run({"sh", "-c", fmt::format("cat /proc/{}/task/*/stat", pid)}, kCommandTimeout);
  if (!r.ok() && r.out.empty()) {  // with some output, only a thread that just exited was missing
    if (!remote.Alive(pid)) return false;
    throw HarnessError(fmt::format("cannot read the state of dynastore on {} (pid {}): {}", node.name, pid, r.err));
  }
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    auto paren = line.rfind(')');
    char state = paren != std::string::npos && paren + 2 < line.size() ? line[paren + 2] : '?';
    if (state == 'T' || state == 't') return true;
  }
  return false;
}

// Copies dynastore.log and cluster.json. A file that cannot be fetched (the
// node never started, the host is gone) does not fail the run's collection:
// the reason goes into <file>.missing next to where the file would be.
void DynastoreDb::CollectLogs(const NodeInfo& node, const std::filesystem::path& dest) {
  std::error_code ec;
  fs::create_directories(dest, ec);
  if (ec) throw HarnessError(fmt::format("cannot create {}: {}", dest.string(), ec.message()));
  Remote& remote = RemoteOf(node);
  for (const auto& [remote_path, name] : {std::pair{LogPath(node), "dynastore.log"},
                                          std::pair{ClusterPath(node), "cluster.json"}}) {
    try {
      remote.Download(remote_path, dest / name);
    } catch (const HarnessError& e) {
      std::ofstream(dest / (std::string(name) + ".missing")) << e.what() << "\n";
    }
  }
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
