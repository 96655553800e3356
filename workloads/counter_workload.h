// CounterWorkload: clients add deltas to a few counter keys; at the end every
// node is asked for every key's total. History format (public, README
// "Workloads"):
//   invoke/ok/info/fail {"f":"add","key":"k2","value":-3}   main phase
//   invoke {"f":"read","key":"k2","value":null}
//   ok     {"f":"read","key":"k2","value":42}   final phase, one per key per
//          node: the counter's total (0 when the key is missing)
// Deltas are drawn uniformly from [-5, 10] without 0, so two in three are
// positive and a counter mostly grows while decrements still get exercised.
// The store keeps the counter so that concurrent adds never lose each other
// (on dynastore: a PN-counter, per-writer increments merged on siblings).
// Checked by CounterChecker, ConvergenceChecker and StatsChecker.
//
// Not thread-safe: Next is called under the generator's lock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/keyed_workload.h"

namespace faultline {

struct CounterWorkloadOptions {
  int keys = 5;  // k1..kN
};

class CounterWorkload : public KeyedWorkload {
 public:
  static constexpr int64_t kMinDelta = -5;
  static constexpr int64_t kMaxDelta = 10;

  explicit CounterWorkload(CounterWorkloadOptions options);
  std::string name() const override { return "counter"; }
  Invocation Next(std::mt19937_64& rng) override;
  std::vector<std::unique_ptr<Checker>> Checkers() const override;

 private:
};

}  // namespace faultline
