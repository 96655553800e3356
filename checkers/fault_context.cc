#include "checkers/fault_context.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

namespace faultline {
namespace {

using json = nlohmann::json;

double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

// "partition halves on n1, n2": the fault with its kind and targets (as the report's timeline labels it).
std::string Label(const std::string& fault, const json& value, const std::vector<std::string>& nodes) {
  std::string label = fault;
  if (value.is_object()) {
    if (auto it = value.find("kind"); it != value.end() && it->is_string()) label += " " + it->get<std::string>();
  }
  if (!nodes.empty()) label += fmt::format(" on {}", fmt::join(nodes, ", "));
  return label;
}

bool Hits(const FaultSpan& span, const std::string& node) {
  return std::find(span.nodes.begin(), span.nodes.end(), node) != span.nodes.end();
}

// The first fault that starts after `after_ns` (and before the final heal) and hits `node`.
const FaultSpan* FirstAfter(const FaultTimeline& t, int64_t after_ns, const std::string& node) {
  for (const FaultSpan& span : t.spans) {  // in start order
    if (span.start_ns <= after_ns) continue;
    if (t.final_heal_ns && span.start_ns >= *t.final_heal_ns) break;
    if (Hits(span, node)) return &span;
  }
  return nullptr;
}

std::string S(double seconds) { return fmt::format("{:.3f} s", seconds); }

}  // namespace

void FaultTimelineBuilder::Add(const Op& op) {
  if (!op.node.empty()) t_.nodes.insert(op.node);
  if (op.process != kNemesisProcess) {
    if (op.f == "replica-read" && op.type != OpType::kInvoke && op.value.is_object() && !op.key.empty()) {
      if (auto it = op.value.find("replicas"); it != op.value.end() && it->is_object()) {
        for (const auto& [node, values] : it->items()) {
          t_.replicas[op.key].insert(node);
          t_.nodes.insert(node);
        }
      }
    }
    return;
  }
  const auto dash = op.f.find('-');
  if (dash == std::string::npos) return;
  const std::string verb = op.f.substr(0, dash), fault = op.f.substr(dash + 1);
  if (verb == "start") {
    if (auto it = open_.find(fault); it != open_.end()) {  // a start without a stop: the earlier one ends here
      t_.spans[it->second].end_ns = op.time;
      open_.erase(it);
    }
    if (!op.error.empty()) {
      ++t_.failed[fault];
      t_.first_error.emplace(fault, op.error);
      return;
    }
    ++t_.injected[fault];
    FaultSpan span;
    span.fault = fault;
    if (op.value.is_object()) {
      if (auto it = op.value.find("targets"); it != op.value.end() && it->is_array()) {
        for (const json& n : *it) {
          if (n.is_string()) span.nodes.push_back(n.get<std::string>());
        }
      }
    }
    for (const std::string& n : span.nodes) t_.nodes.insert(n);
    span.label = Label(fault, op.value, span.nodes);
    span.start_index = op.index;
    span.start_ns = op.time;
    open_[fault] = t_.spans.size();
    t_.spans.push_back(std::move(span));
  } else if (verb == "stop" || verb == "heal") {
    if (verb == "heal" && !t_.final_heal_ns) t_.final_heal_ns = op.time;
    if (auto it = open_.find(fault); it != open_.end()) {
      t_.spans[it->second].end_ns = op.time;
      open_.erase(it);
    }
  }
}

FaultTimeline FaultTimelineBuilder::Finish() {
  open_.clear();
  return std::move(t_);
}

FaultRelations RelateFaults(const FaultTimeline& t, const AnomalyOp& op) {
  FaultRelations out;
  const int64_t ack = op.complete_ns;
  for (const FaultSpan& span : t.spans) {
    const bool overlaps = span.start_ns <= op.complete_ns && (!span.end_ns || *span.end_ns >= op.invoke_ns);
    if (overlaps) out.relations.push_back({"during", &span, "", span.start_ns - ack});
  }
  if (auto it = t.replicas.find(op.key); it != t.replicas.end() && !it->second.empty()) {
    out.replicas.assign(it->second.begin(), it->second.end());
    out.replicas_from = "replica reads";
  } else {
    out.replicas.assign(t.nodes.begin(), t.nodes.end());
    out.replicas_from = "all nodes (the history has no replica reads of the key)";
  }
  if (op.type != OpType::kOk) return out;  // only an acknowledgement can be undone by what follows it
  const auto listed = [&](const FaultSpan* span) {
    return std::any_of(out.relations.begin(), out.relations.end(), [&](const auto& r) { return r.span == span; });
  };
  if (!op.node.empty()) {
    if (const FaultSpan* span = FirstAfter(t, ack, op.node); span != nullptr && !listed(span)) {
      out.relations.push_back({"after-ack-on-node", span, op.node, span->start_ns - ack});
    }
  }
  std::vector<FaultRelation> replica_relations;
  for (const std::string& replica : out.replicas) {
    if (replica == op.node) continue;
    const FaultSpan* span = FirstAfter(t, ack, replica);
    if (span == nullptr || listed(span)) continue;
    // One fault hitting several replicas is listed once, under its first replica.
    if (std::any_of(replica_relations.begin(), replica_relations.end(), [&](const auto& r) { return r.span == span; }))
      continue;
    replica_relations.push_back({"after-ack-on-replica", span, replica, span->start_ns - ack});
  }
  std::stable_sort(replica_relations.begin(), replica_relations.end(),
                   [](const auto& a, const auto& b) { return a.delay_ns < b.delay_ns; });
  out.relations.insert(out.relations.end(), replica_relations.begin(), replica_relations.end());
  return out;
}

const FaultRelation* NearestFault(const FaultRelations& relations) {
  const FaultRelation* best = nullptr;
  for (const FaultRelation& r : relations.relations) {
    if (r.relation == "during") return &r;
    if (best == nullptr || r.delay_ns < best->delay_ns) best = &r;
  }
  return best;
}

json RelationsToJson(const FaultRelations& relations) {
  json out = json::array();
  for (const FaultRelation& r : relations.relations) {
    const auto round3 = [](double s) { return std::round(s * 1000) / 1000; };
    out.push_back({{"relation", r.relation},
                   {"fault", r.span->fault},
                   {"label", r.span->label},
                   {"node", r.node.empty() ? json() : json(r.node)},
                   {"start_s", round3(Seconds(r.span->start_ns))},
                   {"end_s", r.span->end_ns ? json(round3(Seconds(*r.span->end_ns))) : json()},
                   {"delay_s", round3(Seconds(r.delay_ns))},
                   {"start_index", r.span->start_index}});
  }
  return out;
}

std::pair<std::string, std::string> FaultVerbs(const std::string& fault) {
  if (fault == "kill") return {"was killed", "restarted"};
  if (fault == "pause") return {"was paused", "resumed"};
  if (fault == "partition") return {"was partitioned", "healed"};
  if (fault == "loss") return {"began losing packets", "stopped losing them"};
  if (fault == "clock") return {"had its clock skewed", "reset"};
  if (fault == "crash") return {"crashed", "booted"};
  if (fault == "freeze") return {"was frozen", "thawed"};
  if (fault == "starve") return {"was starved of CPU", "fed again"};
  return {"was hit by " + fault, "healed"};
}

std::string DescribeFaults(const json& faults, const std::string& node, double ack_s, bool ack_ok) {
  std::vector<std::string> parts;
  const std::string where = node.empty() ? "" : " by " + node;
  parts.push_back(ack_ok ? fmt::format("acknowledged{} at {}", where, S(ack_s))
                         : fmt::format("completed{} at {}", node.empty() ? "" : " on " + node, S(ack_s)));
  bool any = false;
  for (const json& f : faults.is_array() ? faults : json::array()) {
    if (!f.is_object()) continue;
    any = true;
    const std::string relation = f.value("relation", "");
    const std::string label = f.value("label", f.value("fault", "a fault"));
    const double start = f.value("start_s", 0.0), delay = f.value("delay_s", 0.0);
    const std::string end = f["end_s"].is_number() ? S(f["end_s"].get<double>()) : "";
    if (relation == "during") {
      parts.push_back(fmt::format("{} was in effect during the op (from {}{})", label, S(start),
                                  end.empty() ? ", never undone before the heal" : " to " + end));
      continue;
    }
    const auto [started, ended] = FaultVerbs(f.value("fault", ""));
    const std::string who = f["node"].is_string() ? f["node"].get<std::string>() : "?";
    parts.push_back(fmt::format("{}{} {} at {} ({:.2f} s later){}",
                                relation == "after-ack-on-replica" ? "replica " : "", who, started, S(start), delay,
                                end.empty() ? ", still so at the final heal" : " and " + ended + " at " + end));
  }
  if (!any) {
    parts.push_back(ack_ok ? "no fault was in effect during the op, and none hit that node or the key's replicas "
                             "after it before the final heal"
                           : "no fault was in effect during the op");
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace faultline
