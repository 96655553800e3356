// The real `faultline` binary against what a local user (uid 65534) can do
// to a root run (issue 14): a held or foreign lock, a foreign state directory.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "run_fixture.h"

namespace faultline {
namespace test {
namespace {

class LocalSecurity : public FaultlineRun {
 protected:
  void TearDown() override {
    ::unsetenv("FAULTLINE_LOCK_WAIT_MS");
    FaultlineRun::TearDown();
  }

};

TEST_F(LocalSecurity, AHeldLockFailsAfterABoundedWaitNamingTheLockAndItsHolder) {
  const fs::path lock = dir_ / "state" / ".lock";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t holder = ::fork();
  if (holder == 0) {
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT, 0600);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) ::_exit(1);
    (void)!::write(ready[1], "x", 1);
    ::pause();  // until SIGKILL
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);

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

}  // namespace
}  // namespace test
}  // namespace faultline
