#include "workloads/keyed_workload.h"

#include "checkers/convergence_checker.h"
#include "checkers/stats_checker.h"

namespace faultline {

std::vector<std::unique_ptr<Checker>> KeyedWorkload::CheckersWith(std::unique_ptr<Checker> own) {
  std::vector<std::unique_ptr<Checker>> checkers;
  checkers.push_back(std::move(own));
  checkers.push_back(std::make_unique<ConvergenceChecker>());
  checkers.push_back(std::make_unique<StatsChecker>());
  return checkers;
}

}  // namespace faultline
