#include "checkers/set_checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "checkers/checker_util.h"
#include "checkers/id_table.h"

namespace faultline {

namespace {

struct AddRecord {
  OpType outcome = OpType::kInfo;  // kInfo also for an invoke that never completed
  int64_t index = 0;               // the completing op's (the invoke's while pending)
  int64_t time = 0;
  int present_reads = 0;  // number of ok reads of the key that hold it
  bool recorded = false;
  // An ok line alone names this add (its own key and value, equal to its invoke's):
  // no missing line can have mismatched it (JudgeDespiteMissingLines).
  bool confirmed = false;
};

struct FinalRead {
  std::string node;
  std::vector<int64_t> elements;  // sorted, unique
  bool confirmed = false;         // its line names its own key (equal to its invoke's)
};

struct SetKeyState {
  // Its adds: records in first-add order, found through State::add_index
  // (flat: a node-based map per key is the bottleneck at millions of adds).
  std::vector<std::pair<int64_t, AddRecord>> adds;
  uint32_t number = 0;  // its key in State::add_index
  int64_t attempts = 0;
  std::vector<FinalRead> reads;
};

struct PendingInvoke {
  std::string f;
  std::string key;
  nlohmann::json value;
  int64_t index = 0;
  int64_t time = 0;
};

// Distinct nodes of the reads that do (present == true) or do not hold `element`.
nlohmann::json NodesWhere(const std::vector<FinalRead>& reads, int64_t element, bool present) {
  std::set<std::string> nodes;
  for (const FinalRead& read : reads) {
    if (std::binary_search(read.elements.begin(), read.elements.end(), element) == present) {
      nodes.insert(NodeName(read.node));
    }
  }
  return nlohmann::json(std::vector<std::string>(nodes.begin(), nodes.end()));
}

// "on key k2 (missing on n1, n3)" / "on keys k1, k2 (...)"; nodes from entries[field].
std::string Where(const nlohmann::json& entries, const char* nodes_field, std::string_view nodes_label) {
  std::set<std::string> keys, nodes;
  for (const auto& entry : entries) {
    keys.insert(entry["key"].get<std::string>());
    for (const auto& node : entry[nodes_field]) nodes.insert(node.get<std::string>());
  }
  return fmt::format("on {} {} ({} {})", keys.size() == 1 ? "key" : "keys", fmt::join(keys, ", "), nodes_label,
                     fmt::join(nodes, ", "));
}

// What Finish found over every key (see SetChecker::Finish); lists sorted by key then element.
struct Findings {
  nlohmann::json lost = nlohmann::json::array(), recovered = nlohmann::json::array(),
                 unexpected = nlohmann::json::array(), failed_present = nlohmann::json::array(),
                 per_key = nlohmann::json::object();
  std::vector<std::string> without_read;  // keys with adds but no ok read
  int64_t confirmed_lost = 0;             // lost adds that missing lines cannot explain (see the header)
};

// One add in the details: where it completed and the nodes (`nodes_field`) that do or do not hold it.
nlohmann::json AddEntry(const std::string& key, int64_t element, const AddRecord& add, const char* nodes_field,
                        nlohmann::json nodes) {
  return {
      {"key", key}, {"element", element}, {"index", add.index}, {"time", add.time}, {nodes_field, std::move(nodes)}};
}

}  // namespace

struct SetChecker::State {
  // std::map for stable output order; `by_name` finds a key by hash, without its string compares.
  std::map<std::string, SetKeyState> keys;
  std::unordered_map<std::string, SetKeyState*> by_name;
  IdTable add_index;  // (key number, element) -> index in its SetKeyState::adds
  std::unordered_map<int64_t, PendingInvoke> pending;
  int64_t attempt_count = 0, ok_count = 0, fail_count = 0, info_count = 0, malformed = 0, final_reads = 0;
  int64_t missing_lines = 0;  // JudgeDespiteMissingLines

  SetKeyState& Key(const std::string& name) {
    auto cached = by_name.find(name);
    if (cached != by_name.end()) return *cached->second;
    auto [it, fresh] = keys.try_emplace(name);
    if (fresh) it->second.number = static_cast<uint32_t>(keys.size() - 1);
    by_name.emplace(name, &it->second);  // std::map nodes never move
    return it->second;
  }

  void RecordAdd(const std::string& key, const nlohmann::json& value, OpType outcome, int64_t index, int64_t time,
                 bool confirmed = false) {
    if (!value.is_number_integer()) {
      ++malformed;
      return;
    }
    SetKeyState& state = Key(key);
    const int64_t element = value.get<int64_t>();
    const auto next = static_cast<uint32_t>(state.adds.size());
    const uint32_t at = add_index.Insert(state.number, element, next);
    if (at == IdTable::kAbsent) state.adds.emplace_back(element, AddRecord{});
    AddRecord& add = state.adds[at == IdTable::kAbsent ? next : at].second;
    // The same element added twice (not done by our workload): the strongest outcome counts.
    if (outcome == OpType::kOk && confirmed) add.confirmed = true;
    if (!add.recorded) {
      add = AddRecord{outcome, index, time, 0, true, add.confirmed};
    } else if (outcome == OpType::kOk || (outcome == OpType::kInfo && add.outcome == OpType::kFail)) {
      add.outcome = outcome;
      add.index = index;
      add.time = time;
    }
    switch (outcome) {
      case OpType::kOk:
        ++ok_count;
        break;
      case OpType::kFail:
        ++fail_count;
        break;
      default:
        ++info_count;
    }
  }

  // Finish's steps, in order.
  void CompletePending();
  std::map<int64_t, std::set<std::string>> CountPresence(SetKeyState& state) const;
  void CheckKey(const std::string& key, SetKeyState& state, Findings& found) const;
  void Judge(const Findings& found, CheckResult& result) const;
};

SetChecker::SetChecker() : state_(std::make_unique<State>()) {}
SetChecker::~SetChecker() = default;

bool SetChecker::JudgeDespiteMissingLines(int64_t missing) {
  state_->missing_lines = missing;
  return true;
}

void SetChecker::Add(const Op& op) {
  if (op.process == kNemesisProcess) return;
  if (op.f != "add" && op.f != "read") return;
  State& s = *state_;
  if (op.type == OpType::kInvoke) {
    if (op.f == "add") {
      ++s.attempt_count;
      ++s.Key(op.key).attempts;
    }
    auto [it, fresh] = s.pending.try_emplace(op.process);
    if (!fresh && it->second.f == "add") {
      // The process invoked again without completing: its earlier add is indeterminate.
      s.RecordAdd(it->second.key, it->second.value, OpType::kInfo, it->second.index, it->second.time);
    }
    it->second = PendingInvoke{op.f, op.key, op.value, op.index, op.time};
    return;
  }
  auto it = s.pending.find(op.process);
  const bool matched = it != s.pending.end() && it->second.f == op.f;
  const std::string& key = matched ? it->second.key : op.key;
  // The line names its own key (and an add its element), the same as its invoke's.
  const bool self_contained = !op.key.empty() && (!matched || it->second.key == op.key);
  if (op.f == "add") {
    if (!matched) {
      ++s.attempt_count;
      ++s.Key(key).attempts;
    }
    const bool confirmed = self_contained && op.value.is_number_integer() && (!matched || it->second.value == op.value);
    s.RecordAdd(key, matched ? it->second.value : op.value, op.type, op.index, op.time, confirmed);
  } else if (op.type == OpType::kOk) {
    if (!op.value.is_array()) {
      ++s.malformed;
    } else {
      FinalRead read{op.node, {}, self_contained};
      read.elements.reserve(op.value.size());
      for (const auto& element : op.value) {
        if (element.is_number_integer()) {
          read.elements.push_back(element.get<int64_t>());
        } else {
          ++s.malformed;
        }
      }
      std::sort(read.elements.begin(), read.elements.end());
      read.elements.erase(std::unique(read.elements.begin(), read.elements.end()), read.elements.end());
      s.Key(key).reads.push_back(std::move(read));
      ++s.final_reads;
    }
  }
  if (it != s.pending.end()) s.pending.erase(it);
}

// Invokes that never completed: indeterminate adds.
void SetChecker::State::CompletePending() {
  for (auto& [process, invoke] : pending) {
    if (invoke.f == "add") RecordAdd(invoke.key, invoke.value, OpType::kInfo, invoke.index, invoke.time);
  }
  pending.clear();
}

// Counts in each add's present_reads the reads that hold it; returns the
// elements read that no add invoked, with the nodes that read them.
std::map<int64_t, std::set<std::string>> SetChecker::State::CountPresence(SetKeyState& state) const {
  std::map<int64_t, std::set<std::string>> unexpected;
  for (const FinalRead& read : state.reads) {
    for (int64_t element : read.elements) {
      const uint32_t at = add_index.Find(state.number, element);
      if (at == IdTable::kAbsent) {
        unexpected[element].insert(NodeName(read.node));
      } else {
        ++state.adds[at].second.present_reads;
      }
    }
  }
  return unexpected;
}

// One key's adds against its reads, into `found`.
void SetChecker::State::CheckKey(const std::string& key, SetKeyState& state, Findings& found) const {
  const std::map<int64_t, std::set<std::string>> key_unexpected = CountPresence(state);
  std::vector<std::pair<int64_t, const AddRecord*>> adds;
  adds.reserve(state.adds.size());
  for (const auto& [element, add] : state.adds) adds.emplace_back(element, &add);
  auto by_element = [](const auto& a, const auto& b) { return a.first < b.first; };
  // Elements are usually added in increasing order: then there is nothing to sort.
  if (!std::is_sorted(adds.begin(), adds.end(), by_element)) std::sort(adds.begin(), adds.end(), by_element);
  int64_t key_ok = 0, key_lost = 0, key_recovered = 0, key_failed_present = 0;
  const int reads = static_cast<int>(state.reads.size());
  for (const auto& [element, add] : adds) {
    if (add->outcome == OpType::kOk) ++key_ok;
    if (reads == 0) continue;
    if (add->outcome == OpType::kOk && add->present_reads < reads) {
      ++key_lost;
      found.lost.push_back(AddEntry(key, element, *add, "missing_on", NodesWhere(state.reads, element, false)));
      // `e`: clang 14 cannot capture a structured binding.
      if (add->confirmed &&
          std::any_of(state.reads.begin(), state.reads.end(), [&, e = element](const FinalRead& read) {
            return read.confirmed && !std::binary_search(read.elements.begin(), read.elements.end(), e);
          })) {
        ++found.confirmed_lost;
      }
    } else if (add->outcome == OpType::kInfo && add->present_reads > 0) {
      ++key_recovered;
      found.recovered.push_back(AddEntry(key, element, *add, "present_on", NodesWhere(state.reads, element, true)));
    } else if (add->outcome == OpType::kFail && add->present_reads > 0) {
      ++key_failed_present;
      found.failed_present.push_back(
          AddEntry(key, element, *add, "present_on", NodesWhere(state.reads, element, true)));
    }
  }
  for (const auto& [element, nodes] : key_unexpected) {
    found.unexpected.push_back({{"key", key}, {"element", element}, {"nodes", nodes}});
  }
  if (reads == 0 && !state.adds.empty()) found.without_read.push_back(key);
  found.per_key[key] = {{"attempts", state.attempts},
                        {"ok", key_ok},
                        {"lost", key_lost},
                        {"recovered", key_recovered},
                        {"unexpected", key_unexpected.size()},
                        {"failed_present", key_failed_present},
                        {"final_reads", reads}};
}

// The verdict and its summary (see the header); adds "confirmed_lost_count" when lines are missing.
void SetChecker::State::Judge(const Findings& found, CheckResult& result) const {
  std::vector<std::string> problems;
  if (!found.lost.empty()) {
    problems.push_back(fmt::format("{} lost {}",
                                   CountOf(int64_t(found.lost.size()), "acknowledged add", "acknowledged adds"),
                                   Where(found.lost, "missing_on", "missing on")));
  }
  if (!found.unexpected.empty()) {
    problems.push_back(fmt::format("{} that no add invoked {}",
                                   CountOf(int64_t(found.unexpected.size()), "element", "elements"),
                                   Where(found.unexpected, "nodes", "read from")));
  }
  if (!found.failed_present.empty()) {
    problems.push_back(fmt::format("{} present {}",
                                   CountOf(int64_t(found.failed_present.size()), "failed add", "failed adds"),
                                   Where(found.failed_present, "present_on", "present on")));
  }
  if (!problems.empty() && missing_lines > 0) {
    // Missing lines can hide an add's invoke (unexpected), a later ok add of a
    // failed element (failed_present), or the completion that matched an ok
    // line to its invoke; only a self-contained ok line missing from a
    // self-contained read stays a loss whatever they held.
    result.details["confirmed_lost_count"] = found.confirmed_lost;
    if (found.confirmed_lost > 0) {
      result.valid = Validity::kFalse;
      result.summary = fmt::format("{} lost whatever the {} held; in all: {}",
                                   CountOf(found.confirmed_lost, "acknowledged add is", "acknowledged adds are"),
                                   CountOf(missing_lines, "missing history line", "missing history lines"),
                                   fmt::join(problems, "; "));
    } else {
      result.valid = Validity::kUnknown;
      result.summary = NotConfirmedSummary(missing_lines, fmt::format("{}", fmt::join(problems, "; ")));
    }
  } else if (!problems.empty()) {
    result.valid = Validity::kFalse;
    result.summary = fmt::format("{}", fmt::join(problems, "; "));
  } else if (final_reads == 0) {
    result.valid = Validity::kUnknown;
    result.summary = NoFinalReadAtAllSummary(ok_count);
  } else if (!found.without_read.empty()) {
    result.valid = Validity::kUnknown;
    result.summary = NoFinalReadSummary(found.without_read, "adds");
  } else if (malformed > 0) {
    result.valid = Validity::kUnknown;
    result.summary = fmt::format("{} add or read values are not integers (sets of integers expected)", malformed);
  } else {
    result.valid = Validity::kTrue;
    result.summary = fmt::format("all {} acknowledged adds present in the final reads of every node", ok_count);
    if (!found.recovered.empty()) {
      result.summary += fmt::format(" ({} of {} indeterminate adds recovered)", found.recovered.size(), info_count);
    }
  }
}

// In steps: complete the pending adds, check each key's adds against its
// reads, judge.
CheckResult SetChecker::Finish() {
  State& s = *state_;
  s.CompletePending();
  Findings found;
  for (auto& [key, state] : s.keys) s.CheckKey(key, state, found);
  CheckResult result;
  result.details = {{"attempt_count", s.attempt_count},
                    {"ok_count", s.ok_count},
                    {"fail_count", s.fail_count},
                    {"info_count", s.info_count},
                    {"lost_count", found.lost.size()},
                    {"recovered_count", found.recovered.size()},
                    {"unexpected_count", found.unexpected.size()},
                    {"failed_present_count", found.failed_present.size()},
                    {"keys_without_final_read", found.without_read},
                    {"final_read_count", s.final_reads},
                    {"malformed_count", s.malformed},
                    {"per_key", std::move(found.per_key)}};
  s.Judge(found, result);
  result.details["lost"] = std::move(found.lost);
  result.details["recovered"] = std::move(found.recovered);
  result.details["unexpected"] = std::move(found.unexpected);
  result.details["failed_present"] = std::move(found.failed_present);
  return result;
}

}  // namespace faultline
