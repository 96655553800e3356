// KeyedWorkload: what the built-in workloads share: keys k1..kN, one picked
// uniformly from the generator's RNG per op, a final read of every key, and
// the checkers every one of them has besides its own (convergence, stats).
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "workloads/workload.h"

namespace faultline {

class KeyedWorkload : public Workload {
 public:
  explicit KeyedWorkload(int keys) {
    for (int i = 1; i <= keys; ++i) keys_.push_back("k" + std::to_string(i));
  }
  std::vector<Invocation> FinalReads() const override {
    std::vector<Invocation> reads;
    for (const auto& key : keys_) reads.push_back(Invocation{"read", key, nullptr});
    return reads;
  }
  std::vector<std::string> Keys() const override { return keys_; }

 protected:
  const std::string& PickKey(std::mt19937_64& rng) const {
    std::uniform_int_distribution<size_t> pick(0, keys_.size() - 1);
    return keys_[pick(rng)];
  }
  // `own` (the workload's own checker) followed by ConvergenceChecker and StatsChecker.
  static std::vector<std::unique_ptr<Checker>> CheckersWith(std::unique_ptr<Checker> own);

 private:
  std::vector<std::string> keys_;
};

}  // namespace faultline
