// StateDirTest: a test fixture for code that makes local clusters. Each test
// gets its own state directory (FAULTLINE_STATE_DIR), so tests never see
// each other's clusters, and TearDown destroys every cluster recorded there
// (namespaces, containers, node directories) before removing it. Needs root.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "harness/nodes/local/cluster_state_file.h"
#include "harness/nodes/local/local_cluster.h"
#include "testing/per_test_dir.h"

namespace faultline::test {

class StateDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    state_dir_ = PerTestDir("fl-state-test");
    std::filesystem::create_directories(state_dir_);
    std::filesystem::permissions(state_dir_, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace);
    ::setenv("FAULTLINE_STATE_DIR", state_dir_.c_str(), 1);
  }
  void TearDown() override {
    for (const auto& dir : {extra_state_dir_, state_dir_}) {
      if (dir.empty()) continue;
      ::setenv("FAULTLINE_STATE_DIR", dir.c_str(), 1);
      for (const auto& id : ListClusterStateIds()) {
        try {
          LocalCluster::Attach(id)->Destroy();
        } catch (const std::exception& e) {
          ADD_FAILURE() << "teardown of cluster " << id << ": " << e.what();
        }
      }
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
    ::unsetenv("FAULTLINE_STATE_DIR");
  }

  std::filesystem::path state_dir_;
  std::filesystem::path extra_state_dir_;  // a second state directory a test switched to, cleaned up too
};

}  // namespace faultline::test
