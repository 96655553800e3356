// The "dynastore" object of a test config (README "Configuration").
#pragma once

#include <string>
#include <vector>

namespace faultline {

// Replication (N, R, W), ring size, fsync, extra daemon flags.
struct DynastoreConfig {
  int n = 3, r = 2, w = 2;
  int partitions = 64;
  bool sync = true;
  std::vector<std::string> args;  // extra daemon flags, e.g. fault switches "--lww"
  std::string binary;             // empty: the dynastore built next to faultline
};

}  // namespace faultline
