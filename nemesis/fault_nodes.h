// What the faults that act node by node share: choosing the nodes a Start
// hits from the configured target specs, and acting on each node so that
// one node's failure neither stops the others nor goes unreported.
#pragma once

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "harness/api/database.h"
#include "nemesis/nemesis_config.h"

namespace faultline {

// The nodes' names, in the nodes' order.
std::vector<std::string> NodeNames(const std::vector<NodeInfo>& nodes);

// The targets of a Start of `fault`: a spec drawn from config.targets with
// one rng() call, then picked from `nodes` (PickTargets). Throws HarnessError
// prefixed "<fault>: " when no spec is configured or the spec does not fit.
std::vector<std::string> ChooseTargets(const std::string& fault, const std::vector<NodeInfo>& nodes,
                                       const NemesisConfig& config, std::mt19937_64& rng);

// Runs `act` on each node named in `names` (every node when null), in the
// nodes' order, whatever fails on the others; then throws one HarnessError
// "<what> failed: <node>: <error>; ..." listing every failure.
void ForEachNode(const std::vector<NodeInfo>& nodes, const std::vector<std::string>* names, const std::string& what,
                 const std::function<void(const NodeInfo&)>& act);

}  // namespace faultline
