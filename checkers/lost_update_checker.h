// LostUpdateChecker ("lost-update"): checks a register workload's history
// (read-modify-write; README "Register workload") for acknowledged writes that
// no final value descends from.
//
// Input ops (others are ignored, except the nemesis's for "faults"):
//   {"f":"rmw","key":K,"value":{"write":id}}                     invoke
//   {"f":"rmw","key":K,"value":{"read":[ids],"write":id}}        ok: the write was acknowledged
//   fail: nothing was written; info: the write may have happened (its "read" only when the completion has it)
//   {"f":"read","key":K,"value":[ids],"node":N}                  final reads (ok), from every node
//   nemesis "start-X" opens fault X (with its value), "stop-X" / "heal-X" close it; fail ones are ignored
// ids are integers, unique per key. A completion is matched to its process's
// pending invoke (the completion's own key/value when none was seen); an
// invoke that never completed is an info write with no read list.
//
// The rule: a write x "observed" every id in its read list. An ok write w is
// lost if it is reachable from no value of the key's ok final reads (union
// over nodes) through observed edges, followed through ok and info writes.
// Verdict:
//   false    some ok write is lost, or some id was read (by an rmw or a final
//            read) that no write of that key invoked ("never written") or
//            whose write failed ("write failed")
//   unknown  otherwise, if a key with writes has no ok final read, or write
//            ids are not integers or not unique
//   true     otherwise. An empty history (no writes, no final reads) is valid
//            with every count 0: nothing was acknowledged, so nothing is lost.
//
// details:
//   {"write_count","ok_count","info_count","fail_count",            rmw invokes and their outcomes
//    "lost":[{"key","write","index","time","invoke_time","process","node",
//             "final_values":[ids],"faults":[{"fault","value"}]}], "lost_count",
//    "unexpected":[{"key","id","reason","index","node"}], "unexpected_count",
//    "keys_without_final_read":[keys], "final_read_count", "malformed_count", "duplicate_write_count",
//    "per_key":{K:{"writes","ok","info","fail","lost","unexpected","final_reads","final_values"}}}
// "index"/"time" of a lost write are its ok completion's; "faults" are those
// open at its invocation time; "final_values" is the key's union of final
// values (none of which observed the write). An unexpected id's "index" and
// "node" are those of the first op that read it. Lists are sorted by key, then id.
//
// Streaming: memory O(writes + ids read), time O(n) expected (hash maps;
// the reachability search is an iterative BFS). One history per object; not
// thread-safe.
#pragma once

#include <memory>
#include <string>

#include "checkers/checker.h"

namespace faultline {

class LostUpdateChecker : public Checker {
 public:
  LostUpdateChecker();
  ~LostUpdateChecker() override;
  std::string name() const override { return "lost-update"; }
  void Add(const Op& op) override;
  CheckResult Finish() override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace faultline
