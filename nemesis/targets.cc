#include "nemesis/targets.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace faultline {
namespace {

// Explicit names ("n1+n3"), checked; empty when spec is a keyword.
std::vector<std::string> ExplicitTargets(const std::string& spec, const std::vector<std::string>& nodes) {
  if (spec == "one" || spec == "minority" || spec == "majority" || spec == "all") return {};
  const std::string help = fmt::format(
      "targets: \"{}\" is not a target spec (one, minority, majority, all, or node names joined by '+' "
      "like \"n1+n3\"; nodes: {})",
      spec, fmt::join(nodes, ", "));
  std::vector<std::string> names;
  std::set<std::string> seen;
  size_t start = 0;
  while (true) {
    const size_t plus = spec.find('+', start);
    const std::string name = spec.substr(start, plus == std::string::npos ? std::string::npos : plus - start);
    if (name.empty()) throw std::invalid_argument(help);
    if (std::find(nodes.begin(), nodes.end(), name) == nodes.end()) {
      if (plus == std::string::npos && names.empty()) throw std::invalid_argument(help);
      throw std::invalid_argument(
          fmt::format("targets \"{}\": \"{}\" is not a node (nodes: {})", spec, name, fmt::join(nodes, ", ")));
    }
    if (!seen.insert(name).second) {
      throw std::invalid_argument(fmt::format("targets \"{}\": \"{}\" is named twice", spec, name));
    }
    names.push_back(name);
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  return names;
}

// In the nodes' own order, so a target list reads like the node list.
std::vector<std::string> InNodeOrder(const std::set<std::string>& chosen, const std::vector<std::string>& nodes) {
  std::vector<std::string> out;
  for (const auto& n : nodes) {
    if (chosen.count(n)) out.push_back(n);
  }
  return out;
}

// k distinct nodes by a partial Fisher-Yates (plain `rng() % m` draws, so a
// seed picks the same nodes on every standard library).
std::vector<std::string> RandomSubset(const std::vector<std::string>& nodes, size_t k, std::mt19937_64& rng) {
  std::vector<std::string> pool = nodes;
  std::set<std::string> chosen;
  for (size_t i = 0; i < k && i < pool.size(); ++i) {
    std::swap(pool[i], pool[i + rng() % (pool.size() - i)]);
    chosen.insert(pool[i]);
  }
  return InNodeOrder(chosen, nodes);
}

}  // namespace

void ValidateTargetSpec(const std::string& spec, const std::vector<std::string>& nodes) {
  if (nodes.empty()) throw std::invalid_argument("targets \"" + spec + "\": there are no nodes");
  ExplicitTargets(spec, nodes);
}

std::vector<std::string> PickTargets(const std::string& spec, const std::vector<std::string>& nodes,
                                     std::mt19937_64& rng) {
  ValidateTargetSpec(spec, nodes);
  const size_t n = nodes.size();
  if (spec == "one") return RandomSubset(nodes, 1, rng);
  if (spec == "minority") return RandomSubset(nodes, std::max<size_t>(1, (n - 1) / 2), rng);
  if (spec == "majority") return RandomSubset(nodes, std::min(n, n / 2 + 1), rng);
  if (spec == "all") return nodes;
  std::vector<std::string> names = ExplicitTargets(spec, nodes);
  return InNodeOrder(std::set<std::string>(names.begin(), names.end()), nodes);
}

}  // namespace faultline
