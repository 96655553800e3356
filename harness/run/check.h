// Checks a stored history with a workload's checkers: what `faultline run`
// does after its final reads, and what `faultline check` repeats from disk.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reports/results.h"
#include "workloads/workload.h"

namespace faultline {

// The format of a history file: faultline's JSONL (README "History format"),
// Jepsen's history.edn or jepsen.log (README "faultline check").
enum class HistoryFormat { kJsonl, kJepsenEdn, kJepsenLog };

// "jsonl" (or "faultline"), "jepsen-edn", "jepsen-log"; nullopt for others.
std::optional<HistoryFormat> ParseHistoryFormat(std::string_view name);

struct CheckOptions {
  // Skip a malformed line with a warning naming its line number (counted in
  // RunResults::skipped_lines) instead of throwing HistoryError.
  bool lenient = false;
  // A checker whose input is absent from the history (Checker::AbsentInput)
  // is listed in RunResults::skipped instead of giving its unknown verdict:
  // `faultline check` on histories from elsewhere. `faultline run` keeps it
  // unknown (its adapter should have recorded that input).
  bool skip_absent = false;
  // Run only these checkers of the workload (names); empty: all of them. The
  // others are listed as skipped.
  std::vector<std::string> only;
  // A Jepsen history is converted op by op (checkers/jepsen) and read
  // strictly: `lenient` applies to JSONL only.
  HistoryFormat format = HistoryFormat::kJsonl;
};

// The names of the workload's checkers, in their order.
std::vector<std::string> CheckerNames(const Workload& workload);

// Streams the history once through every checker (ForEachOp: memory does not
// grow with the history's length). A truncated last line is skipped; its
// warning is added to `warnings` and it does not count as missing: it can
// only be the crashed run's last op, which the checkers already treat as
// unfinished. Malformed lines (lenient), index values missing or duplicated
// count as missing lines: checkers then say false only for anomalies those
// lines cannot explain (Checker::JudgeDespiteMissingLines), and the verdict
// is at best unknown. Throws std::invalid_argument for a name in
// `options.only` that is not one of the workload's checkers.
RunResults CheckHistoryFile(const std::filesystem::path& history, const Workload& workload,
                            std::vector<std::string>* warnings, const CheckOptions& options = {});

}  // namespace faultline
