// DynastoreClient against real dynastore processes on 127.0.0.1: the set
// workload, and how every kind of failure maps onto ok, fail and info.
#include "harness/stores/dynastore/tests/dynastore_client_test_support.h"

namespace faultline {
namespace {

using namespace test;  // NOLINT: the fixture and helpers of dynastore_client_test_support.h

TEST_F(DynastoreClientTest, AddThenReadReturnsTheElement) {
  int port = StartSingle();
  DynastoreClient client("127.0.0.1", port, ClientOptions{milliseconds(2000)});

  Completion empty = client.Invoke(Read("k1"));
  EXPECT_EQ(empty.type, OpType::kOk) << empty.error;
  EXPECT_EQ(empty.value, json::array());

  Completion add = client.Invoke(Add("k1", 17));
  ASSERT_EQ(add.type, OpType::kOk) << add.error;
  EXPECT_EQ(add.value, 17);
  EXPECT_TRUE(add.error.empty());

  Completion read = client.Invoke(Read("k1"));
  ASSERT_EQ(read.type, OpType::kOk) << read.error;
  EXPECT_EQ(read.value, json::parse("[17]"));

  // Stored as a sorted JSON array in a string, as the set workload's format says.
  HttpConnection raw("127.0.0.1", port);
  client.Invoke(Add("k1", 3));
  HttpResult r = Raw(raw, "GET", "/kv/k1");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(json::parse(r.body)["values"], json::parse(R"(["[3,17]"])"));
}

TEST_F(DynastoreClientTest, KeysArePercentEncoded) {
  int port = StartSingle();
  DynastoreClient client("127.0.0.1", port, ClientOptions{milliseconds(2000)});
  const std::string key = "a/b?c#d%e f+g";
  Completion add = client.Invoke(Add(key, 5));
  ASSERT_EQ(add.type, OpType::kOk) << add.error;
  HttpConnection raw("127.0.0.1", port);
  HttpResult r = Raw(raw, "GET", "/kv/" + PercentEncode(key));
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["key"], key);
  EXPECT_EQ(PercentEncode("Az09-._~/ %"), "Az09-._~%2F%20%25");
}

TEST_F(DynastoreClientTest, ARequestThatWouldInjectHeaderLinesIsNeverSent) {
  int port = StartSingle();
  HttpConnection raw("127.0.0.1", port);
  const auto deadline = HttpConnection::Clock::now() + milliseconds(2000);
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/kv/a\r\nX-Injected: 1"}, {"GET", "/kv/a b"}, {"GE T", "/kv/a"}, {"", "/kv/a"}, {"GET", ""}}) {
    HttpResult r = raw.Request(method, target, "", deadline);
    EXPECT_EQ(r.failure, HttpFailure::kProtocol) << method << " " << target;
    EXPECT_FALSE(r.maybe_sent) << method << " " << target;
    EXPECT_NE(r.error.find("invalid request"), std::string::npos) << r.error;
  }
  EXPECT_EQ(raw.connections_opened(), 0u);  // refused before connecting
  HttpResult ok = raw.Request("GET", "/kv/a", "", deadline);
  ASSERT_TRUE(ok.ok()) << ok.error;
  EXPECT_EQ(ok.status, 404);
}

TEST_F(DynastoreClientTest, TwentyAddsFromTwoConcurrentClientsAreAllRead) {
  int port = StartSingle();
  std::vector<Completion> results(20);
  auto worker = [&](int first) {
    DynastoreClient client("127.0.0.1", port, ClientOptions{milliseconds(5000)});
    for (int i = first; i < 20; i += 2) results[i] = client.Invoke(Add("shared", 100 + i));
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  json expected = json::array();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(results[i].type, OpType::kOk) << i << ": " << results[i].error;
    expected.push_back(100 + i);
  }
  DynastoreClient reader("127.0.0.1", port, ClientOptions{milliseconds(2000)});
  Completion read = reader.Invoke(Read("shared"));
  ASSERT_EQ(read.type, OpType::kOk) << read.error;
  EXPECT_EQ(read.value, expected);
}

TEST_F(DynastoreClientTest, AddMergesSiblingsByUnion) {
  int port = StartSingle();
  HttpConnection raw("127.0.0.1", port);
  // Two writes that saw nothing: both are kept as siblings.
  ASSERT_EQ(Raw(raw, "PUT", "/kv/s", R"({"value":"[1,5]"})").status, 200);
  ASSERT_EQ(Raw(raw, "PUT", "/kv/s", R"({"value":"[2]"})").status, 200);
  HttpResult before = Raw(raw, "GET", "/kv/s");
  ASSERT_EQ(json::parse(before.body)["values"].size(), 2u) << before.body;

  DynastoreClient client("127.0.0.1", port, ClientOptions{milliseconds(2000)});
  Completion read = client.Invoke(Read("s"));
  ASSERT_EQ(read.type, OpType::kOk) << read.error;
  EXPECT_EQ(read.value, json::parse("[1,2,5]"));

  Completion add = client.Invoke(Add("s", 3));
  ASSERT_EQ(add.type, OpType::kOk) << add.error;
  // The PUT carried the context, so it replaced both siblings with the union.
  HttpResult after = Raw(raw, "GET", "/kv/s");
  EXPECT_EQ(json::parse(after.body)["values"], json::parse(R"(["[1,2,3,5]"])")) << after.body;
}

TEST_F(DynastoreClientTest, ASiblingThatIsNotASetFailsTheOp) {
  int port = StartSingle();
  HttpConnection raw("127.0.0.1", port);
  ASSERT_EQ(Raw(raw, "PUT", "/kv/bad", R"({"value":"[1]"})").status, 200);
  ASSERT_EQ(Raw(raw, "PUT", "/kv/bad", R"({"value":"[1,\"x\"]"})").status, 200);
  DynastoreClient client("127.0.0.1", port, ClientOptions{milliseconds(2000)});
  for (const Invocation& op : {Add("bad", 9), Read("bad")}) {
    Completion c = client.Invoke(op);
    EXPECT_EQ(c.type, OpType::kFail) << op.f;
    EXPECT_NE(c.error.find("not a JSON array of integers"), std::string::npos) << c.error;
  }
  // Nothing was written by the failed add.
  EXPECT_EQ(json::parse(Raw(raw, "GET", "/kv/bad").body)["values"].size(), 2u);
}

TEST_F(DynastoreClientTest, ConnectionRefusedFailsQuickly) {
  int port = FreePort();  // nobody listens
  DynastoreClient client("127.0.0.1", port, ClientOptions{milliseconds(2000)});
  for (const Invocation& op : {Add("k", 1), Read("k")}) {
    // Refused, not timed out: the 2 s deadline would say "timeout after".
    Completion c = client.Invoke(op);
    EXPECT_EQ(c.type, OpType::kFail) << op.f;
    EXPECT_EQ(c.error, "connection refused");
  }
}

TEST_F(DynastoreClientTest, UnknownFunctionFails) {
  int port = StartSingle();
  DynastoreClient client("127.0.0.1", port, ClientOptions{milliseconds(2000)});
  Completion c = client.Invoke({"cas", "k", 1});
  EXPECT_EQ(c.type, OpType::kFail);
  EXPECT_EQ(c.error, "dynastore client does not support f=cas (workload set)");
  Completion bad = client.Invoke({"add", "k", "seven"});
  EXPECT_EQ(bad.type, OpType::kFail);
}

TEST_F(DynastoreClientTest, PausedNodeTimesOutWithinTheDeadline) {
  int port = StartSingle();
  DynastoreClient client("127.0.0.1", port, ClientOptions{milliseconds(300)});
  ASSERT_EQ(client.Invoke(Add("k", 1)).type, OpType::kOk);
  daemons_.back()->Signal(SIGSTOP);
  for (const Invocation& op : {Add("k", 2), Read("k")}) {
    auto start = Clock::now();
    Completion c = client.Invoke(op);
    auto took = Clock::now() - start;
    EXPECT_GE(took, milliseconds(290)) << op.f;
    // The GET timed out: nothing was written, so it is a fail.
    EXPECT_EQ(c.type, OpType::kFail) << op.f;
    EXPECT_EQ(c.error, "timeout after 300 ms (GET)");
  }
  daemons_.back()->Signal(SIGCONT);
  // The timed-out connection was dropped; the client reconnects and works again.
  DynastoreClient later("127.0.0.1", port, ClientOptions{milliseconds(2000)});
  Completion c = client.Invoke(Add("k", 3));
  EXPECT_EQ(c.type, OpType::kOk) << c.error;
  Completion read = later.Invoke(Read("k"));
  EXPECT_EQ(read.value, json::parse("[1,3]"));  // 2 certainly was not added
}

TEST_F(DynastoreClientTest, PutTimeoutIsInfo) {
  // N=3, R=1, W=3: the GET is answered by the coordinator alone, the PUT waits
  // for the paused third replica (request timeout 10 s, failure detection 60 s,
  // so the server keeps waiting past the client's deadline).
  auto nodes = WriteCluster(/*r=*/1, /*w=*/3, /*request_timeout_ms=*/10000, /*failure_timeout_ms=*/60000);
  for (const auto& n : nodes) StartNode(n);
  ASSERT_TRUE(WaitAllUp(nodes[0].http, 3));
  DynastoreClient client("127.0.0.1", nodes[0].http, ClientOptions{milliseconds(500)});
  Completion warm = client.Invoke(Add("k", 1));
  ASSERT_EQ(warm.type, OpType::kOk) << warm.error;
  daemons_.back()->Signal(SIGSTOP);
  // The client's own deadline ended it, as its error says: the server's
  // 10 s request timeout would have answered with a 503 instead.
  Completion c = client.Invoke(Add("k", 2));
  EXPECT_EQ(c.type, OpType::kInfo) << c.error;
  EXPECT_EQ(c.error, "timeout after 500 ms (PUT)");
  daemons_.back()->Signal(SIGCONT);
}

TEST_F(DynastoreClientTest, ConnectionLostAfterThePutWasSentIsInfo) {
  // As in PutTimeoutIsInfo the PUT hangs on a paused replica; then the
  // coordinator dies under it, resetting the connection.
  auto nodes = WriteCluster(/*r=*/1, /*w=*/3, /*request_timeout_ms=*/10000, /*failure_timeout_ms=*/60000);
  for (const auto& n : nodes) StartNode(n);
  ASSERT_TRUE(WaitAllUp(nodes[0].http, 3));
  daemons_.back()->Signal(SIGSTOP);
  HttpConnection status("127.0.0.1", nodes[0].http);
  Completion c;
  std::thread op([&] {
    DynastoreClient client("127.0.0.1", nodes[0].http, ClientOptions{milliseconds(5000)});
    c = client.Invoke(Add("k", 1));
  });
  // The GET was answered (counted once sent); the PUT follows within microseconds.
  auto deadline = Clock::now() + milliseconds(5000);
  while (Clock::now() < deadline) {
    HttpResult r = Raw(status, "GET", "/status");
    if (r.ok() && json::parse(r.body)["requests"]["by_route"]["GET /kv"] == 1) break;
    std::this_thread::sleep_for(milliseconds(5));
  }
  std::this_thread::sleep_for(milliseconds(200));
  daemons_[0]->Kill();
  op.join();
  EXPECT_EQ(c.type, OpType::kInfo) << c.error;
  EXPECT_EQ(c.error.rfind("connection lost", 0), 0u) << c.error;
  EXPECT_NE(c.error.find("(PUT)"), std::string::npos) << c.error;
}

TEST_F(DynastoreClientTest, RejectedPutIsFailWithTheServersMessage) {
  // A tiny body limit: the first add fits, the second one's PUT gets 413.
  int port = StartSingle({"--max-body-bytes", "30"});  // {"context":"","value":"[1]"} is 28
  DynastoreClient client("127.0.0.1", port, ClientOptions{milliseconds(2000)});
  Completion small = client.Invoke(Add("big", 1));
  ASSERT_EQ(small.type, OpType::kOk) << small.error;
  Completion big = client.Invoke(Add("big", 1234567890123));
  EXPECT_EQ(big.type, OpType::kFail);
  EXPECT_EQ(big.error.rfind("413 body_too_large: ", 0), 0u) << big.error;
  Completion read = client.Invoke(Read("big"));
  EXPECT_EQ(read.value, json::parse("[1]"));
}

TEST_F(DynastoreClientTest, IndeterminateWriteIsInfo) {
  // Only n1 of three runs; R=1 lets the GET through, W=2 cannot be met: the
  // coordinator wrote locally and answers 503 indeterminate:true.
  auto nodes = WriteCluster(/*r=*/1, /*w=*/2, /*request_timeout_ms=*/500, /*failure_timeout_ms=*/2000);
  StartNode(nodes[0]);
  DynastoreClient client("127.0.0.1", nodes[0].http, ClientOptions{milliseconds(3000)});
  Completion c = client.Invoke(Add("k", 1));
  EXPECT_EQ(c.type, OpType::kInfo) << c.error;
  EXPECT_EQ(c.error.rfind("503 unavailable (indeterminate): ", 0), 0u) << c.error;
}

TEST_F(DynastoreClientTest, DefiniteUnavailableIsFail) {
  // Only n1 of three runs and R=W=2: the node refuses at once, certainly
  // without effect (503 indeterminate:false).
  auto nodes = WriteCluster(/*r=*/2, /*w=*/2, /*request_timeout_ms=*/500, /*failure_timeout_ms=*/2000);
  StartNode(nodes[0]);
  DynastoreClient client("127.0.0.1", nodes[0].http, ClientOptions{milliseconds(3000)});
  for (const Invocation& op : {Add("k", 1), Read("k")}) {
    Completion c = client.Invoke(op);
    EXPECT_EQ(c.type, OpType::kFail) << op.f;
    EXPECT_EQ(c.error.rfind("503 unavailable: ", 0), 0u) << c.error;
  }
}

TEST_F(DynastoreClientTest, KeepAliveUsesOneConnectionForAHundredOps) {
  int port = StartSingle();
  HttpConnection status("127.0.0.1", port);
  auto accepted = [&] {
    HttpResult r = Raw(status, "GET", "/status");
    EXPECT_EQ(r.status, 200);
    return json::parse(r.body)["connections_accepted"].get<int64_t>();
  };
  int64_t before = accepted();
  DynastoreClient client("127.0.0.1", port, ClientOptions{milliseconds(2000)});
  for (int i = 0; i < 100; ++i) {
    Completion c = client.Invoke(i % 2 ? Read("ka") : Add("ka", i));
    ASSERT_NE(c.type, OpType::kInfo) << c.error;
  }
  EXPECT_EQ(client.connections_opened(), 1u);
  // The server agrees: one more accepted connection (the status connection is reused too).
  EXPECT_EQ(accepted() - before, 1);
}

TEST_F(DynastoreClientTest, ReconnectsAfterTheServerRestarts) {
  int port = StartSingle();
  DynastoreClient client("127.0.0.1", port, ClientOptions{milliseconds(2000)});
  ASSERT_EQ(client.Invoke(Add("r", 1)).type, OpType::kOk);
  daemons_.back()->Kill();
  daemons_.clear();
  // The kept-alive connection is dead; without a server the op fails.
  Completion down = client.Invoke(Add("r", 2));
  EXPECT_EQ(down.type, OpType::kFail) << down.error;
  daemons_.push_back(
      std::make_unique<Daemon>(std::vector<std::string>{"--id", "n1", "--http", "127.0.0.1:" + std::to_string(port),
                                                        "--data", (dir_ / "n1-data").string(), "--no-sync"},
                               dir_ / "n1.log"));
  ASSERT_TRUE(WaitReady(*daemons_.back(), port));
  Completion up = client.Invoke(Add("r", 3));
  EXPECT_EQ(up.type, OpType::kOk) << up.error;
  EXPECT_EQ(client.connections_opened(), 2u);
}

}  // namespace
}  // namespace faultline
