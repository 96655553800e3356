// Process faults through the Database adapter: one SignalFault, of two
// kinds. kill sends SIGKILL and restarts on Stop; pause sends SIGSTOP and
// SIGCONT on Stop.
#pragma once

#include <string>
#include <vector>

#include "nemesis/fault.h"
#include "nemesis/nemesis_config.h"

namespace faultline {

// What a signal fault does to a node's store process and how it is undone;
// the two kinds are KillFault's and PauseFault's (process_faults.cc).
struct SignalKind {
  const char* name;                           // the fault's name: "kill", "pause"
  const char* undo_verb;                      // in errors: "restart", "resume"
  const char* undone_key;                     // Stop's and HealAll's detail: {"restarted": [...]}, {"resumed": [...]}
  void (Database::*inject)(const NodeInfo&);  // Kill (SIGKILL), Pause (SIGSTOP)
  void (Database::*undo)(const NodeInfo&);    // Restart, Resume (SIGCONT)
  // The Running() state `undo` applies to: a restart brings up a node that
  // is not running; a resume needs a process (stopped or not) to signal.
  bool undo_when_running;
  // Verify's probe: a node still shows the fault when (db.*probe)(node) ==
  // probe_faulted (kill: Running() false; pause: Paused() true).
  bool (Database::*probe)(const NodeInfo&);
  bool probe_faulted;
  const char* faulted_text;  // Verify's problem: "<node>: <db> is not running"
  const char* probe_text;    // "<node>: cannot tell whether <db> runs: <error>"
  // Whether HealAll reports only the nodes the probe shows faulted: a resume
  // goes to every running node, but only the stopped ones had been paused.
  bool heal_reports_faulted_only;
};

// Start signals the targets (drawn from config.targets) and records them;
// Stop undoes it on those of them the undo applies to; HealAll on every node.
// History details: Start {"targets"}, Stop and HealAll {undone_key: nodes}.
class SignalFault : public Fault {
 public:
  SignalFault(const SignalKind& kind, std::vector<NodeInfo> nodes, Database& db, const NemesisConfig& config);
  std::string name() const override { return kind_.name; }
  nlohmann::json Start(std::mt19937_64& rng) override;
  nlohmann::json Stop() override;
  nlohmann::json HealAll() override;
  std::vector<std::string> Verify() override;  // every node the probe shows faulted

 private:
  // Undoes the fault on the nodes in `names` (every node when null).
  nlohmann::json Undo(const std::vector<std::string>* names, bool report_faulted_only);

  const SignalKind& kind_;
  std::vector<NodeInfo> nodes_;
  Database& db_;
  NemesisConfig config_;
  std::vector<std::string> signalled_;  // the last Start's targets, until Stop
};

// SIGKILL; Stop and HealAll restart nodes not running; Verify: every node running.
class KillFault : public SignalFault {
 public:
  KillFault(std::vector<NodeInfo> nodes, Database& db, const NemesisConfig& config);
};

// SIGSTOP; Stop and HealAll resume (SIGCONT); Verify: no store process stopped.
class PauseFault : public SignalFault {
 public:
  PauseFault(std::vector<NodeInfo> nodes, Database& db, const NemesisConfig& config);
};

}  // namespace faultline
