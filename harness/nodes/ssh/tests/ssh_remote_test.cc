// SshRemote against real sshd processes inside local network namespaces
// (SshdCluster): commands, quoting, timeouts, files, daemons, host keys,
// authentication, unreachable hosts, reconnection, concurrency.
#include "harness/nodes/ssh/ssh_remote.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/base/wait.h"
#include "harness/nodes/local/local_remote.h"
#include "harness/nodes/local/netns_thread.h"
#include "testing/proc_support.h"
#include "testing/sshd_fixture.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::ReadFile;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string ConnectError(SshRemote& remote) {
  try {
    remote.Connect();
  } catch (const HarnessError& e) {
    return e.what();
  }
  return "";
}

void KeyGen(const fs::path& key) {
  LocalRemote host("host", "");
  ASSERT_TRUE(host.Run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.string()}, 30s).ok());
}

class SshRemoteTest : public test::SshdCluster {
 protected:
  fs::path Dir() const { return fs::path(cluster_->node_dir(0)).parent_path() / "ssh-remote-test"; }
};

TEST_F(SshRemoteTest, RunReportsExitCodesAndOutputAndMeasuresRoundTrip) {
  SshRemote remote("n1", Options(0));
  const auto t0 = Clock::now();
  remote.Connect();
  const double connect_ms = Ms(Clock::now() - t0);
  auto r = remote.Run({"sh", "-c", "echo out; echo err >&2; exit 3"}, 5000ms);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.timed_out);
  auto missing = remote.Run({"fl-no-such-command-xyz"}, 5000ms);
  EXPECT_EQ(missing.exit_code, 127) << missing.err;
  auto killed = remote.Run({"sh", "-c", "kill -9 $$"}, 5000ms);
  EXPECT_EQ(killed.exit_code, -1);
  EXPECT_FALSE(killed.timed_out);
  // The command really ran inside the node's namespace (its own address).
  auto ip = remote.Run({"ip", "-o", "-4", "addr", "show", "eth0"}, 5000ms);
  EXPECT_NE(ip.out.find(sshd_.addresses[0]), std::string::npos) << ip.out;

  const int kRounds = 20;
  const auto t1 = Clock::now();
  for (int i = 0; i < kRounds; ++i) ASSERT_TRUE(remote.Run({"true"}, 5000ms).ok());
  const double round_trip_ms = Ms(Clock::now() - t1) / kRounds;
  std::cout << "[figures] SSH connect (handshake + host key + publickey auth): " << connect_ms
            << " ms; command round trip (channel + exec + exit status): " << round_trip_ms << " ms" << std::endl;
  RecordProperty("connect_ms", std::to_string(connect_ms));
  RecordProperty("round_trip_ms", std::to_string(round_trip_ms));
}

TEST_F(SshRemoteTest, ArgumentsArePassedLiterallyNothingIsInjected) {
  SshRemote remote("n1 $(touch /tmp/x); 'q'", Options(0));
  fs::create_directories(Dir());
  const fs::path marker = Dir() / "injected";
  const std::vector<std::string> args = {"a b",
                                         "it's",
                                         "\"dq\"",
                                         "$(touch " + marker.string() + ")",
                                         "`touch " + marker.string() + "`",
                                         "; touch " + marker.string(),
                                         "*",
                                         "$HOME",
                                         "a\nb",
                                         "",
                                         "'\\''",
                                         "--",
                                         "&& true |"};
  std::vector<std::string> argv = {"printf", "[%s]\\n"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = remote.Run(argv, 5000ms);
  ASSERT_TRUE(r.ok()) << r.err;
  std::string expected;
  for (const auto& a : args) expected += "[" + a + "]\n";
  EXPECT_EQ(r.out, expected);
  EXPECT_FALSE(fs::exists(marker));

  // Upload to a path with spaces, quotes and $(...): mode and bytes kept, both ways.
  const fs::path local = Dir() / "src file";
  {
    std::ofstream out(local, std::ios::binary);
    for (int i = 0; i < 100000; ++i) out << static_cast<char>(i % 251);
  }
  fs::permissions(local, fs::perms(0750), fs::perm_options::replace);
  const std::string remote_path = (Dir() / "dest dir 'q' $(touch x)" / "up loaded").string();
  remote.Upload(local, remote_path);
  struct stat st {};
  ASSERT_EQ(::stat(remote_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(ReadFile(remote_path), ReadFile(local));
  // Overwriting an existing file works (rename over it).
  fs::permissions(local, fs::perms(0640), fs::perm_options::replace);
  remote.Upload(local, remote_path);
  ASSERT_EQ(::stat(remote_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  const fs::path back = Dir() / "back here" / "copy";
  remote.Download(remote_path, back);
  EXPECT_EQ(ReadFile(back), ReadFile(local));
  EXPECT_EQ(static_cast<unsigned>(fs::status(back).permissions() & fs::perms::mask), 0640u);
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_FALSE(fs::exists(Dir() / "x"));
  EXPECT_THROW(remote.Download((Dir() / "no such file").string(), Dir() / "never"), HarnessError);
}

TEST_F(SshRemoteTest, TimeoutKillsTheRemoteProcessGroup) {
  SshRemote remote("n1", Options(0));
  // Without the timeout the sleeps would end by themselves (and print
  // "never"): the flag and the output, not the clock, say the timeout fired.
  auto r = remote.Run({"sh", "-c", "sleep 47.25 & sleep 47.25; echo never"}, 700ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.out.find("never"), std::string::npos) << r.out;
  // Both sleeps (the background one too) are gone on the node.
  EXPECT_TRUE(WaitFor([] {
    return LocalRemote("h", "").Run({"pgrep", "-f", "sleep 47.25"}, 5s).out.empty();
  })) << "sleep 47.25 still running";
  // The session is still good afterwards.
  EXPECT_TRUE(remote.Run({"true"}, 5000ms).ok());
}

TEST_F(SshRemoteTest, DaemonsRunInTheirOwnSessionWithLogAndEnvAndSignals) {
  SshRemote remote("n1", Options(0));
  const std::string log = (Dir() / "daemon dir" / "d.log").string();
  const int pid =
      remote.StartDaemon({"sh", "-c", "echo started $FL_VALUE; exec sleep 60"}, log, {{"FL_VALUE", "x y '$(z)'"}});
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(remote.Alive(pid));
  EXPECT_TRUE(WaitFor([&] { return ReadFile(log).find("started x y '$(z)'") != std::string::npos; })) << ReadFile(log);
  // Its own session, and inside the node's namespace.
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string state, ppid, pgrp, session;
  fields >> state >> ppid >> pgrp >> session;
  EXPECT_EQ(session, std::to_string(pid));
  const auto in_ns = NetnsPids(cluster_->nodes()[0].netns);
  EXPECT_NE(std::find(in_ns.begin(), in_ns.end(), pid), in_ns.end());
  remote.Signal(pid, SIGSTOP);
  EXPECT_TRUE(WaitFor([&] { return test::ProcState(pid) == 'T'; }));
  EXPECT_TRUE(remote.Alive(pid));  // stopped is alive
  remote.Signal(pid, SIGCONT);
  remote.Signal(pid, SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return !remote.Alive(pid); }));
  remote.Signal(pid, SIGKILL);  // already gone: not an error
  EXPECT_THROW(remote.StartDaemon({"/fl/no/such/daemon"}, log), HarnessError);
}

TEST_F(SshRemoteTest, WrongKeyFailsFastNamingTheNode) {
  fs::create_directories(Dir());
  KeyGen(Dir() / "wrong_key");
  SshOptions o = Options(0);
  o.private_key = (Dir() / "wrong_key").string();
  SshRemote remote("n1", o);
  const auto t0 = Clock::now();
  const std::string error = ConnectError(remote);
  EXPECT_LT(Ms(Clock::now() - t0), 3000);
  EXPECT_NE(error.find("n1 (root@" + sshd_.addresses[0] + ":22)"), std::string::npos) << error;
  EXPECT_NE(error.find("authentication failed"), std::string::npos) << error;
  // Not retried: a Run fails the same way, as fast.
  EXPECT_THROW(remote.Run({"true"}, 5s), HarnessError);
}

TEST_F(SshRemoteTest, AgentKeysAuthenticateWithoutAKeyFile) {
  fs::create_directories(Dir());
  const fs::path sock = Dir() / "agent.sock";
  LocalRemote host("host", "");
  // A real ssh-agent of this test's own (its socket in the test's directory), killed at the end.
  const CommandResult agent = host.Run({"ssh-agent", "-s", "-a", sock.string()}, 10s);
  ASSERT_TRUE(agent.ok()) << agent.err;
  const auto at = agent.out.find("SSH_AGENT_PID=");
  ASSERT_NE(at, std::string::npos) << agent.out;
  const int agent_pid = std::stoi(agent.out.substr(at + 14));
  struct AgentKiller {
    int pid;
    ~AgentKiller() { ::kill(pid, SIGTERM); }
  } killer{agent_pid};
  ::setenv("SSH_AUTH_SOCK", sock.c_str(), 1);  // this test's process only (ctest runs each test alone)

  SshOptions o = Options(0);
  o.private_key.clear();
  {  // An empty agent: no key to offer.
    SshRemote remote("n1", o);
    const std::string error = ConnectError(remote);
    EXPECT_NE(error.find("authentication failed"), std::string::npos) << error;
  }
  const CommandResult add =
      host.Run({"env", "SSH_AUTH_SOCK=" + sock.string(), "ssh-add", sshd_.client_key.string()}, 10s);
  ASSERT_TRUE(add.ok()) << add.err;
  SshRemote remote("n1", o);
  EXPECT_EQ(ConnectError(remote), "");
  const CommandResult r = remote.Run({"echo", "via agent"}, 5s);
  ASSERT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.out, "via agent\n");
}

// --sudo: every command through `sudo -n --`, uploads through /tmp and `sudo mv`.
// As root here sudo cannot raise privileges, but the whole path runs for real.
TEST_F(SshRemoteTest, SudoRunsCommandsAndUploadsThroughSudo) {
  fs::create_directories(Dir());
  SshOptions o = Options(0);
  o.sudo = true;
  SshRemote remote("n1", o);
  const CommandResult id = remote.Run({"sh", "-c", "id -u; echo \"$SUDO_COMMAND\""}, 10s);
  ASSERT_TRUE(id.ok()) << id.err;
  EXPECT_EQ(id.out.substr(0, 2), "0\n") << id.out;
  EXPECT_NE(id.out.find("sh -c"), std::string::npos) << "not run through sudo: " << id.out;
  const fs::path local = Dir() / "payload";
  std::ofstream(local) << "sudo upload";
  fs::permissions(local, fs::perms(0640), fs::perm_options::replace);
  const std::string target = (Dir() / "sudo dest" / "file 'q'").string();
  remote.Upload(local, target);
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(test::ReadFile(target), "sudo upload");
  remote.Download(target, Dir() / "back");
  EXPECT_EQ(test::ReadFile(Dir() / "back"), "sudo upload");
}

TEST_F(SshRemoteTest, UnknownHostKeyRefusedUnlessCheckingIsOff) {
  fs::create_directories(Dir());
  std::ofstream(Dir() / "empty_known_hosts").close();
  SshOptions o = Options(0);
  o.known_hosts = (Dir() / "empty_known_hosts").string();
  SshRemote strict("n1", o);
  const std::string error = ConnectError(strict);
  EXPECT_NE(error.find("n1 ("), std::string::npos) << error;
  EXPECT_NE(error.find("unknown host key"), std::string::npos) << error;
  EXPECT_NE(error.find("SHA256:"), std::string::npos) << error;
  o.strict_host_key_checking = false;
  SshRemote lax("n1", o);
  EXPECT_EQ(ConnectError(lax), "");
  EXPECT_TRUE(lax.Run({"true"}, 5s).ok());
}

TEST_F(SshRemoteTest, ChangedHostKeyRefusedWithBothFingerprints) {
  fs::create_directories(Dir());
  KeyGen(Dir() / "impostor");
  std::ofstream(Dir() / "changed_known_hosts") << sshd_.addresses[0] << " " << ReadFile(Dir() / "impostor.pub");
  SshOptions o = Options(0);
  o.known_hosts = (Dir() / "changed_known_hosts").string();
  SshRemote strict("n1", o);
  const std::string error = ConnectError(strict);
  EXPECT_NE(error.find("n1 ("), std::string::npos) << error;
  EXPECT_NE(error.find("HOST KEY CHANGED"), std::string::npos) << error;
  const auto first = error.find("SHA256:");
  ASSERT_NE(first, std::string::npos) << error;
  const auto second = error.find("SHA256:", first + 1);
  ASSERT_NE(second, std::string::npos) << error;
  EXPECT_NE(error.substr(first, 50), error.substr(second, 50)) << "the two fingerprints must differ: " << error;
  o.strict_host_key_checking = false;
  SshRemote lax("n1", o);
  EXPECT_EQ(ConnectError(lax), "");
}

TEST_F(SshRemoteTest, UnreachableHostTimesOutWithinTheBound) {
  // .250 of the cluster's own subnet: routed to our bridge, nobody there.
  std::string address = sshd_.addresses[0];
  address = address.substr(0, address.rfind('.')) + ".250";
  SshOptions o = Options(0);
  o.host = address;
  o.connect_timeout = 1000ms;
  SshRemote remote("n9", o);
  const auto t0 = Clock::now();
  const std::string error = ConnectError(remote);
  const double took = Ms(Clock::now() - t0);
  std::cout << "[figures] unreachable host, connect-timeout 1000 ms: error after " << took << " ms: " << error
            << std::endl;
  EXPECT_NE(error.find("n9 (root@" + address + ":22)"), std::string::npos) << error;
  // The connect timeout ended it (the kernel alone would retry a SYN to
  // nobody for about two minutes); the figure above is for the note.
  EXPECT_NE(error.find("(timeout 1000 ms)"), std::string::npos) << error;
  EXPECT_GE(took, 900);
}

TEST_F(SshRemoteTest, ReconnectsAfterSshdRestartAndFailsClearlyWhileItIsDown) {
  SshRemote remote("n1", Options(0));
  ASSERT_TRUE(remote.Run({"true"}, 5s).ok());
  // Kill every sshd process of the node (listener and our sessions).
  for (int pid : NetnsPids(cluster_->nodes()[0].netns)) ::kill(pid, SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return NetnsPids(cluster_->nodes()[0].netns).empty(); }));
  const auto t0 = Clock::now();
  try {
    remote.Run({"true"}, 5s);
    ADD_FAILURE() << "Run succeeded with sshd down";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("n1 (root@"), std::string::npos) << e.what();
    // Refused, every attempt: it failed on the connections, not on the
    // command's 5 s timeout.
    EXPECT_NE(std::string(e.what()).find("Connection refused (after 3 attempts)"), std::string::npos) << e.what();
  }
  const double took = Ms(Clock::now() - t0);
  std::cout << "[figures] sshd down: Run failed after " << took << " ms (3 connection attempts)" << std::endl;
  StartNodeSshd(*cluster_, 0, sshd_);
  auto r = remote.Run({"echo", "back"}, 5s);
  EXPECT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.out, "back\n");
}

TEST_F(SshRemoteTest, ConcurrentCommandsFromManyThreads) {
  SshRemote remote("n1", Options(0));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        auto r = remote.Run({"echo", std::to_string(t * 100 + i)}, 10s);
        if (r.ok() && r.out == std::to_string(t * 100 + i) + "\n") ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 24);
}

TEST(ShellQuoteTest, QuotesEveryElement) {
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellCommand({"a b", "$(x)"}), "'a b' '$(x)'");
}

}  // namespace
}  // namespace faultline
