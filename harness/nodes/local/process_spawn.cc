#include "harness/nodes/local/process_spawn.h"

// Children start with vfork, not fork: fork copies the harness's page
// tables, and the harness runs thousands of commands. On the 2-core VM a
// fork + exec of /bin/true cost 8.6 ms against 4.9 for a vfork-style spawn
// from a 20 MB process (43.5 against 4.7 from 400 MB). Boost.Process has
// vfork (bp::posix::use_vfork) but its config.hpp enables it only below
// POSIX 2008, which dropped vfork; glibc still has it. Defined before any
// Boost.Process header; without it use_vfork does not link.
#define BOOST_POSIX_HAS_VFORK 1

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/posix.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <system_error>
#include <thread>

#include "harness/base/harness_error.h"

namespace faultline {
namespace {

namespace asio = boost::asio;
namespace bp = boost::process;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// After the command itself exited, how long we still wait for its output
// pipes to close (a background grandchild may hold them open forever).
constexpr auto kPipeGrace = std::chrono::milliseconds(250);

// Marks every descriptor >= 3 close-on-exec, so a child never keeps another
// thread's pipes (or ours) open. Async-signal-safe: runs between fork and exec.
void CloexecAllFrom3() {
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  long max_fd = ::sysconf(_SC_OPEN_MAX);
  if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
  for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

// The cgroup.procs files of a Spawn, opened before the fork (open is not
// something to do between fork and exec of a multithreaded process).
struct CgroupFds {
  std::vector<int> fds;
  CgroupFds(const std::vector<std::string>& files, const std::string& what) {
    for (const auto& f : files) {
      int fd = ::open(f.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) {
        int err = errno;
        Close();
        throw HarnessError("cannot start " + what + ": cannot join cgroup " + f + ": " + std::strerror(err));
      }
      fds.push_back(fd);
    }
  }
  ~CgroupFds() { Close(); }
  void Close() {
    for (int fd : fds) ::close(fd);
    fds.clear();
  }
};

// The network namespace file of a Spawn, opened before the fork like the
// cgroups. The child enters it with setns rather than through `ip netns
// exec`, which also unshares a mount namespace and remounts /sys: that cost
// about 5 ms of CPU per command, and the harness runs thousands.
struct NetnsFd {
  int fd = -1;
  NetnsFd(const std::string& file, const std::string& what) {
    if (file.empty()) return;
    fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      throw HarnessError("cannot start " + what + ": cannot open network namespace " + file + ": " +
                         std::strerror(errno));
    }
  }
  ~NetnsFd() {
    if (fd >= 0) ::close(fd);
  }
  NetnsFd(const NetnsFd&) = delete;
  NetnsFd& operator=(const NetnsFd&) = delete;
};

// Child-side setup, run after vfork and before exec, in the child that
// shares the harness's memory while the spawning thread waits: only
// async-signal-safe calls, nothing allocated. The harness's other threads
// go on running.
struct ChildSetup : bp::extend::handler {
  bool new_session = false;  // setsid (daemon) or just a new process group (Run)
  int stdout_fd = -1;
  int stderr_fd = -1;
  const std::vector<int>* cgroup_fds = nullptr;
  int netns_fd = -1;
  const sigset_t* mask = nullptr;  // the spawning thread's signal mask, for the command
  // A step that failed, and its errno: the child writes them and exits 127
  // without exec'ing (a command must never run outside its node); the
  // parent, running again once the child exec'd or exited, reads them.
  mutable const char* failed_step = nullptr;
  mutable int failed_errno = 0;
  mutable pid_t child_pid = -1;  // for the parent to reap a child that never exec'd

  template <class Executor>
  void on_exec_setup(Executor&) const {
    child_pid = ::getpid();
    // Signals are blocked (SpawnChild): a handler of the harness must not
    // run in this child, which shares its memory. Reset them, then give the
    // command the mask it would have had.
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction current {};
      if (sig == SIGKILL || sig == SIGSTOP || ::sigaction(sig, nullptr, &current) != 0) continue;
      const bool caught =
          (current.sa_flags & SA_SIGINFO) || (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN);
      if (!caught) continue;
      struct sigaction deflt {};
      deflt.sa_handler = SIG_DFL;
      ::sigaction(sig, &deflt, nullptr);
    }
    if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) Fail("entering the node's network namespace");
    if (new_session) {
      if (::setsid() < 0) Fail("setsid");
    } else {
      ::setpgid(0, 0);
    }
    // "0" moves the writing process itself.
    for (int fd : *cgroup_fds) {
      if (::write(fd, "0", 1) != 1) Fail("joining the node's cgroup");
    }
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(stdout_fd, 1) < 0 || ::dup2(stderr_fd, 2) < 0) {
      Fail("redirecting stdio");
    }
    CloexecAllFrom3();
    ::sigprocmask(SIG_SETMASK, mask, nullptr);
  }

  template <class Executor>
  void on_exec_error(Executor&, const std::error_code&) const {
    Fail("exec");
  }

  [[noreturn]] void Fail(const char* step) const {
    failed_errno = errno;
    failed_step = step;
    ::_exit(127);
  }
};

// Starts `spawn` with `setup` (plus `extra` Boost.Process arguments, e.g. an
// environment) and returns the child's pid, which the caller reaps. Throws
// HarnessError "<verb> <what>: ..." when it could not be started; a child
// that failed its setup is reaped first.
template <class... Extra>
pid_t SpawnChild(const Spawn& spawn, ChildSetup& setup, const char* verb, const std::string& what, Extra&... extra) {
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  setup.mask = &old;
  std::error_code ec;
  pid_t pid = -1;
  {
    bp::child child(bp::exe = spawn.exe, bp::args = spawn.args, extra..., setup, bp::posix::use_vfork, ec);
    if (!ec) {
      pid = child.id();
      child.detach();  // we reap it ourselves (waitpid), to see the raw status
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if ((ec || setup.failed_step != nullptr) && setup.child_pid > 0) {
    int status = 0;
    ::waitpid(setup.child_pid, &status, 0);
  }
  if (setup.failed_step != nullptr) {
    throw HarnessError(fmt::format("{} {}: {}: {}", verb, what, setup.failed_step, std::strerror(setup.failed_errno)));
  }
  if (ec) throw HarnessError(fmt::format("{} {}: {}", verb, what, ec.message()));
  return pid;
}

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  ~Pipe() {
    if (read_fd >= 0) ::close(read_fd);
    if (write_fd >= 0) ::close(write_fd);
  }
};

void MakePipe(Pipe& p) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw HarnessError(std::string("pipe2 failed: ") + std::strerror(errno));
  p.read_fd = fds[0];
  p.write_fd = fds[1];
}

// Exit status → exit_code as CommandResult defines it (-1 for a signal).
int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

// Reads both pipes until the process exited and they closed (or the grace
// after its exit ran out); kills the group at the deadline.
void Collect(pid_t pid, Pipe& out, Pipe& err, std::chrono::milliseconds timeout, CommandResult& result) {
  asio::io_context io;
  asio::posix::stream_descriptor out_sd(io, out.read_fd);
  out.read_fd = -1;
  asio::posix::stream_descriptor err_sd(io, err.read_fd);
  err.read_fd = -1;
  int open_pipes = 2;
  auto on_read = [&](const boost::system::error_code&, size_t) { --open_pipes; };
  asio::async_read(out_sd, asio::dynamic_buffer(result.out), on_read);
  asio::async_read(err_sd, asio::dynamic_buffer(result.err), on_read);

  const auto deadline = Clock::now() + timeout;
  bool exited = false;
  int status = 0;
  std::optional<Clock::time_point> pipe_deadline;
  auto poll_interval = std::chrono::milliseconds(1);
  asio::steady_timer timer(io);
  std::function<void()> tick = [&] {
    if (!exited) {
      pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) exited = true;
      if (r < 0 && errno == ECHILD) {  // reaped by someone else: status unknown
        exited = true;
        status = -1;
      }
    }
    auto now = Clock::now();
    if (!exited && now >= deadline) {
      ::killpg(pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      exited = true;
      result.timed_out = true;
    }
    if (exited && open_pipes == 0) return;  // done: nothing rearmed, run() returns
    if (exited && !pipe_deadline) pipe_deadline = now + kPipeGrace;
    if (pipe_deadline && now >= *pipe_deadline) {
      boost::system::error_code ignored;
      out_sd.close(ignored);
      err_sd.close(ignored);
      return;
    }
    auto next = now + poll_interval;
    if (!exited) next = std::min(next, deadline);
    if (pipe_deadline) next = std::min(next, *pipe_deadline);
    poll_interval = std::min(poll_interval * 2, std::chrono::milliseconds(20));
    timer.expires_at(next);
    timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  };
  tick();
  io.run();
  result.exit_code = result.timed_out ? -1 : ExitCode(status);
}

}  // namespace

CommandResult RunSpawn(const Spawn& spawn, std::chrono::milliseconds timeout, const std::string& what) {
  CommandResult result;
  CgroupFds cgroups(spawn.join_cgroups, what);
  NetnsFd netns(spawn.join_netns, what);
  Pipe out, err;
  MakePipe(out);
  MakePipe(err);
  ChildSetup setup;
  setup.stdout_fd = out.write_fd;
  setup.stderr_fd = err.write_fd;
  setup.cgroup_fds = &cgroups.fds;
  setup.netns_fd = netns.fd;
  const pid_t pid = SpawnChild(spawn, setup, "cannot run", what);
  cgroups.Close();
  ::close(out.write_fd);
  out.write_fd = -1;
  ::close(err.write_fd);
  err.write_fd = -1;
  Collect(pid, out, err, timeout, result);
  return result;
}

int StartSpawn(const Spawn& spawn, const std::string& log_path, const Env& env, const std::string& what) {
  std::error_code ec;
  fs::path log(log_path);
  if (log.has_parent_path()) fs::create_directories(log.parent_path(), ec);
  if (ec) throw HarnessError("cannot create log directory " + log.parent_path().string() + ": " + ec.message());
  CgroupFds cgroups(spawn.join_cgroups, what);
  NetnsFd netns(spawn.join_netns, what);
  // O_NOFOLLOW: root never appends through a symlink planted at the log's name.
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (log_fd < 0) throw HarnessError("cannot open daemon log " + log_path + ": " + std::strerror(errno));

  bp::environment environment = boost::this_process::environment();
  // set(), not operator[]: Boost 1.74's lookup behind operator[] compares
  // "KEY=" with each entry for the length of "KEY=", reading past the end of
  // shorter entries (AddressSanitizer: heap-buffer-overflow); set() checks
  // the lengths first.
  for (const auto& [key, value] : env) environment.set(key, value);

  ChildSetup setup;
  setup.new_session = true;
  setup.stdout_fd = log_fd;
  setup.stderr_fd = log_fd;
  setup.cgroup_fds = &cgroups.fds;
  setup.netns_fd = netns.fd;
  pid_t pid = -1;
  try {
    pid = SpawnChild(spawn, setup, "cannot start", what, environment);
  } catch (...) {
    ::close(log_fd);
    throw;
  }
  ::close(log_fd);
  return pid;
}

std::string ResolveExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path_env = std::getenv("PATH");
  std::string path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return {};
}

void CopyKeepingMode(const fs::path& from, const fs::path& to, const std::string& what) {
  std::error_code ec;
  auto status = fs::status(from, ec);
  if (ec || !fs::is_regular_file(status)) {
    throw HarnessError(what + ": " + from.string() + " is not a readable regular file");
  }
  if (to.has_parent_path()) {
    fs::create_directories(to.parent_path(), ec);
    if (ec) throw HarnessError(what + ": cannot create " + to.parent_path().string() + ": " + ec.message());
  }
  fs::path tmp = to;
  static std::atomic<uint64_t> copies{0};
  tmp += ".faultline-tmp-" + std::to_string(::getpid()) + "-" + std::to_string(copies++);
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::permissions(tmp, status.permissions(), fs::perm_options::replace, ec);
  if (!ec) fs::rename(tmp, to, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw HarnessError(what + ": copying " + from.string() + " to " + to.string() + ": " + ec.message());
  }
}

char ProcessState(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  auto paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return 0;
  return line[paren + 2];
}

}  // namespace faultline
