// results.json: the machine-readable verdict of a run (README, "results.json").
//   {"valid": true | false | "unknown",
//    "summary": "one sentence",
//    "incomplete": false,            true when the run did not finish its phases
//    "error": "...",                 only when the harness itself failed
//    "checkers": {"set": {"valid": ..., "summary": ..., ...details}},
//    "ops": {"ok": N, "fail": N, "info": N}}
// "valid" is the worst of the checkers' (false beats unknown beats true),
// and "unknown" whenever the run is incomplete or failed.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "checker.h"

namespace faultline {

struct RunResults {
  std::vector<std::pair<std::string, CheckResult>> checkers;  // name, result
  bool incomplete = false;
  std::string error;  // the harness's own failure, empty when none
  int64_t ok = 0, fail = 0, info = 0;

  Validity valid() const;
  std::string summary() const;
  nlohmann::json ToJson() const;
};

// Writes atomically (temp file, fsync, rename): a crash leaves the old file
// or the new one, never half of one. Throws std::runtime_error naming the path.
void WriteJsonFile(const std::filesystem::path& path, const nlohmann::json& j);

}  // namespace faultline
