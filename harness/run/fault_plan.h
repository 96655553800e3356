// Fault plan: does a run's config let the nemesis inject what it asks for,
// and, after the run, did it (issue 20: a "partition" column that never
// partitions must say so)?
//   before: FaultPlanWarnings, from the config alone (nothing is created):
//           the schedule has no window in the time limit (interval ≥ time
//           limit), fewer windows than requested kinds, or a kind that cannot
//           act on these nodes or this store;
//   after:  ExplainFaultCoverage fills results.json's "faults" warning from
//           what the history shows was injected, with the reason in numbers.
// Pure functions of their arguments; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "harness/run/test_config.h"
#include "reports/results.h"

namespace faultline {

// One line per problem, each with the numbers and what to change, e.g.
// "nemesis partition: no fault can start: the first starts after nemesis-interval 10 s, but the main phase lasts
// time-limit 8 s (interval 10 s ≥ time limit 8 s); give --nemesis-interval below 8 (e.g. 2.6), a --time-limit
// above 10, or --nemesis-final S". Empty when the plan can inject every kind (the seeded pick may still miss one).
std::vector<std::string> FaultPlanWarnings(const TestConfig& config);

// Sets coverage->requested from the config and coverage->warning when a
// requested kind was never injected (coverage->injected from the history):
// "no partition was injected (interval 10 s ≥ time limit 8 s)",
// "no kill was injected (all 3 injections failed)"; a kind that cannot act in
// this run (FaultPlanWarnings) counts as never injected whatever the history
// says. `stopped_early`: the run ended before its main phase did (Ctrl-C, a
// failure), which is then the reason given.
void ExplainFaultCoverage(const TestConfig& config, FaultCoverage* coverage, bool stopped_early = false);

}  // namespace faultline
