// NemesisConfig: which faults, how often, against whom (config keys and
// flags in README "Nemesis"). Parsed and validated with the test config.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faultline {

struct NemesisConfig {
  // Subset of partition, kill, pause, clock, loss and the whole-node faults
  // crash, freeze, starve (container nodes only); empty = none.
  std::vector<std::string> faults;
  double interval_s = 10;  // hold a fault this long, then heal and wait as long again
  // > 0: the last final_s seconds of the main phase run under one more fault,
  // still in effect when the phase ends (healed with everything else).
  double final_s = 0;
  // Target specs the scheduler picks from: "one", "minority", "majority",
  // "all", or explicit node names joined by '+' ("n1+n3").
  std::vector<std::string> targets = {"one", "minority", "majority", "all"};
  // Partition kinds picked from: halves, random-halves, one,
  // majorities-ring, bridge, and "grudge" (the explicit `grudge` below).
  std::vector<std::string> partitions = {"halves", "random-halves", "one", "majorities-ring", "bridge"};
  nlohmann::json grudge;              // {"n1":["n2","n3"], ...}: n1 drops packets from n2, n3; null if none
  double loss_probability = 0.3;      // fraction of packets dropped between targets and the rest
  int clock_skew_ms = 30000;          // bumps are uniform in [-skew, +skew]
  int clock_strobe_period_ms = 1000;  // strobe flips the clock between 0 and +skew at this period
  double starve_cpus = 0.05;          // a starved node's CPU quota, in cores
};

// What "all" means: the faults every kind of node supports.
inline const std::vector<std::string>& AllFaultNames() {
  static const std::vector<std::string> names = {"partition", "kill", "pause", "clock", "loss"};
  return names;
}

// Faults on whole nodes, which need container nodes (nemesis/node_faults.h).
inline const std::vector<std::string>& WholeNodeFaultNames() {
  static const std::vector<std::string> names = {"crash", "freeze", "starve"};
  return names;
}

}  // namespace faultline
