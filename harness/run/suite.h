// `faultline suite plan.json`: the nightly entry point (README "faultline
// suite: nightly runs"). A plan is a matrix stores × workloads × nemeses;
// every combination is one run config (base ∪ store ∪ workload ∪ nemesis,
// later wins) repeated test-count times (seed, seed+1, ...). The whole plan
// is validated before anything runs. Runs go one after another, each in its
// own run directory; after each the store index is refreshed and the suite
// summary (STORE/suites/<name>/<timestamp>.json) rewritten. A run that did
// not inject every fault kind it asked for says so on its line ("valid — but
// no partition was injected (...)"), in its summary record ("fault_warning")
// and in the counts ("faults_missing").
//
// Not thread-safe: one suite per process. RunSuite owns nothing after it returns.
#pragma once

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "checkers/checker.h"
#include "harness/run/test_config.h"

namespace faultline {

struct SuiteCombination {
  std::string where;  // for people: stores[1] "dynastore-w1" × workloads[0] "set" × nemeses[0] "none"
  TestConfig config;  // resolved; config.test_count repetitions with seeds seed, seed+1, ...
};

struct SuitePlan {
  std::string name;
  std::filesystem::path source;  // the plan file
  std::filesystem::path store_dir;
  std::vector<SuiteCombination> combinations;  // stores outermost, nemeses innermost

  int total_runs() const;
};

// Validates the whole plan. `overrides` (run config keys, e.g. {"store-dir": ...}
// from the command line) win over the plan. Throws ConfigError naming the
// plan file, the entry (e.g. `stores[1]`) and the field.
SuitePlan ParseSuitePlan(const nlohmann::json& plan, const std::string& source, const nlohmann::json& overrides,
                         uint64_t seed_if_missing);
SuitePlan LoadSuitePlan(const std::filesystem::path& file, const nlohmann::json& overrides, uint64_t seed_if_missing);

// --dry-run: one line per run that RunSuite would make, then a "warning: " line per FaultPlanWarnings of each
// combination (a nemesis whose schedule cannot inject what it asks for), which RunSuite also prints first.
void PrintSuitePlan(const SuitePlan& plan, std::ostream& out);
// "<test name>: <warning>" for each combination's FaultPlanWarnings.
std::vector<std::string> SuitePlanWarnings(const SuitePlan& plan);

struct SuiteOptions {
  const std::atomic<bool>* interrupted = nullptr;  // Ctrl-C: the current run ends unknown, the rest are not run
  std::ostream* out = nullptr;                     // one line per run; may be null
  bool verbose = false;                            // also each run's own progress lines
  std::filesystem::path junit;                     // combined JUnit file; empty = none
};

struct SuiteOutcome {
  Validity worst = Validity::kTrue;  // of every run; unknown when interrupted or a run was not made
  std::filesystem::path summary_file;
  std::vector<std::filesystem::path> run_dirs;
  bool interrupted = false;
};

// Never throws for a run's failure (that run is unknown); throws HarnessError
// only when the suite summary cannot be written at all.
SuiteOutcome RunSuite(const SuitePlan& plan, const SuiteOptions& options);

}  // namespace faultline
