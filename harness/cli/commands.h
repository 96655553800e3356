// The subcommands of `faultline` (README "Command line"), one file each:
//   run      run_command.cc      one test (or --test-count K), verdict, exit 0/1/2
//   check    check_command.cc    the checkers again on a stored history
//   suite    suite_command.cc    the nightly matrix of runs, worst verdict as exit code
//   report   report_command.cc   report.html / junit.xml / index.html again from files
//   heal     heal_command.cc     remove every fault from running local clusters
//   cleanup  cleanup_command.cc  remove what crashed runs left behind
//   cluster  cluster_command.cc  up|down|status: local clusters by hand
// Each Add*Command adds its subcommand and flags to `app` and appends what
// runs when it is the one given (faultline_main.cc calls it after parsing).
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

namespace CLI {
class App;
}

namespace faultline {

// Exit code for bad input or a harness failure (ARCHITECTURE.md "Exit codes").
inline constexpr int kExitBadInput = 2;

struct Command {
  CLI::App* app;             // parsed() tells whether it was given
  std::function<int()> run;  // returns the exit code
};

void AddRunCommand(CLI::App& app, std::vector<Command>& commands);
void AddCleanupCommand(CLI::App& app, std::vector<Command>& commands);
void AddCheckCommand(CLI::App& app, std::vector<Command>& commands);
void AddSuiteCommand(CLI::App& app, std::vector<Command>& commands);
void AddHealCommand(CLI::App& app, std::vector<Command>& commands);
void AddReportCommand(CLI::App& app, std::vector<Command>& commands);
void AddClusterCommand(CLI::App& app, std::vector<Command>& commands);

// --lin-time-limit-s, --lin-memory-mb and --all-keys (the linearizable
// checker's budget; run_command.cc): each given sets its config key in `overrides`.
void AddLinearizableFlags(CLI::App* app, nlohmann::json* overrides);

// Makes SIGINT and SIGTERM set the returned flag instead of killing the
// process, so a run tears its cluster down first (a second signal prints that
// cleanup is still going); ignores SIGPIPE. Idempotent.
std::atomic<bool>& InstallInterruptHandlers();

}  // namespace faultline
