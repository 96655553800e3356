#include "nemesis/process_faults.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <stdexcept>

#include "harness/base/harness_error.h"
#include "nemesis/targets.h"

namespace faultline {

namespace {

std::vector<std::string> Names(const std::vector<NodeInfo>& nodes) {
  std::vector<std::string> names;
  for (const NodeInfo& node : nodes) names.push_back(node.name);
  return names;
}

// The nodes a Start acts on: a spec drawn from config.targets, then the nodes.
std::vector<std::string> ChooseTargets(const std::string& fault, const std::vector<NodeInfo>& nodes,
                                       const NemesisConfig& config, std::mt19937_64& rng) {
  if (config.targets.empty()) throw HarnessError(fault + ": no target specs configured");
  const std::string& spec = config.targets[rng() % config.targets.size()];
  try {
    return PickTargets(spec, Names(nodes), rng);
  } catch (const std::invalid_argument& e) {
    throw HarnessError(fmt::format("{}: {}", fault, e.what()));
  }
}

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Runs `act` on each node in `names` (all nodes when null), whatever fails
// on the others; throws one HarnessError listing every failure.
void ForEach(const std::vector<NodeInfo>& nodes, const std::vector<std::string>* names, const std::string& what,
             const std::function<void(const NodeInfo&)>& act) {
  std::vector<std::string> failures;
  for (const NodeInfo& node : nodes) {
    if (names != nullptr && !Contains(*names, node.name)) continue;
    try {
      act(node);
    } catch (const std::exception& e) {
      failures.push_back(fmt::format("{}: {}", node.name, e.what()));
    }
  }
  if (!failures.empty()) throw HarnessError(fmt::format("{} failed: {}", what, fmt::join(failures, "; ")));
}

}  // namespace

KillFault::KillFault(std::vector<NodeInfo> nodes, Database& db, const NemesisConfig& config)
    : nodes_(std::move(nodes)), db_(db), config_(config) {}

nlohmann::json KillFault::Start(std::mt19937_64& rng) {
  std::vector<std::string> targets = ChooseTargets("kill", nodes_, config_, rng);
  killed_ = targets;  // before acting, so Stop restarts whatever did die
  ForEach(nodes_, &targets, "kill", [&](const NodeInfo& node) { db_.Kill(node); });
  return {{"targets", targets}};
}

nlohmann::json KillFault::Stop() {
  std::vector<std::string> restarted;
  const std::vector<std::string> killed = std::move(killed_);
  killed_.clear();  // what fails to restart is HealAll's (and Verify's) to find
  ForEach(nodes_, &killed, "restart", [&](const NodeInfo& node) {
    if (db_.Running(node)) return;  // a kill that failed left it up
    db_.Restart(node);
    restarted.push_back(node.name);
  });
  return {{"restarted", restarted}};
}

nlohmann::json KillFault::HealAll() {
  std::vector<std::string> restarted;
  killed_.clear();
  ForEach(nodes_, nullptr, "restart", [&](const NodeInfo& node) {
    if (db_.Running(node)) return;
    db_.Restart(node);
    restarted.push_back(node.name);
  });
  return {{"restarted", restarted}};
}

std::vector<std::string> KillFault::Verify() {
  std::vector<std::string> problems;
  for (const NodeInfo& node : nodes_) {
    try {
      if (!db_.Running(node)) problems.push_back(fmt::format("{}: {} is not running", node.name, db_.name()));
    } catch (const std::exception& e) {
      problems.push_back(fmt::format("{}: cannot tell whether {} runs: {}", node.name, db_.name(), e.what()));
    }
  }
  return problems;
}

PauseFault::PauseFault(std::vector<NodeInfo> nodes, Database& db, const NemesisConfig& config)
    : nodes_(std::move(nodes)), db_(db), config_(config) {}

nlohmann::json PauseFault::Start(std::mt19937_64& rng) {
  std::vector<std::string> targets = ChooseTargets("pause", nodes_, config_, rng);
  paused_ = targets;  // before acting, so Stop resumes whatever did stop
  ForEach(nodes_, &targets, "pause", [&](const NodeInfo& node) { db_.Pause(node); });
  return {{"targets", targets}};
}

nlohmann::json PauseFault::Stop() {
  std::vector<std::string> resumed;
  const std::vector<std::string> paused = std::move(paused_);
  paused_.clear();
  ForEach(nodes_, &paused, "resume", [&](const NodeInfo& node) {
    if (!db_.Running(node)) return;  // gone (or never started): nothing to resume
    db_.Resume(node);
    resumed.push_back(node.name);
  });
  return {{"resumed", resumed}};
}

nlohmann::json PauseFault::HealAll() {
  std::vector<std::string> resumed;
  paused_.clear();
  ForEach(nodes_, nullptr, "resume", [&](const NodeInfo& node) {
    // A paused process counts as running. SIGCONT goes to every running
    // node, stopped or not (it is harmless to a running one); only the
    // stopped ones are reported.
    if (!db_.Running(node)) return;
    bool was_paused = true;  // when the state cannot be read, resume anyway
    try {
      was_paused = db_.Paused(node);
    } catch (const std::exception&) {
    }
    db_.Resume(node);
    if (was_paused) resumed.push_back(node.name);
  });
  return {{"resumed", resumed}};
}

std::vector<std::string> PauseFault::Verify() {
  std::vector<std::string> problems;
  for (const NodeInfo& node : nodes_) {
    try {
      if (db_.Paused(node)) problems.push_back(fmt::format("{}: {} is stopped (SIGSTOP)", node.name, db_.name()));
    } catch (const std::exception& e) {
      problems.push_back(fmt::format("{}: cannot tell whether {} is stopped: {}", node.name, db_.name(), e.what()));
    }
  }
  return problems;
}

}  // namespace faultline
