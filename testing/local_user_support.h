// What a local user can do to a root faultline, for the security tests
// (issue 14): run code as uid 65534 (nobody), and hold a flock on a file.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

namespace faultline {
namespace test {

inline constexpr uid_t kNobody = 65534;

// Runs fn as uid/gid 65534 in a forked child; returns its exit code.
inline int AsNobody(const std::function<int()>& fn) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setresgid(kNobody, kNobody, kNobody) != 0 || ::setresuid(kNobody, kNobody, kNobody) != 0) ::_exit(100);
    try {
      ::_exit(fn());
    } catch (...) {
      ::_exit(101);  // never back into gtest as a second process
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// Forks a child that holds an exclusive flock on `lock` until SIGKILLed;
// returns its pid once the lock is held (-1 if the child could not take it).
inline pid_t ForkLockHolder(const std::filesystem::path& lock) {
  int ready[2];
  if (::pipe(ready) != 0) return -1;
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
  const bool held = ::read(ready[0], &c, 1) == 1;
  ::close(ready[0]);
  if (!held) {
    ::waitpid(holder, nullptr, 0);
    return -1;
  }
  return holder;
}

}  // namespace test
}  // namespace faultline
