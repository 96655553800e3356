#include "harness/run/anomaly_faults.h"

#include <cmath>
#include <map>
#include <unordered_map>
#include <vector>

#include "reports/anomaly_kinds.h"

namespace faultline {
namespace {

using json = nlohmann::json;

// The history index of the op an anomaly entry is about, or -1.
int64_t OpIndexOf(const json& entry) {
  if (!entry.is_object()) return -1;
  if (auto it = entry.find("index"); it != entry.end() && it->is_number_integer()) return it->get<int64_t>();
  if (auto op = entry.find("op"); op != entry.end() && op->is_object()) {  // linearizable: its offending op
    if (auto it = op->find("complete_index"); it != op->end() && it->is_number_integer()) return it->get<int64_t>();
  }
  return -1;
}

// Every anomaly entry of every checker (the arrays anomaly_kinds.h counts, and the linearizable "anomalies").
std::vector<json*> AnomalyEntries(RunResults* results) {
  std::vector<json*> entries;
  for (auto& [name, result] : results->checkers) {
    json& details = result.details;
    if (!details.is_object()) continue;
    std::vector<std::string> arrays;
    for (const auto& [field, v] : details.items()) {
      const std::string kind = AnomalyKindOfCountField(field);
      if (!kind.empty() && v.is_number_integer()) arrays.push_back(kind);
    }
    if (details.contains("anomalies")) arrays.push_back("anomalies");
    for (const std::string& kind : arrays) {
      auto it = details.find(kind);
      if (it == details.end() || !it->is_array()) continue;
      for (json& entry : *it) entries.push_back(&entry);
    }
  }
  return entries;
}

}  // namespace

void AttachFaultContext(const FaultTimeline& timeline, const OpReader& read_ops, RunResults* results) {
  std::unordered_map<int64_t, AnomalyOp> wanted;
  int64_t last = -1;
  const std::vector<json*> entries = AnomalyEntries(results);
  for (json* entry : entries) {
    const int64_t index = OpIndexOf(*entry);
    if (index < 0) continue;
    wanted.emplace(index, AnomalyOp{});
    last = std::max(last, index);
  }
  if (wanted.empty()) return;
  // The second pass: each wanted completion with its invoke's time (the process's pending invoke).
  std::unordered_map<int64_t, int64_t> invoke_time;  // process -> its pending invoke's time
  std::unordered_map<int64_t, bool> found;
  struct Done {};
  try {
    read_ops([&](const Op& op) {
      if (op.index > last && op.type != OpType::kInvoke) throw Done{};
      if (op.process == kNemesisProcess) return;
      if (op.type == OpType::kInvoke) {
        invoke_time[op.process] = op.time;
        return;
      }
      auto it = wanted.find(op.index);
      const auto pending = invoke_time.find(op.process);
      if (it != wanted.end()) {
        it->second = AnomalyOp{
            op.index, op.type, op.node, op.key, pending != invoke_time.end() ? pending->second : op.time, op.time};
        found[op.index] = true;
      }
      if (pending != invoke_time.end()) invoke_time.erase(pending);
    });
  } catch (const Done&) {
  }
  for (json* entry : entries) {
    const int64_t index = OpIndexOf(*entry);
    if (index < 0 || !found.count(index)) continue;
    const AnomalyOp& op = wanted.at(index);
    const FaultRelations relations = RelateFaults(timeline, op);
    (*entry)["faults"] = RelationsToJson(relations);
    (*entry)["ack"] = {{"node", op.node.empty() ? json() : json(op.node)},
                       {"time_s", std::round(static_cast<double>(op.complete_ns) / 1e6) / 1000},
                       {"type", OpTypeName(op.type)}};
    (*entry)["replicas"] = relations.replicas;
    (*entry)["replicas_from"] = relations.replicas_from;
  }
}

}  // namespace faultline
