// RedisClusterClient and RedisClusterDb against real redis-server processes:
// key slots compared with CLUSTER KEYSLOT on a live server (loopback, a free
// port), and a 6-node cluster (3 masters, 1 replica each) on local
// namespace nodes where a master is killed and the client must follow the
// failover (refused connection → refresh; MOVED from the old master once it
// is back as a replica). Every process and namespace is removed in TearDown.
#include "harness/stores/redis/redis_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/local_cluster.h"
#include "harness/nodes/local/local_environment.h"
#include "harness/nodes/local/local_remote.h"
#include "harness/stores/redis/redis_connection.h"
#include "harness/stores/redis/redis_db.h"
#include "testing/proc_support.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Whether nothing listens on 127.0.0.1:port (a bind succeeds).
bool PortFree(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return free;
}

// A port for a cluster-enabled redis-server: at most 55535 (its cluster bus
// is port + 10000, which must exist and be free too). An ephemeral port from
// bind(0) is above 55535 a quarter of the time, and redis then refuses to start.
int FreeClusterPort() {
  std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = 20000 + static_cast<int>(rng() % 35000);
    if (PortFree(port) && PortFree(port + 10000)) return port;
  }
  throw std::runtime_error("no free port pair (p, p + 10000) below 55536");
}

TEST(RedisKeySlotTest, KnownValues) {
  EXPECT_EQ(RedisKeySlot("foo"), 12182);
  EXPECT_EQ(RedisKeySlot("123456789"), 0x31C3 % kRedisSlots);  // the CRC16/XMODEM check value
  EXPECT_EQ(RedisKeySlot("{user1000}.following"), RedisKeySlot("user1000"));
  EXPECT_EQ(RedisKeySlot("foo{}{bar}"), RedisKeySlot("foo{}{bar}"));  // empty tag: whole key
  EXPECT_NE(RedisKeySlot("foo{}{bar}"), RedisKeySlot("bar"));
}

TEST(RedisKeySlotTest, MatchesClusterKeyslotOnALiveServer) {
  test::TempDir dir("faultline-redis-slot");
  const int port = FreeClusterPort();
  LocalRemote host("host", "");
  const int pid =
      host.StartDaemon({"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--cluster-enabled",
                        "yes", "--cluster-config-file", (dir.path() / "nodes.conf").string(), "--dir",
                        dir.path().string(), "--save", "", "--daemonize", "no"},
                       (dir.path() / "redis.log").string());
  struct Killer {
    LocalRemote& r;
    int pid;
    ~Killer() {
      r.Signal(pid, SIGKILL);
      for (int i = 0; i < 200 && r.Alive(pid); ++i) std::this_thread::sleep_for(10ms);
    }
  } killer{host, pid};
  RedisConnection conn("127.0.0.1", port);
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = conn.Command({"PING"}, Clock::now() + 500ms).ok();
    if (!up) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(up) << "redis-server did not start on port " << port << ":\n" << test::ReadFile(dir.path() / "redis.log");
  std::vector<std::string> keys = {"",
                                   "k1",
                                   "k2",
                                   "k5",
                                   "k100000",
                                   "{a}b",
                                   "a{b}c",
                                   "{}x",
                                   "x{}",
                                   "{{a}}",
                                   "\xff\xfe binary",
                                   "user:1000",
                                   std::string(300, 'z')};
  for (int i = 0; i < 200; ++i) keys.push_back("key-" + std::to_string(i * 7919));
  std::vector<std::vector<std::string>> commands;
  for (const auto& k : keys) commands.push_back({"CLUSTER", "KEYSLOT", k});
  RedisResult r = conn.Pipeline(commands, Clock::now() + 5s);
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.replies.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_EQ(r.replies[i].type, RedisValue::Type::kInteger) << r.replies[i].Describe();
    EXPECT_EQ(RedisKeySlot(keys[i]), r.replies[i].integer) << "key " << keys[i];
  }
}

TEST(RedisSlotsParseTest, RejectsMalformedReplies) {
  std::string error;
  RedisValue notarray;
  notarray.type = RedisValue::Type::kError;
  notarray.str = "ERR This instance has cluster support disabled";
  EXPECT_FALSE(ParseClusterSlots(notarray, "10.0.0.2", &error).has_value());
  EXPECT_NE(error.find("cluster support disabled"), std::string::npos);

  RedisValue node;
  node.type = RedisValue::Type::kArray;
  node.elements.resize(2);
  node.elements[0].type = RedisValue::Type::kString;  // "" → the queried address
  node.elements[1].type = RedisValue::Type::kInteger;
  node.elements[1].integer = 7000;
  RedisValue entry;
  entry.type = RedisValue::Type::kArray;
  entry.elements.resize(2);
  entry.elements[0].type = entry.elements[1].type = RedisValue::Type::kInteger;
  entry.elements[0].integer = 0;
  entry.elements[1].integer = 16383;
  entry.elements.push_back(node);
  RedisValue reply;
  reply.type = RedisValue::Type::kArray;
  reply.elements.push_back(entry);
  auto ranges = ParseClusterSlots(reply, "10.0.0.2", &error);
  ASSERT_TRUE(ranges.has_value()) << error;
  EXPECT_EQ((*ranges)[0].master, "10.0.0.2:7000");

  reply.elements[0].elements[1].integer = 20000;  // slot out of range
  EXPECT_FALSE(ParseClusterSlots(reply, "10.0.0.2", &error).has_value());
}

class RedisClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    LocalClusterOptions o;
    o.nodes = 6;
    o.description = "redis_client_test";
    cluster_ = LocalCluster::Create(o);
    nodes_ = LocalNodeInfos(*cluster_);
    RedisClusterOptions ro;
    ro.replicas_per_master = 1;
    ro.node_timeout_ms = 1000;
    db_ = std::make_unique<RedisClusterDb>(ro);
    db_->Install(nodes_);
    for (const NodeInfo& n : nodes_) db_->Start(n);
    for (const NodeInfo& n : nodes_) db_->WaitHealthy(n, 30s);
  }
  void TearDown() override {
    if (cluster_ == nullptr) return;
    for (const NodeInfo& n : nodes_) {
      try {
        db_->Stop(n);
      } catch (const std::exception&) {
      }
    }
    cluster_->Destroy();
  }
  const NodeInfo& NodeAt(const std::string& endpoint) {
    for (const NodeInfo& n : nodes_) {
      if (endpoint == n.address + ":6379") return n;
    }
    throw std::runtime_error("no node at " + endpoint);
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::vector<NodeInfo> nodes_;
  std::unique_ptr<RedisClusterDb> db_;
};

TEST_F(RedisClusterTest, RoutingFollowsAFailover) {
  EXPECT_NE(db_->create_output().find("All 16384 slots covered"), std::string::npos) << db_->create_output();
  ClientOptions co{1000ms, WorkloadKind::kSet};
  auto client = db_->NewClient(nodes_[0], co);
  auto stale = db_->NewClient(nodes_[1], co);  // keeps the pre-failover map
  auto* rc = dynamic_cast<RedisClusterClient*>(client.get());
  auto* stale_rc = dynamic_cast<RedisClusterClient*>(stale.get());
  ASSERT_NE(rc, nullptr);
  // Keys spread over the masters: each client's ops go where the slot lives.
  for (int i = 0; i < 30; ++i) {
    Completion c = client->Invoke({"add", "k" + std::to_string(i % 5 + 1), i});
    ASSERT_EQ(c.type, OpType::kOk) << c.error;
  }
  ASSERT_EQ(stale->Invoke({"add", "k1", 1000}).type, OpType::kOk);
  const std::string old_master = rc->MasterFor("k1");
  ASSERT_FALSE(old_master.empty());
  EXPECT_EQ(stale_rc->MasterFor("k1"), old_master);

  // The replicas of k1's slot hold what the master acknowledged, read with READONLY.
  std::optional<ReplicaRead> rr;
  for (int i = 0; i < 50; ++i) {
    rr = client->ReadReplicas("k1");
    if (rr && rr->error.empty() && rr->replicas.size() == 2 &&
        rr->replicas.begin()->second == std::next(rr->replicas.begin())->second) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->error, "");
  ASSERT_EQ(rr->replicas.size(), 2u);
  EXPECT_TRUE(rr->replicas.count(NodeAt(old_master).name));
  EXPECT_EQ(rr->replicas.begin()->second, std::next(rr->replicas.begin())->second);
  EXPECT_TRUE(rr->replicas.begin()->second[0].is_array());

  db_->Kill(NodeAt(old_master));
  // The replica takes over after the node timeout; adds fail (never info:
  // refused connections sent nothing) until then, then succeed.
  const auto until = Clock::now() + 20s;
  Completion c;
  int element = 100;
  while (Clock::now() < until) {
    c = client->Invoke({"add", "k1", element++});
    EXPECT_NE(c.type, OpType::kInfo) << c.error;
    if (c.type == OpType::kOk) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(c.type, OpType::kOk) << "no failover within 20 s: " << c.error;
  const std::string new_master = rc->MasterFor("k1");
  EXPECT_NE(new_master, old_master);
  EXPECT_GT(rc->refreshes(), 1);
  // Not settled while a node is down, and the error names it.
  try {
    db_->WaitClusterReady(nodes_, 300ms);
    ADD_FAILURE() << "ready with " << NodeAt(old_master).name << " killed";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find(NodeAt(old_master).name + ": "), std::string::npos) << e.what();
  }

  // The old master comes back as a replica: a client still routing to it is
  // told MOVED and follows.
  db_->Restart(NodeAt(old_master));
  c = stale->Invoke({"add", "k1", 5000});
  ASSERT_EQ(c.type, OpType::kOk) << c.error;
  EXPECT_EQ(stale_rc->MasterFor("k1"), new_master);
  EXPECT_GE(stale_rc->redirects() + stale_rc->refreshes(), 2);
  // Settled again: every node serves every key at once (what the final reads rely on).
  db_->WaitClusterReady(nodes_, 30s);
  for (const NodeInfo& n : nodes_) {
    auto reader = db_->NewClient(n, co);
    for (int k = 1; k <= 5; ++k) {
      const Completion r = reader->Invoke({"read", "k" + std::to_string(k), nullptr});
      EXPECT_EQ(r.type, OpType::kOk) << n.name << " k" << k << ": " << r.error;
    }
  }

  Completion read = client->Invoke({"read", "k1", nullptr});
  ASSERT_EQ(read.type, OpType::kOk) << read.error;
  EXPECT_TRUE(std::find(read.value.begin(), read.value.end(), json(5000)) != read.value.end()) << read.value;
  EXPECT_TRUE(std::is_sorted(read.value.begin(), read.value.end()));
}

// One cluster for the register, counter and cas-register mappings (a cluster takes seconds to create).
TEST_F(RedisClusterTest, RegisterCounterAndCasRegisterMapping) {
  auto reg = db_->NewClient(nodes_[2], ClientOptions{1000ms, WorkloadKind::kRegister});
  Completion a = reg->Invoke({"rmw", "r1", json{{"write", 1}}});
  ASSERT_EQ(a.type, OpType::kOk) << a.error;
  EXPECT_EQ(a.value, (json{{"read", json::array()}, {"write", 1}}));
  Completion b = reg->Invoke({"rmw", "r1", json{{"write", 2}}});
  EXPECT_EQ(b.value, (json{{"read", {1}}, {"write", 2}}));
  EXPECT_EQ(reg->Invoke({"read", "r1", nullptr}).value, json::array({2}));
  EXPECT_EQ(reg->Invoke({"read", "missing", nullptr}).value, json::array());
  EXPECT_EQ(reg->Invoke({"rmw", "r1", json{{"nope", 1}}}).type, OpType::kFail);

  auto counter = db_->NewClient(nodes_[3], ClientOptions{1000ms, WorkloadKind::kCounter});
  ASSERT_EQ(counter->Invoke({"add", "c1", 10}).type, OpType::kOk);
  ASSERT_EQ(counter->Invoke({"add", "c1", -3}).type, OpType::kOk);
  EXPECT_EQ(counter->Invoke({"read", "c1", nullptr}).value, 7);
  EXPECT_EQ(counter->Invoke({"read", "c2", nullptr}).value, 0);
  // A register key read by the counter client is not an integer counter: a fail, not a crash.
  ASSERT_EQ(reg->Invoke({"rmw", "c3", json{{"write", 9}}}).type, OpType::kOk);
  auto set = db_->NewClient(nodes_[4], ClientOptions{1000ms, WorkloadKind::kSet});
  Completion wrong = set->Invoke({"read", "c3", nullptr});
  EXPECT_EQ(wrong.type, OpType::kFail);
  EXPECT_NE(wrong.error.find("WRONGTYPE"), std::string::npos) << wrong.error;

  // cas-register: GET/SET of the value's JSON text, cas by a Lua script on the key's master.
  auto cas = db_->NewClient(nodes_[5], ClientOptions{1000ms, WorkloadKind::kCasRegister});
  Completion absent = cas->Invoke({"read", "x1", nullptr});
  ASSERT_EQ(absent.type, OpType::kOk) << absent.error;
  EXPECT_TRUE(absent.value.is_null());
  Completion on_absent = cas->Invoke({"cas", "x1", {0, 1}});
  EXPECT_EQ(on_absent.type, OpType::kFail) << "an absent register does not hold 0";
  ASSERT_EQ(cas->Invoke({"write", "x1", 3}).type, OpType::kOk);
  EXPECT_EQ(cas->Invoke({"read", "x1", nullptr}).value, 3);
  Completion refused = cas->Invoke({"cas", "x1", {2, 4}});
  EXPECT_EQ(refused.type, OpType::kFail);
  EXPECT_EQ(refused.value, json({2, 4}));
  EXPECT_EQ(refused.error, "x1 does not hold 2");
  Completion applied = cas->Invoke({"cas", "x1", {3, 4}});
  EXPECT_EQ(applied.type, OpType::kOk) << applied.error;
  EXPECT_EQ(cas->Invoke({"read", "x1", nullptr}).value, 4);
  EXPECT_EQ(cas->Invoke({"cas", "x1", 4}).type, OpType::kFail);  // not [old, new]
  EXPECT_EQ(RedisUnsupported(RedisConfig{}, WorkloadKind::kCasRegister, "cas"), "");
}

}  // namespace
}  // namespace faultline
