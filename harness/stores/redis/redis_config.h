// The "redis" object of a test config.
#pragma once

#include <string>

namespace faultline {

// "redis" object: Redis Cluster (README "Redis Cluster"). The node count is
// masters x (1 + replicas-per-master); at least 3 masters.
struct RedisConfig {
  int replicas_per_master = 1;
  int port = 6379;  // data port on every node; the cluster bus is port + 10000
  int node_timeout_ms = 2000;
  std::string binary = "redis-server";
  std::string cli = "redis-cli";
};

}  // namespace faultline
