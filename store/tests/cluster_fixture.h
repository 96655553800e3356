// TestCluster: a dynastore cluster of real `dynastore` processes on loopback,
// for the multi-process replication tests (cluster_test.cc). Nothing is
// mocked: every node is the daemon binary (DYNASTORE_BIN) started with
// `--id nK --cluster FILE --data DIR`, talking to its peers over real TCP.
//
// Construction picks free loopback ports (two per node: http and rpc), writes
// the cluster file (doc/replication.md) into a TempDir, starts every node and
// waits until each one answers GET /status and sees every node up. Check
// ok() (and error()) before use. Nodes are numbered 0..size()-1 and named
// "n1".."nK".
//
// Ownership: the TestCluster owns every process and the directory. Its
// destructor fails the current test if a node died without Kill() or Stop()
// (a crash), SIGKILLs and reaps every node that is still running (paused ones
// included), then removes the directory; a node also dies with the test
// process (PDEATHSIG, test_node.h). No process outlives the object.
//
// Not thread-safe: use from the test's thread. References returned by
// Client(i) are invalidated by Kill(i), Stop(i) and Restart(i).
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/context_key.h"
#include "store/tests/test_http_client.h"
#include "store/tests/test_node.h"

namespace dynastore::test {

struct ClusterOptions {
  int nodes = 3;
  int n = 3;
  int r = 2;
  int w = 2;
  int partitions = 16;
  // Timing knobs of the cluster file, short so that tests are fast.
  int heartbeat_interval_ms = 100;
  int failure_timeout_ms = 500;
  int request_timeout_ms = 1000;
  int anti_entropy_interval_ms = 500;
  int handoff_interval_ms = 200;
  // Extra daemon flags for every node: fault switches, "--no-sync", ...
  std::vector<std::string> flags = {};
  // How long start-up (and each restart) may take, membership included.
  std::chrono::milliseconds ready_deadline = std::chrono::seconds(15);
};

// Where a key lives, from the cluster's GET /ring and the documented hash
// (xxHash3-64 of the key, Q equal ranges; doc/replication.md, "Ring").
struct KeyPlacement {
  int partition = 0;
  std::vector<int> replicas;  // the preference list: the key's N owners
  std::vector<int> walk;      // every node in ring order: owners, then fallbacks
  bool IsReplica(int node) const { return std::find(replicas.begin(), replicas.end(), node) != replicas.end(); }
  // The first node after the owners: where a hint for one down owner goes.
  int FirstFallback() const { return walk.size() > replicas.size() ? walk[replicas.size()] : -1; }
};

class TestCluster {
 public:
  using Values = std::vector<std::string>;

  explicit TestCluster(ClusterOptions options) : options_(std::move(options)) {
    nodes_.resize(options_.nodes);
    for (int i = 0; i < options_.nodes; ++i) nodes_[i].id = "n" + std::to_string(i + 1);
    // A port picked free may be taken by someone else before the node binds
    // it; then the whole cluster is retried on fresh ports.
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (StartAll()) return;
      for (auto& node : nodes_) node.process.reset();
      if (error_.find("in use") == std::string::npos) return;
    }
  }
  ~TestCluster() {
    // A node that died without Kill() or Stop() crashed (or was killed by a
    // sanitizer): that fails the test even if its assertions held.
    for (auto& node : nodes_) {
      if (node.process && !node.process->running()) {
        ADD_FAILURE() << node.id << " exited unexpectedly during the test; its log:\n" << node.process->Log();
      }
    }
    for (auto& node : nodes_) {
      node.client.reset();
      if (node.process && node.paused) node.process->Signal(SIGCONT);
      node.process.reset();  // SIGKILL + reap
    }
  }
  TestCluster(const TestCluster&) = delete;
  TestCluster& operator=(const TestCluster&) = delete;

  bool ok() const { return error_.empty(); }
  // What failed last (start, restart, stop), with the relevant logs.
  const std::string& error() const { return error_; }
  int size() const { return static_cast<int>(nodes_.size()); }
  const ClusterOptions& options() const { return options_; }
  const std::string& Id(int i) const { return nodes_[i].id; }
  uint16_t HttpPort(int i) const { return nodes_[i].http_port; }
  uint16_t RpcPort(int i) const { return nodes_[i].rpc_port; }
  std::string ClusterFile() const { return dir_.Sub("cluster.json"); }
  // The key the cluster file gives every node: tests decode tokens with it.
  static constexpr std::string_view kContextKeyHex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  static ContextKey Key() {
    ContextKey key;
    ContextKey::FromHex(kContextKeyHex, key);
    return key;
  }
  bool running(int i) { return nodes_[i].process && nodes_[i].process->running(); }
  bool paused(int i) const { return nodes_[i].paused; }

  // A keep-alive client to node i (created on first use; 5 s timeout).
  TestHttpClient& Client(int i) {
    Node& node = nodes_[i];
    if (!node.client) node.client = std::make_unique<TestHttpClient>(node.http_port, std::chrono::seconds(5));
    return *node.client;
  }

  // SIGKILL + reap. With wait_for_view, also waits until every other live
  // node sees it down. Returns false (see error()) if that did not happen.
  bool Kill(int i, bool wait_for_view = true) {
    Node& node = nodes_[i];
    node.client.reset();
    if (node.process) {
      node.process->Signal(SIGKILL);
      if (node.paused) node.process->Signal(SIGCONT);
      node.process->WaitExit(std::chrono::seconds(10));
      node.process.reset();
    }
    node.paused = false;
    return !wait_for_view || WaitForMembership();
  }

  // SIGTERM and waits for the exit. Returns the exit code, or -1 if the node
  // did not exit normally within 10 s (then it is killed).
  int Stop(int i) {
    Node& node = nodes_[i];
    node.client.reset();
    if (!node.process) return -1;
    node.process->Signal(SIGTERM);
    std::optional<int> status = node.process->WaitExit(std::chrono::seconds(10));
    if (!status) error_ = node.id + " did not exit within 10 s of SIGTERM; log:\n" + node.process->Log();
    node.process.reset();
    return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }

  // Starts node i again on its data directory and ports (after Kill or
  // Stop). With wait_for_view, waits until every live node sees every
  // running node up. Returns false (see error()) on failure.
  bool Restart(int i, bool wait_for_view = true) {
    Node& node = nodes_[i];
    node.client.reset();
    if (node.process) Kill(i, /*wait_for_view=*/false);
    // The port was ours a moment ago; retry briefly if the kernel still
    // holds it.
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (StartNode(i)) {
        error_.clear();
        return !wait_for_view || WaitForMembership();
      }
      if (error_.find("in use") == std::string::npos) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  // SIGSTOP / SIGCONT: the process keeps its sockets but answers nothing.
  void Pause(int i) {
    if (!nodes_[i].process) return;
    nodes_[i].process->Signal(SIGSTOP);
    nodes_[i].paused = true;
  }
  void Resume(int i) {
    if (!nodes_[i].process) return;
    nodes_[i].process->Signal(SIGCONT);
    nodes_[i].paused = false;
  }

  // GET /status of node i; a discarded JSON value on failure.
  nlohmann::json Status(int i) {
    HttpResult r = Client(i).Get("/status");
    if (!r.ok() || r.status() != 200) return nlohmann::json(nlohmann::json::value_t::discarded);
    return r.Json();
  }

  // Live values of a coordinated GET via node i, sorted ({} for 404);
  // nullopt on a transport failure or any other status.
  std::optional<Values> CoordinatedValues(int i, const std::string& key) {
    return SortedValues(Client(i).Get(KvPath(key)));
  }

  // Node i's own versions of `key` (GET ?local=true, owned data and hints
  // merged), live values sorted; {} if it holds none; nullopt on failure.
  std::optional<Values> LocalValues(int i, const std::string& key) {
    return SortedValues(Client(i).Get(KvPath(key) + "?local=true"));
  }

  // GET /admin/digest of node i as key -> digest; nullopt on failure.
  std::optional<std::map<std::string, std::string>> Digests(int i) {
    HttpResult r = Client(i).Get("/admin/digest");
    if (!r.ok() || r.status() != 200) return std::nullopt;
    std::map<std::string, std::string> out;
    std::istringstream lines(r.body());
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains("key") || !j.contains("digest")) return std::nullopt;
      out[j["key"].get<std::string>()] = j["digest"].get<std::string>();
    }
    return out;
  }

  // The sum over live nodes of /status "hinted_handoff".<field> ("pending",
  // "delivered", "failed"); nullopt if a node did not answer.
  std::optional<uint64_t> SumHandoff(const std::string& field) {
    uint64_t sum = 0;
    for (int i = 0; i < size(); ++i) {
      if (!Live(i)) continue;
      nlohmann::json s = Status(i);
      if (s.is_discarded() || !s.contains("hinted_handoff")) return std::nullopt;
      sum += s["hinted_handoff"][field].get<uint64_t>();
    }
    return sum;
  }

  // Where `key` lives (GET /ring from a live node, fetched once).
  KeyPlacement Placement(const std::string& key) {
    if (ring_owner_.empty()) LoadRing();
    KeyPlacement p;
    const size_t q = ring_owner_.size();
    if (q == 0) return p;
    const unsigned __int128 scaled = static_cast<unsigned __int128>(XXH3_64bits(key.data(), key.size())) * q;
    p.partition = static_cast<int>(scaled >> 64);
    p.replicas = ring_replicas_[p.partition];
    for (size_t step = 0; step < q && static_cast<int>(p.walk.size()) < size(); ++step) {
      const int owner = ring_owner_[(p.partition + step) % q];
      if (std::find(p.walk.begin(), p.walk.end(), owner) == p.walk.end()) p.walk.push_back(owner);
    }
    return p;
  }

  // Polls `pred` every `poll` until it holds or `timeout` passes; returns
  // whether it held.
  static bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                        std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (pred()) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(poll);
    }
  }

  // Waits until every live (running, not paused) node's /status "members"
  // shows every live node up and every node that is not running down.
  // Paused nodes are not judged. Returns false (see error()) at the deadline.
  bool WaitForMembership() {
    std::string last;
    const bool settled = WaitUntil(
        [&] {
          for (int i = 0; i < size(); ++i) {
            if (!Live(i)) continue;
            nlohmann::json s = Status(i);
            if (s.is_discarded() || !s.contains("members")) {
              last = Id(i) + " did not answer /status";
              return false;
            }
            for (int j = 0; j < size(); ++j) {
              if (paused(j)) continue;
              const nlohmann::json& m = s["members"][Id(j)];
              const bool want_up = nodes_[j].process != nullptr;
              if (!m.is_object() || m.value("up", !want_up) != want_up) {
                last = Id(i) + " sees " + Id(j) + (want_up ? " down" : " up") + ": " + s["members"].dump();
                return false;
              }
            }
          }
          return true;
        },
        options_.ready_deadline);
    if (!settled) error_ = "membership did not settle: " + last + "\n" + Logs();
    return settled;
  }

  // The last `lines` log lines of every node, for failure messages.
  std::string Logs(size_t lines = 30) const {
    std::string out;
    for (const Node& node : nodes_) {
      std::ifstream in(dir_.Sub(node.id + ".log"));
      std::vector<std::string> all;
      for (std::string line; std::getline(in, line);) all.push_back(line);
      out += "--- " + node.id + " log (last " + std::to_string(lines) + " lines) ---\n";
      for (size_t k = all.size() > lines ? all.size() - lines : 0; k < all.size(); ++k) out += all[k] + "\n";
    }
    return out;
  }

  // The live values of a GET reply, sorted; {} for 404.
  static std::optional<Values> SortedValues(const HttpResult& r) {
    if (!r.ok() || (r.status() != 200 && r.status() != 404)) return std::nullopt;
    nlohmann::json j = r.Json();
    if (!j.is_object() || !j.contains("values") || !j["values"].is_array()) return std::nullopt;
    Values values = j["values"].get<Values>();
    std::sort(values.begin(), values.end());
    return values;
  }

 private:
  struct Node {
    std::string id;
    uint16_t http_port = 0;
    uint16_t rpc_port = 0;
    std::unique_ptr<DynastoreProcess> process;
    std::unique_ptr<TestHttpClient> client;
    bool paused = false;
  };

  bool Live(int i) const { return nodes_[i].process != nullptr && !nodes_[i].paused; }

  // Free loopback ports, distinct: every socket stays bound until all are
  // picked. Returns an empty vector on failure.
  static std::vector<uint16_t> PickFreePorts(int count) {
    std::vector<int> fds;
    std::vector<uint16_t> ports;
    for (int k = 0; k < count; ++k) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      fds.push_back(fd);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = 0;
      socklen_t len = sizeof addr;
      if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
          getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        break;
      }
      ports.push_back(ntohs(addr.sin_port));
    }
    for (int fd : fds) close(fd);
    if (static_cast<int>(ports.size()) != count) ports.clear();
    return ports;
  }

  bool WriteClusterFile() {
    nlohmann::json nodes = nlohmann::json::array();
    for (const Node& node : nodes_) {
      nodes.push_back({{"id", node.id},
                       {"http", "127.0.0.1:" + std::to_string(node.http_port)},
                       {"rpc", "127.0.0.1:" + std::to_string(node.rpc_port)}});
    }
    const nlohmann::json file = {{"n", options_.n},
                                 {"r", options_.r},
                                 {"w", options_.w},
                                 {"partitions", options_.partitions},
                                 {"heartbeat_interval_ms", options_.heartbeat_interval_ms},
                                 {"failure_timeout_ms", options_.failure_timeout_ms},
                                 {"request_timeout_ms", options_.request_timeout_ms},
                                 {"anti_entropy_interval_ms", options_.anti_entropy_interval_ms},
                                 {"handoff_interval_ms", options_.handoff_interval_ms},
                                 {"context_key", kContextKeyHex},
                                 {"nodes", nodes}};
    std::ofstream out(ClusterFile(), std::ios::trunc);
    out << file.dump(2) << "\n";
    return static_cast<bool>(out);
  }

  bool StartAll() {
    error_.clear();
    const std::vector<uint16_t> ports = PickFreePorts(2 * size());
    if (ports.empty()) {
      error_ = "could not pick free loopback ports";
      return false;
    }
    for (int i = 0; i < size(); ++i) {
      nodes_[i].http_port = ports[2 * i];
      nodes_[i].rpc_port = ports[2 * i + 1];
    }
    if (!WriteClusterFile()) {
      error_ = "cannot write " + ClusterFile();
      return false;
    }
    for (int i = 0; i < size(); ++i) {
      if (!StartNode(i)) return false;
    }
    return WaitForMembership();
  }

  bool StartNode(int i) {
    Node& node = nodes_[i];
    DynastoreProcess::Options o;
    o.id = node.id;
    o.data_dir = dir_.Sub(node.id);
    o.log_path = dir_.Sub(node.id + ".log");
    o.http = "";  // the cluster file gives the address
    o.extra_args = {"--cluster", ClusterFile()};
    o.extra_args.insert(o.extra_args.end(), options_.flags.begin(), options_.flags.end());
    o.ready_deadline = options_.ready_deadline;
    std::string error;
    node.process = DynastoreProcess::Start(o, error);
    if (!node.process) {
      error_ = node.id + " did not start: " + error;
      return false;
    }
    if (node.process->port() != node.http_port) {
      error_ = node.id + " listens on port " + std::to_string(node.process->port()) + ", not on " +
               std::to_string(node.http_port) + " from the cluster file";
      node.process.reset();
      return false;
    }
    node.paused = false;
    return true;
  }

  void LoadRing() {
    for (int i = 0; i < size(); ++i) {
      if (!Live(i)) continue;
      HttpResult r = Client(i).Get("/ring");
      if (!r.ok() || r.status() != 200) continue;
      nlohmann::json ring = r.Json();
      if (!ring.is_object() || !ring.contains("ring")) continue;
      for (const auto& part : ring["ring"]) {
        ring_owner_.push_back(IndexOf(part["owner"].get<std::string>()));
        std::vector<int> replicas;
        for (const auto& id : part["replicas"]) replicas.push_back(IndexOf(id.get<std::string>()));
        ring_replicas_.push_back(std::move(replicas));
      }
      return;
    }
  }

  int IndexOf(const std::string& id) const {
    for (int i = 0; i < size(); ++i) {
      if (nodes_[i].id == id) return i;
    }
    return -1;
  }

  ClusterOptions options_;
  TempDir dir_;  // declared before nodes_: removed only after every process is gone
  std::vector<Node> nodes_;
  std::string error_;
  std::vector<int> ring_owner_;                  // partition -> owner
  std::vector<std::vector<int>> ring_replicas_;  // partition -> its N replicas
};

}  // namespace dynastore::test
