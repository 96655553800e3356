#include "checkers/linearizable/lin_search.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <tuple>

#include "checkers/linearizable/dominance_memo.h"
#include "checkers/linearizable/doom_watch.h"
#include "checkers/linearizable/fingerprint_set.h"

namespace faultline {

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// One op taking part in the search.
struct SOp {
  LinF f;
  bool info;
  int32_t a, b;
  int32_t orig;  // index into LinKey::ops
  int32_t cls;   // info ops: their class (same f and values)
  int64_t invoke_pos;
  uint64_t h1, h2;  // random words of the linearized-set fingerprint
};

// Values in which an ok op was due (the earliest-returning one left) and illegal.
struct DeadStates {
  static constexpr int kMax = 6;
  int32_t s[kMax];
  uint8_t n = 0;
  bool more = false;
  void Add(int32_t v) {
    for (int i = 0; i < n; ++i)
      if (s[i] == v) return;
    if (n < kMax) {
      s[n++] = v;
    } else {
      more = true;
    }
  }
};

struct Frame {
  int32_t op;
  int32_t prev_state;
  int32_t prev_restrict;
  int32_t cursor;         // where the level's scan resumes
  uint32_t node;          // its DominanceMemo node
  uint64_t k1, k2;        // its fingerprint
  int32_t doomed_before;  // the level's doomed op before this move
  uint8_t phase;
  bool forced;
};

enum Phase : uint8_t { kOkPhase, kInfoPhase, kDonePhase };

class Searcher {
 public:
  Searcher(const LinKey& key, const LinBudget& budget);
  LinSearchResult Run();

 private:
  enum Outcome { kDescended, kSkipped, kSucceeded, kStopped };

  void Select();
  void BuildEvents();
  void BuildDoomWatch();
  void Prepare();
  Outcome NextMove(uint8_t& phase, int32_t& cursor);
  void Explain(LinSearchResult& result) const;
  void Lift(int32_t o) {
    for (int32_t e : {call_ev_[o], ret_ev_[o]}) {
      next_[prev_[e]] = next_[e];
      prev_[next_[e]] = prev_[e];
    }
  }
  void Unlift(int32_t o) {
    for (int32_t e : {ret_ev_[o], call_ev_[o]}) {
      next_[prev_[e]] = e;
      prev_[next_[e]] = e;
    }
  }
  int32_t Step(const SOp& op) const {  // the value after op, or -1 if illegal now
    switch (op.f) {
      case LinF::kRead:
        return state_ == op.a ? state_ : -1;
      case LinF::kWrite:
        return op.a;
      case LinF::kCas:
        return state_ == op.a ? op.b : -1;
    }
    return -1;
  }
  bool Consumes(const SOp& op, int32_t v) const { return op.f != LinF::kWrite && op.a == v; }
  int32_t ClassHead(int32_t c) const {
    const int32_t i = cls_begin_[c] + cls_done_[c];
    return i < cls_begin_[c + 1] ? cls_members_[i] : -1;
  }
  int32_t Scan();
  // The twin class of an ok write (its value) or cas (its pair, when values are few), or -1.
  int32_t Twin(const SOp& op) const {
    if (op.f == LinF::kWrite) return op.a;
    if (op.f == LinF::kCas && cas_twins_) return values_ + op.a * values_ + op.b;
    return -1;
  }
  Outcome TryDescend(int32_t o, uint8_t phase, int32_t cursor, bool forced);
  void Pop();
  void SaveDeepest();
  bool OverBudget();

  const LinKey& key_;
  LinBudget budget_;
  std::chrono::steady_clock::time_point start_;
  std::vector<SOp> ops_;
  int32_t ok_count_ = 0;
  // Events of ok ops (call/return) in a doubly linked list by position; head_/tail_ sentinels.
  std::vector<int32_t> ev_op_, next_, prev_;
  std::vector<int64_t> ev_pos_;
  std::vector<uint8_t> ev_call_;
  std::vector<int32_t> call_ev_, ret_ev_;
  int32_t head_ = 0, tail_ = 0;
  // Info classes: members in invoke order; the first cls_done_ of each are linearized.
  std::vector<int32_t> cls_begin_, cls_members_, cls_done_;
  // consumable_[v] == stamp_: some op available now observes value v.
  std::vector<uint32_t> consumable_;
  // Per write value (and cas pair when values are few): the earliest return
  // among the available ok ops of that kind, valid when its stamp is stamp_.
  std::vector<uint32_t> twin_stamp_;
  std::vector<int64_t> twin_ret_;
  int32_t values_ = 0;
  bool cas_twins_ = false;
  uint32_t stamp_ = 0;
  std::vector<DeadStates> dead_;
  std::vector<DoomOp> doom_ops_;
  DoomWatch doom_;
  int32_t level_doomed_ = -1;  // an op a move from this level doomed (DoomWatch)
  int32_t best_blocker_ = -1;  // the op due or doomed at the deepest configuration
  // The memo: DominanceMemo when info ops fall in few classes, else exact fingerprints.
  bool dominance_ = false;
  std::optional<DominanceMemo> memo_;
  std::optional<FingerprintSet> cache_;
  std::vector<Frame> stack_;
  // The current configuration.
  int32_t state_ = kNilValue, restrict_ = -1;
  uint64_t h1_ = 0, h2_ = 0;
  int32_t remaining_ok_ = 0;
  int64_t first_ret_pos_ = kNever;
  int32_t first_ret_ = -1;
  // The deepest configuration seen: best_[0, common_) still equals the stack.
  std::vector<LinStep> best_;
  int32_t common_ = 0;
  int64_t attempts_ = 0;
  int64_t fixed_bytes_ = 0;
  std::string stop_reason_;
};

Searcher::Searcher(const LinKey& key, const LinBudget& budget)
    : key_(key), budget_(budget), start_(std::chrono::steady_clock::now()) {}

// Chooses the ops that take part, and groups info ops into classes.
void Searcher::Select() {
  const auto& ops = key_.ops;
  // Values some op could observe (ok reads and cas's, info cas's).
  std::vector<uint8_t> observed;
  auto mark = [&](int32_t v) {
    if (static_cast<size_t>(v) >= observed.size()) observed.resize(static_cast<size_t>(v) + 1);
    observed[static_cast<size_t>(v)] = 1;
  };
  int32_t max_value = 0;
  for (const LinOp& op : ops) {
    max_value = std::max({max_value, op.a, op.b});
    if (op.type == OpType::kFail) continue;
    if (op.f == LinF::kRead && op.type == OpType::kOk && op.siblings < 0) mark(op.a);
    if (op.f == LinF::kCas) mark(op.a);
  }
  auto is_observed = [&](int32_t v) { return static_cast<size_t>(v) < observed.size() && observed[v]; };
  std::map<std::tuple<LinF, int32_t, int32_t>, int32_t> classes;
  std::vector<std::vector<int32_t>> members;
  for (size_t i = 0; i < ops.size(); ++i) {
    const LinOp& op = ops[i];
    if (op.type == OpType::kFail || op.type == OpType::kInvoke) continue;
    const bool info = op.type == OpType::kInfo;
    if (op.f == LinF::kRead && (info || op.siblings >= 0)) continue;
    // An info op whose value nobody observes can be left out of any linearization.
    if (info && !is_observed(op.f == LinF::kWrite ? op.a : op.b)) continue;
    SOp s{op.f, info, op.a, op.b, static_cast<int32_t>(i), -1, op.invoke_pos, 0, 0};
    const uint64_t seed = 0x5eed0f1a2b3c4d5eULL + 2 * ops_.size();
    s.h1 = SplitMix(seed);
    s.h2 = SplitMix(seed + 1);
    if (info) {
      auto [it, fresh] =
          classes.try_emplace({op.f, op.a, op.f == LinF::kCas ? op.b : 0}, static_cast<int32_t>(members.size()));
      if (fresh) members.emplace_back();
      s.cls = it->second;
      members[static_cast<size_t>(s.cls)].push_back(static_cast<int32_t>(ops_.size()));
    } else {
      ++ok_count_;
    }
    ops_.push_back(s);
  }
  cls_begin_.push_back(0);
  size_t largest = 0;
  for (const auto& m : members) largest = std::max(largest, m.size());
  // Few info classes: compare their counts by dominance, so the fingerprint covers the ok ops only.
  dominance_ = !members.empty() && members.size() <= 64 && largest <= 32767;
  if (dominance_) {
    for (SOp& op : ops_) {
      if (op.info) op.h1 = op.h2 = 0;
    }
  }
  for (const auto& m : members) {
    cls_members_.insert(cls_members_.end(), m.begin(), m.end());
    cls_begin_.push_back(static_cast<int32_t>(cls_members_.size()));
  }
  cls_done_.assign(members.size(), 0);
  consumable_.assign(static_cast<size_t>(max_value) + 1, 0);
  values_ = max_value + 1;
  cas_twins_ = values_ <= 64;
  const size_t twins = static_cast<size_t>(values_) * (cas_twins_ ? values_ + 1 : 1);
  twin_stamp_.assign(twins, 0);
  twin_ret_.assign(twins, 0);
}

void Searcher::BuildDoomWatch() {
  doom_ops_.resize(ops_.size());
  for (size_t i = 0; i < ops_.size(); ++i) {
    const SOp& op = ops_[i];
    DoomOp& d = doom_ops_[i];
    const LinOp& lin = key_.ops[static_cast<size_t>(op.orig)];
    d.invoke_pos = op.invoke_pos;
    d.ret_pos = op.info ? kNever : lin.complete_pos;
    d.cls = op.cls;
    if (!op.info && op.f != LinF::kWrite) d.consumes = op.a;
    if (op.f == LinF::kWrite) d.produces = op.a;
    if (op.f == LinF::kCas && op.a != op.b) d.produces = op.b;
  }
  doom_.Build(doom_ops_, consumable_.size(), cls_begin_, cls_members_);
}

void Searcher::BuildEvents() {
  struct Ev {
    int64_t pos;
    int32_t op;
    bool call;
  };
  std::vector<Ev> evs;
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (ops_[i].info) continue;
    const LinOp& op = key_.ops[static_cast<size_t>(ops_[i].orig)];
    evs.push_back({op.invoke_pos, static_cast<int32_t>(i), true});
    evs.push_back({op.complete_pos, static_cast<int32_t>(i), false});
  }
  std::sort(evs.begin(), evs.end(), [](const Ev& x, const Ev& y) { return x.pos < y.pos; });
  const int32_t n = static_cast<int32_t>(evs.size());
  head_ = n;
  tail_ = n + 1;
  ev_op_.resize(n);
  ev_pos_.resize(n);
  ev_call_.resize(n);
  next_.resize(n + 2);
  prev_.resize(n + 2);
  call_ev_.assign(ops_.size(), -1);
  ret_ev_.assign(ops_.size(), -1);
  for (int32_t e = 0; e < n; ++e) {
    ev_op_[e] = evs[e].op;
    ev_pos_[e] = evs[e].pos;
    ev_call_[e] = evs[e].call;
    (evs[e].call ? call_ev_ : ret_ev_)[evs[e].op] = e;
    next_[e] = e + 1 < n ? e + 1 : tail_;
    prev_[e] = e > 0 ? e - 1 : head_;
  }
  next_[head_] = n > 0 ? 0 : tail_;
  prev_[tail_] = n > 0 ? n - 1 : head_;
}

// Prepares the current level: marks the values that ops available now
// observe, finds the earliest return left; returns a legal read's call event, or -1.
int32_t Searcher::Scan() {
  ++stamp_;
  int32_t forced = -1;
  first_ret_ = -1;
  first_ret_pos_ = kNever;
  for (int32_t e = next_[head_]; e != tail_; e = next_[e]) {
    if (!ev_call_[e]) {
      first_ret_ = e;
      first_ret_pos_ = ev_pos_[e];
      break;
    }
    const SOp& op = ops_[ev_op_[e]];
    const int32_t twin = Twin(op);
    if (twin >= 0) {
      const int64_t ret = ev_pos_[ret_ev_[ev_op_[e]]];
      if (twin_stamp_[twin] != stamp_ || ret < twin_ret_[twin]) {
        twin_stamp_[twin] = stamp_;
        twin_ret_[twin] = ret;
      }
    }
    if (op.f == LinF::kWrite) continue;
    consumable_[op.a] = stamp_;
    if (op.f == LinF::kRead && forced < 0 && op.a == state_) forced = e;
  }
  for (size_t c = 0; c + 1 < cls_begin_.size(); ++c) {
    const int32_t h = ClassHead(static_cast<int32_t>(c));
    if (h >= 0 && ops_[h].f == LinF::kCas && ops_[h].invoke_pos < first_ret_pos_) consumable_[ops_[h].a] = stamp_;
  }
  return forced;
}

bool Searcher::OverBudget() {
  if ((++attempts_ & 1023) != 0) return !stop_reason_.empty();
  if (budget_.cancel != nullptr && budget_.cancel->load(std::memory_order_relaxed)) stop_reason_ = "cancelled";
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (elapsed > budget_.time_limit_s) stop_reason_ = fmt::format("time limit of {:g} s reached", budget_.time_limit_s);
  return !stop_reason_.empty();
}

Searcher::Outcome Searcher::TryDescend(int32_t o, uint8_t phase, int32_t cursor, bool forced) {
  if (OverBudget()) return kStopped;
  const SOp& op = ops_[o];
  const int32_t next = Step(op);
  if (next < 0) return kSkipped;
  const int32_t restrict = op.info ? next : -1;
  const uint64_t mix = static_cast<uint64_t>(next) * 2 + (restrict >= 0 ? 1 : 0);
  const uint64_t k1 = h1_ ^ op.h1 ^ SplitMix(mix), k2 = h2_ ^ op.h2 ^ SplitMix(mix ^ 0xa5a5a5a5a5a5a5a5ULL);
  uint32_t node = 0;
  if (op.info) ++cls_done_[op.cls];
  const int seen = dominance_ ? static_cast<int>(memo_->Insert(k1, k2, cls_done_.data(), &node))
                              : static_cast<int>(cache_->Insert(k1, k2));
  static_assert(int{DominanceMemo::kSeen} == int{FingerprintSet::kSeen} &&
                int{DominanceMemo::kFull} == int{FingerprintSet::kFull});
  if (seen != FingerprintSet::kNew) {
    if (op.info) --cls_done_[op.cls];
    if (seen == FingerprintSet::kSeen) return kSkipped;
    stop_reason_ = fmt::format("memory limit of {} MB reached", budget_.memory_bytes >> 20);
    return kStopped;
  }
  stack_.push_back(Frame{o, state_, restrict_, cursor, node, k1, k2, level_doomed_, phase, forced});
  if (!op.info) {
    Lift(o);
    --remaining_ok_;
  }
  doom_.Linearize(o);
  const int32_t left = state_;
  state_ = next;
  restrict_ = restrict;
  h1_ ^= op.h1;
  h2_ ^= op.h2;
  if (remaining_ok_ == 0) return kSucceeded;
  if (next != left) {
    const int32_t doomed = doom_.Doomed(left, cls_done_);
    if (doomed >= 0) {  // refuted at once (marked done in the memo)
      dead_[doomed].Add(state_);
      Pop();
      level_doomed_ = doomed;
      return kSkipped;
    }
  }
  if (restrict_ < 0 && static_cast<int32_t>(stack_.size()) > static_cast<int32_t>(best_.size())) SaveDeepest();
  return kDescended;
}

void Searcher::SaveDeepest() {
  const int32_t depth = static_cast<int32_t>(stack_.size());
  best_.resize(depth);
  for (int32_t i = common_; i < depth; ++i) {
    best_[i] = LinStep{ops_[stack_[i].op].orig, i + 1 < depth ? stack_[i + 1].prev_state : state_};
  }
  common_ = depth;
  best_blocker_ = -1;
}

void Searcher::Pop() {
  const Frame f = stack_.back();
  stack_.pop_back();
  const SOp& op = ops_[f.op];
  if (dominance_) memo_->MarkDone(f.k1, f.k2, f.node);  // its subtree is refuted
  if (op.info) {
    --cls_done_[op.cls];
  } else {
    Unlift(f.op);
    ++remaining_ok_;
  }
  doom_.Unlinearize(f.op);
  level_doomed_ = f.doomed_before;
  state_ = f.prev_state;
  restrict_ = f.prev_restrict;
  h1_ ^= op.h1;
  h2_ ^= op.h2;
  common_ = std::min(common_, static_cast<int32_t>(stack_.size()));
}

// Sizes every array and the memo before the search.
void Searcher::Prepare() {
  Select();
  BuildEvents();
  const size_t n = ops_.size();
  dead_.resize(n);
  stack_.reserve(n + 1);
  best_.reserve(n + 1);
  // The per-op and per-value arrays (events, classes, DoomWatch lists), roughly.
  fixed_bytes_ = static_cast<int64_t>(n * (sizeof(SOp) + sizeof(DeadStates) + sizeof(Frame) + sizeof(LinStep) + 96) +
                                      consumable_.size() * 96);
  if (dominance_) {
    memo_.emplace(static_cast<int>(cls_done_.size()), budget_.memory_bytes - fixed_bytes_);
  } else {
    cache_.emplace(budget_.memory_bytes - fixed_bytes_);
  }
  remaining_ok_ = ok_count_;
  BuildDoomWatch();
}

// The next move of the current level from (phase, cursor): ok calls in list
// order, then info class heads; kSkipped when none is left.
Searcher::Outcome Searcher::NextMove(uint8_t& phase, int32_t& cursor) {
  Outcome out = kSkipped;
  while (out == kSkipped && phase == kOkPhase) {
    const int32_t e = cursor;
    if (!ev_call_[e]) {
      phase = kInfoPhase;
      cursor = 0;
      break;
    }
    cursor = next_[e];
    const int32_t o = ev_op_[e];
    if (restrict_ >= 0 && !Consumes(ops_[o], restrict_)) continue;
    // Of identical available ok writes (cas's), only the earliest-returning
    // one goes first: swapping it with a later twin keeps every state and
    // the real-time order.
    const int32_t twin = Twin(ops_[o]);
    if (twin >= 0 && ev_pos_[ret_ev_[o]] != twin_ret_[twin]) continue;
    out = TryDescend(o, kOkPhase, cursor, false);
  }
  const int32_t ncls = static_cast<int32_t>(cls_done_.size());
  while (out == kSkipped && phase == kInfoPhase) {
    if (cursor >= ncls) {
      phase = kDonePhase;
      break;
    }
    const int32_t h = ClassHead(cursor++);
    if (h < 0 || ops_[h].invoke_pos >= first_ret_pos_) continue;
    const SOp& op = ops_[h];
    if (restrict_ >= 0 && !Consumes(op, restrict_)) continue;
    // Only right before an op that observes its value (see the header).
    if (consumable_[op.f == LinF::kWrite ? op.a : op.b] != stamp_) continue;
    out = TryDescend(h, kInfoPhase, cursor, false);
  }
  return out;
}

// The explanation once the root is refuted: the deepest prefix and the op due or doomed there.
void Searcher::Explain(LinSearchResult& result) const {
  result.prefix = best_;
  std::vector<uint8_t> in_prefix(key_.ops.size());
  for (const LinStep& s : best_) in_prefix[s.op] = 1;
  for (int32_t e = 0; e < head_; ++e) {  // else the earliest-returning ok op left
    if (ev_call_[e] || in_prefix[ops_[ev_op_[e]].orig]) continue;
    const int32_t blocker = best_blocker_ >= 0 ? best_blocker_ : ev_op_[e];
    const DeadStates& d = dead_[blocker];
    result.blocker = ops_[blocker].orig;
    result.states_before.assign(d.s, d.s + d.n);
    std::sort(result.states_before.begin(), result.states_before.end());
    result.states_truncated = d.more;
    return;
  }
}

LinSearchResult Searcher::Run() {
  Prepare();
  LinSearchResult result;
  result.search_ops = static_cast<int64_t>(ops_.size());
  auto finish = [&](LinVerdict verdict) {
    result.verdict = verdict;
    result.explored = dominance_ ? memo_->size() : cache_->size();
    result.peak_bytes = fixed_bytes_ + (dominance_ ? memo_->peak_bytes() : cache_->peak_bytes());
    return result;
  };
  if (remaining_ok_ == 0) return finish(LinVerdict::kLinearizable);
  if (fixed_bytes_ > budget_.memory_bytes) {
    result.reason = fmt::format("memory limit of {} MB reached", budget_.memory_bytes >> 20);
    return finish(LinVerdict::kUnknown);
  }
  for (int32_t u = 0; u < static_cast<int32_t>(consumable_.size()); ++u) {
    const int32_t doomed = u == state_ ? -1 : doom_.Doomed(u, cls_done_);
    if (doomed >= 0) {  // needs a value nothing can write in time: nothing linearizes before it
      result.blocker = ops_[doomed].orig;
      result.unwritable = true;
      return finish(LinVerdict::kNonLinearizable);
    }
  }
  uint8_t phase = kOkPhase;
  int32_t cursor = 0;
  bool new_level = true;
  for (;;) {
    Outcome out = OverBudget() ? kStopped : kSkipped;  // also counts dead ends and backtracking
    if (out == kSkipped && new_level) {
      new_level = false;
      level_doomed_ = -1;
      const int32_t forced = Scan();
      phase = kOkPhase;
      cursor = next_[head_];
      if (forced >= 0) {
        // Linearizing a legal read now loses nothing: if that fails, so does this level.
        out = TryDescend(ev_op_[forced], kDonePhase, 0, true);
        phase = kDonePhase;
      }
    }
    if (out == kSkipped) out = NextMove(phase, cursor);
    if (out == kSucceeded) return finish(LinVerdict::kLinearizable);
    if (out == kStopped) {
      result.reason = stop_reason_;
      return finish(stop_reason_ == "cancelled" ? LinVerdict::kCancelled : LinVerdict::kUnknown);
    }
    if (out == kDescended) {
      new_level = true;
      continue;
    }
    // Dead end: every move from here is illegal or explored.
    if (restrict_ < 0 && first_ret_ >= 0) {
      const int32_t due = ev_op_[first_ret_];
      if (Step(ops_[due]) < 0) dead_[due].Add(state_);
    }
    if (stack_.size() == best_.size() && common_ == static_cast<int32_t>(best_.size())) {
      best_blocker_ = level_doomed_ >= 0 ? level_doomed_ : first_ret_ >= 0 ? ev_op_[first_ret_] : -1;
    }
    bool forced = true;
    while (forced) {  // a level whose forced move failed fails too
      if (stack_.empty()) {
        Explain(result);
        return finish(LinVerdict::kNonLinearizable);
      }
      forced = stack_.back().forced;
      phase = stack_.back().phase;
      cursor = stack_.back().cursor;
      Pop();
    }
    Scan();  // the values available again (deeper levels reused the stamps)
  }
}

}  // namespace

LinSearchResult SearchLinearization(const LinKey& key, const LinBudget& budget) {
  Searcher searcher(key, budget);
  return searcher.Run();
}

}  // namespace faultline
