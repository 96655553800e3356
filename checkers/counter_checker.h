// CounterChecker ("counter"): checks a counter workload's history.
//
// Input ops (others, e.g. the nemesis's, are ignored):
//   {"f":"add","key":K,"value":<int delta, may be negative>}   invoke, then ok / fail / info
//   {"f":"read","key":K,"value":<int total>,"node":N}          final reads; ok completions carry the total
// A completion is matched to its process's pending invoke; the delta is the
// invoke's value (the completion's own when no invoke was seen). An add whose
// invoke never completed (a crashed run, or a process that invoked again)
// counts as info. A read whose value is null (an absent key) reads 0.
//
// The rule, per key. An ok add took effect, a fail add did not, an info add
// may or may not have (it may also land late, after the faults heal). So the
// final total must lie in
//   lower = ok_sum + sum over info deltas d of min(0, d)
//   upper = ok_sum + sum over info deltas d of max(0, d)
// where ok_sum is the sum of ok deltas: for positive deltas this is
// [sum of ok, sum of ok + info]; a negative info delta may lower the total,
// so it widens the range downwards instead. Every ok read of the key (from
// every node) must lie in [lower, upper]; a read outside is an error (an ok
// add lost, a fail add applied, or an add applied twice).
// Verdict: false if any read is out of range; else unknown if some key with
// adds has no ok read, if no ok read exists at all, or if some delta or total
// is not an integer; else true.
//
// details:
//   {"add_count","ok_count","info_count","fail_count",        add attempts and their outcomes
//    "errors":[{"key","node","value","lower","upper","index","time"}], "error_count",   sorted by key, then file order
//    "per_key":{K:{"ok_sum","lower","upper","reads":{node:value}}},
//    "keys_without_final_read":[keys], "final_read_count", "malformed_count"}
// "index"/"time" are the out-of-range read's completion. Every ok read is
// checked as a final read (the workload reads only at the end).
// Memory O(keys + processes + final reads); O(1) amortised per op.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "checkers/checker.h"

namespace faultline {

class CounterChecker : public Checker {
 public:
  std::string name() const override { return "counter"; }
  void Add(const Op& op) override;
  CheckResult Finish() override;

 private:
  struct Read {
    std::string node;
    int64_t value = 0;
    int64_t index = 0;
    int64_t time = 0;
  };
  struct KeyState {
    int64_t ok_sum = 0;
    int64_t info_down = 0;  // sum of negative info deltas
    int64_t info_up = 0;    // sum of positive info deltas
    bool has_adds = false;
    std::vector<Read> reads;
  };
  struct Pending {
    bool is_add = false;
    bool delta_valid = false;  // the invoke's value is an integer
    int64_t delta = 0;
    std::string key;
  };

  void RecordAdd(const std::string& key, bool delta_valid, int64_t delta, OpType outcome);

  std::unordered_map<std::string, KeyState> keys_;
  std::unordered_map<int64_t, Pending> pending_;
  int64_t add_count_ = 0, ok_count_ = 0, fail_count_ = 0, info_count_ = 0;
  int64_t final_reads_ = 0, malformed_ = 0;
};

}  // namespace faultline
