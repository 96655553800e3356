#include "register_workload.h"

#include "convergence_checker.h"
#include "lost_update_checker.h"
#include "stats_checker.h"

namespace faultline {

RegisterWorkload::RegisterWorkload(RegisterWorkloadOptions options) {
  for (int i = 1; i <= options.keys; ++i) keys_.push_back("k" + std::to_string(i));
}

Invocation RegisterWorkload::Next(std::mt19937_64& rng) {
  // Ids count up, so each write is unique in the test and the lost-update
  // checker can name exactly which write went missing.
  std::uniform_int_distribution<size_t> pick(0, keys_.size() - 1);
  const std::string& key = keys_[pick(rng)];
  return Invocation{"rmw", key, {{"write", next_write_++}}};
}

std::vector<Invocation> RegisterWorkload::FinalReads() const {
  std::vector<Invocation> reads;
  for (const auto& key : keys_) reads.push_back(Invocation{"read", key, nullptr});
  return reads;
}

std::vector<std::unique_ptr<Checker>> RegisterWorkload::Checkers() const {
  std::vector<std::unique_ptr<Checker>> checkers;
  checkers.push_back(std::make_unique<LostUpdateChecker>());
  checkers.push_back(std::make_unique<ConvergenceChecker>());
  checkers.push_back(std::make_unique<StatsChecker>());
  return checkers;
}

}  // namespace faultline
