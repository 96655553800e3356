// Names users give on the command line (--db, --workload) mapped to
// implementations. ResolveConfig validates the names; these build them.
#pragma once

#include <filesystem>
#include <memory>

#include "harness/api/database.h"
#include "harness/run/test_config.h"
#include "workloads/workload.h"

namespace faultline {

std::unique_ptr<Workload> MakeWorkload(const TestConfig& config);
std::unique_ptr<Database> MakeDatabase(const TestConfig& config);

// Whether the nemesis may skew clocks (the store then runs under libfaketime).
bool UsesClockFault(const TestConfig& config);

// The dynastore binary: config.dynastore.binary, else the one built or
// installed next to this faultline binary. Throws HarnessError listing the
// places it looked.
std::filesystem::path FindDynastoreBinary(const TestConfig& config);

}  // namespace faultline
