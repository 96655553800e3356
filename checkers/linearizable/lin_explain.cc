#include "checkers/linearizable/lin_explain.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <vector>

namespace faultline {

namespace {

std::string FormatSeconds(int64_t ns) { return fmt::format("{:.3f} s", static_cast<double>(ns) / 1e9); }

// "write of 3 by process 4 at 12.301 s" (a read: "read by process 4 at 12.301 s returned 3").
std::string OpText(const LinOp& op, const ValueTable& values) {
  const std::string who = fmt::format("by process {} at {}", op.process, FormatSeconds(op.invoke_time));
  switch (op.f) {
    case LinF::kRead:
      return fmt::format("read {} returned {}", who, ValueText(values.Value(op.a)));
    case LinF::kWrite:
      return fmt::format("write of {} {}", ValueText(values.Value(op.a)), who);
    case LinF::kCas:
      return fmt::format("cas from {} to {} {}", ValueText(values.Value(op.a)), ValueText(values.Value(op.b)), who);
  }
  return {};
}

// "1", "1 or 2", "absent, 1 or 2".
// The values in their own order (JSON's), not in the order they were interned.
std::vector<int32_t> ByValue(std::vector<int32_t> states, const ValueTable& values) {
  std::sort(states.begin(), states.end(), [&](int32_t x, int32_t y) { return values.Value(x) < values.Value(y); });
  return states;
}

std::string StatesText(const std::vector<int32_t>& states, bool truncated, const ValueTable& values) {
  std::vector<std::string> parts;
  for (int32_t s : states) parts.push_back(ValueText(values.Value(s)));
  if (truncated) parts.push_back("other values");
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) text += i + 1 == parts.size() ? " or " : ", ";
    text += parts[i];
  }
  return text;
}

bool Overlaps(const LinOp& op, int64_t start, int64_t end) {
  return op.invoke_time <= end && (op.complete_time < 0 || op.complete_time >= start);
}

nlohmann::json OpsJson(const LinKey& key, const std::vector<size_t>& ops, const ValueTable& values) {
  nlohmann::json arr = nlohmann::json::array();
  for (size_t i : ops) arr.push_back(LinOpJson(key.ops[i], key, values));
  return arr;
}

}  // namespace

std::string ValueText(const nlohmann::json& value) { return value.is_null() ? "absent" : value.dump(); }

std::string NonLinearizableSentence(const LinKey& key, const LinSearchResult& result, const ValueTable& values) {
  const LinOp& op = key.ops[static_cast<size_t>(result.blocker)];
  const std::string what = OpText(op, values);
  if (result.unwritable) {
    const bool written = std::any_of(key.ops.begin(), key.ops.end(), [&](const LinOp& w) {
      return w.type != OpType::kFail && ((w.f == LinF::kWrite && w.a == op.a) || (w.f == LinF::kCas && w.b == op.a));
    });
    const std::string v = ValueText(values.Value(op.a));
    return written ? fmt::format("{}, but no op writing {} was invoked before it returned", what, v)
                   : fmt::format("{}, but no op wrote {}", what, v);
  }
  // The ops that completed before it was invoked (they precede it in every linearization).
  const int64_t n = std::count_if(key.ops.begin(), key.ops.end(), [&](const LinOp& o) {
    return o.type == OpType::kOk && o.siblings < 0 && o.complete_pos >= 0 && o.complete_pos < op.invoke_pos;
  });
  const std::string before = fmt::format("{} op{} before it", n, n == 1 ? "" : "s");
  if (result.states_before.empty()) {
    return fmt::format("{} cannot be linearized: no order of the {} lets it and every later op take effect", what,
                       before);
  }
  std::string where = StatesText(ByValue(result.states_before, values), result.states_truncated, values);
  if (where.rfind("absent", 0) != 0) where = "at " + where;
  return fmt::format("{}, but every linearization of the {} leaves the register {}", what, before, where);
}

nlohmann::json NonLinearizableAnomaly(const LinKey& key, const LinSearchResult& result, const ValueTable& values) {
  const size_t blocker = static_cast<size_t>(result.blocker);
  const LinOp& op = key.ops[blocker];
  nlohmann::json j;
  j["type"] = "nonlinearizable";
  j["key"] = key.name;
  j["sentence"] = NonLinearizableSentence(key, result, values);
  j["op"] = LinOpJson(op, key, values);
  nlohmann::json prefix = nlohmann::json::array();
  const size_t first = result.prefix.size() > kMaxPrefixSteps ? result.prefix.size() - kMaxPrefixSteps : 0;
  for (size_t i = first; i < result.prefix.size(); ++i) {
    const LinStep& s = result.prefix[i];
    prefix.push_back(
        {{"op", LinOpJson(key.ops[static_cast<size_t>(s.op)], key, values)}, {"state", values.Value(s.state)}});
  }
  j["prefix"] = std::move(prefix);
  j["prefix_length"] = result.prefix.size();
  nlohmann::json states = nlohmann::json::array();
  for (int32_t s : ByValue(result.states_before, values)) states.push_back(values.Value(s));
  j["states_before"] = std::move(states);
  // Concurrent: every other op of the key whose interval overlaps the blocker's (file order).
  std::vector<size_t> concurrent;
  int64_t start = op.invoke_time, end = op.complete_time >= 0 ? op.complete_time : op.invoke_time;
  for (size_t i = 0; i < key.ops.size(); ++i) {
    const LinOp& o = key.ops[i];
    if (i == blocker || o.invoke_pos > op.complete_pos || (o.complete_pos >= 0 && o.complete_pos < op.invoke_pos)) {
      continue;
    }
    if (concurrent.size() < kMaxWindowOps) concurrent.push_back(i);
    if (o.complete_time < 0 || o.type == OpType::kInfo) continue;  // a crashed op stays open: not the window's edge
    start = std::min(start, o.invoke_time);
    end = std::max(end, o.complete_time);
  }
  j["concurrent"] = OpsJson(key, concurrent, values);
  // The window: the blocker, its concurrent ops and the last few steps of the prefix.
  for (size_t i = result.prefix.size() > 10 ? result.prefix.size() - 10 : 0; i < result.prefix.size(); ++i) {
    const LinOp& o = key.ops[static_cast<size_t>(result.prefix[i].op)];
    if (o.type == OpType::kOk) start = std::min(start, o.invoke_time);  // a crashed op's invoke may be long before
  }
  j["window"] = {{"start_ns", start}, {"end_ns", end}};
  std::vector<size_t> window;
  size_t centre = 0;
  for (size_t i = 0; i < key.ops.size(); ++i) {
    if (!Overlaps(key.ops[i], start, end)) continue;
    if (i == blocker) centre = window.size();
    window.push_back(i);
  }
  if (window.size() > kMaxWindowOps) {  // keep the ops nearest the blocker
    const size_t from =
        std::min(centre > kMaxWindowOps / 2 ? centre - kMaxWindowOps / 2 : 0, window.size() - kMaxWindowOps);
    window = std::vector<size_t>(window.begin() + static_cast<std::ptrdiff_t>(from),
                                 window.begin() + static_cast<std::ptrdiff_t>(from + kMaxWindowOps));
  }
  j["window_ops"] = OpsJson(key, window, values);
  return j;
}

nlohmann::json SiblingsAnomaly(const LinKey& key, size_t read, const ValueTable& values) {
  const LinOp& op = key.ops[read];
  const std::vector<int32_t>& sibs = key.siblings[static_cast<size_t>(op.siblings)];
  const std::set<int32_t> wanted(sibs.begin(), sibs.end());
  std::vector<size_t> writes;
  for (size_t i = 0; i < key.ops.size(); ++i) {
    const LinOp& w = key.ops[i];
    if (w.f == LinF::kRead || w.type == OpType::kFail) continue;
    if (wanted.count(w.f == LinF::kWrite ? w.a : w.b) > 0) writes.push_back(i);
  }
  nlohmann::json value = nlohmann::json::array();
  for (int32_t v : sibs) value.push_back(values.Value(v));
  nlohmann::json j;
  j["type"] = "siblings";
  j["key"] = key.name;
  j["sentence"] =
      fmt::format("read by process {} at {} returned {} siblings {}, but a register holds one value ({} wrote them)",
                  op.process, FormatSeconds(op.invoke_time), sibs.size(), value.dump(),
                  writes.size() == 1 ? "1 op" : fmt::format("{} ops", writes.size()));
  j["op"] = LinOpJson(op, key, values);
  j["writes"] = OpsJson(key, writes, values);
  return j;
}

}  // namespace faultline
