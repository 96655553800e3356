// Runner: one test run from start to verdict (ARCHITECTURE.md):
//   create the cluster → install and start the store → main phase (workers
//   driven by the generator, history appended as ops happen) → heal →
//   quiesce → final reads from every node → tear down (logs collected) →
//   check the stored history → results.json → verdict.
// Whatever happens (Ctrl-C, SIGTERM, an exception, a node that will not
// start) the runner stops the generator, tears the cluster down, keeps the
// history and writes results.json with what it knows.
#pragma once

#include <atomic>
#include <filesystem>
#include <ostream>
#include <string>

#include "checkers/checker.h"
#include "harness/run/test_config.h"

namespace faultline {

struct RunOptions {
  // Set (by a signal handler) to stop the run early; the run then ends unknown.
  const std::atomic<bool>* interrupted = nullptr;
  std::ostream* out = nullptr;     // progress and the verdict line; may be null
  bool progress_in_place = false;  // terminal: rewrite one progress line
};

struct RunOutcome {
  Validity valid = Validity::kUnknown;
  std::filesystem::path run_dir;
  std::string summary;
  // Set when a nemesis was requested and some requested kind was never injected (results.json "faults"):
  // "no partition was injected (interval 10 s ≥ time limit 8 s)".
  std::string fault_warning;
};

// Never throws: failures of the rig end the run as unknown (results.json says why).
RunOutcome RunTest(const TestConfig& config, const RunOptions& options);

// 0 valid, 1 invalid, 2 unknown (ARCHITECTURE.md "Exit code").
int ExitCodeFor(Validity v);

}  // namespace faultline
