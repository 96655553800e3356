// SshdCluster: a local namespace cluster with OpenSSH's sshd in every node
// (harness/nodes/ssh/sshd_nodes.h), created in the test's own state directory
// (FAULTLINE_STATE_DIR) and destroyed, sshd and all, when the test ends,
// also when it fails. Tests reach the nodes with SshRemote exactly as real
// hosts would be reached. Needs root.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "harness/nodes/local/local_cluster.h"
#include "harness/nodes/ssh/ssh_remote.h"
#include "harness/nodes/ssh/sshd_nodes.h"
#include "testing/per_test_dir.h"

namespace faultline {
namespace test {

class SshdCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces and sshd";
    state_ = PerTestDir("faultline-sshd-test");
    std::filesystem::create_directories(state_);
    ::setenv("FAULTLINE_STATE_DIR", state_.c_str(), 1);
    LocalClusterOptions o;
    o.nodes = nodes_wanted_;
    o.description = "sshd test";
    cluster_ = LocalCluster::Create(o);
    sshd_ = StartSshd(*cluster_);
  }
  void TearDown() override {
    if (cluster_ != nullptr) {
      try {
        cluster_->Destroy();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "destroying the cluster: " << e.what();
      }
    }
    std::error_code ec;
    if (!state_.empty()) std::filesystem::remove_all(state_, ec);
  }

  // SshOptions for node i with the cluster's key and known_hosts.
  SshOptions Options(size_t i) const {
    SshOptions o;
    o.host = sshd_.addresses[i];
    o.private_key = sshd_.client_key.string();
    o.known_hosts = sshd_.known_hosts.string();
    o.connect_timeout = std::chrono::milliseconds(3000);
    return o;
  }

  int nodes_wanted_ = 1;
  std::filesystem::path state_;
  std::unique_ptr<LocalCluster> cluster_;
  SshdNodes sshd_;
};

}  // namespace test
}  // namespace faultline
