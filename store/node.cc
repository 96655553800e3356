#include "store/node.h"

#include <pthread.h>

#include <cstdio>

#include "store/anti_entropy.h"
#include "store/context_key.h"
#include "store/coordinator.h"
#include "store/digest_index.h"
#include "store/event_loops.h"
#include "store/failure_detector.h"
#include "store/hinted_handoff.h"
#include "store/http_api.h"
#include "store/http_server.h"
#include "store/node_stats.h"
#include "store/peers.h"
#include "store/replica_service.h"
#include "store/ring.h"
#include "store/rpc_server.h"
#include "store/storage.h"

namespace dynastore {

std::vector<std::string> Node::FaultNames(const NodeOptions& o) {
  std::vector<std::string> names;
  if (o.causality == Causality::kLww) names.push_back("lww");
  if (o.causality == Causality::kNaiveVclocks) names.push_back("naive-vclocks");
  if (!o.read_repair) names.push_back("no-read-repair");
  if (!o.hinted_handoff) names.push_back("no-hinted-handoff");
  if (!o.anti_entropy) names.push_back("no-anti-entropy");
  if (o.unsafe_ack_early) names.push_back("unsafe-ack-early");
  return names;
}

Status Node::Start(NodeOptions options, std::unique_ptr<Node>& out) {
  std::unique_ptr<Node> node(new Node());
  node->options_ = std::move(options);
  if (!node->options_.log) {
    node->options_.log = [](std::string_view line) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    };
  }
  Status s = node->Init();
  if (!s.ok()) {
    node->Stop();
    return s;
  }
  out = std::move(node);
  return Status::Ok();
}

Status Node::Init() {
  const ClusterConfig& cluster = options_.cluster;
  if (Status s = cluster.Validate(); !s.ok()) return s;
  self_ = cluster.IndexOf(options_.id);
  if (self_ < 0) return Status::InvalidArgument("--id '" + options_.id + "' is not a node of the cluster file");

  if (Status s = Storage::Open(StorageOptions{.path = options_.data_dir,
                                              .sync = options_.sync,
                                              .max_commit_delay = options_.max_commit_delay,
                                              .log = options_.log},
                               storage_);
      !s.ok()) {
    return s;
  }
  ContextKey context_key;
  if (Status s = LoadContextKey(context_key); !s.ok()) return s;
  ring_ = std::make_unique<Ring>(cluster);
  index_ = std::make_unique<DigestIndex>(ring_->partitions());
  // Digests of what is stored now, then kept current on every write (under
  // the key's lock, so index and storage change in the same order).
  if (Status s = storage_->ForEach([&](std::string_view key, const VersionSet& set) {
        index_->Set(ring_->PartitionOf(key), key, DigestOf(set));
      });
      !s.ok()) {
    return s;
  }
  storage_->SetWriteObserver([this](std::string_view key, const VersionSet& set, std::string_view encoded) {
    const int p = ring_->PartitionOf(key);
    if (set.empty()) {
      index_->Erase(p, key);
    } else {
      index_->Set(p, key, DigestOfEncoded(encoded));
    }
  });

  // Writes no longer wait here with sync on (storage's commit thread does),
  // but hinted handoff and anti-entropy still make blocking writes.
  blocking_ = std::make_unique<boost::asio::thread_pool>(options_.sync ? 4 : 2);
  work_ =
      std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(io_.get_executor());
  for (int i = 0; i < options_.rpc_threads; ++i) {
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "ds-background");
      io_.run();
    });
  }
  loops_ = std::make_unique<EventLoops>(options_.http_threads);
  loops_->Start(options_.log);

  peers_ = std::make_unique<Peers>(
      io_, loops_.get(), cluster, self_,
      [this](uint8_t m, std::string p, RpcServer::Responder r) { service_->Handle(m, std::move(p), std::move(r)); });
  detector_ = std::make_unique<FailureDetector>(io_, cluster, *peers_);
  CoordinatorOptions co;
  co.node_id = options_.id;
  co.max_causal_nodes = options_.max_causal_nodes;
  co.max_siblings = options_.max_siblings;
  co.causality = options_.causality;
  co.read_repair = options_.read_repair;
  co.hinted_handoff = options_.hinted_handoff;
  co.unsafe_ack_early = options_.unsafe_ack_early;
  coordinator_ = std::make_unique<Coordinator>(co, cluster, *ring_, *storage_, *peers_, *detector_, io_, loops_.get());
  service_ = std::make_unique<ReplicaService>(options_.id, *coordinator_, *index_, *ring_, *blocking_);

  // A lone node has no peers and needs no RPC port.
  if (cluster.nodes.size() > 1) {
    if (Status s = StartReplication(); !s.ok()) return s;
  }
  return StartHttp(context_key);
}

Status Node::StartReplication() {
  const ClusterConfig& cluster = options_.cluster;
  rpc_server_ = std::make_unique<RpcServer>(
      io_, cluster.nodes[self_].rpc,
      [this](uint8_t m, std::string p, RpcServer::Responder r) { service_->Handle(m, std::move(p), std::move(r)); },
      RpcServerOptions{}, loops_.get());
  if (Status s = rpc_server_->Start(); !s.ok()) return s;
  handoff_ = std::make_unique<HintedHandoff>(io_, *blocking_, std::chrono::milliseconds(cluster.handoff_interval_ms),
                                             *storage_, *peers_, *detector_);
  detector_->OnUp([this](int) { handoff_->Kick(); });
  detector_->Start();
  handoff_->Start();
  if (options_.anti_entropy) {
    anti_entropy_ =
        std::make_unique<AntiEntropy>(io_, *blocking_, std::chrono::milliseconds(cluster.anti_entropy_interval_ms),
                                      *ring_, *peers_, *detector_, *index_, *coordinator_);
    anti_entropy_->Start();
  }
  return Status::Ok();
}

Status Node::StartHttp(const ContextKey& context_key) {
  const ClusterConfig& cluster = options_.cluster;
  stats_ = std::make_unique<NodeStats>();
  HttpApiOptions api;
  api.node_id = options_.id;
  api.sync = options_.sync;
  api.n = cluster.n;
  api.context_key = context_key;
  const std::vector<std::string> faults = FaultNames(options_);
  api.status_extra = [this, faults]() {
    const ClusterConfig& c = options_.cluster;
    nlohmann::json j = {
        {"cluster", {{"n", c.n}, {"r", c.r}, {"w", c.w}, {"partitions", c.partitions}, {"nodes", c.nodes.size()}}},
        {"members", detector_->ToJson()},
        {"faults", faults},
        {"keys", index_->TotalSize()},
        {"storage",
         {{"writes", storage_->writes_committed()},
          {"commits", storage_->commits()},
          {"commit_delay_us", storage_->commit_delay().count()},
          {"cache_hits", storage_->cache_hits()},
          {"cache_misses", storage_->cache_misses()}}}};
    if (anti_entropy_) j["anti_entropy"] = anti_entropy_->ToJson();
    if (handoff_) j["hinted_handoff"] = handoff_->ToJson();
    return j;
  };
  api.ring = [this]() { return ring_->ToJson(options_.cluster); };
  api.digests = [this]() {
    std::string out;
    for (int p = 0; p < ring_->partitions(); ++p) {
      for (const auto& [key, digest] : index_->Snapshot(p)) {
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(digest));
        out += nlohmann::json{{"key", key}, {"partition", p}, {"digest", hex}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace);
        out += '\n';
      }
    }
    return out;
  };
  api_ = std::make_unique<HttpApi>(std::move(api), *coordinator_, *stats_);
  HttpServerOptions http;
  http.address = cluster.nodes[self_].http.host;
  http.port = cluster.nodes[self_].http.port;
  http.max_body_bytes = options_.max_body_bytes;
  http.idle_timeout = options_.idle_timeout;
  http.log = options_.log;
  return HttpServer::Start(std::move(http), *loops_, *api_, *stats_, http_);
}

Status Node::LoadContextKey(ContextKey& key) const {
  const ClusterConfig& cluster = options_.cluster;
  if (!cluster.context_key.empty()) return ContextKey::FromHex(cluster.context_key, key);
  // A lone node keeps its own key; a cluster needs one key on every node.
  if (cluster.nodes.size() == 1) {
    Status s = ContextKey::LoadOrCreate(options_.data_dir, key);
    if (!s.ok()) return Status::IOError("context signing key: " + s.message());
    return s;
  }
  options_.log(
      "WARNING: the cluster file has no \"context_key\": contexts are checked for integrity only, and a client "
      "can forge them (doc/causality.md, \"Context tokens\")");
  return Status::Ok();
}

uint16_t Node::http_port() const { return http_ ? http_->port() : 0; }
uint16_t Node::rpc_port() const { return rpc_server_ ? rpc_server_->port() : 0; }

Node::~Node() { Stop(); }

void Node::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // Front door first (in-flight requests still finish on the io threads),
  // then background work, then the network, then the threads; storage last.
  if (http_) http_->Stop();
  if (anti_entropy_) anti_entropy_->Stop();
  if (handoff_) handoff_->Stop();
  if (detector_) detector_->Stop();
  if (rpc_server_) rpc_server_->Stop();
  if (peers_) peers_->Close();
  if (blocking_) blocking_->join();  // queued storage work finishes; nothing new arrives
  if (storage_) storage_->Drain();   // and so do queued commits, while their callbacks' targets still exist
  work_.reset();
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (loops_) loops_->Stop();
  http_.reset();
  api_.reset();
  anti_entropy_.reset();
  handoff_.reset();
  rpc_server_.reset();
  service_.reset();
  coordinator_.reset();
  detector_.reset();
  peers_.reset();
  // After everything that owns a socket on the loops; the handlers they
  // still queue (sessions, connections) go with them.
  loops_.reset();
  storage_.reset();
}

}  // namespace dynastore
