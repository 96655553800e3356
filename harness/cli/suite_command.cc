// `faultline suite PLAN`: the nightly matrix of runs, the worst verdict as the
// exit code (README "faultline suite: nightly runs").
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <random>

#include "harness/cli/commands.h"
#include "harness/nodes/local/local_cluster.h"
#include "harness/run/runner.h"
#include "harness/run/suite.h"

namespace faultline {
namespace {

struct SuiteFlags {
  std::string plan, store_dir, junit;
  bool dry_run = false, verbose = false;
};

int SuiteCommand(const SuiteFlags& flags) {
  SuitePlan plan;
  try {
    nlohmann::json overrides = nlohmann::json::object();
    if (!flags.store_dir.empty()) overrides["store-dir"] = flags.store_dir;
    plan = LoadSuitePlan(flags.plan, overrides, std::random_device{}());
    if (flags.dry_run) {
      PrintSuitePlan(plan, std::cout);
      return 0;
    }
    RequireNetAdmin();  // before any run directory exists
  } catch (const std::exception& e) {
    std::cerr << "faultline suite: " << e.what() << std::endl;
    return kExitBadInput;
  }
  SuiteOptions options;
  options.interrupted = &InstallInterruptHandlers();
  options.out = &std::cout;
  options.verbose = flags.verbose;
  options.junit = flags.junit;
  return ExitCodeFor(RunSuite(plan, options).worst);
}

}  // namespace

void AddSuiteCommand(CLI::App& app, std::vector<Command>& commands) {
  auto flags = std::make_shared<SuiteFlags>();
  CLI::App* suite = app.add_subcommand("suite",
                                       "run a matrix of tests from a plan (stores x workloads x nemeses), "
                                       "one after another; exit with the worst verdict 0/1/2");
  suite->add_option("plan", flags->plan, "plan file (JSON; README \"faultline suite\")")->required();
  suite->add_option("--store-dir", flags->store_dir, "where run directories go (overrides the plan's store-dir)");
  suite->add_option("--junit", flags->junit, "also write one JUnit XML file with a <testsuite> per run");
  suite->add_flag("--dry-run", flags->dry_run, "validate the plan and print its runs without running them");
  suite->add_flag("--verbose", flags->verbose, "print each run's progress lines too");
  commands.push_back({suite, [flags] { return SuiteCommand(*flags); }});
}
}  // namespace faultline
