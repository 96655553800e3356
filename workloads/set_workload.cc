#include "set_workload.h"

#include "convergence_checker.h"
#include "set_checker.h"
#include "stats_checker.h"

namespace faultline {

SetWorkload::SetWorkload(SetWorkloadOptions options) {
  for (int i = 1; i <= options.keys; ++i) keys_.push_back("k" + std::to_string(i));
}

Invocation SetWorkload::Next(std::mt19937_64& rng) {
  // Elements count up from 0, so each is unique in the test and the checker
  // can tell an unexpected element from one that was attempted.
  std::uniform_int_distribution<size_t> pick(0, keys_.size() - 1);
  return Invocation{"add", keys_[pick(rng)], next_element_++};
}

std::vector<Invocation> SetWorkload::FinalReads() const {
  std::vector<Invocation> reads;
  for (const auto& key : keys_) reads.push_back(Invocation{"read", key, nullptr});
  return reads;
}

std::vector<std::unique_ptr<Checker>> SetWorkload::Checkers() const {
  std::vector<std::unique_ptr<Checker>> checkers;
  checkers.push_back(std::make_unique<SetChecker>());
  checkers.push_back(std::make_unique<ConvergenceChecker>());
  checkers.push_back(std::make_unique<StatsChecker>());
  return checkers;
}

}  // namespace faultline
