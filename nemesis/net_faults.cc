#include "nemesis/net_faults.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/base/wait.h"
#include "nemesis/fault_nodes.h"

namespace faultline {
namespace {

using namespace std::chrono_literals;

constexpr char kPartitionChain[] = "FAULTLINE-PARTITION";
constexpr char kLossChain[] = "FAULTLINE-LOSS";
constexpr std::chrono::milliseconds kCommandTimeout = 5s;

std::string Trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// `iptables -w args...` inside the node; throws HarnessError naming the node,
// the command and its stderr when it does not succeed.
std::string Iptables(const NodeInfo& node, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"iptables", "-w"};
  argv.insert(argv.end(), args.begin(), args.end());
  Remote* remote = node.net_remote != nullptr ? node.net_remote : node.remote;
  if (remote == nullptr) throw HarnessError(fmt::format("{}: no Remote to run iptables with", node.name));
  CommandResult r;
  try {
    r = remote->Run(argv, kCommandTimeout);
  } catch (const HarnessError& e) {
    throw HarnessError(fmt::format("{}: cannot run `{}`: {}", node.name, fmt::join(argv, " "), e.what()));
  }
  if (r.ok()) return r.out;
  const std::string how = r.timed_out ? fmt::format("timed out after {} ms", kCommandTimeout.count())
                                      : fmt::format("failed (exit {})", r.exit_code);
  throw HarnessError(fmt::format("{}: `{}` {}: {}", node.name, fmt::join(argv, " "), how, Trimmed(r.err)));
}

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

// What `iptables -S` shows of one of our chains on a node.
struct ChainState {
  bool exists = false;
  // Rules elsewhere that jump to it, as `-S` prints them minus the "-A"
  // ({"INPUT", "-j", chain}): exactly what `-D` needs to delete them.
  std::vector<std::vector<std::string>> jumps;
  // Per jump: whether it comes before every INPUT rule that is not ours.
  std::vector<bool> in_front;
  std::vector<std::string> lines;  // every line naming the chain
};

std::map<std::string, ChainState> ListChains(const NodeInfo& node, const std::vector<std::string>& chains) {
  std::map<std::string, ChainState> state;
  for (const auto& c : chains) state[c];
  std::istringstream in(Iptables(node, {"-S"}));
  bool foreign_input_rule = false;  // seen an INPUT rule other than a jump to a FAULTLINE- chain
  for (std::string line; std::getline(in, line);) {
    const std::vector<std::string> w = Words(line);
    if (w.size() < 2) continue;
    if (w[0] == "-A" && w[1] == "INPUT") {
      const bool ours = w.size() == 4 && w[2] == "-j" && w[3].rfind("FAULTLINE-", 0) == 0;
      if (!ours) foreign_input_rule = true;
    }
    if (w[0] == "-N" && state.count(w[1])) {
      state[w[1]].exists = true;
      state[w[1]].lines.push_back(Trimmed(line));
      continue;
    }
    if (w[0] != "-A" || state.count(w[1])) continue;  // rules inside our chains go with the chain
    for (size_t i = 2; i + 1 < w.size(); ++i) {
      if ((w[i] == "-j" || w[i] == "-g") && state.count(w[i + 1])) {
        state[w[i + 1]].jumps.emplace_back(w.begin() + 1, w.end());
        state[w[i + 1]].in_front.push_back(!foreign_input_rule);
        state[w[i + 1]].lines.push_back(Trimmed(line));
        break;
      }
    }
  }
  return state;
}

// Removes the chains and every jump to them; true when there was anything.
bool RemoveChains(const NodeInfo& node, const std::vector<std::string>& chains) {
  bool removed = false;
  for (auto& [chain, st] : ListChains(node, chains)) {
    for (const auto& jump : st.jumps) {
      std::vector<std::string> del = {"-D"};
      del.insert(del.end(), jump.begin(), jump.end());
      Iptables(node, del);
      removed = true;
    }
    if (st.exists) {
      Iptables(node, {"-F", chain});
      Iptables(node, {"-X", chain});
      removed = true;
    }
  }
  return removed;
}

// Makes `chain` hold exactly one rule per source (`-s src <match...>`) and
// INPUT jump to it exactly once, ahead of the node's own rules (so none of
// them, an ACCEPT say, lets packets past the fault).
void InstallChain(const NodeInfo& node, const std::string& chain, const std::vector<std::string>& sources,
                  const std::vector<std::string>& match) {
  ChainState st = ListChains(node, {chain})[chain];
  Iptables(node, {st.exists ? "-F" : "-N", chain});
  // One command for all sources: iptables expands "a,b,c" into one rule each.
  std::vector<std::string> add = {"-A", chain, "-s", fmt::format("{}", fmt::join(sources, ","))};
  add.insert(add.end(), match.begin(), match.end());
  Iptables(node, add);
  const std::vector<std::string> plain = {"INPUT", "-j", chain};
  bool kept = false;
  for (size_t i = 0; i < st.jumps.size(); ++i) {
    const auto& jump = st.jumps[i];
    if (jump == plain && st.in_front[i] && !kept) {
      kept = true;
      continue;
    }
    std::vector<std::string> del = {"-D"};
    del.insert(del.end(), jump.begin(), jump.end());
    Iptables(node, del);
  }
  if (!kept) Iptables(node, {"-I", "INPUT", "-j", chain});
}

// Runs fn for every node on its own thread; throws one HarnessError listing
// every node's failure.
void ForEachNode(const std::vector<NodeInfo>& nodes, const std::string& what, const std::function<void(size_t)>& fn) {
  const std::vector<std::string> failed = Failures(RunInParallel(nodes.size(), fn));
  if (!failed.empty()) {
    throw HarnessError(
        fmt::format("{} failed on {} of {} nodes: {}", what, failed.size(), nodes.size(), fmt::join(failed, "; ")));
  }
}

// Each node's peers' addresses, in node order; throws for a name that is not a node.
std::map<std::string, std::vector<std::string>> SourceAddresses(const std::vector<NodeInfo>& nodes,
                                                                const Grudge& grudge, const std::string& what) {
  std::map<std::string, std::string> address;
  for (const auto& n : nodes) address[n.name] = n.address;
  std::map<std::string, std::vector<std::string>> sources;
  for (const auto& [node, peers] : grudge) {
    if (!address.count(node)) throw HarnessError(fmt::format("{}: \"{}\" is not a node", what, node));
    for (const auto& p : peers) {
      if (!address.count(p)) throw HarnessError(fmt::format("{}: \"{}\" is not a node", what, p));
    }
  }
  for (const auto& n : nodes) {
    auto it = grudge.find(n.name);
    if (it == grudge.end()) continue;
    for (const auto& peer : nodes) {
      if (it->second.count(peer.name)) sources[n.name].push_back(peer.address);
    }
  }
  return sources;
}

// Installs `chain` with `match` on every node the grudge names, and removes
// it from the others.
void ApplyChain(const std::vector<NodeInfo>& nodes, const Grudge& grudge, const std::string& chain,
                const std::vector<std::string>& match, const std::string& what) {
  const auto sources = SourceAddresses(nodes, grudge, what);
  ForEachNode(nodes, what, [&](size_t i) {
    const NodeInfo& node = nodes[i];
    auto it = sources.find(node.name);
    if (it == sources.end() || it->second.empty()) {
      RemoveChains(node, {chain});
    } else {
      InstallChain(node, chain, it->second, match);
    }
  });
}

// The nodes where something was removed, in node order.
std::vector<std::string> HealChains(const std::vector<NodeInfo>& nodes, const std::vector<std::string>& chains,
                                    const std::string& what) {
  std::vector<char> removed(nodes.size(), 0);
  ForEachNode(nodes, what, [&](size_t i) { removed[i] = RemoveChains(nodes[i], chains); });
  std::vector<std::string> healed;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (removed[i]) healed.push_back(nodes[i].name);
  }
  return healed;
}

std::vector<std::string> VerifyChains(const std::vector<NodeInfo>& nodes, const std::vector<std::string>& chains) {
  std::vector<std::string> problems(nodes.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < nodes.size(); ++i) {
    threads.emplace_back([&, i] {
      const NodeInfo& node = nodes[i];
      try {
        std::vector<std::string> left;
        for (const auto& [chain, st] : ListChains(node, chains)) {
          left.insert(left.end(), st.lines.begin(), st.lines.end());
        }
        if (!left.empty()) {
          problems[i] = fmt::format("{}: faultline iptables rules left: {}", node.name, fmt::join(left, "; "));
        }
      } catch (const std::exception& e) {
        problems[i] = fmt::format("{}: cannot check iptables rules: {}", node.name, e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::string> out;
  for (auto& p : problems) {
    if (!p.empty()) out.push_back(std::move(p));
  }
  return out;
}

// Nodes that drop someone, in node order.
std::vector<std::string> Dropping(const std::vector<NodeInfo>& nodes, const Grudge& g) {
  std::vector<std::string> out;
  for (const auto& n : nodes) {
    auto it = g.find(n.name);
    if (it != g.end() && !it->second.empty()) out.push_back(n.name);
  }
  return out;
}

}  // namespace

void ApplyGrudge(const std::vector<NodeInfo>& nodes, const Grudge& grudge) {
  ApplyChain(nodes, grudge, kPartitionChain, {"-j", "DROP"}, "partition");
}

void ApplyLoss(const std::vector<NodeInfo>& nodes, const Grudge& pairs, double probability) {
  if (!(probability >= 0 && probability <= 1)) {
    throw HarnessError(fmt::format("loss: probability must be between 0 and 1, got {}", probability));
  }
  ApplyChain(nodes, pairs, kLossChain,
             {"-m", "statistic", "--mode", "random", "--probability", fmt::format("{:.6f}", probability), "-j", "DROP"},
             "loss");
}

void HealNetwork(const std::vector<NodeInfo>& nodes) {
  HealChains(nodes, {kPartitionChain, kLossChain}, "heal network");
}

std::vector<std::string> VerifyNetworkHealed(const std::vector<NodeInfo>& nodes) {
  return VerifyChains(nodes, {kPartitionChain, kLossChain});
}

ChainFault::ChainFault(const char* chain, std::vector<NodeInfo> nodes, const NemesisConfig& config)
    : chain_(chain), nodes_(std::move(nodes)), config_(config) {}

nlohmann::json ChainFault::Stop() { return {{"healed", HealChains(nodes_, {chain_}, name() + " heal")}}; }

nlohmann::json ChainFault::HealAll() { return Stop(); }

std::vector<std::string> ChainFault::Verify() { return VerifyChains(nodes_, {chain_}); }

PartitionFault::PartitionFault(std::vector<NodeInfo> nodes, const NemesisConfig& config)
    : ChainFault(kPartitionChain, std::move(nodes), config) {}

nlohmann::json PartitionFault::Start(std::mt19937_64& rng) {
  const NemesisConfig& c = config();
  if (c.partitions.empty()) throw HarnessError("partition: no partition kinds configured");
  const std::string kind = c.partitions[rng() % c.partitions.size()];
  const std::vector<std::string> names = NodeNames(nodes());
  Grudge g;
  try {
    g = kind == "grudge" ? GrudgeFromJson(c.grudge, names) : MakeGrudge(kind, names, rng);
  } catch (const std::invalid_argument& e) {
    throw HarnessError(fmt::format("partition: {}", e.what()));
  }
  ApplyGrudge(nodes(), g);
  return {{"kind", kind}, {"grudge", GrudgeToJson(g)}, {"targets", Dropping(nodes(), g)}};
}

LossFault::LossFault(std::vector<NodeInfo> nodes, const NemesisConfig& config)
    : ChainFault(kLossChain, std::move(nodes), config) {}

nlohmann::json LossFault::Start(std::mt19937_64& rng) {
  const std::vector<std::string> targets = ChooseTargets("loss", nodes(), config(), rng);
  const std::vector<std::string> names = NodeNames(nodes());
  const std::set<std::string> hit(targets.begin(), targets.end());
  const bool everyone = hit.size() == names.size();
  Grudge pairs;
  for (const auto& a : names) {
    for (const auto& b : names) {
      if (a != b && (everyone || hit.count(a) != hit.count(b))) pairs[a].insert(b);
    }
  }
  const double probability = config().loss_probability;
  ApplyLoss(nodes(), pairs, probability);
  return {{"targets", targets}, {"probability", probability}, {"pairs", GrudgeToJson(pairs)}};
}

}  // namespace faultline
