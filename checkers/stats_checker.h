// StatsChecker ("stats"): per-operation statistics of any workload's history.
//
// Client ops only (process != "nemesis"). A completion is matched to its
// process's pending invoke and counted under the invoke's f (its own when no
// invoke was seen); an invoke that never completed (a crashed run, or a
// process that invoked again) counts as info, without a latency.
//
//   by_f          per f: ok / fail / info counts; latency = completion time -
//                 invoke time of the same process, nearest-rank quantiles
//                 p50/p90/p99/p99.9 and the exact max, in ms with 3 decimals
//                 (null when no op of that f completed). Quantiles come from
//                 a LatencyHistogram: within 0.4% of the exact value.
//   availability  ok / (ok + fail + info) of the client ops invoked during
//                 faults versus the others (null when there are none). A fault
//                 X is open from a nemesis "start-X" op to the next "stop-X"
//                 or "heal-X" (a start recorded with an error counts too: it
//                 may have half-applied); an op is during faults if it was
//                 invoked while any fault was open, in file order (times are
//                 nondecreasing, so this is "its invocation time falls in an
//                 open interval").
//   siblings      how many values each read saw: every completion whose value
//                 is an object with a "read" array (register rmw), and every
//                 ok "read" whose value is an array once an "rmw" op has been
//                 seen (register final reads, which follow the main phase).
//                 Buckets "empty" (absent key), "1".."4", "5+"; percent is
//                 over all counted reads, next to the Dynamo paper's figures.
//
// Verdict (Jepsen's stats rule): false if some f of client ops never
// completed ok (e.g. every read failed: the store was unavailable for it),
// else true; an empty history is true.
//
// details:
//   {"by_f":{f:{"ok","fail","info","latency_ms":{"p50","p90","p99","p999","max"}}},
//    "availability":{"during_faults":x|null,"healthy":y|null,"ops_during_faults":n,"ops_healthy":m},
//    "siblings":{"reads":n,"histogram":{"empty","1","2","3","4","5+"},"percent":{same keys}|null values,
//                "dynamo_paper":{"1":99.94,"2":0.00057,"3":0.00047,"4":0.00009}},
//    "no_ok":[fs]}
// Memory O(distinct f + processes + faults), ~60 KB per f; O(1) per op.
#pragma once

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "checkers/checker.h"

namespace faultline {

// Log-linear histogram of non-negative int64 values (negative ones count as
// 0): exact below 128, then 128 sub-buckets per power of two, so a reported
// value (its bucket's midpoint, clamped to the exact min/max) is within 0.4%
// of the true one. Fixed memory (~60 KB once the largest value is seen).
class LatencyHistogram {
 public:
  void Record(int64_t value);
  int64_t count() const { return count_; }
  int64_t max() const { return max_; }
  // Nearest rank: the value at rank ceil(q * count) (1-based) in sorted order; 0 when empty.
  int64_t Quantile(double q) const;

 private:
  static size_t BucketOf(int64_t value);
  static int64_t BucketMidpoint(size_t bucket);

  std::vector<int64_t> buckets_;  // grows to the largest bucket seen
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
};

class StatsChecker : public Checker {
 public:
  std::string name() const override { return "stats"; }
  void Add(const Op& op) override;
  CheckResult Finish() override;

 private:
  struct FStats {
    int64_t ok = 0, fail = 0, info = 0;
    LatencyHistogram latency;
  };
  struct Pending {
    FStats* f = nullptr;
    int64_t time = 0;
    bool during_faults = false;
    bool active = false;  // entries are reused, not erased: no allocation per op
  };

  FStats& StatsFor(const std::string& f);
  void Count(FStats& stats, OpType outcome, bool during_faults);
  void CountSiblings(const nlohmann::json& values);
  void Nemesis(const Op& op);

  std::unordered_map<std::string, FStats> by_f_;  // node-based: FStats* stay valid
  const std::string* last_f_ = nullptr;           // the last f looked up, and its stats
  FStats* last_stats_ = nullptr;
  std::unordered_map<int64_t, Pending> pending_;
  std::set<std::string> open_faults_;  // names of the faults open now
  int64_t fault_ok_ = 0, fault_total_ = 0, healthy_ok_ = 0, healthy_total_ = 0;
  bool seen_rmw_ = false;
  std::array<int64_t, 6> siblings_{};  // empty, 1, 2, 3, 4, 5+
};

}  // namespace faultline
