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

class PartitionFault : public Fault {
 public:
  PartitionFault(std::vector<NodeInfo> nodes, const NemesisConfig& config);
  std::string name() const override { return "partition"; }
  nlohmann::json Start(std::mt19937_64& rng) override;  // {"kind","grudge","targets"}
  nlohmann::json Stop() override;
  nlohmann::json HealAll() override;
  std::vector<std::string> Verify() override;

 private:
  std::vector<NodeInfo> nodes_;
  NemesisConfig config_;
};

class LossFault : public Fault {
 public:
  LossFault(std::vector<NodeInfo> nodes, const NemesisConfig& config);
  std::string name() const override { return "loss"; }
  // Targets from config.targets; loss between targets and the other nodes
  // (both directions); all nodes when the targets are all of them.
  nlohmann::json Start(std::mt19937_64& rng) override;  // {"targets","probability","pairs"}
  nlohmann::json Stop() override;
  nlohmann::json HealAll() override;
  std::vector<std::string> Verify() override;

 private:
  std::vector<NodeInfo> nodes_;
  NemesisConfig config_;
};

}  // namespace faultline
