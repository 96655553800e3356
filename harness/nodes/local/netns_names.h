// Names of the host resources a LocalCluster creates (local_cluster.h):
// run id R = 6 lowercase base-36 chars; namespaces "fl-R-n<i>", bridge
// "flbR", host-side veths "flR-<i>". Cleanup recognises stray resources by
// these patterns, so they must stay in sync with what Create() makes.
// Pure functions; thread-safe.
#pragma once

#include <regex>
#include <string>

namespace faultline {

inline std::string NetnsName(const std::string& run_id, int node) {
  return "fl-" + run_id + "-n" + std::to_string(node);
}
inline std::string BridgeName(const std::string& run_id) { return "flb" + run_id; }
inline std::string HostVethName(const std::string& run_id, int node) {
  return "fl" + run_id + "-" + std::to_string(node);
}

inline bool IsRunId(const std::string& s) {
  static const std::regex re("[0-9a-z]{6}");
  return std::regex_match(s, re);
}

// The run id a resource name belongs to, or "" when it is not one of ours.
inline std::string RunIdOfNetns(const std::string& name) {
  static const std::regex re("fl-([0-9a-z]{6})-n[0-9]+");
  std::smatch m;
  return std::regex_match(name, m, re) ? m[1].str() : "";
}
inline std::string RunIdOfLink(const std::string& name) {
  static const std::regex bridge("flb([0-9a-z]{6})");
  static const std::regex veth("fl([0-9a-z]{6})-[0-9]+");
  std::smatch m;
  if (std::regex_match(name, m, bridge) || std::regex_match(name, m, veth)) return m[1].str();
  return "";
}

}  // namespace faultline
