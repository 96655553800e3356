// DynastoreDb through a real LocalRemote on this host (no namespace): real
// dynastore processes on loopback addresses and free ports, real files in a
// temp dir. TearDown stops every node, also after a failed assertion.
#include "harness/stores/dynastore/dynastore_db.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/base/harness_error.h"
#include "testing/dynastore_test_support.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using test::AllMembersUp;
using test::ReadFile;

Invocation Add(const std::string& key, int64_t e) { return {"add", key, e}; }
Invocation Read(const std::string& key) { return {"read", key, nullptr}; }

class DynastoreDbTest : public test::DynastoreNodesTest {
 protected:
  DynastoreDbTest() : DynastoreNodesTest("faultline-dsdb") {}

  DynastoreOptions Options(int n = 1) {
    DynastoreOptions o = test::LoopbackOptions();
    if (n == 3) {
      o.n = 3;
      o.r = o.w = 2;
    }
    o.start_timeout = milliseconds(10000);
    return o;
  }

  void Up(DynastoreOptions options, int count = 1) {
    MakeNodes(count);
    db_ = std::make_unique<DynastoreDb>(std::move(options));
    db_->Install(nodes_);
    for (const NodeInfo& node : nodes_) db_->Start(node);
    for (const NodeInfo& node : nodes_) db_->WaitHealthy(node, milliseconds(10000));
  }
};

TEST_F(DynastoreDbTest, InstallCopiesTheBinaryAndWritesTheClusterFile) {
  MakeNodes(2);
  DynastoreOptions o = Options();
  o.n = 2;
  o.r = 1;
  o.w = 2;
  DynastoreDb db(o);
  db.Install(nodes_);
  for (const NodeInfo& node : nodes_) {
    fs::path bin = fs::path(node.dir) / "dynastore";
    ASSERT_TRUE(fs::is_regular_file(bin));
    EXPECT_EQ(::access(bin.c_str(), X_OK), 0);
    EXPECT_EQ(fs::file_size(bin), fs::file_size(DYNASTORE_BIN));
    json cluster = json::parse(ReadFile(fs::path(node.dir) / "cluster.json"));
    EXPECT_EQ(cluster["n"], 2);
    EXPECT_EQ(cluster["r"], 1);
    EXPECT_EQ(cluster["w"], 2);
    EXPECT_EQ(cluster["partitions"], 12);
    EXPECT_EQ(cluster["heartbeat_interval_ms"], 500);
    EXPECT_EQ(cluster["failure_timeout_ms"], 2000);
    EXPECT_EQ(cluster["request_timeout_ms"], 1000);
    EXPECT_EQ(cluster["anti_entropy_interval_ms"], 2000);
    EXPECT_EQ(cluster["handoff_interval_ms"], 1000);
    ASSERT_EQ(cluster["nodes"].size(), 2u);
    EXPECT_EQ(cluster["nodes"][1], json({{"id", "n2"},
                                         {"http", "127.0.0.2:" + std::to_string(o.http_port)},
                                         {"rpc", "127.0.0.2:" + std::to_string(o.rpc_port)}}));
  }
}

TEST_F(DynastoreDbTest, InstallRejectsImpossibleQuorumsNamingTheField) {
  MakeNodes(2);
  auto expect_error = [&](DynastoreOptions o, const std::string& field) {
    DynastoreDb db(o);
    try {
      db.Install(nodes_);
      ADD_FAILURE() << "no error for " << field;
    } catch (const HarnessError& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  DynastoreOptions o = Options();
  o.n = 3;
  expect_error(o, "n=3");
  o = Options();
  o.r = 0;
  expect_error(o, "r=0");
  o = Options();
  o.w = 2;
  expect_error(o, "w=2");
  o = Options();
  o.rpc_port = o.http_port;
  expect_error(o, "rpc_port");
  o = Options();
  o.partitions = 1;
  expect_error(o, "partitions=1");
  o = Options();
  o.binary = dir_ / "no-such-binary";
  expect_error(o, "no-such-binary");
  EXPECT_FALSE(fs::exists(fs::path(nodes_[0].dir) / "dynastore"));  // validated before copying
}

TEST_F(DynastoreDbTest, KillThenRestartKeepsSyncedWrites) {
  Up(Options());
  const NodeInfo& n1 = nodes_[0];
  EXPECT_TRUE(db_->Running(n1));
  auto client = db_->NewClient(n1, ClientOptions{milliseconds(2000)});
  Completion add = client->Invoke(Add("k", 42));
  ASSERT_EQ(add.type, OpType::kOk) << add.error;

  db_->Kill(n1);
  EXPECT_FALSE(db_->Running(n1));
  Completion down = client->Invoke(Add("k", 43));
  EXPECT_EQ(down.type, OpType::kFail) << down.error;

  db_->Restart(n1);
  EXPECT_TRUE(db_->Running(n1));
  Completion read = client->Invoke(Read("k"));
  ASSERT_EQ(read.type, OpType::kOk) << read.error;
  EXPECT_EQ(read.value, json::parse("[42]"));  // acknowledged with sync on: survived SIGKILL
  EXPECT_THROW(db_->Start(n1), HarnessError);  // already running
}

TEST_F(DynastoreDbTest, PausedNodeTimesOutAndWorksAfterResume) {
  Up(Options());
  const NodeInfo& n1 = nodes_[0];
  auto client = db_->NewClient(n1, ClientOptions{milliseconds(300)});
  ASSERT_EQ(client->Invoke(Add("p", 1)).type, OpType::kOk);
  db_->Pause(n1);
  EXPECT_TRUE(db_->Running(n1));  // stopped, not gone
  // The client's deadline ended the op (the server's own would answer 503).
  Completion paused = client->Invoke(Add("p", 2));
  EXPECT_NE(paused.type, OpType::kOk);
  EXPECT_NE(paused.error.find("timeout after 300 ms"), std::string::npos) << paused.error;
  db_->Resume(n1);
  Completion resumed = client->Invoke(Add("p", 3));
  EXPECT_EQ(resumed.type, OpType::kOk) << resumed.error;
}

TEST_F(DynastoreDbTest, StopCollectLogsAndWipe) {
  Up(Options());
  const NodeInfo& n1 = nodes_[0];
  auto client = db_->NewClient(n1, ClientOptions{milliseconds(2000)});
  ASSERT_EQ(client->Invoke(Add("w", 1)).type, OpType::kOk);
  EXPECT_THROW(db_->Wipe(n1), HarnessError);  // running

  db_->Pause(n1);  // Stop must also stop a paused node
  db_->Stop(n1);
  EXPECT_FALSE(db_->Running(n1));
  std::string log = ReadFile(fs::path(n1.dir) / "dynastore.log");
  EXPECT_NE(log.find("stopped cleanly"), std::string::npos) << log;

  fs::path dest = dir_ / "run" / "nodes" / "n1";
  db_->CollectLogs(n1, dest);
  EXPECT_EQ(ReadFile(dest / "dynastore.log"), log);
  EXPECT_TRUE(fs::exists(dest / "cluster.json"));
  EXPECT_FALSE(fs::exists(dest / "dynastore.log.missing"));

  ASSERT_TRUE(fs::exists(fs::path(n1.dir) / "data"));
  db_->Wipe(n1);
  EXPECT_FALSE(fs::exists(fs::path(n1.dir) / "data"));
  db_->Restart(n1);
  Completion read = client->Invoke(Read("w"));
  ASSERT_EQ(read.type, OpType::kOk) << read.error;
  EXPECT_EQ(read.value, json::array());  // wiped
}

// The node's start-up line names the request threads it runs.
TEST_F(DynastoreDbTest, NodesGetTheThreadsAskedFor) {
  DynastoreOptions o = Options();
  o.threads = 1;
  Up(o);
  const std::string log = ReadFile(fs::path(nodes_[0].dir) / "dynastore.log");
  EXPECT_NE(log.find(" threads=1 "), std::string::npos) << log;
}

TEST_F(DynastoreDbTest, TheUsersThreadsArgumentWins) {
  DynastoreOptions o = Options();
  o.threads = 1;
  o.args = {"--threads=3"};
  Up(o);
  const std::string log = ReadFile(fs::path(nodes_[0].dir) / "dynastore.log");
  EXPECT_NE(log.find(" threads=3 "), std::string::npos) << log;
}

TEST_F(DynastoreDbTest, CollectLogsOfANodeThatNeverRanNotesTheMissingLog) {
  MakeNodes(1);
  db_ = std::make_unique<DynastoreDb>(Options());
  fs::path dest = dir_ / "run" / "nodes" / "n1";
  EXPECT_NO_THROW(db_->CollectLogs(nodes_[0], dest));
  EXPECT_FALSE(fs::exists(dest / "dynastore.log"));
  EXPECT_NE(ReadFile(dest / "dynastore.log.missing").find("dynastore.log"), std::string::npos);
}

TEST_F(DynastoreDbTest, WaitHealthyThrowsQuicklyWithTheLogTailWhenTheNodeExits) {
  MakeNodes(1);
  DynastoreOptions o = Options();
  o.args = {"--no-such-flag"};
  db_ = std::make_unique<DynastoreDb>(o);
  db_->Install(nodes_);
  db_->Start(nodes_[0]);
  // The message, not the clock, says the exit was noticed: running out the
  // 10 s deadline would throw "not healthy ... after 10000 ms" instead.
  try {
    db_->WaitHealthy(nodes_[0], milliseconds(10000));
    ADD_FAILURE() << "WaitHealthy did not throw";
  } catch (const HarnessError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("exited while starting"), std::string::npos) << what;
    EXPECT_NE(what.find("no-such-flag"), std::string::npos) << what;  // dynastore's own complaint, from the log
  }
  EXPECT_FALSE(db_->Running(nodes_[0]));
}

TEST_F(DynastoreDbTest, WaitHealthyTimesOutOnAPausedNode) {
  Up(Options());
  db_->Pause(nodes_[0]);
  auto start = Clock::now();
  EXPECT_THROW(db_->WaitHealthy(nodes_[0], milliseconds(500)), HarnessError);
  auto took = Clock::now() - start;
  EXPECT_GE(took, milliseconds(450));  // the paused node never answers: only the deadline ends the wait
  db_->Resume(nodes_[0]);
}

TEST_F(DynastoreDbTest, ThreeNodeClusterReplicates) {
  Up(Options(3), 3);
  // Each node on its own loopback address; a write through n1 is read through n3.
  auto writer = db_->NewClient(nodes_[0], ClientOptions{milliseconds(3000)});
  auto reader = db_->NewClient(nodes_[2], ClientOptions{milliseconds(3000)});
  // A node that pinged a peer before the peer listened sees it down until the
  // next heartbeat: wait until every node sees all three up.
  for (const NodeInfo& node : nodes_)
    ASSERT_TRUE(AllMembersUp(node.address, db_->options().http_port, 3, milliseconds(10000), milliseconds(1000)));
  const int64_t e = 7;
  Completion add = writer->Invoke(Add("c", e));
  ASSERT_EQ(add.type, OpType::kOk) << add.error;
  Completion read = reader->Invoke(Read("c"));
  ASSERT_EQ(read.type, OpType::kOk) << read.error;
  EXPECT_NE(std::find(read.value.begin(), read.value.end(), json(e)), read.value.end()) << read.value;
}

}  // namespace
}  // namespace faultline
