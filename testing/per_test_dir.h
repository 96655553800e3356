// PerTestDir: the directory path a fixture gives its test under the system
// temp dir, `<prefix>-<pid>-<test name>`. scripts/sweep_test_leftovers reads
// the pid back to tell a killed test's leftovers from a running one's.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>

namespace faultline::test {

inline std::filesystem::path PerTestDir(const std::string& prefix) {
  // A parameterized test's name holds a '/' ("ExamplePasses/set"): one
  // directory, not a subdirectory the fixture would remove without its parent.
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::replace(name.begin(), name.end(), '/', '-');
  return std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()) + "-" + name);
}

}  // namespace faultline::test
