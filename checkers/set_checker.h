// SetChecker ("set"): checks a set workload's history (workloads/set_workload.h).
//
// Input ops (others, e.g. the nemesis's, are ignored):
//   {"f":"add","key":K,"value":<int>}              invoke, then ok / fail / info
//   {"f":"read","key":K,"value":[ints],"node":N}   final reads; ok completions carry the set N returned
// A completion is matched to its process's pending invoke; the element is the
// invoke's value (the completion's own when no invoke was seen). An add whose
// invoke never completed (a crashed run) counts as info.
//
// Per key, against every ok read of that key:
//   lost            ok adds missing from at least one ok read (with the nodes they are missing on)
//   recovered       info adds present in some read (not an anomaly)
//   unexpected      elements in a read that no add of that key ever invoked
//   failed_present  adds that ended in fail but are present in some read
// Verdict: false if anything is lost, unexpected or failed_present; else
// unknown if no ok read exists at all, if some key with adds has no ok read,
// or if some add's value is not an integer; else true.
//
// details (all anomaly lists complete, sorted by key then element):
//   {"attempt_count","ok_count","fail_count","info_count",        add invokes and their outcomes
//    "lost":[{"key","element","index","time","missing_on":[nodes]}], "lost_count",
//    "recovered":[{"key","element","index","time","present_on":[nodes]}], "recovered_count",
//    "unexpected":[{"key","element","nodes":[nodes]}], "unexpected_count",
//    "failed_present":[{"key","element","index","time","present_on":[nodes]}], "failed_present_count",
//    "keys_without_final_read":[keys], "final_read_count", "malformed_count",
//    "per_key":{K:{"attempts","ok","lost","recovered","unexpected","failed_present","final_reads"}}}
// With missing history lines (JudgeDespiteMissingLines) only a lost add is
// still an anomaly, and only when its ok line names its own key and element
// (equal to its invoke's) and a read line naming its own key lacks it:
// "confirmed_lost_count" counts those; other anomalies make the verdict
// unknown ("not confirmed").
// "index"/"time" are those of the op that completed the add (its invoke's when
// it never completed). Streaming: memory O(adds + final-read elements), time
// O(n log n) in the history's size. One history per object; not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "checkers/checker.h"

namespace faultline {

class SetChecker : public Checker {
 public:
  SetChecker();
  ~SetChecker() override;
  std::string name() const override { return "set"; }
  void Add(const Op& op) override;
  bool JudgeDespiteMissingLines(int64_t missing) override;
  CheckResult Finish() override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace faultline
