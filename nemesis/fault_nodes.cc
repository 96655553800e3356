#include "nemesis/fault_nodes.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>

#include "harness/base/harness_error.h"
#include "nemesis/targets.h"

namespace faultline {

std::vector<std::string> NodeNames(const std::vector<NodeInfo>& nodes) {
  std::vector<std::string> names;
  for (const NodeInfo& node : nodes) names.push_back(node.name);
  return names;
}

std::vector<std::string> ChooseTargets(const std::string& fault, const std::vector<NodeInfo>& nodes,
                                       const NemesisConfig& config, std::mt19937_64& rng) {
  if (config.targets.empty()) throw HarnessError(fault + ": no target specs configured");
  const std::string& spec = config.targets[rng() % config.targets.size()];
  try {
    return PickTargets(spec, NodeNames(nodes), rng);
  } catch (const std::invalid_argument& e) {
    throw HarnessError(fmt::format("{}: {}", fault, e.what()));
  }
}

void ForEachNode(const std::vector<NodeInfo>& nodes, const std::vector<std::string>* names, const std::string& what,
                 const std::function<void(const NodeInfo&)>& act) {
  std::vector<std::string> failures;
  for (const NodeInfo& node : nodes) {
    if (names != nullptr && std::find(names->begin(), names->end(), node.name) == names->end()) continue;
    try {
      act(node);
    } catch (const std::exception& e) {
      failures.push_back(fmt::format("{}: {}", node.name, e.what()));
    }
  }
  if (!failures.empty()) throw HarnessError(fmt::format("{} failed: {}", what, fmt::join(failures, "; ")));
}

}  // namespace faultline
