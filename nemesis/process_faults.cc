#include "nemesis/process_faults.h"

#include <fmt/format.h>

#include <utility>

#include "nemesis/fault_nodes.h"

namespace faultline {

namespace {

constexpr SignalKind kKill = {
    .name = "kill",
    .undo_verb = "restart",
    .undone_key = "restarted",
    .inject = &Database::Kill,
    .undo = &Database::Restart,
    .undo_when_running = false,
    .probe = &Database::Running,
    .probe_faulted = false,
    .faulted_text = "is not running",
    .probe_text = "runs",
    .heal_reports_faulted_only = false,  // every node it restarts was down
};

constexpr SignalKind kPause = {
    .name = "pause",
    .undo_verb = "resume",
    .undone_key = "resumed",
    .inject = &Database::Pause,
    .undo = &Database::Resume,
    .undo_when_running = true,  // a paused process counts as running
    .probe = &Database::Paused,
    .probe_faulted = true,
    .faulted_text = "is stopped (SIGSTOP)",
    .probe_text = "is stopped",
    .heal_reports_faulted_only = true,
};

}  // namespace

SignalFault::SignalFault(const SignalKind& kind, std::vector<NodeInfo> nodes, Database& db, const NemesisConfig& config)
    : kind_(kind), nodes_(std::move(nodes)), db_(db), config_(config) {}

nlohmann::json SignalFault::Start(std::mt19937_64& rng) {
  std::vector<std::string> targets = ChooseTargets(kind_.name, nodes_, config_, rng);
  signalled_ = targets;  // before acting, so Stop undoes it wherever it did land
  ForEachNode(nodes_, &targets, kind_.name, [&](const NodeInfo& node) { (db_.*kind_.inject)(node); });
  return {{"targets", targets}};
}

nlohmann::json SignalFault::Stop() {
  const std::vector<std::string> signalled = std::move(signalled_);
  signalled_.clear();  // what fails to be undone is HealAll's (and Verify's) to find
  return Undo(&signalled, false);
}

nlohmann::json SignalFault::HealAll() {
  signalled_.clear();
  return Undo(nullptr, kind_.heal_reports_faulted_only);
}

nlohmann::json SignalFault::Undo(const std::vector<std::string>* names, bool report_faulted_only) {
  std::vector<std::string> undone;
  ForEachNode(nodes_, names, kind_.undo_verb, [&](const NodeInfo& node) {
    // A kill that failed left the node up; a paused node that is gone (or
    // never started) has nothing to resume.
    if (db_.Running(node) != kind_.undo_when_running) return;
    bool faulted = true;  // reported when its state cannot be read
    if (report_faulted_only) {
      try {
        faulted = (db_.*kind_.probe)(node) == kind_.probe_faulted;
      } catch (const std::exception&) {
      }
    }
    (db_.*kind_.undo)(node);
    if (faulted) undone.push_back(node.name);
  });
  return {{kind_.undone_key, undone}};
}

std::vector<std::string> SignalFault::Verify() {
  std::vector<std::string> problems;
  for (const NodeInfo& node : nodes_) {
    try {
      if ((db_.*kind_.probe)(node) == kind_.probe_faulted) {
        problems.push_back(fmt::format("{}: {} {}", node.name, db_.name(), kind_.faulted_text));
      }
    } catch (const std::exception& e) {
      problems.push_back(
          fmt::format("{}: cannot tell whether {} {}: {}", node.name, db_.name(), kind_.probe_text, e.what()));
    }
  }
  return problems;
}

KillFault::KillFault(std::vector<NodeInfo> nodes, Database& db, const NemesisConfig& config)
    : SignalFault(kKill, std::move(nodes), db, config) {}

PauseFault::PauseFault(std::vector<NodeInfo> nodes, Database& db, const NemesisConfig& config)
    : SignalFault(kPause, std::move(nodes), db, config) {}

}  // namespace faultline
