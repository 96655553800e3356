#include "harness/run/fault_plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "harness/run/registry.h"
#include "nemesis/scheduler.h"

namespace faultline {
namespace {

bool NeedsTwoNodes(const std::string& fault) { return fault == "partition" || fault == "loss"; }

// An interval that gives `kinds` windows in `time_limit` s: (2·kinds - 1)·interval < time_limit, rounded down.
double IntervalFor(int64_t kinds, double time_limit) {
  return std::floor(time_limit / (2.0 * static_cast<double>(kinds)) * 10) / 10;
}

std::string Kinds(const std::vector<std::string>& kinds) { return fmt::format("{}", fmt::join(kinds, ", ")); }

// "partition", "partition or kill", "partition, kill or pause".
std::string OrList(const std::vector<std::string>& kinds) {
  if (kinds.size() <= 1) return kinds.empty() ? "" : kinds[0];
  return fmt::format("{} or {}", fmt::join(kinds.begin(), kinds.end() - 1, ", "), kinds.back());
}

// The numbers behind a schedule without enough windows, or "" when it has enough for `kinds` kinds.
std::string ScheduleShortfall(const NemesisConfig& n, double time_limit, int64_t kinds) {
  const int64_t starts = ScheduledFaultStarts(n.interval_s, n.final_s, time_limit);
  if (starts == 0) return fmt::format("interval {} s ≥ time limit {} s", n.interval_s, time_limit);
  if (starts < kinds) {
    return fmt::format("{} fault window{} in time limit {} s at interval {} s for {} kinds", starts,
                       starts == 1 ? "" : "s", time_limit, n.interval_s, kinds);
  }
  return "";
}

// Why `fault` cannot act in this run, or "".
std::string Inapplicable(const TestConfig& config, const std::string& fault) {
  if (std::string why = UnsupportedFault(config, fault); !why.empty()) return why;  // the store's own declaration
  if (NeedsTwoNodes(fault) && config.node_count() < 2) {
    return fmt::format("it needs at least 2 nodes, the cluster has {}", config.node_count());
  }
  return "";
}

}  // namespace

std::vector<std::string> FaultPlanWarnings(const TestConfig& config) {
  std::vector<std::string> warnings;
  const NemesisConfig& n = config.nemesis;
  if (n.faults.empty()) return warnings;
  const int64_t kinds = static_cast<int64_t>(n.faults.size());
  const int64_t starts = ScheduledFaultStarts(n.interval_s, n.final_s, config.time_limit);
  const std::string what = fmt::format("nemesis {}", Kinds(n.faults));
  if (starts == 0) {
    warnings.push_back(fmt::format(
        "{}: no fault can start: the first starts after nemesis-interval {} s, but the main phase lasts time-limit "
        "{} s (interval {} s ≥ time limit {} s); give --nemesis-interval below {} (e.g. {}), a --time-limit above "
        "{}, or --nemesis-final S (one fault held for the last S seconds)",
        what, n.interval_s, config.time_limit, n.interval_s, config.time_limit, config.time_limit,
        IntervalFor(kinds, config.time_limit), n.interval_s));
  } else if (starts < kinds) {
    warnings.push_back(fmt::format(
        "{}: only {} fault window{} in time-limit {} s at nemesis-interval {} s (a fault starts at interval, 3 × "
        "interval, ...), for {} kinds: {} kind{} will never be injected; give --nemesis-interval {} or less, or a "
        "--time-limit above {}",
        what, starts, starts == 1 ? "" : "s", config.time_limit, n.interval_s, kinds, kinds - starts,
        kinds - starts == 1 ? "" : "s", IntervalFor(kinds, config.time_limit),
        static_cast<double>(2 * kinds - 1) * n.interval_s));
  }
  for (const std::string& fault : n.faults) {
    if (const std::string why = Inapplicable(config, fault); !why.empty()) {
      warnings.push_back(fmt::format("nemesis {}: cannot apply: {}; leave it out of --nemesis", fault, why));
    }
  }
  return warnings;
}

void ExplainFaultCoverage(const TestConfig& config, FaultCoverage* coverage, bool stopped_early) {
  coverage->requested = config.nemesis.faults;
  coverage->warning.clear();
  std::vector<std::string> never;
  for (const std::string& kind : coverage->requested) {
    const auto it = coverage->injected.find(kind);
    // A kind that cannot act here (clock on a store not run under libfaketime) may "start" without effect.
    if (it == coverage->injected.end() || it->second == 0 || !Inapplicable(config, kind).empty()) {
      never.push_back(kind);
    }
  }
  if (never.empty()) return;
  // One reason for them all when the schedule had no room; else one per kind.
  const int64_t kinds = static_cast<int64_t>(coverage->requested.size());
  const std::string schedule = ScheduleShortfall(config.nemesis, config.time_limit, kinds);
  if (stopped_early) {
    coverage->warning = fmt::format("no {} was injected (the run stopped before its main phase ended)", OrList(never));
    return;
  }
  if (ScheduledFaultStarts(config.nemesis.interval_s, config.nemesis.final_s, config.time_limit) == 0) {
    coverage->warning = fmt::format("no {} was injected ({})", OrList(never), schedule);
    return;
  }
  std::vector<std::string> parts;
  for (const std::string& kind : never) {
    std::string why;
    const auto failed = coverage->failed.find(kind);
    if (const std::string inapplicable = Inapplicable(config, kind); !inapplicable.empty()) {
      why = inapplicable;
    } else if (failed != coverage->failed.end() && failed->second > 0) {
      why = fmt::format("{} injection{} failed", failed->second == 1 ? "its" : fmt::format("all {}", failed->second),
                        failed->second == 1 ? "" : "s");
    } else if (!schedule.empty()) {
      why = schedule;
    } else {
      why = "the seeded schedule never picked it; more time or a shorter interval gives it more windows";
    }
    parts.push_back(fmt::format("no {} was injected ({})", kind, why));
  }
  coverage->warning = fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace faultline
