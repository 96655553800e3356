// SshEnvironment against real sshd inside local namespace nodes
// (SshdCluster): the node directories it makes on the hosts, and who removes
// them (the destructor, Teardown, or nobody once released).
#include "harness/nodes/ssh/ssh_environment.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "harness/base/wait.h"
#include "harness/nodes/local/netns_thread.h"
#include "harness/nodes/ssh/sshd_nodes.h"
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
  const std::string expected = "SSH nodes (name=user@host:port:directory): " + listing;
  const std::string described = env->Describe();
  EXPECT_EQ(described.substr(0, expected.size()), expected);
  // Anything more is the slow-command warning, which a loaded machine may earn.
  EXPECT_TRUE(described.size() == expected.size() || described.compare(expected.size(), 11, "; warning: ") == 0)
      << described;
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
  std::string node_list = env->Describe().substr(env->Describe().find(": ") + 2);
  node_list = node_list.substr(0, node_list.find("; warning: "));
  EXPECT_EQ(env->Release(), "store left running on the SSH nodes: " + node_list);
  env.reset();
  for (const NodeInfo& n : nodes) {
    EXPECT_TRUE(PrivateDir(n.dir)) << n.dir;
    std::error_code ec;
    fs::remove_all(n.dir, ec);
  }
}

TEST_F(SshEnvironmentTest, ASlowShellStartOnANodeIsNamedInTheDescription) {
  // Node n2's shell sleeps before every command, as a ~/.bashrc with a slow
  // init would: bash reads BASH_ENV for any non-interactive command.
  const fs::path slow_rc = state_ / "slow_rc.sh";
  std::ofstream(slow_rc) << "sleep 0.5\n";
  const fs::path config = sshd_.dir / cluster_->nodes()[1].name / "sshd_config";
  std::string text;
  {
    std::ifstream in(config);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string setenv = "SetEnv SHLVL=1\n";
  ASSERT_NE(text.find(setenv), std::string::npos) << text;
  text.replace(text.find(setenv), setenv.size(), "SetEnv SHLVL=1 BASH_ENV=" + slow_rc.string() + "\n");
  std::ofstream(config, std::ios::trunc) << text;
  for (int pid : NetnsPids(cluster_->nodes()[1].netns)) ::kill(pid, SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return NetnsPids(cluster_->nodes()[1].netns).empty(); }));
  StartNodeSshd(*cluster_, 1, sshd_);

  auto env = Make();
  const std::string described = env->Describe();
  EXPECT_NE(described.find("; warning: one no-op command took "), std::string::npos) << described;
  EXPECT_NE(described.find("n2 "), std::string::npos) << described;
  EXPECT_NE(described.find("~/.bashrc"), std::string::npos) << described;
}

}  // namespace
}  // namespace faultline
