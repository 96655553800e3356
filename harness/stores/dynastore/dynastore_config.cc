#include "harness/stores/dynastore/dynastore_config.h"

#include <fmt/format.h>

namespace faultline {

DynastoreConfig ParseDynastoreConfig(const ConfigFields& d, bool selected, int node_count) {
  DynastoreConfig s;
  s.n = d.Int("n");
  s.r = d.Int("r");
  s.w = d.Int("w");
  s.partitions = d.Int("partitions");
  s.sync = d.Bool("sync");
  s.args = d.Strings("args");
  s.binary = d.String("binary");
  if (!selected) return s;
  if (s.n < 1) FailConfig(fmt::format("\"dynastore.n\" must be >= 1, got {}", s.n));
  if (s.n > node_count) {
    FailConfig(fmt::format("\"dynastore.n\" is {} but the cluster has only {} node{}: too few nodes for N", s.n,
                           node_count, node_count == 1 ? "" : "s"));
  }
  if (s.r < 1 || s.r > s.n) FailConfig(fmt::format("\"dynastore.r\" must be between 1 and n={}, got {}", s.n, s.r));
  if (s.w < 1 || s.w > s.n) FailConfig(fmt::format("\"dynastore.w\" must be between 1 and n={}, got {}", s.n, s.w));
  if (s.partitions < node_count) {
    FailConfig(fmt::format("\"dynastore.partitions\" must be >= the node count {}, got {}", node_count, s.partitions));
  }
  return s;
}

nlohmann::json ToJson(const DynastoreConfig& c) {
  return {{"n", c.n},       {"r", c.r},       {"w", c.w},          {"partitions", c.partitions},
          {"sync", c.sync}, {"args", c.args}, {"binary", c.binary}};
}

}  // namespace faultline
