// SshEnvironment against real sshd inside local namespace nodes
// (SshdCluster): the node directories it makes on the hosts, and who removes
// them (the destructor, Teardown, or nobody once released).
#include "harness/nodes/ssh/ssh_environment.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "testing/sshd_fixture.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;

class SshEnvironmentTest : public test::SshdCluster {
 protected:
  SshEnvironmentTest() { nodes_wanted_ = 2; }

  std::unique_ptr<SshEnvironment> Make() {
    SshConfig ssh;
    ssh.private_key = sshd_.client_key.string();
    ssh.known_hosts = sshd_.known_hosts.string();
    ssh.connect_timeout_ms = 3000;
    return std::make_unique<SshEnvironment>("envtest", sshd_.addresses, ssh);
  }

  // The hosts are namespaces on this machine: their /tmp is ours.
  static bool PrivateDir(const std::string& dir) {
    struct stat st {};
    return ::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700;
  }
};

TEST_F(SshEnvironmentTest, MakesPrivateNodeDirectoriesAndTheDestructorRemovesThem) {
  auto env = Make();
  ASSERT_EQ(env->nodes().size(), 2u);
  std::string listing;
  for (size_t i = 0; i < 2; ++i) {
    const NodeInfo& n = env->nodes()[i];
    EXPECT_EQ(n.name, "n" + std::to_string(i + 1));
    EXPECT_EQ(n.address, sshd_.addresses[i]);
    EXPECT_EQ(n.dir.rfind("/tmp/faultline-envtest-" + n.name + "-", 0), 0u) << n.dir;
    EXPECT_TRUE(PrivateDir(n.dir)) << n.dir;
    ASSERT_NE(n.remote, nullptr);
    EXPECT_EQ(n.remote->Run({"true"}, std::chrono::seconds(10)).exit_code, 0);
    listing += (i == 0 ? "" : " ") + n.name + "=root@" + n.address + ":22:" + n.dir;
  }
  EXPECT_EQ(env->Describe(), "SSH nodes (name=user@host:port:directory): " + listing);
  const std::string dir = env->nodes()[0].dir;
  env.reset();
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(SshEnvironmentTest, TeardownRemovesTheDirectories) {
  auto env = Make();
  const std::string dir1 = env->nodes()[0].dir, dir2 = env->nodes()[1].dir;
  env->Teardown();
  EXPECT_FALSE(fs::exists(dir1));
  EXPECT_FALSE(fs::exists(dir2));
}

TEST_F(SshEnvironmentTest, ReleaseKeepsTheDirectories) {
  auto env = Make();
  const std::vector<NodeInfo> nodes = env->nodes();
  const std::string dir = nodes[0].dir;
  const std::string node_list = env->Describe().substr(env->Describe().find(": ") + 2);
  EXPECT_EQ(env->Release(), "store left running on the SSH nodes: " + node_list);
  env.reset();
  for (const NodeInfo& n : nodes) {
    EXPECT_TRUE(PrivateDir(n.dir)) << n.dir;
    std::error_code ec;
    fs::remove_all(n.dir, ec);
  }
}

}  // namespace
}  // namespace faultline
