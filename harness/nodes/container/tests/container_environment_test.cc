// ContainerEnvironment with real Podman containers in real namespaces: what
// a node is from inside (hostname, pid 1, its directory, its limits, its
// own files), the Remote's commands and daemons, the whole-node faults, and
// that nothing is left after teardown or when podman is missing. Each test
// uses its own state directory.
#include "harness/nodes/container/container_environment.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/cluster_state_file.h"
#include "harness/nodes/local/host_tools.h"
#include "testing/cluster_state_fixture.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using local_internal::PodmanContainerNames;

ContainerOptions Options(int nodes) {
  ContainerOptions o;
  o.cluster.nodes = nodes;
  o.cluster.description = "container test";
  o.memory = "256m";
  o.cpus = 0.5;
  return o;
}

std::string Out(Remote& r, const std::vector<std::string>& argv) {
  CommandResult res = r.Run(argv, 30s);
  EXPECT_TRUE(res.ok()) << argv[0] << ": exit " << res.exit_code << " " << res.err;
  while (!res.out.empty() && res.out.back() == '\n') res.out.pop_back();
  return res.out;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

bool HasContainer(const std::string& name) {
  for (const auto& n : PodmanContainerNames()) {
    if (n == name) return true;
  }
  return false;
}

class ContainerEnvironmentTest : public test::StateDirTest {
 protected:
  void SetUp() override {
    StateDirTest::SetUp();
    if (!IsSkipped() && !local_internal::PodmanInstalled()) {
      GTEST_FAIL() << "podman and runc are required (scripts/setup installs them)";
    }
  }
};

TEST_F(ContainerEnvironmentTest, EachNodeIsAMachineOfItsOwn) {
  auto env = ContainerEnvironment::Create(Options(2));
  ASSERT_EQ(env->nodes().size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const NodeInfo& n = env->nodes()[i];
    Remote& r = *n.remote;
    EXPECT_EQ(n.dir, kContainerNodeDir);
    ASSERT_NE(n.machine, nullptr);
    EXPECT_EQ(Out(r, {"hostname"}), n.name);
    // pid 1 is the container's init, not the host's.
    EXPECT_NE(Out(r, {"cat", "/proc/1/cmdline"}).find("podman-init"), std::string::npos);
    EXPECT_NE(Out(r, {"ip", "-4", "-o", "addr", "show", "dev", "eth0"}).find("inet " + n.address + "/24"),
              std::string::npos);
    // Its directory is at the fixed path, and is the node's host directory.
    EXPECT_EQ(Out(r, {"sh", "-c", "echo node-" + n.name + " > " + n.dir + "/mark && cat " + n.dir + "/mark"}),
              "node-" + n.name);
    EXPECT_EQ(Slurp(fs::path(env->cluster().node_dir(i)) / "mark"), "node-" + n.name);
    // Limits visible from its cgroup.
    ContainerNode& m = env->machine(i);
    EXPECT_EQ(Slurp(m.CgroupDir("memory") + "/memory.limit_in_bytes"), std::to_string(256 << 20));
    EXPECT_DOUBLE_EQ(m.CpuLimit(), 0.5);
    // A command joins the container's cgroups.
    EXPECT_NE(Out(r, {"cat", "/proc/self/cgroup"}).find("libpod"), std::string::npos);
  }
  // A file written in one node's root is invisible to the other, and the
  // other nodes' directories are out of sight.
  Remote& a = *env->nodes()[0].remote;
  Remote& b = *env->nodes()[1].remote;
  Out(a, {"sh", "-c", "echo secret > /root-only-n1"});
  EXPECT_EQ(Out(a, {"cat", "/root-only-n1"}), "secret");
  EXPECT_FALSE(b.Run({"cat", "/root-only-n1"}, 30s).ok());
  EXPECT_FALSE(fs::exists("/root-only-n1"));
  EXPECT_FALSE(b.Run({"ls", env->cluster().node_dir(0)}, 30s).ok() &&
               !Out(b, {"ls", env->cluster().node_dir(0)}).empty());
  EXPECT_NE(env->Describe().find("Podman containers"), std::string::npos);

  // Attached (as `faultline heal` does): each node's init and --cpus limit, from
  // one podman call; a container gone is an error naming its node.
  {
    auto attached = ContainerEnvironment::Attach(env->cluster().run_id());
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(attached->machine(i).InitPid(), env->machine(i).InitPid());
      EXPECT_GT(attached->machine(i).InitPid(), 0);
      EXPECT_DOUBLE_EQ(attached->machine(i).BaseCpuLimit(), 0.5);
    }
  }
  ASSERT_TRUE(local_internal::RunPodman({"rm", "--force", "--time", "0", env->machine(1).container()}).ok());
  try {
    ContainerEnvironment::Attach(env->cluster().run_id());
    ADD_FAILURE() << "attached to a cluster whose n2 has no container";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("has no container for n2"), std::string::npos) << e.what();
  }
}

TEST_F(ContainerEnvironmentTest, FilesAndDaemonsGoThroughTheContainer) {
  auto env = ContainerEnvironment::Create(Options(1));
  const NodeInfo& n = env->nodes()[0];
  Remote& r = *n.remote;
  test::TempDir tmp("fl-ctr-files");
  test::WriteFile(tmp.Sub("script"), "#!/bin/sh\necho up\n[ \"$1\" = --version ] && exit 0\nexec sleep 1000\n");
  fs::permissions(tmp.Sub("script"), fs::perms::owner_all);
  // Inside the node directory and elsewhere in its root.
  r.Upload(tmp.Sub("script"), n.dir + "/bin/script");
  r.Upload(tmp.Sub("script"), "/opt/fl-test/script");
  EXPECT_FALSE(fs::exists("/opt/fl-test/script"));  // the container's root, not the host's
  EXPECT_EQ(Out(r, {"/opt/fl-test/script", "--version"}).substr(0, 2), "up");
  r.Download("/opt/fl-test/script", tmp.Sub("back"));
  EXPECT_TRUE(fs::exists(tmp.Sub("back")));
  EXPECT_THROW(r.Upload(tmp.Sub("script"), "relative/path"), HarnessError);
  EXPECT_THROW(r.Upload(tmp.Sub("script"), "/opt/../etc/x"), HarnessError);

  EXPECT_EQ(r.Run({"no-such-program"}, 30s).exit_code, 127);
  CommandResult slow = r.Run({"sleep", "30"}, 300ms);
  EXPECT_TRUE(slow.timed_out);

  const int pid = r.StartDaemon({n.dir + "/bin/script"}, n.dir + "/script.log", {{"FL_TEST", "1"}});
  EXPECT_TRUE(r.Alive(pid));
  // The pid is the container's: its /proc inside shows it, once the script
  // got to its `exec sleep` (it may still be the shell when StartDaemon returns).
  std::string cmdline;
  for (int i = 0; i < 3000 && cmdline.find("sleep") == std::string::npos; ++i) {
    cmdline = Out(r, {"cat", "/proc/" + std::to_string(pid) + "/cmdline"});
  }
  EXPECT_NE(cmdline.find("sleep"), std::string::npos) << cmdline;
  r.Signal(pid, SIGSTOP);
  // A stop takes effect when the process is next scheduled.
  std::string stat;
  for (int i = 0; i < 3000 && stat.find(") T ") == std::string::npos; ++i) {
    stat = Out(r, {"cat", "/proc/" + std::to_string(pid) + "/stat"});
  }
  EXPECT_NE(stat.find(") T "), std::string::npos) << stat;
  r.Signal(pid, SIGCONT);
  r.Signal(pid, SIGKILL);
  for (int i = 0; i < 500 && r.Alive(pid); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(r.Alive(pid));
  EXPECT_EQ(Slurp(fs::path(env->cluster().node_dir(0)) / "script.log"), "up");
}

TEST_F(ContainerEnvironmentTest, CrashKillsEveryProcessOfTheNodeAndBootBringsItBack) {
  auto env = ContainerEnvironment::Create(Options(1));
  const NodeInfo& n = env->nodes()[0];
  Remote& r = *n.remote;
  const int store = r.StartDaemon({"sleep", "1000"}, n.dir + "/a.log");
  const int other = r.StartDaemon({"sleep", "1001"}, n.dir + "/b.log");  // not the store's: a crash takes it too
  Out(r, {"sh", "-c", "echo kept > " + n.dir + "/data"});
  n.machine->Crash();
  EXPECT_FALSE(n.machine->Up());
  EXPECT_FALSE(r.Alive(store));
  EXPECT_FALSE(r.Alive(other));
  EXPECT_THROW(r.Run({"true"}, 10s), HarnessError);
  n.machine->Boot();
  EXPECT_TRUE(n.machine->Up());
  EXPECT_EQ(Out(r, {"cat", n.dir + "/data"}), "kept");
  EXPECT_EQ(Out(r, {"sh", "-c", "ps -e -o comm= | grep -c sleep || true"}), "0");
}

TEST_F(ContainerEnvironmentTest, FreezeStopsTheWholeNodeAndStarveLowersItsQuota) {
  auto env = ContainerEnvironment::Create(Options(1));
  const NodeInfo& n = env->nodes()[0];
  ContainerNode& m = env->machine(0);
  const int pid = n.remote->StartDaemon({"sleep", "1000"}, n.dir + "/a.log");
  n.machine->Freeze();
  EXPECT_TRUE(n.machine->Frozen());
  EXPECT_EQ(Slurp(m.CgroupDir("freezer") + "/freezer.state"), "FROZEN");
  CommandResult status = local_internal::RunPodman({"inspect", "--format", "{{.State.Status}}", m.container()});
  EXPECT_EQ(status.out, "paused\n");
  n.machine->Thaw();
  EXPECT_FALSE(n.machine->Frozen());
  EXPECT_TRUE(n.remote->Alive(pid));
  EXPECT_EQ(Out(*n.remote, {"echo", "thawed"}), "thawed");

  EXPECT_DOUBLE_EQ(n.machine->BaseCpuLimit(), 0.5);
  n.machine->SetCpuLimit(0.05);
  EXPECT_DOUBLE_EQ(n.machine->CpuLimit(), 0.05);
  EXPECT_EQ(Slurp(m.CgroupDir("cpu") + "/cpu.cfs_quota_us"), "5000");
  n.machine->SetCpuLimit(n.machine->BaseCpuLimit());
  EXPECT_DOUBLE_EQ(n.machine->CpuLimit(), 0.5);
  n.machine->SetCpuLimit(0);
  EXPECT_EQ(Slurp(m.CgroupDir("cpu") + "/cpu.cfs_quota_us"), "-1");
  EXPECT_DOUBLE_EQ(n.machine->CpuLimit(), 0);
}

TEST_F(ContainerEnvironmentTest, TeardownLeavesNothing) {
  auto env = ContainerEnvironment::Create(Options(2));
  const std::string id = env->cluster().run_id();
  const std::vector<std::string> names = {env->cluster().nodes()[0].netns, env->cluster().nodes()[1].netns};
  const fs::path root = env->cluster().nodes_root();
  auto st = ReadClusterState(ClusterStatePath(id));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->containers, names);
  for (const auto& c : names) EXPECT_TRUE(HasContainer(c));
  env->Teardown();
  for (const auto& c : names) {
    EXPECT_FALSE(HasContainer(c));
    EXPECT_FALSE(fs::exists("/run/netns/" + c));
  }
  EXPECT_FALSE(fs::exists(root));
  EXPECT_FALSE(fs::exists(ClusterStatePath(id)));
}

TEST_F(ContainerEnvironmentTest, WithoutPodmanNothingIsCreated) {
  const char* old = std::getenv("PATH");
  const std::string saved = old ? old : "";
  test::TempDir empty("fl-no-podman");
  ::setenv("PATH", empty.path().c_str(), 1);
  try {
    ContainerEnvironment::Create(Options(1));
    ADD_FAILURE() << "created container nodes without podman on PATH";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("missing: podman, runc, nsenter"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("apt-get install podman runc"), std::string::npos) << e.what();
  }
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_TRUE(ListClusterStateIds().empty());
  EXPECT_THROW(RequireContainerSupport("faultline-no-such-image:1"), HarnessError);
}

}  // namespace
}  // namespace faultline
