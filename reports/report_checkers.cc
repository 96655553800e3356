// The checker cards of report.html: each checker's verdict, trimmed details
// and anomalies, each anomaly explained in a sentence with its ops, the fault
// it happened under and where the timeline should focus; and the verdict
// banner's sentence.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>

#include "checkers/fault_context.h"
#include "reports/anomaly_kinds.h"
#include "reports/report_sections.h"

namespace faultline::report_internal {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxDetailEntries = 200;  // long arrays/objects in a checker's details are cut to this

// The linearizable checker lists its anomalies in one "anomalies" array, each with its "type"
// (nonlinearizable, siblings) and its ops as objects (lin_common); its diagrams are report_linearization.cc's.
constexpr const char* kLinearizable = "linearizable";

// The history indices of a linearizable anomaly's own ops: the offending op (invoke and completion) and, for
// siblings, the writes. Not its window's: the diagram carries those, and the page's "ops" stays small.
std::vector<int64_t> LinearizableOpIndices(const json& e) {
  std::vector<int64_t> out;
  const auto add = [&](const json& op) {
    if (!op.is_object()) return;
    for (const char* field : {"invoke_index", "complete_index"}) {
      if (op.contains(field) && op[field].is_number_integer()) out.push_back(op[field].get<int64_t>());
    }
  };
  if (e.contains("op")) add(e["op"]);
  if (e.contains("writes") && e["writes"].is_array()) {
    for (const json& w : e["writes"]) add(w);
  }
  return out;
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
  if (checker == kLinearizable && e.contains("sentence") && e["sentence"].is_string()) return get("sentence");
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

// From the entry's results.json "faults" (harness/run/anomaly_faults.h), when it has them: "fault_context", the
// sentence that ties the op to the faults around it, and "nearest_fault", the one the banner counts it under.
void AddFaultContext(const json& e, json* out) {
  if (!e.contains("faults") || !e["faults"].is_array() || !e.contains("ack") || !e["ack"].is_object()) return;
  const json& ack = e["ack"];
  const std::string node = ack["node"].is_string() ? ack["node"].get<std::string>() : "";
  (*out)["fault_context"] =
      DescribeFaults(e["faults"], node, ack.value("time_s", 0.0), ack.value("type", std::string()) == "ok");
  const json* nearest = nullptr;
  for (const json& f : e["faults"]) {
    if (f.value("relation", "") == "during") {
      nearest = &f;
      break;
    }
    if (nearest == nullptr || f.value("delay_s", 0.0) < nearest->value("delay_s", 0.0)) nearest = &f;
  }
  if (nearest != nullptr) (*out)["nearest_fault"] = *nearest;
}

json BuildAnomaly(const Anomaly& a, const HistoryScan& s, int64_t ordinal) {
  const json& e = a.entry;
  const std::string key = e.contains("key") && e["key"].is_string() ? e["key"].get<std::string>() : "";
  std::vector<int64_t> ops;
  const auto add = [&](int64_t index) {
    if (s.ops.count(index) != 0 && std::find(ops.begin(), ops.end(), index) == ops.end()) ops.push_back(index);
  };
  if (a.checker == kLinearizable) {
    for (int64_t i : LinearizableOpIndices(e)) add(i);
  }
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
  if (a.checker == kLinearizable && e.contains("op")) {  // the offending op, not the sibling writes
    const std::vector<int64_t> own = LinearizableOpIndices(json{{"op", e["op"]}});
    std::erase_if(focus_ops, [&](int64_t i) { return std::find(own.begin(), own.end(), i) == own.end(); });
    if (focus_ops.empty()) focus_ops = ops;
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
  json out = {{"id", fmt::format("{}-{}-{}", a.checker, a.kind, ordinal)},
              {"kind", a.kind},
              {"key", key.empty() ? json() : json(key)},
              {"text", AnomalyText(a.checker, a.kind, e, s)},
              {"fault", fault.empty() ? json() : json(fault)},
              {"fault_context", nullptr},
              {"nearest_fault", nullptr},
              {"ops", ops},
              {"focus", focus}};
  AddFaultContext(e, &out);
  return out;
}

// A checker's card: its verdict, summary, trimmed details and listed anomalies.
json CheckerCard(const std::string& name, const json& result, const AnomalySelection& selection,
                 const HistoryScan& scan, std::map<std::string, int64_t>* ordinal) {
  json details = json::object();
  for (const auto& [k, v] : result.items()) {
    // The linearizable anomalies' windows are shown as anomalies and diagrams, not again as raw details.
    if (name == kLinearizable && k == "anomalies" && v.is_array()) {
      details[k] = fmt::format("{} anomalies, listed below", v.size());
    } else if (k != "valid" && k != "summary") {
      details[k] = Trim(v);
    }
  }
  json list = json::array();
  for (const auto& a : selection.anomalies) {
    if (a.checker == name) list.push_back(BuildAnomaly(a, scan, (*ordinal)[name + a.kind]++));
  }
  const auto count = selection.counts.find(name);
  return {{"name", name},
          {"valid", result.value("valid", json("unknown"))},
          {"summary", result.value("summary", "")},
          {"details", std::move(details)},
          {"anomaly_count", count == selection.counts.end() ? 0 : count->second},
          {"anomalies", std::move(list)}};
}

}  // namespace

AnomalySelection SelectAnomalies(const json& results, int64_t max_per_checker) {
  AnomalySelection out;
  if (!results.is_object() || !results.contains("checkers") || !results["checkers"].is_object()) return out;
  for (const auto& [name, result] : results["checkers"].items()) {
    out.checkers.emplace_back(name, result);
    int64_t kept = 0;
    if (name == kLinearizable && result.is_object() && result.contains("anomalies") && result["anomalies"].is_array()) {
      const json& anomalies = result["anomalies"];
      const json keys = result.value("keys", json::object());
      const int64_t bad =
          keys.is_object() ? keys.value("non_linearizable", int64_t{0}) + keys.value("siblings", int64_t{0}) : 0;
      out.counts[name] += std::max<int64_t>(bad, static_cast<int64_t>(anomalies.size()));
      for (const auto& entry : anomalies) {
        if (kept++ >= max_per_checker) break;
        const std::string kind = entry.is_object() && entry.contains("type") && entry["type"].is_string()
                                     ? entry["type"].get<std::string>()
                                     : "anomaly";
        out.anomalies.push_back(Anomaly{name, kind, entry});
      }
    }
    for (const auto& [field, count] : AnomalyArrays(result)) {
      out.counts[name] += count;
      for (const auto& entry : result[field]) {
        if (kept++ >= max_per_checker) break;
        out.anomalies.push_back(Anomaly{name, field, entry});
      }
    }
  }
  return out;
}

std::unordered_set<int64_t> WantedIndices(const std::vector<Anomaly>& anomalies) {
  std::unordered_set<int64_t> wanted;
  for (const auto& a : anomalies) {
    if (a.checker == kLinearizable) {
      for (int64_t i : LinearizableOpIndices(a.entry)) wanted.insert(i);
    } else {
      CollectIndices(a.entry, &wanted);
    }
  }
  return wanted;
}

Evidence EvidenceOf(const std::vector<Anomaly>& anomalies) {
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
  return evidence;
}

json CheckersJson(const AnomalySelection& selection, const json& results, const HistoryScan& scan) {
  json checkers_out = json::array();
  std::map<std::string, int64_t> ordinal;
  for (const auto& [name, result] : selection.checkers) {
    checkers_out.push_back(CheckerCard(name, result, selection, scan, &ordinal));
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
  return checkers_out;
}

namespace {

// How the banner counts an anomaly: "during partition halves on n1, n2", "followed by a kill of the acknowledging
// node", "followed by a pause of a replica", "with no fault near it"; "" when nothing is known (an anomaly without
// an op, or a results.json from before faults were tied to anomalies, with no fault active).
std::string NearestPhrase(const json& a) {
  const json& f = a.value("nearest_fault", json());
  if (f.is_object()) {
    const std::string relation = f.value("relation", ""), fault = f.value("fault", "");
    if (relation == "during") return "during " + f.value("label", fault);
    return fmt::format("followed by a {} of {}", fault,
                       relation == "after-ack-on-node" ? "the acknowledging node" : "a replica");
  }
  if (a["fault"].is_string()) return "during " + a["fault"].get<std::string>();
  if (a.value("fault_context", json()).is_string()) return "with no fault near it";
  return "";
}

}  // namespace

std::string VerdictSentence(const json& results, const json& checkers_out) {
  if (results.is_null()) return "no results.json: the run did not finish; `faultline check RUN_DIR` checks its history";
  const json& valid = results.value("valid", json("unknown"));
  if (valid == false) {
    std::vector<std::string> parts;
    for (const auto& c : checkers_out) {
      if (c["valid"] != false) continue;
      std::string summary = c["summary"].get<std::string>();
      if (summary.find("during") == std::string::npos) {  // say which faults the anomalies happened under
        // By nearest fault (results.json "faults" per anomaly), else by the fault active when the op ran.
        std::map<std::string, int64_t> by_fault;
        for (const auto& a : c["anomalies"]) {
          const std::string phrase = NearestPhrase(a);
          if (!phrase.empty()) ++by_fault[phrase];
        }
        std::vector<std::pair<int64_t, std::string>> ranked;
        for (const auto& [label, n] : by_fault) ranked.emplace_back(n, label);
        std::sort(ranked.rbegin(), ranked.rend());
        std::vector<std::string> during;
        for (size_t i = 0; i < ranked.size() && i < 3; ++i) {
          during.push_back(
              i == 0 ? fmt::format("{} of the {} {}", ranked[i].first, c["anomaly_count"].dump(), ranked[i].second)
                     : fmt::format("{} {}", ranked[i].first, ranked[i].second));
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

}  // namespace faultline::report_internal
