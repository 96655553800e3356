// Clusters of real `dynastore` daemons under broken configurations: every
// fault switch breaks what it says (and the default does not), bad cluster
// files are refused, garbage on the RPC port harms nobody, and writes are
// forwarded to a key's owners (doc/replication.md).
#include "store/tests/cluster_test_support.h"

namespace dynastore::test {
namespace {

// ---------------------------------------------------------------------------
// Fault switches: each breaks exactly the guarantee it names.

// Two blind PUTs through different nodes; the values a GET then returns.
std::optional<Values> ConcurrentBlindWrites(const std::vector<std::string>& flags) {
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2, .flags = flags});
  EXPECT_TRUE(c.ok()) << c.error();
  if (!c.ok()) return std::nullopt;
  EXPECT_EQ(Put(c, 0, "k", "a").status(), 200u);
  EXPECT_EQ(Put(c, 1, "k", "b").status(), 200u);
  return c.CoordinatedValues(2, "k");
}

TEST(ClusterFaultSwitchTest, LwwKeepsOneOfTwoConcurrentWritesWhereDefaultKeepsBoth) {
  EXPECT_EQ(ConcurrentBlindWrites({}), (Values{"a", "b"}));
  std::optional<Values> lww = ConcurrentBlindWrites({"--lww"});
  ASSERT_TRUE(lww.has_value());
  EXPECT_EQ(lww->size(), 1u) << testing::PrintToString(*lww);
}

// Two PUTs through n1 with the same stale context; the values a GET returns.
std::optional<Values> StaleContextWritesThroughOneNode(const std::vector<std::string>& flags) {
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2, .flags = flags});
  EXPECT_TRUE(c.ok()) << c.error();
  if (!c.ok()) return std::nullopt;
  HttpResult base = Put(c, 0, "k", "v0");
  EXPECT_EQ(base.status(), 200u);
  EXPECT_EQ(Put(c, 0, "k", "a", ContextOf(base)).status(), 200u);
  EXPECT_EQ(Put(c, 0, "k", "b", ContextOf(base)).status(), 200u);
  return c.CoordinatedValues(1, "k");
}

TEST(ClusterFaultSwitchTest, NaiveVclocksLoseOneOfTwoStaleContextWritesThroughOneNode) {
  EXPECT_EQ(StaleContextWritesThroughOneNode({}), (Values{"a", "b"}));
  EXPECT_EQ(StaleContextWritesThroughOneNode({"--naive-vclocks"}), (Values{"b"}));
}

// Makes n3 miss a write (killed during it; no anti-entropy, no handoff),
// restarts it, reads the key 3 times through each node of `via`, and reports
// whether n3's own copy then catches up within `wait`.
bool StaleReplicaIsRepairedByReads(bool read_repair, const std::vector<int>& via, std::chrono::milliseconds wait) {
  std::vector<std::string> flags = {"--no-anti-entropy", "--no-hinted-handoff"};
  if (!read_repair) flags.push_back("--no-read-repair");
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2, .flags = flags});
  EXPECT_TRUE(c.ok()) << c.error();
  if (!c.ok()) return false;
  EXPECT_TRUE(c.Kill(2)) << c.error();
  EXPECT_EQ(Put(c, 0, "k", "fresh").status(), 200u);
  EXPECT_TRUE(c.Restart(2)) << c.error();
  EXPECT_EQ(c.LocalValues(2, "k"), Values{}) << "n3 should have missed the write";
  for (int round = 0; round < 3; ++round) {
    for (int i : via) EXPECT_EQ(c.CoordinatedValues(i, "k"), Values{"fresh"}) << "via " << c.Id(i);
  }
  return TestCluster::WaitUntil([&] { return LocalIs(c, 2, "k", {"fresh"}); }, wait);
}

TEST(ClusterFaultSwitchTest, NoReadRepairLeavesAStaleReplicaStaleWhereDefaultRepairsIt) {
  EXPECT_TRUE(StaleReplicaIsRepairedByReads(/*read_repair=*/true, {0, 1}, std::chrono::seconds(5)));
  EXPECT_FALSE(StaleReplicaIsRepairedByReads(/*read_repair=*/false, {0, 1}, std::chrono::seconds(1)));
}

TEST(ClusterReadRepairTest, ReadCoordinatedByTheStaleReplicaItselfRepairsIt) {
  EXPECT_TRUE(StaleReplicaIsRepairedByReads(/*read_repair=*/true, {2}, std::chrono::seconds(5)));
}

// 5 nodes, N=3, W=3, one owner of the key killed: the PUT's reply.
HttpResult PutWithOneOwnerDown(const std::vector<std::string>& flags) {
  TestCluster c({.nodes = 5, .n = 3, .r = 2, .w = 3, .flags = flags});
  EXPECT_TRUE(c.ok()) << c.error();
  if (!c.ok()) return {};
  const KeyPlacement p = c.Placement("w3-key");
  EXPECT_EQ(p.replicas.size(), 3u);
  EXPECT_TRUE(c.Kill(p.replicas[1])) << c.error();
  return Put(c, p.replicas[0], "w3-key", "v");
}

TEST(ClusterFaultSwitchTest, NoHintedHandoffFailsW3WithOneOwnerDownWhereHandoffSucceeds) {
  HttpResult with_handoff = PutWithOneOwnerDown({});
  EXPECT_EQ(with_handoff.status(), 200u) << with_handoff.body();

  HttpResult without = PutWithOneOwnerDown({"--no-hinted-handoff"});
  EXPECT_EQ(without.status(), 503u) << without.body();
  EXPECT_EQ(without.ErrorCode(), "unavailable") << without.body();
  EXPECT_EQ(without.Json().value("indeterminate", false), true) << without.body();
}

// One node (N=R=W=1): PUTs 50 keys, SIGKILLs at once, restarts; returns how
// many acknowledged keys are gone.
int AcknowledgedKeysLostToSigkill(const std::vector<std::string>& flags) {
  TestCluster c({.nodes = 1, .n = 1, .r = 1, .w = 1, .flags = flags});
  EXPECT_TRUE(c.ok()) << c.error();
  if (!c.ok()) return -1;
  for (int k = 0; k < 50; ++k) {
    HttpResult put = Put(c, 0, "early-" + std::to_string(k), "v");
    EXPECT_EQ(put.status(), 200u) << put.body();
  }
  EXPECT_TRUE(c.Kill(0));
  EXPECT_TRUE(c.Restart(0)) << c.error();
  int lost = 0;
  for (int k = 0; k < 50; ++k) {
    if (c.LocalValues(0, "early-" + std::to_string(k)) != Values{"v"}) ++lost;
  }
  return lost;
}

TEST(ClusterFaultSwitchTest, UnsafeAckEarlyLosesAcknowledgedWritesToSigkillWhereSyncLosesNone) {
  EXPECT_EQ(AcknowledgedKeysLostToSigkill({}), 0);
  EXPECT_GE(AcknowledgedKeysLostToSigkill({"--unsafe-ack-early"}), 1);
}

TEST(ClusterFaultSwitchTest, EverySwitchIsListedInStatus) {
  TestCluster c(
      {.nodes = 3,
       .flags = {"--lww", "--no-read-repair", "--no-hinted-handoff", "--no-anti-entropy", "--unsafe-ack-early"}});
  ASSERT_CLUSTER_OK(c);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.Status(i)["faults"],
              json({"lww", "no-read-repair", "no-hinted-handoff", "no-anti-entropy", "unsafe-ack-early"}));
  }
}

// ---------------------------------------------------------------------------
// Bad cluster files

TEST(ClusterConfigFileTest, EveryBadClusterFileExitsTwoWithOneLineNamingTheProblem) {
  TempDir dir;
  auto node = [](const std::string& id, int port) {
    return json{
        {"id", id}, {"http", "127.0.0.1:" + std::to_string(port)}, {"rpc", "127.0.0.1:" + std::to_string(port + 1)}};
  };
  const json good = {{"n", 3},
                     {"r", 2},
                     {"w", 2},
                     {"partitions", 16},
                     {"nodes", {node("n1", 47101), node("n2", 47201), node("n3", 47301)}}};
  struct Case {
    std::string name;
    std::optional<std::string> file;  // nullopt: no such file
    std::string id;
    std::string expected;  // in the message
  };
  json dup_id = good;
  dup_id["nodes"][2]["id"] = "n1";
  json dup_addr = good;
  dup_addr["nodes"][2]["rpc"] = good["nodes"][0]["http"];
  json r_over_n = good;
  r_over_n["r"] = 4;
  json w_over_n = good;
  w_over_n["w"] = 4;
  json n_over_nodes = good;
  n_over_nodes["n"] = 4;
  n_over_nodes["r"] = 1;
  n_over_nodes["w"] = 1;
  json unknown_field = good;
  unknown_field["replicas"] = 3;
  const std::vector<Case> cases = {
      {"unknown id", good.dump(), "n9", "'n9' is not a node"},
      {"duplicate ids", dup_id.dump(), "n1", "duplicate node id 'n1'"},
      {"duplicate addresses", dup_addr.dump(), "n1", "127.0.0.1:47101 is used twice"},
      {"R > N", r_over_n.dump(), "n1", "'r' must be between 1 and n"},
      {"W > N", w_over_n.dump(), "n1", "'w' must be between 1 and n"},
      {"N > node count", n_over_nodes.dump(), "n1", "'n' (4) exceeds the number of nodes (3)"},
      {"malformed JSON", R"({"n": 3, "nodes": [)", "n1", "not valid JSON"},
      {"unknown field", unknown_field.dump(), "n1", "unknown field 'replicas'"},
      {"missing file", std::nullopt, "n1", "cannot read cluster file"},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case& tc = cases[k];
    const std::string path = dir.Sub("cluster-" + std::to_string(k) + ".json");
    if (tc.file) std::ofstream(path) << *tc.file;
    std::string log;
    const int code =
        DynastoreProcess::RunToExit({"--id", tc.id, "--cluster", path, "--data", dir.Sub("data-" + std::to_string(k))},
                                    dir.Sub("log-" + std::to_string(k)), std::chrono::seconds(10), log);
    EXPECT_EQ(code, 2) << tc.name << ": " << log;
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << tc.name << ": not one line:\n" << log;
    EXPECT_NE(log.find(tc.expected), std::string::npos) << tc.name << ": message does not name the problem:\n" << log;
    EXPECT_FALSE(std::filesystem::exists(dir.Sub("data-" + std::to_string(k))))
        << tc.name << ": a refused node must not create its data directory";
  }
}

// ---------------------------------------------------------------------------
// Hostile bytes on the RPC port

// One RPC frame, written out from doc/rpc.md: u32 LE length | u8 kind | u64
// LE id | payload. `length` defaults to the payload's size.
std::string RpcFrame(uint8_t kind, uint64_t id, const std::string& payload,
                     std::optional<uint32_t> length = std::nullopt) {
  std::string out;
  const uint32_t len = length.value_or(static_cast<uint32_t>(payload.size()));
  for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((len >> (8 * b)) & 0xff));
  out.push_back(static_cast<char>(kind));
  for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((id >> (8 * b)) & 0xff));
  return out + payload;
}

// Sends `bytes` on a fresh connection to `port`; returns whether the server
// closed the connection within 3 s, and what it sent before.
bool SendAndSeeClosed(uint16_t port, const std::string& bytes, std::string* received = nullptr) {
  RawConnection conn;
  EXPECT_FALSE(conn.Connect(port));
  EXPECT_FALSE(conn.Send(bytes));
  bool closed = false;
  std::string data = conn.ReadUntilClose(std::chrono::seconds(3), closed);
  if (received) *received = data;
  return closed;
}

TEST(ClusterRpcTest, CorruptFramesCloseOnlyTheirConnectionAndTheClusterKeepsServing) {
  TestCluster c({.nodes = 3, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);
  const uint16_t rpc = c.RpcPort(0);

  // First, that these frames are spoken right: a ping is answered (kind
  // 0x80, same id, payload the node id) and the connection stays open.
  {
    RawConnection conn;
    ASSERT_FALSE(conn.Connect(rpc));
    ASSERT_FALSE(conn.Send(RpcFrame(0x01, 42, "n2")));
    const std::string reply = conn.ReadUntil("n1", std::chrono::seconds(3));
    EXPECT_EQ(reply, RpcFrame(0x80, 42, "n1"));
    // An unknown method is an error response (0x81, InvalidArgument = 1),
    // not a dropped connection.
    ASSERT_FALSE(conn.Send(RpcFrame(0x7f, 43, "")));
    const std::string error = conn.ReadUntil("unknown method", std::chrono::seconds(3));
    ASSERT_GE(error.size(), 14u) << error;
    EXPECT_EQ(error.substr(4, 10), RpcFrame(0x81, 43, "\x01").substr(4, 10));
  }

  std::string received;
  EXPECT_TRUE(SendAndSeeClosed(rpc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &received)) << "plain garbage";
  EXPECT_EQ(received, "");
  EXPECT_TRUE(SendAndSeeClosed(rpc, RpcFrame(0x01, 1, "", /*length=*/1u << 30), &received)) << "1 GiB payload claim";
  EXPECT_EQ(received, "");
  EXPECT_TRUE(SendAndSeeClosed(rpc, RpcFrame(0x90, 1, "xyz"), &received)) << "unknown kind 0x90";
  EXPECT_EQ(received, "");
  EXPECT_TRUE(SendAndSeeClosed(rpc, RpcFrame(0x80, 1, "n2"), &received)) << "a response sent to a server";
  EXPECT_EQ(received, "");
  // Malformed payloads for real methods: each gets a response with its id
  // (an error, or for kGetLocal, whose payload is any key, an empty set),
  // and the connection stays usable.
  for (uint8_t method : {0x02, 0x03, 0x04, 0x05, 0x06}) {
    RawConnection conn;
    ASSERT_FALSE(conn.Connect(rpc));
    const uint64_t id = 0x0102030405060700u | method;
    ASSERT_FALSE(conn.Send(RpcFrame(method, id, std::string("\xff\xff\xff\xff\x01\x02", 6))));
    const std::string id_bytes = RpcFrame(0, id, "").substr(5, 8);
    const std::string reply = conn.ReadUntil(id_bytes, std::chrono::seconds(3));
    ASSERT_GE(reply.size(), 13u) << "no answer to method " << static_cast<int>(method);
    EXPECT_TRUE(reply[4] == '\x80' || reply[4] == '\x81') << "method " << static_cast<int>(method);
    ASSERT_FALSE(conn.Send(RpcFrame(0x01, 99, "n2")));
    EXPECT_NE(conn.ReadUntil("n1", std::chrono::seconds(3)).find(RpcFrame(0x80, 99, "n1")), std::string::npos)
        << "connection unusable after method " << static_cast<int>(method);
  }

  // Random bytes on every node's RPC port (what the server makes of them
  // depends on the bytes; it must survive all of them).
  std::mt19937 rng(Seed("ClusterRpcTest random garbage"));
  for (int i = 0; i < 3; ++i) {
    for (int round = 0; round < 4; ++round) {
      std::string garbage(4096, '\0');
      for (char& ch : garbage) ch = static_cast<char>(rng() & 0xff);
      RawConnection conn;
      ASSERT_FALSE(conn.Connect(c.RpcPort(i)));
      conn.Send(garbage);  // the server may close before reading it all
      bool closed = false;
      conn.ReadUntilClose(std::chrono::milliseconds(50), closed);
    }
  }

  // The cluster is unharmed: every node up in every view, quorum reads and
  // writes through every node.
  ASSERT_TRUE(c.WaitForMembership()) << c.error();
  for (int i = 0; i < 3; ++i) {
    const std::string key = "after-garbage-" + std::to_string(i);
    ASSERT_EQ(Put(c, i, key, "ok").status(), 200u);
    for (int j = 0; j < 3; ++j) EXPECT_EQ(c.CoordinatedValues(j, key), Values{"ok"}) << key << " via " << c.Id(j);
  }
  for (int i = 0; i < 3; ++i) {
    const json status = c.Status(i);
    ASSERT_TRUE(status.contains("members")) << c.Id(i);
    for (const auto& [id, m] : status["members"].items()) {
      EXPECT_TRUE(m["up"].get<bool>()) << c.Id(i) << " sees " << id << " down";
    }
  }
}

// ---------------------------------------------------------------------------
// Write forwarding

TEST(ClusterForwardingTest, WritesForAnOwnerThatJustDiedGoToTheNextOwnerOrAreIndeterminate) {
  TestCluster c({.nodes = 5, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);
  const int entry = 0;
  const int victim = 1;
  // Keys the entry node does not own and whose first owner is the victim.
  const std::vector<std::string> keys = KeysWhere(
      c, "next-owner", 5, [&](const KeyPlacement& p) { return !p.IsReplica(entry) && p.replicas[0] == victim; });
  ASSERT_EQ(keys.size(), 5u);
  // Killed without waiting: the entry node may still believe it up. The
  // first write may be sent on the dead connection before the entry notices
  // (TimedOut: indeterminate, doc/rpc.md); after that the connection is
  // refused or in backoff, so the write goes to the next owner.
  ASSERT_TRUE(c.Kill(victim, /*wait_for_view=*/false));
  int ok = 0;
  for (const std::string& key : keys) {
    // A refused forward goes to the next owner at once; only a call that
    // may have been delivered waits and ends indeterminate (a timeout).
    HttpResult put = Put(c, entry, key, "v");
    if (put.status() != 200) {
      EXPECT_EQ(put.status(), 503u) << key << ": " << put.body();
      EXPECT_EQ(put.Json().value("indeterminate", false), true) << key << ": " << put.body();
      continue;
    }
    ++ok;
    EXPECT_EQ(c.CoordinatedValues(entry, key), Values{"v"}) << key;
    CausalContext ctx;
    ASSERT_TRUE(CausalContext::FromToken(ContextOf(put), TestCluster::Key(), ctx).ok());
    const KeyPlacement p = c.Placement(key);
    EXPECT_EQ(ctx.MaxCounter(c.Id(p.replicas[1])) + ctx.MaxCounter(c.Id(p.replicas[2])), 1u)
        << key << ": not coordinated by a live owner: " << ctx.DebugString();
  }
  EXPECT_GE(ok, 4) << "only the first write may race the entry noticing the dead connection";
}

TEST(ClusterForwardingTest, WriteToANonOwnerIsStoredOnlyOnTheOwnersAndItsContextSupersedesIt) {
  TestCluster c({.nodes = 5, .n = 3, .r = 2, .w = 2});
  ASSERT_CLUSTER_OK(c);
  const int entry = 0;
  const std::vector<std::string> keys =
      KeysWhere(c, "forwarded", 5, [&](const KeyPlacement& p) { return !p.IsReplica(entry); });
  ASSERT_EQ(keys.size(), 5u);
  for (const std::string& key : keys) {
    const KeyPlacement p = c.Placement(key);
    HttpResult put = Put(c, entry, key, "first");
    ASSERT_EQ(put.status(), 200u) << put.body();

    // The owner issued the dot: the context names an owner, never the entry node.
    CausalContext ctx;
    ASSERT_TRUE(CausalContext::FromToken(ContextOf(put), TestCluster::Key(), ctx).ok());
    EXPECT_EQ(ctx.MaxCounter(c.Id(entry)), 0u) << key << ": " << ctx.DebugString();
    uint64_t owner_dots = 0;
    for (int o : p.replicas) owner_dots += ctx.MaxCounter(c.Id(o));
    EXPECT_EQ(owner_dots, 1u) << key << ": " << ctx.DebugString();

    // Exactly the owners hold it: no copy, and no hint, anywhere else.
    EXPECT_TRUE(TestCluster::WaitUntil([&] { return Holders(c, key, {"first"}) == AsSet(p.replicas); },
                                       std::chrono::seconds(5)))
        << key;
    for (int i = 0; i < c.size(); ++i) {
      if (!p.IsReplica(i)) {
        EXPECT_EQ(c.LocalValues(i, key), Values{}) << key << " on non-owner " << c.Id(i);
      }
    }

    // The reply's context covers the write: a PUT with it replaces it.
    ASSERT_EQ(Put(c, entry, key, "second", ContextOf(put)).status(), 200u);
    for (int i = 0; i < c.size(); ++i) EXPECT_EQ(c.CoordinatedValues(i, key), Values{"second"}) << key;
    EXPECT_TRUE(TestCluster::WaitUntil([&] { return Holders(c, key, {"second"}) == AsSet(p.replicas); },
                                       std::chrono::seconds(5)))
        << key;

    // A delete through the non-owner is forwarded too.
    HttpResult del = c.Client(entry).Delete(KvPath(key));
    ASSERT_EQ(del.status(), 200u) << del.body();
    for (int i = 0; i < c.size(); ++i) EXPECT_EQ(c.Client(i).Get(KvPath(key)).status(), 404u) << key;
  }
  EXPECT_EQ(c.SumHandoff("pending"), 0u);
}

}  // namespace
}  // namespace dynastore::test
