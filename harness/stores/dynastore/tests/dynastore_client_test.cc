// DynastoreClient against real dynastore processes on 127.0.0.1. The daemons
// are started directly (fork/exec, dying with the test through PDEATHSIG) so
// the client is tested apart from the Remote/DB adapter machinery.
#include "harness/stores/dynastore/dynastore_client.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/local_remote.h"
#include "harness/stores/dynastore/dynastore_db.h"
#include "harness/stores/dynastore/http_connection.h"
#include "testing/dynastore_test_support.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using test::FreePort;
using test::ReadFile;

// One dynastore child process; SIGKILLed and reaped on destruction.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& args, const fs::path& log) : log_(log) {
    std::vector<char*> argv;
    std::string bin = DYNASTORE_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string log_path = log.string();
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Daemon() { Kill(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // SIGSTOP returns once every thread is stopped (kill() alone returns before
  // a busy thread has noticed, and that thread may still answer a request).
  void Signal(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    if (sig != SIGSTOP) return;
    auto deadline = Clock::now() + milliseconds(5000);
    while (Clock::now() < deadline) {
      bool all_stopped = true;
      for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid_) + "/task")) {
        std::string stat = ReadFile(task.path() / "stat");
        auto paren = stat.rfind(')');
        all_stopped = all_stopped && paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'T';
      }
      if (all_stopped) return;
      std::this_thread::sleep_for(milliseconds(1));
    }
    ADD_FAILURE() << "dynastore " << pid_ << " not stopped after SIGSTOP";
  }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool Exited() {
    if (pid_ <= 0) return true;
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }
  std::string Log() const { return ReadFile(log_); }

 private:
  pid_t pid_ = -1;
  fs::path log_;
};

HttpResult Raw(HttpConnection& conn, std::string_view method, std::string_view target, std::string_view body = "") {
  return conn.Request(method, target, body, Clock::now() + milliseconds(5000));
}

// Waits until GET /status answers 200.
::testing::AssertionResult WaitReady(Daemon& d, int port) {
  HttpConnection conn("127.0.0.1", port);
  auto deadline = Clock::now() + milliseconds(15000);
  while (Clock::now() < deadline) {
    if (d.Exited()) return ::testing::AssertionFailure() << "dynastore exited: " << d.Log();
    HttpResult r = conn.Request("GET", "/status", "", Clock::now() + milliseconds(500));
    if (r.ok() && r.status == 200) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(milliseconds(20));
  }
  return ::testing::AssertionFailure() << "dynastore not ready on port " << port << ": " << d.Log();
}

// Waits until the node's failure detector sees `count` members up (nodes
// started one by one first see their later peers as down).
::testing::AssertionResult WaitAllUp(int port, size_t count) {
  return test::AllMembersUp("127.0.0.1", port, count, milliseconds(15000), milliseconds(500));
}

Invocation Add(const std::string& key, int64_t e) { return {"add", key, e}; }
Invocation Read(const std::string& key) { return {"read", key, nullptr}; }

class DynastoreClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("faultline-dsclient");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    daemons_.clear();  // kills them
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  // A lone node (N=R=W=1) on a free port. Returns its port.
  int StartSingle(const std::vector<std::string>& extra_args = {}) {
    const std::string id = "n1";
    int port = FreePort();
    std::vector<std::string> args = {
        "--id",     id, "--http", "127.0.0.1:" + std::to_string(port), "--data", (dir_ / (id + "-data")).string(),
        "--no-sync"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    daemons_.push_back(std::make_unique<Daemon>(args, dir_ / (id + ".log")));
    EXPECT_TRUE(WaitReady(*daemons_.back(), port));
    return port;
  }

  struct ClusterNode {
    std::string id;
    int http, rpc;
  };
  // Writes a 3-node cluster file on free ports; nodes start with StartNode.
  std::vector<ClusterNode> WriteCluster(int r, int w, int request_timeout_ms, int failure_timeout_ms, int n = 3) {
    std::vector<ClusterNode> nodes;
    json list = json::array();
    for (int i = 1; i <= 3; ++i) {
      ClusterNode n{"n" + std::to_string(i), FreePort(), FreePort()};
      list.push_back({{"id", n.id},
                      {"http", "127.0.0.1:" + std::to_string(n.http)},
                      {"rpc", "127.0.0.1:" + std::to_string(n.rpc)}});
      nodes.push_back(n);
    }
    json cluster = {{"n", n},
                    {"r", r},
                    {"w", w},
                    {"partitions", 12},
                    {"nodes", list},
                    {"request_timeout_ms", request_timeout_ms},
                    {"failure_timeout_ms", failure_timeout_ms}};
    std::ofstream(dir_ / "cluster.json") << cluster.dump();
    return nodes;
  }
  void StartNode(const ClusterNode& n, const std::vector<std::string>& extra_args = {}) {
    std::vector<std::string> args = {
        "--id",     n.id, "--cluster", (dir_ / "cluster.json").string(), "--data", (dir_ / (n.id + "-data")).string(),
        "--no-sync"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    daemons_.push_back(std::make_unique<Daemon>(args, dir_ / (n.id + ".log")));
    EXPECT_TRUE(WaitReady(*daemons_.back(), n.http));
  }
  // Every node's HTTP endpoint, for ReadReplicas.
  static std::map<std::string, DynastoreEndpoint> Endpoints(const std::vector<ClusterNode>& nodes) {
    std::map<std::string, DynastoreEndpoint> out;
    for (const auto& n : nodes) out[n.id] = DynastoreEndpoint{"127.0.0.1", n.http};
    return out;
  }

  fs::path dir_;
  std::vector<std::unique_ptr<Daemon>> daemons_;
};

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
    auto start = Clock::now();
    Completion c = client.Invoke(op);
    EXPECT_LT(Clock::now() - start, milliseconds(500));
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
    EXPECT_LT(took, milliseconds(300 + 200)) << op.f;
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
  auto start = Clock::now();
  Completion c = client.Invoke(Add("k", 2));
  auto took = Clock::now() - start;
  EXPECT_EQ(c.type, OpType::kInfo) << c.error;
  EXPECT_EQ(c.error, "timeout after 500 ms (PUT)");
  EXPECT_LT(took, milliseconds(500 + 200));
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

// --- register and counter workloads, replica reads ---------------------------

ClientOptions Options(WorkloadKind workload, milliseconds timeout = milliseconds(2000)) {
  ClientOptions o;
  o.op_timeout = timeout;
  o.workload = workload;
  return o;
}
Invocation Rmw(const std::string& key, int64_t id) { return {"rmw", key, {{"write", id}}}; }

// The stored siblings of a key, sorted.
json StoredValues(HttpConnection& raw, const std::string& key) {
  HttpResult r = Raw(raw, "GET", "/kv/" + PercentEncode(key));
  EXPECT_TRUE(r.ok()) << r.error;
  std::vector<std::string> values = json::parse(r.body)["values"];
  std::sort(values.begin(), values.end());
  return values;
}

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
