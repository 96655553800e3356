#include "harness/nodes/local/netns_thread.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
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

std::string DefaultRouteIn(const std::string& netns) {
  std::string found;
  RunInNetns(netns, [&] {
    // The calling thread's namespace: /proc/self/net would show the process's.
    std::ifstream in("/proc/thread-self/net/route");
    if (!in) {
      throw HarnessError("cannot read the routes of network namespace " + netns + " (/proc/thread-self/net/route)");
    }
    // Empty (not even its header) while the namespace has no main table.
    std::string line;
    std::getline(in, line);
    // Iface Destination Gateway Flags RefCnt Use Metric Mask ...; addresses
    // are the in_addr bytes as one hex number.
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string iface, destination, gateway, flags, refcnt, use, metric, mask;
      if (!(fields >> iface >> destination >> gateway >> flags >> refcnt >> use >> metric >> mask)) continue;
      if (destination != "00000000" || mask != "00000000") continue;
      found = "default";
      in_addr via{};
      via.s_addr = static_cast<in_addr_t>(std::stoul(gateway, nullptr, 16));
      char text[INET_ADDRSTRLEN] = "";
      if (via.s_addr != 0 && ::inet_ntop(AF_INET, &via, text, sizeof text)) found += std::string(" via ") + text;
      found += " dev " + iface;
      return;
    }
  });
  return found;
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
