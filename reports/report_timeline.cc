// report.html's timeline: one lane per run of processes, each completed op a
// bar. Exact up to ReportOptions::max_timeline_ops; beyond that a sample that
// keeps every anomaly op, plus per-lane density buckets that count every op.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>

#include "reports/report_sections.h"

namespace faultline::report_internal {
namespace {

using json = nlohmann::json;

constexpr int kTimelineBuckets = 2000;  // density buckets per lane when the timeline is not exact

// Which intervals are drawn: all when small enough, else every anomaly op, fail and info first, then a stride over
// the rest.
std::vector<char> KeptOps(const HistoryScan& scan, int64_t max_ops) {
  const auto& iv = scan.intervals;
  const int64_t total = static_cast<int64_t>(iv.size());
  std::vector<char> keep(iv.size(), total <= max_ops);
  if (total <= max_ops) return keep;
  int64_t budget = max_ops;
  for (size_t i = 0; i < iv.size() && budget > 0; ++i) {
    if (scan.ops.count(iv[i].index) != 0) keep[i] = 1, --budget;
  }
  for (size_t i = 0; i < iv.size() && budget > max_ops / 2; ++i) {
    if (!keep[i] && iv[i].type != 0) keep[i] = 1, --budget;
  }
  const int64_t rest = std::count(keep.begin(), keep.end(), 0);
  const double stride = budget > 0 ? static_cast<double>(rest) / static_cast<double>(budget) : 0;
  double next = 0;
  int64_t seen = 0;
  for (size_t i = 0; i < iv.size() && budget > 0; ++i) {
    if (keep[i]) continue;
    if (static_cast<double>(seen++) >= next) keep[i] = 1, --budget, next += stride;
  }
  return keep;
}

// The drawn ops as columns (DATA.md "timeline.ops").
json OpColumns(const std::vector<Interval>& iv, const std::vector<char>& keep) {
  json t_index = json::array(), t_lane = json::array(), t_start = json::array(), t_end = json::array(),
       t_type = json::array(), t_f = json::array(), t_process = json::array();
  for (size_t i = 0; i < iv.size(); ++i) {
    if (!keep[i]) continue;
    t_index.push_back(iv[i].index);
    t_lane.push_back(iv[i].lane);
    t_start.push_back(iv[i].start_ms);
    t_end.push_back(iv[i].end_ms);
    t_type.push_back(iv[i].type);
    t_f.push_back(iv[i].f);
    t_process.push_back(iv[i].process);
  }
  return {{"index", std::move(t_index)},    {"lane", std::move(t_lane)}, {"start_ms", std::move(t_start)},
          {"end_ms", std::move(t_end)},     {"type", std::move(t_type)}, {"f", std::move(t_f)},
          {"process", std::move(t_process)}};
}

// Per lane and outcome, how many ops started in each bucket: all of them, drawn or not.
json DensityBuckets(const HistoryScan& scan) {
  const double duration_ms = Ms(scan.last_time);
  const double width = std::max(1.0, duration_ms / kTimelineBuckets);
  const int count = static_cast<int>(std::ceil(duration_ms / width)) + 1;
  std::vector<std::array<std::vector<int64_t>, 3>> counts(scan.lane_processes.size());
  for (auto& lane : counts) {
    for (auto& v : lane) v.assign(count, 0);
  }
  for (const auto& op : scan.intervals) {
    const int b = std::clamp(static_cast<int>(op.start_ms / width), 0, count - 1);
    ++counts[op.lane][op.type][b];
  }
  json lanes = json::array();
  for (auto& lane : counts) lanes.push_back({{"ok", lane[0]}, {"fail", lane[1]}, {"info", lane[2]}});
  return {{"start_ms", 0}, {"width_ms", width}, {"count", count}, {"lanes", std::move(lanes)}};
}

// "p1, p3, p7, p9 +2": the processes that took turns in each lane.
json Lanes(const HistoryScan& scan) {
  json lanes = json::array();
  for (const auto& processes : scan.lane_processes) {
    std::vector<std::string> names;
    for (size_t i = 0; i < processes.size() && i < 4; ++i) names.push_back("p" + std::to_string(processes[i]));
    std::string label = fmt::format("{}", fmt::join(names, ", "));
    if (processes.size() > 4) label += fmt::format(" +{}", processes.size() - 4);
    lanes.push_back({{"label", label}, {"processes", processes}});
  }
  return lanes;
}

}  // namespace

json TimelineJson(const HistoryScan& scan, const ReportOptions& options) {
  const int64_t total = static_cast<int64_t>(scan.intervals.size());
  const bool exact = total <= options.max_timeline_ops;
  return {{"lanes", Lanes(scan)},
          {"f_names", scan.f_names},
          {"exact", exact},
          {"total", total},
          {"ops", OpColumns(scan.intervals, KeptOps(scan, options.max_timeline_ops))},
          {"buckets", exact ? json(nullptr) : DensityBuckets(scan)}};
}

json NemesisJson(const HistoryScan& scan) {
  json faults = json::array();
  for (const auto& f : scan.faults) {
    faults.push_back({{"fault", f.fault},
                      {"start_ms", f.start_ms},
                      {"end_ms", f.end_ms ? json(*f.end_ms) : json()},
                      {"value", f.value},
                      {"label", f.label},
                      {"error", f.error.empty() ? json() : json(f.error)},
                      {"start_index", f.start_index},
                      {"stop_index", f.stop_index ? json(*f.stop_index) : json()}});
  }
  return faults;
}

}  // namespace faultline::report_internal
