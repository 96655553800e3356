// KillFault and PauseFault on real dynastore processes: a LocalRemote on this
// host (no namespace) per node, nodes on 127.0.0.1, .2, .3 with free ports,
// files in a temp dir. The processes are found in /proc by their binary's
// path (unique per test), independently of the adapter's own bookkeeping.
// TearDown stops every node, also after a failed assertion.
#include "nemesis/process_faults.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "harness/base/harness_error.h"
#include "harness/stores/dynastore/dynastore_db.h"
#include "testing/dynastore_test_support.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;

// The state letter of /proc/<pid>/stat (R, S, T, Z...), '-' when gone.
char StateOf(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return '-';
  auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() ? line[paren + 2] : '?';
}

// Live (not zombie) processes whose argv[0] is `binary`.
std::set<int> PidsOf(const std::string& binary) {
  std::set<int> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string argv0;
    if (!std::getline(in, argv0, '\0') || argv0 != binary) continue;
    const int pid = std::stoi(name);
    const char state = StateOf(pid);
    if (state != 'Z' && state != 'X' && state != '-') pids.insert(pid);
  }
  return pids;
}

Invocation Add(const std::string& key, int64_t e) { return {"add", key, e}; }

class ProcessFaultsTest : public test::DynastoreNodesTest {
 protected:
  ProcessFaultsTest() : DynastoreNodesTest("faultline-procfault") {}

  // `count` nodes, independent stores (n=1) in one cluster file; the first
  // `started` of them are started and healthy.
  void Up(int count, int started) {
    MakeNodes(count);
    DynastoreOptions o = test::LoopbackOptions();
    o.sync = false;
    db_ = std::make_unique<DynastoreDb>(o);
    db_->Install(nodes_);
    for (int i = 0; i < started; ++i) db_->Start(nodes_[i]);
    for (int i = 0; i < started; ++i) db_->WaitHealthy(nodes_[i], milliseconds(10000));
  }

  std::set<int> Pids(int i) { return PidsOf(nodes_[i].dir + "/dynastore"); }
  int Pid(int i) {
    std::set<int> pids = Pids(i);
    EXPECT_EQ(pids.size(), 1u) << nodes_[i].name;
    return pids.empty() ? -1 : *pids.begin();
  }

  NemesisConfig Config(std::vector<std::string> targets) {
    NemesisConfig c;
    c.targets = std::move(targets);
    return c;
  }
};

TEST_F(ProcessFaultsTest, KillKillsOnlyTheTargetAndStopRestartsIt) {
  Up(3, 3);
  const int n1 = Pid(0), n2 = Pid(1), n3 = Pid(2);
  KillFault kill(nodes_, *db_, Config({"n2"}));
  std::mt19937_64 rng(1);
  EXPECT_EQ(kill.Start(rng), json({{"targets", {"n2"}}}));
  EXPECT_TRUE(Pids(1).empty());
  EXPECT_FALSE(db_->Running(nodes_[1]));
  EXPECT_EQ(Pid(0), n1);
  EXPECT_EQ(Pid(2), n3);
  std::vector<std::string> problems = kill.Verify();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind("n2:", 0), 0u) << problems[0];

  EXPECT_EQ(kill.Stop(), json({{"restarted", {"n2"}}}));
  const int restarted = Pid(1);
  EXPECT_NE(restarted, n2);
  EXPECT_NE(restarted, -1);
  EXPECT_EQ(Pid(0), n1);
  EXPECT_EQ(Pid(2), n3);
  EXPECT_TRUE(kill.Verify().empty());
  auto client = db_->NewClient(nodes_[1], ClientOptions{milliseconds(2000)});
  Completion add = client->Invoke(Add("k", 1));
  EXPECT_EQ(add.type, OpType::kOk) << add.error;
}

TEST_F(ProcessFaultsTest, KillHealAllRestartsEveryStoppedNodeOnce) {
  Up(3, 3);
  KillFault kill(nodes_, *db_, Config({"majority"}));
  std::mt19937_64 rng(7);
  json start = kill.Start(rng);
  const std::vector<std::string> targets = start["targets"];
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(kill.Verify().size(), 2u);
  EXPECT_EQ(kill.HealAll(), json({{"restarted", targets}}));
  EXPECT_TRUE(kill.Verify().empty());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Pids(i).size(), 1u) << nodes_[i].name;
  EXPECT_EQ(kill.HealAll(), json({{"restarted", json::array()}}));  // idempotent
  EXPECT_EQ(kill.Stop(), json({{"restarted", json::array()}}));     // nothing left to undo
}

TEST_F(ProcessFaultsTest, PauseStopsOnlyTheTargetsAndStopResumesThem) {
  Up(3, 3);
  const int n1 = Pid(0), n2 = Pid(1), n3 = Pid(2);
  PauseFault pause(nodes_, *db_, Config({"n1+n3"}));
  std::mt19937_64 rng(1);
  EXPECT_EQ(pause.Start(rng), json({{"targets", {"n1", "n3"}}}));
  EXPECT_EQ(StateOf(n1), 'T');
  EXPECT_EQ(StateOf(n3), 'T');
  EXPECT_NE(StateOf(n2), 'T');
  EXPECT_TRUE(db_->Paused(nodes_[0]));
  EXPECT_FALSE(db_->Paused(nodes_[1]));
  std::vector<std::string> problems = pause.Verify();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].rfind("n1:", 0), 0u) << problems[0];
  EXPECT_EQ(problems[1].rfind("n3:", 0), 0u) << problems[1];
  auto client = db_->NewClient(nodes_[0], ClientOptions{milliseconds(300)});
  EXPECT_NE(client->Invoke(Add("p", 1)).type, OpType::kOk);

  EXPECT_EQ(pause.Stop(), json({{"resumed", {"n1", "n3"}}}));
  for (int pid : {n1, n2, n3}) EXPECT_NE(StateOf(pid), 'T') << pid;
  EXPECT_FALSE(db_->Paused(nodes_[0]));
  EXPECT_TRUE(pause.Verify().empty());
  auto patient = db_->NewClient(nodes_[0], ClientOptions{milliseconds(2000)});
  Completion add = patient->Invoke(Add("p", 2));
  EXPECT_EQ(add.type, OpType::kOk) << add.error;
}

// The final heal meets nodes in every state: paused, running, killed, never
// started. Pause's HealAll resumes the paused one and leaves the others
// alone; kill's HealAll brings up the dead and the never-started ones.
TEST_F(ProcessFaultsTest, HealAllResumesPausedAndRestartsDeadNodesWhateverTheirState) {
  Up(4, 3);
  const int n1 = Pid(0), n2 = Pid(1);
  PauseFault pause(nodes_, *db_, Config({"n1"}));
  KillFault kill(nodes_, *db_, Config({"n3"}));
  std::mt19937_64 rng(3);
  ASSERT_EQ(pause.Start(rng), json({{"targets", {"n1"}}}));
  ASSERT_EQ(kill.Start(rng), json({{"targets", {"n3"}}}));
  ASSERT_EQ(StateOf(n1), 'T');

  EXPECT_EQ(pause.HealAll(), json({{"resumed", {"n1"}}}));
  EXPECT_NE(StateOf(n1), 'T');
  EXPECT_NE(StateOf(n2), 'T');
  EXPECT_EQ(pause.HealAll(), json({{"resumed", json::array()}}));  // nothing paused: a no-op
  EXPECT_TRUE(pause.Verify().empty());

  std::vector<std::string> problems = kill.Verify();
  ASSERT_EQ(problems.size(), 2u);  // killed n3, never started n4
  EXPECT_EQ(problems[0].rfind("n3:", 0), 0u) << problems[0];
  EXPECT_EQ(problems[1].rfind("n4:", 0), 0u) << problems[1];
  EXPECT_EQ(kill.HealAll(), json({{"restarted", {"n3", "n4"}}}));
  EXPECT_TRUE(kill.Verify().empty());
  EXPECT_EQ(Pid(0), n1);
  EXPECT_EQ(Pid(1), n2);
  EXPECT_EQ(Pids(2).size(), 1u);
  EXPECT_EQ(Pids(3).size(), 1u);
}

TEST_F(ProcessFaultsTest, AnUnknownTargetIsAHarnessErrorNamingIt) {
  Up(2, 0);
  KillFault kill(nodes_, *db_, Config({"n9"}));
  std::mt19937_64 rng(1);
  try {
    kill.Start(rng);
    ADD_FAILURE() << "no error";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("n9"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace faultline
