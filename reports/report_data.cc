// BuildReportData: one streaming pass over history.jsonl (memory O(completed
// ops) in compact columns, never the parsed ops) plus results.json and
// test.json, turned into the page data of reports/web/DATA.md.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "checkers/history.h"
#include "checkers/stats_checker.h"
#include "reports/anomaly_kinds.h"
#include "reports/report.h"
#include "reports/run_files.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int64_t kMaxDetailEntries = 200;  // long arrays/objects in a checker's details are cut to this
constexpr int kMaxChartBuckets = 600;       // throughput and quantile buckets over the run
constexpr int kTimelineBuckets = 2000;      // density buckets per lane when the timeline is not exact

double Ms(int64_t ns) { return std::round(static_cast<double>(ns) / 1e4) / 100.0; }  // 0.01 ms resolution

// One completed client op: an invoke and its completion, in compact form.
struct Interval {
  int64_t index;         // the completion's
  int64_t invoke_index;  // -1 when the completion had no pending invoke
  int64_t process;
  double start_ms, end_ms;
  int32_t lane;
  uint8_t type;  // 0 ok, 1 fail, 2 info
  uint8_t f;
};

struct PendingInvoke {
  int64_t index, time;
  uint8_t f;
};

struct FaultInterval {
  std::string fault;
  double start_ms = 0;
  std::optional<double> end_ms;
  json value;
  std::string label;
  std::string error;
  int64_t start_index = 0;
  std::optional<int64_t> stop_index;
};

std::string FaultLabel(const std::string& fault, const json& value) {
  std::string label = fault;
  if (value.is_object()) {
    if (auto it = value.find("kind"); it != value.end() && it->is_string()) label += " " + it->get<std::string>();
    if (auto it = value.find("targets"); it != value.end() && it->is_array() && !it->empty()) {
      std::vector<std::string> targets;
      for (const auto& t : *it) targets.push_back(t.is_string() ? t.get<std::string>() : t.dump());
      label += " on " + fmt::format("{}", fmt::join(targets, ", "));
    }
  }
  return label;
}

// Everything the single pass over the history collects.
struct HistoryScan {
  std::vector<Interval> intervals;
  std::vector<std::string> f_names;
  std::map<std::string, uint8_t> f_codes;
  std::vector<std::vector<int64_t>> lane_processes;
  std::vector<FaultInterval> faults;
  std::map<int64_t, json> ops;                                       // exact ops wanted by anomalies, by index
  std::map<std::pair<std::string, std::string>, int64_t> last_read;  // (key, node) -> index of its last read
  std::map<std::string, int64_t> last_replica_read;                  // key -> index of its last replica-read
  std::set<std::string> nodes;
  int64_t ok = 0, fail = 0, info = 0;
  int64_t last_time = 0;
  std::optional<int64_t> first_heal_time;
  std::vector<std::string> warnings;

  uint8_t Code(const std::string& f) {
    auto [it, inserted] = f_codes.emplace(f, static_cast<uint8_t>(std::min<size_t>(f_names.size(), 255)));
    if (inserted && f_names.size() < 255) f_names.push_back(f);
    return it->second;
  }
};

json OpJson(const Op& op) {
  json j = {{"index", op.index},
            {"type", OpTypeName(op.type)},
            {"process", op.process == kNemesisProcess ? json("nemesis") : json(op.process)},
            {"f", op.f},
            {"key", op.key.empty() ? json() : json(op.key)},
            {"value", op.value},
            {"node", op.node.empty() ? json() : json(op.node)},
            {"error", op.error.empty() ? json() : json(op.error)},
            {"time_ms", Ms(op.time)},
            {"invoke_index", json()},
            {"invoke_ms", json()},
            {"latency_ms", json()}};
  return j;
}

// The final reads and replica reads that show an anomaly (the evidence):
// only the last one of each pair/key counts, which is known at the end.
struct Evidence {
  std::set<std::pair<std::string, std::string>> reads;  // (key, node) of final reads
  std::set<std::string> read_keys;                      // the keys of `reads`
  std::set<std::string> replica_keys;                   // keys whose last replica-read is shown
};

// The completion's op with its invoke linked.
json CompletionJson(const Op& op, const Interval& iv) {
  json j = OpJson(op);
  if (iv.invoke_index >= 0) {
    j["invoke_index"] = iv.invoke_index;
    j["invoke_ms"] = iv.start_ms;
    j["latency_ms"] = std::round((iv.end_ms - iv.start_ms) * 100) / 100;
  }
  return j;
}

// wanted: indices the anomalies name; an invoke's completion and a completion's invoke come along.
HistoryScan ScanHistory(const fs::path& path, const std::unordered_set<int64_t>& wanted, const Evidence& evidence) {
  HistoryScan s;
  std::unordered_map<int64_t, PendingInvoke> pending;
  std::unordered_map<int64_t, int32_t> lane_of;
  std::priority_queue<int32_t, std::vector<int32_t>, std::greater<>> free_lanes;  // lanes of retired processes
  std::unordered_map<int64_t, int64_t> wanted_invoke_of;  // process -> a wanted invoke's index awaiting completion
  std::unordered_map<int64_t, json> wanted_invokes;       // invokes of wanted completions, until they complete
  std::map<std::string, size_t> open_fault;               // fault -> index in s.faults
  std::map<std::pair<std::string, std::string>, std::pair<json, json>> last_read;  // evidence: (invoke, completion)
  std::map<std::string, std::pair<json, json>> last_replica_read;

  ForEachOp(
      path,
      [&](const Op& op) {
        s.last_time = std::max(s.last_time, op.time);
        const bool want = wanted.count(op.index) != 0;
        if (op.process == kNemesisProcess) {
          if (want) s.ops[op.index] = OpJson(op);
          const auto dash = op.f.find('-');
          const std::string verb = dash == std::string::npos ? op.f : op.f.substr(0, dash);
          const std::string fault = dash == std::string::npos ? op.f : op.f.substr(dash + 1);
          if (verb == "start") {
            if (auto it = open_fault.find(fault); it != open_fault.end()) {  // a start without a stop: close it here
              s.faults[it->second].end_ms = Ms(op.time);
            }
            FaultInterval f;
            f.fault = fault;
            f.start_ms = Ms(op.time);
            f.value = op.value;
            f.label = FaultLabel(fault, op.value);
            f.error = op.error;
            f.start_index = op.index;
            open_fault[fault] = s.faults.size();
            s.faults.push_back(std::move(f));
          } else if (verb == "stop" || verb == "heal") {
            if (verb == "heal" && !s.first_heal_time) s.first_heal_time = op.time;
            if (auto it = open_fault.find(fault); it != open_fault.end()) {
              s.faults[it->second].end_ms = Ms(op.time);
              s.faults[it->second].stop_index = op.index;
              open_fault.erase(it);
            }
          }
          return;
        }
        if (!op.node.empty()) s.nodes.insert(op.node);
        if (op.type == OpType::kInvoke) {
          if (lane_of.find(op.process) == lane_of.end()) {
            int32_t lane;
            if (!free_lanes.empty()) {
              lane = free_lanes.top();
              free_lanes.pop();
            } else {
              lane = static_cast<int32_t>(s.lane_processes.size());
              s.lane_processes.emplace_back();
            }
            lane_of[op.process] = lane;
            s.lane_processes[lane].push_back(op.process);
          }
          pending[op.process] = PendingInvoke{op.index, op.time, s.Code(op.f)};
          // The invoke's JSON is kept until its completion when either may be shown.
          if (want) wanted_invoke_of[op.process] = op.index;
          if (want || (op.f == "read" && evidence.read_keys.count(op.key) != 0) ||
              (op.f == "replica-read" && evidence.replica_keys.count(op.key) != 0)) {
            wanted_invokes[op.process] = OpJson(op);
          } else {
            wanted_invokes.erase(op.process);
          }
          return;
        }
        // A completion.
        const uint8_t type = op.type == OpType::kOk ? 0 : op.type == OpType::kFail ? 1 : 2;
        (type == 0 ? s.ok : type == 1 ? s.fail : s.info)++;
        auto p = pending.find(op.process);
        Interval iv{op.index, -1, op.process, Ms(op.time), Ms(op.time), 0, type, s.Code(op.f)};
        auto lane = lane_of.find(op.process);
        if (lane == lane_of.end()) {  // a completion without an invoke (a foreign history): a lane of its own
          lane = lane_of.emplace(op.process, static_cast<int32_t>(s.lane_processes.size())).first;
          s.lane_processes.push_back({op.process});
        }
        iv.lane = lane->second;
        if (p != pending.end()) {
          iv.invoke_index = p->second.index;
          iv.start_ms = Ms(p->second.time);
          iv.f = p->second.f;
          pending.erase(p);
        }
        s.intervals.push_back(iv);
        json invoke;
        if (auto wi = wanted_invokes.find(op.process); wi != wanted_invokes.end()) {
          if (iv.invoke_index >= 0 && wi->second.value("index", int64_t{-1}) == iv.invoke_index) {
            invoke = std::move(wi->second);
          }
          wanted_invokes.erase(wi);
        }
        const auto wi = wanted_invoke_of.find(op.process);
        const bool invoke_wanted = wi != wanted_invoke_of.end() && wi->second == iv.invoke_index;
        if (invoke_wanted) wanted_invoke_of.erase(wi);
        if (want || invoke_wanted) {
          s.ops[op.index] = CompletionJson(op, iv);
          if (!invoke.is_null()) s.ops[iv.invoke_index] = invoke;
        }
        const std::string& f = s.f_names[iv.f];
        if (f == "read" && !op.key.empty() && !op.node.empty() && evidence.reads.count({op.key, op.node}) != 0) {
          last_read[{op.key, op.node}] = std::make_pair(invoke, CompletionJson(op, iv));
        }
        if (f == "replica-read" && evidence.replica_keys.count(op.key) != 0) {
          last_replica_read[op.key] = std::make_pair(invoke, CompletionJson(op, iv));
        }
        if (op.type == OpType::kInfo) {  // the process is retired; its lane goes to the next new process
          free_lanes.push(iv.lane);
          lane_of.erase(op.process);
        }
      },
      &s.warnings, /*lenient=*/true);
  const auto keep = [&](std::pair<json, json>& ops) {
    const int64_t index = ops.second["index"].get<int64_t>();
    if (ops.first.is_object()) {
      const int64_t invoke_index = ops.first.value("index", int64_t{-1});  // before the move: json's = takes by value
      s.ops[invoke_index] = std::move(ops.first);
    }
    s.ops[index] = std::move(ops.second);
    return index;
  };
  for (auto& [key_node, ops] : last_read) s.last_read[key_node] = keep(ops);
  for (auto& [key, ops] : last_replica_read) s.last_replica_read[key] = keep(ops);
  return s;
}

// The wanted set: every "index" an anomaly names, found in results.json.
void CollectIndices(const json& j, std::unordered_set<int64_t>* out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if ((k == "index" || k == "read_index" || k == "write_index" || k == "invoke_index") && v.is_number_integer()) {
        out->insert(v.get<int64_t>());
      } else if (v.is_structured()) {
        CollectIndices(v, out);
      }
    }
  } else if (j.is_array()) {
    for (const auto& v : j) CollectIndices(v, out);
  }
}

// The arrays in a checker's details that list its anomalies, with their counts:
// "lost" when there is an anomaly count "lost_count" (anomaly_kinds.h, as the index and junit.xml count them).
std::map<std::string, int64_t> AnomalyArrays(const json& result) {
  std::map<std::string, int64_t> arrays;
  for (const auto& [field, v] : result.items()) {
    const std::string kind = AnomalyKindOfCountField(field);
    if (kind.empty() || !v.is_number_integer()) continue;
    if (auto it = result.find(kind); it != result.end() && it->is_array()) arrays[kind] = v.get<int64_t>();
  }
  return arrays;
}

json Trim(const json& j, int depth = 0) {
  if (j.is_array()) {
    json out = json::array();
    for (size_t i = 0; i < j.size() && static_cast<int64_t>(i) < kMaxDetailEntries; ++i)
      out.push_back(Trim(j[i], depth + 1));
    return out;
  }
  if (j.is_object()) {
    json out = json::object();
    int64_t n = 0;
    for (const auto& [k, v] : j.items()) {
      if (n++ >= kMaxDetailEntries) {
        out["…"] = fmt::format("{} more entries in results.json", j.size() - kMaxDetailEntries);
        break;
      }
      out[k] = Trim(v, depth + 1);
    }
    return out;
  }
  return j;
}

std::string Str(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const auto& e : v) parts.push_back(Str(e));
    return fmt::format("{}", fmt::join(parts, ", "));
  }
  return v.dump();
}

std::string Seconds(double ms) { return fmt::format("{:.3f} s", ms / 1000.0); }

// Where and when the op at `index` ran: "op 812, process 4 on n2, acknowledged at 12.345 s".
std::string OpPhrase(const HistoryScan& s, int64_t index, const char* verb) {
  auto it = s.ops.find(index);
  if (it == s.ops.end()) return fmt::format("op {}", index);
  const json& op = it->second;
  std::string text = fmt::format("op {}, process {}", index, Str(op["process"]));
  if (op["node"].is_string()) text += " on " + op["node"].get<std::string>();
  text += fmt::format(", {} at {}", verb, Seconds(op["time_ms"].get<double>()));
  return text;
}

std::string AnomalyText(const std::string& checker, const std::string& kind, const json& e, const HistoryScan& s) {
  const auto get = [&](const char* k) { return e.contains(k) ? Str(e[k]) : std::string("?"); };
  const int64_t index = e.contains("index") && e["index"].is_number_integer() ? e["index"].get<int64_t>() : -1;
  if (checker == "set" && kind == "lost") {
    return fmt::format("add of {} to {} ({}) is missing from the final reads of {}", get("element"), get("key"),
                       OpPhrase(s, index, "acknowledged"), get("missing_on"));
  }
  if (checker == "set" && kind == "unexpected") {
    return fmt::format("{} was read from {} on {}, but no add of it was ever invoked", get("element"), get("key"),
                       get("nodes"));
  }
  if (checker == "set" && kind == "failed_present") {
    return fmt::format("add of {} to {} ({}) failed, yet it is present on {}", get("element"), get("key"),
                       OpPhrase(s, index, "failed"), get("present_on"));
  }
  if (checker == "lost-update" && kind == "lost") {
    return fmt::format("write {} to {} ({}) is reachable from none of the final values {}", get("write"), get("key"),
                       OpPhrase(s, index, "acknowledged"), get("final_values"));
  }
  if (checker == "lost-update" && kind == "unexpected") {
    return fmt::format("id {} read from {} ({}): {}", get("id"), get("key"), OpPhrase(s, index, "read"), get("reason"));
  }
  if (kind == "divergent") {
    std::vector<std::string> parts;
    if (e.contains("replicas") && e["replicas"].is_object()) {
      for (const auto& [node, values] : e["replicas"].items()) {
        std::string v = values.dump();
        if (v.size() > 80) v = v.substr(0, 77) + "...";
        parts.push_back(node + " holds " + v);
      }
    }
    return fmt::format("replicas of {} still differ in round {}: {}", get("key"), get("round"), fmt::join(parts, "; "));
  }
  if (kind == "unreadable") {
    return fmt::format("{} could not be read from all its replicas in round {}: {}", get("key"), get("round"),
                       get("error"));
  }
  if (checker == "counter" && kind == "errors") {
    return fmt::format("read of {} returned {} ({}), outside the possible range [{}, {}]", get("key"), get("value"),
                       OpPhrase(s, index, "completed"), get("lower"), get("upper"));
  }
  std::vector<std::string> parts;
  for (const auto& [k, v] : e.items()) {
    std::string text = v.dump();
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    parts.push_back(k + "=" + text);
  }
  return fmt::format("{}: {}", kind, fmt::join(parts, ", "));
}

// The fault intervals overlapping [start, end] ms, as one phrase.
std::string FaultsDuring(const HistoryScan& s, double start, double end) {
  std::vector<std::string> labels;
  for (const auto& f : s.faults) {
    const double f_end = f.end_ms.value_or(std::numeric_limits<double>::infinity());
    if (f.start_ms <= end && f_end >= start && std::find(labels.begin(), labels.end(), f.label) == labels.end()) {
      labels.push_back(f.label);
    }
  }
  return fmt::format("{}", fmt::join(labels, "; "));
}

std::vector<std::string> NodeList(const json& e) {
  std::vector<std::string> nodes;
  for (const char* field : {"missing_on", "present_on", "nodes"}) {
    if (e.contains(field) && e[field].is_array()) {
      for (const auto& n : e[field]) {
        if (n.is_string()) nodes.push_back(n.get<std::string>());
      }
    }
  }
  return nodes;
}

struct Anomaly {
  std::string checker, kind;  // "set", "lost"
  json entry;                 // the checker's details entry
};

json BuildAnomaly(Anomaly& a, const HistoryScan& s, int64_t ordinal) {
  const json& e = a.entry;
  const std::string key = e.contains("key") && e["key"].is_string() ? e["key"].get<std::string>() : "";
  std::vector<int64_t> ops;
  const auto add = [&](int64_t index) {
    if (s.ops.count(index) != 0 && std::find(ops.begin(), ops.end(), index) == ops.end()) ops.push_back(index);
  };
  for (const char* field : {"index", "read_index", "write_index"}) {
    if (e.contains(field) && e[field].is_number_integer()) {
      const int64_t i = e[field].get<int64_t>();
      if (auto it = s.ops.find(i); it != s.ops.end() && it->second["invoke_index"].is_number_integer()) {
        add(it->second["invoke_index"].get<int64_t>());
      }
      add(i);
    }
  }
  // The evidence: the final reads of the key on the nodes the anomaly names, or its last replica read.
  if (!key.empty()) {
    for (const std::string& node : NodeList(e)) {
      if (auto it = s.last_read.find({key, node}); it != s.last_read.end()) add(it->second);
    }
    if (a.kind == "divergent" || a.kind == "unreadable") {
      if (auto it = s.last_replica_read.find(key); it != s.last_replica_read.end()) add(it->second);
    }
  }
  // Focus on the anomaly's own op (the write, the add, the read) when it has one, else on all its ops.
  std::vector<int64_t> focus_ops = ops;
  if (e.contains("index") && e["index"].is_number_integer() && s.ops.count(e["index"].get<int64_t>()) != 0) {
    focus_ops = {e["index"].get<int64_t>()};
  }
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int64_t i : focus_ops) {
    const json& op = s.ops.at(i);
    lo = std::min(lo, op["invoke_ms"].is_number() ? op["invoke_ms"].get<double>() : op["time_ms"].get<double>());
    hi = std::max(hi, op["time_ms"].get<double>());
  }
  json focus = nullptr;
  std::string fault;
  if (!focus_ops.empty()) {
    const double margin = std::max(500.0, (hi - lo) * 2);
    focus = {{"start_ms", std::round(std::max(0.0, lo - margin))}, {"end_ms", std::round(hi + margin)}};
    fault = FaultsDuring(s, lo, hi);  // the faults while that op ran
  }
  return {{"id", fmt::format("{}-{}-{}", a.checker, a.kind, ordinal)},
          {"kind", a.kind},
          {"key", key.empty() ? json() : json(key)},
          {"text", AnomalyText(a.checker, a.kind, e, s)},
          {"fault", fault.empty() ? json() : json(fault)},
          {"ops", ops},
          {"focus", focus}};
}

// The banner's sentence: why the run is what it is, with the fault when the checker did not say it.
std::string VerdictSentence(const json& results, const json& checkers_out) {
  if (results.is_null()) return "no results.json: the run did not finish; `faultline check RUN_DIR` checks its history";
  const json& valid = results.value("valid", json("unknown"));
  if (valid == false) {
    std::vector<std::string> parts;
    for (const auto& c : checkers_out) {
      if (c["valid"] != false) continue;
      std::string summary = c["summary"].get<std::string>();
      if (summary.find("during") == std::string::npos) {  // say which faults the anomalies happened under
        std::map<std::string, int64_t> by_fault;
        for (const auto& a : c["anomalies"]) {
          if (a["fault"].is_string()) ++by_fault[a["fault"].get<std::string>()];
        }
        std::vector<std::pair<int64_t, std::string>> ranked;
        for (const auto& [label, n] : by_fault) ranked.emplace_back(n, label);
        std::sort(ranked.rbegin(), ranked.rend());
        std::vector<std::string> during;
        for (size_t i = 0; i < ranked.size() && i < 2; ++i) {
          during.push_back(i == 0 ? fmt::format("{} of the {} during {}", ranked[i].first, c["anomaly_count"].dump(),
                                                ranked[i].second)
                                  : fmt::format("{} during {}", ranked[i].first, ranked[i].second));
        }
        if (!during.empty()) summary += fmt::format(" ({})", fmt::join(during, "; "));
      }
      parts.push_back(c["name"].get<std::string>() + ": " + summary);
    }
    return fmt::format("{}", fmt::join(parts, "; "));
  }
  const std::string error = results.value("error", "");
  if (!error.empty()) return "the test rig failed: " + error;
  return results.value("summary", "");
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
  std::vector<Anomaly> anomalies;
  std::vector<std::pair<std::string, json>> checkers;
  std::map<std::string, int64_t> anomaly_counts;
  if (results.is_object() && results.contains("checkers") && results["checkers"].is_object()) {
    for (const auto& [name, result] : results["checkers"].items()) {
      checkers.emplace_back(name, result);
      int64_t kept = 0;
      for (const auto& [field, count] : AnomalyArrays(result)) {
        anomaly_counts[name] += count;
        for (const auto& entry : result[field]) {
          if (kept++ >= options.max_anomalies_per_checker) break;
          anomalies.push_back(Anomaly{name, field, entry});
        }
      }
    }
  }
  std::unordered_set<int64_t> wanted;
  for (const auto& a : anomalies) CollectIndices(a.entry, &wanted);

  Evidence evidence;
  for (const auto& a : anomalies) {
    if (!a.entry.contains("key") || !a.entry["key"].is_string()) continue;
    const std::string key = a.entry["key"].get<std::string>();
    for (const std::string& node : NodeList(a.entry)) {
      evidence.reads.insert({key, node});
      evidence.read_keys.insert(key);
    }
    if (a.kind == "divergent" || a.kind == "unreadable") evidence.replica_keys.insert(key);
  }

  HistoryScan scan;
  if (fs::exists(history_path)) {
    scan = ScanHistory(history_path, wanted, evidence);
  } else {
    scan.warnings.push_back("no history.jsonl in " + run_dir.string());
  }

  // Checkers with their anomalies.
  json checkers_out = json::array();
  std::map<std::string, int64_t> ordinal;
  for (const auto& [name, result] : checkers) {
    json details = json::object();
    for (const auto& [k, v] : result.items()) {
      if (k != "valid" && k != "summary") details[k] = Trim(v);
    }
    json list = json::array();
    for (auto& a : anomalies) {
      if (a.checker == name) list.push_back(BuildAnomaly(a, scan, ordinal[name + a.kind]++));
    }
    checkers_out.push_back({{"name", name},
                            {"valid", result.value("valid", json("unknown"))},
                            {"summary", result.value("summary", "")},
                            {"details", std::move(details)},
                            {"anomaly_count", anomaly_counts[name]},
                            {"anomalies", std::move(list)}});
  }
  // Checkers that did not run (results.json "skipped"): listed with why, never a verdict.
  if (results.is_object() && results.contains("skipped") && results["skipped"].is_object()) {
    for (const auto& [name, why] : results["skipped"].items()) {
      checkers_out.push_back({{"name", name},
                              {"valid", "skipped"},
                              {"summary", why.is_string() ? why.get<std::string>() : why.dump()},
                              {"details", json::object()},
                              {"anomaly_count", 0},
                              {"anomalies", json::array()}});
    }
  }
  json ops_out = json::object();
  for (auto& [index, op] : scan.ops) ops_out[std::to_string(index)] = std::move(op);

  // Timeline: exact when small enough, else every anomaly op, fail and info first, then a stride over the rest.
  const auto& iv = scan.intervals;
  const int64_t total = static_cast<int64_t>(iv.size());
  std::vector<char> keep(iv.size(), total <= options.max_timeline_ops);
  const bool exact = total <= options.max_timeline_ops;
  if (!exact) {
    int64_t budget = options.max_timeline_ops;
    for (size_t i = 0; i < iv.size() && budget > 0; ++i) {
      if (scan.ops.count(iv[i].index) != 0) keep[i] = 1, --budget;
    }
    for (size_t i = 0; i < iv.size() && budget > options.max_timeline_ops / 2; ++i) {
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
  }
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
  const double duration_ms = Ms(scan.last_time);
  json buckets = nullptr;
  if (!exact) {
    const double width = std::max(1.0, duration_ms / kTimelineBuckets);
    const int count = static_cast<int>(std::ceil(duration_ms / width)) + 1;
    std::vector<std::array<std::vector<int64_t>, 3>> counts(scan.lane_processes.size());
    for (auto& lane : counts) {
      for (auto& v : lane) v.assign(count, 0);
    }
    for (const auto& op : iv) {
      const int b = std::clamp(static_cast<int>(op.start_ms / width), 0, count - 1);
      ++counts[op.lane][op.type][b];
    }
    json lanes = json::array();
    for (auto& lane : counts) lanes.push_back({{"ok", lane[0]}, {"fail", lane[1]}, {"info", lane[2]}});
    buckets = {{"start_ms", 0}, {"width_ms", width}, {"count", count}, {"lanes", std::move(lanes)}};
  }
  json lanes = json::array();
  for (const auto& processes : scan.lane_processes) {
    std::vector<std::string> names;
    for (size_t i = 0; i < processes.size() && i < 4; ++i) names.push_back("p" + std::to_string(processes[i]));
    std::string label = fmt::format("{}", fmt::join(names, ", "));
    if (processes.size() > 4) label += fmt::format(" +{}", processes.size() - 4);
    lanes.push_back({{"label", label}, {"processes", processes}});
  }

  // Charts.
  const double bucket_ms = std::max(1000.0, std::ceil(duration_ms / kMaxChartBuckets / 1000.0) * 1000.0);
  const int chart_buckets = static_cast<int>(duration_ms / bucket_ms) + 1;
  std::map<std::pair<uint8_t, uint8_t>, std::vector<int64_t>> throughput;  // (f, type) -> counts
  std::vector<LatencyHistogram> quantiles(chart_buckets);
  std::map<std::pair<uint8_t, uint8_t>, std::pair<json, json>> latency;  // (f, type) -> (t, latency)
  const bool sampled = total > options.max_latency_points;
  const double ok_stride =
      sampled ? static_cast<double>(total) / static_cast<double>(options.max_latency_points / 2) : 1;
  std::vector<int64_t> slowest(chart_buckets, -1);  // per bucket, the slowest op: outliers stay visible when thinned
  double next_ok = 0;
  int64_t ok_seen = 0;
  for (size_t i = 0; i < iv.size(); ++i) {
    const Interval& op = iv[i];
    const int b = std::clamp(static_cast<int>(op.end_ms / bucket_ms), 0, chart_buckets - 1);
    auto& counts = throughput[{op.f, op.type}];
    if (counts.empty()) counts.assign(chart_buckets, 0);
    ++counts[b];
    if (op.invoke_index < 0) continue;
    const double lat = op.end_ms - op.start_ms;
    quantiles[b].Record(static_cast<int64_t>(lat * 1000));  // microseconds
    bool take = !sampled || op.type != 0 || scan.ops.count(op.index) != 0;
    if (!take && static_cast<double>(ok_seen++) >= next_ok) take = true, next_ok += ok_stride;
    if (sampled && (slowest[b] < 0 || lat > iv[slowest[b]].end_ms - iv[slowest[b]].start_ms)) slowest[b] = int64_t(i);
    if (take) {
      auto& [t, l] = latency[{op.f, op.type}];
      t.push_back(op.start_ms);
      l.push_back(std::max(0.01, std::round(lat * 100) / 100));
    }
  }
  static const char* kTypeNames[] = {"ok", "fail", "info"};
  json latency_series = json::array();
  for (auto& [ft, points] : latency) {
    latency_series.push_back({{"f", scan.f_names[ft.first]},
                              {"type", kTypeNames[ft.second]},
                              {"t_ms", std::move(points.first)},
                              {"latency_ms", std::move(points.second)}});
  }
  if (sampled) {  // the slowest op of each bucket, as its own series so the thinning cannot hide it
    json t = json::array(), l = json::array();
    for (int64_t i : slowest) {
      if (i < 0) continue;
      t.push_back(iv[i].start_ms);
      l.push_back(std::max(0.01, std::round((iv[i].end_ms - iv[i].start_ms) * 100) / 100));
    }
    latency_series.push_back({{"f", "slowest per bucket"}, {"type", "max"}, {"t_ms", t}, {"latency_ms", l}});
  }
  json t_ms = json::array();
  for (int b = 0; b < chart_buckets; ++b) t_ms.push_back(b * bucket_ms);
  json throughput_series = json::array();
  for (const auto& [ft, counts] : throughput) {
    json per_s = json::array();
    for (int64_t c : counts) per_s.push_back(std::round(static_cast<double>(c) / (bucket_ms / 1000.0) * 100) / 100);
    throughput_series.push_back({{"f", scan.f_names[ft.first]}, {"type", kTypeNames[ft.second]}, {"per_s", per_s}});
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

  json siblings = nullptr, convergence = nullptr;
  for (const auto& [name, result] : checkers) {
    if (name == "stats" && result.contains("siblings") && result["siblings"].value("reads", 0) > 0) {
      const json& s = result["siblings"];
      json names = json::array(), counts = json::array(), percent = json::array();
      for (const char* b : {"empty", "1", "2", "3", "4", "5+"}) {
        names.push_back(b);
        counts.push_back(s["histogram"].value(b, 0));
        percent.push_back(s["percent"].value(b, json()));
      }
      siblings = {{"buckets", names},
                  {"counts", counts},
                  {"percent", percent},
                  {"dynamo_paper_percent", s.value("dynamo_paper", json::object())}};
    }
    if (name == "convergence" && result.value("rounds", 0) > 0) {
      json divergent = json::array();
      for (const auto& d : result.value("divergent", json::array())) {
        if (divergent.size() < 50)
          divergent.push_back({{"key", d.value("key", "")}, {"replicas", d.value("replicas", json())}});
      }
      const json heal = result.value("final_heal_time", json());
      convergence = {{"final_heal_ms", heal.is_number() ? json(Ms(heal.get<int64_t>())) : json()},
                     {"converged_after_s", result.value("converged_after_s", json())},
                     {"differed_until_s", result.value("differed_until_s", json())},
                     {"rounds", result["rounds"]},
                     {"divergent", divergent}};
    }
  }

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

  json run = {{"dir", run_dir.string()},
              {"name", test.is_object() ? test.value("name", run_dir.parent_path().filename().string())
                                        : run_dir.parent_path().filename().string()},
              {"started", IsoFromStamp(run_dir.filename().string())},
              {"command", test.is_object() ? json("faultline run --config " + (run_dir / "test.json").string())
                                           : json("faultline check " + run_dir.string())}};
  json verdict = {{"valid", results.is_object() ? results.value("valid", json("unknown")) : json("unknown")},
                  {"sentence", VerdictSentence(results, checkers_out)},
                  {"incomplete", results.is_object() ? results.value("incomplete", false) : true},
                  {"error", results.is_object() ? results.value("error", "") : ""}};
  json stats = {{"ops", {{"ok", scan.ok}, {"fail", scan.fail}, {"info", scan.info}}},
                {"duration_ms", duration_ms},
                {"main_phase_end_ms", scan.first_heal_time ? json(Ms(*scan.first_heal_time)) : json()},
                {"processes",
                 [&] {
                   int64_t n = 0;
                   for (const auto& l : scan.lane_processes) n += static_cast<int64_t>(l.size());
                   return n;
                 }()},
                {"nodes", scan.nodes}};
  return {{"kind", "report"},
          {"version", 1},
          {"generated", UtcIso()},
          {"run", std::move(run)},
          {"test", std::move(test)},
          {"verdict", std::move(verdict)},
          {"stats", std::move(stats)},
          {"checkers", std::move(checkers_out)},
          {"ops", std::move(ops_out)},
          {"nemesis", std::move(faults)},
          {"timeline",
           {{"lanes", std::move(lanes)},
            {"f_names", scan.f_names},
            {"exact", exact},
            {"total", total},
            {"ops",
             {{"index", std::move(t_index)},
              {"lane", std::move(t_lane)},
              {"start_ms", std::move(t_start)},
              {"end_ms", std::move(t_end)},
              {"type", std::move(t_type)},
              {"f", std::move(t_f)},
              {"process", std::move(t_process)}}},
            {"buckets", std::move(buckets)}}},
          {"charts",
           {{"latency", {{"sampled", sampled}, {"total", total}, {"series", std::move(latency_series)}}},
            {"throughput", {{"bucket_ms", bucket_ms}, {"t_ms", t_ms}, {"series", std::move(throughput_series)}}},
            {"quantiles",
             {{"bucket_ms", bucket_ms}, {"t_ms", t_ms}, {"p50", p50}, {"p95", p95}, {"p99", p99}, {"max", pmax}}},
            {"siblings", std::move(siblings)},
            {"convergence", std::move(convergence)}}},
          {"warnings", scan.warnings}};
}

}  // namespace faultline
