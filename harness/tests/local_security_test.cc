// The real `faultline` binary against what a local user (uid 65534) or a
// full disk can do to a root run (issue 14): a held or foreign lock, and a
// history file system that fills up mid-run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "testing/local_user_support.h"
#include "testing/run_fixture.h"

namespace faultline {
namespace test {
namespace {

class LocalSecurity : public FaultlineRun {
 protected:
  void TearDown() override {
    if (!mounted_.empty()) ::umount2(mounted_.c_str(), MNT_DETACH);
    ::unsetenv("FAULTLINE_LOCK_WAIT_MS");
    FaultlineRun::TearDown();
  }
  // A tmpfs of `size` at dir_/name, unmounted in TearDown.
  fs::path SmallFileSystem(const std::string& name, const std::string& size) {
    const fs::path at = dir_ / name;
    fs::create_directories(at);
    if (::mount("tmpfs", at.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) return {};
    mounted_ = at;
    return at;
  }
  fs::path mounted_;
};

TEST_F(LocalSecurity, AHeldLockFailsAfterABoundedWaitNamingTheLockAndItsHolder) {
  const fs::path lock = dir_ / "state" / ".lock";
  const pid_t holder = ForkLockHolder(lock);
  ASSERT_GT(holder, 0);

  ::setenv("FAULTLINE_LOCK_WAIT_MS", "200", 1);  // instead of 30 s
  const int code = Wait(Start({"cleanup"}), 60s);
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  EXPECT_EQ(code, 2) << Output();
  EXPECT_NE(Output().find("lock " + lock.string() + " is still held"), std::string::npos) << Output();
  EXPECT_NE(Output().find("pid " + std::to_string(holder)), std::string::npos) << Output();
}

TEST_F(LocalSecurity, StateDirAndLockAreRootOnlySoNoLocalUserCanHoldTheLock) {
  ASSERT_EQ(RunFaultline({"cleanup"}), 0) << Output();
  const fs::path state = dir_ / "state";
  struct stat st {};
  ASSERT_EQ(::stat(state.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat((state / ".lock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // What hung every run before: a local user opening the lock file and holding a flock on it.
  ::chmod(dir_.c_str(), 0755);  // the fixture's dir, as /run is: anyone may look inside
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) ::_exit(100);
    const int fd = ::open((state / ".lock").c_str(), O_RDONLY);
    ::_exit(fd < 0 && errno == EACCES ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "uid 65534 could open the lock file";
}

TEST_F(LocalSecurity, AForeignStateDirIsRefusedNamingItAndTheFix) {
  const fs::path state = dir_ / "state";
  ASSERT_EQ(::chown(state.c_str(), 65534, 65534), 0);
  EXPECT_EQ(RunFaultline({"cluster", "status"}), 2) << Output();
  EXPECT_NE(Output().find(state.string() + " is owned by uid 65534"), std::string::npos) << Output();
  EXPECT_NE(Output().find("chmod 700 " + state.string()), std::string::npos) << Output();
  ASSERT_EQ(::chown(state.c_str(), 0, 0), 0);  // so TearDown's cleanup works
}

TEST_F(LocalSecurity, AFullHistoryDiskStopsTheRunAtOnceWithExit2AndWholeLines) {
  const fs::path small = SmallFileSystem("small", "64k");
  if (small.empty()) GTEST_SKIP() << "cannot mount a tmpfs here";
  // A 300 s run: only stopping at the first write error ends it within the wait.
  const int code = Wait(Start({"run", "--local", "3", "--store-dir", (small / "store").string(), "--quiesce", "1",
                               "--seed", "7", "--time-limit", "300", "--rate", "5000"}),
                        150s);
  ASSERT_EQ(code, 2) << Output();
  EXPECT_NE(Output().find("No space left on device"), std::string::npos) << Output();
  EXPECT_NE(Output().find("stopping the run: writing history"), std::string::npos) << Output();
  const fs::path run = fs::canonical(small / "store" / "latest");
  const std::string history = ReadFile(run / "history.jsonl");
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.back(), '\n') << "history ends with a torn line";
  std::istringstream lines(history);
  size_t parsed = 0;
  for (std::string line; std::getline(lines, line); ++parsed) {
    EXPECT_TRUE(json::accept(line)) << "line " << parsed << ": " << line;
  }
  EXPECT_GT(parsed, 10u);
  ExpectNothingLeft(ClusterId(run));
}

}  // namespace
}  // namespace test
}  // namespace faultline
