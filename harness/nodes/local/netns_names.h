// Names of the host resources a LocalCluster creates (local_cluster.h):
// run id R = 6 lowercase base-36 chars; namespaces "fl-R-n<i>", bridge
// "flbR", host-side veths "flR-<i>". Cleanup recognises stray resources by
// these patterns, so they must stay in sync with what Create() makes.
// Pure functions; thread-safe.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace faultline {

inline std::string NetnsName(const std::string& run_id, int node) {
  return "fl-" + run_id + "-n" + std::to_string(node);
}
inline std::string BridgeName(const std::string& run_id) { return "flb" + run_id; }
inline std::string HostVethName(const std::string& run_id, int node) {
  return "fl" + run_id + "-" + std::to_string(node);
}

// Matched by hand, not with <regex>: these patterns are a fixed prefix, six
// base-36 characters and a number, and <regex> added ~4 s of compile to each
// file that included this header.
inline bool IsRunId(std::string_view s) {
  return s.size() == 6 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'); });
}
inline bool IsNumber(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The run id a resource name belongs to, or "" when it is not one of ours.
inline std::string RunIdOfNetns(std::string_view name) {
  // fl-<id>-n<i>
  if (name.size() < 11 || name.substr(0, 3) != "fl-" || name.substr(9, 2) != "-n") return "";
  const std::string_view id = name.substr(3, 6);
  return IsRunId(id) && IsNumber(name.substr(11)) ? std::string(id) : "";
}
inline std::string RunIdOfLink(std::string_view name) {
  // flb<id>, or fl<id>-<i>
  if (name.size() == 9 && name.substr(0, 3) == "flb" && IsRunId(name.substr(3))) return std::string(name.substr(3));
  if (name.size() < 10 || name.substr(0, 2) != "fl" || name[8] != '-') return "";
  const std::string_view id = name.substr(2, 6);
  return IsRunId(id) && IsNumber(name.substr(9)) ? std::string(id) : "";
}

}  // namespace faultline
