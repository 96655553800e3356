// RunSpawn and StartSpawn against real processes: the signal mask a command
// gets, and that a child whose setup fails never runs its command.
#include "harness/nodes/local/process_spawn.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "harness/base/harness_error.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The hex mask of one "Sig...:" line of a process's /proc status, as text.
std::string StatusLine(const std::string& status, const std::string& key) {
  const size_t at = status.find(key + ":");
  if (at == std::string::npos) return "";
  const size_t end = status.find('\n', at);
  std::string value = status.substr(at + key.size() + 1, end - at - key.size() - 1);
  value.erase(0, value.find_first_not_of(" \t"));
  return value;
}

Spawn Command(std::vector<std::string> argv) {
  Spawn spawn;
  spawn.exe = ResolveExecutable(argv.front());
  spawn.args.assign(argv.begin() + 1, argv.end());
  return spawn;
}

TEST(ProcessSpawnTest, TheCommandGetsTheCallersSignalMask) {
  // The spawn blocks every signal while the child shares the harness's
  // memory; the command must get the caller's mask back: SIGUSR1 blocked
  // here (as after a plain fork), nothing else.
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr1, &old), 0);
  const CommandResult r = RunSpawn(Command({"cat", "/proc/self/status"}), 10s, "cat");
  pthread_sigmask(SIG_SETMASK, &old, nullptr);

  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::stoull(StatusLine(r.out, "SigBlk"), nullptr, 16), 1ULL << (SIGUSR1 - 1)) << r.out;
}

TEST(ProcessSpawnTest, AChildThatCannotEnterItsNamespaceNeverRunsItsCommand) {
  // A regular file is no network namespace: setns fails in the child, which
  // must exit before exec rather than run the command in the harness's own
  // namespace (where a node's iptables rule would hit the host).
  test::TempDir dir;
  const fs::path not_a_namespace = dir.path() / "not-a-netns";
  std::ofstream(not_a_namespace) << "x";
  const fs::path marker = dir.path() / "ran";

  Spawn run = Command({"touch", marker.string()});
  run.join_netns = not_a_namespace.string();
  try {
    RunSpawn(run, 10s, "`touch` on n1");
    ADD_FAILURE() << "RunSpawn did not throw";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot run `touch` on n1: entering the node's network namespace: "),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(StartSpawn(run, (dir.path() / "d.log").string(), {}, "`touch` on n1"), HarnessError);
  EXPECT_FALSE(fs::exists(marker));
  // Both children were reaped: this process has none left.
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(ProcessSpawnTest, AnExecThatFailsIsAnErrorNamingWhyAndLeavesNoZombie) {
  test::TempDir dir;
  const fs::path not_executable = dir.path() / "script";
  std::ofstream(not_executable) << "#!/bin/sh\ntrue\n";
  fs::permissions(not_executable, fs::perms::owner_read | fs::perms::owner_write);
  Spawn spawn;
  spawn.exe = not_executable.string();
  try {
    RunSpawn(spawn, 10s, "`script` on n1");
    ADD_FAILURE() << "RunSpawn did not throw";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot run `script` on n1: exec: Permission denied"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace
}  // namespace faultline
