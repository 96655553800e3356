// report.html: one run's self-contained interactive report
// (reports/web/DATA.md, "kind": "report"), built from the run directory's
// stored files only (test.json, history.jsonl, results.json), so that
// `faultline report RUN_DIR` regenerates it at any time.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faultline {

struct ReportOptions {
  // Completed client ops drawn exactly in the timeline; beyond this the
  // timeline shows per-lane density buckets plus every anomaly's ops.
  int64_t max_timeline_ops = 100000;
  // Points of the latency scatter; beyond this ok points are thinned
  // (fail/info and anomaly ops are always kept).
  int64_t max_latency_points = 60000;
  int64_t max_anomalies_per_checker = 1000;
};

// The page data. Throws std::runtime_error when the run directory has no
// history.jsonl or results.json, naming the missing file; a malformed
// history line is skipped with a warning in "warnings" (lenient read).
nlohmann::json BuildReportData(const std::filesystem::path& run_dir, const ReportOptions& options = {});

// Writes RUN_DIR/report.html atomically. Returns its path.
std::filesystem::path WriteReport(const std::filesystem::path& run_dir, const ReportOptions& options = {});

// report.html and junit.xml of one run (what the runner calls after results.json).
void WriteRunReports(const std::filesystem::path& run_dir);

}  // namespace faultline
