// dynastore: the daemon for one node of the reference Dynamo store.
// Flags and the HTTP API it serves: doc/http_api.md.
//
// main() is three steps: parse flags into a DaemonConfig (exit 2 on a bad
// one), open storage and start serving (exit 2 if that fails), then wait for
// SIGTERM/SIGINT on the main thread, which also runs the tombstone reaper,
// and shut down cleanly (exit 0).
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "store/causal_context.h"
#include "store/cluster_config.h"
#include "store/http_api.h"
#include "store/node.h"
#include "store/storage.h"

namespace {

using namespace dynastore;
namespace asio = boost::asio;

constexpr int kExitOk = 0;
constexpr int kExitStartupFailure = 2;

struct DaemonConfig {
  std::string id;
  std::string http;  // IP:PORT as given
  std::string host;  // the HTTP bind address, from --http or the cluster file
  std::string cluster_file;
  std::string data;
  ClusterConfig cluster;  // from --cluster, or a single node at --http
  int rpc_threads = 1;
  int max_commit_delay_us = 2000;
  bool lww = false, naive_vclocks = false, no_read_repair = false, no_hinted_handoff = false, no_anti_entropy = false,
       unsafe_ack_early = false;
  bool sync = true;
  int threads = 0;  // 0: chosen from sync, see --threads
  uint64_t max_body_bytes = 1 << 20;
  int idle_timeout_s = 60;
  size_t max_causal_nodes = 64;
  size_t max_siblings = 1024;
  int64_t tombstone_grace_s = 86400;
};

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One line on stderr: UTC time, node, message.
void Log(const std::string& node, std::string_view message) {
  const int64_t ms = WallClockMs();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03dZ dynastore[%s] %.*s\n", stamp, static_cast<int>(ms % 1000), node.c_str(),
               static_cast<int>(message.size()), message.data());
}

// The HTTP server binds numeric addresses only. Returns an error message
// naming `flag`, or "" if `endpoint` is usable.
std::string CheckHttpAddress(const std::string& flag, const Endpoint& endpoint) {
  boost::system::error_code ec;
  asio::ip::make_address(endpoint.host, ec);
  if (ec) {
    return flag + ": '" + endpoint.host + "' is not a numeric IP address (use 127.0.0.1, 0.0.0.0 or [::1], not a name)";
  }
  return "";
}

// Declares every flag, each filling its part of `config` (--no-sync: `no_sync`).
void AddFlags(CLI::App& app, DaemonConfig& config, bool& no_sync) {
  app.add_option("--id", config.id,
                 "Node id: the actor in every version this node writes. Must be unique in the cluster and "
                 "stable across restarts (at most 255 bytes). Required.")
      ->required();
  app.add_option("--http", config.http,
                 "Address for the HTTP API, IP:PORT (IPv6 as [::1]:PORT; port 0 picks a free port, printed at "
                 "startup). Required without --cluster; with it, the node's http address in the file is used.");
  app.add_option("--cluster", config.cluster_file,
                 "Cluster file (JSON: n, r, w, partitions, nodes with id/http/rpc addresses; doc/replication.md). "
                 "Without it the node runs alone with N=R=W=1.");
  app.add_option("--rpc-threads", config.rpc_threads,
                 "Background threads: heartbeats, hinted handoff, anti-entropy, accepting RPC connections (the "
                 "request threads of --threads serve the RPC connections themselves).")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  // Fault switches: each breaks one guarantee, for validating test harnesses.
  auto* faults = app.add_option_group("Fault switches",
                                      "Each breaks exactly one guarantee, on purpose, so a test harness can prove "
                                      "it catches the failure (doc/replication.md). Never use them in production.");
  faults->add_flag("--lww", config.lww,
                   "Last write wins by wall clock instead of siblings: concurrent writes are silently dropped "
                   "(clock skew makes it worse).");
  faults->add_flag("--naive-vclocks", config.naive_vclocks,
                   "Per-server vector clocks bumped at the coordinator instead of dots: one of two concurrent "
                   "writes through the same node is silently dropped.");
  faults->add_flag("--no-read-repair", config.no_read_repair, "Reads never repair stale replicas.");
  faults->add_flag("--no-hinted-handoff", config.no_hinted_handoff,
                   "Writes go only to the key's owners (W counts only owners); no hints.");
  faults->add_flag("--no-anti-entropy", config.no_anti_entropy, "No Merkle-tree replica synchronization.");
  faults->add_flag("--unsafe-ack-early", config.unsafe_ack_early,
                   "Acknowledge a put before any replica has written it: a crash loses acknowledged writes.");
  app.add_option("--data", config.data, "LevelDB data directory; created if missing. Required.")->required();
  app.add_flag("--no-sync", no_sync,
               "Acknowledge writes before they are fsynced. Faster, but acknowledged writes may be lost on a "
               "crash. Default: off (every write is fsynced before the reply).");
  app.add_option("--threads", config.threads,
                 "Request threads: each serves its share of the HTTP connections and of the other nodes' RPC "
                 "connections, and sends the replica calls of the requests it coordinates. Default: with sync, one "
                 "per CPU core, at least 2 (no request thread waits for a disk: writes are committed in groups, "
                 "one fsync each, by the storage's own commit thread); with --no-sync, one less than the cores, at "
                 "least 1 (the threads then write to LevelDB themselves and contend for it, and the kernel's "
                 "network work and often the clients need a core too). Measured by dynastore-bench on 2 cores: "
                 "two threads served 7% more than one with sync, one served 17% more than two with --no-sync. "
                 "Several nodes on one machine: give each its share of the cores.")
      ->check(CLI::Range(1, 1024));
  app.add_option("--max-commit-delay-us", config.max_commit_delay_us,
                 "Group commit (sync on): a batch of two or more writes waits half the recent fsync time, at most "
                 "this many microseconds, so that more writes share one fsync; a lone writer never waits. 0: off.")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  app.add_option("--max-body-bytes", config.max_body_bytes,
                 "Largest request body accepted; larger bodies get 413 body_too_large.")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 30))
      ->capture_default_str();
  app.add_option("--idle-timeout-s", config.idle_timeout_s,
                 "Seconds a connection may sit idle, or take to send one request, before it is closed.")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--max-causal-nodes", config.max_causal_nodes,
                 "Most node entries kept in a version's causal past; beyond it the oldest are pruned "
                 "(doc/causality.md).")
      ->check(CLI::Range(size_t{1}, CausalContext::kMaxEntries))
      ->capture_default_str();
  app.add_option("--max-siblings", config.max_siblings,
                 "Most concurrent versions (siblings) a key may hold: a write that would leave more is refused "
                 "with 409 too_many_siblings until a write with the context of a GET replaces them.")
      ->check(CLI::Range(size_t{1}, size_t{4096}))
      ->capture_default_str();
  app.add_option("--tombstone-grace-s", config.tombstone_grace_s,
                 "Seconds a delete's tombstone is kept before it may be reaped; the reaper runs every "
                 "min(grace/10, 60) seconds.")
      ->check(CLI::Range(int64_t{0}, int64_t{10} * 365 * 86400))
      ->capture_default_str();
  app.set_version_flag("--version", std::string(kDynastoreVersion));
}

// Checks what the flags say together and fills what follows from them (the
// cluster, the HTTP bind address). Returns the error message, "" if none.
std::string CheckFlags(DaemonConfig& config) {
  std::string error;
  if (config.id.empty() || config.id.size() > CausalContext::kMaxNodeIdLength) {
    error = "--id: must be 1 to " + std::to_string(CausalContext::kMaxNodeIdLength) + " bytes";
  } else if (config.data.empty()) {
    error = "--data: must name a directory";
  } else if (config.lww && config.naive_vclocks) {
    error = "--lww and --naive-vclocks: choose one causality mode";
  } else if (!config.cluster_file.empty()) {
    if (Status s = ClusterConfig::Load(config.cluster_file, config.cluster); !s.ok()) {
      error = "--cluster: " + s.message();
    } else if (config.cluster.IndexOf(config.id) < 0) {
      error = "--id: '" + config.id + "' is not a node in " + config.cluster_file;
    } else if (!config.http.empty()) {
      error = "--http: give the address in the cluster file, not both";
    } else {
      const Endpoint& http = config.cluster.nodes[config.cluster.IndexOf(config.id)].http;
      error = CheckHttpAddress("--cluster: node " + config.id + " http", http);
      config.host = http.host;
    }
  } else if (config.http.empty()) {
    error = "--http: required without --cluster";
  } else {
    Endpoint http;
    if (Status s = ParseEndpoint(config.http, http); !s.ok()) {
      error = "--http: expected IP:PORT such as 127.0.0.1:8101 or [::1]:8101: " + s.message();
    } else if (error = CheckHttpAddress("--http", http); error.empty()) {
      config.host = http.host;
      config.cluster = SingleNodeCluster(config.id, http);
    }
  }
  return error;
}

// Fills `config` from the command line. Returns an exit code if the process
// should exit now (help, version, or a bad flag), nullopt to go on.
std::optional<int> ParseFlags(int argc, char** argv, DaemonConfig& config) {
  CLI::App app{"dynastore: one node of faultline's reference Dynamo store. API and flags: doc/http_api.md.",
               "dynastore"};
  bool no_sync = false;
  AddFlags(app, config, no_sync);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "dynastore: %s (see dynastore --help)\n", e.what());
    return kExitStartupFailure;
  }

  if (const std::string error = CheckFlags(config); !error.empty()) {
    std::fprintf(stderr, "dynastore: %s (see dynastore --help)\n", error.c_str());
    return kExitStartupFailure;
  }
  config.sync = !no_sync;
  if (config.threads == 0) {
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    config.threads = config.sync ? std::max(2, cores) : std::max(1, cores - 1);  // see --threads
  }
  return std::nullopt;
}

// Thousands of idle client connections must not starve the server of
// descriptors: take everything the hard limit allows.
rlim_t RaiseFileLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
  }
  return lim.rlim_cur;
}

// Reaps tombstones older than the grace period, then re-arms itself.
class TombstoneReaper {
 public:
  TombstoneReaper(asio::io_context& ioc, Storage& storage, const DaemonConfig& config)
      : timer_(ioc), storage_(storage), config_(config) {
    const int64_t period_s = std::clamp<int64_t>(config.tombstone_grace_s / 10, 1, 60);
    period_ = std::chrono::seconds(period_s);
  }
  void Start() { Arm(); }
  void Cancel() { timer_.cancel(); }

 private:
  void Arm() {
    timer_.expires_after(period_);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      size_t reaped = 0;
      const Status s = storage_.ReapTombstones(WallClockMs() - config_.tombstone_grace_s * 1000, reaped);
      if (!s.ok()) {
        Log(config_.id, "tombstone reaping failed: " + s.message());
      } else if (reaped > 0) {
        Log(config_.id, "reaped " + std::to_string(reaped) + " deleted key(s)");
      }
      Arm();
    });
  }

  asio::steady_timer timer_;
  Storage& storage_;
  const DaemonConfig& config_;
  std::chrono::seconds period_;
};

int Run(const DaemonConfig& config) {
  // Install the handlers first, so a SIGTERM during startup still ends in a
  // clean shutdown rather than the default action.
  asio::io_context ioc(1);
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  std::signal(SIGPIPE, SIG_IGN);
  const rlim_t fd_limit = RaiseFileLimit();

  NodeOptions options;
  options.id = config.id;
  options.cluster = config.cluster;
  options.data_dir = config.data;
  options.sync = config.sync;
  options.http_threads = config.threads;
  options.rpc_threads = config.rpc_threads;
  options.max_commit_delay = std::chrono::microseconds(config.max_commit_delay_us);
  options.max_body_bytes = config.max_body_bytes;
  options.idle_timeout = std::chrono::seconds(config.idle_timeout_s);
  options.max_causal_nodes = config.max_causal_nodes;
  options.max_siblings = config.max_siblings;
  options.causality = config.lww ? Causality::kLww : config.naive_vclocks ? Causality::kNaiveVclocks : Causality::kDvv;
  options.read_repair = !config.no_read_repair;
  options.hinted_handoff = !config.no_hinted_handoff;
  options.anti_entropy = !config.no_anti_entropy;
  options.unsafe_ack_early = config.unsafe_ack_early;
  options.log = [&config](std::string_view line) { Log(config.id, line); };
  std::unique_ptr<Node> node;
  if (Status s = Node::Start(options, node); !s.ok()) {
    Log(config.id, "cannot start: " + s.message());
    return kExitStartupFailure;
  }

  const std::string shown_host = config.host.find(':') != std::string::npos ? "[" + config.host + "]" : config.host;
  const ClusterConfig& c = config.cluster;
  Log(config.id, "dynastore " + std::string(kDynastoreVersion) + " node " + config.id + " listening on http://" +
                     shown_host + ":" + std::to_string(node->http_port()) + " data=" + config.data +
                     " sync=" + (config.sync ? "on" : "off") + " threads=" + std::to_string(config.threads) +
                     " max_open_files=" + std::to_string(fd_limit));
  if (c.nodes.size() > 1) {
    Log(config.id, "cluster of " + std::to_string(c.nodes.size()) + " nodes, N=" + std::to_string(c.n) +
                       " R=" + std::to_string(c.r) + " W=" + std::to_string(c.w) + " partitions=" +
                       std::to_string(c.partitions) + ", rpc on " + c.nodes[c.IndexOf(config.id)].rpc.ToString());
  }
  if (!config.sync) {
    Log(config.id,
        "WARNING: --no-sync: writes are acknowledged before they reach the disk; acknowledged writes may be "
        "lost on crash");
  }
  for (const std::string& fault : Node::FaultNames(options)) {
    Log(config.id, "WARNING: FAULT SWITCH --" + fault +
                       " is on: this node deliberately breaks a guarantee (for validating test harnesses only)");
  }

  TombstoneReaper reaper(ioc, node->storage(), config);
  reaper.Start();
  signals.async_wait([&](boost::system::error_code ec, int signo) {
    if (ec) return;
    Log(config.id, std::string("received ") + (signo == SIGTERM ? "SIGTERM" : "SIGINT") + "; shutting down");
    reaper.Cancel();
    node->Stop();  // finishes in-flight requests, bounded by a deadline, then closes storage
    ioc.stop();
  });
  ioc.run();
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  DaemonConfig config;
  if (std::optional<int> exit_code = ParseFlags(argc, argv, config)) return *exit_code;
  const int exit_code = Run(config);
  if (exit_code == kExitOk) Log(config.id, "stopped cleanly");
  return exit_code;
}
