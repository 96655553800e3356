// CouchdbDb and CouchdbClient against real PouchDB Server processes (the
// ones scripts/setup installs) on a 3-node local namespace cluster:
// start-up with every pull replication proven by markers; a conflict made by
// construction (the same document written on both sides of a partition),
// which replication carries everywhere once the partition heals and the
// supervisor restarts the pulls it ended, kept as siblings that the correct
// client merges (the losers deleted, everywhere) and the careless one does
// not see; a killed server refuses (fail) and, restarted, replicates both
// ways again; a paused one makes ops fail or info, never ok; stop, wipe,
// logs. Every process and namespace is removed in TearDown.
#include "harness/stores/couchdb/couchdb_db.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/local_cluster.h"
#include "harness/nodes/local/local_environment.h"
#include "harness/stores/couchdb/couchdb_client.h"
#include "harness/stores/couchdb/couchdb_documents.h"
#include "harness/stores/daemon_table.h"
#include "testing/proc_support.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Fails the test with the fix when scripts/setup has not installed pouchdb-server.
void RequirePouchdbServer() {
  ASSERT_EQ(::access(CouchdbServerPath().c_str(), X_OK), 0)
      << "pouchdb-server is not installed at " << CouchdbServerPath() << ": run scripts/setup";
}

class CouchdbClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    RequirePouchdbServer();
    LocalClusterOptions o;
    o.nodes = 3;
    o.description = "couchdb_db_test";
    cluster_ = LocalCluster::Create(o);
    nodes_ = LocalNodeInfos(*cluster_);
    db_ = std::make_unique<CouchdbDb>(CouchdbOptions{});
    db_->Install(nodes_);
    for (const NodeInfo& n : nodes_) db_->Start(n);
    for (const NodeInfo& n : nodes_) db_->WaitHealthy(n, 60s);
    db_->WaitClusterReady(nodes_, 60s);
  }
  void TearDown() override {
    if (cluster_ == nullptr) return;
    db_.reset();  // stops the replication supervisor first
    cluster_->Destroy();
  }
  // Builds a client by hand, so the careless mode needs no second adapter.
  std::unique_ptr<Client> NewClient(size_t node, WorkloadKind kind, bool resolve = true,
                                    std::chrono::milliseconds timeout = 2000ms) {
    CouchdbClientSpec spec;
    spec.address = nodes_[node].address;
    spec.database = db_->database();
    spec.resolve_conflicts = resolve;
    for (const NodeInfo& n : nodes_) spec.members[n.name] = n.address;
    return std::make_unique<CouchdbClient>(spec, ClientOptions{timeout, kind});
  }
  CouchdbDocuments Docs(size_t node) { return CouchdbDocuments(nodes_[node].address, 5984, db_->database()); }
  // Every leaf (live and deleted) of `key` on `node`.
  std::vector<CouchdbLeaf> Leaves(size_t node, const std::string& key) {
    CouchdbReply r = Docs(node).Get(key, "open_revs=all", Clock::now() + 2s);
    EXPECT_TRUE(r.ok()) << r.error;
    std::vector<CouchdbLeaf> leaves;
    std::string error;
    EXPECT_TRUE(ParseCouchdbLeaves(r.body, &leaves, &error)) << error;
    return leaves;
  }
  // Drops all traffic between node `i` and every other node, both ways (iptables in each namespace).
  void Cut(size_t i, bool cut) {
    for (size_t j = 0; j < nodes_.size(); ++j) {
      if (j == i) continue;
      for (auto [at, from] : {std::pair{i, j}, std::pair{j, i}}) {
        RunOrThrow(RemoteOf(nodes_[at]),
                   {"iptables", cut ? "-I" : "-D", "INPUT", "-s", nodes_[from].address, "-j", "DROP"}, "iptables");
      }
    }
  }
  // Repeats `f` until it holds (replication is asynchronous); false after `limit`.
  static bool Eventually(const std::function<bool()>& f, std::chrono::seconds limit = 30s) {
    const auto until = Clock::now() + limit;
    while (Clock::now() < until) {
      if (f()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return f();
  }
  json ReadOn(size_t node, const std::string& key, WorkloadKind kind = WorkloadKind::kSet, bool resolve = true) {
    Completion c = NewClient(node, kind, resolve)->Invoke({"read", key, nullptr});
    return c.type == OpType::kOk ? c.value : json(c.error);
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::vector<NodeInfo> nodes_;
  std::unique_ptr<CouchdbDb> db_;
};

TEST_F(CouchdbClusterTest, PartitionedWritesBecomeSiblingsThatTheCorrectClientMerges) {
  for (const NodeInfo& n : nodes_) EXPECT_TRUE(db_->Running(n)) << n.name;
  EXPECT_EQ(db_->replication_jobs_started(), 6) << "a pull for every ordered pair of 3 nodes";
  auto n1 = NewClient(0, WorkloadKind::kSet);
  ASSERT_EQ(n1->Invoke({"add", "k", 1}).type, OpType::kOk);
  ASSERT_TRUE(Eventually([&] { return ReadOn(1, "k") == json({1}) && ReadOn(2, "k") == json({1}); }));

  // Both sides write the same document on the same base revision: a conflict by construction.
  Cut(0, true);
  Completion a = n1->Invoke({"add", "k", 2});
  ASSERT_EQ(a.type, OpType::kOk) << a.error;
  Completion b = NewClient(1, WorkloadKind::kSet)->Invoke({"add", "k", 3});
  ASSERT_EQ(b.type, OpType::kOk) << b.error;
  EXPECT_EQ(ReadOn(0, "k"), json({1, 2}));
  // No marker crosses the cut: the supervisor finds those pulls stale and starts them again.
  const int jobs = db_->replication_jobs_started();
  ASSERT_TRUE(Eventually([&] { return db_->replication_jobs_started() > jobs; }));
  Cut(0, false);

  // The partition ended n1's pulls and its peers' pulls from it; the supervisor restarts them.
  db_->WaitClusterReady(nodes_, 60s);
  std::optional<ReplicaRead> rr;
  ASSERT_TRUE(Eventually([&] {
    rr = n1->ReadReplicas("k");
    return rr && rr->error.empty() && rr->replicas.size() == 3 && rr->replicas["n1"].size() == 2 &&
           rr->replicas["n1"] == rr->replicas["n2"] && rr->replicas["n2"] == rr->replicas["n3"];
  })) << (rr ? json(rr->replicas).dump() + rr->error : "no replica read");
  // The same winner and one conflict on every node: siblings, as Dynamo keeps them.
  EXPECT_EQ(rr->replicas["n3"][0].get<std::string>().substr(0, 9), "conflict ") << json(rr->replicas).dump();
  EXPECT_EQ(rr->replicas["n3"][1].get<std::string>().substr(0, 7), "winner ") << json(rr->replicas).dump();

  // The correct client reads both siblings; the careless one only the winner's side.
  EXPECT_EQ(ReadOn(2, "k"), json({1, 2, 3}));
  const json careless = ReadOn(2, "k", WorkloadKind::kSet, false);
  EXPECT_TRUE(careless == json({1, 2}) || careless == json({1, 3})) << careless;

  // An add writes the siblings' union on the winner, then deletes the loser.
  Completion merge = NewClient(2, WorkloadKind::kSet)->Invoke({"add", "k", 4});
  ASSERT_EQ(merge.type, OpType::kOk) << merge.error;
  const std::vector<CouchdbLeaf> leaves = Leaves(2, "k");
  const std::vector<CouchdbLeaf> live = CouchdbLiveLeaves(leaves);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].doc["elements"], json({1, 2, 3, 4}));
  EXPECT_EQ(leaves.size(), 2u) << "the loser remains as a deleted leaf";
  // The merge replicates: every node ends with the one winner and no conflict.
  ASSERT_TRUE(Eventually([&] {
    rr = n1->ReadReplicas("k");
    return rr && rr->error.empty() && rr->replicas["n1"] == json({"winner " + live[0].rev}) &&
           rr->replicas["n2"] == rr->replicas["n1"] && rr->replicas["n3"] == rr->replicas["n1"];
  })) << (rr ? json(rr->replicas).dump() : "");
  EXPECT_EQ(ReadOn(0, "k", WorkloadKind::kSet, false), json({1, 2, 3, 4}));
}

TEST_F(CouchdbClusterTest, RegisterSiblingsAreEveryRevisionsValueAndTheCarelessWriteKeepsThem) {
  auto reg = NewClient(0, WorkloadKind::kRegister);
  Completion first = reg->Invoke({"rmw", "r", json{{"write", 1}}});
  ASSERT_EQ(first.type, OpType::kOk) << first.error;
  EXPECT_EQ(first.value, (json{{"read", json::array()}, {"write", 1}}));
  ASSERT_TRUE(Eventually([&] { return ReadOn(1, "r", WorkloadKind::kRegister) == json({1}); }));
  Cut(0, true);
  ASSERT_EQ(reg->Invoke({"rmw", "r", json{{"write", 2}}}).type, OpType::kOk);
  ASSERT_EQ(NewClient(1, WorkloadKind::kRegister)->Invoke({"rmw", "r", json{{"write", 3}}}).type, OpType::kOk);
  Cut(0, false);
  db_->WaitClusterReady(nodes_, 60s);
  ASSERT_TRUE(Eventually([&] {
    return ReadOn(2, "r", WorkloadKind::kRegister) == json({2, 3});
  })) << ReadOn(2, "r", WorkloadKind::kRegister);
  // The careless client reads one value and writes over the winner only: the conflict stays.
  Completion careless = NewClient(2, WorkloadKind::kRegister, false)->Invoke({"rmw", "r", json{{"write", 4}}});
  ASSERT_EQ(careless.type, OpType::kOk) << careless.error;
  EXPECT_EQ(careless.value["read"].size(), 1u) << careless.value;
  EXPECT_EQ(CouchdbLiveLeaves(Leaves(2, "r")).size(), 2u);
  // The correct client sees both, and its write replaces them all.
  Completion merged = NewClient(2, WorkloadKind::kRegister)->Invoke({"rmw", "r", json{{"write", 5}}});
  ASSERT_EQ(merged.type, OpType::kOk) << merged.error;
  EXPECT_EQ(merged.value["read"].size(), 2u) << merged.value;
  EXPECT_EQ(ReadOn(2, "r", WorkloadKind::kRegister), json({5}));
  // Ops the client does not map are fails naming the op; counter is refused outright.
  EXPECT_EQ(reg->Invoke({"add", "r", 1}).type, OpType::kFail);
  EXPECT_EQ(reg->Invoke({"rmw", "r", 1}).type, OpType::kFail);
  EXPECT_THROW(NewClient(0, WorkloadKind::kCounter), HarnessError);
  // A document faultline did not write is a fail naming it, never a crash.
  ASSERT_TRUE(Docs(0).Put("odd", {{"elements", "x"}}, Clock::now() + 2s).ok());
  Completion odd = NewClient(0, WorkloadKind::kSet)->Invoke({"add", "odd", 1});
  EXPECT_EQ(odd.type, OpType::kFail);
  EXPECT_NE(odd.error.find("not a set document"), std::string::npos) << odd.error;
}

TEST_F(CouchdbClusterTest, KilledServerRefusesAndRestartedReplicatesBothWays) {
  const int jobs = db_->replication_jobs_started();
  db_->Kill(nodes_[2]);
  EXPECT_FALSE(db_->Running(nodes_[2]));
  Completion refused = NewClient(2, WorkloadKind::kSet)->Invoke({"add", "k", 9});
  EXPECT_EQ(refused.type, OpType::kFail) << refused.error;
  EXPECT_NE(refused.error.find("connection refused"), std::string::npos) << refused.error;
  ASSERT_EQ(NewClient(0, WorkloadKind::kSet)->Invoke({"add", "k", 7}).type, OpType::kOk);

  db_->Restart(nodes_[2]);
  EXPECT_TRUE(db_->Running(nodes_[2]));
  EXPECT_GE(db_->replication_jobs_started(), jobs + 4) << "its own 2 pulls and its 2 peers' pulls from it";
  // Its data survived (LevelDB in its data directory); it pulls what it missed, and its peers pull from it.
  ASSERT_TRUE(Eventually([&] { return ReadOn(2, "k") == json({7}); })) << ReadOn(2, "k");
  ASSERT_EQ(NewClient(2, WorkloadKind::kSet)->Invoke({"add", "k", 8}).type, OpType::kOk);
  ASSERT_TRUE(Eventually([&] {
    return ReadOn(0, "k") == json({7, 8}) && ReadOn(1, "k") == json({7, 8});
  })) << ReadOn(0, "k");

  // A paused server answers nothing: never ok.
  db_->Pause(nodes_[1]);
  EXPECT_TRUE(db_->Paused(nodes_[1]));
  Completion paused = NewClient(1, WorkloadKind::kSet, true, 500ms)->Invoke({"add", "k", 10});
  EXPECT_NE(paused.type, OpType::kOk) << paused.error;
  db_->Resume(nodes_[1]);
  db_->WaitClusterReady(nodes_, 60s);

  // Logs, stop and wipe.
  const fs::path dest = fs::path(cluster_->node_dir(0)) / "collected";
  db_->CollectLogs(nodes_[0], dest);
  EXPECT_NE(test::ReadFile(dest / "couchdb.log").find("pouchdb-server has started"), std::string::npos);
  EXPECT_NE(test::ReadFile(dest / "pouchdb-server.log").find("_replicate"), std::string::npos);
  EXPECT_THROW(db_->Wipe(nodes_[0]), HarnessError);  // running
  db_->Stop(nodes_[0]);
  EXPECT_FALSE(db_->Running(nodes_[0]));
  ASSERT_TRUE(fs::exists(fs::path(nodes_[0].dir) / "couchdb.data" / db_->database()));
  db_->Wipe(nodes_[0]);
  EXPECT_FALSE(fs::exists(fs::path(nodes_[0].dir) / "couchdb.data"));
}

TEST(CouchdbInstallTest, AMissingServerIsNamedWithTheFix) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  LocalClusterOptions o;
  o.nodes = 1;
  o.description = "couchdb_db_test_install";
  auto cluster = LocalCluster::Create(o);
  CouchdbConfig c;
  c.binary = "/nonexistent/pouchdb-server";
  CouchdbDb db{CouchdbOptions(c)};
  try {
    db.Install(LocalNodeInfos(*cluster));
    ADD_FAILURE() << "Install accepted a missing server";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("run scripts/setup"), std::string::npos) << e.what();
  }
  cluster->Destroy();
}

}  // namespace
}  // namespace faultline
