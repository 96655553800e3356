#include "harness/nodes/local/local_remote.h"

#include <fcntl.h>
#include <linux/close_range.h>
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

// Child-side setup, run after fork and before exec. Only async-signal-safe
// calls here (the harness is multithreaded).
struct ChildSetup : bp::extend::handler {
  bool new_session = false;  // setsid (daemon) or just a new process group (Run)
  int stdout_fd = -1;
  int stderr_fd = -1;

  template <class Executor>
  void on_exec_setup(Executor& exec) const {
    if (new_session) {
      if (::setsid() < 0) return exec.set_error(std::error_code(errno, std::system_category()), "setsid");
    } else {
      ::setpgid(0, 0);
    }
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(stdout_fd, 1) < 0 || ::dup2(stderr_fd, 2) < 0) {
      return exec.set_error(std::error_code(errno, std::system_category()), "redirecting stdio");
    }
    CloexecAllFrom3();
  }
};

// Resolves argv[0] as execvp would. Empty when not found.
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

// `ip` lives in /usr/sbin or /sbin, which a non-root PATH may lack.
const std::string& IpBinary() {
  static const std::string ip = [] {
    std::string found = ResolveExecutable("ip");
    if (!found.empty()) return found;
    for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
      if (::access(p, X_OK) == 0) return std::string(p);
    }
    return std::string("/usr/sbin/ip");
  }();
  return ip;
}

struct Command {
  std::string exe;
  std::vector<std::string> args;  // without argv[0]
};

// The command to exec: `ip netns exec <ns> argv...` or argv itself.
Command BuildCommand(const std::string& netns, const std::vector<std::string>& argv, const std::string& resolved) {
  Command cmd;
  if (netns.empty()) {
    cmd.exe = resolved;
    cmd.args.assign(argv.begin() + 1, argv.end());
  } else {
    cmd.exe = IpBinary();
    cmd.args = {"netns", "exec", netns};
    cmd.args.insert(cmd.args.end(), argv.begin(), argv.end());
  }
  return cmd;
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

std::string Joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

// Copies via a temporary file + rename, so overwriting a running binary works
// (no ETXTBSY) and a reader never sees a half-written file.
void CopyKeepingMode(const fs::path& from, const fs::path& to, const char* what) {
  std::error_code ec;
  auto status = fs::status(from, ec);
  if (ec || !fs::is_regular_file(status)) {
    throw HarnessError(std::string(what) + ": " + from.string() + " is not a readable regular file");
  }
  if (to.has_parent_path()) {
    fs::create_directories(to.parent_path(), ec);
    if (ec)
      throw HarnessError(std::string(what) + ": cannot create " + to.parent_path().string() + ": " + ec.message());
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
    throw HarnessError(std::string(what) + ": copying " + from.string() + " to " + to.string() + ": " + ec.message());
  }
}

// `ip netns exec` joins the namespace after the fork: until then the process
// is invisible to anyone looking for the namespace's processes (a cluster's
// Destroy). Waits until it is inside; false when it exited (and was reaped)
// before we saw it there.
bool WaitUntilInNetns(int pid, const struct stat& netns) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  auto pause = std::chrono::microseconds(100);
  while (true) {
    struct stat st;
    if (::stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &st) == 0 && st.st_dev == netns.st_dev &&
        st.st_ino == netns.st_ino) {
      return true;
    }
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;
    if (Clock::now() >= deadline) return true;  // still alive: let Alive() tell
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(5000));
  }
}

}  // namespace

struct LocalRemote::Daemon {
  bool exited = false;  // reaped by us; the pid may belong to someone else now
};

LocalRemote::LocalRemote(std::string node, std::string netns) : node_(std::move(node)), netns_(std::move(netns)) {}

// Daemons are not ours to kill; their pids stay waitable by whoever cleans up.
LocalRemote::~LocalRemote() = default;

CommandResult LocalRemote::Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (argv.empty()) throw HarnessError("Run on " + node_ + ": empty command");
  CommandResult result;
  std::string resolved = ResolveExecutable(argv[0]);
  if (resolved.empty() || ::access(resolved.c_str(), F_OK) != 0) {
    result.exit_code = 127;
    result.err = argv[0] + ": command not found\n";
    return result;
  }
  if (::access(resolved.c_str(), X_OK) != 0) {
    result.exit_code = 126;
    result.err = argv[0] + ": Permission denied\n";
    return result;
  }
  Command cmd = BuildCommand(netns_, argv, resolved);

  Pipe out, err;
  MakePipe(out);
  MakePipe(err);
  ChildSetup setup;
  setup.stdout_fd = out.write_fd;
  setup.stderr_fd = err.write_fd;
  std::error_code spawn_ec;
  bp::child child(bp::exe = cmd.exe, bp::args = cmd.args, setup, spawn_ec);
  if (spawn_ec) {
    throw HarnessError("cannot run `" + Joined(argv) + "` on " + node_ + ": " + spawn_ec.message());
  }
  const pid_t pid = child.id();
  child.detach();  // we reap it ourselves (waitpid), to see the raw status
  ::close(out.write_fd);
  out.write_fd = -1;
  ::close(err.write_fd);
  err.write_fd = -1;

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
  return result;
}

void LocalRemote::Upload(const std::filesystem::path& local, const std::string& remote_path) {
  CopyKeepingMode(local, remote_path, ("upload to " + node_).c_str());
}

void LocalRemote::Download(const std::string& remote_path, const std::filesystem::path& local) {
  CopyKeepingMode(remote_path, local, ("download from " + node_).c_str());
}

int LocalRemote::StartDaemon(const std::vector<std::string>& argv, const std::string& log_path, const Env& env) {
  if (argv.empty()) throw HarnessError("StartDaemon on " + node_ + ": empty command");
  std::string resolved = ResolveExecutable(argv[0]);
  if (resolved.empty() || ::access(resolved.c_str(), X_OK) != 0) {
    throw HarnessError("cannot start `" + Joined(argv) + "` on " + node_ + ": " + argv[0] +
                       " not found or not executable");
  }
  Command cmd = BuildCommand(netns_, argv, resolved);
  struct stat netns_ns {};
  if (!netns_.empty() && ::stat(("/run/netns/" + netns_).c_str(), &netns_ns) != 0) {
    throw HarnessError("cannot start `" + Joined(argv) + "` on " + node_ + ": network namespace " + netns_ +
                       " does not exist");
  }

  std::error_code ec;
  fs::path log(log_path);
  if (log.has_parent_path()) fs::create_directories(log.parent_path(), ec);
  if (ec) throw HarnessError("cannot create log directory " + log.parent_path().string() + ": " + ec.message());
  // O_NOFOLLOW: root never appends through a symlink planted at the log's name.
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (log_fd < 0) throw HarnessError("cannot open daemon log " + log_path + ": " + std::strerror(errno));

  bp::environment environment = boost::this_process::environment();
  for (const auto& [key, value] : env) environment[key] = value;

  ChildSetup setup;
  setup.new_session = true;
  setup.stdout_fd = log_fd;
  setup.stderr_fd = log_fd;
  std::error_code spawn_ec;
  bp::child child(bp::exe = cmd.exe, bp::args = cmd.args, environment, setup, spawn_ec);
  ::close(log_fd);
  if (spawn_ec) {
    throw HarnessError("cannot start `" + Joined(argv) + "` on " + node_ + ": " + spawn_ec.message());
  }
  const int pid = child.id();
  child.detach();  // never killed by bp's destructor; reaped in Alive()
  auto daemon = std::make_unique<Daemon>();
  if (!netns_.empty()) daemon->exited = !WaitUntilInNetns(pid, netns_ns);
  std::lock_guard lock(mu_);
  daemons_[pid] = std::move(daemon);
  return pid;
}

void LocalRemote::Signal(int pid, int signal) {
  if (pid <= 0) throw HarnessError("Signal on " + node_ + ": bad pid " + std::to_string(pid));
  {
    std::lock_guard lock(mu_);
    auto it = daemons_.find(pid);
    if (it != daemons_.end() && it->second->exited) return;  // the pid may have been reused
  }
  if (::kill(pid, signal) != 0 && errno != ESRCH) {
    throw HarnessError("cannot send signal " + std::to_string(signal) + " to pid " + std::to_string(pid) + " on " +
                       node_ + ": " + std::strerror(errno));
  }
}

bool LocalRemote::Alive(int pid) {
  if (pid <= 0) return false;
  std::lock_guard lock(mu_);
  auto it = daemons_.find(pid);
  if (it != daemons_.end() && it->second->exited) return false;
  int status = 0;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) {
    if (it != daemons_.end()) it->second->exited = true;
    return false;
  }
  if (r == 0) return true;  // our child, running or stopped
  // Not our child (another Remote's, or already reaped elsewhere): ask /proc.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) {
    if (it != daemons_.end()) it->second->exited = true;
    return false;
  }
  auto paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return false;
  char state = line[paren + 2];
  return state != 'Z' && state != 'X';
}

}  // namespace faultline
