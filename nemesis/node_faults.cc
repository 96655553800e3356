#include "nemesis/node_faults.h"

#include <fmt/format.h>

#include <cmath>
#include <functional>

#include "harness/base/harness_error.h"
#include "nemesis/fault_nodes.h"

namespace faultline {

// One whole-node fault: how it is made, how it is undone on a node that
// still shows it, and how that is seen.
struct NodeFaultKind {
  const char* name;
  const char* undone_key;
  std::function<void(const NodeInfo&, Database&, const NemesisConfig&)> inject;
  std::function<void(const NodeInfo&, Database&)> undo;
  std::function<bool(const NodeInfo&)> faulted;
  const char* faulted_text;  // Verify: "<node>: <faulted_text>"
};

namespace {

const NodeFaultKind kKinds[] = {
    {"crash", "booted", [](const NodeInfo& n, Database&, const NemesisConfig&) { n.machine->Crash(); },
     [](const NodeInfo& n, Database& db) {
       n.machine->Boot();
       db.Restart(n);  // from its data directory, which survived
     },
     [](const NodeInfo& n) { return !n.machine->Up(); }, "is down (crashed)"},
    {"freeze", "thawed", [](const NodeInfo& n, Database&, const NemesisConfig&) { n.machine->Freeze(); },
     [](const NodeInfo& n, Database&) { n.machine->Thaw(); }, [](const NodeInfo& n) { return n.machine->Frozen(); },
     "is frozen"},
    {"starve", "restored",
     [](const NodeInfo& n, Database&, const NemesisConfig& c) { n.machine->SetCpuLimit(c.starve_cpus); },
     [](const NodeInfo& n, Database&) { n.machine->SetCpuLimit(n.machine->BaseCpuLimit()); },
     [](const NodeInfo& n) {
       return n.machine->Up() && std::abs(n.machine->CpuLimit() - n.machine->BaseCpuLimit()) > 1e-3;
     },
     "still has a lowered CPU quota"},
};

const NodeFaultKind& KindNamed(const std::string& name) {
  for (const auto& k : kKinds) {
    if (name == k.name) return k;
  }
  throw HarnessError("unknown whole-node fault " + name);
}

}  // namespace

NodeFault::NodeFault(const std::string& name, std::vector<NodeInfo> nodes, Database& db, const NemesisConfig& config)
    : kind_(KindNamed(name)), nodes_(std::move(nodes)), db_(db), config_(config) {
  for (const NodeInfo& n : nodes_) {
    if (n.machine == nullptr) {
      throw HarnessError(
          fmt::format("{} needs container nodes (faultline run --containers); {} is not one", name, n.name));
    }
  }
}

std::string NodeFault::name() const { return kind_.name; }

nlohmann::json NodeFault::Start(std::mt19937_64& rng) {
  std::vector<std::string> targets = ChooseTargets(kind_.name, nodes_, config_, rng);
  faulted_ = targets;  // before acting, so Stop undoes it wherever it did land
  ForEachNode(nodes_, &targets, kind_.name, [&](const NodeInfo& node) { kind_.inject(node, db_, config_); });
  return {{"targets", targets}};
}

nlohmann::json NodeFault::Stop() {
  const std::vector<std::string> faulted = std::move(faulted_);
  faulted_.clear();  // what fails to be undone is HealAll's (and Verify's) to find
  return Undo(&faulted);
}

nlohmann::json NodeFault::HealAll() {
  faulted_.clear();
  return Undo(nullptr);
}

nlohmann::json NodeFault::Undo(const std::vector<std::string>* names) {
  std::vector<std::string> undone;
  ForEachNode(nodes_, names, std::string("undoing ") + kind_.name, [&](const NodeInfo& node) {
    if (!kind_.faulted(node)) return;
    kind_.undo(node, db_);
    undone.push_back(node.name);
  });
  return {{kind_.undone_key, undone}};
}

std::vector<std::string> NodeFault::Verify() {
  std::vector<std::string> problems;
  for (const NodeInfo& node : nodes_) {
    try {
      if (kind_.faulted(node)) problems.push_back(fmt::format("{}: {}", node.name, kind_.faulted_text));
    } catch (const std::exception& e) {
      problems.push_back(fmt::format("{}: cannot tell whether it {}: {}", node.name, kind_.faulted_text, e.what()));
    }
  }
  return problems;
}

}  // namespace faultline
