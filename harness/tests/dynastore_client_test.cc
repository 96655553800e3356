// DynastoreClient against real dynastore processes on 127.0.0.1. The daemons
// are started directly (fork/exec, dying with the test through PDEATHSIG) so
// the client is tested apart from the Remote/DB adapter machinery.
#include "dynastore_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http_connection.h"

#ifndef DYNASTORE_BIN
#error "DYNASTORE_BIN must name the dynastore binary"
#endif

namespace faultline {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A port nobody listens on right now. Another process may take it before
// we do; that race is tiny and shows up as a failed start, not a wrong pass.
int FreePort() {
  // Never hand out the same port twice in this process (two binds in a row
  // may get the same ephemeral port back).
  static std::set<int> given;
  while (true) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    int port = ntohs(addr.sin_port);
    if (given.insert(port).second) return port;
  }
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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
  HttpConnection conn("127.0.0.1", port);
  auto deadline = Clock::now() + milliseconds(15000);
  std::string last;
  while (Clock::now() < deadline) {
    HttpResult r = conn.Request("GET", "/status", "", Clock::now() + milliseconds(500));
    if (r.ok() && r.status == 200) {
      last = r.body;
      size_t up = 0;
      json status = json::parse(r.body);
      for (const auto& [id, m] : status["members"].items()) up += m.value("up", false) ? 1 : 0;
      if (up == count) return ::testing::AssertionSuccess();
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  return ::testing::AssertionFailure() << "members never all up: " << last;
}

Invocation Add(const std::string& key, int64_t e) { return {"add", key, e}; }
Invocation Read(const std::string& key) { return {"read", key, nullptr}; }

class DynastoreClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "faultline-dsclient-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    daemons_.clear();  // kills them
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // A lone node (N=R=W=1) on a free port. Returns its port.
  int StartSingle(const std::vector<std::string>& extra_args = {}) {
    const std::string id = "n1";
    int port = FreePort();
    std::vector<std::string> args = {"--id", id, "--http", "127.0.0.1:" + std::to_string(port), "--data",
                                     (dir_ / (id + "-data")).string(), "--no-sync"};
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
  std::vector<ClusterNode> WriteCluster(int r, int w, int request_timeout_ms, int failure_timeout_ms) {
    std::vector<ClusterNode> nodes;
    json list = json::array();
    for (int i = 1; i <= 3; ++i) {
      ClusterNode n{"n" + std::to_string(i), FreePort(), FreePort()};
      list.push_back({{"id", n.id},
                      {"http", "127.0.0.1:" + std::to_string(n.http)},
                      {"rpc", "127.0.0.1:" + std::to_string(n.rpc)}});
      nodes.push_back(n);
    }
    json cluster = {{"n", 3},         {"r", r},
                    {"w", w},         {"partitions", 12},
                    {"nodes", list},  {"request_timeout_ms", request_timeout_ms},
                    {"failure_timeout_ms", failure_timeout_ms}};
    std::ofstream(dir_ / "cluster.json") << cluster.dump();
    return nodes;
  }
  void StartNode(const ClusterNode& n) {
    daemons_.push_back(std::make_unique<Daemon>(
        std::vector<std::string>{"--id", n.id, "--cluster", (dir_ / "cluster.json").string(), "--data",
                                 (dir_ / (n.id + "-data")).string(), "--no-sync"},
        dir_ / (n.id + ".log")));
    EXPECT_TRUE(WaitReady(*daemons_.back(), n.http));
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
  EXPECT_EQ(c.error, "dynastore client does not support f=cas");
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
  daemons_.push_back(std::make_unique<Daemon>(
      std::vector<std::string>{"--id", "n1", "--http", "127.0.0.1:" + std::to_string(port), "--data",
                               (dir_ / "n1-data").string(), "--no-sync"},
      dir_ / "n1.log"));
  ASSERT_TRUE(WaitReady(*daemons_.back(), port));
  Completion up = client.Invoke(Add("r", 3));
  EXPECT_EQ(up.type, OpType::kOk) << up.error;
  EXPECT_EQ(client.connections_opened(), 2u);
}

}  // namespace
}  // namespace faultline
