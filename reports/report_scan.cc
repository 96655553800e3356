// The one streaming pass over history.jsonl behind BuildReportData.
#include "reports/report_scan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>
#include <queue>
#include <unordered_map>

namespace faultline::report_internal {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct PendingInvoke {
  int64_t index, time;
  uint8_t f;
};

// "partition halves on n1, n2": the fault with its kind and targets.
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

// The pass's state between ops, filling a HistoryScan. Lanes: a process
// keeps its lane until an info op retires it; the lowest free lane goes to
// the next new process.
class Scanner {
 public:
  Scanner(HistoryScan* scan, const std::unordered_set<int64_t>& wanted, const Evidence& evidence)
      : s_(*scan), wanted_(wanted), evidence_(evidence) {}

  void Add(const Op& op) {
    s_.last_time = std::max(s_.last_time, op.time);
    const bool want = wanted_.count(op.index) != 0;
    if (op.process == kNemesisProcess) return AddNemesis(op, want);
    if (!op.node.empty()) s_.nodes.insert(op.node);
    if (op.type == OpType::kInvoke) return AddInvoke(op, want);
    AddCompletion(op, want);
  }

  // Moves the evidence (each last read and replica read, with its invoke) into the scan's ops.
  void Finish() {
    const auto keep = [&](std::pair<json, json>& ops) {
      const int64_t index = ops.second["index"].get<int64_t>();
      if (ops.first.is_object()) {
        const int64_t invoke_index = ops.first.value("index", int64_t{-1});  // before the move: json's = takes by value
        s_.ops[invoke_index] = std::move(ops.first);
      }
      s_.ops[index] = std::move(ops.second);
      return index;
    };
    for (auto& [key_node, ops] : last_read_) s_.last_read[key_node] = keep(ops);
    for (auto& [key, ops] : last_replica_read_) s_.last_replica_read[key] = keep(ops);
  }

 private:
  void AddNemesis(const Op& op, bool want);
  void AddInvoke(const Op& op, bool want);
  void AddCompletion(const Op& op, bool want);
  // The invoke's JSON kept for this completion, if any (and forgets it).
  json TakeInvoke(const Op& op, const Interval& iv);

  HistoryScan& s_;
  const std::unordered_set<int64_t>& wanted_;
  const Evidence& evidence_;
  std::unordered_map<int64_t, PendingInvoke> pending_;
  std::unordered_map<int64_t, int32_t> lane_of_;
  std::priority_queue<int32_t, std::vector<int32_t>, std::greater<>> free_lanes_;  // lanes of retired processes
  std::unordered_map<int64_t, int64_t> wanted_invoke_of_;  // process -> a wanted invoke's index awaiting completion
  std::unordered_map<int64_t, json> wanted_invokes_;       // invokes of wanted completions, until they complete
  std::map<std::string, size_t> open_fault_;               // fault -> index in s_.faults
  std::map<std::pair<std::string, std::string>, std::pair<json, json>> last_read_;  // evidence: (invoke, completion)
  std::map<std::string, std::pair<json, json>> last_replica_read_;
};

void Scanner::AddNemesis(const Op& op, bool want) {
  if (want) s_.ops[op.index] = OpJson(op);
  const auto dash = op.f.find('-');
  const std::string verb = dash == std::string::npos ? op.f : op.f.substr(0, dash);
  const std::string fault = dash == std::string::npos ? op.f : op.f.substr(dash + 1);
  if (verb == "start") {
    if (auto it = open_fault_.find(fault); it != open_fault_.end()) {  // a start without a stop: close it here
      s_.faults[it->second].end_ms = Ms(op.time);
    }
    FaultInterval f;
    f.fault = fault;
    f.start_ms = Ms(op.time);
    f.value = op.value;
    f.label = FaultLabel(fault, op.value);
    f.error = op.error;
    f.start_index = op.index;
    open_fault_[fault] = s_.faults.size();
    s_.faults.push_back(std::move(f));
  } else if (verb == "stop" || verb == "heal") {
    if (verb == "heal" && !s_.first_heal_time) s_.first_heal_time = op.time;
    if (auto it = open_fault_.find(fault); it != open_fault_.end()) {
      s_.faults[it->second].end_ms = Ms(op.time);
      s_.faults[it->second].stop_index = op.index;
      open_fault_.erase(it);
    }
  }
}

void Scanner::AddInvoke(const Op& op, bool want) {
  if (lane_of_.find(op.process) == lane_of_.end()) {
    int32_t lane;
    if (!free_lanes_.empty()) {
      lane = free_lanes_.top();
      free_lanes_.pop();
    } else {
      lane = static_cast<int32_t>(s_.lane_processes.size());
      s_.lane_processes.emplace_back();
    }
    lane_of_[op.process] = lane;
    s_.lane_processes[lane].push_back(op.process);
  }
  pending_[op.process] = PendingInvoke{op.index, op.time, s_.Code(op.f)};
  // The invoke's JSON is kept until its completion when either may be shown.
  if (want) wanted_invoke_of_[op.process] = op.index;
  if (want || (op.f == "read" && evidence_.read_keys.count(op.key) != 0) ||
      (op.f == "replica-read" && evidence_.replica_keys.count(op.key) != 0)) {
    wanted_invokes_[op.process] = OpJson(op);
  } else {
    wanted_invokes_.erase(op.process);
  }
}

json Scanner::TakeInvoke(const Op& op, const Interval& iv) {
  json invoke;
  if (auto wi = wanted_invokes_.find(op.process); wi != wanted_invokes_.end()) {
    if (iv.invoke_index >= 0 && wi->second.value("index", int64_t{-1}) == iv.invoke_index) {
      invoke = std::move(wi->second);
    }
    wanted_invokes_.erase(wi);
  }
  return invoke;
}

void Scanner::AddCompletion(const Op& op, bool want) {
  const uint8_t type = op.type == OpType::kOk ? 0 : op.type == OpType::kFail ? 1 : 2;
  (type == 0 ? s_.ok : type == 1 ? s_.fail : s_.info)++;
  auto p = pending_.find(op.process);
  Interval iv{op.index, -1, op.process, Ms(op.time), Ms(op.time), 0, type, s_.Code(op.f)};
  auto lane = lane_of_.find(op.process);
  if (lane == lane_of_.end()) {  // a completion without an invoke (a foreign history): a lane of its own
    lane = lane_of_.emplace(op.process, static_cast<int32_t>(s_.lane_processes.size())).first;
    s_.lane_processes.push_back({op.process});
  }
  iv.lane = lane->second;
  if (p != pending_.end()) {
    iv.invoke_index = p->second.index;
    iv.start_ms = Ms(p->second.time);
    iv.f = p->second.f;
    pending_.erase(p);
  }
  s_.intervals.push_back(iv);
  json invoke = TakeInvoke(op, iv);
  const auto wi = wanted_invoke_of_.find(op.process);
  const bool invoke_wanted = wi != wanted_invoke_of_.end() && wi->second == iv.invoke_index;
  if (invoke_wanted) wanted_invoke_of_.erase(wi);
  if (want || invoke_wanted) {
    s_.ops[op.index] = CompletionJson(op, iv);
    if (!invoke.is_null()) s_.ops[iv.invoke_index] = invoke;
  }
  const std::string& f = s_.f_names[iv.f];
  if (f == "read" && !op.key.empty() && !op.node.empty() && evidence_.reads.count({op.key, op.node}) != 0) {
    last_read_[{op.key, op.node}] = std::make_pair(invoke, CompletionJson(op, iv));
  }
  if (f == "replica-read" && evidence_.replica_keys.count(op.key) != 0) {
    last_replica_read_[op.key] = std::make_pair(invoke, CompletionJson(op, iv));
  }
  if (op.type == OpType::kInfo) {  // the process is retired; its lane goes to the next new process
    free_lanes_.push(iv.lane);
    lane_of_.erase(op.process);
  }
}

}  // namespace

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

HistoryScan ScanHistory(const fs::path& path, const std::unordered_set<int64_t>& wanted, const Evidence& evidence) {
  HistoryScan s;
  Scanner scanner(&s, wanted, evidence);
  ForEachOp(
      path, [&](const Op& op) { scanner.Add(op); }, &s.warnings, /*lenient=*/true);
  scanner.Finish();
  return s;
}

}  // namespace faultline::report_internal
