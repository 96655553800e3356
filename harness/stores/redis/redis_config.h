// The "redis" object of a test config.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "harness/base/config_fields.h"

namespace faultline {

// "redis" object: Redis Cluster (README "Redis Cluster"). The node count is
// masters x (1 + replicas-per-master); at least 3 masters.
struct RedisConfig {
  int replicas_per_master = 1;
  int port = 6379;  // data port on every node; the cluster bus is port + 10000
  int node_timeout_ms = 2000;
  std::string binary = "redis-server";  // looked up in PATH on the node
  std::string cli = "redis-cli";
};

// Reads the object (every key must have its type). When `selected` (the run's
// db is redis-cluster) the values must also suit a cluster of `node_count`
// nodes. Throws ConfigError naming the field.
RedisConfig ParseRedisConfig(const ConfigFields& object, bool selected, int node_count);

// The object as test.json holds it (ParseRedisConfig reads it back).
nlohmann::json ToJson(const RedisConfig& config);

}  // namespace faultline
