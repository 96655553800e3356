#include "counter_workload.h"

#include "convergence_checker.h"
#include "counter_checker.h"
#include "stats_checker.h"

namespace faultline {

CounterWorkload::CounterWorkload(CounterWorkloadOptions options) {
  for (int i = 1; i <= options.keys; ++i) keys_.push_back("k" + std::to_string(i));
}

Invocation CounterWorkload::Next(std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> pick(0, keys_.size() - 1);
  const std::string& key = keys_[pick(rng)];
  // One draw over the 15 non-zero values: 0..4 -> -5..-1, 5..14 -> 1..10.
  constexpr int64_t kNegatives = -kMinDelta;
  std::uniform_int_distribution<int64_t> draw(0, kMaxDelta - kMinDelta - 1);
  int64_t d = draw(rng);
  int64_t delta = d < kNegatives ? d + kMinDelta : d - kNegatives + 1;
  return Invocation{"add", key, delta};
}

std::vector<Invocation> CounterWorkload::FinalReads() const {
  std::vector<Invocation> reads;
  for (const auto& key : keys_) reads.push_back(Invocation{"read", key, nullptr});
  return reads;
}

std::vector<std::unique_ptr<Checker>> CounterWorkload::Checkers() const {
  std::vector<std::unique_ptr<Checker>> checkers;
  checkers.push_back(std::make_unique<CounterChecker>());
  checkers.push_back(std::make_unique<ConvergenceChecker>());
  checkers.push_back(std::make_unique<StatsChecker>());
  return checkers;
}

}  // namespace faultline
