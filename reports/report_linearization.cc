// The linearization diagrams of report.html (reports/web/DATA.md
// "linearizations"): one per non-linearizable key the linearizable checker
// explained (its details: lin_common "anomalies" of type "nonlinearizable").
// Each diagram holds only the failing window's ops (the checker's
// window_ops, plus the offending op, its concurrent ops and the prefix), so
// the page stays small however long the key's history is; with each op its
// place in the longest linearizable prefix, a linearization point inside its
// interval, and the model state after it; the faults over the window.
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>

#include "reports/report_sections.h"

namespace faultline::report_internal {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxDiagramOps = 300;  // per diagram: the window is the checker's, this only caps a huge one

// A time in the checker's ops and window: nanoseconds since the test started, like the history's.
json MsOf(const json& ns) { return ns.is_number() ? json(Ms(ns.get<int64_t>())) : json(); }

// A checker op (lin_common: process, f, value, type, invoke_index, complete_index, invoke_time, complete_time)
// as the diagram draws it.
json DiagramOp(const json& op) {
  return {{"index", op.value("invoke_index", json())},
          {"complete_index", op.value("complete_index", json())},
          {"process", op.value("process", json())},
          {"f", op.value("f", json())},
          {"value", op.value("value", json())},
          {"type", op.value("type", json())},
          {"start_ms", MsOf(op.value("invoke_time", json()))},
          {"end_ms", MsOf(op.value("complete_time", json()))},
          {"order", nullptr},
          {"point_ms", nullptr},
          {"state", nullptr},
          {"offending", false}};
}

// One diagram from one "nonlinearizable" anomaly entry, or null when it names no op.
json Diagram(const json& e, const std::string& id, const std::string& model, const HistoryScan& scan) {
  if (!e.contains("op") || !e["op"].is_object()) return nullptr;
  std::vector<json> ops;
  std::map<int64_t, size_t> by_index;  // invoke index -> position in ops
  const auto add = [&](const json& op) -> json* {
    if (!op.is_object() || !op.contains("invoke_index") || !op["invoke_index"].is_number_integer()) return nullptr;
    const int64_t index = op["invoke_index"].get<int64_t>();
    if (auto it = by_index.find(index); it != by_index.end()) return &ops[it->second];
    if (ops.size() >= kMaxDiagramOps) return nullptr;
    by_index[index] = ops.size();
    ops.push_back(DiagramOp(op));
    return &ops.back();
  };
  json* offending = add(e["op"]);
  if (offending == nullptr) return nullptr;
  (*offending)["offending"] = true;
  for (const json& op : e.value("concurrent", json::array())) add(op);
  for (const json& op : e.value("window_ops", json::array())) add(op);
  // The longest linearizable prefix, in linearization order: each op's point is the earliest instant inside its
  // interval after the previous point (one exists: the order respects real time). Only the prefix ops in the
  // window are drawn; the others keep their place in the numbering.
  double point = -std::numeric_limits<double>::infinity();
  int64_t order = 0;
  for (const json& step : e.value("prefix", json::array())) {
    const json op = step.is_object() && step.value("op", json()).is_object() ? DiagramOp(step["op"]) : json();
    if (!op.is_object() || !op["start_ms"].is_number()) continue;
    point = std::max(point + 0.001, op["start_ms"].get<double>());
    if (op["end_ms"].is_number()) point = std::min(point, op["end_ms"].get<double>());
    const int64_t this_order = order++;
    auto it = op["index"].is_number_integer() ? by_index.find(op["index"].get<int64_t>()) : by_index.end();
    if (it == by_index.end()) continue;
    json& drawn = ops[it->second];
    drawn["order"] = this_order;
    drawn["point_ms"] = std::round(point * 1000) / 1000;
    drawn["state"] = step.value("state", json());
  }

  json processes = json::array();
  std::vector<int64_t> seen;
  for (const json& op : ops) {
    if (op["process"].is_number_integer() &&
        std::find(seen.begin(), seen.end(), op["process"].get<int64_t>()) == seen.end()) {
      seen.push_back(op["process"].get<int64_t>());
    }
  }
  std::sort(seen.begin(), seen.end());
  for (int64_t p : seen) processes.push_back(p);

  // The window: the checker's, else the ops' span.
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const json& op : ops) {
    if (op["start_ms"].is_number()) lo = std::min(lo, op["start_ms"].get<double>());
    if (op["end_ms"].is_number()) hi = std::max(hi, op["end_ms"].get<double>());
    if (op["start_ms"].is_number()) hi = std::max(hi, op["start_ms"].get<double>());
  }
  const json& window = e.value("window", json::object());
  if (window.is_object() && window.value("start_ns", json()).is_number()) lo = Ms(window["start_ns"].get<int64_t>());
  if (window.is_object() && window.value("end_ns", json()).is_number()) hi = Ms(window["end_ns"].get<int64_t>());
  if (!(lo <= hi)) lo = hi = 0;

  json faults = json::array();
  for (const FaultInterval& f : scan.faults) {
    if (f.start_ms <= hi && f.end_ms.value_or(std::numeric_limits<double>::infinity()) >= lo) {
      faults.push_back({{"fault", f.fault},
                        {"label", f.label},
                        {"start_ms", f.start_ms},
                        {"end_ms", f.end_ms ? json(*f.end_ms) : json()}});
    }
  }
  return {{"id", id},
          {"key", e.value("key", json())},
          {"model", model},
          {"sentence", e.value("sentence", "")},
          {"window", {{"start_ms", lo}, {"end_ms", hi}}},
          {"processes", std::move(processes)},
          {"ops", std::move(ops)},
          {"states_before", e.value("states_before", json::array())},
          {"faults", std::move(faults)}};
}

}  // namespace

json LinearizationsJson(const AnomalySelection& selection, const HistoryScan& scan) {
  json diagrams = json::array();
  std::string model;
  for (const auto& [name, result] : selection.checkers) {
    if (name == "linearizable" && result.is_object()) model = result.value("model", "");
  }
  int64_t ordinal = 0;  // as CheckersJson numbers the anomalies: "<checker>-<kind>-<ordinal>"
  for (const Anomaly& a : selection.anomalies) {
    if (a.checker != "linearizable" || a.kind != "nonlinearizable") continue;
    const std::string id = fmt::format("{}-{}-{}", a.checker, a.kind, ordinal++);
    json d = Diagram(a.entry, id, model, scan);
    if (!d.is_null()) diagrams.push_back(std::move(d));
  }
  return diagrams;
}

}  // namespace faultline::report_internal
