// Network faults with iptables inside each node, in chains of faultline's
// own on INPUT, so healing removes only our rules and leaves the node's
// other rules intact:
//   FAULTLINE-PARTITION  -s <peer> -j DROP for each peer the node's grudge names
//   FAULTLINE-LOSS       -s <peer> -m statistic --mode random --probability p -j DROP
// (No delay faults: this kernel has no netem.)
#pragma once

#include <vector>

#include "nemesis/fault.h"
#include "nemesis/grudge.h"
#include "nemesis/nemesis_config.h"

namespace faultline {

// Installs `grudge` (replacing any partition rules). Throws HarnessError.
void ApplyGrudge(const std::vector<NodeInfo>& nodes, const Grudge& grudge);
// Drops `probability` of packets each node in `grudge` receives from the named peers.
void ApplyLoss(const std::vector<NodeInfo>& nodes, const Grudge& pairs, double probability);
// Removes both chains (and their jumps) from every node. Throws listing failures.
void HealNetwork(const std::vector<NodeInfo>& nodes);
// Problems: a node where a faultline chain or jump is still present.
std::vector<std::string> VerifyNetworkHealed(const std::vector<NodeInfo>& nodes);

// A fault whose rules live in one faultline chain of its own. Stop and
// HealAll remove that chain only, so one fault never heals the other's
// (HealNetwork removes both); Verify checks the chain is gone.
class ChainFault : public Fault {
 public:
  nlohmann::json Stop() override;     // {"healed": nodes whose chain was removed}
  nlohmann::json HealAll() override;  // the same as Stop
  std::vector<std::string> Verify() override;

 protected:
  ChainFault(const char* chain, std::vector<NodeInfo> nodes, const NemesisConfig& config);
  const std::vector<NodeInfo>& nodes() const { return nodes_; }
  const NemesisConfig& config() const { return config_; }

 private:
  const char* chain_;
  std::vector<NodeInfo> nodes_;
  NemesisConfig config_;
};

class PartitionFault : public ChainFault {
 public:
  PartitionFault(std::vector<NodeInfo> nodes, const NemesisConfig& config);
  std::string name() const override { return "partition"; }
  nlohmann::json Start(std::mt19937_64& rng) override;  // {"kind","grudge","targets"}
};

class LossFault : public ChainFault {
 public:
  LossFault(std::vector<NodeInfo> nodes, const NemesisConfig& config);
  std::string name() const override { return "loss"; }
  // Targets from config.targets; loss between targets and the other nodes
  // (both directions); all nodes when the targets are all of them.
  nlohmann::json Start(std::mt19937_64& rng) override;  // {"targets","probability","pairs"}
};

}  // namespace faultline
