// Test-only helpers shared by the tests that run real dynastore processes on
// loopback (harness dynastore tests, nemesis process and clock tests): free
// ports, file reading, "all members up" polling, and a fixture base that owns
// a temp dir, one LocalRemote per node and a DynastoreDb, and stops every node
// and removes the dir in TearDown (also after a failed assertion).
// Not thread-safe: call from the test's main thread. Everything is inline, so
// FreePort's record of given ports is one per test binary.
#ifndef FAULTLINE_HARNESS_TESTS_DYNASTORE_TEST_SUPPORT_H_
#define FAULTLINE_HARNESS_TESTS_DYNASTORE_TEST_SUPPORT_H_

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness/nodes/local/local_remote.h"
#include "harness/stores/dynastore/dynastore_db.h"
#include "harness/stores/http_connection.h"
#include "testing/proc_support.h"
#include "testing/temp_dir.h"

#ifndef DYNASTORE_BIN
#error "DYNASTORE_BIN must name the dynastore binary"
#endif

namespace faultline::test {

// A port free on 127.0.0.1 right now, never the same twice in this process
// (two binds in a row may get the same ephemeral port back). Someone else may
// take it first; that race is tiny and shows up as a failed start, never as a
// wrong pass.
inline int FreePort() {
  static std::set<int> given;
  while (true) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    int port = ntohs(addr.sin_port);
    if (given.insert(port).second) return port;
  }
}

// Polls GET /status on address:port until the node's failure detector sees
// `count` members up (nodes started one by one first see later peers down).
inline ::testing::AssertionResult AllMembersUp(const std::string& address, int port, size_t count,
                                               std::chrono::milliseconds timeout,
                                               std::chrono::milliseconds request_timeout) {
  using Clock = std::chrono::steady_clock;
  HttpConnection conn(address, port);
  auto deadline = Clock::now() + timeout;
  std::string last;
  while (Clock::now() < deadline) {
    HttpResult r = conn.Request("GET", "/status", "", Clock::now() + request_timeout);
    if (r.ok() && r.status == 200) {
      last = r.body;
      nlohmann::json status = nlohmann::json::parse(r.body);
      size_t up = 0;
      for (const auto& [id, m] : status["members"].items()) up += m.value("up", false) ? 1 : 0;
      if (up == count) return ::testing::AssertionSuccess();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ::testing::AssertionFailure() << address << ":" << port << ": members never all up: " << last;
}

// Options for dynastore from the build on free ports: N=R=W=1, 12 partitions;
// everything else at DynastoreOptions' defaults.
inline DynastoreOptions LoopbackOptions() {
  DynastoreOptions o;
  o.binary = DYNASTORE_BIN;
  o.n = o.r = o.w = 1;
  o.partitions = 12;
  o.http_port = FreePort();
  o.rpc_port = FreePort();
  return o;
}

// Fixture base: a temp dir named after `prefix`, nodes n1, n2, ... on
// 127.0.0.1, .2, ... with a LocalRemote each, and the DynastoreDb a test puts
// in db_. TearDown stops every node through db_ and removes the dir.
class DynastoreNodesTest : public ::testing::Test {
 protected:
  explicit DynastoreNodesTest(std::string prefix) : prefix_(std::move(prefix)) {}

  void SetUp() override {
    dir_ = MakeTempDir(prefix_);
    ASSERT_FALSE(dir_.empty()) << "mkdtemp " << prefix_;
  }
  void TearDown() override {
    if (db_) {
      for (const NodeInfo& node : nodes_) {
        try {
          db_->Stop(node);
        } catch (const std::exception& e) {
          ADD_FAILURE() << "Stop " << node.name << ": " << e.what();
        }
      }
    }
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  // `count` nodes n1..n<count> on 127.0.0.<i>, dirs under dir_.
  void MakeNodes(int count) {
    for (int i = 1; i <= count; ++i) {
      std::string name = "n" + std::to_string(i);
      remotes_.push_back(std::make_unique<LocalRemote>(name, ""));
      nodes_.push_back(NodeInfo{name, "127.0.0." + std::to_string(i), (dir_ / name).string(), remotes_.back().get()});
    }
  }

  std::filesystem::path dir_;
  std::vector<std::unique_ptr<LocalRemote>> remotes_;
  std::vector<NodeInfo> nodes_;
  std::unique_ptr<DynastoreDb> db_;

 private:
  std::string prefix_;
};

}  // namespace faultline::test

#endif  // FAULTLINE_HARNESS_TESTS_DYNASTORE_TEST_SUPPORT_H_
