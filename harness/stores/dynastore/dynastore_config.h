// The "dynastore" object of a test config (README "Configuration").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/base/config_fields.h"

namespace faultline {

// Replication (N, R, W), ring size, fsync, extra daemon flags.
struct DynastoreConfig {
  int n = 3, r = 2, w = 2;
  int partitions = 64;
  bool sync = true;
  std::vector<std::string> args;  // extra daemon flags, e.g. fault switches "--lww"
  std::string binary;             // empty: the dynastore built next to faultline
};

// Reads the object (every key must have its type). When `selected` (the run's
// db is dynastore) the values must also suit a cluster of `node_count` nodes.
// Throws ConfigError naming the field.
DynastoreConfig ParseDynastoreConfig(const ConfigFields& object, bool selected, int node_count);

// The object as test.json holds it (ParseDynastoreConfig reads it back).
nlohmann::json ToJson(const DynastoreConfig& config);

}  // namespace faultline
