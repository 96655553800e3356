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

#include "checkers/checker_util.h"
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

std::string KeysPhrase(const std::set<std::string>& keys) {
  return "on " + KeysText(std::vector<std::string>(keys.begin(), keys.end()));
}

// What Finish found, step by step (see LostUpdateChecker::Finish).
struct LostWrites {
  nlohmann::json json = nlohmann::json::array();  // the "lost" details, by key name then id
  std::vector<int64_t> per_key;                   // by key number
  std::set<std::string> keys, faults;             // faults as the summary names them
  int64_t without_fault = 0;
};

struct UnexpectedIds {
  nlohmann::json json = nlohmann::json::array();  // the "unexpected" details, by key name then id
  std::vector<int64_t> per_key;                   // by key number
  std::set<std::string> keys;
};

struct Totals {
  int64_t writes = 0, ok = 0, info = 0, fail = 0;
  nlohmann::json per_key = nlohmann::json::object();
  std::vector<std::string> without_read;  // keys with writes but no ok final read, sorted
};

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
  // Filled by Finish: ids read that no usable write wrote, keyed by (key, id): the first op that read it;
  // and per key, its final values (union over nodes), sorted and unique.
  std::map<std::pair<uint32_t, int64_t>, Unexpected> unexpected;
  std::vector<std::vector<int64_t>> final_union;

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
    const FaultChange change = FaultChangeOf(op.f);
    if (change.kind == FaultChange::kNone) return;
    std::string name(change.fault);
    close(name);
    if (change.kind == FaultChange::kOpen) {
      open_faults[name] = faults.size();
      faults.push_back(Fault{name, op.value, op.time});
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

  // Finish's steps, in order.
  void CompletePending();
  uint32_t CheckRead(uint32_t key, int64_t id, int64_t index, uint32_t node);
  void ResolveEdges();
  std::vector<uint8_t> ReachFromFinals();
  bool ByKeyThenId(uint32_t ka, int64_t ia, uint32_t kb, int64_t ib) const;
  LostWrites FindLost(const std::vector<uint8_t>& reached) const;
  UnexpectedIds ListUnexpected() const;
  Totals CountPerKey(const LostWrites& lost, const UnexpectedIds& unexpected) const;
  void Judge(const LostWrites& lost, const UnexpectedIds& unexpected, const Totals& totals, CheckResult& result) const;
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

// Invokes that never completed: indeterminate writes with no read list.
void LostUpdateChecker::State::CompletePending() {
  for (auto& [process, invoke] : pending) {
    if (invoke.rmw) RecordWrite(invoke, OpType::kInfo, invoke.index, invoke.time, process, "", nullptr);
  }
  pending.clear();
}

// The write position of `key`'s id `id`, or kNoWrite when no usable write
// wrote it; then the id is unexpected, first read by the op at `index`.
uint32_t LostUpdateChecker::State::CheckRead(uint32_t key, int64_t id, int64_t index, uint32_t node) {
  const uint32_t w = write_by_id.Find(key, id);
  const char* reason = w == kNoWrite ? "never written" : writes[w].outcome == OpType::kFail ? "write failed" : nullptr;
  if (reason == nullptr) return w;
  auto [it, fresh] = unexpected.try_emplace({key, id}, Unexpected{reason, index, node});
  if (!fresh && index < it->second.index) it->second = Unexpected{reason, index, node};
  return kNoWrite;
}

// Edges from ids to write positions, in place (kNoWrite: not a usable write), one lookup each.
void LostUpdateChecker::State::ResolveEdges() {
  for (size_t i = 0; i < writes.size(); ++i) {
    const Write& w = writes[i];
    for (uint64_t e = w.edge_begin; e < w.edge_begin + w.edge_count; ++e) {
      edges[e] = CheckRead(w.key, edges[e], w.index, w.node);
    }
  }
}

// Which writes the final values descend from (by write position), and each
// key's final_union. Breadth first: no recursion, as chains can be millions long.
std::vector<uint8_t> LostUpdateChecker::State::ReachFromFinals() {
  std::vector<uint8_t> reached(writes.size(), 0);
  std::vector<uint32_t> queue;
  final_union.assign(keys.size(), {});
  for (uint32_t k = 0; k < keys.size(); ++k) {
    for (const FinalValue& v : keys[k].finals) {
      final_union[k].push_back(v.id);
      const uint32_t w = CheckRead(k, v.id, v.index, v.node);
      if (w != kNoWrite && !reached[w]) {
        reached[w] = 1;
        queue.push_back(w);
      }
    }
    std::sort(final_union[k].begin(), final_union[k].end());
    final_union[k].erase(std::unique(final_union[k].begin(), final_union[k].end()), final_union[k].end());
  }
  for (size_t head = 0; head < queue.size(); ++head) {
    const Write& w = writes[queue[head]];
    for (uint64_t e = w.edge_begin; e < w.edge_begin + w.edge_count; ++e) {
      const uint32_t x = static_cast<uint32_t>(edges[e]);
      if (x == kNoWrite || reached[x]) continue;
      reached[x] = 1;
      queue.push_back(x);
    }
  }
  return reached;
}

bool LostUpdateChecker::State::ByKeyThenId(uint32_t ka, int64_t ia, uint32_t kb, int64_t ib) const {
  const std::string& a = keys[ka].name;
  const std::string& b = keys[kb].name;
  return a != b ? a < b : ia < ib;
}

// Ok writes that no final value descends from, on keys that have a final read.
LostWrites LostUpdateChecker::State::FindLost(const std::vector<uint8_t>& reached) const {
  std::vector<uint32_t> lost_writes;
  for (uint32_t i = 0; i < writes.size(); ++i) {
    const Write& w = writes[i];
    if (w.outcome == OpType::kOk && !reached[i] && keys[w.key].final_reads > 0) lost_writes.push_back(i);
  }
  std::sort(lost_writes.begin(), lost_writes.end(), [&](uint32_t a, uint32_t b) {
    return ByKeyThenId(writes[a].key, writes[a].id, writes[b].key, writes[b].id);
  });
  LostWrites lost;
  lost.per_key.assign(keys.size(), 0);
  for (uint32_t i : lost_writes) {
    const Write& w = writes[i];
    nlohmann::json open = nlohmann::json::array();
    for (const Fault& f : faults) {
      if (f.start <= w.invoke_time && w.invoke_time < f.end) {
        open.push_back({{"fault", f.name}, {"value", f.value}});
        // "majorities-ring partition" says more than "partition" when the nemesis recorded its kind.
        const auto kind = f.value.is_object() ? f.value.find("kind") : f.value.end();
        lost.faults.insert(kind != f.value.end() && kind->is_string() ? kind->get<std::string>() + " " + f.name
                                                                      : f.name);
      }
    }
    if (open.empty()) ++lost.without_fault;
    ++lost.per_key[w.key];
    lost.keys.insert(keys[w.key].name);
    lost.json.push_back({{"key", keys[w.key].name},
                         {"write", w.id},
                         {"index", w.index},
                         {"time", w.time},
                         {"invoke_time", w.invoke_time},
                         {"process", w.process},
                         {"node", nodes[w.node]},
                         {"final_values", final_union[w.key]},
                         {"faults", std::move(open)}});
  }
  return lost;
}

UnexpectedIds LostUpdateChecker::State::ListUnexpected() const {
  std::vector<std::pair<std::pair<uint32_t, int64_t>, Unexpected>> sorted(unexpected.begin(), unexpected.end());
  std::sort(sorted.begin(), sorted.end(), [&](const auto& a, const auto& b) {
    return ByKeyThenId(a.first.first, a.first.second, b.first.first, b.first.second);
  });
  UnexpectedIds ids;
  ids.per_key.assign(keys.size(), 0);
  for (const auto& [key_id, u] : sorted) {
    const auto [key, id] = key_id;
    ++ids.per_key[key];
    ids.keys.insert(keys[key].name);
    ids.json.push_back(
        {{"key", keys[key].name}, {"id", id}, {"reason", u.reason}, {"index", u.index}, {"node", nodes[u.node]}});
  }
  return ids;
}

Totals LostUpdateChecker::State::CountPerKey(const LostWrites& lost, const UnexpectedIds& unexpected) const {
  std::vector<uint32_t> key_order(keys.size());
  for (uint32_t k = 0; k < key_order.size(); ++k) key_order[k] = k;
  std::sort(key_order.begin(), key_order.end(), [&](uint32_t a, uint32_t b) { return keys[a].name < keys[b].name; });
  Totals totals;
  for (uint32_t k : key_order) {
    const KeyInfo& key = keys[k];
    totals.writes += key.writes;
    totals.ok += key.ok;
    totals.info += key.info;
    totals.fail += key.fail;
    if (key.writes > 0 && key.final_reads == 0) totals.without_read.push_back(key.name);
    totals.per_key[key.name] = {{"writes", key.writes},
                                {"ok", key.ok},
                                {"info", key.info},
                                {"fail", key.fail},
                                {"lost", lost.per_key[k]},
                                {"unexpected", unexpected.per_key[k]},
                                {"final_reads", key.final_reads},
                                {"final_values", final_union[k].size()}};
  }
  return totals;
}

// The verdict and its summary (see the header).
void LostUpdateChecker::State::Judge(const LostWrites& lost, const UnexpectedIds& unexpected, const Totals& totals,
                                     CheckResult& result) const {
  std::vector<std::string> problems;
  if (!lost.json.empty()) {
    std::string when;
    if (lost.faults.empty()) {
      when = "with no fault active";
    } else {
      when = fmt::format("during {}", fmt::join(lost.faults, ", "));
      if (lost.without_fault > 0) when += fmt::format(" ({} with no fault active)", lost.without_fault);
    }
    problems.push_back(fmt::format("{} lost {} {}",
                                   CountOf(int64_t(lost.json.size()), "acknowledged write", "acknowledged writes"),
                                   KeysPhrase(lost.keys), when));
  }
  if (!unexpected.json.empty()) {
    problems.push_back(fmt::format("{} read {} that no successful write wrote",
                                   CountOf(int64_t(unexpected.json.size()), "id", "ids"), KeysPhrase(unexpected.keys)));
  }
  if (!problems.empty()) {
    result.valid = Validity::kFalse;
    result.summary = fmt::format("{}", fmt::join(problems, "; "));
  } else if (!totals.without_read.empty()) {
    result.valid = Validity::kUnknown;
    result.summary = NoFinalReadSummary(totals.without_read, "writes");
  } else if (malformed > 0) {
    result.valid = Validity::kUnknown;
    result.summary = fmt::format("{} rmw or read values lack integer ids", malformed);
  } else if (duplicates > 0) {
    result.valid = Validity::kUnknown;
    result.summary = fmt::format("{} write ids were written more than once (ids must be unique)", duplicates);
  } else {
    result.valid = Validity::kTrue;
    result.summary = fmt::format("all {} acknowledged writes are observed by the final values", totals.ok);
  }
}

// In steps: resolve the read lists to writes, find what the final values
// reach, list the lost writes and unexpected ids, count, judge.
CheckResult LostUpdateChecker::Finish() {
  State& s = *state_;
  s.CompletePending();
  s.ResolveEdges();
  LostWrites lost = s.FindLost(s.ReachFromFinals());
  UnexpectedIds unexpected = s.ListUnexpected();
  Totals totals = s.CountPerKey(lost, unexpected);
  CheckResult result;
  result.details = {{"write_count", totals.writes},
                    {"ok_count", totals.ok},
                    {"info_count", totals.info},
                    {"fail_count", totals.fail},
                    {"lost_count", lost.json.size()},
                    {"unexpected_count", unexpected.json.size()},
                    {"keys_without_final_read", totals.without_read},
                    {"final_read_count", s.final_read_count},
                    {"malformed_count", s.malformed},
                    {"duplicate_write_count", s.duplicates},
                    {"per_key", std::move(totals.per_key)}};
  s.Judge(lost, unexpected, totals, result);
  result.details["lost"] = std::move(lost.json);
  result.details["unexpected"] = std::move(unexpected.json);
  return result;
}

}  // namespace faultline
