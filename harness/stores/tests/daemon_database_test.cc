// DaemonDatabase: what an adapter inherits (signals to its daemon, Restart as
// Start then WaitHealthy with the restart timeout), on a real process.
#include "harness/stores/daemon_database.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "harness/nodes/local/local_remote.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

using std::chrono::milliseconds;

// The smallest daemon store: `sleep 60` on the node; records its health waits.
class SleepDb : public DaemonDatabase {
 public:
  SleepDb() : DaemonDatabase("sleep", milliseconds(1234)) {}
  std::string name() const override { return "sleep"; }
  void Install(const std::vector<NodeInfo>& /*nodes*/) override {}
  void Start(const NodeInfo& node) override {
    ++starts;
    daemons().Start(node, {"sleep", "60"}, node.dir + "/sleep.log");
  }
  void WaitHealthy(const NodeInfo& /*node*/, milliseconds deadline) override { waits.push_back(deadline); }
  void Wipe(const NodeInfo& /*node*/) override {}
  void CollectLogs(const NodeInfo& /*node*/, const std::filesystem::path& /*dest*/) override {}
  std::unique_ptr<Client> NewClient(const NodeInfo& /*node*/, const ClientOptions& /*options*/) override {
    return nullptr;
  }

  int starts = 0;
  std::vector<milliseconds> waits;
};

TEST(DaemonDatabaseTest, SignalsTheDaemonAndRestartsItAsStartThenWaitHealthy) {
  test::TempDir dir("faultline-daemon-database-test");
  LocalRemote host("n1", "");
  const NodeInfo node{"n1", "127.0.0.1", dir.path().string(), &host};
  SleepDb db;
  EXPECT_FALSE(db.Running(node));  // never started
  EXPECT_FALSE(db.Paused(node));
  db.Kill(node);  // nothing to kill: no error

  db.Start(node);
  EXPECT_TRUE(db.Running(node));
  db.Pause(node);
  EXPECT_TRUE(db.Paused(node));
  db.Resume(node);
  EXPECT_FALSE(db.Paused(node));
  db.Kill(node);
  EXPECT_FALSE(db.Running(node));

  db.Restart(node);
  EXPECT_EQ(db.starts, 2);
  ASSERT_EQ(db.waits.size(), 1u);
  EXPECT_EQ(db.waits[0], milliseconds(1234));  // the restart timeout given at construction
  EXPECT_TRUE(db.Running(node));
  db.Stop(node);
  EXPECT_FALSE(db.Running(node));
  EXPECT_FALSE(db.Paused(node));
}

TEST(SetsFlagTest, FindsTheFlagAloneOrWithAValueButNotAnotherFlagItPrefixes) {
  EXPECT_TRUE(SetsFlag({"--threads", "3"}, "--threads"));
  EXPECT_TRUE(SetsFlag({"--lww", "--threads=3"}, "--threads"));
  EXPECT_FALSE(SetsFlag({"--threadsx", "--threads-max=3", "threads"}, "--threads"));
  EXPECT_FALSE(SetsFlag({"--name=--threads"}, "--threads"));
  EXPECT_FALSE(SetsFlag({}, "--threads"));
}

}  // namespace
}  // namespace faultline
