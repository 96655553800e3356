// The linearizability search of one key of a register / cas-register:
// Wing & Gong's search with Lowe's memoization (a configuration = the set of
// linearized ops + the register's value is explored at most once).
//
// Which ops take part: ok reads (a read that returned several siblings is
// not: the checker reports it on its own), ok and info writes and cas's.
// fail ops never took effect and are dropped; failed and info reads are no
// constraint. An info op (or one never completed) may take effect at any
// point after its invoke, or never.
//
// Engineering (all sound reductions, each argued where it is applied; the
// brute-force cross-check in tests/ holds them to it):
// - configurations are remembered as 128-bit fingerprints: the XOR of random
//   per-op 64-bit words of the linearized set (updated in O(1) per step) mixed
//   with the value, in an open-addressing table of 16-byte slots. A false
//   "seen" needs two different configurations to agree on 128 random bits
//   (probability < 2^-60 even at 10^9 configurations); it could only turn a
//   linearizable key into a non-linearizable one. With at most 64 classes of
//   info ops the fingerprint covers the ok ops and the info ops are compared
//   by dominance (dominance_memo.h);
// - a read that is legal now is linearized at once without trying anything
//   else at that point (it changes nothing and nothing must precede it);
// - of identical available ok writes (or cas's) only the earliest-returning
//   one is tried first; identical info ops are linearized in invoke order;
// - an info op is only linearized immediately before an op that observes
//   the value it writes (else dropping it leaves a valid linearization), and
//   info ops whose value no op ever observes are dropped up front;
// - lookahead (doom_watch.h): when the register leaves a value that an op
//   left still needs and nothing left can write it again before that op's
//   return, the configuration is refuted at once.
// No heap allocation per step: every array is sized before the search.
//
// Budget: past `time_limit_s` or once the search's memory (the fingerprint
// table and the per-op arrays) would exceed `memory_bytes`, the search stops
// with verdict unknown and the reason. `cancel` (polled) stops it too
// (verdict kCancelled). Thread-safe for different keys.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "checkers/linearizable/lin_history.h"

namespace faultline {

struct LinBudget {
  double time_limit_s = 10;
  int64_t memory_bytes = int64_t{512} << 20;
  const std::atomic<bool>* cancel = nullptr;
};

enum class LinVerdict { kLinearizable, kNonLinearizable, kUnknown, kCancelled };

struct LinStep {
  int32_t op;     // index into LinKey::ops
  int32_t state;  // the register's value after it
};

struct LinSearchResult {
  LinVerdict verdict = LinVerdict::kUnknown;
  std::string reason;      // why unknown: "time limit of 10 s reached" / "memory limit of 512 MB reached"
  int64_t explored = 0;    // configurations explored
  int64_t peak_bytes = 0;  // the search's peak memory (fingerprint table + arrays)
  int64_t search_ops = 0;  // ops that took part
  // Non-linearizable only:
  std::vector<LinStep> prefix;         // the longest linearizable prefix found, in linearization order
  int32_t blocker = -1;                // the op that cannot be linearized after it (earliest-returning left)
  std::vector<int32_t> states_before;  // values in which the blocker was due and could not take effect
  bool states_truncated = false;       // more values than listed
  bool unwritable = false;             // the blocker needs a value no op could write before it returned
};

LinSearchResult SearchLinearization(const LinKey& key, const LinBudget& budget);

}  // namespace faultline
