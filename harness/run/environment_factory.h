// The one place that chooses a run's kind of node: SSH hosts when the config
// names nodes (--nodes), else a fresh local namespace cluster.
#pragma once

#include <filesystem>
#include <memory>

#include "harness/api/environment.h"
#include "harness/run/test_config.h"

namespace faultline {

// Makes and connects the run's nodes. `run_dir` is recorded with a local
// cluster (`faultline heal` reads its test.json). Throws HarnessError.
std::unique_ptr<Environment> MakeEnvironment(const TestConfig& config, const std::filesystem::path& run_dir);

}  // namespace faultline
