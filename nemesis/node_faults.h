// Whole-node faults, on nodes that are machines of their own (container
// nodes: NodeInfo::machine). Unlike kill and pause, which hit the store's
// process, they hit every process of the node:
//   crash:  power cut (every process SIGKILLed at once); Stop boots the node
//           and restarts the store from its data directory.
//   freeze: the node's cgroup is frozen; Stop thaws it.
//   starve: the node's CPU quota drops to config.starve_cpus cores (a slow
//           node, not a dead one); Stop restores the limit it was made with.
// History details: Start {"targets"}, Stop and HealAll {"booted" | "thawed" | "restored": [nodes]}.
#pragma once

#include <string>
#include <vector>

#include "nemesis/fault.h"
#include "nemesis/nemesis_config.h"

namespace faultline {

struct NodeFaultKind;

class NodeFault : public Fault {
 public:
  // Throws HarnessError naming the first node that is not a machine of its
  // own ("crash needs container nodes (--containers); n1 is not one").
  NodeFault(const std::string& name, std::vector<NodeInfo> nodes, Database& db, const NemesisConfig& config);
  std::string name() const override;
  nlohmann::json Start(std::mt19937_64& rng) override;
  nlohmann::json Stop() override;
  nlohmann::json HealAll() override;
  std::vector<std::string> Verify() override;

 private:
  nlohmann::json Undo(const std::vector<std::string>* names);

  const NodeFaultKind& kind_;
  std::vector<NodeInfo> nodes_;
  Database& db_;
  NemesisConfig config_;
  std::vector<std::string> faulted_;  // the last Start's targets, until Stop
};

}  // namespace faultline
