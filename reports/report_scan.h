// Private to BuildReportData (report_data.cc and its section builders): the
// one streaming pass over history.jsonl. Memory is O(completed ops) in compact
// columns (Interval), never the parsed ops; only the ops the anomalies name,
// and the final reads that are their evidence, are kept as JSON.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "checkers/history.h"

namespace faultline::report_internal {

// Milliseconds at 0.01 ms resolution: the page's time unit (reports/web/DATA.md).
inline double Ms(int64_t ns) { return std::round(static_cast<double>(ns) / 1e4) / 100.0; }

// One completed client op: an invoke and its completion, in compact form.
struct Interval {
  int64_t index;         // the completion's
  int64_t invoke_index;  // -1 when the completion had no pending invoke
  int64_t process;
  double start_ms, end_ms;
  int32_t lane;
  uint8_t type;  // 0 ok, 1 fail, 2 info
  uint8_t f;     // code into HistoryScan::f_names
};

// One fault, from its start to its stop or heal (open: no end).
struct FaultInterval {
  std::string fault;
  double start_ms = 0;
  std::optional<double> end_ms;
  nlohmann::json value;
  std::string label;
  std::string error;
  int64_t start_index = 0;
  std::optional<int64_t> stop_index;
};

// Everything the single pass over the history collects.
struct HistoryScan {
  std::vector<Interval> intervals;
  std::vector<std::string> f_names;
  std::map<std::string, uint8_t> f_codes;
  std::vector<std::vector<int64_t>> lane_processes;
  std::vector<FaultInterval> faults;
  std::map<int64_t, nlohmann::json> ops;                             // exact ops wanted by anomalies, by index
  std::map<std::pair<std::string, std::string>, int64_t> last_read;  // (key, node) -> index of its last read
  std::map<std::string, int64_t> last_replica_read;                  // key -> index of its last replica-read
  std::set<std::string> nodes;
  int64_t ok = 0, fail = 0, info = 0;
  int64_t last_time = 0;
  std::optional<int64_t> first_heal_time;
  std::vector<std::string> warnings;

  // The code of op name `f`; names past the 255th share the last code.
  uint8_t Code(const std::string& f) {
    auto [it, inserted] = f_codes.emplace(f, static_cast<uint8_t>(std::min<size_t>(f_names.size(), 255)));
    if (inserted && f_names.size() < 255) f_names.push_back(f);
    return it->second;
  }
};

// The final reads and replica reads that show an anomaly (the evidence):
// only the last one of each pair/key counts, which is known at the end.
struct Evidence {
  std::set<std::pair<std::string, std::string>> reads;  // (key, node) of final reads
  std::set<std::string> read_keys;                      // the keys of `reads`
  std::set<std::string> replica_keys;                   // keys whose last replica-read is shown
};

// One op as the page shows it (DATA.md "ops"), its invoke not yet linked.
nlohmann::json OpJson(const Op& op);

// The pass. wanted: indices the anomalies name; an invoke's completion and a
// completion's invoke come along. Malformed lines are skipped with a warning.
HistoryScan ScanHistory(const std::filesystem::path& path, const std::unordered_set<int64_t>& wanted,
                        const Evidence& evidence);

}  // namespace faultline::report_internal
