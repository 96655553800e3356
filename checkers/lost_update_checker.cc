#include "checkers/lost_update_checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <vector>

#include "checkers/id_table.h"

namespace faultline {

namespace {

constexpr uint32_t kNoWrite = IdTable::kAbsent;

struct Write {
  int64_t id = 0;
  int64_t index = 0;  // the completing op's (the invoke's when it never completed)
  int64_t time = 0;
  int64_t invoke_time = 0;
  int64_t process = 0;
  uint64_t edge_begin = 0;  // its read list: edges[edge_begin, edge_begin + edge_count)
  uint32_t edge_count = 0;
  uint32_t key = 0;
  uint32_t node = 0;
  OpType outcome = OpType::kInfo;
};

struct FinalValue {
  int64_t id;
  int64_t index;
  uint32_t node;
};

struct KeyInfo {
  std::string name;
  int64_t writes = 0, ok = 0, info = 0, fail = 0, final_reads = 0;
  std::vector<FinalValue> finals;
};

struct Pending {
  bool rmw = true;  // else a final read
  uint32_t key = 0;
  bool has_id = false;
  int64_t id = 0;
  int64_t index = 0;
  int64_t time = 0;
};

struct Fault {
  std::string name;
  nlohmann::json value;
  int64_t start = 0;
  int64_t end = std::numeric_limits<int64_t>::max();
};

// A vector that grows by fixed chunks: no copy and no fresh doubled
// allocation on growth (at millions of writes, page faults on the doubled
// copies cost more than the checking).
template <typename T>
class ChunkedVector {
 public:
  size_t size() const { return size_; }
  void push_back(const T& value) {
    if ((size_ & kMask) == 0) chunks_.push_back(std::make_unique_for_overwrite<T[]>(kChunk));
    chunks_.back()[size_ & kMask] = value;
    ++size_;
  }
  T& operator[](size_t i) { return chunks_[i >> kShift][i & kMask]; }
  const T& operator[](size_t i) const { return chunks_[i >> kShift][i & kMask]; }

 private:
  static constexpr size_t kShift = 16, kChunk = size_t{1} << kShift, kMask = kChunk - 1;
  std::vector<std::unique_ptr<T[]>> chunks_;
  size_t size_ = 0;
};

struct Unexpected {
  std::string reason;
  int64_t index;
  uint32_t node;
};

std::string Plural(int64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string KeysPhrase(const std::set<std::string>& keys) {
  if (keys.size() > 5) return fmt::format("on {} keys", keys.size());
  return fmt::format("on {} {}", keys.size() == 1 ? "key" : "keys", fmt::join(keys, ", "));
}

}  // namespace

struct LostUpdateChecker::State {
  std::vector<KeyInfo> keys;
  std::unordered_map<std::string, uint32_t> key_index;
  std::vector<std::string> nodes{""};
  std::unordered_map<std::string, uint32_t> node_index{{"", 0}};
  ChunkedVector<Write> writes;
  ChunkedVector<int64_t> edges;
  IdTable write_by_id;
  std::unordered_map<int64_t, Pending> pending;
  std::vector<Fault> faults;
  std::unordered_map<std::string, size_t> open_faults;  // name -> faults index
  int64_t malformed = 0, duplicates = 0, final_read_count = 0;

  uint32_t Key(const std::string& name) {
    auto [it, fresh] = key_index.try_emplace(name, static_cast<uint32_t>(keys.size()));
    if (fresh) keys.emplace_back().name = name;
    return it->second;
  }

  uint32_t Node(const std::string& name) {
    auto [it, fresh] = node_index.try_emplace(name, static_cast<uint32_t>(nodes.size()));
    if (fresh) nodes.push_back(name);
    return it->second;
  }

  void Nemesis(const Op& op) {
    if (op.type == OpType::kFail) return;
    auto close = [&](const std::string& name) {
      auto it = open_faults.find(name);
      if (it == open_faults.end()) return;
      faults[it->second].end = op.time;
      open_faults.erase(it);
    };
    std::string_view f = op.f;
    if (f.starts_with("start-")) {
      std::string name(f.substr(6));
      close(name);
      open_faults[name] = faults.size();
      faults.push_back(Fault{name, op.value, op.time});
    } else if (f.starts_with("stop-")) {
      close(std::string(f.substr(5)));
    } else if (f.starts_with("heal-")) {
      close(std::string(f.substr(5)));
    }
  }

  // A write's outcome is known (or never will be: kInfo). `read` is its read list when known.
  void RecordWrite(const Pending& invoke, OpType outcome, int64_t index, int64_t time, int64_t process,
                   const std::string& node, const nlohmann::json* read) {
    KeyInfo& key = keys[invoke.key];
    ++key.writes;
    if (!invoke.has_id) {
      ++malformed;
      return;
    }
    switch (outcome) {
      case OpType::kOk:
        ++key.ok;
        break;
      case OpType::kFail:
        ++key.fail;
        break;
      default:
        ++key.info;
    }
    if (write_by_id.Insert(invoke.key, invoke.id, static_cast<uint32_t>(writes.size())) != kNoWrite) {
      ++duplicates;
      return;
    }
    Write w;
    w.id = invoke.id;
    w.index = index;
    w.time = time;
    w.invoke_time = invoke.time;
    w.process = process;
    w.key = invoke.key;
    w.node = Node(node);
    w.outcome = outcome;
    w.edge_begin = edges.size();
    if (read != nullptr) {
      for (const auto& id : *read) {
        if (id.is_number_integer()) {
          edges.push_back(id.get<int64_t>());
        } else {
          ++malformed;
        }
      }
    }
    w.edge_count = static_cast<uint32_t>(edges.size() - w.edge_begin);
    writes.push_back(w);
  }

  static bool WriteId(const nlohmann::json& value, int64_t* id) {
    if (!value.is_object()) return false;
    auto it = value.find("write");
    if (it == value.end() || !it->is_number_integer()) return false;
    *id = it->get<int64_t>();
    return true;
  }
};

LostUpdateChecker::LostUpdateChecker() : state_(std::make_unique<State>()) {}
LostUpdateChecker::~LostUpdateChecker() = default;

void LostUpdateChecker::Add(const Op& op) {
  State& s = *state_;
  if (op.process == kNemesisProcess) {
    s.Nemesis(op);
    return;
  }
  const bool rmw = op.f == "rmw";
  if (!rmw && op.f != "read") return;
  if (op.type == OpType::kInvoke) {
    auto [it, fresh] = s.pending.try_emplace(op.process);
    if (!fresh && it->second.rmw) {
      // The process invoked again without completing: its earlier write is indeterminate.
      s.RecordWrite(it->second, OpType::kInfo, it->second.index, it->second.time, op.process, "", nullptr);
    }
    Pending& p = it->second;
    p.rmw = rmw;
    p.key = s.Key(op.key);
    p.has_id = rmw && State::WriteId(op.value, &p.id);
    p.index = op.index;
    p.time = op.time;
    return;
  }
  auto it = s.pending.find(op.process);
  const bool matched = it != s.pending.end() && it->second.rmw == rmw;
  Pending invoke;
  if (matched) {
    invoke = it->second;
  } else {
    invoke.rmw = rmw;
    invoke.key = s.Key(op.key);
    invoke.index = op.index;
    invoke.time = op.time;
  }
  if (it != s.pending.end()) s.pending.erase(it);
  if (rmw) {
    int64_t id;
    if (State::WriteId(op.value, &id)) {
      invoke.id = id;
      invoke.has_id = true;
    }
    const nlohmann::json* read = nullptr;
    if (op.value.is_object()) {
      auto r = op.value.find("read");
      if (r != op.value.end() && r->is_array()) read = &*r;
    }
    s.RecordWrite(invoke, op.type, op.index, op.time, op.process, op.node, read);
    return;
  }
  if (op.type != OpType::kOk) return;
  if (!op.value.is_array()) {
    ++s.malformed;
    return;
  }
  KeyInfo& key = s.keys[invoke.key];
  ++key.final_reads;
  ++s.final_read_count;
  const uint32_t node = s.Node(op.node);
  for (const auto& id : op.value) {
    if (id.is_number_integer()) {
      key.finals.push_back(FinalValue{id.get<int64_t>(), op.index, node});
    } else {
      ++s.malformed;
    }
  }
}

CheckResult LostUpdateChecker::Finish() {
  State& s = *state_;
  for (auto& [process, invoke] : s.pending) {
    if (invoke.rmw) s.RecordWrite(invoke, OpType::kInfo, invoke.index, invoke.time, process, "", nullptr);
  }
  s.pending.clear();

  auto find = [&](uint32_t key, int64_t id) { return s.write_by_id.Find(key, id); };
  // Ids read that no usable write wrote, keyed by (key, id): the first op that read it.
  std::map<std::pair<uint32_t, int64_t>, Unexpected> unexpected;
  auto check_read = [&](uint32_t key, int64_t id, int64_t index, uint32_t node) -> uint32_t {
    const uint32_t w = find(key, id);
    const char* reason = w == kNoWrite                          ? "never written"
                         : s.writes[w].outcome == OpType::kFail ? "write failed"
                                                                : nullptr;
    if (reason == nullptr) return w;
    auto [it, fresh] = unexpected.try_emplace({key, id}, Unexpected{reason, index, node});
    if (!fresh && index < it->second.index) it->second = Unexpected{reason, index, node};
    return kNoWrite;
  };
  // Edges from ids to write positions, in place (kNoWrite: not a usable write), one lookup each.
  for (size_t i = 0; i < s.writes.size(); ++i) {
    const Write& w = s.writes[i];
    for (uint64_t e = w.edge_begin; e < w.edge_begin + w.edge_count; ++e) {
      s.edges[e] = check_read(w.key, s.edges[e], w.index, w.node);
    }
  }

  // Reachability from the final values, breadth first (no recursion: chains can be millions long).
  std::vector<uint8_t> reached(s.writes.size(), 0);
  std::vector<uint32_t> queue;
  std::vector<std::vector<int64_t>> final_union(s.keys.size());
  for (uint32_t k = 0; k < s.keys.size(); ++k) {
    for (const FinalValue& v : s.keys[k].finals) {
      final_union[k].push_back(v.id);
      const uint32_t w = check_read(k, v.id, v.index, v.node);
      if (w != kNoWrite && !reached[w]) {
        reached[w] = 1;
        queue.push_back(w);
      }
    }
    std::sort(final_union[k].begin(), final_union[k].end());
    final_union[k].erase(std::unique(final_union[k].begin(), final_union[k].end()), final_union[k].end());
  }
  for (size_t head = 0; head < queue.size(); ++head) {
    const Write& w = s.writes[queue[head]];
    for (uint64_t e = w.edge_begin; e < w.edge_begin + w.edge_count; ++e) {
      const uint32_t x = static_cast<uint32_t>(s.edges[e]);
      if (x == kNoWrite || reached[x]) continue;
      reached[x] = 1;
      queue.push_back(x);
    }
  }
  std::vector<uint32_t>().swap(queue);

  // Lost writes, by key name then id.
  std::vector<uint32_t> lost_writes;
  for (uint32_t i = 0; i < s.writes.size(); ++i) {
    const Write& w = s.writes[i];
    if (w.outcome == OpType::kOk && !reached[i] && s.keys[w.key].final_reads > 0) lost_writes.push_back(i);
  }
  auto by_key_then_id = [&](uint32_t ka, int64_t ia, uint32_t kb, int64_t ib) {
    const std::string& a = s.keys[ka].name;
    const std::string& b = s.keys[kb].name;
    return a != b ? a < b : ia < ib;
  };
  std::sort(lost_writes.begin(), lost_writes.end(), [&](uint32_t a, uint32_t b) {
    return by_key_then_id(s.writes[a].key, s.writes[a].id, s.writes[b].key, s.writes[b].id);
  });
  std::vector<int64_t> key_lost(s.keys.size(), 0), key_unexpected(s.keys.size(), 0);
  std::set<std::string> lost_keys, lost_faults;
  int64_t lost_without_fault = 0;
  nlohmann::json lost = nlohmann::json::array();
  for (uint32_t i : lost_writes) {
    const Write& w = s.writes[i];
    nlohmann::json faults = nlohmann::json::array();
    for (const Fault& f : s.faults) {
      if (f.start <= w.invoke_time && w.invoke_time < f.end) {
        faults.push_back({{"fault", f.name}, {"value", f.value}});
        // "majorities-ring partition" says more than "partition" when the nemesis recorded its kind.
        const auto kind = f.value.is_object() ? f.value.find("kind") : f.value.end();
        lost_faults.insert(kind != f.value.end() && kind->is_string() ? kind->get<std::string>() + " " + f.name
                                                                      : f.name);
      }
    }
    if (faults.empty()) ++lost_without_fault;
    ++key_lost[w.key];
    lost_keys.insert(s.keys[w.key].name);
    lost.push_back({{"key", s.keys[w.key].name},
                    {"write", w.id},
                    {"index", w.index},
                    {"time", w.time},
                    {"invoke_time", w.invoke_time},
                    {"process", w.process},
                    {"node", s.nodes[w.node]},
                    {"final_values", final_union[w.key]},
                    {"faults", std::move(faults)}});
  }

  std::vector<std::pair<std::pair<uint32_t, int64_t>, Unexpected>> unexpected_sorted(unexpected.begin(),
                                                                                     unexpected.end());
  std::sort(unexpected_sorted.begin(), unexpected_sorted.end(), [&](const auto& a, const auto& b) {
    return by_key_then_id(a.first.first, a.first.second, b.first.first, b.first.second);
  });
  std::set<std::string> unexpected_keys;
  nlohmann::json unexpected_json = nlohmann::json::array();
  for (const auto& [key_id, u] : unexpected_sorted) {
    const auto [key, id] = key_id;
    ++key_unexpected[key];
    unexpected_keys.insert(s.keys[key].name);
    unexpected_json.push_back(
        {{"key", s.keys[key].name}, {"id", id}, {"reason", u.reason}, {"index", u.index}, {"node", s.nodes[u.node]}});
  }

  int64_t write_count = 0, ok_count = 0, info_count = 0, fail_count = 0;
  std::vector<uint32_t> key_order(s.keys.size());
  for (uint32_t k = 0; k < key_order.size(); ++k) key_order[k] = k;
  std::sort(key_order.begin(), key_order.end(),
            [&](uint32_t a, uint32_t b) { return s.keys[a].name < s.keys[b].name; });
  nlohmann::json per_key = nlohmann::json::object(), without_read = nlohmann::json::array();
  std::vector<std::string> without_read_names;
  for (uint32_t k : key_order) {
    const KeyInfo& key = s.keys[k];
    write_count += key.writes;
    ok_count += key.ok;
    info_count += key.info;
    fail_count += key.fail;
    if (key.writes > 0 && key.final_reads == 0) {
      without_read.push_back(key.name);
      without_read_names.push_back(key.name);
    }
    per_key[key.name] = {{"writes", key.writes},
                         {"ok", key.ok},
                         {"info", key.info},
                         {"fail", key.fail},
                         {"lost", key_lost[k]},
                         {"unexpected", key_unexpected[k]},
                         {"final_reads", key.final_reads},
                         {"final_values", final_union[k].size()}};
  }

  CheckResult result;
  result.details = {{"write_count", write_count},
                    {"ok_count", ok_count},
                    {"info_count", info_count},
                    {"fail_count", fail_count},
                    {"lost_count", lost.size()},
                    {"unexpected_count", unexpected_json.size()},
                    {"keys_without_final_read", std::move(without_read)},
                    {"final_read_count", s.final_read_count},
                    {"malformed_count", s.malformed},
                    {"duplicate_write_count", s.duplicates},
                    {"per_key", std::move(per_key)}};
  std::vector<std::string> problems;
  if (!lost.empty()) {
    std::string when;
    if (lost_faults.empty()) {
      when = "with no fault active";
    } else {
      when = fmt::format("during {}", fmt::join(lost_faults, ", "));
      if (lost_without_fault > 0) when += fmt::format(" ({} with no fault active)", lost_without_fault);
    }
    problems.push_back(fmt::format("{} lost {} {}",
                                   Plural(int64_t(lost.size()), "acknowledged write", "acknowledged writes"),
                                   KeysPhrase(lost_keys), when));
  }
  if (!unexpected_json.empty()) {
    problems.push_back(fmt::format("{} read {} that no successful write wrote",
                                   Plural(int64_t(unexpected_json.size()), "id", "ids"), KeysPhrase(unexpected_keys)));
  }
  if (!problems.empty()) {
    result.valid = Validity::kFalse;
    result.summary = fmt::format("{}", fmt::join(problems, "; "));
  } else if (!without_read_names.empty()) {
    result.valid = Validity::kUnknown;
    result.summary = NoFinalReadSummary(without_read_names, "writes");
  } else if (s.malformed > 0) {
    result.valid = Validity::kUnknown;
    result.summary = fmt::format("{} rmw or read values lack integer ids", s.malformed);
  } else if (s.duplicates > 0) {
    result.valid = Validity::kUnknown;
    result.summary = fmt::format("{} write ids were written more than once (ids must be unique)", s.duplicates);
  } else {
    result.valid = Validity::kTrue;
    result.summary = fmt::format("all {} acknowledged writes are observed by the final values", ok_count);
  }
  result.details["lost"] = std::move(lost);
  result.details["unexpected"] = std::move(unexpected_json);
  return result;
}

}  // namespace faultline
