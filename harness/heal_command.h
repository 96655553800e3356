// `faultline heal [ID]`: removes every fault from a running local cluster
// (one left by --leave-db-running or made by `cluster up`, or one whose run
// is still going): partition and loss rules, stopped processes, skewed
// clocks; and restarts a killed store when the cluster's run directory
// (its test.json) says how. Prints what it did; returns the problems left.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace faultline {

std::vector<std::string> HealLocalCluster(const std::string& run_id, std::ostream& out);

}  // namespace faultline
