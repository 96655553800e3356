// SetWorkload: clients add unique integers to a few set-valued keys; at the
// end every node is asked for every key. History format (public, README):
//   {"f":"add","key":"k2","value":17}          main phase, value unique per test
//   {"f":"read","key":"k2","value":[1,5,17]}   final phase, one per key per node
// Checked by SetChecker (lost / recovered / unexpected).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/keyed_workload.h"

namespace faultline {

struct SetWorkloadOptions {
  int keys = 5;  // k1..kN
};

class SetWorkload : public KeyedWorkload {
 public:
  explicit SetWorkload(SetWorkloadOptions options);
  std::string name() const override { return "set"; }
  Invocation Next(std::mt19937_64& rng) override;
  std::vector<std::unique_ptr<Checker>> Checkers() const override;

 private:
  int64_t next_element_ = 0;
};

}  // namespace faultline
