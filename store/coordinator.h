// Coordinator: serves one client request (get / put / delete) for the node
// that received it, with Dynamo's quorums (doc/replication.md):
//  - get asks the first N healthy nodes of the key's preference list, answers
//    after R replies with the merged siblings, then read-repairs stale replicas;
//  - put is coordinated by an owner of the key (forwarded there if this node
//    is not one), which writes locally, sends the resulting version set to the
//    first N healthy nodes (stand-ins get a hint naming the owner they replace)
//    and answers after W acks.
// Every call completes through a callback, possibly on another thread.
//
// Thread-safe. Storage, Ring, Peers and FailureDetector must outlive it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/causal_context.h"
#include "store/cluster_config.h"
#include "store/replica_protocol.h"
#include "store/status.h"
#include "store/storage.h"
#include "store/version_set.h"

namespace dynastore {

class EventLoops;
class FailureDetector;
class Peers;
class Ring;

struct CoordinatorOptions {
  std::string node_id;           // the actor in every dot this node issues
  size_t max_causal_nodes = 64;  // pruning bound for a version's causal past
  size_t max_siblings = 1024;    // a write that would leave more versions of a key is refused
  // Wall clock in ms since the epoch (tests substitute their own).
  std::function<int64_t()> clock_ms;

  // Fault switches, each breaking one guarantee (doc/replication.md). Off by default.
  Causality causality = Causality::kDvv;            // --lww, --naive-vclocks
  bool read_repair = true;                          // --no-read-repair
  bool hinted_handoff = true;                       // --no-hinted-handoff
  bool unsafe_ack_early = false;                    // --unsafe-ack-early
  std::chrono::milliseconds unsafe_ack_delay{500};  // how late the "early" write really happens
};

struct GetReply {
  Status status;
  std::vector<std::string> values;  // live siblings; empty if missing or deleted
  CausalContext context;            // covers every version read, tombstones too
  int replies = 0;                  // replicas that answered before the reply
};

struct PutReply {
  // Ok; Unavailable (certainly not applied); TimedOut (fewer than W acks in
  // time: indeterminate, some replicas may hold the write); other errors.
  Status status;
  CausalContext context;  // the new version's history: what the writer has now seen
  int acks = 0;
};

class Coordinator {
 public:
  Coordinator(CoordinatorOptions options, const ClusterConfig& config, const Ring& ring, Storage& storage, Peers& peers,
              FailureDetector& detector, boost::asio::io_context& io, EventLoops* loops = nullptr);

  // r / w of 0 mean the cluster defaults.
  void Get(const std::string& key, int r, std::function<void(GetReply)> done);
  // Stores `value` superseding exactly the versions `context` covers.
  void Put(const std::string& key, const CausalContext& context, std::string value, int w,
           std::function<void(PutReply)> done);
  // Writes a tombstone superseding what `context` covers; without a context,
  // what the coordinating owner currently stores (a read-then-delete).
  void Delete(const std::string& key, std::optional<CausalContext> context, int w, std::function<void(PutReply)> done);
  // A write forwarded here by another node (rpc::kCoordinate).
  void CoordinateForwarded(rpc::CoordinateRequest request, std::function<void(PutReply)> done);

  // This node's own versions of a key, owned and hinted (GET ?local=true, kGetLocal).
  Status ReadLocal(const std::string& key, VersionSet& out) const;
  // ReadLocal when it needs no disk access (the record is in storage's
  // record cache and this node holds no hints): true, with the outcome in
  // `status`. False: nothing was read, use ReadLocal off the io thread.
  bool ReadLocalFromMemory(const std::string& key, VersionSet& out, Status& status) const;
  // Merges a replica write into local storage (kMerge); hint_for names the
  // owner this node stands in for, or is empty.
  Status MergeLocal(const std::string& key, const VersionSet& set, const std::string& hint_for);
  // MergeLocal without waiting (Storage::UpdateAsync: `done` may run on the
  // storage's commit thread, or inline).
  void MergeLocalAsync(std::string key, VersionSet set, std::string hint_for, std::function<void(Status)> done);

  const std::string& node_id() const { return options_.node_id; }
  const CoordinatorOptions& options() const { return options_; }

 private:
  struct Target {
    int node;
    std::string hint_for;  // empty: an owner
  };
  // The first N healthy nodes of the key's walk, stand-ins paired with the
  // down owners they replace; only owners without hinted handoff.
  std::vector<Target> WriteTargets(const std::vector<int>& walk) const;
  void Write(rpc::CoordinateRequest request, bool forwarded, std::function<void(PutReply)> done);
  void Forward(rpc::CoordinateRequest request, std::vector<int> owners, size_t next,
               std::function<void(PutReply)> done);
  // may_ack_early=false: the deferred half of --unsafe-ack-early.
  void CoordinateHere(rpc::CoordinateRequest request, std::function<void(PutReply)> done, bool may_ack_early = true);
  void Replicate(const std::string& key, const VersionSet& set, const CausalContext& reply_context,
                 std::vector<Target> targets, int w, bool local_acked, std::function<void(PutReply)> done);
  void ReadRepair(const std::string& key, const VersionSet& merged,
                  const std::vector<std::pair<Target, VersionSet>>& answers);
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(config_.request_timeout_ms); }

  CoordinatorOptions options_;
  const ClusterConfig& config_;
  const Ring& ring_;
  Storage& storage_;
  Peers& peers_;
  FailureDetector& detector_;
  boost::asio::io_context& io_;
  EventLoops* const loops_;  // the request threads, or null
  int self_;
};

}  // namespace dynastore
