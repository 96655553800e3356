// results.json: the machine-readable verdict of a run (README, "results.json").
//   {"valid": true | false | "unknown",
//    "summary": "one sentence",
//    "incomplete": false,            true when the run did not finish its phases
//    "error": "...",                 only when the harness itself failed
//    "checkers": {"set": {"valid": ..., "summary": ..., ...details}},
//    "skipped": {"convergence": "no replica-read rounds in the history"},   checkers that did not run, and why
//    "history": {"skipped_lines": N, "missing_index_count": N, "missing_index": [first 10],
//                "duplicate_index_count": N, "duplicate_index": [first 10]},
//    "ops": {"ok": N, "fail": N, "info": N},
//    "faults": {"requested": ["partition"], "injected": {"partition": 0}, "failed": {"partition": 0},
//               "warning": "no partition was injected (interval 10 s ≥ time limit 8 s)" | null}}
// "faults" says what the nemesis actually did: "injected" counts the start
// ops of each requested kind (and any other the history holds) that did not
// fail; "warning" is set when a nemesis was requested and some requested kind
// was never injected. It does not change "valid": the checkers judged what
// happened; it says that what happened is less than what was asked.
// Anomaly entries in "checkers" carry "faults" (checkers/fault_context.h)
// when the history has an op for them.
// "valid" is the worst of the checkers' (false beats unknown beats true),
// and "unknown" whenever the run is incomplete or failed, no checker ran, or
// the history misses lines (skipped as malformed, index holes or duplicates).
// A skipped checker is not in "checkers" (whose "valid" stays true, false or
// "unknown") and does not make the verdict unknown.
#pragma once

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "checkers/checker.h"
#include "checkers/history_index.h"

namespace faultline {

// What the nemesis was asked for and what it did (results.json "faults").
struct FaultCoverage {
  std::vector<std::string> requested;               // fault kinds of the config; empty: none or unknown
  std::map<std::string, int64_t> injected, failed;  // start ops without / with an error, per kind
  std::string warning;  // "no partition was injected (interval 10 s ≥ time limit 8 s)"; empty when all were
  nlohmann::json ToJson() const;
};

// "valid", or with a fault warning "valid — but no partition was injected (interval 10 s ≥ time limit 8 s)"
// ("invalid — and no kill was injected (...)"): the verdict in words, as the verdict and suite lines print it.
std::string VerdictWords(Validity v, const std::string& fault_warning);

// results.json's "faults"."warning", or "" (none, or a results.json from before issue 20).
std::string FaultWarningOf(const nlohmann::json& results);

struct RunResults {
  std::vector<std::pair<std::string, CheckResult>> checkers;  // name, result
  bool incomplete = false;
  std::string error;  // the harness's own failure, empty when none
  int64_t ok = 0, fail = 0, info = 0;
  std::vector<std::pair<std::string, std::string>> skipped;  // checker name, why it did not run
  int64_t skipped_lines = 0;                                 // malformed lines skipped (not a truncated last one)
  HistoryIndexReport index;                                  // index values missing or duplicated
  std::optional<FaultCoverage> faults;                       // null: not known (no history read)

  // Lines the history should hold but does not (or holds twice). A skipped
  // line usually leaves its index missing too, so the two are not added.
  int64_t missing_lines() const { return std::max(skipped_lines, index.missing_count) + index.duplicate_count; }

  Validity valid() const;
  std::string summary() const;
  nlohmann::json ToJson() const;
};

// Writes atomically (temp file, fsync, rename): a crash leaves the old file
// or the new one, never half of one. Throws std::runtime_error naming the path.
void WriteJsonFile(const std::filesystem::path& path, const nlohmann::json& j);

}  // namespace faultline
