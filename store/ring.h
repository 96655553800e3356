// Ring: Dynamo's partitioning strategy 3 (DeCandia et al., §6.2). The 64-bit
// hash space is cut into Q equal partitions; partition p is owned by node
// p mod S (S nodes, in cluster-file order), so every node owns Q/S
// partitions and any S consecutive partitions have S distinct owners.
// A key lives in the partition its xxHash3-64 falls into; its preference
// list is the first N distinct owners walking the ring from there, and the
// rest of the walk (every other node, in order) is the fallback order for
// sloppy quorum.
//
// Immutable after construction; safe to share between threads.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "store/cluster_config.h"

namespace dynastore {

class Ring {
 public:
  explicit Ring(const ClusterConfig& config);

  static uint64_t Hash(std::string_view key);
  int PartitionOf(std::string_view key) const;
  int partitions() const { return static_cast<int>(owner_.size()); }
  int n() const { return n_; }
  int OwnerOf(int partition) const { return owner_[partition]; }

  // Every node index, each once, in ring order from `partition`: the first
  // n() are the partition's replicas, the rest its fallbacks.
  const std::vector<int>& Walk(int partition) const { return walk_[partition]; }
  const std::vector<int>& WalkForKey(std::string_view key) const { return Walk(PartitionOf(key)); }
  bool IsReplica(int node, int partition) const;
  // The partitions `node` holds a replica of.
  std::vector<int> PartitionsOf(int node) const;

  // GET /ring: partitions, N, and each partition's hash range and replicas.
  nlohmann::json ToJson(const ClusterConfig& config) const;

 private:
  int n_;
  std::vector<int> owner_;
  std::vector<std::vector<int>> walk_;
};

}  // namespace dynastore
