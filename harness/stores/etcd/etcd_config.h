// The "etcd" object of a test config.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/base/config_fields.h"

namespace faultline {

// "etcd" object: one etcd member per node (README "etcd").
struct EtcdConfig {
  int client_port = 2379;
  int peer_port = 2380;
  std::string binary = "etcd";      // looked up in PATH on the node
  bool serializable_reads = false;  // reads as serializable ranges: any member answers, maybe stale
  std::vector<std::string> args;    // appended to every member's command line
};

// Reads the object (every key must have its type). When `selected` (the
// run's db is etcd) the values are checked too. Throws ConfigError naming
// the field.
EtcdConfig ParseEtcdConfig(const ConfigFields& object, bool selected, int node_count);

// The object as test.json holds it (ParseEtcdConfig reads it back).
nlohmann::json ToJson(const EtcdConfig& config);

}  // namespace faultline
