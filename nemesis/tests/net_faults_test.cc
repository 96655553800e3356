// Partitions and packet loss on a real local cluster (root: namespaces and
// iptables). Each test gets its own 5-node cluster and state directory and
// destroys them in TearDown. Reachability is checked with real TCP connects
// from one node's namespace to a listener in another's, all pairs at once.
#include "nemesis/net_faults.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/local_cluster.h"
#include "harness/nodes/local/netns_thread.h"
#include "testing/per_test_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A connect that got no answer in this long counts as blocked. On a bridge
// between namespaces an open path answers in well under a millisecond, and
// a dropped SYN is only retransmitted after 1 s, so the result is not a race.
constexpr auto kConnectWait = 300ms;

sockaddr_in Addr(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// Owns a set of descriptors.
struct Fds {
  std::vector<int> fds;
  ~Fds() {
    for (int fd : fds) ::close(fd);
  }
};

// Connects every socket in `fds` to its target at once and waits up to
// kConnectWait for all of them together; true where the handshake completed.
std::vector<bool> ConnectAll(const std::vector<int>& fds, const std::vector<sockaddr_in>& to) {
  std::vector<bool> done(fds.size(), false), ok(fds.size(), false);
  for (size_t i = 0; i < fds.size(); ++i) {
    ::fcntl(fds[i], F_SETFL, ::fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    int rc = ::connect(fds[i], reinterpret_cast<const sockaddr*>(&to[i]), sizeof to[i]);
    if (rc == 0) {
      done[i] = ok[i] = true;
    } else if (errno != EINPROGRESS) {
      done[i] = true;
    }
  }
  const auto deadline = Clock::now() + kConnectWait;
  while (true) {
    std::vector<pollfd> pending;
    std::vector<size_t> index;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!done[i]) {
        pending.push_back({fds[i], POLLOUT, 0});
        index.push_back(i);
      }
    }
    if (pending.empty()) break;
    // Past the deadline (say this thread was descheduled) one last look
    // without waiting still counts what completed meanwhile.
    const auto left =
        std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    const int ready = ::poll(pending.data(), pending.size(), static_cast<int>(left));
    for (size_t k = 0; ready > 0 && k < pending.size(); ++k) {
      if (pending[k].revents == 0) continue;
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(pending[k].fd, SOL_SOCKET, SO_ERROR, &err, &len);
      done[index[k]] = true;
      ok[index[k]] = err == 0;
    }
    if (left == 0) break;
  }
  return ok;
}

class NetFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeCluster(5); }

  void MakeCluster(int n) {
    state_dir_ = test::PerTestDir("fl-nemesis-net-test");
    fs::create_directories(state_dir_);
    ::setenv("FAULTLINE_STATE_DIR", state_dir_.c_str(), 1);
    LocalClusterOptions options;
    options.nodes = n;
    options.description = "nemesis_net_tests";
    cluster_ = LocalCluster::Create(options);
    for (size_t i = 0; i < cluster_->nodes().size(); ++i) {
      const LocalNode& ln = cluster_->nodes()[i];
      nodes_.push_back({ln.name, ln.address, "/tmp", &cluster_->remote(i)});
      names_.push_back(ln.name);
    }
  }

  void TearDown() override {
    if (cluster_) {
      try {
        cluster_->Destroy();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "destroying cluster " << cluster_->run_id() << ": " << e.what();
      }
    }
    std::error_code ec;
    if (!state_dir_.empty()) fs::remove_all(state_dir_, ec);
    ::unsetenv("FAULTLINE_STATE_DIR");
  }

  const std::string& Netns(const std::string& name) {
    for (const auto& n : cluster_->nodes()) {
      if (n.name == name) return n.netns;
    }
    throw std::runtime_error("no node " + name);
  }
  const std::string& Address(const std::string& name) {
    for (const auto& n : cluster_->nodes()) {
      if (n.name == name) return n.address;
    }
    throw std::runtime_error("no node " + name);
  }

  // A listener on an ephemeral port in `name`'s namespace; returns its port.
  int Listen(const std::string& name, Fds& keep) {
    int fd = -1;
    RunInNetns(Netns(name), [&] { fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); });
    keep.fds.push_back(fd);
    sockaddr_in a = Addr("0.0.0.0", 0);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd, 256), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }

  // `count` fresh sockets living in `name`'s namespace.
  std::vector<int> Sockets(const std::string& name, size_t count, Fds& keep) {
    std::vector<int> out;
    RunInNetns(Netns(name), [&] {
      for (size_t i = 0; i < count; ++i) out.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    });
    keep.fds.insert(keep.fds.end(), out.begin(), out.end());
    return out;
  }

  // For every ordered pair of distinct nodes (a, b): does a TCP connect
  // from a to a listener in b succeed? Fresh listeners each time, so no
  // accept queue fills up.
  std::map<std::string, std::set<std::string>> TcpReach() {
    Fds keep;
    std::map<std::string, int> port;
    for (const auto& b : names_) port[b] = Listen(b, keep);
    std::vector<int> fds;
    std::vector<sockaddr_in> to;
    std::vector<std::pair<std::string, std::string>> pair;
    for (const auto& a : names_) {
      std::vector<int> s = Sockets(a, names_.size() - 1, keep);
      size_t k = 0;
      for (const auto& b : names_) {
        if (a == b) continue;
        fds.push_back(s[k++]);
        to.push_back(Addr(Address(b), port[b]));
        pair.emplace_back(a, b);
      }
    }
    const std::vector<bool> ok = ConnectAll(fds, to);
    std::map<std::string, std::set<std::string>> reach;
    for (const auto& a : names_) reach[a].insert(a);
    for (size_t i = 0; i < pair.size(); ++i) {
      if (ok[i]) reach[pair[i].first].insert(pair[i].second);
    }
    return reach;
  }

  std::map<std::string, std::set<std::string>> Everyone() { return Reachable(Grudge{}, names_); }

  // How many of `count` parallel connects from a to b complete.
  int ConnectsThrough(const std::string& a, const std::string& b, size_t count) {
    Fds keep;
    const int port = Listen(b, keep);
    std::vector<int> fds = Sockets(a, count, keep);
    std::vector<sockaddr_in> to(count, Addr(Address(b), port));
    int n = 0;
    for (bool ok : ConnectAll(fds, to)) n += ok;
    return n;
  }

  std::string Iptables(const std::string& name, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"iptables", "-w"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (auto& n : nodes_) {
      if (n.name != name) continue;
      CommandResult r = n.remote->Run(argv, 10s);
      EXPECT_TRUE(r.ok()) << name << ": " << r.err;
      return r.out;
    }
    ADD_FAILURE() << "no node " << name;
    return "";
  }

  static int CountLines(const std::string& text, const std::string& needle) {
    std::istringstream in(text);
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
    return n;
  }

  fs::path state_dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::vector<NodeInfo> nodes_;
  std::vector<std::string> names_;
};

TEST_F(NetFaultsTest, EveryPartitionKindBlocksExactlyTheGrudgedPairsAndHealRestoresAll) {
  ASSERT_EQ(TcpReach(), Everyone()) << "the cluster is not fully connected to begin with";
  std::vector<std::string> kinds = GrudgeKinds();
  kinds.push_back("grudge");
  NemesisConfig config;
  // One-sided on purpose: n1 drops n2 only, yet TCP fails both ways.
  config.grudge = nlohmann::json::parse(R"({"n1":["n2"],"n3":["n4","n5"]})");
  std::mt19937_64 rng(7);
  for (const auto& kind : kinds) {
    SCOPED_TRACE(kind);
    config.partitions = {kind};
    PartitionFault fault(nodes_, config);
    const auto t0 = Clock::now();
    const nlohmann::json detail = fault.Start(rng);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    std::cout << kind << ": applied in " << ms << " ms: " << detail.dump() << "\n";
    EXPECT_EQ(detail.at("kind"), kind);
    const Grudge g = GrudgeFromJson(detail.at("grudge"), names_);
    ASSERT_FALSE(g.empty());
    std::vector<std::string> dropping;
    for (const auto& n : names_) {
      if (g.count(n)) dropping.push_back(n);
    }
    EXPECT_EQ(detail.at("targets").get<std::vector<std::string>>(), dropping);
    if (kind == "grudge") {
      EXPECT_EQ(detail.at("grudge"), config.grudge);
    }
    if (kind == "halves") {
      EXPECT_EQ(g, CompleteGrudge({{"n1", "n2", "n3"}, {"n4", "n5"}}));
    }

    const auto want = Reachable(g, names_);
    ASSERT_NE(want, Everyone());
    EXPECT_EQ(TcpReach(), want) << "grudge " << detail.at("grudge").dump();
    EXPECT_TRUE(fault.Verify().size() == dropping.size()) << "Verify should report the nodes with rules";

    const nlohmann::json healed = fault.Stop();
    EXPECT_EQ(healed.at("healed").get<std::vector<std::string>>(), dropping);
    EXPECT_EQ(TcpReach(), Everyone());
    EXPECT_TRUE(fault.Verify().empty());
    EXPECT_TRUE(VerifyNetworkHealed(nodes_).empty());
  }
}

TEST_F(NetFaultsTest, ApplyGrudgeReplacesThePreviousOneAndKeepsOneJump) {
  std::mt19937_64 rng(1);
  ApplyGrudge(nodes_, MakeGrudge("halves", names_, rng));
  ApplyGrudge(nodes_, MakeGrudge("halves", names_, rng));  // again: still one jump, no duplicate rules
  for (const auto& n : names_) {
    const std::string rules = Iptables(n, {"-S"});
    EXPECT_EQ(CountLines(rules, "-A INPUT -j FAULTLINE-PARTITION"), 1) << n << ":\n" << rules;
    EXPECT_EQ(CountLines(rules, "-A FAULTLINE-PARTITION"), n <= "n3" ? 2 : 3) << n << ":\n" << rules;
  }
  // A rule the node put above our jump meanwhile: the next apply moves the jump back in front.
  Iptables("n1", {"-I", "INPUT", "-s", Address("n2"), "-j", "ACCEPT"});
  const Grudge one{{"n2", {"n1", "n3", "n4", "n5"}}, {"n1", {"n2"}}, {"n3", {"n2"}}, {"n4", {"n2"}}, {"n5", {"n2"}}};
  ApplyGrudge(nodes_, one);
  EXPECT_EQ(TcpReach(), Reachable(one, names_));
  const std::string n1_input = Iptables("n1", {"-S", "INPUT"});
  EXPECT_EQ(CountLines(n1_input, "-j FAULTLINE-PARTITION"), 1) << n1_input;
  EXPECT_LT(n1_input.find("-j FAULTLINE-PARTITION"), n1_input.find("-j ACCEPT")) << n1_input;
  // A node the new grudge leaves alone keeps no partition chain.
  ApplyGrudge(nodes_, Grudge{{"n1", {"n2"}}, {"n2", {"n1"}}});
  EXPECT_EQ(CountLines(Iptables("n4", {"-S"}), "FAULTLINE"), 0);
  EXPECT_EQ(TcpReach(), Reachable(Grudge{{"n1", {"n2"}}}, names_));
  HealNetwork(nodes_);
  EXPECT_EQ(TcpReach(), Everyone());
}

TEST_F(NetFaultsTest, HealLeavesTheNodesOtherRulesAndIsIdempotent) {
  for (const auto& n : names_) Iptables(n, {"-A", "INPUT", "-p", "tcp", "--dport", "9999", "-j", "ACCEPT"});
  std::mt19937_64 rng(3);
  ApplyGrudge(nodes_, MakeGrudge("majorities-ring", names_, rng));
  ApplyLoss(nodes_, Grudge{{"n1", {"n2"}}}, 0.5);
  // Our jumps go first, so a node's own ACCEPT cannot bypass the fault.
  const std::string during = Iptables("n1", {"-S", "INPUT"});
  EXPECT_LT(during.find("-j FAULTLINE"), during.find("--dport 9999")) << during;
  HealNetwork(nodes_);
  for (const auto& n : names_) {
    const std::string rules = Iptables(n, {"-S"});
    EXPECT_EQ(CountLines(rules, "-A INPUT -p tcp -m tcp --dport 9999 -j ACCEPT"), 1) << n << ":\n" << rules;
    EXPECT_EQ(CountLines(rules, "FAULTLINE"), 0) << n << ":\n" << rules;
  }
  EXPECT_NO_THROW(HealNetwork(nodes_));
  EXPECT_TRUE(VerifyNetworkHealed(nodes_).empty());
  EXPECT_EQ(TcpReach(), Everyone());
  PartitionFault partition(nodes_, NemesisConfig{});
  EXPECT_EQ(partition.HealAll().at("healed"), nlohmann::json::array());
}

TEST_F(NetFaultsTest, LossWithProbabilityOneBlocksAndZeroLetsThrough) {
  // n2 drops everything from n1: n1 -> n2 loses the SYN, n2 -> n1 the SYN-ACK.
  ApplyLoss(nodes_, Grudge{{"n2", {"n1"}}}, 1.0);
  EXPECT_EQ(TcpReach(), Reachable(Grudge{{"n2", {"n1"}}}, names_));
  ApplyLoss(nodes_, Grudge{{"n2", {"n1"}}}, 0.0);
  EXPECT_EQ(CountLines(Iptables("n2", {"-S"}), "--probability"), 1);
  EXPECT_EQ(TcpReach(), Everyone());
  EXPECT_THROW(ApplyLoss(nodes_, Grudge{{"n2", {"n1"}}}, 1.5), HarnessError);
  HealNetwork(nodes_);
  EXPECT_TRUE(VerifyNetworkHealed(nodes_).empty());
}

TEST_F(NetFaultsTest, LossWithProbabilityHalfDropsSomeButNotAll) {
  // Only n2 drops (n1's SYNs), so each connect gets through with p = 0.5
  // (a lost SYN is retried after 1 s, past the wait). Of 100, P(outside
  // 10..90) is below 1e-15.
  ApplyLoss(nodes_, Grudge{{"n2", {"n1"}}}, 0.5);
  const int through = ConnectsThrough("n1", "n2", 100);
  std::cout << "loss 0.5: " << through << " of 100 connects got through\n";
  EXPECT_GE(through, 10);
  EXPECT_LE(through, 90);
  EXPECT_EQ(ConnectsThrough("n1", "n3", 20), 20);  // other pairs untouched
  HealNetwork(nodes_);
  EXPECT_EQ(ConnectsThrough("n1", "n2", 20), 20);
}

TEST_F(NetFaultsTest, LossFaultCutsTargetsFromTheRestBothWays) {
  NemesisConfig config;
  config.targets = {"n4"};
  config.loss_probability = 1.0;
  LossFault fault(nodes_, config);
  std::mt19937_64 rng(5);
  const nlohmann::json detail = fault.Start(rng);
  EXPECT_EQ(detail.at("targets"), nlohmann::json::parse(R"(["n4"])"));
  EXPECT_EQ(detail.at("probability"), 1.0);
  const Grudge pairs = GrudgeFromJson(detail.at("pairs"), names_);
  EXPECT_EQ(pairs, CompleteGrudge({{"n4"}, {"n1", "n2", "n3", "n5"}}));
  EXPECT_EQ(TcpReach(), Reachable(pairs, names_));
  EXPECT_EQ(fault.Verify().size(), 5u);
  // Partition heal leaves the loss fault alone, and vice versa.
  PartitionFault partition(nodes_, NemesisConfig{});
  partition.HealAll();
  EXPECT_EQ(TcpReach(), Reachable(pairs, names_));
  EXPECT_EQ(fault.Stop().at("healed").size(), 5u);
  EXPECT_TRUE(fault.Verify().empty());
  EXPECT_EQ(TcpReach(), Everyone());

  config.targets = {"all"};
  config.loss_probability = 0.25;
  LossFault all(nodes_, config);
  const nlohmann::json everyone = all.Start(rng);
  EXPECT_EQ(everyone.at("targets").size(), 5u);
  EXPECT_EQ(GrudgeFromJson(everyone.at("pairs"), names_), CompleteGrudge({{"n1"}, {"n2"}, {"n3"}, {"n4"}, {"n5"}}));
  EXPECT_EQ(CountLines(Iptables("n3", {"-S", "FAULTLINE-LOSS"}), "--probability 0.25"), 4);
  all.HealAll();
  EXPECT_TRUE(VerifyNetworkHealed(nodes_).empty());
}

TEST_F(NetFaultsTest, VerifyReportsLeftoversMadeByHand) {
  Iptables("n3", {"-N", "FAULTLINE-PARTITION"});
  Iptables("n4", {"-N", "FAULTLINE-LOSS"});
  Iptables("n4", {"-A", "INPUT", "-j", "FAULTLINE-LOSS"});
  Iptables("n4", {"-A", "INPUT", "-j", "FAULTLINE-LOSS"});
  const auto problems = VerifyNetworkHealed(nodes_);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].rfind("n3: ", 0), 0u) << problems[0];
  EXPECT_NE(problems[0].find("-N FAULTLINE-PARTITION"), std::string::npos) << problems[0];
  EXPECT_EQ(problems[1].rfind("n4: ", 0), 0u) << problems[1];
  EXPECT_NE(problems[1].find("-A INPUT -j FAULTLINE-LOSS"), std::string::npos) << problems[1];
  PartitionFault partition(nodes_, NemesisConfig{});
  ASSERT_EQ(partition.Verify().size(), 1u);
  EXPECT_EQ(partition.Verify()[0].rfind("n3: ", 0), 0u);
  HealNetwork(nodes_);  // both jump copies and the chains go
  EXPECT_TRUE(VerifyNetworkHealed(nodes_).empty());
  EXPECT_EQ(CountLines(Iptables("n4", {"-S"}), "FAULTLINE"), 0);
}

TEST_F(NetFaultsTest, FailuresNameTheNodeCommandAndStderr) {
  std::vector<NodeInfo> broken = nodes_;
  broken[1].address = "10.255.255.1/99";  // a bad mask: iptables refuses it without a DNS lookup
  try {
    ApplyGrudge(broken, Grudge{{"n1", {"n2"}}});
    FAIL() << "no throw";
  } catch (const HarnessError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("n1: `iptables -w -A FAULTLINE-PARTITION -s 10.255.255.1/99 -j DROP` failed"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("invalid mask"), std::string::npos) << msg;  // iptables' own stderr
  }
  EXPECT_THROW(ApplyGrudge(nodes_, Grudge{{"n1", {"n9"}}}), HarnessError);
  // What was half applied is still healed.
  EXPECT_EQ(VerifyNetworkHealed(nodes_).size(), 1u);
  HealNetwork(nodes_);
  EXPECT_TRUE(VerifyNetworkHealed(nodes_).empty());

  NemesisConfig config;
  config.partitions = {"grudge"};
  config.grudge = nlohmann::json::parse(R"({"n1":["n1"]})");
  PartitionFault fault(nodes_, config);
  std::mt19937_64 rng(1);
  try {
    fault.Start(rng);
    FAIL() << "no throw";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("\"n1\" cannot drop itself"), std::string::npos) << e.what();
  }
}

// Nine nodes, the most the targets support (targets_test.cc): every pair's
// rule is right at that size too. The times are printed for notes, not
// judged: a loaded machine may take any time.
class NineNodeNetFaultsTest : public NetFaultsTest {
 protected:
  void SetUp() override { MakeCluster(9); }
};

TEST_F(NineNodeNetFaultsTest, MajoritiesRingBlocksExactlyTheGrudgedPairsAndHealRestoresAll) {
  std::mt19937_64 rng(11);
  const Grudge g = MakeGrudge("majorities-ring", names_, rng);
  auto t0 = Clock::now();
  ApplyGrudge(nodes_, g);
  const auto apply_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  EXPECT_EQ(TcpReach(), Reachable(g, names_));
  t0 = Clock::now();
  HealNetwork(nodes_);
  const auto heal_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  std::cout << "[figures] 9 nodes: majorities-ring applied in " << apply_ms << " ms, healed in " << heal_ms << " ms\n";
  EXPECT_EQ(TcpReach(), Everyone());
}

}  // namespace
}  // namespace faultline
