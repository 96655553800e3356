// secure_fs: what a local user can plant in /tmp or a shared directory
// (a symlink, a directory of their own, a held lock) must not steer a root
// faultline. The "attacker" is a forked child running as uid 65534 (nobody),
// or a path the test chowns to it.
#include "harness/base/secure_fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/local_remote.h"
#include "testing/local_user_support.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using test::AsNobody;
using test::kNobody;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t ModeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

uid_t OwnerOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_uid;
}

class SecureFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (plays a local user with uid 65534)";
    // Like /tmp: anyone may create entries (the attacker too), sticky.
    ::chmod(dir_.path().c_str(), 01777);
  }
  test::TempDir dir_{"faultline-secure-fs-test"};
};

TEST_F(SecureFsTest, PrivateTempDirIsOursAnd0700) {
  const fs::path d = MakePrivateTempDir(dir_.path(), "faultline-x-");
  EXPECT_EQ(d.parent_path(), dir_.path());
  EXPECT_EQ(d.filename().string().rfind("faultline-x-", 0), 0u) << d;
  EXPECT_EQ(ModeOf(d), 0700u);
  EXPECT_EQ(OwnerOf(d), ::geteuid());
  EXPECT_EQ(PrivateDirProblem(d), "");
  // Nobody can put anything in it.
  EXPECT_NE(AsNobody([&] { return ::mkdir((d / "n1").c_str(), 0777) == 0 ? 0 : 1; }), 0);
}

TEST_F(SecureFsTest, PrivateDirProblemNamesSymlinksStrangersAndModes) {
  const fs::path mine = MakePrivateTempDir(dir_.path(), "d-");
  const fs::path link = dir_.path() / "link";
  fs::create_directory_symlink(mine, link);
  EXPECT_EQ(PrivateDirProblem(link), "a symbolic link");
  const fs::path theirs = dir_.path() / "theirs";
  fs::create_directory(theirs);
  ::chmod(theirs.c_str(), 0700);
  ASSERT_EQ(::chown(theirs.c_str(), kNobody, kNobody), 0);
  EXPECT_NE(PrivateDirProblem(theirs).find("owned by uid 65534"), std::string::npos) << PrivateDirProblem(theirs);
  ::chmod(mine.c_str(), 0755);
  EXPECT_NE(PrivateDirProblem(mine).find("mode 0755"), std::string::npos) << PrivateDirProblem(mine);
  EXPECT_EQ(PrivateDirProblem(dir_.path() / "missing"), "does not exist");
}

TEST_F(SecureFsTest, EnsurePrivateDirRefusesWhatOthersControlAndTightensOurOwn) {
  const fs::path made = dir_.path() / "state";
  EnsurePrivateDir(made);
  EXPECT_EQ(ModeOf(made), 0700u);

  const fs::path old = dir_.path() / "old";  // what an older faultline made: root's, 0755
  fs::create_directory(old);
  ::chmod(old.c_str(), 0755);
  EnsurePrivateDir(old);
  EXPECT_EQ(ModeOf(old), 0700u);

  const fs::path theirs = dir_.path() / "theirs";
  ASSERT_EQ(AsNobody([&] { return ::mkdir(theirs.c_str(), 0755); }), 0);
  const fs::path open_to_all = dir_.path() / "open";
  fs::create_directory(open_to_all);
  ::chmod(open_to_all.c_str(), 01777);
  const fs::path link = dir_.path() / "link";
  fs::create_directory_symlink(made, link);
  for (const auto& [path, problem] :
       {std::pair{theirs, std::string("owned by uid 65534")}, std::pair{open_to_all, std::string("mode 1777")},
        std::pair{link, std::string("a symbolic link")}}) {
    try {
      EnsurePrivateDir(path);
      ADD_FAILURE() << path << " accepted";
    } catch (const HarnessError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(path.string() + " is " + problem), std::string::npos) << what;
      EXPECT_NE(what.find("chmod 700 " + path.string()), std::string::npos) << what;  // the fix
    }
  }
  EXPECT_EQ(OwnerOf(theirs), kNobody);  // untouched
  EXPECT_EQ(ModeOf(open_to_all), 01777u);
}

TEST_F(SecureFsTest, CreateNewFileNeverWritesThroughAPlantedSymlinkOrFile) {
  const fs::path victim = dir_.path() / "victim";
  { std::ofstream(victim) << "precious\n"; }
  const fs::path planted = dir_.path() / "faultline.log";
  fs::create_symlink(victim, planted);
  EXPECT_THROW(CreateNewFile(planted, 0644), HarnessError);
  EXPECT_THROW(WriteNewFile(planted, "overwritten\n", 0644), HarnessError);
  EXPECT_THROW(WriteNewFile(victim, "overwritten\n", 0644), HarnessError);
  EXPECT_EQ(ReadFile(victim), "precious\n");

  WriteNewFile(dir_.path() / "fresh", "hello\n", 0600);
  EXPECT_EQ(ReadFile(dir_.path() / "fresh"), "hello\n");
  EXPECT_EQ(ModeOf(dir_.path() / "fresh"), 0600u);
  EXPECT_NO_THROW(FsyncDir(dir_.path()));
}

TEST_F(SecureFsTest, DaemonLogIsNeverOpenedThroughASymlink) {
  const fs::path victim = dir_.path() / "victim";
  { std::ofstream(victim) << "precious\n"; }
  const fs::path log = dir_.path() / "store.log";
  fs::create_symlink(victim, log);
  LocalRemote host("host", "");
  EXPECT_THROW(host.StartDaemon({"sh", "-c", "echo overwritten"}, log.string()), HarnessError);
  EXPECT_EQ(ReadFile(victim), "precious\n");
}

TEST_F(SecureFsTest, HeldLockFailsAfterTheWaitNamingFileAndHolder) {
  const fs::path lock = dir_.path() / ".lock";
  const pid_t holder = test::ForkLockHolder(lock);
  ASSERT_GT(holder, 0);
  try {
    FileLock taken(lock, 100ms);
    ADD_FAILURE() << "took a lock another process holds";
  } catch (const HarnessError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(lock.string()), std::string::npos) << what;
    EXPECT_NE(what.find("pid " + std::to_string(holder)), std::string::npos) << what;
  }
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  FileLock taken(lock, 100ms);  // free again
  EXPECT_EQ(ModeOf(lock), 0600u);
}

TEST_F(SecureFsTest, LockWaitComesFromTheEnvironment) {
  ::setenv("FAULTLINE_LOCK_WAIT_MS", "250", 1);
  EXPECT_EQ(LockWait(), 250ms);
  ::setenv("FAULTLINE_LOCK_WAIT_MS", "soon", 1);
  EXPECT_THROW(LockWait(), HarnessError);
  ::unsetenv("FAULTLINE_LOCK_WAIT_MS");
  EXPECT_EQ(LockWait(), 30s);
}

TEST_F(SecureFsTest, PrivateTempFileLivesInAPrivateDirAndIsRemoved) {
  fs::path dir;
  {
    const PrivateTempFile f("cluster.json", "{}\n");
    dir = f.path().parent_path();
    EXPECT_EQ(PrivateDirProblem(dir), "");
    EXPECT_EQ(ReadFile(f.path()), "{}\n");
    EXPECT_EQ(ModeOf(f.path()), 0600u);
  }
  EXPECT_FALSE(fs::exists(dir));
}

}  // namespace
}  // namespace faultline
