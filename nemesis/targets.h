// Target specs (README "Nemesis"): "one", "minority", "majority", "all", or
// explicit node names joined by '+'. Pure; random choices come from rng.
#pragma once

#include <random>
#include <string>
#include <vector>

namespace faultline {

// minority = a random subset of size (n-1)/2 (at least 1); majority = n/2+1.
// Throws std::invalid_argument naming an unknown spec or node.
std::vector<std::string> PickTargets(const std::string& spec, const std::vector<std::string>& nodes,
                                     std::mt19937_64& rng);

// Checks a spec without picking (config validation). Throws std::invalid_argument.
void ValidateTargetSpec(const std::string& spec, const std::vector<std::string>& nodes);

}  // namespace faultline
