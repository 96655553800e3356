// BuildReportData: one streaming pass over history.jsonl (memory O(completed
// ops) in compact columns, never the parsed ops; report_scan.cc) plus
// results.json and test.json, turned into the page data of
// reports/web/DATA.md. Each section has its builder (report_sections.h); this
// file reads the run directory and assembles them.
#include <fmt/format.h>

#include <stdexcept>

#include "reports/report.h"
#include "reports/report_scan.h"
#include "reports/report_sections.h"
#include "reports/results.h"
#include "reports/run_files.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using report_internal::AnomalySelection;
using report_internal::ChartsJson;
using report_internal::CheckersJson;
using report_internal::EvidenceOf;
using report_internal::HistoryScan;
using report_internal::LinearizationsJson;
using report_internal::Ms;
using report_internal::NemesisJson;
using report_internal::ScanHistory;
using report_internal::SelectAnomalies;
using report_internal::TimelineJson;
using report_internal::VerdictSentence;
using report_internal::WantedIndices;

// "run": where the run directory is and the command that repeats it.
json RunJson(const fs::path& run_dir, const json& test) {
  return {{"dir", run_dir.string()},
          {"name", test.is_object() ? test.value("name", run_dir.parent_path().filename().string())
                                    : run_dir.parent_path().filename().string()},
          {"started", IsoFromStamp(run_dir.filename().string())},
          {"command", test.is_object() ? json("faultline run --config " + (run_dir / "test.json").string())
                                       : json("faultline check " + run_dir.string())}};
}

// "verdict": the banner.
json VerdictJson(const json& results, const json& checkers_out) {
  return {{"valid", results.is_object() ? results.value("valid", json("unknown")) : json("unknown")},
          {"sentence", VerdictSentence(results, checkers_out)},
          {"incomplete", results.is_object() ? results.value("incomplete", false) : true},
          {"error", results.is_object() ? results.value("error", "") : ""},
          {"fault_warning", FaultWarningOf(results).empty() ? json() : json(FaultWarningOf(results))},
          {"faults", results.is_object() && results.contains("faults") ? results["faults"] : json()}};
}

// "stats": op counts, duration, processes and nodes of the history.
json StatsJson(const HistoryScan& scan) {
  int64_t processes = 0;
  for (const auto& l : scan.lane_processes) processes += static_cast<int64_t>(l.size());
  return {{"ops", {{"ok", scan.ok}, {"fail", scan.fail}, {"info", scan.info}}},
          {"duration_ms", Ms(scan.last_time)},
          {"main_phase_end_ms", scan.first_heal_time ? json(Ms(*scan.first_heal_time)) : json()},
          {"processes", processes},
          {"nodes", scan.nodes}};
}

}  // namespace

json BuildReportData(const fs::path& run_dir, const ReportOptions& options) {
  if (!fs::is_directory(run_dir)) throw std::runtime_error(fmt::format("{} is not a run directory", run_dir.string()));
  const fs::path history_path = run_dir / "history.jsonl", results_path = run_dir / "results.json",
                 test_path = run_dir / "test.json";
  if (!fs::exists(history_path) && !fs::exists(results_path)) {
    throw std::runtime_error(
        fmt::format("{} has neither history.jsonl nor results.json: not a run directory", run_dir.string()));
  }
  json test = fs::exists(test_path) ? ReadJsonFile(test_path) : json();
  json results = fs::exists(results_path) ? ReadJsonFile(results_path) : json();

  // Anomalies come from results.json; the ops they name are fetched in the one pass over the history.
  const AnomalySelection selection = SelectAnomalies(results, options.max_anomalies_per_checker);
  HistoryScan scan;
  if (fs::exists(history_path)) {
    scan = ScanHistory(history_path, WantedIndices(selection.anomalies), EvidenceOf(selection.anomalies));
  } else {
    scan.warnings.push_back("no history.jsonl in " + run_dir.string());
  }

  json checkers_out = CheckersJson(selection, results, scan);
  // After the checkers, which read the ops: the timeline and charts need only their indices.
  json ops_out = json::object();
  for (auto& [index, op] : scan.ops) ops_out[std::to_string(index)] = std::move(op);
  json verdict = VerdictJson(results, checkers_out);
  return {{"kind", "report"},
          {"version", 1},
          {"generated", UtcIso()},
          {"run", RunJson(run_dir, test)},
          {"test", std::move(test)},
          {"verdict", std::move(verdict)},
          {"stats", StatsJson(scan)},
          {"checkers", std::move(checkers_out)},
          {"ops", std::move(ops_out)},
          {"linearizations", LinearizationsJson(selection, scan)},
          {"nemesis", NemesisJson(scan)},
          {"timeline", TimelineJson(scan, options)},
          {"charts", ChartsJson(scan, selection.checkers, options)},
          {"warnings", scan.warnings}};
}

}  // namespace faultline
