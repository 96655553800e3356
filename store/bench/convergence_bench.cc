// convergence-bench: how long dynastore's anti-entropy takes to repair a
// replica that missed writes, measured end to end over HTTP.
//
// For each --keys size, on a fresh loopback cluster of three nodes (N=3,
// R=W=2 unless --n/--r/--w say otherwise; --no-sync; anti_entropy_interval_ms
// from --anti-entropy-interval-ms, 2000 by default, the store's own default):
//
//   1. start n1, n2, n3 and wait until each sees the others up;
//   2. stop n3 (SIGTERM; it exits cleanly) and wait until n1 and n2 see it
//      down;
//   3. write K fresh keys through n1 (blind PUTs, W from the cluster file),
//      pipelined over several keep-alive connections, so n1 and n2 hold them
//      and n3 holds none of them;
//   4. restart n3 on the same data dir and ports (the partition heals); the
//      clock starts when n3 answers GET /status with 200 ("n3 ready");
//   5. every --poll-ms, read GET /status of all three nodes (key count,
//      failure-detector view, anti-entropy counters) and, once the three key
//      counts agree, GET /admin/digest of all three; converged when the three
//      key -> digest maps are equal. Past --deadline-s it reports "did not
//      converge" and exits 1.
//
// Hinted handoff and read repair are off on every node by default
// (--no-hinted-handoff --no-read-repair), so anti-entropy alone repairs n3;
// --with-handoff-and-read-repair leaves them on. Nothing reads keys during the
// measurement, so read repair could not help anyway; hinted handoff could
// only matter with hints, which need a fallback node (there is none with
// N = nodes = 3).
//
// The digests are fetched only once the /status key counts agree because a
// digest listing is the whole key set (about 70 bytes a key): pulling and
// parsing three of them every 100 ms would compete for the CPU with the very
// anti-entropy being measured. --always-digest fetches them on every poll.
// The convergence time is therefore the time of the first poll that saw
// equal digests; the previous poll bounds it from below.
//
// Every daemon is stopped (SIGTERM, SIGKILL after 5 s) and reaped, and the
// temp dir removed, however the program exits short of SIGKILL; the daemons
// die with it even then (PR_SET_PDEATHSIG). Only 127.0.0.1 is used.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "store/bench/bench_support.h"

namespace {

using namespace dynastore_bench;  // also brings asio, beast, http, fs, tcp, Clock, error_code
using json = nlohmann::json;

#ifndef DYNASTORE_BIN
#define DYNASTORE_BIN "dynastore"
#endif

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// ---------------------------------------------------------------------------
// HTTP to the nodes (all on 127.0.0.1)

// ---------------------------------------------------------------------------
// The daemons

// ---------------------------------------------------------------------------
// The cluster under test

struct BenchOptions {
  std::vector<uint64_t> keys{10000};
  int n = 3, r = 2, w = 2;
  int partitions = 64;
  int anti_entropy_interval_ms = 2000;  // the store's default (cluster_config.h)
  int heartbeat_interval_ms = 0;        // 0: the store's default
  bool with_repair = false;             // leave hinted handoff and read repair on
  int connections = 8;
  int pipeline = 16;
  size_t value_bytes = 100;
  int poll_ms = 100;
  double deadline_s = 120;
  bool always_digest = false;
  bool trace = false;
  int repeat = 1;
  std::string dynastore = DYNASTORE_BIN;
  std::string data_root;
  int startup_timeout = 15;
};

constexpr int kNodes = 3;
std::string NodeId(size_t i) { return "n" + std::to_string(i + 1); }

// n1, n2, n3 on loopback ports, sharing one temp dir (cluster.json, data
// dirs, logs). The destructor stops all three before removing the dir.
class Cluster {
 public:
  Cluster() = default;
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;
  ~Cluster() { StopAll(); }

  bool Start(const BenchOptions& o, const fs::path& root, std::string& error) {
    if (!dir_.Create(root, "convergence-bench", error)) return false;
    std::vector<uint16_t> ports;
    if (!PickFreePorts(2 * kNodes, ports, error)) return false;
    json nodes = json::array();
    for (int i = 0; i < kNodes; i++) {
      nodes.push_back({{"id", NodeId(i)},
                       {"http", "127.0.0.1:" + std::to_string(ports[2 * i])},
                       {"rpc", "127.0.0.1:" + std::to_string(ports[2 * i + 1])}});
      targets_.push_back(LoopbackTarget(ports[2 * i]));
    }
    cluster_ = {{"n", o.n},
                {"r", o.r},
                {"w", o.w},
                {"partitions", o.partitions},
                {"anti_entropy_interval_ms", o.anti_entropy_interval_ms},
                {"nodes", nodes}};
    if (o.heartbeat_interval_ms > 0) cluster_["heartbeat_interval_ms"] = o.heartbeat_interval_ms;
    fs::path cluster_file = dir_.path() / "cluster.json";
    std::ofstream out(cluster_file);
    out << cluster_.dump(2) << "\n";
    out.close();
    if (!out) {
      error = "cannot write " + cluster_file.string();
      return false;
    }
    for (int i = 0; i < kNodes; i++) {
      fs::path data = dir_.path() / NodeId(i) / "data";
      std::error_code ec;
      fs::create_directories(data, ec);
      if (ec) {
        error = "cannot create " + data.string() + ": " + ec.message();
        return false;
      }
      std::vector<std::string> args = {o.dynastore,           "--id",   NodeId(i),     "--cluster",
                                       cluster_file.string(), "--data", data.string(), "--no-sync"};
      if (!o.with_repair) args.insert(args.end(), {"--no-hinted-handoff", "--no-read-repair"});
      args_.push_back(args);
      nodes_.push_back(std::make_unique<DaemonProcess>());
      if (!StartNode(i, error)) return false;
    }
    return true;
  }

  bool StartNode(int i, std::string& error) {
    if (!nodes_[i]->Start(args_[i], dir_.path() / (NodeId(i) + ".log"), targets_[i], error)) {
      error = NodeId(i) + ": " + error;
      return false;
    }
    return true;
  }

  // Every node answers /status and sees every other node up.
  bool WaitFormed(std::chrono::seconds timeout, std::string& error) {
    auto deadline = Clock::now() + timeout;
    for (int i = 0; i < kNodes; i++) {
      auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now());
      if (!nodes_[i]->WaitReady(std::max(left, std::chrono::seconds(1)), error)) {
        error = NodeId(i) + ": " + error;
        return false;
      }
    }
    return WaitViews(
        deadline, [](int, int) { return true; }, "up", error);
  }

  // Waits until every running node's failure detector sees node `down` down.
  bool WaitSeenDown(int down, std::chrono::seconds timeout, std::string& error) {
    return WaitViews(
        Clock::now() + timeout, [down](int viewer, int) { return viewer != down; }, "down", error, down);
  }

  DaemonProcess& node(int i) { return *nodes_[i]; }
  const Target& target(int i) const { return targets_[i]; }
  const json& cluster_json() const { return cluster_; }
  std::string command(int i) const {
    std::string c;
    for (const auto& a : args_[i]) c += (c.empty() ? "" : " ") + a;
    return c;
  }
  std::string LogTails(size_t lines) const {
    std::string out;
    for (int i = 0; i < static_cast<int>(nodes_.size()); i++) {
      std::string tail = nodes_[i]->LogTail(lines);
      if (!tail.empty()) out += NodeId(i) + " log (last lines):\n" + tail;
    }
    return out;
  }

  void StopAll() {
    for (auto& n : nodes_) n->Terminate();
    for (auto& n : nodes_) n->Stop();
  }

 private:
  // Polls /status of the nodes `viewer_filter` selects until each sees every
  // other node in the state wanted: all up, or (with `down` >= 0) `down` down.
  template <typename Filter>
  bool WaitViews(Clock::time_point deadline, Filter viewer_filter, const char* what, std::string& error,
                 int down = -1) {
    while (true) {
      std::string pending;
      for (int v = 0; v < kNodes && pending.empty(); v++) {
        if (!viewer_filter(v, down)) continue;
        std::string body;
        if (HttpGet(targets_[v], "/status", std::chrono::milliseconds(1000), &body) != 200) {
          pending = NodeId(v) + " does not answer GET /status";
          continue;
        }
        json status = json::parse(body, nullptr, false);
        for (int j = 0; j < kNodes && pending.empty(); j++) {
          if (j == v) continue;
          bool up = MemberUp(status, NodeId(j));
          bool want_up = down < 0 || j != down;
          if (up != want_up) pending = NodeId(v) + " does not see " + NodeId(j) + (want_up ? " up" : " down");
        }
      }
      if (pending.empty()) return true;
      if (g_interrupted) {
        error = "interrupted";
        return false;
      }
      for (int i = 0; i < kNodes; i++) {
        if (i != down && nodes_[i]->Exited()) {
          error = NodeId(i) + " exited (" + nodes_[i]->ExitDescription() + ")";
          return false;
        }
      }
      if (Clock::now() >= deadline) {
        error = std::string("nodes did not agree on who is ") + what + " in time: " + pending;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  TempDir dir_;  // before nodes_: removed after they are stopped
  std::vector<std::unique_ptr<DaemonProcess>> nodes_;
  std::vector<std::vector<std::string>> args_;
  std::vector<Target> targets_;
  json cluster_;
};

// ---------------------------------------------------------------------------
// The load: K blind PUTs through one node, pipelined

struct LoadResult {
  uint64_t ok = 0;
  uint64_t failed = 0;               // non-200 answers, plus requests lost with a connection
  std::map<int, uint64_t> statuses;  // non-200 answers by status
  std::string first_error;
  double seconds = 0;
  bool timed_out = false;
};

std::string ConvKey(uint64_t k) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "conv-%08llu", static_cast<unsigned long long>(k));
  return buf;
}

struct LoadShared {
  Target target;
  uint64_t keys = 0;
  uint64_t next = 0;  // next key to send (one io thread: no atomics needed)
  int depth = 1;
  std::string body;  // {"value":"..."}, the same for every key
  LoadResult result;
  int active = 0;
};

// One keep-alive connection with up to `depth` PUTs in flight: the writer
// keeps the window full, the reader consumes answers in order (HTTP/1.1
// answers pipelined requests in order). A failed connection counts its
// unanswered PUTs as failed and stops; nothing is retried, since a PUT whose
// answer was lost may have been applied.
class PipelinedConnection : public std::enable_shared_from_this<PipelinedConnection> {
 public:
  PipelinedConnection(asio::io_context& io, LoadShared& shared) : shared_(shared), socket_(io) {}

  void Start() {
    shared_.active++;
    socket_.async_connect(shared_.target.endpoint, [self = shared_from_this()](error_code ec) {
      if (ec) return self->Fail("connect: " + ec.message());
      error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      self->Pump();
      self->Read();
    });
  }

  void Cancel() {
    error_code ignored;
    socket_.close(ignored);
  }

 private:
  void Pump() {
    if (writing_ || done_) return;
    out_.clear();
    while (static_cast<int>(pending_.size()) < shared_.depth && shared_.next < shared_.keys) {
      uint64_t k = shared_.next++;
      out_.append("PUT /kv/").append(ConvKey(k)).append(" HTTP/1.1\r\nHost: ").append(shared_.target.host_header);
      out_.append("\r\nContent-Type: application/json\r\nContent-Length: ").append(std::to_string(shared_.body.size()));
      out_.append("\r\n\r\n").append(shared_.body);
      pending_.push_back(k);
    }
    if (out_.empty()) return;
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this()](error_code ec, size_t) {
      self->writing_ = false;
      if (ec) return self->Fail("write: " + ec.message());
      self->Pump();
    });
  }

  void Read() {
    if (done_) return;
    if (pending_.empty()) return Finish();
    response_ = {};
    http::async_read(socket_, buffer_, response_, [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return self->Fail("read: " + ec.message());
      self->pending_.pop_front();
      int status = self->response_.result_int();
      if (status == 200) {
        self->shared_.result.ok++;
      } else {
        self->shared_.result.failed++;
        self->shared_.result.statuses[status]++;
        if (self->shared_.result.first_error.empty()) {
          self->shared_.result.first_error = "HTTP " + std::to_string(status) + " " + self->response_.body();
        }
      }
      if (!self->response_.keep_alive()) return self->Fail("the server closed the connection");
      self->Pump();
      self->Read();
    });
  }

  void Fail(const std::string& why) {
    if (done_) return;
    shared_.result.failed += pending_.size();
    if (shared_.result.first_error.empty()) shared_.result.first_error = why;
    pending_.clear();
    Finish();
  }

  void Finish() {
    if (done_) return;
    done_ = true;
    Cancel();
    shared_.active--;
  }

  LoadShared& shared_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  http::response<http::string_body> response_;
  std::string out_;
  std::deque<uint64_t> pending_;
  bool writing_ = false;
  bool done_ = false;
};

LoadResult WriteKeys(const Target& target, uint64_t keys, int connections, int depth, size_t value_bytes,
                     std::chrono::milliseconds limit) {
  LoadShared shared;
  shared.target = target;
  shared.keys = keys;
  shared.depth = depth;
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::mt19937_64 rng(1);
  std::string value;
  for (size_t i = 0; i < value_bytes; i++) value += kAlphabet[rng() % kAlphabet.size()];
  shared.body = "{\"value\":\"" + value + "\"}";  // alphanumeric: no escaping needed

  asio::io_context io(1);
  std::vector<std::shared_ptr<PipelinedConnection>> conns;
  for (int i = 0; i < connections; i++) {
    conns.push_back(std::make_shared<PipelinedConnection>(io, shared));
    conns.back()->Start();
  }
  // Stops the load at the limit or on Ctrl-C; checks every 20 ms.
  asio::steady_timer timer(io);
  auto start = Clock::now();
  std::function<void()> arm = [&] {
    timer.expires_after(std::chrono::milliseconds(20));
    timer.async_wait([&](error_code ec) {
      if (ec || shared.active == 0) return;
      if (g_interrupted || Clock::now() - start > limit) {
        shared.result.timed_out = !g_interrupted;
        for (auto& c : conns) c->Cancel();
        return;
      }
      arm();
    });
  };
  arm();
  io.run();
  shared.result.seconds = Seconds(Clock::now() - start);
  // Keys never sent (the load was cut short) count as failed too.
  if (shared.next < keys) shared.result.failed += keys - shared.next;
  return shared.result;
}

// ---------------------------------------------------------------------------
// Observing the nodes

struct AeStats {
  bool present = false;
  uint64_t rounds = 0, exchanges = 0, pulled = 0, pushed = 0;
  int64_t last_round_ms = 0;
};

struct NodeStatus {
  bool ok = false;
  uint64_t keys = 0;
  json status;
  AeStats ae;
  bool Sees(const std::string& id) const { return MemberUp(status, id); }
};

uint64_t U64(const json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_number_unsigned()  ? it->get<uint64_t>()
         : it != j.end() && it->is_number_integer() ? static_cast<uint64_t>(std::max<int64_t>(0, it->get<int64_t>()))
                                                    : 0;
}

NodeStatus FetchStatus(const Target& target) {
  NodeStatus s;
  std::string body;
  if (HttpGet(target, "/status", std::chrono::milliseconds(2000), &body) != 200) return s;
  s.status = json::parse(body, nullptr, false);
  if (!s.status.is_object()) return s;
  s.ok = true;
  s.keys = U64(s.status, "keys");
  if (auto ae = s.status.find("anti_entropy"); ae != s.status.end() && ae->is_object()) {
    s.ae.present = true;
    s.ae.rounds = U64(*ae, "rounds");
    s.ae.exchanges = U64(*ae, "exchanges");
    s.ae.pulled = U64(*ae, "keys_pulled");
    s.ae.pushed = U64(*ae, "keys_pushed");
    s.ae.last_round_ms = static_cast<int64_t>(U64(*ae, "last_round_ms"));
  }
  return s;
}

using DigestMap = std::unordered_map<std::string, std::string>;

// GET /admin/digest: the NDJSON body. False (with `error`) if the node did
// not answer 200.
bool FetchDigestBody(const Target& target, std::string& body, std::string& error) {
  int status = HttpGet(target, "/admin/digest", std::chrono::milliseconds(30000), &body);
  if (status != 200) {
    error = "GET /admin/digest: " + (status < 0 ? std::string("no answer") : "HTTP " + std::to_string(status));
    return false;
  }
  return true;
}

// An /admin/digest body into key -> digest. False (with `error`) if a line
// is not {"key":..., "digest":...}.
bool ParseDigests(std::string_view body, DigestMap& out, std::string& error) {
  out.clear();
  std::string_view rest = body;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("key") || !j["key"].is_string() || !j.contains("digest") ||
        !j["digest"].is_string()) {
      error = "GET /admin/digest: unexpected line " + std::string(line.substr(0, 200));
      return false;
    }
    out[j["key"].get<std::string>()] = j["digest"].get<std::string>();
  }
  return true;
}

// Keys whose digest differs between `a` and `b`, or that only one holds.
uint64_t CountDifferences(const DigestMap& a, const DigestMap& b) {
  uint64_t d = 0;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end() || it->second != v) d++;
  }
  for (const auto& [k, v] : b) d += a.count(k) ? 0 : 1;
  return d;
}

// ---------------------------------------------------------------------------
// One measurement

struct SizeResult {
  uint64_t keys = 0;
  int run = 1;
  std::string failure;  // non-empty: the measurement did not complete
  bool converged = false;
  LoadResult load;
  uint64_t n1_keys_before_heal = 0, n2_keys_before_heal = 0;
  double restart_to_ready_s = 0;  // exec of n3 to /status 200
  double converged_s = -1;        // n3 ready -> the poll that saw equal digests had them all
  double not_converged_s = 0;     // start of the last poll that did not (lower bound)
  uint64_t converged_keys = 0;
  // Milestones, seconds after n3 ready (-1: not seen).
  double n1_sees_n3 = -1, n2_sees_n3 = -1, n3_first_key = -1, n3_all_keys = -1;
  double n1_first_push = -1, n2_first_push = -1;
  AeStats ae_ready[kNodes], ae_end[kNodes];
  uint64_t status_polls = 0, digest_polls = 0;
  double digest_fetch_s = 0;  // longest fetch of the three digest listings
  // Last state seen, for a run that did not converge.
  uint64_t last_keys[kNodes] = {0, 0, 0};
  int64_t last_differences = -1;
};

double Since(Clock::time_point t0) { return Seconds(Clock::now() - t0); }

void Mark(double& milestone, bool reached, double t) {
  if (reached && milestone < 0) milestone = t;
}

// One measurement on a fresh cluster (MeasureSize): n3 stops, keys are
// written through n1, n3 restarts, and the nodes are polled until they hold
// the same digests or the deadline passes. Fills `res`; res.failure says why
// it did not complete, or that it did not converge in time.
class SizeMeasurement {
 public:
  SizeMeasurement(const BenchOptions& o, uint64_t keys, SizeResult& res)
      : o_(o), res_(res), tag_("[" + std::to_string(keys) + " keys] ") {
    res_.keys = keys;
  }

  void Run(const fs::path& root, bool print_commands) {
    Clock::time_point ready;
    // A failure leaves the cluster to the destructor, without the warnings below.
    const bool completed =
        StartCluster(root, print_commands) && PartitionAndWrite() && RestartN3(ready) && PollUntilConverged(ready);
    if (!completed) return;
    cluster_.StopAll();
    for (int i = 0; i < kNodes; i++) {
      if (!cluster_.node(i).StoppedCleanly()) {
        std::fprintf(stderr, "%swarning: %s did not stop cleanly: %s\n", tag_.c_str(), NodeId(i).c_str(),
                     cluster_.node(i).ExitDescription().c_str());
      }
    }
  }

 private:
  enum class Digests { kEqual, kUnequal, kFailed };

  // Records why the measurement ends, with the nodes' log tails; false.
  bool Fail(const std::string& what) {
    res_.failure = what;
    std::fprintf(stderr, "%s%s\n%s", tag_.c_str(), what.c_str(), cluster_.LogTails(10).c_str());
    return false;
  }

  bool StartCluster(const fs::path& root, bool print_commands) {
    std::string error;
    std::fprintf(stderr, "%sstarting n1, n2, n3...\n", tag_.c_str());
    if (!cluster_.Start(o_, root, error) || !cluster_.WaitFormed(std::chrono::seconds(o_.startup_timeout), error)) {
      return Fail("cluster did not start: " + error);
    }
    if (print_commands) {
      std::printf("cluster.json: %s\n", cluster_.cluster_json().dump().c_str());
      for (int i = 0; i < kNodes; i++) std::printf("  %s\n", cluster_.command(i).c_str());
      std::fflush(stdout);
    }
    return true;
  }

  // The partition: n3 goes away, and the keys are written through n1.
  bool PartitionAndWrite() {
    std::string error;
    cluster_.node(2).Stop();
    if (!cluster_.node(2).StoppedCleanly()) {
      return Fail("n3 did not stop cleanly: " + cluster_.node(2).ExitDescription());
    }
    if (!cluster_.WaitSeenDown(2, std::chrono::seconds(o_.startup_timeout), error)) return Fail(error);

    std::fprintf(stderr, "%sn3 stopped; writing %llu keys through n1 (%d connections x %d pipelined)...\n",
                 tag_.c_str(), static_cast<unsigned long long>(res_.keys), o_.connections, o_.pipeline);
    res_.load = WriteKeys(cluster_.target(0), res_.keys, o_.connections, o_.pipeline, o_.value_bytes,
                          std::chrono::milliseconds(static_cast<int64_t>(o_.deadline_s * 1000)));
    if (g_interrupted) return Fail("interrupted");
    if (res_.load.timed_out) return Fail("the writes did not finish within --deadline-s");
    if (res_.load.ok == 0) return Fail("no write succeeded: " + res_.load.first_error);
    res_.n1_keys_before_heal = FetchStatus(cluster_.target(0)).keys;
    res_.n2_keys_before_heal = FetchStatus(cluster_.target(1)).keys;
    return true;
  }

  // The heal: n3 comes back on the same data dir and ports; `ready` is when
  // it first answered GET /status.
  bool RestartN3(Clock::time_point& ready) {
    std::string error;
    const auto exec_at = Clock::now();
    if (!cluster_.StartNode(2, error)) return Fail(error);
    while (HttpGet(cluster_.target(2), "/status", std::chrono::milliseconds(500)) != 200) {
      if (g_interrupted) return Fail("interrupted");
      if (cluster_.node(2).Exited()) return Fail("n3 exited on restart (" + cluster_.node(2).ExitDescription() + ")");
      if (Since(exec_at) > o_.startup_timeout) return Fail("n3 did not answer GET /status after its restart");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ready = Clock::now();
    res_.restart_to_ready_s = Seconds(ready - exec_at);
    std::fprintf(stderr, "%sn3 restarted and ready after %.3f s; polling every %d ms\n", tag_.c_str(),
                 res_.restart_to_ready_s, o_.poll_ms);
    for (int i = 0; i < kNodes; i++) res_.ae_ready[i] = FetchStatus(cluster_.target(i)).ae;
    return true;
  }

  // Polls every --poll-ms until the nodes hold equal digests or the
  // deadline passes (a failure noted in res_, but true); false on others.
  bool PollUntilConverged(Clock::time_point ready) {
    const auto poll = std::chrono::milliseconds(o_.poll_ms);
    const auto deadline = ready + std::chrono::milliseconds(static_cast<int64_t>(o_.deadline_s * 1000));
    auto next = ready;
    double last_trace = -1;
    while (true) {
      next += poll;
      auto now = Clock::now();
      if (next > now) {
        std::this_thread::sleep_until(next);
      } else {
        next = now;  // a slow poll: do not try to catch up
      }
      if (g_interrupted) return Fail("interrupted");
      const double t = Since(ready);
      NodeStatus st[kNodes];
      // n3 first: it is the one catching up, so its reading bounds the
      // convergence time most tightly.
      for (int i = kNodes - 1; i >= 0; i--) st[i] = FetchStatus(cluster_.target(i));
      RecordStatus(st, t);

      bool all_ok = st[0].ok && st[1].ok && st[2].ok;
      bool counts_equal = all_ok && st[0].keys == st[1].keys && st[1].keys == st[2].keys;
      if (all_ok && (counts_equal || o_.always_digest)) {
        const Digests digests = CompareDigests(ready, st);
        if (digests == Digests::kFailed) return false;
        if (digests == Digests::kEqual) return true;
      }
      res_.not_converged_s = t;
      if (o_.trace || t - last_trace >= 1.0) {
        last_trace = t;
        Trace(t, st);
      }
      for (int i = 0; i < kNodes; i++) {
        if (cluster_.node(i).Exited()) return Fail(NodeId(i) + " exited (" + cluster_.node(i).ExitDescription() + ")");
      }
      if (Clock::now() >= deadline) {
        for (int i = 0; i < kNodes; i++) res_.ae_end[i] = st[i].ae;
        res_.failure = "did not converge within " + Fixed(o_.deadline_s, 0) + " s";
        std::fprintf(stderr, "%s%s\n%s", tag_.c_str(), res_.failure.c_str(), cluster_.LogTails(10).c_str());
        return true;
      }
    }
  }

  // One poll's /status readings: counters and milestones.
  void RecordStatus(const NodeStatus (&st)[kNodes], double t) {
    res_.status_polls++;
    for (int i = 0; i < kNodes; i++) res_.last_keys[i] = st[i].keys;
    Mark(res_.n1_sees_n3, st[0].Sees("n3"), t);
    Mark(res_.n2_sees_n3, st[1].Sees("n3"), t);
    Mark(res_.n3_first_key, st[2].ok && st[2].keys > 0, t);
    Mark(res_.n3_all_keys, st[2].ok && st[0].ok && st[2].keys >= st[0].keys, t);
    Mark(res_.n1_first_push, st[0].ae.pushed > res_.ae_ready[0].pushed, t);
    Mark(res_.n2_first_push, st[1].ae.pushed > res_.ae_ready[1].pushed, t);
  }

  // Fetches and compares the three digest listings; on kEqual the
  // measurement converged (recorded in res_).
  Digests CompareDigests(Clock::time_point ready, const NodeStatus (&st)[kNodes]) {
    std::string body[kNodes];
    std::string error;
    bool fetched = true;
    auto fetch_start = Clock::now();
    for (int i = kNodes - 1; i >= 0 && fetched; i--) fetched = FetchDigestBody(cluster_.target(i), body[i], error);
    res_.digest_fetch_s = std::max(res_.digest_fetch_s, Since(fetch_start));
    res_.digest_polls++;
    if (!fetched) return Digests::kUnequal;
    // Every node lists its keys in the same order (by partition, then key)
    // with the same code, so equal bytes mean equal maps; only unequal
    // bodies need parsing to tell.
    const double fetched_at = Since(ready);
    bool equal = body[0] == body[1] && body[1] == body[2];
    DigestMap d[kNodes];
    for (int i = 0; i < (equal ? 1 : kNodes); i++) {
      if (!ParseDigests(body[i], d[i], error)) {
        Fail(NodeId(i) + ": " + error);
        return Digests::kFailed;
      }
    }
    if (equal || (d[0] == d[1] && d[1] == d[2])) {
      res_.converged = true;
      res_.converged_s = fetched_at;
      res_.converged_keys = d[0].size();
      for (int i = 0; i < kNodes; i++) res_.ae_end[i] = st[i].ae;
      return Digests::kEqual;
    }
    res_.last_differences = static_cast<int64_t>(std::max(CountDifferences(d[0], d[2]), CountDifferences(d[1], d[2])));
    return Digests::kUnequal;
  }

  void Trace(double t, const NodeStatus (&st)[kNodes]) const {
    std::fprintf(
        stderr,
        "%st=%6.2fs keys n1=%llu n2=%llu n3=%llu | n3 seen up by n1:%s n2:%s | ae rounds %llu/%llu/%llu "
        "pushed %llu/%llu/%llu pulled %llu/%llu/%llu\n",
        tag_.c_str(), t, (unsigned long long)st[0].keys, (unsigned long long)st[1].keys, (unsigned long long)st[2].keys,
        st[0].Sees("n3") ? "y" : "n", st[1].Sees("n3") ? "y" : "n", (unsigned long long)st[0].ae.rounds,
        (unsigned long long)st[1].ae.rounds, (unsigned long long)st[2].ae.rounds, (unsigned long long)st[0].ae.pushed,
        (unsigned long long)st[1].ae.pushed, (unsigned long long)st[2].ae.pushed, (unsigned long long)st[0].ae.pulled,
        (unsigned long long)st[1].ae.pulled, (unsigned long long)st[2].ae.pulled);
  }

  const BenchOptions& o_;
  SizeResult& res_;
  const std::string tag_;
  Cluster cluster_;
};

// ---------------------------------------------------------------------------
// Report

std::string Ms(double s) { return s < 0 ? "-" : Fixed(s, 2); }

void PrintSize(const BenchOptions& o, const SizeResult& r) {
  std::printf("\n== %llu keys%s ==\n", static_cast<unsigned long long>(r.keys),
              o.repeat > 1 ? (", run " + std::to_string(r.run) + "/" + std::to_string(o.repeat)).c_str() : "");
  if (r.load.ok + r.load.failed > 0) {
    std::printf("load: %llu/%llu PUTs answered 200 through n1 (W=%d) with n3 down, in %.2f s (%.0f PUT/s)",
                (unsigned long long)r.load.ok, (unsigned long long)r.keys, o.w, r.load.seconds,
                r.load.seconds > 0 ? r.load.ok / r.load.seconds : 0.0);
    if (r.load.failed) {
      std::printf("; %llu failed (first: %s)", (unsigned long long)r.load.failed, r.load.first_error.c_str());
      for (auto [code, n] : r.load.statuses) std::printf(" [%d]x%llu", code, (unsigned long long)n);
    }
    std::printf("\n      keys held before the heal: n1 %llu, n2 %llu, n3 0 (down)\n",
                (unsigned long long)r.n1_keys_before_heal, (unsigned long long)r.n2_keys_before_heal);
  }
  if (r.converged) {
    std::printf("heal: n3 restarted, ready %.3f s after exec\n", r.restart_to_ready_s);
    std::printf(
        "converged: %.2f s after n3 ready (not yet at the previous poll, %.2f s); %llu keys with equal "
        "digests on n1, n2, n3\n",
        r.converged_s, r.not_converged_s, (unsigned long long)r.converged_keys);
  } else if (!r.failure.empty()) {
    std::printf("%s%s\n", r.failure.rfind("did not converge", 0) == 0 ? "" : "FAILED: ", r.failure.c_str());
    if (r.failure.rfind("did not converge", 0) == 0) {
      std::printf("  last seen: keys n1 %llu, n2 %llu, n3 %llu; keys differing (digests) %s\n",
                  (unsigned long long)r.last_keys[0], (unsigned long long)r.last_keys[1],
                  (unsigned long long)r.last_keys[2],
                  r.last_differences < 0 ? "not fetched (key counts never agreed)"
                                         : std::to_string(r.last_differences).c_str());
    }
  }
  if (r.status_polls == 0) return;
  std::printf(
      "timeline (s after n3 ready, %d ms polls): n1 sees n3 up %s | n2 sees n3 up %s | first AE push n1 %s, "
      "n2 %s | n3 first key %s | n3 key count = n1 %s | digests equal %s\n",
      o.poll_ms, Ms(r.n1_sees_n3).c_str(), Ms(r.n2_sees_n3).c_str(), Ms(r.n1_first_push).c_str(),
      Ms(r.n2_first_push).c_str(), Ms(r.n3_first_key).c_str(), Ms(r.n3_all_keys).c_str(), Ms(r.converged_s).c_str());
  std::printf("anti-entropy from /status (counters since the heal; n3's since its restart):\n");
  std::printf("  %-4s %7s %10s %12s %12s %14s\n", "node", "rounds", "exchanges", "keys_pulled", "keys_pushed",
              "last_round_ms");
  for (int i = 0; i < kNodes; i++) {
    const AeStats& a = r.ae_ready[i];
    const AeStats& b = r.ae_end[i];
    if (!b.present) {
      std::printf("  %-4s (no anti_entropy in /status)\n", NodeId(i).c_str());
      continue;
    }
    std::printf("  %-4s %7llu %10llu %12llu %12llu %14lld\n", NodeId(i).c_str(),
                (unsigned long long)(b.rounds - a.rounds), (unsigned long long)(b.exchanges - a.exchanges),
                (unsigned long long)(b.pulled - a.pulled), (unsigned long long)(b.pushed - a.pushed),
                (long long)b.last_round_ms);
  }
  std::printf(
      "  (polls: %llu /status, %llu /admin/digest; fetching the three listings took up to %.3f s of the "
      "convergence time)\n",
      (unsigned long long)r.status_polls, (unsigned long long)r.digest_polls, r.digest_fetch_s);
  std::fflush(stdout);
}

void PrintSummary(const BenchOptions& o, const std::vector<SizeResult>& rows) {
  std::printf("\n%-9s %3s %8s %9s %13s %13s %12s %16s  %s\n", "keys", "run", "load s", "PUT/s", "converged s",
              "(after) s", "n3 all keys s", "pushed n1/n2", "result");
  for (const auto& r : rows) {
    std::string pushed = r.ae_end[0].present ? std::to_string(r.ae_end[0].pushed - r.ae_ready[0].pushed) + "/" +
                                                   std::to_string(r.ae_end[1].pushed - r.ae_ready[1].pushed)
                                             : "-";
    std::string result = r.converged ? (r.converged_s <= 5.0 ? "converged (<= 5 s target)" : "converged (> 5 s target)")
                                     : (r.failure.empty() ? "skipped" : r.failure);
    std::printf("%-9llu %3d %8s %9s %13s %13s %12s %16s  %s\n", (unsigned long long)r.keys, r.run,
                r.load.seconds > 0 ? Fixed(r.load.seconds, 2).c_str() : "-",
                r.load.seconds > 0 ? Fixed(r.load.ok / r.load.seconds, 0).c_str() : "-",
                r.converged ? Fixed(r.converged_s, 2).c_str() : "-",
                r.converged ? Fixed(r.not_converged_s, 2).c_str() : "-", Ms(r.n3_all_keys).c_str(), pushed.c_str(),
                result.c_str());
  }
  std::printf(
      "  (converged s: n3 ready -> the end of the first poll that found the three digest listings equal;\n"
      "   (after) s: the start of the poll before it, which did not; the truth lies between)\n");
  if (o.repeat <= 1) return;
  std::printf("\n%-9s %6s %12s %12s %12s\n", "keys", "runs", "min s", "median s", "max s");
  std::vector<uint64_t> sizes;
  for (const auto& r : rows) {
    if (std::find(sizes.begin(), sizes.end(), r.keys) == sizes.end()) sizes.push_back(r.keys);
  }
  for (uint64_t k : sizes) {
    std::vector<double> t;
    for (const auto& r : rows) {
      if (r.keys == k && r.converged) t.push_back(r.converged_s);
    }
    if (t.empty()) {
      std::printf("%-9llu %6s\n", (unsigned long long)k, "0");
      continue;
    }
    std::sort(t.begin(), t.end());
    double median = t.size() % 2 ? t[t.size() / 2] : (t[t.size() / 2 - 1] + t[t.size() / 2]) / 2;
    std::printf("%-9llu %6zu %12.2f %12.2f %12.2f\n", (unsigned long long)k, t.size(), t.front(), median, t.back());
  }
}

int Run(const BenchOptions& o) {
  if (access(o.dynastore.c_str(), X_OK) != 0) {
    std::fprintf(stderr,
                 "convergence-bench: no executable dynastore at %s (build it: ninja dynastore; or pass "
                 "--dynastore PATH)\n",
                 o.dynastore.c_str());
    return 2;
  }
  std::error_code ec;
  fs::path root = o.data_root.empty() ? fs::temp_directory_path(ec) : fs::path(o.data_root);
  if (ec || !fs::is_directory(root)) {
    std::fprintf(stderr, "convergence-bench: data root '%s' is not a directory (set --data-root)\n", root.c_str());
    return 2;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  int nproc = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                          : static_cast<int>(std::thread::hardware_concurrency());
  std::printf(
      "convergence-bench: 3 nodes, N=%d R=%d W=%d, %d partitions, anti_entropy_interval_ms %d, sync off, "
      "%s; machine nproc %d\n",
      o.n, o.r, o.w, o.partitions, o.anti_entropy_interval_ms,
      o.with_repair ? "hinted handoff and read repair ON" : "--no-hinted-handoff --no-read-repair", nproc);
  std::printf(
      "per size: fresh cluster; stop n3; write K keys via n1 (%d connections x %d pipelined, %zu-byte "
      "values); restart n3; poll every %d ms until /admin/digest agrees on all nodes (deadline %.0f s)\n",
      o.connections, o.pipeline, o.value_bytes, o.poll_ms, o.deadline_s);
  std::fflush(stdout);

  std::vector<SizeResult> rows;
  bool failed = false;
  for (size_t i = 0; i < o.keys.size(); i++) {
    for (int run = 1; run <= o.repeat; run++) {
      SizeResult r;
      r.keys = o.keys[i];
      r.run = run;
      if (failed || g_interrupted) {
        rows.push_back(r);  // skipped: an earlier measurement did not converge
        continue;
      }
      SizeMeasurement(o, o.keys[i], r).Run(root, i == 0 && run == 1);
      PrintSize(o, r);
      if (!r.converged) failed = true;
      rows.push_back(r);
    }
  }
  PrintSummary(o, rows);
  if (g_interrupted) return 130;
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions o;
  CLI::App app{
      "convergence-bench: time for dynastore's anti-entropy to bring a healed replica back in sync.\n"
      "Per --keys size: a fresh 3-node loopback cluster; n3 is stopped, K keys are written through n1, n3 "
      "is restarted,\nand the three nodes' /admin/digest are polled until equal."};
  app.add_option("--keys", o.keys, "Divergent keys; a comma-separated list runs each size (e.g. 10000,100000)")
      ->delimiter(',')
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}))
      ->capture_default_str();
  app.add_option("--n", o.n, "Replicas per key (cluster.json n)")->check(CLI::Range(1, 3))->capture_default_str();
  app.add_option("--r", o.r, "Read quorum (cluster.json r)")->check(CLI::Range(1, 3))->capture_default_str();
  app.add_option("--w", o.w, "Write quorum (cluster.json w); the writes with n3 down need W <= 2")
      ->check(CLI::Range(1, 3))
      ->capture_default_str();
  app.add_option("--partitions", o.partitions, "Ring partitions (cluster.json)")
      ->check(CLI::Range(3, 1 << 16))
      ->capture_default_str();
  app.add_option("--anti-entropy-interval-ms", o.anti_entropy_interval_ms,
                 "cluster.json anti_entropy_interval_ms (default: the store's own default, 2000)")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  app.add_option("--heartbeat-interval-ms", o.heartbeat_interval_ms,
                 "cluster.json heartbeat_interval_ms (0: leave the store's default, 500)")
      ->check(CLI::Range(0, 60'000))
      ->capture_default_str();
  app.add_flag("--with-handoff-and-read-repair", o.with_repair,
               "Leave hinted handoff and read repair on (default: every node runs with --no-hinted-handoff "
               "--no-read-repair, so anti-entropy alone is measured)");
  app.add_option("--connections", o.connections, "Keep-alive connections writing the keys")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--pipeline", o.pipeline, "PUTs in flight per connection (HTTP/1.1 pipelining)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--value-bytes", o.value_bytes, "Size of each value")
      ->check(CLI::Range(size_t{0}, size_t{1} << 16))
      ->capture_default_str();
  app.add_option("--poll-ms", o.poll_ms, "Polling period after the heal")
      ->check(CLI::Range(10, 10'000))
      ->capture_default_str();
  app.add_flag("--always-digest", o.always_digest,
               "Fetch /admin/digest on every poll, not only once the /status key counts agree");
  app.add_option("--deadline-s", o.deadline_s,
                 "Give up on a size this long after n3 is ready (also bounds its writes); reports \"did not "
                 "converge\" and exits 1")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  app.add_option("--repeat", o.repeat,
                 "Measure each size this many times (each on a fresh cluster): where the heal falls in the "
                 "anti-entropy and heartbeat periods varies, so one run is one sample")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_flag("--trace", o.trace, "Print every poll to stderr (default: about once a second)");
  app.add_option("--dynastore", o.dynastore, "Path of the dynastore binary")->capture_default_str();
  app.add_option("--data-root", o.data_root, "Directory for the temp dir (default: the system temp dir)");
  app.add_option("--startup-timeout", o.startup_timeout, "Seconds for the cluster to form (and for n3 to restart)")
      ->check(CLI::Range(1, 600))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.r > o.n || o.w > o.n) {
    std::fprintf(stderr, "convergence-bench: --r and --w must be between 1 and --n\n");
    return 2;
  }
  if (o.w > 2) {
    std::fprintf(stderr, "convergence-bench: --w %d cannot be met with n3 down (two nodes left)\n", o.w);
    return 2;
  }
  if (o.keys.empty()) {
    std::fprintf(stderr, "convergence-bench: --keys needs at least one size\n");
    return 2;
  }

  InstallSignalHandlers();
  try {
    return Run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "convergence-bench: %s\n", e.what());  // destructors stop the nodes
    return 2;
  }
}
