#include "workloads/set_workload.h"

#include "checkers/set_checker.h"

namespace faultline {

SetWorkload::SetWorkload(SetWorkloadOptions options) : KeyedWorkload(options.keys) {}

Invocation SetWorkload::Next(std::mt19937_64& rng) {
  // Elements count up from 0, so each is unique in the test and the checker
  // can tell an unexpected element from one that was attempted.
  return Invocation{"add", PickKey(rng), next_element_++};
}

std::vector<std::unique_ptr<Checker>> SetWorkload::Checkers() const {
  return CheckersWith(std::make_unique<SetChecker>());
}

}  // namespace faultline
