// Grudges: who drops whom in a network partition (Jepsen's term). A grudge
// maps a node to the nodes whose packets it drops. Pure functions, so every
// kind is unit-tested on any node count.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace faultline {

using Grudge = std::map<std::string, std::set<std::string>>;

// Every node drops every node outside its own component (components may
// overlap: a node in two components talks to both).
Grudge CompleteGrudge(const std::vector<std::vector<std::string>>& components);

// Kinds (nodes in the given order; rng only where the kind is random):
//   halves          first ceil(n/2) vs the rest (nodes order as given)
//   random-halves   the same after a shuffle
//   one             one random node isolated from all others
//   majorities-ring each node sees a majority, no two see the same one (n >= 5; for
//                   n < 5 it degenerates as documented in grudge.cc)
//   bridge          two halves plus one node that sees both
// Throws std::invalid_argument for an unknown kind or too few nodes (< 2).
Grudge MakeGrudge(const std::string& kind, const std::vector<std::string>& nodes, std::mt19937_64& rng);

// The kinds MakeGrudge knows.
const std::vector<std::string>& GrudgeKinds();

// {"n1":["n2"],...}. FromJson validates: object of arrays of known node
// names, no node dropping itself; throws std::invalid_argument naming the problem.
nlohmann::json GrudgeToJson(const Grudge& grudge);
Grudge GrudgeFromJson(const nlohmann::json& j, const std::vector<std::string>& nodes);

// Node sets: what each node can still reach (itself included). For tests
// and for the report's explanation.
std::map<std::string, std::set<std::string>> Reachable(const Grudge& grudge, const std::vector<std::string>& nodes);

}  // namespace faultline
