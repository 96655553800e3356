#include "harness/run/check.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>

#include "checkers/fault_context.h"
#include "checkers/history_index.h"
#include "checkers/jepsen/jepsen_history.h"
#include "harness/run/anomaly_faults.h"

namespace faultline {

std::optional<HistoryFormat> ParseHistoryFormat(std::string_view name) {
  if (name == "jsonl" || name == "faultline") return HistoryFormat::kJsonl;
  if (name == "jepsen-edn") return HistoryFormat::kJepsenEdn;
  if (name == "jepsen-log") return HistoryFormat::kJepsenLog;
  return std::nullopt;
}

std::vector<std::string> CheckerNames(const Workload& workload) {
  std::vector<std::string> names;
  for (const auto& checker : workload.Checkers()) names.push_back(checker->name());
  return names;
}

RunResults CheckHistoryFile(const std::filesystem::path& path, const Workload& workload,
                            std::vector<std::string>* warnings, const CheckOptions& options) {
  RunResults results;
  std::vector<std::unique_ptr<Checker>> checkers = workload.Checkers();
  const std::vector<std::string> names = CheckerNames(workload);
  for (const std::string& name : options.only) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      throw std::invalid_argument(fmt::format("unknown checker \"{}\" for workload {}; its checkers are: {}", name,
                                              workload.name(), fmt::join(names, ", ")));
    }
  }
  std::erase_if(checkers, [&](const std::unique_ptr<Checker>& checker) {
    if (options.only.empty() ||
        std::find(options.only.begin(), options.only.end(), checker->name()) != options.only.end()) {
      return false;
    }
    results.skipped.emplace_back(checker->name(), "not chosen (--checkers)");
    return true;
  });
  HistoryIndexCheck index;
  FaultTimelineBuilder faults;
  // One pass over the file feeds every checker: the history is never held in memory.
  const auto add = [&](const Op& op) {
    index.Add(op.index);
    faults.Add(op);
    if (op.process != kNemesisProcess) {
      if (op.type == OpType::kOk) ++results.ok;
      if (op.type == OpType::kFail) ++results.fail;
      if (op.type == OpType::kInfo) ++results.info;
    }
    for (const auto& checker : checkers) checker->Add(op);
  };
  if (options.format == HistoryFormat::kJsonl) {
    ForEachOp(path, add, warnings, options.lenient, &results.skipped_lines);
  } else {
    ForEachJepsenOpInFile(path, options.format == HistoryFormat::kJepsenEdn ? JepsenFormat::kEdn : JepsenFormat::kLog,
                          add, warnings);
  }
  const FaultTimeline timeline = faults.Finish();
  results.index = index.Finish();
  const int64_t missing = results.missing_lines();
  for (const auto& checker : checkers) {
    if (options.skip_absent) {
      if (std::string why = checker->AbsentInput(); !why.empty()) {
        results.skipped.emplace_back(checker->name(), std::move(why));
        continue;
      }
    }
    const bool judges = missing > 0 && checker->JudgeDespiteMissingLines(missing);
    CheckResult result = checker->Finish();
    if (missing > 0 && !judges && result.valid == Validity::kFalse) {
      result.valid = Validity::kUnknown;
      result.summary = NotConfirmedSummary(missing, result.summary);
    }
    results.checkers.emplace_back(checker->name(), std::move(result));
  }
  results.faults = FaultCoverage{{}, timeline.injected, timeline.failed, ""};
  // The anomalies' faults: a second, partial pass (its warnings were given by the first).
  AttachFaultContext(
      timeline,
      [&](const std::function<void(const Op&)>& fn) {
        if (options.format == HistoryFormat::kJsonl) {
          ForEachOp(path, fn, nullptr, /*lenient=*/true);
        } else {
          ForEachJepsenOpInFile(
              path, options.format == HistoryFormat::kJepsenEdn ? JepsenFormat::kEdn : JepsenFormat::kLog, fn, nullptr);
        }
      },
      &results);
  // Skipped ones in the workload's order, whatever the reason.
  const auto position = [&](const auto& entry) { return std::find(names.begin(), names.end(), entry.first); };
  std::stable_sort(results.skipped.begin(), results.skipped.end(),
                   [&](const auto& a, const auto& b) { return position(a) < position(b); });
  return results;
}

}  // namespace faultline
