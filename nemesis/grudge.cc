#include "nemesis/grudge.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>

namespace faultline {
namespace {

// Fisher-Yates with plain `rng() % k` draws: std::shuffle and the standard
// distributions are implementation-defined, and a seed must give the same
// grudge on every build. The modulo bias is below 2^-58 for our sizes.
std::vector<std::string> Shuffled(std::vector<std::string> v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
  return v;
}

// Node i of the ring sees every node j with an edge (i, j); the grudge drops the rest.
Grudge GrudgeFromEdges(const std::vector<std::string>& ring, const std::vector<std::set<size_t>>& edges) {
  Grudge g;
  for (size_t i = 0; i < ring.size(); ++i) {
    for (size_t j = 0; j < ring.size(); ++j) {
      if (j != i && !edges[i].count(j)) g[ring[i]].insert(ring[j]);
    }
  }
  return g;
}

// majorities-ring. Jepsen's "perfect" construction puts the nodes on a
// shuffled ring and lets node i see the window of m = n/2+1 ring nodes it
// is the middle of. With an even window (even m: n = 3, 6, 7, 10, ...) that
// window is lopsided and the grudge asymmetric (i sees i-2 but i-2 does not
// see i); Jepsen only uses it up to n = 5 and switches to a randomised search
// beyond. We keep the ring and make it symmetric and exact instead. Each
// node needs t = floor(n/2) neighbours:
//   t even           ring distances 1..t/2 on both sides: degree t.
//   t odd, n even    distances 1..(t-1)/2 plus the opposite node (distance
//                    n/2, its own mirror): degree t.
//   t odd, n odd     (n = 3, 7, 11, ...) no graph has every degree odd t on
//                    an odd node count, so: distances 1..(t-1)/2 plus a set
//                    of distance-t chords covering every node once, except
//                    one node that gets two; that node sees t+2 nodes.
// Two nodes' views differ because their ring intervals differ (checked by
// the unit tests for n = 3..11). Small clusters:
//   n = 2  a majority of 2 is everyone: nothing can be cut, the grudge is empty.
//   n = 3  the chords form a path a - b - c: a and c see {a,b} and {b,c},
//          majorities that differ, but b sees all three (the same shape as
//          `bridge`); "each sees exactly a majority" is impossible here.
//   n = 4  a 4-cycle: each node drops only the opposite one and sees 3 of 4,
//          and the four views are all different.
Grudge MajoritiesRing(const std::vector<std::string>& nodes, std::mt19937_64& rng) {
  const std::vector<std::string> ring = Shuffled(nodes, rng);
  const size_t n = ring.size();
  const size_t t = n / 2;
  std::vector<std::set<size_t>> edges(n);
  auto link = [&](size_t a, size_t b) {
    edges[a].insert(b);
    edges[b].insert(a);
  };
  const size_t near = t % 2 == 0 ? t / 2 : (t - 1) / 2;
  for (size_t i = 0; i < n; ++i) {
    for (size_t d = 1; d <= near; ++d) link(i, (i + d) % n);
  }
  if (t % 2 == 1 && n % 2 == 0) {
    for (size_t i = 0; i < n; ++i) link(i, (i + t) % n);
  } else if (t % 2 == 1) {
    // Distance-t steps visit every node (gcd(t, 2t+1) = 1): pair them off
    // along that cycle, and close it for the one node left over.
    std::vector<size_t> cycle;
    for (size_t k = 0, v = 0; k < n; ++k, v = (v + t) % n) cycle.push_back(v);
    for (size_t k = 0; k + 1 < n; k += 2) link(cycle[k], cycle[k + 1]);
    link(cycle[n - 1], cycle[0]);
  }
  return GrudgeFromEdges(ring, edges);
}

// bridge: one node sees two halves that drop each other.
Grudge Bridge(const std::vector<std::string>& nodes, std::mt19937_64& rng) {
  const std::vector<std::string> order = Shuffled(nodes, rng);
  const std::string& bridge = order[0];
  const size_t rest = order.size() - 1;
  std::vector<std::string> a(order.begin() + 1, order.begin() + 1 + (rest + 1) / 2);
  std::vector<std::string> b(order.begin() + 1 + (rest + 1) / 2, order.end());
  a.push_back(bridge);
  b.push_back(bridge);
  return CompleteGrudge({a, b});
}

Grudge Halves(const std::vector<std::string>& nodes) {
  const size_t first = (nodes.size() + 1) / 2;
  return CompleteGrudge({std::vector<std::string>(nodes.begin(), nodes.begin() + first),
                         std::vector<std::string>(nodes.begin() + first, nodes.end())});
}

}  // namespace

Grudge CompleteGrudge(const std::vector<std::vector<std::string>>& components) {
  std::set<std::string> all;
  std::map<std::string, std::set<std::string>> sees;
  for (const auto& c : components) {
    for (const auto& node : c) {
      all.insert(node);
      sees[node].insert(c.begin(), c.end());
    }
  }
  Grudge g;
  for (const auto& node : all) {
    for (const auto& other : all) {
      if (!sees[node].count(other)) g[node].insert(other);
    }
  }
  return g;
}

const std::vector<std::string>& GrudgeKinds() {
  static const std::vector<std::string> kinds = {"halves", "random-halves", "one", "majorities-ring", "bridge"};
  return kinds;
}

Grudge MakeGrudge(const std::string& kind, const std::vector<std::string>& nodes, std::mt19937_64& rng) {
  const auto& kinds = GrudgeKinds();
  if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
    throw std::invalid_argument(fmt::format("unknown partition kind \"{}\" (known: {})", kind, fmt::join(kinds, ", ")));
  }
  if (nodes.size() < 2) {
    throw std::invalid_argument(
        fmt::format("partition kind \"{}\" needs at least 2 nodes, got {}", kind, nodes.size()));
  }
  if (std::set<std::string>(nodes.begin(), nodes.end()).size() != nodes.size()) {
    throw std::invalid_argument(fmt::format("partition: node names repeat ({})", fmt::join(nodes, ", ")));
  }
  if (kind == "halves") return Halves(nodes);
  if (kind == "random-halves") return Halves(Shuffled(nodes, rng));
  if (kind == "one") {
    const std::string& lone = nodes[rng() % nodes.size()];
    std::vector<std::string> others;
    for (const auto& n : nodes) {
      if (n != lone) others.push_back(n);
    }
    return CompleteGrudge({{lone}, others});
  }
  if (kind == "majorities-ring") return MajoritiesRing(nodes, rng);
  return Bridge(nodes, rng);
}

nlohmann::json GrudgeToJson(const Grudge& grudge) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [node, drops] : grudge) {
    if (!drops.empty()) j[node] = std::vector<std::string>(drops.begin(), drops.end());
  }
  return j;
}

Grudge GrudgeFromJson(const nlohmann::json& j, const std::vector<std::string>& nodes) {
  const std::string known = fmt::format("{}", fmt::join(nodes, ", "));
  auto is_node = [&](const std::string& s) { return std::find(nodes.begin(), nodes.end(), s) != nodes.end(); };
  if (!j.is_object()) {
    throw std::invalid_argument(fmt::format(
        "grudge: must be an object mapping a node to the nodes it drops, like {{\"n1\":[\"n2\"]}}, got {}", j.dump()));
  }
  Grudge g;
  for (const auto& [node, drops] : j.items()) {
    if (!is_node(node)) {
      throw std::invalid_argument(fmt::format("grudge: \"{}\" is not a node (nodes: {})", node, known));
    }
    if (!drops.is_array()) {
      throw std::invalid_argument(fmt::format("grudge: value of \"{}\" must be an array of node names", node));
    }
    for (const auto& peer : drops) {
      if (!peer.is_string()) {
        throw std::invalid_argument(fmt::format("grudge: value of \"{}\" must be an array of node names", node));
      }
      const std::string p = peer.get<std::string>();
      if (!is_node(p)) throw std::invalid_argument(fmt::format("grudge: \"{}\" is not a node (nodes: {})", p, known));
      if (p == node) throw std::invalid_argument(fmt::format("grudge: \"{}\" cannot drop itself", node));
      g[node].insert(p);
    }
  }
  return g;
}

std::map<std::string, std::set<std::string>> Reachable(const Grudge& grudge, const std::vector<std::string>& nodes) {
  // A TCP exchange needs packets both ways, and a grudge drops on input: a
  // and b talk iff neither drops the other.
  auto drops = [&](const std::string& a, const std::string& b) {
    auto it = grudge.find(a);
    return it != grudge.end() && it->second.count(b) > 0;
  };
  std::map<std::string, std::set<std::string>> r;
  for (const auto& a : nodes) {
    for (const auto& b : nodes) {
      if (a == b || (!drops(a, b) && !drops(b, a))) r[a].insert(b);
    }
  }
  return r;
}

}  // namespace faultline
