// results.json: the machine-readable verdict of a run (README, "results.json").
//   {"valid": true | false | "unknown",
//    "summary": "one sentence",
//    "incomplete": false,            true when the run did not finish its phases
//    "error": "...",                 only when the harness itself failed
//    "checkers": {"set": {"valid": ..., "summary": ..., ...details}},
//    "skipped": {"convergence": "no replica-read rounds in the history"},   checkers that did not run, and why
//    "history": {"skipped_lines": N, "missing_index_count": N, "missing_index": [first 10],
//                "duplicate_index_count": N, "duplicate_index": [first 10]},
//    "ops": {"ok": N, "fail": N, "info": N}}
// "valid" is the worst of the checkers' (false beats unknown beats true),
// and "unknown" whenever the run is incomplete or failed, no checker ran, or
// the history misses lines (skipped as malformed, index holes or duplicates).
// A skipped checker is not in "checkers" (whose "valid" stays true, false or
// "unknown") and does not make the verdict unknown.
#pragma once

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "checkers/checker.h"
#include "checkers/history_index.h"

namespace faultline {

struct RunResults {
  std::vector<std::pair<std::string, CheckResult>> checkers;  // name, result
  bool incomplete = false;
  std::string error;  // the harness's own failure, empty when none
  int64_t ok = 0, fail = 0, info = 0;
  std::vector<std::pair<std::string, std::string>> skipped;  // checker name, why it did not run
  int64_t skipped_lines = 0;                                 // malformed lines skipped (not a truncated last one)
  HistoryIndexReport index;                                  // index values missing or duplicated

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
