// report.html's charts: each op's latency (thinned beyond
// ReportOptions::max_latency_points, never losing fail/info/anomaly ops or a
// bucket's slowest op), throughput and latency quantiles per time bucket, and
// the stats and convergence checkers' siblings and convergence panels.
#include <algorithm>
#include <cmath>
#include <map>

#include "checkers/stats_checker.h"
#include "reports/report_sections.h"

namespace faultline::report_internal {
namespace {

using json = nlohmann::json;

constexpr int kMaxChartBuckets = 600;  // throughput and quantile buckets over the run
const char* const kTypeNames[] = {"ok", "fail", "info"};

// Whole-second buckets over the run, at most about kMaxChartBuckets of them.
struct TimeBuckets {
  double width_ms;
  int count;

  explicit TimeBuckets(double duration_ms)
      : width_ms(std::max(1000.0, std::ceil(duration_ms / kMaxChartBuckets / 1000.0) * 1000.0)),
        count(static_cast<int>(duration_ms / width_ms) + 1) {}
  int Of(double ms) const { return std::clamp(static_cast<int>(ms / width_ms), 0, count - 1); }
  json Starts() const {
    json t_ms = json::array();
    for (int b = 0; b < count; ++b) t_ms.push_back(b * width_ms);
    return t_ms;
  }
};

double LatencyMs(const Interval& op) { return std::max(0.01, std::round((op.end_ms - op.start_ms) * 100) / 100); }

// One point per op by start time, a series per (f, outcome); beyond max_latency_points ok ops are thinned by a
// stride, and each bucket's slowest op gets a series of its own so the thinning cannot hide it.
json LatencyChart(const HistoryScan& scan, const TimeBuckets& buckets, const ReportOptions& options) {
  const auto& iv = scan.intervals;
  const int64_t total = static_cast<int64_t>(iv.size());
  std::map<std::pair<uint8_t, uint8_t>, std::pair<json, json>> latency;  // (f, type) -> (t, latency)
  const bool sampled = total > options.max_latency_points;
  const double ok_stride =
      sampled ? static_cast<double>(total) / static_cast<double>(options.max_latency_points / 2) : 1;
  std::vector<int64_t> slowest(buckets.count, -1);  // per bucket, the slowest op: outliers stay visible when thinned
  double next_ok = 0;
  int64_t ok_seen = 0;
  for (size_t i = 0; i < iv.size(); ++i) {
    const Interval& op = iv[i];
    if (op.invoke_index < 0) continue;
    const int b = buckets.Of(op.end_ms);
    const double lat = op.end_ms - op.start_ms;
    bool take = !sampled || op.type != 0 || scan.ops.count(op.index) != 0;
    if (!take && static_cast<double>(ok_seen++) >= next_ok) take = true, next_ok += ok_stride;
    if (sampled && (slowest[b] < 0 || lat > iv[slowest[b]].end_ms - iv[slowest[b]].start_ms)) slowest[b] = int64_t(i);
    if (take) {
      auto& [t, l] = latency[{op.f, op.type}];
      t.push_back(op.start_ms);
      l.push_back(LatencyMs(op));
    }
  }
  json series = json::array();
  for (auto& [ft, points] : latency) {
    series.push_back({{"f", scan.f_names[ft.first]},
                      {"type", kTypeNames[ft.second]},
                      {"t_ms", std::move(points.first)},
                      {"latency_ms", std::move(points.second)}});
  }
  if (sampled) {
    json t = json::array(), l = json::array();
    for (int64_t i : slowest) {
      if (i < 0) continue;
      t.push_back(iv[i].start_ms);
      l.push_back(LatencyMs(iv[i]));
    }
    series.push_back({{"f", "slowest per bucket"}, {"type", "max"}, {"t_ms", t}, {"latency_ms", l}});
  }
  return {{"sampled", sampled}, {"total", total}, {"series", std::move(series)}};
}

// Completions per second in each bucket, a series per (f, outcome).
json ThroughputChart(const HistoryScan& scan, const TimeBuckets& buckets) {
  std::map<std::pair<uint8_t, uint8_t>, std::vector<int64_t>> throughput;  // (f, type) -> counts
  for (const Interval& op : scan.intervals) {
    auto& counts = throughput[{op.f, op.type}];
    if (counts.empty()) counts.assign(buckets.count, 0);
    ++counts[buckets.Of(op.end_ms)];
  }
  json series = json::array();
  for (const auto& [ft, counts] : throughput) {
    json per_s = json::array();
    for (int64_t c : counts) {
      per_s.push_back(std::round(static_cast<double>(c) / (buckets.width_ms / 1000.0) * 100) / 100);
    }
    series.push_back({{"f", scan.f_names[ft.first]}, {"type", kTypeNames[ft.second]}, {"per_s", per_s}});
  }
  return {{"bucket_ms", buckets.width_ms}, {"t_ms", buckets.Starts()}, {"series", std::move(series)}};
}

// p50, p95, p99 and max latency of the ops completing in each bucket (null when none did).
json QuantilesChart(const HistoryScan& scan, const TimeBuckets& buckets) {
  std::vector<LatencyHistogram> quantiles(buckets.count);
  for (const Interval& op : scan.intervals) {
    if (op.invoke_index < 0) continue;
    quantiles[buckets.Of(op.end_ms)].Record(static_cast<int64_t>((op.end_ms - op.start_ms) * 1000));  // microseconds
  }
  json p50 = json::array(), p95 = json::array(), p99 = json::array(), pmax = json::array();
  for (const auto& h : quantiles) {
    const auto q = [&](double x) {
      return h.count() == 0 ? json() : json(static_cast<double>(h.Quantile(x)) / 1000.0);
    };
    p50.push_back(q(0.5));
    p95.push_back(q(0.95));
    p99.push_back(q(0.99));
    pmax.push_back(h.count() == 0 ? json() : json(static_cast<double>(h.max()) / 1000.0));
  }
  return {{"bucket_ms", buckets.width_ms},
          {"t_ms", buckets.Starts()},
          {"p50", p50},
          {"p95", p95},
          {"p99", p99},
          {"max", pmax}};
}

// The stats checker's siblings histogram next to the Dynamo paper's.
json SiblingsChart(const json& s) {
  json names = json::array(), counts = json::array(), percent = json::array();
  for (const char* b : {"empty", "1", "2", "3", "4", "5+"}) {
    names.push_back(b);
    counts.push_back(s["histogram"].value(b, 0));
    percent.push_back(s["percent"].value(b, json()));
  }
  return {{"buckets", names},
          {"counts", counts},
          {"percent", percent},
          {"dynamo_paper_percent", s.value("dynamo_paper", json::object())}};
}

// When the replicas converged after the final heal, and the first 50 keys that never did.
json ConvergencePanel(const json& result) {
  json divergent = json::array();
  for (const auto& d : result.value("divergent", json::array())) {
    if (divergent.size() < 50) {
      divergent.push_back({{"key", d.value("key", "")}, {"replicas", d.value("replicas", json())}});
    }
  }
  const json heal = result.value("final_heal_time", json());
  return {{"final_heal_ms", heal.is_number() ? json(Ms(heal.get<int64_t>())) : json()},
          {"converged_after_s", result.value("converged_after_s", json())},
          {"differed_until_s", result.value("differed_until_s", json())},
          {"rounds", result["rounds"]},
          {"divergent", divergent}};
}

}  // namespace

json ChartsJson(const HistoryScan& scan, const CheckerResults& checkers, const ReportOptions& options) {
  const TimeBuckets buckets(Ms(scan.last_time));
  json siblings = nullptr, convergence = nullptr;
  for (const auto& [name, result] : checkers) {
    if (name == "stats" && result.contains("siblings") && result["siblings"].value("reads", 0) > 0) {
      siblings = SiblingsChart(result["siblings"]);
    }
    if (name == "convergence" && result.value("rounds", 0) > 0) convergence = ConvergencePanel(result);
  }
  return {{"latency", LatencyChart(scan, buckets, options)},
          {"throughput", ThroughputChart(scan, buckets)},
          {"quantiles", QuantilesChart(scan, buckets)},
          {"siblings", std::move(siblings)},
          {"convergence", std::move(convergence)}};
}

}  // namespace faultline::report_internal
