// CasRegisterWorkload: reads, blind writes and compare-and-sets on a few
// independent registers, checked for linearizability. History format
// (public, README "Workloads"):
//   invoke {"f":"read","key":"k1","value":null}
//   ok     {"f":"read","key":"k1","value":3}        null: the key is absent;
//          an array of the sorted sibling values when the store returned
//          several (dynastore), e.g. [3,5]
//   invoke/ok/fail/info {"f":"write","key":"k1","value":4}
//   invoke/ok/fail/info {"f":"cas","key":"k1","value":[1,4]}
//          ok = applied; fail = did not apply (the value was not 1); info = unknown
// Independent keys (Jepsen's): `keys` registers are in use at once; once K
// (`ops_per_key`) ops have been invoked on one, its slot moves to a fresh key
// (k1..kN first, then kN+1, kN+2, ...), so each key's history stays short
// enough to check exactly. The final phase reads the keys in use at the end.
//
// Values: uniform in 0..max_value (contention, as Jepsen uses), or with
// `unique_values` every written value distinct (1, 2, 3, ... over the test);
// a cas then expects one of the last 3 values written to its key (and is a
// write when none has been yet), so that some cas ops apply.
//
// The op mix is three non-negative weights; the checker's model is
// cas-register, or register when the mix has no cas. Checked by the
// linearizable checker (checkers/linearizable) and StatsChecker.
//
// Not thread-safe: Next is called under the generator's lock.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "checkers/linearizable/linearizable_checker.h"
#include "workloads/workload.h"

namespace faultline {

// Relative weights of the three ops; e.g. {2,1,0} = two reads per write, no cas.
struct CasMix {
  int read = 1;
  int write = 1;
  int cas = 1;
  bool operator==(const CasMix&) const = default;
};

struct CasRegisterWorkloadOptions {
  int keys = 5;           // registers in use at once
  int ops_per_key = 200;  // invocations on one key before its slot moves to a fresh key
  int max_value = 4;      // values 0..max_value (unless unique_values)
  bool unique_values = false;
  CasMix mix;
  LinearizableOptions checker;  // budget and all_keys; the model follows the mix
};

class CasRegisterWorkload : public Workload {
 public:
  static constexpr int kRecentValues = 3;  // a unique-values cas expects one of these

  explicit CasRegisterWorkload(CasRegisterWorkloadOptions options);
  std::string name() const override { return "cas-register"; }
  Invocation Next(std::mt19937_64& rng) override;
  // One read of each key in use when the main phase ended.
  std::vector<Invocation> FinalReads() const override;
  // None: no checker of this workload judges replica convergence, so the
  // runner's replica-read rounds would only lengthen the history.
  std::vector<std::string> Keys() const override { return {}; }
  std::vector<std::unique_ptr<Checker>> Checkers() const override;

  // The linearizable checker's options for this workload's mix.
  LinearizableOptions CheckerOptions() const;

 private:
  struct Slot {
    std::string key;
    int ops = 0;
    std::deque<int64_t> recent;  // unique values: the last values written to `key`
  };
  int64_t NewValue(std::mt19937_64& rng, Slot& slot);

  CasRegisterWorkloadOptions options_;
  std::vector<Slot> slots_;
  int64_t next_key_;        // the number of the next fresh key
  int64_t next_value_ = 1;  // unique values
};

}  // namespace faultline
