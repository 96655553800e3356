// Private to BuildReportData (report_data.cc): the builders of the page
// data's sections (reports/web/DATA.md), one file per idea:
//   report_checkers.cc  the checker cards, their anomalies, the verdict sentence
//   report_timeline.cc  the timeline (exact ops or a sample plus density) and the fault intervals
//   report_charts.cc    latency, throughput, quantiles, siblings, convergence
//   report_linearization.cc  the linearization diagrams of non-linearizable keys
// Each is a pure function of results.json and the HistoryScan (report_scan.h).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "reports/report.h"
#include "reports/report_scan.h"

namespace faultline::report_internal {

// results.json's "checkers", by name, in its order.
using CheckerResults = std::vector<std::pair<std::string, nlohmann::json>>;

// One anomaly the page lists: an entry of a checker's anomaly array.
struct Anomaly {
  std::string checker, kind;  // "set", "lost"
  nlohmann::json entry;       // the checker's details entry
};

// The anomalies the page lists (at most max_per_checker of each checker),
// with each checker's full anomaly count (anomaly_kinds.h).
struct AnomalySelection {
  CheckerResults checkers;
  std::vector<Anomaly> anomalies;
  std::map<std::string, int64_t> counts;  // checker -> anomalies in results.json
};

// ---- report_checkers.cc

AnomalySelection SelectAnomalies(const nlohmann::json& results, int64_t max_per_checker);

// What the pass over the history must keep for these anomalies: every op
// index they name, and the final reads / replica reads that are their evidence.
std::unordered_set<int64_t> WantedIndices(const std::vector<Anomaly>& anomalies);
Evidence EvidenceOf(const std::vector<Anomaly>& anomalies);

// "checkers": one card per checker (results.json order), then the skipped ones.
// Reads the scan's ops, so it runs before they are moved into "ops".
nlohmann::json CheckersJson(const AnomalySelection& selection, const nlohmann::json& results, const HistoryScan& scan);

// The banner's sentence: why the run is what it is, with the fault when the checker did not say it.
std::string VerdictSentence(const nlohmann::json& results, const nlohmann::json& checkers_out);

// ---- report_linearization.cc

// "linearizations": a diagram per non-linearizable key the linearizable checker explained (its anomalies of
// type "nonlinearizable" among the selection), each with the id of its anomaly.
nlohmann::json LinearizationsJson(const AnomalySelection& selection, const HistoryScan& scan);

// ---- report_timeline.cc

// "timeline". Uses only the indices of the scan's ops (which anomaly ops to keep).
nlohmann::json TimelineJson(const HistoryScan& scan, const ReportOptions& options);

// "nemesis": the fault intervals.
nlohmann::json NemesisJson(const HistoryScan& scan);

// ---- report_charts.cc

// "charts". Uses only the indices of the scan's ops (anomaly ops are never thinned out).
nlohmann::json ChartsJson(const HistoryScan& scan, const CheckerResults& checkers, const ReportOptions& options);

}  // namespace faultline::report_internal
