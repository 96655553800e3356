// LocalCluster with real namespaces, veths, a bridge and TCP. Each test uses
// its own state directory and removes its clusters in TearDown.
#include "harness/nodes/local/local_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/cleanup.h"
#include "harness/nodes/local/cluster_state_file.h"
#include "harness/nodes/local/host_tools.h"
#include "harness/nodes/local/netns_names.h"
#include "harness/nodes/local/netns_thread.h"
#include "testing/cluster_state_fixture.h"
#include "testing/local_user_support.h"
#include "testing/proc_support.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::ProcState;
using test::ReadFile;

bool LinkExists(const std::string& name) { return fs::exists("/sys/class/net/" + name); }

std::string HostRun(const std::vector<std::string>& argv) {
  LocalRemote host("host", "");
  return host.Run(argv, 10s).out;
}

// A socket created in `netns` (it stays there after the thread leaves).
int SocketIn(const std::string& netns) {
  int fd = -1;
  auto make = [&] { fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); };
  if (netns.empty()) {
    make();
  } else {
    RunInNetns(netns, make);
  }
  return fd;
}

sockaddr_in Addr(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// Connects with a 5 s limit; returns 0 or the errno.
int ConnectWithin(int fd, const std::string& ip, int port) {
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  sockaddr_in a = Addr(ip, port);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int err = rc == 0 ? 0 : errno;
  if (err == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 5000) != 1) return ETIMEDOUT;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  }
  ::fcntl(fd, F_SETFL, flags);
  return err;
}

// Listener in `netns` on an ephemeral port; returns {fd, port}.
std::pair<int, int> ListenIn(const std::string& netns) {
  int fd = SocketIn(netns);
  sockaddr_in a = Addr("0.0.0.0", 0);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return {fd, ntohs(a.sin_port)};
}

// One round trip over a fresh connection from `from_netns` to ip:port.
std::string PingPong(int listen_fd, const std::string& from_netns, const std::string& ip, int port) {
  int c = SocketIn(from_netns);
  int err = ConnectWithin(c, ip, port);
  if (err != 0) {
    ::close(c);
    return std::string("connect: ") + std::strerror(err);
  }
  pollfd p{listen_fd, POLLIN, 0};
  if (::poll(&p, 1, 5000) != 1) {
    ::close(c);
    return "accept timed out";
  }
  int s = ::accept(listen_fd, nullptr, nullptr);
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  ::getpeername(s, reinterpret_cast<sockaddr*>(&peer), &len);
  char peer_ip[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &peer.sin_addr, peer_ip, sizeof peer_ip);
  ::write(c, "ping", 4);
  char buf[8] = {};
  timeval tv{5, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ssize_t n = ::read(s, buf, sizeof buf - 1);
  ::close(s);
  ::close(c);
  return std::string(buf, n > 0 ? n : 0) + " from " + peer_ip;
}

LocalClusterOptions Options(int nodes, bool manual = false, std::string description = "", std::string subnet = "") {
  LocalClusterOptions o;
  o.nodes = nodes;
  o.manual = manual;
  o.description = std::move(description);
  o.subnet = std::move(subnet);
  return o;
}

class LocalClusterTest : public test::StateDirTest {
 protected:
  // Runs fn in a forked child that then _exit()s without cleaning up; returns
  // what the child wrote to the pipe.
  std::string InChild(const std::function<std::string()>& fn) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_t child = ::fork();
    if (child == 0) {
      ::close(fds[0]);
      std::string out;
      try {
        out = fn();
      } catch (const std::exception& e) {
        out = std::string("EXCEPTION ") + e.what();
      }
      ::write(fds[1], out.data(), out.size());
      ::_exit(0);
    }
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, n);
    ::close(fds[0]);
    int status;
    ::waitpid(child, &status, 0);
    return out;
  }
};

TEST_F(LocalClusterTest, CreateGivesEachNodeItsAddressOnEth0AndNoDefaultRoute) {
  auto c = LocalCluster::Create(Options(3, false, "create test"));
  ASSERT_EQ(c->nodes().size(), 3u);
  EXPECT_EQ(c->run_id().size(), 6u);
  EXPECT_EQ(c->bridge(), "flb" + c->run_id());
  EXPECT_EQ(c->subnet().rfind("10.", 0), 0u) << c->subnet();
  std::string prefix = c->subnet().substr(0, c->subnet().rfind('.') + 1);
  EXPECT_EQ(c->subnet(), prefix + "0/24");
  EXPECT_NE(HostRun({"ip", "-4", "-o", "addr", "show", "dev", c->bridge()}).find(prefix + "1/24"), std::string::npos);
  for (size_t i = 0; i < 3; ++i) {
    const LocalNode& n = c->nodes()[i];
    EXPECT_EQ(n.name, "n" + std::to_string(i + 1));
    EXPECT_EQ(n.netns, "fl-" + c->run_id() + "-n" + std::to_string(i + 1));
    EXPECT_EQ(n.address, prefix + std::to_string(i + 2));
    EXPECT_EQ(c->remote(i).node(), n.name);
    EXPECT_TRUE(NetnsExists(n.netns));
    auto addr = c->remote(i).Run({"ip", "-4", "-o", "addr", "show", "dev", "eth0"}, 10s);
    ASSERT_TRUE(addr.ok()) << addr.err;
    EXPECT_NE(addr.out.find("inet " + n.address + "/24"), std::string::npos) << addr.out;
    auto links = c->remote(i).Run({"ip", "-o", "link"}, 10s);
    EXPECT_EQ(std::count(links.out.begin(), links.out.end(), '\n'), 2) << links.out;  // lo + eth0
    auto def = c->remote(i).Run({"ip", "-4", "route", "show", "default"}, 10s);
    EXPECT_TRUE(def.ok());
    EXPECT_EQ(def.out, "");
    std::string route = HostRun({"ip", "route", "get", n.address});
    EXPECT_NE(route.find("dev " + c->bridge() + " "), std::string::npos) << route;
    // IPv6 is off inside, so no router solicitations or DAD leave the node.
    auto v6 = c->remote(i).Run({"ip", "-6", "-o", "addr"}, 10s);
    EXPECT_EQ(v6.out, "") << v6.out;
  }
  auto st = ReadClusterState(LocalCluster::state_dir() / (c->run_id() + ".json"));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->nodes.size(), 3u);
  EXPECT_EQ(st->subnet, c->subnet());
  EXPECT_EQ(st->description, "create test");
  ASSERT_TRUE(st->owner);
  EXPECT_EQ(st->owner->pid, ::getpid());
  EXPECT_TRUE(OwnerAlive(*st->owner));
  if (ReadFile("/proc/sys/net/bridge/bridge-nf-call-iptables").rfind("1", 0) == 0) {
    ASSERT_EQ(st->iptables.size(), 1u);
    EXPECT_NE(HostRun({"iptables", "-S", "FORWARD"}).find("-i " + c->bridge() + " -o " + c->bridge()),
              std::string::npos);
  }
  c->Destroy();
}

TEST_F(LocalClusterTest, TcpWorksBetweenNodesAndFromTheHost) {
  auto c = LocalCluster::Create(Options(2));
  const auto& n1 = c->nodes()[0];
  const auto& n2 = c->nodes()[1];
  auto [listen_fd, port] = ListenIn(n1.netns);
  ASSERT_GE(listen_fd, 0);
  EXPECT_EQ(PingPong(listen_fd, n2.netns, n1.address, port), "ping from " + n2.address);
  std::string bridge_ip = c->subnet().substr(0, c->subnet().rfind('.') + 1) + "1";
  EXPECT_EQ(PingPong(listen_fd, "", n1.address, port), "ping from " + bridge_ip);
  ::close(listen_fd);
  // And a command run through the node's Remote sees the same network.
  auto r = c->remote(1).Run({"ip", "route", "get", n1.address}, 10s);
  EXPECT_NE(r.out.find("dev eth0"), std::string::npos) << r.out;
  c->Destroy();
}

TEST_F(LocalClusterTest, NodesCannotReachAnythingOutsideTheSubnet) {
  auto c = LocalCluster::Create(Options(1));
  // Another 10/8 address, a TEST-NET address and this host's own eth0-style
  // address: no route, so connect fails at once and nothing is sent.
  std::string other = c->subnet().rfind("10.200.", 0) == 0 ? "10.201.0.1" : "10.200.0.1";
  for (const std::string& ip : {other, std::string("198.51.100.1")}) {
    int fd = SocketIn(c->nodes()[0].netns);
    EXPECT_EQ(ConnectWithin(fd, ip, 9), ENETUNREACH) << ip;  // with a route it would time out instead
    ::close(fd);
  }
  c->Destroy();
}

TEST_F(LocalClusterTest, DestroyRemovesEverythingAndIsIdempotent) {
  auto c = LocalCluster::Create(Options(2));
  int pid = c->remote(0).StartDaemon({"sleep", "300"}, (state_dir_ / "sleep.log").string());
  int stopped = c->remote(1).StartDaemon({"sleep", "300"}, (state_dir_ / "sleep2.log").string());
  // Stop it only once it is `sleep` (not still the forked harness before its exec).
  for (int i = 0; i < 1000 && ReadFile("/proc/" + std::to_string(stopped) + "/comm") != "sleep\n"; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  c->remote(1).Signal(stopped, SIGSTOP);
  for (int i = 0; i < 1000 && ProcState(stopped) != 'T'; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(ProcState(stopped), 'T');
  std::string id = c->run_id(), bridge = c->bridge();
  auto nodes = c->nodes();
  c->Destroy();
  for (const auto& n : nodes) EXPECT_FALSE(NetnsExists(n.netns)) << n.netns;
  for (const auto& link : {bridge, "fl" + id + "-1", "fl" + id + "-2"}) EXPECT_FALSE(LinkExists(link)) << link;
  EXPECT_FALSE(fs::exists(LocalCluster::state_dir() / (id + ".json")));
  EXPECT_EQ(HostRun({"iptables", "-S", "FORWARD"}).find(bridge), std::string::npos);
  EXPECT_EQ(ProcState(pid), '\0');  // killed and reaped
  EXPECT_EQ(ProcState(stopped), '\0');
  EXPECT_FALSE(c->remote(0).Alive(pid));
  EXPECT_NO_THROW(c->Destroy());
  EXPECT_TRUE(ListLocalClusters().empty());
}

TEST_F(LocalClusterTest, ConcurrentCreatesGetDistinctSubnetsAndNames) {
  std::unique_ptr<LocalCluster> a, b;
  std::string error;
  std::thread ta([&] {
    try {
      a = LocalCluster::Create(Options(2));
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  std::thread tb([&] {
    try {
      b = LocalCluster::Create(Options(2));
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  ta.join();
  tb.join();
  ASSERT_TRUE(a && b) << error;
  EXPECT_NE(a->run_id(), b->run_id());
  EXPECT_NE(a->subnet(), b->subnet());
  EXPECT_NE(a->nodes()[0].netns, b->nodes()[0].netns);
  EXPECT_EQ(ListLocalClusters().size(), 2u);
  // Each still routes via its own bridge.
  for (auto* c : {a.get(), b.get()}) {
    EXPECT_NE(HostRun({"ip", "route", "get", c->nodes()[1].address}).find("dev " + c->bridge()), std::string::npos);
  }
  a->Destroy();
  b->Destroy();
}

TEST_F(LocalClusterTest, CleanupRemovesTheClusterOfACrashedOwner) {
  std::string out = InChild([] {
    auto c = LocalCluster::Create(Options(2, false, "crashed"));
    int pid = c->remote(1).StartDaemon({"sleep", "300"}, (LocalCluster::state_dir() / "d.log").string());
    return c->run_id() + " " + std::to_string(pid);
  });
  std::istringstream words(out);
  std::string id;
  int pid = 0;
  words >> id >> pid;
  ASSERT_EQ(id.size(), 6u) << out;
  ASSERT_GT(pid, 0) << out;
  EXPECT_TRUE(NetnsExists("fl-" + id + "-n2"));
  EXPECT_EQ(::kill(pid, 0), 0);

  auto clusters = ListLocalClusters();
  ASSERT_EQ(clusters.size(), 1u);
  EXPECT_EQ(clusters[0].run_id, id);
  EXPECT_FALSE(clusters[0].owner_alive);
  EXPECT_FALSE(clusters[0].manual);
  EXPECT_EQ(clusters[0].description, "crashed");
  EXPECT_EQ(clusters[0].nodes.size(), 2u);

  auto lines = CleanupLocalClusters(false);
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  EXPECT_NE(all.find("removed network namespace fl-" + id + "-n1"), std::string::npos) << all;
  EXPECT_NE(all.find("removed bridge flb" + id), std::string::npos) << all;
  EXPECT_NE(all.find("killed 1 process"), std::string::npos) << all;
  EXPECT_FALSE(NetnsExists("fl-" + id + "-n1"));
  EXPECT_FALSE(NetnsExists("fl-" + id + "-n2"));
  EXPECT_FALSE(LinkExists("flb" + id));
  EXPECT_FALSE(LinkExists("fl" + id + "-1"));
  EXPECT_FALSE(fs::exists(LocalCluster::state_dir() / (id + ".json")));
  // The orphaned daemon died (a zombie until init reaps it).
  char s = ProcState(pid);
  EXPECT_TRUE(s == '\0' || s == 'Z') << s;
  EXPECT_TRUE(ListLocalClusters().empty());
}

TEST_F(LocalClusterTest, CleanupLeavesManualAndLiveClustersAlone) {
  auto manual = LocalCluster::Create(Options(1, true, "cluster up"));
  auto live = LocalCluster::Create(Options(1));
  auto st = ReadClusterState(LocalCluster::state_dir() / (manual->run_id() + ".json"));
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->manual);
  EXPECT_FALSE(st->owner);

  // (Other tests' debris may be swept too: only our clusters are checked.)
  for (const auto& line : CleanupLocalClusters(false)) {
    EXPECT_EQ(line.find(manual->run_id()), std::string::npos) << line;
    EXPECT_EQ(line.find(live->run_id()), std::string::npos) << line;
  }
  EXPECT_TRUE(NetnsExists(manual->nodes()[0].netns));
  auto clusters = ListLocalClusters();
  ASSERT_EQ(clusters.size(), 2u);
  for (const auto& c : clusters) EXPECT_TRUE(c.owner_alive) << c.run_id;

  auto lines = CleanupLocalClusters(true);
  for (const auto& line : lines) EXPECT_EQ(line.find(live->run_id()), std::string::npos) << line;
  EXPECT_FALSE(NetnsExists(manual->nodes()[0].netns));
  EXPECT_FALSE(LinkExists(manual->bridge()));
  EXPECT_TRUE(NetnsExists(live->nodes()[0].netns));  // its owner (this process) still runs
  clusters = ListLocalClusters();
  ASSERT_EQ(clusters.size(), 1u);
  EXPECT_EQ(clusters[0].run_id, live->run_id());
  live->Destroy();
}

TEST_F(LocalClusterTest, CleanupRemovesDebrisWithoutStateFileButNotOtherDirectoriesClusters) {
  // A live cluster recorded in another state directory.
  extra_state_dir_ = state_dir_.string() + "-other";
  ::setenv("FAULTLINE_STATE_DIR", extra_state_dir_.c_str(), 1);
  auto other = LocalCluster::Create(Options(1));
  ::setenv("FAULTLINE_STATE_DIR", state_dir_.c_str(), 1);

  // Debris: a crashed run whose state file is lost too.
  std::string id = InChild([] { return LocalCluster::Create(Options(2))->run_id(); });
  ASSERT_EQ(id.size(), 6u) << id;
  ASSERT_TRUE(fs::remove(LocalCluster::state_dir() / (id + ".json")));
  ASSERT_TRUE(NetnsExists("fl-" + id + "-n1"));

  CleanupLocalClusters(false);
  EXPECT_FALSE(NetnsExists("fl-" + id + "-n1"));
  EXPECT_FALSE(NetnsExists("fl-" + id + "-n2"));
  EXPECT_FALSE(LinkExists("flb" + id));
  EXPECT_FALSE(LinkExists("fl" + id + "-2"));
  EXPECT_EQ(HostRun({"iptables", "-S", "FORWARD"}).find("flb" + id), std::string::npos);
  EXPECT_TRUE(NetnsExists(other->nodes()[0].netns));
  EXPECT_TRUE(LinkExists(other->bridge()));
  // TearDown destroys `other` through its own state directory.
}

TEST_F(LocalClusterTest, AttachRebuildsTheClusterFromItsStateFile) {
  auto c = LocalCluster::Create(Options(2));
  auto a = LocalCluster::Attach(c->run_id());
  EXPECT_EQ(a->run_id(), c->run_id());
  EXPECT_EQ(a->subnet(), c->subnet());
  EXPECT_EQ(a->bridge(), c->bridge());
  ASSERT_EQ(a->nodes().size(), 2u);
  EXPECT_EQ(a->nodes()[1].address, c->nodes()[1].address);
  auto r = a->remote(1).Run({"ip", "-4", "-o", "addr", "show", "dev", "eth0"}, 10s);
  EXPECT_NE(r.out.find(c->nodes()[1].address + "/24"), std::string::npos) << r.out;
  a->Destroy();
  EXPECT_FALSE(NetnsExists(c->nodes()[0].netns));
  EXPECT_THROW(LocalCluster::Attach(c->run_id()), HarnessError);
  EXPECT_THROW(LocalCluster::Attach("../etc"), HarnessError);
}

// Issue 14: root runs nX/dynastore from the node root, so a local user
// (uid 65534 here) must never own, pre-create or swap it.
using test::AsNobody;

mode_t ModeOf(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

TEST_F(LocalClusterTest, NodeRootExistsPrivateFromCreateSoNoLocalUserCanPlantOne) {
  auto c = LocalCluster::Create(Options(1));
  const fs::path n1 = c->node_dir(0), root = n1.parent_path();
  // What the attacker would do once the cluster id is known: make the node root, or n1 in it.
  EXPECT_EQ(AsNobody([&] { return ::mkdir(root.c_str(), 0777) == 0 ? 0 : errno == EEXIST ? 2 : 1; }), 2) << root;
  EXPECT_EQ(AsNobody([&] { return ::mkdir(n1.c_str(), 0777) == 0 ? 0 : errno == EACCES ? 2 : 1; }), 2) << n1;
  struct stat st {};
  ASSERT_EQ(::lstat(root.c_str(), &st), 0) << root << " should exist from Create() on";
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(root.filename().string().rfind("faultline-" + c->run_id() + "-", 0), 0u) << root;
  // The record that names it is root's alone.
  EXPECT_EQ(ModeOf(LocalCluster::state_dir()), 0700u);
  EXPECT_EQ(ModeOf(LocalCluster::state_dir() / (c->run_id() + ".json")), 0600u);
  c->Destroy();
  EXPECT_FALSE(fs::exists(root));
}

TEST_F(LocalClusterTest, ASwappedNodeRootIsNeitherUsedNorRemoved) {
  auto c = LocalCluster::Create(Options(1));
  const fs::path root = fs::path(c->node_dir(0)).parent_path();
  // The attacker's directory, with a "binary" root would run, swapped in by a symlink.
  const fs::path theirs = state_dir_ / "theirs";
  fs::create_directories(theirs / "n1");
  { std::ofstream(theirs / "n1" / "dynastore") << "#!/bin/sh\n"; }
  ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
  fs::remove_all(root);
  fs::create_directory_symlink(theirs, root);
  EXPECT_THROW(c->node_dir(0), HarnessError);
  try {
    LocalCluster::Attach(c->run_id());
    ADD_FAILURE() << "attached to a cluster whose node root is a symlink";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find(root.string() + " is a symbolic link"), std::string::npos) << e.what();
  }
  try {
    c->Destroy();
    ADD_FAILURE() << "Destroy() said nothing about the swapped node root";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to remove " + root.string()), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(theirs / "n1" / "dynastore"));  // not followed
  fs::remove(root);
  c->Destroy();  // the rest was removed already; now the state file goes too
  EXPECT_TRUE(ListLocalClusters().empty());
}

TEST_F(LocalClusterTest, AStateDirectoryAnotherUserOwnsIsRefused) {
  ASSERT_EQ(::chown(state_dir_.c_str(), 65534, 65534), 0);
  try {
    LocalCluster::Create(Options(1));
    ADD_FAILURE() << "created a cluster recorded in uid 65534's directory";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find(state_dir_.string() + " is owned by uid 65534"), std::string::npos)
        << e.what();
  }
  ASSERT_EQ(::chown(state_dir_.c_str(), 0, 0), 0);
  EXPECT_TRUE(ListLocalClusters().empty());
}

TEST_F(LocalClusterTest, RequestedSubnetMustBeFreeAndWellFormed) {
  auto c = LocalCluster::Create(Options(1));
  try {
    LocalCluster::Create(Options(1, false, "", c->subnet()));
    ADD_FAILURE() << "a second cluster on " << c->subnet() << " was created";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("already in use"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LocalCluster::Create(Options(1, false, "", "10.1.2.0/16")), HarnessError);
  EXPECT_THROW(LocalCluster::Create(Options(1, false, "", "banana")), HarnessError);
  EXPECT_THROW(LocalCluster::Create(Options(0)), HarnessError);
  EXPECT_EQ(ListLocalClusters().size(), 1u);  // failed creates left no record
  c->Destroy();
}

// A subnet holding an address of this machine is in use, even on a link
// that is down (the kernel's local table still routes the address; the
// address list, from getifaddrs, names it too).
TEST_F(LocalClusterTest, ASubnetWithAnAddressOnADownLinkIsInUse) {
  const std::string veth = "fltsub" + std::to_string(::getpid());  // 13 characters at most (15 allowed)
  HostRun({"ip", "link", "add", veth, "type", "veth", "peer", "name", veth + "p"});
  HostRun({"ip", "addr", "add", "10.255.253.7/24", "dev", veth});
  try {
    LocalCluster::Create(Options(1, false, "", "10.255.253.0/24"))->Destroy();
    ADD_FAILURE() << "a cluster was created on the subnet of " << veth << "'s address";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("10.255.253.0/24 is already in use"), std::string::npos) << e.what();
  }
  HostRun({"ip", "link", "del", veth});
  EXPECT_EQ(ListLocalClusters().size(), 0u);
}

TEST_F(LocalClusterTest, WithoutCapNetAdminCreateSaysToUseSudo) {
  std::string out = InChild([] {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capget, &header, data) != 0) return std::string("capget failed");
    data[0].effective &= ~(1u << CAP_NET_ADMIN);
    data[0].permitted &= ~(1u << CAP_NET_ADMIN);
    if (::syscall(SYS_capset, &header, data) != 0) return std::string("capset failed");
    try {
      LocalCluster::Create(Options(1));
      return std::string("created");
    } catch (const HarnessError& e) {
      return std::string(e.what());
    }
  });
  EXPECT_EQ(out, "faultline needs root (CAP_NET_ADMIN) to create network namespaces; run it with sudo");
  EXPECT_TRUE(ListClusterStateIds().empty());
}

TEST_F(LocalClusterTest, FiveNodeCreateAndDestroyTime) {
  using Ms = std::chrono::duration<double, std::milli>;
  for (int round = 0; round < 2; ++round) {
    auto t0 = std::chrono::steady_clock::now();
    auto c = LocalCluster::Create(Options(5));
    auto t1 = std::chrono::steady_clock::now();
    c->Destroy();
    auto t2 = std::chrono::steady_clock::now();
    EXPECT_FALSE(NetnsExists(c->nodes()[4].netns));
    std::cout << "5-node local cluster: create " << Ms(t1 - t0).count() << " ms, destroy " << Ms(t2 - t1).count()
              << " ms\n";
    RecordProperty("create_ms_" + std::to_string(round), std::to_string(Ms(t1 - t0).count()));
  }
}

// The names Create() makes are recognised, with their run id; near misses are not ours.
TEST(NetnsNamesTest, OurNamesGiveTheirRunIdAndOthersNone) {
  EXPECT_EQ(RunIdOfNetns(NetnsName("a1b2c3", 1)), "a1b2c3");
  EXPECT_EQ(RunIdOfNetns(NetnsName("zzzzzz", 200)), "zzzzzz");
  EXPECT_EQ(RunIdOfLink(BridgeName("a1b2c3")), "a1b2c3");
  EXPECT_EQ(RunIdOfLink(HostVethName("a1b2c3", 12)), "a1b2c3");
  EXPECT_TRUE(IsRunId("0a9z00"));
  for (const char* bad : {"fl-a1b2c3-n", "fl-a1b2c3-nx", "fl-A1b2c3-n1", "fl-a1b2c-n1", "fl-a1b2c3d-n1",
                          "xfl-a1b2c3-n1", "fl-a1b2c3-n1 ", "fl-a1b2c3_n1", ""}) {
    EXPECT_EQ(RunIdOfNetns(bad), "") << bad;
  }
  for (const char* bad :
       {"flba1b2c", "flba1b2c3x", "fla1b2c3-", "fla1b2c3-x", "fla1b2c3_1", "fla1b2c-1", "eth0", "lo", ""}) {
    EXPECT_EQ(RunIdOfLink(bad), "") << bad;
  }
  for (const char* bad : {"a1b2c", "a1b2c3d", "A1b2c3", "a1b2c-", ""}) EXPECT_FALSE(IsRunId(bad)) << bad;
}

// IpBatch (host_tools.h): the commands run in one ip, in order, up to the
// first that fails; the error lists them. Namespaces and links named after
// this process, removed whatever happens (and by scripts/sweep_test_leftovers
// once the process is gone, should it be killed first).
class IpBatchTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const auto& ns : {a_, b_, c_}) {
      if (NetnsExists(ns)) HostRun({"ip", "netns", "del", ns});
    }
    if (LinkExists(veth_)) HostRun({"ip", "link", "del", veth_});
  }
  const std::string prefix_ = "flt-ipbatch-" + std::to_string(::getpid());
  const std::string a_ = prefix_ + "-a", b_ = prefix_ + "-b", c_ = prefix_ + "-c";
  const std::string veth_ = "fltipb" + std::to_string(::getpid());
};

// Cleanup deletes links and namespaces in one batch; when one cannot go
// (here "lo", recorded as a node's veth), that one is the error and every
// other is still removed and reported.
TEST_F(IpBatchTest, ACleanupWhoseBatchFailsRemovesTheRestOneByOneAndNamesTheFailure) {
  local_internal::IpBatch({}, {{"netns", "add", a_},
                               {"netns", "add", b_},
                               {"link", "add", veth_, "type", "veth", "peer", "name", veth_ + "p"}});
  ClusterState st;
  st.run_id = "q0test";
  st.bridge = "flbq0test";
  st.nodes = {{"n1", a_, "10.255.255.2", veth_}, {"n2", b_, "10.255.255.3", "lo"}};
  std::vector<std::string> removed, errors;
  local_internal::DestroyResources(st, removed, errors);
  ASSERT_EQ(errors.size(), 1u) << local_internal::ErrorList(errors);
  EXPECT_EQ(errors[0].rfind("removing link lo: ", 0), 0u) << errors[0];
  EXPECT_FALSE(LinkExists(veth_));
  EXPECT_FALSE(NetnsExists(a_));
  EXPECT_FALSE(NetnsExists(b_));
  for (const std::string& line :
       {"removed link " + veth_, "removed network namespace " + a_, "removed network namespace " + b_}) {
    EXPECT_NE(std::find(removed.begin(), removed.end(), line), removed.end())
        << line << " not in:" << local_internal::ErrorList(removed);
  }
  EXPECT_TRUE(LinkExists("lo"));
}

TEST_F(IpBatchTest, RunsEveryCommandAndTheOptionsApplyToEach) {
  local_internal::IpBatch({}, {{"netns", "add", a_}, {"netns", "add", b_}});
  EXPECT_TRUE(NetnsExists(a_));
  EXPECT_TRUE(NetnsExists(b_));
  // -n: inside the namespace (lo starts down in a new one).
  local_internal::IpBatch({"-n", a_}, {{"link", "set", "lo", "up"}, {"addr", "add", "127.0.0.2/8", "dev", "lo"}});
  const std::string lo = HostRun({"ip", "-n", a_, "-o", "addr", "show", "dev", "lo"});
  EXPECT_NE(lo.find("127.0.0.2/8"), std::string::npos) << lo;
  EXPECT_EQ(HostRun({"ip", "-n", b_, "-o", "addr", "show", "dev", "lo"}).find("127.0.0.2"), std::string::npos);
  // Output of each command in order, one line each with -o.
  const std::string out =
      local_internal::IpBatch({"-o", "-n", a_}, {{"route", "get", "127.0.0.2"}, {"route", "get", "127.0.0.3"}});
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_LT(out.find("127.0.0.2"), out.find("127.0.0.3")) << out;
}

TEST_F(IpBatchTest, StopsAtTheFirstFailureAndTheErrorListsTheCommands) {
  local_internal::IpBatch({}, {{"netns", "add", a_}});
  try {
    local_internal::IpBatch({}, {{"netns", "add", b_}, {"netns", "add", a_}, {"netns", "add", c_}});
    FAIL() << "adding an existing namespace did not fail";
  } catch (const HarnessError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("`ip -batch` failed (exit 1)"), std::string::npos) << what;
    EXPECT_NE(what.find("2: ip netns add " + a_), std::string::npos) << what;
    EXPECT_NE(what.find("3: ip netns add " + c_), std::string::npos) << what;
  }
  EXPECT_TRUE(NetnsExists(b_));
  EXPECT_FALSE(NetnsExists(c_));
  // A word with a blank (or a quote, a backslash, '#') would change the batch line's meaning: refused, nothing run.
  for (const std::string bad : {"x y", "x\"y", "x#y", "x\\y", ""}) {
    try {
      local_internal::IpBatch({}, {{"netns", "add", c_}, {"link", "show", bad}});
      FAIL() << "argument `" << bad << "` was accepted";
    } catch (const HarnessError& e) {
      EXPECT_NE(std::string(e.what()).find("cannot go in an ip batch"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(NetnsExists(c_));
  }
}

// The default-route check of a new cluster (DefaultRouteIn) reads the
// namespace's routing table without `ip`: a device route, a route via a
// gateway, and none.
TEST_F(IpBatchTest, DefaultRouteInNamesTheNamespacesDefaultRouteOrNothing) {
  local_internal::IpBatch({}, {{"netns", "add", a_}, {"netns", "add", b_}});
  EXPECT_EQ(DefaultRouteIn(a_), "");
  local_internal::IpBatch({"-n", a_}, {{"link", "set", "lo", "up"}, {"route", "add", "default", "dev", "lo"}});
  EXPECT_EQ(DefaultRouteIn(a_), "default dev lo");
  local_internal::IpBatch({"-n", b_}, {{"link", "set", "lo", "up"},
                                       {"addr", "add", "10.255.254.2/24", "dev", "lo"},
                                       {"route", "add", "default", "via", "10.255.254.1"}});
  EXPECT_EQ(DefaultRouteIn(b_), "default via 10.255.254.1 dev lo");
  EXPECT_THROW(DefaultRouteIn(c_), HarnessError);  // no such namespace
}

}  // namespace
}  // namespace faultline
