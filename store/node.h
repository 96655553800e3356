// Node: one running dynastore node, everything wired together: storage and
// its digest index, ring, internal RPC server and peers, failure detector,
// coordinator, anti-entropy, hinted handoff, and the HTTP API. The daemon
// (main.cc) and multi-node tests create Nodes; nothing else does.
//
// Threads: the request threads (EventLoops, http_threads of them) serve the
// HTTP connections, the RPC server's connections and the calls a coordinator
// makes; one io_context, run by rpc_threads threads, serves background work
// (heartbeats, hinted handoff, anti-entropy) and accepts RPC connections.
// Start() and Stop() from one thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/cluster_config.h"
#include "store/status.h"
#include "store/version_set.h"

namespace dynastore {

class AntiEntropy;
class ContextKey;
class Coordinator;
class DigestIndex;
class EventLoops;
class FailureDetector;
class HintedHandoff;
class HttpApi;
class HttpServer;
class NodeStats;
class Peers;
class ReplicaService;
class Ring;
class RpcServer;
class Storage;

struct NodeOptions {
  std::string id;
  ClusterConfig cluster;  // SingleNodeCluster() for a lone node
  std::string data_dir;
  bool sync = true;
  std::chrono::microseconds max_commit_delay{2000};  // StorageOptions
  int http_threads = 4;                              // request threads
  int rpc_threads = 1;                               // background threads
  size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  size_t max_causal_nodes = 64;
  size_t max_siblings = 1024;

  // Fault switches (doc/replication.md); all off by default.
  Causality causality = Causality::kDvv;
  bool read_repair = true;
  bool hinted_handoff = true;
  bool anti_entropy = true;
  bool unsafe_ack_early = false;

  std::function<void(std::string_view)> log;  // default: stderr
};

class Node {
 public:
  // Opens storage, binds both ports and starts serving; errors name what
  // failed (data dir, address in use, ...).
  static Status Start(NodeOptions options, std::unique_ptr<Node>& out);
  ~Node();  // Stop()
  // Graceful: stop taking requests, finish those in flight, stop background
  // work, close storage. Idempotent.
  void Stop();

  uint16_t http_port() const;
  uint16_t rpc_port() const;
  Storage& storage() { return *storage_; }
  NodeStats& stats() { return *stats_; }
  // Names of the fault switches in force, for the start-up banner and /status.
  static std::vector<std::string> FaultNames(const NodeOptions& options);

 private:
  Node() = default;
  Status Init();
  // With peers: the RPC server, failure detector, hinted handoff, anti-entropy.
  Status StartReplication();
  Status StartHttp(const ContextKey& context_key);
  // The key that signs context tokens (context_key.h).
  Status LoadContextKey(ContextKey& key) const;

  NodeOptions options_;
  int self_ = 0;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<Ring> ring_;
  std::unique_ptr<DigestIndex> index_;
  boost::asio::io_context io_;
  // Storage work requested over RPC: off the io threads, so an fsync never
  // holds up heartbeats or other replies. Sized like the HTTP pool.
  std::unique_ptr<boost::asio::thread_pool> blocking_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::unique_ptr<EventLoops> loops_;
  std::unique_ptr<Peers> peers_;
  std::unique_ptr<FailureDetector> detector_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<ReplicaService> service_;
  std::unique_ptr<RpcServer> rpc_server_;
  std::unique_ptr<AntiEntropy> anti_entropy_;
  std::unique_ptr<HintedHandoff> handoff_;
  std::unique_ptr<NodeStats> stats_;
  std::unique_ptr<HttpApi> api_;
  std::unique_ptr<HttpServer> http_;
  bool stopped_ = false;
};

}  // namespace dynastore
