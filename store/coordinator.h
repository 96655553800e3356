// Coordinator: serves one client request (get / put / delete) on behalf of
// the node that received it. This is the seam between the client-facing API
// and the replicas: in a single-node store the only replica is local
// Storage; the replication layer (doc/replication.md) plugs in behind the
// same interface, which is why every call completes through a callback that
// may run on another thread.
//
// Thread-safe; the referenced Storage must outlive the Coordinator.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "causal_context.h"
#include "status.h"
#include "storage.h"

namespace dynastore {

struct CoordinatorOptions {
  std::string node_id;          // the actor in every dot this node issues
  size_t max_causal_nodes = 64;  // pruning bound for a version's causal past
  // Wall clock in ms since the epoch (tests substitute their own).
  std::function<int64_t()> clock_ms;
};

struct GetReply {
  Status status;
  std::vector<std::string> values;  // live siblings; empty if missing or deleted
  CausalContext context;            // covers every version read, tombstones too
};

struct PutReply {
  Status status;
  CausalContext context;  // the new version's history: what the writer has now seen
};

class Coordinator {
 public:
  Coordinator(CoordinatorOptions options, Storage& storage);

  void Get(const std::string& key, std::function<void(GetReply)> done);
  // Stores `value` superseding exactly the versions `context` covers.
  void Put(const std::string& key, const CausalContext& context, std::string value,
           std::function<void(PutReply)> done);
  // Writes a tombstone superseding what `context` covers; without a context,
  // what the coordinator currently stores for the key (a read-then-delete).
  void Delete(const std::string& key, std::optional<CausalContext> context,
              std::function<void(PutReply)> done);

  const std::string& node_id() const { return options_.node_id; }

 private:
  void Write(const std::string& key, std::optional<CausalContext> context, std::optional<std::string> value,
             std::function<void(PutReply)> done);

  CoordinatorOptions options_;
  Storage& storage_;
};

}  // namespace dynastore
