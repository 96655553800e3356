#include "harness/nodes/local/netns_thread.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include "harness/base/harness_error.h"

namespace faultline {
namespace {

std::string NetnsPath(const std::string& netns) { return "/run/netns/" + netns; }

}  // namespace

bool NetnsExists(const std::string& netns) {
  struct stat st;
  return ::stat(NetnsPath(netns).c_str(), &st) == 0;
}

void RunInNetns(const std::string& netns, const std::function<void()>& fn) {
  int fd = ::open(NetnsPath(netns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw HarnessError("cannot open network namespace " + netns + ": " + std::strerror(errno));
  std::exception_ptr error;
  std::thread thread([&] {
    try {
      if (::setns(fd, CLONE_NEWNET) != 0) {
        throw HarnessError("cannot enter network namespace " + netns + ": " + std::strerror(errno));
      }
      fn();
    } catch (...) {
      error = std::current_exception();
    }
  });
  thread.join();
  ::close(fd);
  if (error) std::rethrow_exception(error);
}

std::vector<int> NetnsPids(const std::string& netns) {
  std::vector<int> pids;
  struct stat want;
  if (::stat(NetnsPath(netns).c_str(), &want) != 0) return pids;
  DIR* proc = ::opendir("/proc");
  if (!proc) return pids;
  while (struct dirent* e = ::readdir(proc)) {
    char* end;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    struct stat got;
    // A zombie has no namespaces any more: stat fails and it is skipped.
    if (::stat(("/proc/" + std::string(e->d_name) + "/ns/net").c_str(), &got) != 0) continue;
    if (got.st_dev == want.st_dev && got.st_ino == want.st_ino) pids.push_back(static_cast<int>(pid));
  }
  ::closedir(proc);
  return pids;
}

}  // namespace faultline
