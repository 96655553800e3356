#include "workloads/counter_workload.h"

#include "checkers/counter_checker.h"

namespace faultline {

CounterWorkload::CounterWorkload(CounterWorkloadOptions options) : KeyedWorkload(options.keys) {}

Invocation CounterWorkload::Next(std::mt19937_64& rng) {
  const std::string& key = PickKey(rng);
  // One draw over the 15 non-zero values: 0..4 -> -5..-1, 5..14 -> 1..10.
  constexpr int64_t kNegatives = -kMinDelta;
  std::uniform_int_distribution<int64_t> draw(0, kMaxDelta - kMinDelta - 1);
  int64_t d = draw(rng);
  int64_t delta = d < kNegatives ? d + kMinDelta : d - kNegatives + 1;
  return Invocation{"add", key, delta};
}

std::vector<std::unique_ptr<Checker>> CounterWorkload::Checkers() const {
  return CheckersWith(std::make_unique<CounterChecker>());
}

}  // namespace faultline
