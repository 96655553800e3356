// LocalRemote against real processes, real files and a real network namespace.
#include "harness/nodes/local/local_remote.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/base/wait.h"
#include "testing/proc_support.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::ProcState;
using test::ReadFile;

class LocalRemoteTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (int pid : pids_) {
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  test::TempDir tmp_{"fl-remote-test"};  // mkdtemp; removed with the fixture
  const fs::path dir_ = tmp_.path();
  std::vector<int> pids_;  // daemons to kill if a test fails half-way
  LocalRemote host_{"h", ""};
};

TEST_F(LocalRemoteTest, RunReportsExitCodeStdoutAndStderrSeparately) {
  auto r = host_.Run({"sh", "-c", "echo out; echo err >&2; exit 3"}, 5000ms);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.ok());
  auto ok = host_.Run({"true"}, 5000ms);
  EXPECT_TRUE(ok.ok());
}

TEST_F(LocalRemoteTest, MissingCommandIsExitCode127LikeAShell) {
  auto r = host_.Run({"fl-no-such-command-xyz", "a"}, 5000ms);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
  auto abs = host_.Run({(dir_ / "missing").string()}, 5000ms);
  EXPECT_EQ(abs.exit_code, 127);
}

TEST_F(LocalRemoteTest, KilledBySignalIsMinusOne) {
  auto r = host_.Run({"sh", "-c", "kill -9 $$"}, 5000ms);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_FALSE(r.timed_out);
}

TEST_F(LocalRemoteTest, LargeOutputOnBothStreamsDoesNotDeadlock) {
  auto r = host_.Run({"sh", "-c", "head -c 1048576 /dev/zero; head -c 1048577 /dev/zero >&2; echo done"}, 20000ms);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), 1048576u + 5);
  EXPECT_EQ(r.err.size(), 1048577u);
}

TEST_F(LocalRemoteTest, TimeoutKillsTheWholeProcessGroup) {
  // The shell prints its background child's pid first, so we can check it died too.
  // Without the timeout the sleeps would end by themselves after 30 s, and
  // timed_out would be false: the flag, not the clock, says the timeout fired.
  auto r = host_.Run({"sh", "-c", "sleep 30 & echo $!; sleep 30"}, 200ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_FALSE(r.ok());
  int bg = std::atoi(r.out.c_str());
  ASSERT_GT(bg, 0) << r.out;
  EXPECT_TRUE(WaitFor([&] {
    char s = ProcState(bg);
    return s == '\0' || s == 'Z';
  })) << "background sleep "
      << bg << " survived the timeout";
}

TEST_F(LocalRemoteTest, ExitedCommandWithBackgroundChildHoldingStdoutReturnsQuickly) {
  // The child outlives Run's 10 s timeout: waiting for it to close stdout
  // would end in timed_out, returning when the shell exits does not.
  auto r = host_.Run({"sh", "-c", "sleep 60 & echo $!; exit 4"}, 10000ms);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_FALSE(r.timed_out);
  int bg = std::atoi(r.out.c_str());
  if (bg > 0) ::kill(bg, SIGKILL);
}

TEST_F(LocalRemoteTest, ArgumentsArePassedLiterallyWithoutAShell) {
  fs::path marker = dir_ / "touched";
  std::vector<std::string> args = {"two words",
                                   "it's \"quoted\"",
                                   "$(touch " + marker.string() + ")",
                                   "a; touch " + marker.string(),
                                   "*",
                                   "`touch " + marker.string() + "`",
                                   "$HOME",
                                   "",
                                   "back\\slash"};
  std::vector<std::string> argv = {"printf", "%s\\n"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = host_.Run(argv, 5000ms);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string expected;
  for (const auto& a : args) expected += a + "\n";
  EXPECT_EQ(r.out, expected);
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(LocalRemoteTest, UploadAndDownloadKeepModeCreateDirsAndOverwrite) {
  fs::path src = dir_ / "src.sh";
  std::ofstream(src) << "#!/bin/sh\necho hi\n";
  fs::permissions(src, fs::perms(0750), fs::perm_options::replace);
  fs::path dst = dir_ / "node" / "a" / "b" / "run.sh";
  host_.Upload(src, dst.string());
  EXPECT_EQ(ReadFile(dst), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(fs::status(dst).permissions(), fs::perms(0750));

  std::ofstream(src) << "v2\n";
  fs::permissions(src, fs::perms(0640), fs::perm_options::replace);
  host_.Upload(src, dst.string());
  EXPECT_EQ(ReadFile(dst), "v2\n");
  EXPECT_EQ(fs::status(dst).permissions(), fs::perms(0640));

  fs::path back = dir_ / "down" / "x" / "copy";
  host_.Download(dst.string(), back);
  EXPECT_EQ(ReadFile(back), "v2\n");
  EXPECT_EQ(fs::status(back).permissions(), fs::perms(0640));
  // No temporary files left next to the destinations.
  EXPECT_EQ(std::distance(fs::directory_iterator(dst.parent_path()), fs::directory_iterator()), 1);

  EXPECT_THROW(host_.Upload(dir_ / "missing", (dir_ / "y").string()), HarnessError);
  EXPECT_THROW(host_.Download((dir_ / "missing").string(), dir_ / "y"), HarnessError);
}

TEST_F(LocalRemoteTest, DaemonLogsEnvSessionStopContTerm) {
  fs::path log = dir_ / "logs" / "d.log";
  fs::create_directories(log.parent_path());
  std::ofstream(log) << "old line\n";
  int pid = host_.StartDaemon({"sh", "-c", "echo hello $FL_TEST_VAR; echo to-stderr >&2; exec sleep 30"}, log.string(),
                              {{"FL_TEST_VAR", "from env"}});
  pids_.push_back(pid);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(WaitFor([&] { return ReadFile(log).find("to-stderr") != std::string::npos; })) << ReadFile(log);
  std::string text = ReadFile(log);
  EXPECT_EQ(text.rfind("old line\n", 0), 0u) << "log was truncated: " << text;
  EXPECT_NE(text.find("hello from env\n"), std::string::npos) << text;
  EXPECT_EQ(::getsid(pid), pid);
  EXPECT_NE(::getsid(pid), ::getsid(0));
  EXPECT_TRUE(host_.Alive(pid));

  host_.Signal(pid, SIGSTOP);
  EXPECT_TRUE(WaitFor([&] { return ProcState(pid) == 'T'; }));
  EXPECT_TRUE(host_.Alive(pid));
  host_.Signal(pid, SIGCONT);
  EXPECT_TRUE(WaitFor([&] { return ProcState(pid) == 'S' || ProcState(pid) == 'R'; }));
  host_.Signal(pid, SIGTERM);
  EXPECT_TRUE(WaitFor([&] { return !host_.Alive(pid); }));
  EXPECT_EQ(ProcState(pid), '\0') << "not reaped";
  if (ProcState(pid) == '\0') pids_.clear();  // reaped: the pid may be reused, never kill it again
  host_.Signal(pid, SIGTERM);                 // already gone: not an error
  EXPECT_FALSE(host_.Alive(pid));
}

TEST_F(LocalRemoteTest, DaemonThatCannotStartThrows) {
  EXPECT_THROW(host_.StartDaemon({"fl-no-such-daemon-xyz"}, (dir_ / "l.log").string()), HarnessError);
  EXPECT_THROW(host_.StartDaemon({}, (dir_ / "l.log").string()), HarnessError);
  LocalRemote nowhere("n9", "flt-no-such-namespace");
  EXPECT_THROW(nowhere.StartDaemon({"sleep", "30"}, (dir_ / "l.log").string()), HarnessError);
}

TEST_F(LocalRemoteTest, DestroyingTheRemoteLeavesDaemonsRunning) {
  int pid;
  {
    LocalRemote r("tmp", "");
    pid = r.StartDaemon({"sleep", "30"}, (dir_ / "s.log").string());
    pids_.push_back(pid);
  }
  EXPECT_EQ(::kill(pid, 0), 0);
  EXPECT_TRUE(host_.Alive(pid));  // another Remote can still see it
  ::kill(pid, SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return !host_.Alive(pid); }));  // and reap it
  EXPECT_EQ(ProcState(pid), '\0');
  if (ProcState(pid) == '\0') pids_.clear();
}

// A namespace of our own, deleted even when the test fails.
class NetnsTest : public LocalRemoteTest {
 protected:
  void SetUp() override {
    LocalRemoteTest::SetUp();
    ns_ = "flt-remote-" + std::to_string(::getpid()) + "-" + dir_.filename().string().substr(15);
    auto r = host_.Run({"ip", "netns", "add", ns_}, 10000ms);
    ASSERT_TRUE(r.ok()) << r.err;
  }
  void TearDown() override {
    LocalRemoteTest::TearDown();
    host_.Run({"ip", "netns", "del", ns_}, 10000ms);
  }
  std::string ns_;
};

TEST_F(NetnsTest, RunInsideNamespaceSeesOnlyLoopback) {
  LocalRemote node("n1", ns_);
  EXPECT_EQ(node.netns(), ns_);
  auto r = node.Run({"ip", "-o", "link"}, 10000ms);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(": lo:"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  auto missing = node.Run({"fl-no-such-command-xyz"}, 5000ms);
  EXPECT_EQ(missing.exit_code, 127);
  auto literal = node.Run({"printf", "%s|", "a b", "$(x)", ";"}, 5000ms);
  EXPECT_EQ(literal.out, "a b|$(x)|;|");
}

TEST_F(NetnsTest, DaemonPidIsTheTargetInsideTheNamespace) {
  LocalRemote node("n1", ns_);
  int pid = node.StartDaemon({"sleep", "30"}, (dir_ / "sleep.log").string());
  pids_.push_back(pid);
  EXPECT_TRUE(WaitFor([&] { return ReadFile("/proc/" + std::to_string(pid) + "/comm") == "sleep\n"; }))
      << ReadFile("/proc/" + std::to_string(pid) + "/comm");
  struct stat want, got;
  ASSERT_EQ(::stat(("/run/netns/" + ns_).c_str(), &want), 0);
  ASSERT_EQ(::stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &got), 0);
  EXPECT_EQ(want.st_ino, got.st_ino);
  EXPECT_EQ(::getsid(pid), pid);
  node.Signal(pid, SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return !node.Alive(pid); }));
  if (ProcState(pid) == '\0') pids_.clear();
}

TEST_F(LocalRemoteTest, ConcurrentRunsFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto r = host_.Run({"echo", std::to_string(t * 100 + i)}, 5000ms);
        if (r.ok() && r.out == std::to_string(t * 100 + i) + "\n") ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 80);
}

}  // namespace
}  // namespace faultline
