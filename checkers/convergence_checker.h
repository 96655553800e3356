// ConvergenceChecker ("convergence"): did every replica of every key end up
// holding the same versions? Reads the replica-read rounds the harness
// records after the final reads (README "Replica reads"):
//   {"f":"replica-read","key":K,"value":{"round":R,"replicas":{"n1":[values],"n2":[...]}}}   type ok
// where each replica's array holds its sibling values (sorted by the writer;
// sorted again here). A round that could not read a key is a fail op with
// "error". Nemesis ops whose f starts with "heal" mark the final heal.
//
// Per key, its state at round R is its latest ok reading with round <= R.
// Verdict:
//   unknown  no replica-read op at all ("the store adapter has no replica
//            reads"), or no divergence but some key's last round failed
//   false    in its last ok round some key's replicas hold different arrays
//   true     otherwise
// details:
//   {"rounds", "key_count", "divergent":[{"key","round","replicas":{node:[values]}}], "divergent_count",
//    "unreadable":[{"key","round","error"}], "unreadable_count",
//    "converged_after_s": seconds from the final heal to the end of the first
//                         round from which on every key agreed (null if never),
//    "differed_until_s":  seconds from the final heal to the end of the round
//                         before it (null when that first agreeing round is
//                         the first round: convergence happened "within"
//                         converged_after_s, how much earlier is unknown),
//    "first_read_after_s": seconds from the final heal to the first replica read,
//    "measured_from":     "the final heal" or "the first replica read",
//    "final_heal_time"}
// The final heal is the time of the last nemesis op whose f starts with
// "heal"; without one, the first replica-read invoke's time. The runner
// starts rounds right after the heal (README "Replica reads"), so the replicas
// converged between differed_until_s and converged_after_s.
// With no replica-read op at all, AbsentInput() says so (`faultline check`
// skips the checker; in a run its verdict is unknown).
//
// Streaming: memory O(keys x (rounds + one reading)). One history per object;
// not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "checkers/checker.h"

namespace faultline {

class ConvergenceChecker : public Checker {
 public:
  ConvergenceChecker();
  ~ConvergenceChecker() override;
  std::string name() const override { return "convergence"; }
  void Add(const Op& op) override;
  std::string AbsentInput() const override;
  CheckResult Finish() override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace faultline
