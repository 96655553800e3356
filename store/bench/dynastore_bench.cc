// dynastore-bench: closed-loop HTTP load against dynastore, reported as one
// table of throughput and latency percentiles.
//
// By default it starts its own `dynastore` twice on 127.0.0.1 (a free port, a
// fresh temp data dir each), once with durable writes (fsync per write, the
// default) and once with --no-sync, runs the same load against each and
// prints the two side by side. `--target HOST:PORT` measures an already
// running server instead. Load only ever goes to loopback addresses.
//
// Cluster mode: `--nodes 3` starts a loopback cluster instead of one node
// (distinct 127.0.0.1 ports for HTTP and RPC, a cluster.json with N/R/W from
// --n/--r/--w and --partitions) and spreads the connections over the nodes
// round-robin (connection i talks to node i mod nodes). `--compare-cluster`
// runs one node (N=1) and a 3-node cluster (--n/--r/--w, default N=3 R=2
// W=2) in one invocation, sync off unless --sync says otherwise, and prints
// them side by side with their ratio (as --vs-redis prints dynastore's over
// Redis's). `--rounds K` repeats every configuration K times, interleaved,
// and prints each round's ratio and the median: one round's ratio moves by a
// third on a shared machine.
//
// The load: C keep-alive HTTP/1.1 connections, each with one request in
// flight at a time (closed loop), a read-fraction mix of GET /kv/{key} and
// PUT /kv/{key} over uniformly chosen keys. A warm-up first writes every key
// once (so GETs hit), then runs the mix; only the window after it is measured.
// It uses three routes of dynastore's HTTP API: GET /status (readiness, and in
// a cluster every node's view of its peers), GET /kv/{key} and PUT /kv/{key}
// with {"value", "context"}.
//
// Threading: one io_context run by --client-threads threads. A connection has
// at most one async operation outstanding, so its handlers never run
// concurrently; what connections share is atomics plus a striped-lock map of
// per-key contexts. Each connection owns its statistics; they are merged
// after the io threads are joined.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
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
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/bench/bench_support.h"
#include "store/bench/load.h"
#ifdef DYNASTORE_BENCH_REDIS
#include "store/bench/redis_load.h"
#endif

namespace {

using namespace dynastore_bench;  // also brings asio, beast, http, fs, tcp, Clock, error_code

#ifndef DYNASTORE_BIN
#define DYNASTORE_BIN "dynastore"
#endif

// ---------------------------------------------------------------------------
// Replies

// What the bench reads from a GET or PUT reply: the context, and for a GET
// the number of sibling values. The client shares the machine's cores with
// the server, so its CPU per op bounds the throughput too: simdjson's
// On-Demand parser, one per connection, reads the two fields where
// nlohmann::json built a whole DOM (3.3 us for a 211-byte GET reply, 1.4 us
// for a PUT reply).
struct Reply {
  std::optional<std::string> context;
  int values = -1;  // size of "values", -1 if absent or not an array
};

class ReplyParser {
 public:
  // Malformed JSON leaves what was not read yet at its default.
  Reply Parse(std::string_view body) {
    Reply r;
    // simdjson reads a few bytes past the end: parse a padded copy.
    padded_.assign(body);
    padded_.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    simdjson::ondemand::document doc;
    simdjson::ondemand::object object;
    if (parser_.iterate(padded_.data(), padded_.size(), padded_.capacity()).get(doc) || doc.get_object().get(object)) {
      return r;
    }
    for (auto field : object) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return r;
      if (key == "context") {
        std::string_view context;
        if (!field.value().get_string().get(context)) r.context.emplace(context);
      } else if (key == "values") {
        simdjson::ondemand::array values;
        size_t n = 0;
        if (!field.value().get_array().get(values) && !values.count_elements().get(n)) r.values = static_cast<int>(n);
      }
    }
    return r;
  }

 private:
  simdjson::ondemand::parser parser_;
  std::string padded_;
};

// ---------------------------------------------------------------------------
// Loopback-only targets

bool IsLoopback(const asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4().is_loopback();  // 127.0.0.0/8
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
  return v6.is_loopback();  // ::1
}

// Parses HOST:PORT and refuses anything that is not this machine: this
// program generates load and must never point it at another host.
bool ParseLoopbackTarget(const std::string& text, Target& out, std::string& error) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    error = "--target '" + text + "': expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080";
    return false;
  }
  std::string host = text.substr(0, colon);
  std::string port_text = text.substr(colon + 1);
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size() || port == 0 || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    error = "--target '" + text + "': '" + port_text + "' is not a port (1-65535)";
    return false;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);

  const std::string refuse = "--target '" + text +
                             "' is not a loopback address; dynastore-bench only sends load to this machine "
                             "(127.0.0.0/8, ::1 or localhost)";
  asio::ip::address addr;
  if (host == "localhost") {
    // Resolve, but keep only loopback answers: /etc/hosts decides what
    // "localhost" means and we do not trust it to stay local.
    asio::io_context io;
    tcp::resolver resolver(io);
    error_code ec;
    auto results = resolver.resolve(host, port_text, tcp::resolver::numeric_service, ec);
    bool found = false;
    if (!ec) {
      for (const auto& r : results) {
        if (IsLoopback(r.endpoint().address())) {
          addr = r.endpoint().address();
          found = true;
          break;
        }
      }
    }
    if (!found) {
      error = "--target '" + text + "': localhost does not resolve to a loopback address here; use 127.0.0.1";
      return false;
    }
  } else {
    error_code ec;
    addr = asio::ip::make_address(host, ec);
    if (ec || !IsLoopback(addr)) {
      error = refuse;
      return false;
    }
  }
  out.endpoint = tcp::endpoint(addr, static_cast<uint16_t>(port));
  out.host_header = (addr.is_v6() && host != "localhost" ? "[" + host + "]" : host) + ":" + port_text;
  return true;
}

// ---------------------------------------------------------------------------
// The daemons under test

// What to start: one node (no cluster file, `--http`, exactly as a lone
// dynastore runs) or a loopback cluster of `nodes` described by a
// cluster.json.
struct DeploymentSpec {
  int nodes = 1;
  int n = 1, r = 1, w = 1;
  int partitions = 64;
  bool sync = true;
  int server_threads = 0;

  std::string Label() const {
    if (nodes == 1) return "1 node N=1";
    return std::to_string(nodes) + " nodes N=" + std::to_string(n) + " R=" + std::to_string(r) +
           " W=" + std::to_string(w);
  }
};

// The daemons of one run and the temp dir holding their data dirs, logs and
// cluster.json. The destructor stops every daemon (SIGTERM to all at once,
// then waits) before the temp dir is removed.
class Deployment {
 public:
  Deployment() = default;
  Deployment(const Deployment&) = delete;
  Deployment& operator=(const Deployment&) = delete;
  ~Deployment() { StopAll(); }

  bool Start(const std::string& bin, const DeploymentSpec& spec, const fs::path& root, std::string& error) {
    spec_ = spec;
    if (!dir_.Create(root, "dynastore-bench", error)) return false;
    std::vector<uint16_t> ports;
    if (!PickFreePorts(spec.nodes == 1 ? 1 : 2 * spec.nodes, ports, error)) return false;
    fs::path cluster_file = dir_.path() / "cluster.json";
    if (spec.nodes > 1) {
      nlohmann::json nodes = nlohmann::json::array();
      for (int i = 0; i < spec.nodes; i++) {
        nodes.push_back({{"id", NodeId(i)},
                         {"http", "127.0.0.1:" + std::to_string(ports[2 * i])},
                         {"rpc", "127.0.0.1:" + std::to_string(ports[2 * i + 1])}});
      }
      nlohmann::json cluster = {
          {"n", spec.n}, {"r", spec.r}, {"w", spec.w}, {"partitions", spec.partitions}, {"nodes", nodes}};
      std::ofstream out(cluster_file);
      out << cluster.dump(2) << "\n";
      out.close();
      if (!out) {
        error = "cannot write " + cluster_file.string();
        return false;
      }
    }
    for (int i = 0; i < spec.nodes; i++) {
      fs::path data = dir_.path() / NodeId(i) / "data";
      std::error_code fec;
      fs::create_directories(data, fec);
      if (fec) {
        error = "cannot create " + data.string() + ": " + fec.message();
        return false;
      }
      Target target = LoopbackTarget(ports[spec.nodes == 1 ? 0 : 2 * i]);
      std::vector<std::string> args = {bin, "--id", NodeId(i)};
      if (spec.nodes == 1) {
        args.insert(args.end(), {"--http", target.host_header});
      } else {
        args.insert(args.end(), {"--cluster", cluster_file.string()});
      }
      args.insert(args.end(), {"--data", data.string()});
      if (!spec.sync) args.push_back("--no-sync");
      if (spec.server_threads > 0) args.insert(args.end(), {"--threads", std::to_string(spec.server_threads)});
      nodes_.push_back(std::make_unique<DaemonProcess>());
      if (!nodes_.back()->Start(args, dir_.path() / (NodeId(i) + ".log"), target, error)) {
        error = NodeId(i) + ": " + error;
        return false;
      }
    }
    return true;
  }

  // Every node answers GET /status with 200 and, in a cluster, every node
  // sees every other node up (its failure detector's view under "members").
  bool WaitReady(std::chrono::seconds timeout, std::string& error) {
    auto deadline = Clock::now() + timeout;
    for (size_t i = 0; i < nodes_.size(); i++) {
      auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now());
      if (!nodes_[i]->WaitReady(std::max(left, std::chrono::seconds(1)), error)) {
        error = NodeId(i) + ": " + error;
        return false;
      }
    }
    if (nodes_.size() == 1) return true;
    while (true) {
      std::string not_up;
      for (size_t i = 0; i < nodes_.size() && not_up.empty(); i++) {
        std::string body;
        if (HttpGet(nodes_[i]->target(), "/status", std::chrono::milliseconds(1000), &body) != 200) {
          not_up = NodeId(i) + " does not answer GET /status";
          continue;
        }
        auto status = nlohmann::json::parse(body, nullptr, false);
        for (size_t j = 0; j < nodes_.size() && not_up.empty(); j++) {
          if (!MemberUp(status, NodeId(j))) not_up = NodeId(i) + " does not see " + NodeId(j) + " up";
        }
      }
      if (not_up.empty()) return true;
      if (g_interrupted) {
        error = "interrupted";
        return false;
      }
      for (size_t i = 0; i < nodes_.size(); i++) {
        if (nodes_[i]->Exited()) {
          error = NodeId(i) + " exited during startup (" + nodes_[i]->ExitDescription() + ")";
          return false;
        }
      }
      if (Clock::now() >= deadline) {
        error = "cluster not formed within " + std::to_string(timeout.count()) + " s: " + not_up;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // SIGTERM to every node at once, then wait for (or kill) each.
  void StopAll() {
    for (auto& n : nodes_) n->Terminate();
    for (auto& n : nodes_) n->Stop();
  }

  bool AnyExited() {
    bool any = false;
    for (auto& n : nodes_) any = n->Exited() || any;
    return any;
  }

  std::vector<Target> targets() const {
    std::vector<Target> t;
    for (const auto& n : nodes_) t.push_back(n->target());
    return t;
  }
  std::vector<pid_t> pids() const {
    std::vector<pid_t> p;
    for (const auto& n : nodes_) p.push_back(n->pid());
    return p;
  }
  size_t size() const { return nodes_.size(); }
  DaemonProcess& node(size_t i) { return *nodes_[i]; }
  static std::string NodeId(size_t i) { return "n" + std::to_string(i + 1); }
  std::string command() const {
    std::string c;
    for (const auto& n : nodes_) c += (c.empty() ? "" : "\n    ") + n->command();
    return c;
  }

 private:
  DeploymentSpec spec_;
  TempDir dir_;  // declared before nodes_: destroyed after them
  std::vector<std::unique_ptr<DaemonProcess>> nodes_;
};

// One keep-alive connection running the closed loop: connect, then write a
// request, read the response, repeat. Any failure closes the socket, counts
// an error and reconnects after a backoff; nothing here throws.
class Connection : public LoopConnection<Connection> {
 public:
  using LoopConnection::LoopConnection;

 private:
  friend class LoopConnection<Connection>;

  void ResetReader() { buffer_.clear(); }

  void NextOp() {
    if (!BeginOp()) return;
    // Built into reused buffers: no allocation once they have grown.
    request_.assign(is_get_ ? "GET /kv/" : "PUT /kv/").append(KeyName(key_)).append(" HTTP/1.1\r\nHost: ");
    request_.append(target_.host_header).append("\r\n");
    if (!is_get_) {
      shared_.contexts.Get(key_, context_);
      blind_ = context_.empty();
      // The value is alphanumeric and contexts are base64url, so neither
      // needs JSON escaping; a context that would is escaped anyway.
      body_.assign("{\"value\":\"").append(shared_.value).append("\"");
      if (!blind_) {
        body_.append(",\"context\":");
        if (context_.find_first_of("\"\\") == std::string::npos &&
            std::none_of(context_.begin(), context_.end(),
                         [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
          body_.append("\"").append(context_).append("\"");
        } else {
          body_.append(nlohmann::json(context_).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        }
      }
      body_.append("}");
      request_.append("Content-Type: application/json\r\nContent-Length: ").append(std::to_string(body_.size()));
      request_.append("\r\n\r\n").append(body_);
    } else {
      request_.append("\r\n");
    }
    response_ = {};
    Sending();
    asio::async_write(socket_, asio::buffer(request_), [self = Self()](error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(error_code ec) {
    if (ec) return FailOp(ec);
    http::async_read(socket_, buffer_, response_, [self = Self()](error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(error_code ec) {
    if (ec) return FailOp(ec);
    const uint64_t ns = Replied();
    int status = response_.result_int();
    bool answered = (status >= 200 && status < 300) || status == 404;
    if (answered) {
      Reply reply = reply_parser_.Parse(response_.body());
      if (reply.context) shared_.contexts.Set(key_, *reply.context);
      if (measured_) {
        stats_.all.Record(ns);
        if (is_get_) {
          stats_.get.Record(ns);
          stats_.gets++;
          if (status == 404) {
            stats_.get_misses++;
          } else {
            int siblings = reply.values;
            if (siblings >= 0) {
              stats_.get_hits++;
              stats_.siblings_sum += siblings;
              stats_.siblings_max = std::max<uint64_t>(stats_.siblings_max, siblings);
            }
          }
        } else {
          stats_.put.Record(ns);
          stats_.puts++;
          if (blind_) stats_.blind_puts++;
        }
      }
      if (phase() == Phase::kMeasure) stats_.window_ops++;
    } else if (measured_) {
      stats_.http_errors++;
      stats_.error_statuses[status]++;
    } else {
      stats_.warmup_errors++;
    }

    if (!response_.keep_alive()) {
      Close();
      return Connect();
    }
    NextOp();
  }

  beast::flat_buffer buffer_;
  http::response<http::string_body> response_;
  ReplyParser reply_parser_;
  std::string request_, body_, context_;  // reused across ops
  bool blind_ = false;
};
struct RunResult : LoadResult {
  std::string label;
  std::string failure;      // non-empty: the run did not happen; why
  std::string daemon_exit;  // for started daemons; in a cluster one entry per node
  bool daemon_clean = true;
  std::optional<DeploymentSpec> spec;  // what the benchmark started; none for --target
  std::string server = "dynastore";    // or "redis-server" (--vs-redis)
  bool sync = false;                   // fsync per write (redis: appendfsync always)
  int round = 1;                       // which of --rounds
};

// Runs the HTTP load against `targets`, connection i talking to targets[i % size].
void RunLoad(const std::vector<Target>& targets, const std::vector<pid_t>& server_pids, const LoadOptions& o,
             RunResult& result) {
  RunClosedLoop<Connection>(targets, server_pids, o, result);
}

// ---------------------------------------------------------------------------
// Reporting

struct Machine {
  int nproc = 0;
  std::string cpu = "unknown";
  std::string kernel = "unknown";
};

Machine DescribeMachine() {
  Machine m;
  cpu_set_t set;
  CPU_ZERO(&set);
  m.nproc = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                        : static_cast<int>(std::thread::hardware_concurrency());
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) m.cpu = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  }
  struct utsname u;
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  return m;
}

// Whether fsync means anything depends on the filesystem: on tmpfs "sync on"
// costs nothing, so the report names it.
std::string FilesystemType(const fs::path& p) {
  struct statfs s;
  if (statfs(p.c_str(), &s) != 0) return "unknown";
  switch (static_cast<uint64_t>(s.f_type)) {
    case 0x01021994:
      return "tmpfs";
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x794C7630:
      return "overlayfs";
    case 0x2FC12FC1:
      return "zfs";
    case 0x6969:
      return "nfs";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "fs type 0x%llx", static_cast<unsigned long long>(s.f_type));
      return buf;
    }
  }
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

void PrintTable(const std::vector<RunResult>& rows) {
  int w = 10;
  for (const auto& r : rows) w = std::max(w, static_cast<int>(r.label.size()));
  std::printf("\n%-*s %10s %9s %9s %9s %9s %8s\n", w, "", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "errors");
  for (const auto& r : rows) {
    if (!r.failure.empty()) {
      std::printf("%-*s %s\n", w, r.label.c_str(), ("FAILED: " + r.failure).c_str());
      continue;
    }
    const Histogram& h = r.stats.all;
    std::printf("%-*s %10.0f %9.3f %9.3f %9.3f %9.3f %8llu\n", w, r.label.c_str(), r.ops_per_sec(),
                Ms(h.Percentile(50)), Ms(h.Percentile(99)), Ms(h.Percentile(99.9)), Ms(h.max()),
                static_cast<unsigned long long>(r.stats.errors()));
  }

  if (std::none_of(rows.begin(), rows.end(), [](const RunResult& r) { return r.failure.empty(); })) return;
  int w2 = std::max(w, 17);
  std::printf("\n%-*s  %9s %9s %9s %9s  %8s %8s %9s\n", w2, "by operation (ms)", "GET p50", "GET p99", "PUT p50",
              "PUT p99", "GETs", "PUTs", "siblings");
  for (const auto& r : rows) {
    if (!r.failure.empty()) continue;
    const Stats& s = r.stats;
    double mean_sib = s.get_hits ? static_cast<double>(s.siblings_sum) / s.get_hits : 0;
    std::printf("%-*s  %9.3f %9.3f %9.3f %9.3f  %8llu %8llu %4.2f/%-4llu\n", w2, r.label.c_str(),
                Ms(s.get.Percentile(50)), Ms(s.get.Percentile(99)), Ms(s.put.Percentile(50)), Ms(s.put.Percentile(99)),
                static_cast<unsigned long long>(s.gets), static_cast<unsigned long long>(s.puts), mean_sib,
                static_cast<unsigned long long>(s.siblings_max));
  }
  std::printf("  (siblings = mean/max values per GET that found the key)\n");

  for (const auto& r : rows) {
    if (!r.failure.empty()) continue;
    const Stats& s = r.stats;
    std::vector<std::string> lines = r.notes;
    lines.insert(lines.begin(), std::to_string(s.window_ops) + " ops in " + Fixed(r.window_seconds, 2) +
                                    " s; GET misses (404) " + std::to_string(s.get_misses) + "; blind PUTs " +
                                    std::to_string(s.blind_puts) + "/" + std::to_string(s.puts) +
                                    "; keys populated in " + Fixed(r.populate_seconds, 2) + " s");
    if (double client = r.CpuMicrosPerOp(r.window_cpu.client); client >= 0) {
      const double servers = r.CpuMicrosPerOp(r.window_cpu.servers);
      const double idle = r.IdleFraction();
      lines.push_back("CPU per op (user + sys over the window): client " + Fixed(client, 1) + " us, " +
                      (servers < 0 ? std::string("server unknown (not started here)")
                                   : (r.spec && r.spec->nodes > 1 ? "servers (all nodes) " : "server ") +
                                         Fixed(servers, 1) + " us") +
                      (idle < 0 ? std::string() : "; cores idle " + Fixed(idle * 100, 0) + "%"));
    }
    if (s.errors() > 0) {
      std::string e = "errors: " + std::to_string(s.conn_errors) + " connection, " + std::to_string(s.timeouts) +
                      " timeouts, " + std::to_string(s.http_errors) + " HTTP";
      for (auto [code, n] : s.error_statuses) e += " [" + std::to_string(code) + "]x" + std::to_string(n);
      lines.push_back(e);
    }
    std::printf("%s:\n", r.label.c_str());
    for (const auto& l : lines) std::printf("  %s\n", l.c_str());
  }
}

using ojson = nlohmann::ordered_json;

double Rounded(double v, int decimals) {
  double f = std::pow(10.0, decimals);
  return std::round(v * f) / f;
}

ojson LatencyJson(const Histogram& h) {
  return {{"count", h.count()},
          {"mean", Rounded(Ms(h.mean()), 4)},
          {"p50", Rounded(Ms(h.Percentile(50)), 4)},
          {"p99", Rounded(Ms(h.Percentile(99)), 4)},
          {"p999", Rounded(Ms(h.Percentile(99.9)), 4)},
          {"max", Rounded(Ms(h.max()), 4)}};
}

bool WriteJson(const std::string& path, const ojson& parameters, const Machine& m, const std::vector<RunResult>& rows,
               std::string& error) {
  ojson doc;
  doc["parameters"] = parameters;
  doc["machine"] = {{"nproc", m.nproc}, {"cpu", m.cpu}, {"kernel", m.kernel}};
  doc["latency_unit"] = "ms";
  ojson results = ojson::array();
  for (const RunResult& r : rows) {
    const Stats& s = r.stats;
    ojson row;
    row["mode"] = r.label;
    row["round"] = r.round;
    if (r.server != "dynastore") {
      row["server"] = r.server;
      row["sync"] = r.sync;
    }
    if (r.spec) {
      row["nodes"] = r.spec->nodes;
      row["n"] = r.spec->n;
      row["r"] = r.spec->r;
      row["w"] = r.spec->w;
      row["sync"] = r.spec->sync;
    }
    if (!r.failure.empty()) {
      row["failure"] = r.failure;
      results.push_back(std::move(row));
      continue;
    }
    row["ops_per_sec"] = Rounded(r.ops_per_sec(), 1);
    row["window_seconds"] = Rounded(r.window_seconds, 3);
    row["ops"] = s.window_ops;
    // Microseconds of CPU per op over the window; null where unknown.
    auto cpu = [&](double seconds) {
      const double us = r.CpuMicrosPerOp(seconds);
      return us < 0 ? ojson() : ojson(Rounded(us, 2));
    };
    row["client_cpu_us_per_op"] = cpu(r.window_cpu.client);
    row["server_cpu_us_per_op"] = cpu(r.window_cpu.servers);
    const double idle = r.IdleFraction();
    row["machine_idle_fraction"] = idle < 0 ? ojson() : ojson(Rounded(idle, 3));
    row["latency"] = LatencyJson(s.all);
    row["get_latency"] = LatencyJson(s.get);
    row["put_latency"] = LatencyJson(s.put);
    row["gets"] = s.gets;
    row["get_misses"] = s.get_misses;
    row["puts"] = s.puts;
    row["blind_puts"] = s.blind_puts;
    row["siblings_mean"] = Rounded(s.get_hits ? static_cast<double>(s.siblings_sum) / s.get_hits : 0, 3);
    row["siblings_max"] = s.siblings_max;
    ojson by_status = ojson::object();
    for (auto [code, n] : s.error_statuses) by_status[std::to_string(code)] = n;
    row["errors"] = {{"total", s.errors()},
                     {"connection", s.conn_errors},
                     {"timeout", s.timeouts},
                     {"http", s.http_errors},
                     {"by_status", by_status}};
    row["warmup_errors"] = s.warmup_errors;
    row["keys_populated"] = r.populated;
    row["populate_seconds"] = Rounded(r.populate_seconds, 3);
    if (!r.per_target.empty()) {
      ojson per_node = ojson::array();
      for (size_t i = 0; i < r.per_target.size(); i++) {
        const Stats& t = r.per_target[i];
        per_node.push_back({{"node", "n" + std::to_string(i + 1)},
                            {"ops", t.window_ops},
                            {"ops_per_sec", Rounded(r.window_seconds > 0 ? t.window_ops / r.window_seconds : 0, 1)},
                            {"latency", LatencyJson(t.all)},
                            {"get_latency", LatencyJson(t.get)},
                            {"put_latency", LatencyJson(t.put)},
                            {"errors", t.errors()}});
      }
      row["per_node"] = std::move(per_node);
    }
    if (!r.daemon_exit.empty()) row["daemon_exit"] = r.daemon_exit;
    row["notes"] = r.notes;
    results.push_back(std::move(row));
  }
  doc["results"] = std::move(results);
  std::ofstream file(path);
  file << doc.dump(2, ' ', false, ojson::error_handler_t::replace) << "\n";
  file.close();
  if (!file) {
    error = "cannot write --json " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------

struct Options {
  LoadOptions load;
  std::string sync = "both";  // "off" under --compare-cluster unless given
  std::string target;
  std::string dynastore = DYNASTORE_BIN;
  std::string data_root;
  int server_threads = 0;
  int startup_timeout = 15;
  std::string json;
  int nodes = 1;
  int n = 3, r = 2, w = 2;  // a cluster's; a lone node is always N=R=W=1
  int partitions = 64;
  bool compare_cluster = false;
  bool vs_redis = false;
  std::string redis_server = "redis-server";
  int rounds = 1;
};

// A cluster's nodes share this machine: each gets its share of the cores as
// request threads (a node's default is one per core, meant for a machine of
// its own), unless --server-threads says otherwise.
int ClusterNodeThreads(const Options& opt, int nodes) {
  if (opt.server_threads > 0) return opt.server_threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / nodes);
}

// The deployments one invocation measures, in table order.
std::vector<DeploymentSpec> Deployments(const Options& opt) {
  std::vector<DeploymentSpec> out;
  auto cluster = [&](int nodes) {
    DeploymentSpec s;
    s.nodes = nodes;
    s.n = opt.n;
    s.r = opt.r;
    s.w = opt.w;
    s.partitions = opt.partitions;
    s.server_threads = ClusterNodeThreads(opt, nodes);
    return s;
  };
  DeploymentSpec single;
  single.server_threads = opt.server_threads;
  if (opt.compare_cluster) {
    out.push_back(single);
    out.push_back(cluster(3));
  } else {
    out.push_back(opt.nodes == 1 ? single : cluster(opt.nodes));
  }
  return out;
}

// Starts the deployment, runs the load, stops it; fills `r`.
void RunDeployment(const Options& opt, const fs::path& data_root, const DeploymentSpec& spec, RunResult& r) {
  const LoadOptions& o = opt.load;
  r.spec = spec;
  std::fprintf(stderr, "[%s] starting %s...\n", r.label.c_str(),
               spec.nodes == 1 ? "dynastore" : (std::to_string(spec.nodes) + " dynastore nodes").c_str());
  Deployment dep;
  std::string error;
  auto print_logs = [&](size_t lines) {
    for (size_t i = 0; i < dep.size(); i++) {
      std::string tail = dep.node(i).LogTail(lines);
      if (!tail.empty())
        std::fprintf(stderr, "[%s] %s log (last lines):\n%s", r.label.c_str(), Deployment::NodeId(i).c_str(),
                     tail.c_str());
    }
  };
  if (!dep.Start(opt.dynastore, spec, data_root, error) ||
      !dep.WaitReady(std::chrono::seconds(opt.startup_timeout), error)) {
    r.failure = error;
    std::fprintf(stderr, "[%s] %s\n  command: %s\n", r.label.c_str(), error.c_str(), dep.command().c_str());
    print_logs(15);
    return;  // the destructor stops the daemons and removes their dir
  }
  std::fprintf(stderr, "[%s] ready:\n    %s\n[%s] running %.3g s warm-up + %.3g s load\n", r.label.c_str(),
               dep.command().c_str(), r.label.c_str(), o.warmup_seconds, o.seconds);
  RunLoad(dep.targets(), dep.pids(), o, r);
  bool died_during_run = dep.AnyExited();
  if (!died_during_run) {
    // Where the requests went (a check that the load was spread; the
    // replica traffic it caused is RPC, not visible here), and how well
    // each node's writes were batched (writes per LevelDB commit; with sync
    // each commit is one fsync).
    std::string served = "requests answered per node (/status requests.total):";
    std::string batched = "writes per commit per node (/status storage.writes / storage.commits):";
    for (size_t i = 0; i < dep.size(); i++) {
      std::string body;
      long long total = -1, writes = -1, commits = -1;
      if (HttpGet(dep.node(i).target(), "/status", std::chrono::milliseconds(2000), &body) == 200) {
        auto j = nlohmann::json::parse(body, nullptr, false);
        auto number = [&](const char* object, const char* field) {
          return j.is_object() && j.contains(object) && j[object].is_object() && j[object].contains(field) &&
                         j[object][field].is_number()
                     ? j[object][field].get<long long>()
                     : -1;
        };
        total = number("requests", "total");
        writes = number("storage", "writes");
        commits = number("storage", "commits");
      }
      const std::string node = " " + Deployment::NodeId(i) + " ";
      served += node + (total < 0 ? std::string("?") : std::to_string(total));
      batched += node + (writes < 0 || commits <= 0 ? std::string("?") : Fixed(double(writes) / commits, 2));
    }
    if (spec.nodes > 1) r.notes.push_back(served);
    r.notes.push_back(batched);
  }
  if (spec.nodes > 1 && !died_during_run) {
    // Per node, as the client saw it: a node that lags shows up here.
    for (size_t i = 0; i < r.per_target.size(); i++) {
      const Stats& s = r.per_target[i];
      r.notes.push_back("via " + Deployment::NodeId(i) + ": " + std::to_string(s.window_ops) + " ops (" +
                        Fixed(r.window_seconds > 0 ? s.window_ops / r.window_seconds : 0, 0) + "/s), GET p50/p99 " +
                        Fixed(Ms(s.get.Percentile(50)), 3) + "/" + Fixed(Ms(s.get.Percentile(99)), 3) +
                        " ms, PUT p50/p99 " + Fixed(Ms(s.put.Percentile(50)), 3) + "/" +
                        Fixed(Ms(s.put.Percentile(99)), 3) + " ms, errors " + std::to_string(s.errors()));
    }
  }
  dep.StopAll();
  r.daemon_clean = !died_during_run;
  for (size_t i = 0; i < dep.size(); i++) {
    DaemonProcess& d = dep.node(i);
    if (!d.StoppedCleanly()) r.daemon_clean = false;
    if (dep.size() > 1) r.daemon_exit += (r.daemon_exit.empty() ? "" : "; ") + Deployment::NodeId(i) + ": ";
    r.daemon_exit += d.ExitDescription();
  }
  if (died_during_run) {
    r.notes.push_back("dynastore exited during the run (" + r.daemon_exit + ")");
  } else if (!r.daemon_clean) {
    r.notes.push_back("dynastore did not stop cleanly: " + r.daemon_exit);
  }
  if (!r.daemon_clean || r.stats.errors() > 0) print_logs(15);
}

// Where the load goes: the running server at --target (which must answer
// GET /status), or daemons the benchmark starts from --dynastore with data
// under `data_root`. Prints why and returns false if neither is usable.
bool CheckServer(const Options& opt, Target& target, fs::path& data_root) {
  if (!opt.target.empty()) {
    std::string error;
    if (!ParseLoopbackTarget(opt.target, target, error)) {
      std::fprintf(stderr, "dynastore-bench: %s\n", error.c_str());
      return false;
    }
    if (HttpGet(target, "/status", std::chrono::milliseconds(2000)) != 200) {
      std::fprintf(stderr, "dynastore-bench: nothing answers GET /status with 200 at %s; is dynastore running?\n",
                   opt.target.c_str());
      return false;
    }
    return true;
  }
  if (access(opt.dynastore.c_str(), X_OK) != 0) {
    std::fprintf(stderr,
                 "dynastore-bench: no executable dynastore at %s (build it: ninja dynastore; or pass --dynastore "
                 "PATH, or --target HOST:PORT for a running server)\n",
                 opt.dynastore.c_str());
    return false;
  }
  std::error_code ec;
  data_root = opt.data_root.empty() ? fs::temp_directory_path(ec) : fs::path(opt.data_root);
  if (ec || !fs::is_directory(data_root)) {
    std::fprintf(stderr, "dynastore-bench: data root '%s' is not a directory (set --data-root)\n", data_root.c_str());
    return false;
  }
  return true;
}

// The header above the table: the load, the machine, the server(s).
void PrintSetup(const Options& opt, const Machine& machine, const Target& target, const fs::path& data_root,
                bool any_cluster) {
  const LoadOptions& o = opt.load;
  std::printf(
      "dynastore-bench: %d connections, %d client thread%s, %llu keys, %zu-byte values, %.0f%% GET, "
      "%.3g s measured after %.3g s warm-up, op timeout %d ms, seed %llu\n",
      o.connections, o.client_threads, o.client_threads == 1 ? "" : "s", static_cast<unsigned long long>(o.keys),
      o.value_bytes, o.read_fraction * 100, o.seconds, o.warmup_seconds, o.op_timeout_ms,
      static_cast<unsigned long long>(o.seed));
  std::printf("machine: nproc %d, %s, %s\n", machine.nproc, machine.cpu.c_str(), machine.kernel.c_str());
  if (opt.target.empty()) {
    std::printf("server: %s, started by the benchmark on 127.0.0.1, data under %s (%s)%s\n", opt.dynastore.c_str(),
                data_root.c_str(), FilesystemType(data_root).c_str(),
                opt.server_threads > 0 ? (", --threads " + std::to_string(opt.server_threads)).c_str() : "");
    if (any_cluster) {
      std::printf(
          "cluster: every node on this machine (loopback HTTP and RPC ports), %d partitions, store "
          "defaults for timing (anti-entropy, heartbeats, handoff run during the load);\n         "
          "connection i talks to node i mod nodes; a write reaching a non-owner is forwarded to an "
          "owner;\n         each node runs --threads %d (%s)\n",
          opt.partitions, ClusterNodeThreads(opt, opt.compare_cluster ? 3 : opt.nodes),
          opt.server_threads > 0 ? "--server-threads" : "the machine's cores shared between the nodes");
    }
  } else {
    std::printf("server: already running at %s\n", target.host_header.c_str());
  }
  std::printf(
      "writes: a PUT carries the last context seen for its key (GET or PUT reply), like a read-modify-write "
      "client;\n        a key with none yet gets a blind PUT (no context); the warm-up writes every key once "
      "blind\n");
  std::fflush(stdout);
}

// Starts redis-server at the durability matching dynastore's `sync`, runs
// the same load over RESP, stops it; fills `r`.
void RunRedis(const Options& opt, const fs::path& data_root, bool sync, RunResult& r) {
#ifdef DYNASTORE_BENCH_REDIS
  std::string bin = FindOnPath(opt.redis_server);
  if (bin.empty()) {
    r.failure = "no executable " + opt.redis_server + " on PATH (apt-get install redis-server, or --redis-server PATH)";
    return;
  }
  std::fprintf(stderr, "[%s] starting %s...\n", r.label.c_str(), bin.c_str());
  RedisServer redis;
  std::string error;
  if (!redis.Start(bin, sync, data_root, std::chrono::seconds(opt.startup_timeout), error)) {
    r.failure = error;
    std::fprintf(stderr, "[%s] %s\n  command: %s\n%s", r.label.c_str(), error.c_str(),
                 redis.process().command().c_str(), redis.process().LogTail(15).c_str());
    return;
  }
  std::fprintf(stderr, "[%s] ready:\n    %s\n", r.label.c_str(), redis.process().command().c_str());
  RunClosedLoop<RedisConnection>({redis.target()}, {redis.process().pid()}, opt.load, r);
  bool died = redis.process().Exited();
  redis.process().Stop();
  r.daemon_exit = redis.process().ExitDescription();
  r.daemon_clean = !died && redis.process().StoppedCleanly();
  if (!r.daemon_clean) r.notes.push_back("redis-server did not run or stop cleanly: " + r.daemon_exit);
#else
  (void)opt, (void)data_root, (void)sync;
  r.failure = "this dynastore-bench was built without hiredis (libhiredis-dev): --vs-redis is unavailable";
#endif
}

// Every configuration measured, in table order.
std::vector<RunResult> RunAll(const Options& opt, const Target& target, const fs::path& data_root,
                              const std::vector<DeploymentSpec>& deployments) {
  std::vector<RunResult> rows;
  if (!opt.target.empty()) {
    RunResult r;
    r.label = "target";
    RunLoad({target}, {}, opt.load, r);
    rows.push_back(std::move(r));
    return rows;
  }
  std::vector<bool> modes;
  if (opt.sync != "off") modes.push_back(true);
  if (opt.sync != "on") modes.push_back(false);
  // Rounds outermost, so every configuration of a round meets the same
  // machine; sync mode next: the configurations compared sit side by side.
  for (int round = 1; round <= opt.rounds; round++) {
    const std::string suffix = opt.rounds > 1 ? " #" + std::to_string(round) : std::string();
    auto add = [&](RunResult r, bool sync, const std::function<void(RunResult&)>& run) {
      r.label += suffix;
      r.sync = sync;
      r.round = round;
      if (g_interrupted) {
        r.failure = "interrupted";
      } else {
        run(r);
      }
      rows.push_back(std::move(r));
    };
    for (bool sync : modes) {
      for (DeploymentSpec spec : deployments) {
        spec.sync = sync;
        RunResult r;
        // A lone node without --compare-cluster keeps its historical labels.
        r.label = (opt.compare_cluster || spec.nodes > 1 ? spec.Label() + ", " : std::string()) +
                  (sync ? "sync on" : "sync off");
        add(std::move(r), sync, [&](RunResult& r) { RunDeployment(opt, data_root, spec, r); });
      }
      if (opt.vs_redis) {
        RunResult r;
        r.label = sync ? "redis fsync always" : "redis no AOF";
        r.server = "redis-server";
        add(std::move(r), sync, [&](RunResult& r) { RunRedis(opt, data_root, sync, r); });
      }
    }
  }
  return rows;
}

// Throughput ratios of pairs of rows measured in the same round at the same
// durability (`top` over `bottom`), one line per pair, then the median over
// rounds: the goals of issue 19 are ratios of at least 0.5.
void PrintRatios(const std::vector<RunResult>& rows, const std::string& title,
                 const std::function<bool(const RunResult&)>& top,
                 const std::function<bool(const RunResult&)>& bottom) {
  std::map<bool, std::vector<double>> by_sync;  // sync -> the rounds' ratios
  for (const RunResult& b : rows) {
    if (!bottom(b) || !b.failure.empty() || b.ops_per_sec() <= 0) continue;
    for (const RunResult& t : rows) {
      if (!top(t) || t.round != b.round || t.sync != b.sync || !t.failure.empty()) continue;
      if (by_sync.empty()) std::printf("\n%s:\n", title.c_str());
      const double ratio = t.ops_per_sec() / b.ops_per_sec();
      by_sync[b.sync].push_back(ratio);
      std::printf("  %-44s ops/s %.2fx (%.0f vs %.0f); p99 %.3f vs %.3f ms; p99.9 %.3f vs %.3f ms\n",
                  (t.label + " / " + b.label).c_str(), ratio, t.ops_per_sec(), b.ops_per_sec(),
                  Ms(t.stats.all.Percentile(99)), Ms(b.stats.all.Percentile(99)), Ms(t.stats.all.Percentile(99.9)),
                  Ms(b.stats.all.Percentile(99.9)));
    }
  }
  for (auto& [sync, ratios] : by_sync) {
    if (ratios.size() < 2) continue;
    std::sort(ratios.begin(), ratios.end());
    const size_t n = ratios.size();
    const double median = n % 2 ? ratios[n / 2] : (ratios[n / 2 - 1] + ratios[n / 2]) / 2;
    std::printf("  sync %-3s median of %zu rounds: %.2fx (range %.2f-%.2fx)\n", sync ? "on" : "off", n, median,
                ratios.front(), ratios.back());
  }
}

// The "parameters" of the JSON results.
ojson Parameters(const Options& opt, const Target& target, const fs::path& data_root, bool any_cluster) {
  const LoadOptions& o = opt.load;
  ojson p;
  p["connections"] = o.connections;
  p["client_threads"] = o.client_threads;
  p["keys"] = o.keys;
  p["value_bytes"] = o.value_bytes;
  p["read_fraction"] = o.read_fraction;
  p["seconds"] = o.seconds;
  p["warmup_seconds"] = o.warmup_seconds;
  p["op_timeout_ms"] = o.op_timeout_ms;
  p["seed"] = o.seed;
  if (opt.target.empty()) {
    p["dynastore"] = opt.dynastore;
    p["sync"] = opt.sync;
    p["data_root"] = data_root.string();
    p["data_fs"] = FilesystemType(data_root);
    p["server_threads"] = opt.server_threads;
    p["nodes"] = opt.compare_cluster ? 0 : opt.nodes;
    p["compare_cluster"] = opt.compare_cluster;
    if (opt.vs_redis) {
      p["vs_redis"] = true;
      p["redis_durability"] = {{"sync on", "appendonly yes, appendfsync always"}, {"sync off", "no AOF, no RDB"}};
    }
    if (any_cluster) {
      p["cluster"] = {{"n", opt.n}, {"r", opt.r}, {"w", opt.w}, {"partitions", opt.partitions}};
      p["connection_spread"] = "round-robin: connection i talks to node i mod nodes";
    }
  } else {
    p["target"] = target.host_header;
  }
  p["writes"] = "PUT with the last context seen for the key; blind PUT (no context) when none";
  return p;
}

int Run(const Options& opt) {
  Machine machine = DescribeMachine();
  Target target;
  fs::path data_root;
  if (!CheckServer(opt, target, data_root)) return 2;
  const std::vector<DeploymentSpec> deployments = Deployments(opt);
  const bool any_cluster =
      std::any_of(deployments.begin(), deployments.end(), [](const DeploymentSpec& d) { return d.nodes > 1; });
  PrintSetup(opt, machine, target, data_root, any_cluster);
  const std::vector<RunResult> rows = RunAll(opt, target, data_root, deployments);
  PrintTable(rows);
  if (opt.vs_redis) {
    PrintRatios(
        rows, "dynastore vs redis-server at equal durability",
        [](const RunResult& r) { return r.server == "dynastore"; },
        [](const RunResult& r) { return r.server == "redis-server"; });
  }
  if (opt.compare_cluster) {
    PrintRatios(
        rows, "cluster vs one node", [](const RunResult& r) { return r.spec && r.spec->nodes > 1; },
        [](const RunResult& r) { return r.spec && r.spec->nodes == 1; });
  }

  if (!opt.json.empty()) {
    std::string error;
    if (!WriteJson(opt.json, Parameters(opt, target, data_root, any_cluster), machine, rows, error)) {
      std::fprintf(stderr, "dynastore-bench: %s\n", error.c_str());
      return 1;
    }
    std::printf("\nwrote %s\n", opt.json.c_str());
  }

  if (g_interrupted) return 130;
  for (const auto& r : rows) {
    if (!r.failure.empty() || !r.daemon_clean) return 1;
  }
  return 0;
}

// The flags of the load itself (LoadOptions), whatever the server.
void AddLoadFlags(CLI::App& app, LoadOptions& o) {
  app.add_option("--connections,-c", o.connections,
                 "Concurrent keep-alive connections, one request in flight each (spread round-robin over a "
                 "cluster's nodes)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--client-threads", o.client_threads, "Threads running the client's io_context")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--keys", o.keys, "Number of distinct keys (chosen uniformly)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}))
      ->capture_default_str();
  app.add_option("--value-bytes", o.value_bytes, "Size of each PUT value")
      ->check(CLI::Range(size_t{0}, size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--read-fraction", o.read_fraction, "Fraction of ops that are GETs (the rest are PUTs)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--seconds", o.seconds, "Length of the measured window")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--warmup-seconds", o.warmup_seconds,
                 "Warm-up before measuring; it also writes every key once so GETs hit (and lasts until that is done, "
                 "at most 30 s longer)")
      ->check(CLI::Range(0.0, 600.0))
      ->capture_default_str();
  app.add_option("--op-timeout-ms", o.op_timeout_ms, "Deadline of one request; a miss counts as a timeout error")
      ->check(CLI::Range(1, 600'000))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of the key/op choices and the value bytes")->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{
      "dynastore-bench: closed-loop GET/PUT load on dynastore over keep-alive HTTP/1.1; prints ops/s and latency "
      "percentiles.\nBy default starts dynastore twice (sync on, sync off) on 127.0.0.1 with fresh temp data dirs "
      "and compares them;\n--nodes 3 starts a loopback cluster instead, --compare-cluster compares 1 node with 3.\n"
      "Only loopback servers are ever benchmarked."};
  AddLoadFlags(app, opt.load);
  auto* target = app.add_option("--target", opt.target,
                                "Benchmark an already running server at HOST:PORT instead of starting dynastore "
                                "(loopback only: 127.0.0.0/8, [::1] or localhost)");
  auto* sync = app.add_option("--sync", opt.sync,
                              "Which started daemons to measure: on (fsync per write), off "
                              "(--no-sync) or both, side by side [default: both; off with "
                              "--compare-cluster]")
                   ->check(CLI::IsMember({"on", "off", "both"}));
  auto* bin =
      app.add_option("--dynastore", opt.dynastore, "Path of the dynastore binary to start")->capture_default_str();
  auto* root = app.add_option("--data-root", opt.data_root,
                              "Directory for the daemons' temp data dirs (default: the system temp dir); its "
                              "filesystem decides what fsync costs");
  auto* threads =
      app.add_option("--server-threads", opt.server_threads,
                     "Pass --threads N to every started dynastore (0: a lone node's default, one per core; a "
                     "cluster's nodes share the machine's cores)")
          ->check(CLI::Range(0, 1024))
          ->capture_default_str();
  auto* startup = app.add_option("--startup-timeout", opt.startup_timeout,
                                 "Seconds the started dynastore(s) have to answer GET /status (and, in a cluster, "
                                 "to see each other up)")
                      ->check(CLI::Range(1, 600))
                      ->capture_default_str();
  auto* nodes = app.add_option("--nodes", opt.nodes,
                               "Start a loopback cluster of this many nodes (1: a lone node without a cluster file)")
                    ->check(CLI::Range(1, 16))
                    ->capture_default_str();
  auto* n = app.add_option("--n", opt.n, "Replicas per key in a cluster (cluster.json n); a lone node is N=1")
                ->check(CLI::Range(1, 16))
                ->capture_default_str();
  auto* r = app.add_option("--r", opt.r, "Read quorum in a cluster (cluster.json r)")
                ->check(CLI::Range(1, 16))
                ->capture_default_str();
  auto* w = app.add_option("--w", opt.w, "Write quorum in a cluster (cluster.json w)")
                ->check(CLI::Range(1, 16))
                ->capture_default_str();
  auto* partitions = app.add_option("--partitions", opt.partitions, "Ring partitions in a cluster (cluster.json)")
                         ->check(CLI::Range(1, 1 << 16))
                         ->capture_default_str();
  auto* compare = app.add_flag("--compare-cluster", opt.compare_cluster,
                               "Run 1 node (N=1) and a 3-node cluster (--n/--r/--w, default N=3 R=2 W=2) in one "
                               "invocation and print them side by side (sync off unless --sync says otherwise)");
  for (auto* only_started : {sync, bin, root, threads, startup, nodes, n, r, w, partitions, compare}) {
    target->excludes(only_started);
  }
  compare->excludes(nodes);
  auto* vs_redis = app.add_flag("--vs-redis", opt.vs_redis,
                                "Also start redis-server on 127.0.0.1 (private temp dir) and run the same load on it "
                                "over RESP (hiredis), at equal durability: appendfsync always next to sync on, no "
                                "AOF next to sync off; prints both rows and the ratio");
  auto* redis_bin = app.add_option("--redis-server", opt.redis_server, "The redis-server binary for --vs-redis")
                        ->capture_default_str();
  target->excludes(vs_redis);
  target->excludes(redis_bin);
  vs_redis->excludes(compare);
  vs_redis->excludes(nodes);
  auto* rounds = app.add_option("--rounds", opt.rounds,
                                "Measure every configuration this many times, interleaved (all of round 1, then "
                                "round 2, ...), and print each round's ratios and their median: on a noisy machine "
                                "one round's ratio can be off by a third")
                     ->check(CLI::Range(1, 20))
                     ->capture_default_str();
  target->excludes(rounds);
  app.add_option("--json", opt.json, "Also write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  if (opt.compare_cluster && sync->count() == 0) opt.sync = "off";
  int cluster_nodes = opt.compare_cluster ? 3 : opt.nodes;
  bool quorum_given = n->count() + r->count() + w->count() + partitions->count() > 0;
  std::string bad;
  if (opt.target.empty() && cluster_nodes == 1 && quorum_given) {
    bad = "--n/--r/--w/--partitions describe a cluster: add --nodes 3 (or --compare-cluster); a lone node is N=R=W=1";
  } else if (cluster_nodes > 1 && opt.n > cluster_nodes) {
    bad = "--n " + std::to_string(opt.n) + " is more than the " + std::to_string(cluster_nodes) + " nodes";
  } else if (cluster_nodes > 1 && (opt.r > opt.n || opt.w > opt.n)) {
    bad = "--r and --w must be between 1 and --n (" + std::to_string(opt.n) + ")";
  } else if (cluster_nodes > 1 && opt.partitions < cluster_nodes) {
    bad = "--partitions must be at least the number of nodes (" + std::to_string(cluster_nodes) + ")";
  }
  if (!bad.empty()) {
    std::fprintf(stderr, "dynastore-bench: %s\n", bad.c_str());
    return 2;
  }

  InstallSignalHandlers();
  try {
    return Run(opt);
  } catch (const std::exception& e) {
    // Caught so that destructors run: they stop the daemons and remove their dirs.
    std::fprintf(stderr, "dynastore-bench: %s\n", e.what());
    return 2;
  }
}
