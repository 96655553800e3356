#include "harness/stores/redis/redis_config.h"

#include <fmt/format.h>

namespace faultline {

RedisConfig ParseRedisConfig(const ConfigFields& r, bool selected, int node_count) {
  RedisConfig s;
  s.replicas_per_master = r.Int("replicas-per-master");
  s.port = r.Int("port");
  s.node_timeout_ms = r.Int("node-timeout-ms");
  s.binary = r.String("binary");
  s.cli = r.String("cli");
  if (!selected) return s;
  if (s.replicas_per_master < 0) {
    FailConfig(fmt::format("\"redis.replicas-per-master\" must be >= 0, got {}", s.replicas_per_master));
  }
  const int group = s.replicas_per_master + 1;
  if (node_count % group != 0 || node_count / group < 3) {
    FailConfig(
        fmt::format("\"redis.replicas-per-master\" is {}: the node count {} must be masters x {} with at least "
                    "3 masters (e.g. \"local\": {})",
                    s.replicas_per_master, node_count, group, 3 * group));
  }
  if (s.port < 1 || s.port > 55535) {
    FailConfig(
        fmt::format("\"redis.port\" must be between 1 and 55535 (the cluster bus is port + 10000), got {}", s.port));
  }
  if (s.node_timeout_ms <= 0) {
    FailConfig(fmt::format("\"redis.node-timeout-ms\" must be > 0, got {}", s.node_timeout_ms));
  }
  if (s.binary.empty()) FailConfig("\"redis.binary\" must not be empty");
  if (s.cli.empty()) FailConfig("\"redis.cli\" must not be empty");
  return s;
}

nlohmann::json ToJson(const RedisConfig& c) {
  return {{"replicas-per-master", c.replicas_per_master},
          {"port", c.port},
          {"node-timeout-ms", c.node_timeout_ms},
          {"binary", c.binary},
          {"cli", c.cli}};
}

}  // namespace faultline
