#include "workloads/register_workload.h"

#include "checkers/lost_update_checker.h"

namespace faultline {

RegisterWorkload::RegisterWorkload(RegisterWorkloadOptions options) : KeyedWorkload(options.keys) {}

Invocation RegisterWorkload::Next(std::mt19937_64& rng) {
  // Ids count up, so each write is unique in the test and the lost-update
  // checker can name exactly which write went missing.
  const std::string& key = PickKey(rng);
  return Invocation{"rmw", key, {{"write", next_write_++}}};
}

std::vector<std::unique_ptr<Checker>> RegisterWorkload::Checkers() const {
  return CheckersWith(std::make_unique<LostUpdateChecker>());
}

}  // namespace faultline
