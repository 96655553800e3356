// DynastoreClient against real dynastore processes on 127.0.0.1: the register
// and counter workloads, and replica reads (also through DynastoreDb::NewClient).
#include "harness/stores/dynastore/tests/dynastore_client_test_support.h"

namespace faultline {
namespace {

using namespace test;  // NOLINT: the fixture and helpers of dynastore_client_test_support.h

TEST_F(DynastoreClientTest, UnknownWorkloadIsAHarnessError) {
  EXPECT_THROW(DynastoreClient("127.0.0.1", 1, Options(static_cast<WorkloadKind>(99))), HarnessError);
}

TEST_F(DynastoreClientTest, RegisterRmwWritesItsIdAndReportsWhatItRead) {
  int port = StartSingle();
  DynastoreClient client("127.0.0.1", port, Options(WorkloadKind::kRegister));
  Completion empty = client.Invoke(Read("r"));
  ASSERT_EQ(empty.type, OpType::kOk) << empty.error;
  EXPECT_EQ(empty.value, json::array());

  Completion first = client.Invoke(Rmw("r", 1));
  ASSERT_EQ(first.type, OpType::kOk) << first.error;
  EXPECT_EQ(first.value, json::parse(R"({"read":[],"write":1})"));
  Completion second = client.Invoke(Rmw("r", 2));
  ASSERT_EQ(second.type, OpType::kOk) << second.error;
  EXPECT_EQ(second.value, json::parse(R"({"read":[1],"write":2})"));

  Completion read = client.Invoke(Read("r"));
  ASSERT_EQ(read.type, OpType::kOk) << read.error;
  EXPECT_EQ(read.value, json::parse("[2]"));
  // Stored as the decimal id; the rmw's context superseded the first write.
  HttpConnection raw("127.0.0.1", port);
  EXPECT_EQ(StoredValues(raw, "r"), json::parse(R"(["2"])"));
  // set's f is not register's.
  Completion add = client.Invoke(Add("r", 3));
  EXPECT_EQ(add.type, OpType::kFail);
  EXPECT_EQ(add.error, "dynastore client does not support f=add (workload register)");
}

TEST_F(DynastoreClientTest, TwoRmwsFromOneStaleContextLeaveSiblingsTheNextRmwCollapses) {
  int port = StartSingle();
  DynastoreClient client("127.0.0.1", port, Options(WorkloadKind::kRegister));
  ASSERT_EQ(client.Invoke(Rmw("r", 1)).type, OpType::kOk);
  // Two read-modify-writes that both read {1}: each PUT carries the same context.
  HttpConnection raw("127.0.0.1", port);
  std::string context = json::parse(Raw(raw, "GET", "/kv/r").body)["context"];
  for (const char* id : {"2", "3"}) {
    json body = {{"value", id}, {"context", context}};
    ASSERT_EQ(Raw(raw, "PUT", "/kv/r", body.dump()).status, 200);
  }
  EXPECT_EQ(StoredValues(raw, "r"), json::parse(R"(["2","3"])"));
  Completion read = client.Invoke(Read("r"));
  ASSERT_EQ(read.type, OpType::kOk) << read.error;
  EXPECT_EQ(read.value, json::parse("[2,3]"));

  Completion next = client.Invoke(Rmw("r", 4));
  ASSERT_EQ(next.type, OpType::kOk) << next.error;
  EXPECT_EQ(next.value, json::parse(R"({"read":[2,3],"write":4})"));
  EXPECT_EQ(StoredValues(raw, "r"), json::parse(R"(["4"])"));
}

TEST_F(DynastoreClientTest, RegisterSiblingThatIsNotAnIdFailsAndWritesNothing) {
  int port = StartSingle();
  HttpConnection raw("127.0.0.1", port);
  ASSERT_EQ(Raw(raw, "PUT", "/kv/r", R"({"value":"7"})").status, 200);
  ASSERT_EQ(Raw(raw, "PUT", "/kv/r", R"({"value":"7x"})").status, 200);
  DynastoreClient client("127.0.0.1", port, Options(WorkloadKind::kRegister));
  Completion rmw = client.Invoke(Rmw("r", 8));
  EXPECT_EQ(rmw.type, OpType::kFail);
  EXPECT_EQ(rmw.value, json::parse(R"({"write":8})"));
  EXPECT_NE(rmw.error.find("not an integer write id: 7x"), std::string::npos) << rmw.error;
  Completion read = client.Invoke(Read("r"));
  EXPECT_EQ(read.type, OpType::kFail);
  EXPECT_EQ(StoredValues(raw, "r"), json::parse(R"(["7","7x"])"));
  Completion bad = client.Invoke({"rmw", "r", 8});  // value must be {"write":id}
  EXPECT_EQ(bad.type, OpType::kFail);
}

TEST_F(DynastoreClientTest, RegisterPutTimeoutIsInfoWithWhatWasRead) {
  // As PutTimeoutIsInfo: R=1, W=3, the third replica paused.
  auto nodes = WriteCluster(/*r=*/1, /*w=*/3, /*request_timeout_ms=*/10000, /*failure_timeout_ms=*/60000);
  for (const auto& n : nodes) StartNode(n);
  ASSERT_TRUE(WaitAllUp(nodes[0].http, 3));
  DynastoreClient client("127.0.0.1", nodes[0].http, Options(WorkloadKind::kRegister, milliseconds(500)));
  ASSERT_EQ(client.Invoke(Rmw("r", 1)).type, OpType::kOk);
  daemons_.back()->Signal(SIGSTOP);
  Completion c = client.Invoke(Rmw("r", 2));
  daemons_.back()->Signal(SIGCONT);
  EXPECT_EQ(c.type, OpType::kInfo) << c.error;
  EXPECT_EQ(c.error, "timeout after 500 ms (PUT)");
  EXPECT_EQ(c.value, json::parse(R"({"read":[1],"write":2})"));
}

TEST_F(DynastoreClientTest, CounterAddsFromTwoConcurrentClientsSum) {
  int port = StartSingle();
  const std::vector<int64_t> deltas = {5, -3, 10, -5, 1, 7, -1, 2, 9, -4, 3, 8, -2, 6, 4, -5, 10, 1, -3, 2};
  std::vector<Completion> results(deltas.size());
  auto worker = [&](size_t first) {
    DynastoreClient client("127.0.0.1", port, Options(WorkloadKind::kCounter, milliseconds(5000)));
    for (size_t i = first; i < deltas.size(); i += 2) results[i] = client.Invoke(Add("c", deltas[i]));
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  int64_t sum = 0;
  for (size_t i = 0; i < deltas.size(); ++i) {
    EXPECT_EQ(results[i].type, OpType::kOk) << i << ": " << results[i].error;
    EXPECT_EQ(results[i].value, deltas[i]);
    sum += deltas[i];
  }
  DynastoreClient reader("127.0.0.1", port, Options(WorkloadKind::kCounter));
  Completion read = reader.Invoke(Read("c"));
  ASSERT_EQ(read.type, OpType::kOk) << read.error;
  EXPECT_EQ(read.value, sum);
  EXPECT_EQ(reader.Invoke(Read("never")).value, 0);
  // Two writers' entries {"p","n"} over however many siblings the last concurrent writes left.
  HttpConnection raw("127.0.0.1", port);
  std::set<std::string> writers;
  for (const json& sibling : StoredValues(raw, "c")) {
    json counter = json::parse(sibling.get<std::string>());
    for (const auto& [writer, entry] : counter.items()) writers.insert(writer);
  }
  EXPECT_EQ(writers.size(), 2u);
}

TEST_F(DynastoreClientTest, CounterMergesSiblingsPerWriterAndCollapsesThem) {
  int port = StartSingle();
  HttpConnection raw("127.0.0.1", port);
  DynastoreClient a("127.0.0.1", port, Options(WorkloadKind::kCounter));
  DynastoreClient b("127.0.0.1", port, Options(WorkloadKind::kCounter));
  ASSERT_NE(a.writer_id(), b.writer_id());
  ASSERT_EQ(a.Invoke(Add("c", 5)).type, OpType::kOk);
  // A writer that read only a's +5, writing concurrently with b's -3.
  std::string context = json::parse(Raw(raw, "GET", "/kv/c").body)["context"];
  ASSERT_EQ(b.Invoke(Add("c", -3)).type, OpType::kOk);
  json stale = {{a.writer_id(), {{"p", 5}, {"n", 0}}}, {"x", {{"p", 10}, {"n", 4}}}};
  json body = {{"value", stale.dump()}, {"context", context}};
  ASSERT_EQ(Raw(raw, "PUT", "/kv/c", body.dump()).status, 200);
  ASSERT_EQ(StoredValues(raw, "c").size(), 2u);

  // a's +5 is in both siblings but counts once: 5 - 3 + 10 - 4.
  Completion read = a.Invoke(Read("c"));
  ASSERT_EQ(read.type, OpType::kOk) << read.error;
  EXPECT_EQ(read.value, 8);
  ASSERT_EQ(a.Invoke(Add("c", -2)).type, OpType::kOk);
  json stored = StoredValues(raw, "c");
  ASSERT_EQ(stored.size(), 1u) << stored;
  json expected = {
      {a.writer_id(), {{"p", 5}, {"n", 2}}}, {b.writer_id(), {{"p", 0}, {"n", 3}}}, {"x", {{"p", 10}, {"n", 4}}}};
  EXPECT_EQ(json::parse(stored[0].get<std::string>()), expected);
  EXPECT_EQ(b.Invoke(Read("c")).value, 6);
}

TEST_F(DynastoreClientTest, CounterSiblingThatIsNotAPnCounterFails) {
  int port = StartSingle();
  HttpConnection raw("127.0.0.1", port);
  ASSERT_EQ(Raw(raw, "PUT", "/kv/c", R"({"value":"{\"w\":{\"p\":1,\"n\":-1}}"})").status, 200);
  DynastoreClient client("127.0.0.1", port, Options(WorkloadKind::kCounter));
  for (const Invocation& op : {Add("c", 1), Read("c")}) {
    Completion c = client.Invoke(op);
    EXPECT_EQ(c.type, OpType::kFail) << op.f;
    EXPECT_NE(c.error.find("not a PN-counter object"), std::string::npos) << c.error;
  }
  EXPECT_EQ(StoredValues(raw, "c").size(), 1u);
}

TEST_F(DynastoreClientTest, CounterWriterIsRenewedAfterAnInfo) {
  // R=1, W=3, the third replica paused: the PUT times out (info) after the
  // coordinator has stored it. The next add must not reuse that writer entry.
  auto nodes = WriteCluster(/*r=*/1, /*w=*/3, /*request_timeout_ms=*/10000, /*failure_timeout_ms=*/60000);
  for (const auto& n : nodes) StartNode(n);
  ASSERT_TRUE(WaitAllUp(nodes[0].http, 3));
  DynastoreClient client("127.0.0.1", nodes[0].http, Options(WorkloadKind::kCounter, milliseconds(500)));
  ASSERT_EQ(client.Invoke(Add("c", 4)).type, OpType::kOk);
  const std::string first = client.writer_id();
  ASSERT_EQ(client.Invoke(Add("c", 1)).type, OpType::kOk);
  EXPECT_EQ(client.writer_id(), first);  // ok outcomes keep the writer

  daemons_.back()->Signal(SIGSTOP);
  Completion info = client.Invoke(Add("c", 7));
  daemons_.back()->Signal(SIGCONT);
  HttpConnection third("127.0.0.1", nodes[2].http);
  ASSERT_EQ(Raw(third, "GET", "/status").status, 200);  // awake again before the next W=3 write
  ASSERT_EQ(info.type, OpType::kInfo) << info.error;
  EXPECT_EQ(info.value, 7);
  const std::string second = client.writer_id();
  EXPECT_NE(second, first);
  EXPECT_EQ(second.substr(0, second.rfind('-')), first.substr(0, first.rfind('-')));  // same client, next serial

  Completion add = client.Invoke(Add("c", -2));
  ASSERT_EQ(add.type, OpType::kOk) << add.error;
  // The new entry starts from zero; the info write (it reached the
  // coordinator) stays in the old one: 4 + 1 + 7 - 2.
  HttpConnection raw("127.0.0.1", nodes[0].http);
  json stored = StoredValues(raw, "c");
  ASSERT_EQ(stored.size(), 1u) << stored;
  json counter = json::parse(stored[0].get<std::string>());
  EXPECT_EQ(counter[first], json::parse(R"({"p":12,"n":0})")) << counter;
  EXPECT_EQ(counter[second], json::parse(R"({"p":0,"n":2})")) << counter;
  EXPECT_EQ(client.Invoke(Read("c")).value, 10);
}

TEST_F(DynastoreClientTest, ReadReplicasReadsExactlyTheKeysReplicas) {
  // N=2 of three nodes: which two hold a key depends on its partition, so the
  // client must compute it exactly as the store does.
  auto nodes = WriteCluster(/*r=*/2, /*w=*/2, /*request_timeout_ms=*/2000, /*failure_timeout_ms=*/5000, /*n=*/2);
  for (const auto& n : nodes) StartNode(n);
  // Every node must see every other up, or a coordinator hands a write to a stand-in.
  for (const auto& n : nodes) ASSERT_TRUE(WaitAllUp(n.http, 3)) << n.id;
  DynastoreClient client("127.0.0.1", nodes[0].http, Options(WorkloadKind::kRegister), Endpoints(nodes));
  std::map<std::string, std::unique_ptr<HttpConnection>> raw;
  for (const auto& n : nodes) raw[n.id] = std::make_unique<HttpConnection>("127.0.0.1", n.http);
  std::set<std::set<std::string>> replica_sets;
  for (int i = 0; i < 20; ++i) {
    std::string key = "key-" + std::to_string(i);
    ASSERT_EQ(client.Invoke(Rmw(key, i)).type, OpType::kOk) << key;
    std::optional<ReplicaRead> read = client.ReadReplicas(key);
    ASSERT_TRUE(read.has_value());
    EXPECT_EQ(read->error, "") << key;
    ASSERT_EQ(read->replicas.size(), 2u) << key;
    std::set<std::string> holders;
    for (const auto& [id, conn] : raw) {
      HttpResult r = Raw(*conn, "GET", "/kv/" + key + "?local=true");
      if (r.status == 200) holders.insert(id);
    }
    std::set<std::string> replicas;
    for (const auto& [id, values] : read->replicas) {
      replicas.insert(id);
      EXPECT_EQ(values, json::array({std::to_string(i)})) << key << " on " << id;
    }
    EXPECT_EQ(replicas, holders) << key;
    replica_sets.insert(replicas);
  }
  EXPECT_GT(replica_sets.size(), 1u);  // the keys did not all land on one pair
}

// W=2 acknowledges before the third replica has written: give that write
// (still in flight, not a repair) up to 5 s to land, then return the last reading.
std::optional<ReplicaRead> ReadReplicasOnceAllHold(Client& client, const std::string& key, const json& expected) {
  std::optional<ReplicaRead> read;
  for (auto deadline = Clock::now() + milliseconds(5000); Clock::now() < deadline;) {
    read = client.ReadReplicas(key);
    if (read.has_value() && read->replicas.size() == 3 &&
        std::all_of(read->replicas.begin(), read->replicas.end(),
                    [&](const auto& r) { return r.second == expected; })) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return read;
}

TEST_F(DynastoreClientTest, ReadReplicasShowsAReplicaThatMissedAWrite) {
  // No repair of any kind, so a replica that was down during a write stays behind.
  const std::vector<std::string> no_repair = {"--no-hinted-handoff", "--no-read-repair", "--no-anti-entropy"};
  auto nodes = WriteCluster(/*r=*/1, /*w=*/2, /*request_timeout_ms=*/1000, /*failure_timeout_ms=*/2000);
  for (const auto& n : nodes) StartNode(n, no_repair);
  for (const auto& n : nodes) ASSERT_TRUE(WaitAllUp(n.http, 3)) << n.id;
  DynastoreClient client("127.0.0.1", nodes[0].http, Options(WorkloadKind::kRegister), Endpoints(nodes));
  ASSERT_EQ(client.Invoke(Rmw("k", 1)).type, OpType::kOk);
  std::optional<ReplicaRead> same = ReadReplicasOnceAllHold(client, "k", json::parse(R"(["1"])"));
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->error, "");
  ASSERT_EQ(same->replicas.size(), 3u);
  for (const auto& [id, values] : same->replicas) EXPECT_EQ(values, json::parse(R"(["1"])")) << id;

  // n3 down: the write reaches n1 and n2 only.
  daemons_[2]->Kill();
  Completion write = client.Invoke(Rmw("k", 2));
  ASSERT_EQ(write.type, OpType::kOk) << write.error;
  std::optional<ReplicaRead> partial = client.ReadReplicas("k");
  ASSERT_TRUE(partial.has_value());
  EXPECT_EQ(partial->error.rfind("cannot read replica n3: ", 0), 0u) << partial->error;
  EXPECT_EQ(partial->replicas.count("n3"), 0u);
  EXPECT_EQ(partial->replicas.size(), 2u);

  StartNode(nodes[2], no_repair);
  std::optional<ReplicaRead> diverged = client.ReadReplicas("k");
  ASSERT_TRUE(diverged.has_value());
  EXPECT_EQ(diverged->error, "");
  EXPECT_EQ(diverged->replicas["n1"], json::parse(R"(["2"])"));
  EXPECT_EQ(diverged->replicas["n2"], json::parse(R"(["2"])"));
  EXPECT_EQ(diverged->replicas["n3"], json::parse(R"(["1"])"));
}

TEST_F(DynastoreClientTest, ReadReplicasWithoutAddressesNamesEveryReplica) {
  int port = StartSingle();
  DynastoreClient client("127.0.0.1", port, Options(WorkloadKind::kSet));
  std::optional<ReplicaRead> read = client.ReadReplicas("k");
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(read->replicas.empty());
  EXPECT_EQ(read->error, "cannot read replica n1: no address known");
  DynastoreClient known("127.0.0.1", port, Options(WorkloadKind::kSet), {{"n1", DynastoreEndpoint{"127.0.0.1", port}}});
  ASSERT_EQ(known.Invoke(Add("k", 3)).type, OpType::kOk);
  read = known.ReadReplicas("k");
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->error, "");
  EXPECT_EQ(read->replicas["n1"], json::parse(R"(["[3]"])"));
}

// Through the adapter: DynastoreDb gives its clients every node's address
// (from Install) and the workload from ClientOptions. Nodes on 127.0.0.1-3
// through LocalRemotes, as dynastore_db_test does.
TEST(DynastoreDbClientTest, NewClientReadsReplicasOfEveryNode) {
  const fs::path dir = test::MakeTempDir("faultline-dsdbclient");
  ASSERT_FALSE(dir.empty());
  DynastoreOptions options = test::LoopbackOptions();
  options.n = 3;
  options.r = options.w = 2;
  options.sync = false;
  DynastoreDb db(options);
  std::vector<std::unique_ptr<LocalRemote>> remotes;
  std::vector<NodeInfo> nodes;
  for (int i = 1; i <= 3; ++i) {
    std::string name = "n" + std::to_string(i);
    remotes.push_back(std::make_unique<LocalRemote>(name, ""));
    nodes.push_back(NodeInfo{name, "127.0.0." + std::to_string(i), (dir / name).string(), remotes.back().get()});
  }
  struct Cleanup {
    DynastoreDb& db;
    const std::vector<NodeInfo>& nodes;
    fs::path dir;
    ~Cleanup() {
      for (const NodeInfo& node : nodes) {
        try {
          db.Stop(node);
        } catch (const std::exception& e) {
          ADD_FAILURE() << "Stop " << node.name << ": " << e.what();
        }
      }
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{db, nodes, dir};
  db.Install(nodes);
  for (const NodeInfo& node : nodes) db.Start(node);
  for (const NodeInfo& node : nodes) db.WaitHealthy(node, milliseconds(10000));
  for (const NodeInfo& node : nodes) {
    ASSERT_TRUE(test::AllMembersUp(node.address, options.http_port, 3, milliseconds(10000), milliseconds(5000)))
        << node.name;
  }

  ClientOptions register_options = Options(WorkloadKind::kRegister, milliseconds(3000));
  std::unique_ptr<Client> client = db.NewClient(nodes[1], register_options);
  Completion rmw = client->Invoke(Rmw("k", 5));
  ASSERT_EQ(rmw.type, OpType::kOk) << rmw.error;
  EXPECT_EQ(rmw.value, json::parse(R"({"read":[],"write":5})"));
  std::optional<ReplicaRead> read = ReadReplicasOnceAllHold(*client, "k", json::parse(R"(["5"])"));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->error, "");
  ASSERT_EQ(read->replicas.size(), 3u);
  for (const auto& [id, values] : read->replicas) EXPECT_EQ(values, json::parse(R"(["5"])")) << id;
}

}  // namespace
}  // namespace faultline
