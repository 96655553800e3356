// EtcdDb and EtcdClient against real etcd members (Debian's etcd-server) on
// a 3-node local namespace cluster: start-up with one leader, every
// workload's mapping (missing keys, a failed txn, bad input), replica reads,
// and the lifecycle (kill → refused ops are fails; restart rejoins the
// cluster from the data directory; a paused majority turns a write into
// info and a linearizable read into a fail while a serializable read still
// answers; a restart without quorum returns once the member listens; stop
// and wipe). Every process and namespace is removed in TearDown.
#include "harness/stores/etcd/etcd_db.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/local_cluster.h"
#include "harness/nodes/local/local_environment.h"
#include "harness/stores/etcd/etcd_client.h"
#include "harness/stores/etcd/etcd_gateway.h"
#include "testing/proc_support.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class EtcdClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    LocalClusterOptions o;
    o.nodes = 3;
    o.description = "etcd_db_test";
    cluster_ = LocalCluster::Create(o);
    nodes_ = LocalNodeInfos(*cluster_);
    db_ = std::make_unique<EtcdDb>(EtcdOptions{});
    db_->Install(nodes_);
    for (const NodeInfo& n : nodes_) db_->Start(n);
    for (const NodeInfo& n : nodes_) db_->WaitHealthy(n, 60s);
    db_->WaitClusterReady(nodes_, 60s);
  }
  void TearDown() override {
    if (cluster_ == nullptr) return;
    for (const NodeInfo& n : nodes_) {
      try {
        db_->Resume(n);
        db_->Stop(n);
      } catch (const std::exception&) {
      }
    }
    cluster_->Destroy();
  }
  std::unique_ptr<Client> NewClient(size_t node, WorkloadKind kind, bool serializable = false,
                                    std::chrono::milliseconds timeout = 2000ms) {
    EtcdConfig c;
    c.serializable_reads = serializable;
    std::map<std::string, std::string> members;
    for (const NodeInfo& n : nodes_) members[n.name] = n.address;
    return std::make_unique<EtcdClient>(nodes_[node].address, c, ClientOptions{timeout, kind}, members);
  }
  // Repeats op until it is ok (a member that just rejoined may not serve yet).
  Completion UntilOk(Client& client, const Invocation& op, std::chrono::seconds limit = 30s) {
    const auto until = Clock::now() + limit;
    Completion c;
    do {
      c = client.Invoke(op);
      if (c.type == OpType::kOk) break;
      std::this_thread::sleep_for(100ms);
    } while (Clock::now() < until);
    return c;
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::vector<NodeInfo> nodes_;
  std::unique_ptr<EtcdDb> db_;
};

TEST_F(EtcdClusterTest, StartsEveryMemberOfOneNewCluster) {
  for (const NodeInfo& n : nodes_) {
    EXPECT_TRUE(db_->Running(n)) << n.name;
    EXPECT_FALSE(db_->Paused(n)) << n.name;
  }
  const std::vector<std::string> argv = db_->CommandLine(nodes_[1], false);
  const std::string line = fmt::format("{}", fmt::join(argv, " "));
  EXPECT_NE(line.find("--name n2 "), std::string::npos) << line;
  EXPECT_NE(line.find("--initial-cluster n1=http://" + nodes_[0].address + ":2380,n2=http://" + nodes_[1].address +
                      ":2380,n3=http://" + nodes_[2].address + ":2380 "),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("--initial-cluster-state new"), std::string::npos) << line;
  EXPECT_NE(
      fmt::format("{}", fmt::join(db_->CommandLine(nodes_[1], true), " ")).find("--initial-cluster-state existing"),
      std::string::npos);
  // The member logs where CollectLogs finds them.
  const fs::path dest = fs::path(cluster_->node_dir(0)) / "collected";
  db_->CollectLogs(nodes_[0], dest);
  EXPECT_NE(test::ReadFile(dest / "etcd.log").find("\"msg\""), std::string::npos);
}

TEST_F(EtcdClusterTest, CasRegisterMapping) {
  auto cas = NewClient(0, WorkloadKind::kCasRegister);
  Completion absent = cas->Invoke({"read", "x1", nullptr});
  ASSERT_EQ(absent.type, OpType::kOk) << absent.error;
  EXPECT_TRUE(absent.value.is_null());
  Completion on_absent = cas->Invoke({"cas", "x1", {0, 1}});
  EXPECT_EQ(on_absent.type, OpType::kFail) << "an absent register does not hold 0";
  EXPECT_EQ(on_absent.error, "x1 does not hold 0");
  ASSERT_EQ(cas->Invoke({"write", "x1", 3}).type, OpType::kOk);
  EXPECT_EQ(cas->Invoke({"read", "x1", nullptr}).value, 3);
  Completion refused = cas->Invoke({"cas", "x1", {2, 4}});
  EXPECT_EQ(refused.type, OpType::kFail);
  EXPECT_EQ(refused.value, json({2, 4}));
  EXPECT_EQ(refused.error, "x1 does not hold 2");
  Completion applied = cas->Invoke({"cas", "x1", {3, 4}});
  EXPECT_EQ(applied.type, OpType::kOk) << applied.error;
  EXPECT_EQ(applied.value, json({3, 4}));
  // Another member, linearizable or serializable, reads what was acknowledged
  // (serializable: once its member has applied it).
  EXPECT_EQ(NewClient(1, WorkloadKind::kCasRegister)->Invoke({"read", "x1", nullptr}).value, 4);
  auto serializable = NewClient(2, WorkloadKind::kCasRegister, true);
  Completion s;
  for (int i = 0; i < 50; ++i) {
    s = serializable->Invoke({"read", "x1", nullptr});
    if (s.value == 4) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(s.value, 4) << s.error;
  // Bad input is a fail naming what is wrong.
  Completion bad = cas->Invoke({"cas", "x1", 4});
  EXPECT_EQ(bad.type, OpType::kFail);
  EXPECT_NE(bad.error.find("[old, new]"), std::string::npos) << bad.error;
  EXPECT_EQ(cas->Invoke({"rmw", "x1", 4}).type, OpType::kFail);
  // A value faultline did not write is shown as the text it is.
  EtcdGateway gateway(nodes_[0].address, 2379);
  ASSERT_TRUE(gateway.Put("x2", "not json", Clock::now() + 2s).ok());
  EXPECT_EQ(cas->Invoke({"read", "x2", nullptr}).value, "not json");
}

TEST_F(EtcdClusterTest, SetRegisterAndCounterMappingAndReplicaReads) {
  auto set = NewClient(0, WorkloadKind::kSet);
  for (int e : {5, 1, 12}) ASSERT_EQ(set->Invoke({"add", "k1", e}).type, OpType::kOk);
  ASSERT_EQ(set->Invoke({"add", "k10", 99}).type, OpType::kOk);  // another set: a prefix of k1's keys is k1/
  EXPECT_EQ(set->Invoke({"read", "k1", nullptr}).value, json({1, 5, 12}));
  EXPECT_EQ(set->Invoke({"read", "k2", nullptr}).value, json::array());
  EXPECT_EQ(set->Invoke({"add", "k1", "x"}).type, OpType::kFail);

  // Replica reads: each member's own state, by value and revision; equal once every member applied the adds.
  std::optional<ReplicaRead> rr;
  for (int i = 0; i < 50; ++i) {
    rr = set->ReadReplicas("k1");
    if (rr && rr->error.empty() && rr->replicas.size() == 3 && rr->replicas["n1"] == rr->replicas["n2"] &&
        rr->replicas["n2"] == rr->replicas["n3"]) {
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->error, "");
  ASSERT_EQ(rr->replicas.size(), 3u);
  // value@mod_revision: a fresh cluster's first put is revision 2.
  EXPECT_EQ(rr->replicas["n1"], json({"12@4", "1@3", "5@2"}));
  EXPECT_EQ(rr->replicas["n1"], rr->replicas["n3"]);

  auto reg = NewClient(1, WorkloadKind::kRegister);
  Completion a = reg->Invoke({"rmw", "r1", json{{"write", 1}}});
  ASSERT_EQ(a.type, OpType::kOk) << a.error;
  EXPECT_EQ(a.value, (json{{"read", json::array()}, {"write", 1}}));
  Completion b = reg->Invoke({"rmw", "r1", json{{"write", 2}}});
  ASSERT_EQ(b.type, OpType::kOk) << b.error;
  EXPECT_EQ(b.value, (json{{"read", {1}}, {"write", 2}}));
  EXPECT_EQ(reg->Invoke({"read", "r1", nullptr}).value, json::array({2}));
  EXPECT_EQ(reg->Invoke({"read", "missing", nullptr}).value, json::array());
  EXPECT_EQ(reg->Invoke({"rmw", "r1", json{{"nope", 1}}}).type, OpType::kFail);

  auto counter = NewClient(2, WorkloadKind::kCounter);
  ASSERT_EQ(counter->Invoke({"add", "c1", 10}).type, OpType::kOk);
  ASSERT_EQ(counter->Invoke({"add", "c1", -3}).type, OpType::kOk);
  EXPECT_EQ(counter->Invoke({"read", "c1", nullptr}).value, 7);
  EXPECT_EQ(counter->Invoke({"read", "c2", nullptr}).value, 0);
  // A key holding something else is a fail naming it, not a crash.
  Completion wrong = counter->Invoke({"read", "r1/x", nullptr});
  EXPECT_EQ(wrong.type, OpType::kOk);
  EtcdGateway gateway(nodes_[2].address, 2379);
  ASSERT_TRUE(gateway.Put("c3", "seven", Clock::now() + 2s).ok());
  wrong = counter->Invoke({"add", "c3", 1});
  EXPECT_EQ(wrong.type, OpType::kFail);
  EXPECT_NE(wrong.error.find("not an integer"), std::string::npos) << wrong.error;
}

TEST_F(EtcdClusterTest, RequestsEtcdRejectsAreFailsNamingWhy) {
  EtcdGateway gateway(nodes_[0].address, 2379);
  EtcdReply r = gateway.Put("", "v", Clock::now() + 2s);  // etcd: "key is not provided" (InvalidArgument)
  EXPECT_EQ(r.status, EtcdReply::Status::kFailed);
  EXPECT_NE(r.error.find("key is not provided"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.substr(0, 4), "400 ") << r.error;
  // The raw gateway on bad base64: 400 with code 3, which the gateway reads as "not applied".
  HttpConnection raw(nodes_[0].address, 2379);
  HttpResult bad = raw.Request("POST", "/v3/kv/put", R"({"key":"!!","value":"MQ=="})", Clock::now() + 2s);
  ASSERT_TRUE(bad.ok()) << bad.error;
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("\"code\":3"), std::string::npos) << bad.body;
  // A txn whose compare fails: no "succeeded", nothing written.
  EtcdReply txn = gateway.Txn({EtcdCompare::Target::kValue, "t", "old", 0}, "t", "new", Clock::now() + 2s);
  ASSERT_TRUE(txn.ok()) << txn.error;
  EXPECT_FALSE(txn.succeeded);
  EtcdReply range = gateway.Range("t", "", false, Clock::now() + 2s);
  ASSERT_TRUE(range.ok()) << range.error;
  EXPECT_TRUE(range.kvs.empty());
}

TEST_F(EtcdClusterTest, KilledMemberRefusesThenRejoinsFromItsDataDirectory) {
  auto writer = NewClient(0, WorkloadKind::kCasRegister);
  ASSERT_EQ(writer->Invoke({"write", "x", 1}).type, OpType::kOk);
  db_->Kill(nodes_[2]);
  EXPECT_FALSE(db_->Running(nodes_[2]));
  // Nothing listens: nothing was sent, so a write is a fail, not info.
  auto on_dead = NewClient(2, WorkloadKind::kCasRegister);
  Completion w = on_dead->Invoke({"write", "x", 9});
  EXPECT_EQ(w.type, OpType::kFail) << w.error;
  EXPECT_NE(w.error.find("connection refused"), std::string::npos) << w.error;
  EXPECT_EQ(on_dead->Invoke({"read", "x", nullptr}).type, OpType::kFail);
  // Two of three members are a quorum.
  ASSERT_EQ(UntilOk(*writer, {"write", "x", 2}).type, OpType::kOk);

  db_->Restart(nodes_[2]);
  EXPECT_TRUE(db_->Running(nodes_[2]));
  EXPECT_NE(test::ReadFile(fs::path(nodes_[2].dir) / "etcd.log").find("existing"), std::string::npos);
  // Rejoined the same cluster: a linearizable read on it sees the write it missed.
  Completion r = UntilOk(*on_dead, {"read", "x", nullptr});
  ASSERT_EQ(r.type, OpType::kOk) << r.error;
  EXPECT_EQ(r.value, 2);
  db_->WaitHealthy(nodes_[2], 30s);
}

TEST_F(EtcdClusterTest, PausedMajorityMakesWritesInfoAndLinearizableReadsFail) {
  auto writer = NewClient(2, WorkloadKind::kCasRegister, false, 1500ms);
  ASSERT_EQ(writer->Invoke({"write", "x", 1}).type, OpType::kOk);
  auto serializable = NewClient(2, WorkloadKind::kCasRegister, true, 1500ms);
  ASSERT_EQ(UntilOk(*serializable, {"read", "x", nullptr}).value, 1);
  db_->Pause(nodes_[0]);
  db_->Pause(nodes_[1]);
  EXPECT_TRUE(db_->Paused(nodes_[0]));
  // No quorum: the write is sent but cannot commit before the deadline, and may commit later.
  Completion w = writer->Invoke({"write", "x", 2});
  EXPECT_EQ(w.type, OpType::kInfo) << w.error;
  Completion lr = writer->Invoke({"read", "x", nullptr});
  EXPECT_EQ(lr.type, OpType::kFail) << lr.error;
  // The minority answers a serializable read from its own state at once.
  Completion sr = serializable->Invoke({"read", "x", nullptr});
  EXPECT_EQ(sr.type, OpType::kOk) << sr.error;
  EXPECT_EQ(sr.value, 1);
  db_->Resume(nodes_[0]);
  db_->Resume(nodes_[1]);
  EXPECT_EQ(UntilOk(*writer, {"write", "x", 3}).type, OpType::kOk);
}

TEST_F(EtcdClusterTest, RestartWithoutQuorumReturnsOnceListening) {
  for (const NodeInfo& n : nodes_) db_->Kill(n);
  // Alone it cannot serve (no quorum), but Restart returns: it listens.
  db_->Restart(nodes_[0]);
  EXPECT_TRUE(db_->Running(nodes_[0]));
  auto client = NewClient(0, WorkloadKind::kCasRegister, false, 500ms);
  EXPECT_NE(client->Invoke({"read", "x", nullptr}).type, OpType::kOk);
  db_->Restart(nodes_[1]);
  db_->Restart(nodes_[2]);
  for (const NodeInfo& n : nodes_) db_->WaitHealthy(n, 60s);
  db_->WaitClusterReady(nodes_, 60s);
  EXPECT_EQ(UntilOk(*client, {"write", "x", 1}).type, OpType::kOk);
}

TEST_F(EtcdClusterTest, StopAndWipe) {
  EXPECT_THROW(db_->Wipe(nodes_[0]), HarnessError);  // running
  db_->Stop(nodes_[0]);
  EXPECT_FALSE(db_->Running(nodes_[0]));
  ASSERT_TRUE(fs::exists(fs::path(nodes_[0].dir) / "etcd.data" / "member"));
  db_->Wipe(nodes_[0]);
  EXPECT_FALSE(fs::exists(fs::path(nodes_[0].dir) / "etcd.data"));
}

TEST(EtcdInstallTest, AMissingBinaryIsNamedWithTheFix) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  LocalClusterOptions o;
  o.nodes = 1;
  o.description = "etcd_db_test_install";
  auto cluster = LocalCluster::Create(o);
  const std::vector<NodeInfo> nodes = LocalNodeInfos(*cluster);
  EtcdConfig c;
  c.binary = "/nonexistent/etcd";
  EtcdDb db{EtcdOptions(c)};
  try {
    db.Install(nodes);
    ADD_FAILURE() << "Install accepted a missing binary";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("install etcd-server"), std::string::npos) << e.what();
  }
  cluster->Destroy();
}

}  // namespace
}  // namespace faultline
