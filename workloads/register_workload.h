// RegisterWorkload: read-modify-write on a few register keys, for finding
// lost updates. Each op reads a key (every sibling and the context) and
// writes a new unique id with that context; at the end every node is asked
// for every key. History format (public, README "Workloads"):
//   invoke {"f":"rmw","key":"k2","value":{"write":17}}
//   ok     {"f":"rmw","key":"k2","value":{"read":[3,9],"write":17}}
//          the write was acknowledged; "read" = the sibling ids it read
//          (sorted), i.e. the writes it observed and supersedes
//   info   {"f":"rmw","key":"k2","value":{"read":[3,9],"write":17}}
//          the write may have happened (timeout, lost connection,
//          indeterminate answer); "read" as for ok
//   fail   {"f":"rmw","key":"k2","value":{"write":17}} (or with "read")
//          certainly not written (the read failed, or the store refused)
//   invoke {"f":"read","key":"k2","value":null}
//   ok     {"f":"read","key":"k2","value":[9,17]}   final phase, one per key
//          per node: the sorted ids of the key's siblings ([] when missing)
// Write ids count up from 1 and are unique in the test.
// Checked by LostUpdateChecker, ConvergenceChecker and StatsChecker.
//
// Not thread-safe: Next is called under the generator's lock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/keyed_workload.h"

namespace faultline {

struct RegisterWorkloadOptions {
  int keys = 5;  // k1..kN
};

class RegisterWorkload : public KeyedWorkload {
 public:
  explicit RegisterWorkload(RegisterWorkloadOptions options);
  std::string name() const override { return "register"; }
  Invocation Next(std::mt19937_64& rng) override;
  std::vector<std::unique_ptr<Checker>> Checkers() const override;

 private:
  int64_t next_write_ = 1;
};

}  // namespace faultline
