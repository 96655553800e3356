#include "harness/nodes/container/container_remote.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/cluster_state_file.h"
#include "harness/nodes/local/host_tools.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using local_internal::Joined;
using Clock = std::chrono::steady_clock;

const std::string& Nsenter() {
  static const std::string path = [] {
    std::string p = ResolveExecutable("nsenter");
    return p.empty() ? std::string("/usr/bin/nsenter") : p;
  }();
  return path;
}

// The first child of `pid` (/proc/<pid>/task/<pid>/children); 0 when none.
int FirstChild(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  int child = 0;
  in >> child;
  return child;
}

// The innermost pid of a host pid (the last NSpid field); 0 when unknown.
int ContainerPid(int host_pid) {
  std::ifstream in("/proc/" + std::to_string(host_pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    int pid = 0, last = 0;
    while (fields >> pid) last = pid;
    return last;
  }
  return 0;
}

// A path must be absolute and free of ".." to name a file on the node.
void CheckNodePath(const std::string& path, const std::string& node) {
  if (path.empty() || path[0] != '/' || (path + "/").find("/../") != std::string::npos) {
    throw HarnessError("node " + node + ": \"" + path + "\" is not an absolute path without \"..\"");
  }
}

// Commands run in the harness's working directory when the node has it (an
// overlay of the host's root does: relative paths mean what they mean on a
// namespace node), else in "/". nsenter opens --wd before it enters the
// mount namespace, so it is named through the container's root.
std::string WorkingDir(int init_pid) {
  const std::string root = "/proc/" + std::to_string(init_pid) + "/root";
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  struct stat st;
  if (!ec && ::stat((root + cwd.string()).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return root + cwd.string();
  return root;
}

}  // namespace

// A node's file as the host reaches it: a path under the node directory's
// host mount, or <the parent, opened inside the container's root>/<name>
// through /proc/self/fd (the descriptor is kept open while in use).
class ContainerRemote::HostFile {
 public:
  HostFile(ContainerRemote& remote, const std::string& path) {
    CheckNodePath(path, remote.node());
    const std::string& mount = remote.mount_point_;
    if (path.rfind(mount + "/", 0) == 0) {
      host_ = remote.mount_host_ + path.substr(mount.size());
      return;
    }
    const int pid = remote.node_.InitPid();
    if (pid == 0) throw HarnessError("node " + remote.node() + " is down: cannot reach " + path);
    fs::path p(path);
    const std::string parent = p.parent_path().relative_path().string();
    int root = ::open(("/proc/" + std::to_string(pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) throw HarnessError("node " + remote.node() + ": cannot open its root: " + std::strerror(errno));
    open_how how{};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    fd_ = int(::syscall(SYS_openat2, root, parent.empty() ? "." : parent.c_str(), &how, sizeof how));
    const int err = errno;
    ::close(root);
    if (fd_ < 0) {
      throw HarnessError("node " + remote.node() + ": cannot open " + p.parent_path().string() + ": " +
                         std::strerror(err));
    }
    host_ = "/proc/self/fd/" + std::to_string(fd_) + "/" + p.filename().string();
  }
  ~HostFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  const std::string& path() const { return host_; }

 private:
  int fd_ = -1;
  std::string host_;
};

ContainerRemote::ContainerRemote(ContainerNode& node, std::string mount_host, std::string mount_point)
    : node_(node), mount_host_(std::move(mount_host)), mount_point_(std::move(mount_point)) {}

ContainerRemote::~ContainerRemote() = default;

Spawn ContainerRemote::Enter(const std::vector<std::string>& argv) {
  const int pid = node_.InitPid();
  if (pid == 0) throw HarnessError("cannot run `" + Joined(argv) + "` on " + node() + ": the node is down");
  Spawn spawn;
  spawn.exe = Nsenter();
  // Every namespace of the container's init; nsenter forks so the command
  // is inside its pid namespace too.
  spawn.args = {"--target", std::to_string(pid), "--all", "--wd=" + WorkingDir(pid), "--"};
  spawn.args.insert(spawn.args.end(), argv.begin(), argv.end());
  spawn.join_cgroups = node_.CgroupProcsFiles();
  return spawn;
}

CommandResult ContainerRemote::Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (argv.empty()) throw HarnessError("Run on " + node() + ": empty command");
  return RunSpawn(Enter(argv), timeout, "`" + Joined(argv) + "` on " + node());
}

void ContainerRemote::Upload(const fs::path& local, const std::string& remote_path) {
  if (fs::path parent = fs::path(remote_path).parent_path();
      remote_path.rfind(mount_point_ + "/", 0) != 0 && !parent.empty()) {
    CommandResult r = Run({"mkdir", "-p", parent.string()}, std::chrono::seconds(30));
    if (!r.ok()) throw HarnessError("upload to " + node() + ": cannot create " + parent.string() + ": " + r.err);
  }
  HostFile file(*this, remote_path);
  CopyKeepingMode(local, file.path(), "upload to " + node());
}

void ContainerRemote::Download(const std::string& remote_path, const fs::path& local) {
  HostFile file(*this, remote_path);
  CopyKeepingMode(file.path(), local, "download from " + node());
}

int ContainerRemote::StartDaemon(const std::vector<std::string>& argv, const std::string& log_path, const Env& env) {
  if (argv.empty()) throw HarnessError("StartDaemon on " + node() + ": empty command");
  const std::string what = "`" + Joined(argv) + "` on " + node();
  Spawn spawn = Enter(argv);
  HostFile log(*this, log_path);
  const int wrapper = StartSpawn(spawn, log.path(), env, what);
  // nsenter forks the daemon at once; wait until it did (or gave up).
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  int host_pid = 0, status = 0;
  while ((host_pid = FirstChild(wrapper)) == 0) {
    if (::waitpid(wrapper, &status, WNOHANG) == wrapper) {
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      throw HarnessError("cannot start " + what + ": " +
                         (code == 127 || code == 126 ? argv[0] + " not found or not executable in the container"
                                                     : "nsenter exited with " + std::to_string(code)) +
                         " (see " + log_path + ")");
    }
    if (Clock::now() >= deadline) throw HarnessError("cannot start " + what + ": nsenter did not fork in 10 s");
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  Daemon d{host_pid, wrapper, ProcessStartTime(host_pid).value_or(0), false};
  const int pid = ContainerPid(host_pid);
  if (pid == 0) d.exited = true;  // already gone
  std::lock_guard lock(mu_);
  daemons_[pid == 0 ? -wrapper : pid] = d;
  return pid == 0 ? -wrapper : pid;
}

bool ContainerRemote::DaemonAlive(Daemon& d) {
  if (d.exited) return false;
  if (d.wrapper_pid > 0 && ::waitpid(d.wrapper_pid, nullptr, WNOHANG) == d.wrapper_pid) d.wrapper_pid = 0;
  // The start time tells the daemon from a process that reused its pid.
  const char state = ProcessState(d.host_pid);
  if (state == 0 || state == 'Z' || state == 'X' || ProcessStartTime(d.host_pid).value_or(0) != d.start_time) {
    d.exited = true;
    // It follows its child out at once, unless it stopped itself with it (a
    // paused daemon killed): wake it, and reap it.
    if (d.wrapper_pid > 0) {
      ::kill(d.wrapper_pid, SIGCONT);
      for (int i = 0; i < 1000 && ::waitpid(d.wrapper_pid, nullptr, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    d.wrapper_pid = 0;
  }
  return !d.exited;
}

void ContainerRemote::Signal(int pid, int signal) {
  {
    std::lock_guard lock(mu_);
    if (auto it = daemons_.find(pid); it != daemons_.end()) {
      Daemon& d = it->second;
      if (!DaemonAlive(d)) return;
      if (::kill(d.host_pid, signal) != 0 && errno != ESRCH) {
        throw HarnessError("cannot send signal " + std::to_string(signal) + " to pid " + std::to_string(pid) + " on " +
                           node() + ": " + std::strerror(errno));
      }
      // nsenter stops itself when its child stops; it must go on to reap it.
      if (signal == SIGCONT && d.wrapper_pid > 0) ::kill(d.wrapper_pid, SIGCONT);
      return;
    }
  }
  if (pid <= 0) throw HarnessError("Signal on " + node() + ": bad pid " + std::to_string(pid));
  // Not started here (e.g. by another faultline process): signal it inside.
  CommandResult r = Run({"kill", "-" + std::to_string(signal), std::to_string(pid)}, std::chrono::seconds(30));
  if (!r.ok() && r.err.find("No such process") == std::string::npos) {
    throw HarnessError("cannot send signal " + std::to_string(signal) + " to pid " + std::to_string(pid) + " on " +
                       node() + ": " + r.err);
  }
}

bool ContainerRemote::Alive(int pid) {
  {
    std::lock_guard lock(mu_);
    if (auto it = daemons_.find(pid); it != daemons_.end()) return DaemonAlive(it->second);
  }
  if (pid <= 0 || !node_.Up()) return false;
  return Run({"kill", "-0", std::to_string(pid)}, std::chrono::seconds(30)).ok();
}

}  // namespace faultline
