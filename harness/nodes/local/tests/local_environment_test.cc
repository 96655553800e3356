// LocalEnvironment with real namespaces: its NodeInfos, and who removes the
// cluster (the destructor, Teardown, or nobody once released). Each test
// uses its own state directory and removes what it left in TearDown.
#include "harness/nodes/local/local_environment.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>

#include "harness/nodes/local/cluster_state_file.h"
#include "harness/nodes/local/netns_thread.h"
#include "testing/cluster_state_fixture.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

LocalClusterOptions EnvironmentOptions(int nodes, bool manual = false) {
  LocalClusterOptions o;
  o.nodes = nodes;
  o.manual = manual;
  o.description = "environment test";
  return o;
}

class LocalEnvironmentTest : public test::StateDirTest {
 protected:
  static bool Recorded(const std::string& run_id) { return fs::exists(ClusterStatePath(run_id)); }
};

TEST_F(LocalEnvironmentTest, NodesAreTheClustersWithTheirDirectoriesAndRemotes) {
  auto env = LocalEnvironment::Create(EnvironmentOptions(2));
  LocalCluster& c = env->cluster();
  ASSERT_EQ(env->nodes().size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const NodeInfo& n = env->nodes()[i];
    EXPECT_EQ(n.name, c.nodes()[i].name);
    EXPECT_EQ(n.address, c.nodes()[i].address);
    EXPECT_EQ(n.dir, c.node_dir(i));
    ASSERT_EQ(n.remote, &c.remote(i));
    auto r = n.remote->Run({"ip", "-4", "-o", "addr", "show", "dev", "eth0"}, 10s);
    EXPECT_NE(r.out.find("inet " + n.address + "/24"), std::string::npos) << r.out;
  }
  EXPECT_EQ(env->Describe(), "cluster " + c.run_id() + " on " + c.subnet() + ": n1=" + c.nodes()[0].address +
                                 " n2=" + c.nodes()[1].address);
}

TEST_F(LocalEnvironmentTest, DestructorRemovesTheCluster) {
  auto env = LocalEnvironment::Create(EnvironmentOptions(1));
  const std::string id = env->cluster().run_id();
  const std::string netns = env->cluster().nodes()[0].netns;
  const fs::path root = env->cluster().nodes_root();
  ASSERT_TRUE(Recorded(id));
  ASSERT_TRUE(NetnsExists(netns));
  env.reset();
  EXPECT_FALSE(Recorded(id));
  EXPECT_FALSE(NetnsExists(netns));
  EXPECT_FALSE(fs::exists(root));
}

TEST_F(LocalEnvironmentTest, TeardownRemovesTheClusterOnce) {
  auto env = LocalEnvironment::Create(EnvironmentOptions(1));
  const std::string id = env->cluster().run_id();
  const std::string netns = env->cluster().nodes()[0].netns;
  env->Teardown();
  EXPECT_FALSE(Recorded(id));
  EXPECT_FALSE(NetnsExists(netns));
  env.reset();  // nothing left to remove, nothing thrown
  EXPECT_FALSE(Recorded(id));
}

TEST_F(LocalEnvironmentTest, ReleaseLeavesTheClusterRunning) {
  auto env = LocalEnvironment::Create(EnvironmentOptions(1, /*manual=*/true));
  const std::string id = env->cluster().run_id();
  const std::string netns = env->cluster().nodes()[0].netns;
  const std::string left = env->Release();
  EXPECT_EQ(left, "cluster " + id + " left running (--leave-db-running); remove it with: faultline cluster down " + id);
  env.reset();
  EXPECT_TRUE(Recorded(id));
  EXPECT_TRUE(NetnsExists(netns));
  LocalCluster::Attach(id)->Destroy();
  EXPECT_FALSE(NetnsExists(netns));
}

}  // namespace
}  // namespace faultline
