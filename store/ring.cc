#include "store/ring.h"

#include <xxhash.h>

#include <algorithm>

namespace dynastore {

Ring::Ring(const ClusterConfig& config) : n_(config.n) {
  const int nodes = static_cast<int>(config.nodes.size());
  owner_.resize(config.partitions);
  for (int p = 0; p < config.partitions; ++p) owner_[p] = p % nodes;
  walk_.resize(config.partitions);
  for (int p = 0; p < config.partitions; ++p) {
    auto& walk = walk_[p];
    for (int step = 0; static_cast<int>(walk.size()) < nodes; ++step) {
      int owner = owner_[(p + step) % config.partitions];
      if (std::find(walk.begin(), walk.end(), owner) == walk.end()) walk.push_back(owner);
    }
  }
}

uint64_t Ring::Hash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

int Ring::PartitionOf(std::string_view key) const {
  // Equal ranges: partition = floor(hash * Q / 2^64), exact in 128 bits.
  unsigned __int128 scaled = static_cast<unsigned __int128>(Hash(key)) * owner_.size();
  return static_cast<int>(scaled >> 64);
}

bool Ring::IsReplica(int node, int partition) const {
  const auto& walk = walk_[partition];
  return std::find(walk.begin(), walk.begin() + n_, node) != walk.begin() + n_;
}

std::vector<int> Ring::PartitionsOf(int node) const {
  std::vector<int> out;
  for (int p = 0; p < partitions(); ++p) {
    if (IsReplica(node, p)) out.push_back(p);
  }
  return out;
}

nlohmann::json Ring::ToJson(const ClusterConfig& config) const {
  nlohmann::json parts = nlohmann::json::array();
  const unsigned __int128 space = static_cast<unsigned __int128>(1) << 64;
  for (int p = 0; p < partitions(); ++p) {
    auto start = static_cast<uint64_t>(space * p / partitions());
    nlohmann::json replicas = nlohmann::json::array();
    for (int i = 0; i < n_; ++i) replicas.push_back(config.nodes[walk_[p][i]].id);
    char hex[19];
    std::snprintf(hex, sizeof hex, "0x%016llx", static_cast<unsigned long long>(start));
    parts.push_back({{"partition", p}, {"start", hex}, {"owner", config.nodes[owner_[p]].id}, {"replicas", replicas}});
  }
  return {{"n", n_}, {"partitions", partitions()}, {"hash", "xxh3-64"}, {"ring", parts}};
}

}  // namespace dynastore
