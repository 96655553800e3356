// What both dynastore benchmarks share: Ctrl-C handling, the loopback
// target type, temp dirs, owning a started `dynastore` process, free ports,
// and reading a node's membership view. Header-only: each benchmark is one
// translation unit, and this keeps the CMake targets single-file.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>  // before Boost 1.74 Asio, which uses std::exchange without it
#include <vector>

namespace dynastore_bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// How long a started daemon gets between SIGTERM and SIGKILL.
inline constexpr auto kStopTimeout = std::chrono::seconds(5);

// Set by SIGINT/SIGTERM; the benchmark stops at its next check and every
// child is stopped by its owner's destructor on the way out.
inline volatile std::sig_atomic_t g_interrupted = 0;

inline void OnSignal(int sig) {
  g_interrupted = 1;
  std::signal(sig, SIG_DFL);  // a second Ctrl-C kills us; PDEATHSIG kills the daemons
}

inline void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a server closing mid-write is an error we count
}

struct Target {
  tcp::endpoint endpoint;
  std::string host_header;  // "127.0.0.1:8080", "[::1]:8080", "localhost:8080"
};

// One GET with a deadline; returns the HTTP status, or -1 if there was no
// complete answer in time. The body goes to `body` if given.
inline int HttpGet(const Target& target, const std::string& path, std::chrono::milliseconds timeout,
                   std::string* body = nullptr) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::empty_body> req{http::verb::get, path, 11};
  req.set(http::field::host, target.host_header);
  req.set(http::field::connection, "close");
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{1} << 30);
  int status = -1;
  stream.expires_after(timeout);
  stream.async_connect(target.endpoint, [&](error_code ec) {
    if (ec) return;
    http::async_write(stream, req, [&](error_code ec, size_t) {
      if (ec) return;
      http::async_read(stream, buffer, parser, [&](error_code ec, size_t) {
        if (ec) return;
        status = parser.get().result_int();
        if (body) *body = std::move(parser.get().body());
      });
    });
  });
  io.run();  // bounded: the stream's deadline cancels whatever is pending
  return status;
}

// A temp dir the benchmark created (mkdtemp under `root`); removed with
// everything in it by the destructor.
class TempDir {
 public:
  TempDir() = default;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
    if (ec) std::fprintf(stderr, "warning: could not remove %s: %s\n", path_.c_str(), ec.message().c_str());
  }
  bool Create(const fs::path& root, const std::string& prefix, std::string& error) {
    std::string tmpl = (root / (prefix + "-XXXXXX")).string();
    if (!mkdtemp(tmpl.data())) {
      error = "cannot create a temp dir under " + root.string() + ": " + std::strerror(errno) +
              " (choose another with --data-root)";
      return false;
    }
    path_ = tmpl;
    return true;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// One `dynastore` process this benchmark started; it owns no files (its data
// dir and log live in the Deployment's TempDir). The destructor stops it
// (SIGTERM, SIGKILL after kStopTimeout) and reaps it, so it never outlives
// the benchmark, whatever path it leaves by. PR_SET_PDEATHSIG covers the one
// exit a destructor cannot: the benchmark itself being SIGKILLed (the daemon
// dies with it; its temp dir is then left behind).
// Main thread only (the death signal is tied to the thread that forked).
class DaemonProcess {
 public:
  DaemonProcess() = default;
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  ~DaemonProcess() { Stop(); }

  // Runs args[0] with `args`, stdin from /dev/null, stdout and stderr
  // appended to `log`. `target` is where it will serve HTTP.
  bool Start(std::vector<std::string> args, const fs::path& log, const Target& target, std::string& error) {
    target_ = target;
    log_path_ = log;
    command_.clear();
    for (const auto& a : args) command_ += (command_.empty() ? "" : " ") + a;

    // Everything the child needs is prepared here: between fork and exec it
    // may only make async-signal-safe calls.
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int exec_pipe[2];  // closes on a successful exec; carries errno otherwise
    if (log_fd < 0 || null_fd < 0 || pipe2(exec_pipe, O_CLOEXEC) != 0) {
      error = std::string("cannot set up the daemon's stdio: ") + std::strerror(errno);
      if (log_fd >= 0) close(log_fd);
      if (null_fd >= 0) close(null_fd);
      return false;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      setpgid(0, 0);  // Ctrl-C reaches only us; we stop the daemon in order
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      signal(SIGPIPE, SIG_DFL);  // ignored dispositions survive exec
      dup2(null_fd, 0);
      dup2(log_fd, 1);
      dup2(log_fd, 2);
      execv(argv[0], argv.data());
      int err = errno;
      (void)!write(exec_pipe[1], &err, sizeof err);
      _exit(127);
    }
    int fork_errno = errno;
    close(log_fd);
    close(null_fd);
    close(exec_pipe[1]);
    if (pid < 0) {
      close(exec_pipe[0]);
      error = std::string("fork failed: ") + std::strerror(fork_errno);
      return false;
    }
    pid_ = pid;
    reaped_ = killed_ = term_sent_ = false;
    status_ = 0;
    int exec_errno = 0;
    ssize_t n;
    do {
      n = read(exec_pipe[0], &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    close(exec_pipe[0]);
    if (n == sizeof exec_errno) {
      error = "cannot execute " + args[0] + ": " + std::strerror(exec_errno) +
              " (build it with `ninja dynastore` or pass --dynastore PATH)";
      Stop();
      return false;
    }
    return true;
  }

  // Polls GET /status until it answers 200, the daemon exits, or `timeout`.
  bool WaitReady(std::chrono::seconds timeout, std::string& error) {
    auto deadline = Clock::now() + timeout;
    while (true) {
      if (g_interrupted) {
        error = "interrupted";
        return false;
      }
      if (Exited()) {
        error = "dynastore exited during startup (" + ExitDescription() + ")";
        return false;
      }
      if (HttpGet(target_, "/status", std::chrono::milliseconds(500)) == 200) return true;
      if (Clock::now() >= deadline) {
        error = "dynastore did not answer GET /status with 200 within " + std::to_string(timeout.count()) +
                " s (raise --startup-timeout?)";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  pid_t pid() const { return pid_; }

  // True once the daemon has exited (reaps it).
  bool Exited() {
    if (pid_ <= 0) return reaped_;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) Reaped(status);
    return reaped_;
  }

  // Sends SIGTERM once, without waiting (Stop() waits).
  void Terminate() {
    if (pid_ <= 0 || term_sent_ || Exited()) return;
    kill(pid_, SIGTERM);
    term_sent_ = true;
  }

  // Idempotent. SIGTERM, then SIGKILL if it has not exited in kStopTimeout.
  void Stop() {
    if (pid_ <= 0 || Exited()) return;
    Terminate();
    auto deadline = Clock::now() + kStopTimeout;
    while (Clock::now() < deadline) {
      if (Exited()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    killed_ = true;
    int status = 0;
    pid_t r;
    do {
      r = waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) Reaped(status);
  }

  // "exit code 0", "killed by signal 9", ...; "running" before it exited.
  std::string ExitDescription() const {
    if (!reaped_) return "running";
    std::string s;
    if (WIFEXITED(status_)) {
      s = "exit code " + std::to_string(WEXITSTATUS(status_));
    } else if (WIFSIGNALED(status_)) {
      s = "killed by signal " + std::to_string(WTERMSIG(status_)) + " (" + strsignal(WTERMSIG(status_)) + ")";
    } else {
      s = "status " + std::to_string(status_);
    }
    if (killed_) s += " after not stopping within " + std::to_string(kStopTimeout.count()) + " s of SIGTERM";
    return s;
  }

  // A clean stop is exit 0 or death by the SIGTERM we sent.
  bool StoppedCleanly() const {
    return reaped_ && !killed_ &&
           ((WIFEXITED(status_) && WEXITSTATUS(status_) == 0) ||
            (WIFSIGNALED(status_) && WTERMSIG(status_) == SIGTERM));
  }

  std::string LogTail(size_t lines) const {
    std::ifstream in(log_path_);
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);) all.push_back(line);
    std::string out;
    for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); i++) out += "  | " + all[i] + "\n";
    return out;
  }

  const Target& target() const { return target_; }
  const std::string& command() const { return command_; }

 private:
  void Reaped(int status) {
    reaped_ = true;
    status_ = status;
    pid_ = -1;
  }

  fs::path log_path_;
  Target target_;
  std::string command_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  bool killed_ = false;
  bool term_sent_ = false;
  int status_ = 0;
};

// Asks the kernel for `count` distinct free ports on 127.0.0.1: all sockets
// stay bound until every port is chosen, so no port is handed out twice.
// Another process could take one before a daemon binds it; that daemon then
// fails to start and we say so.
inline bool PickFreePorts(size_t count, std::vector<uint16_t>& ports, std::string& error) {
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::acceptor>> held;
  ports.clear();
  for (size_t i = 0; i < count; i++) {
    auto acceptor = std::make_unique<tcp::acceptor>(io);
    error_code ec;
    acceptor->open(tcp::v4(), ec);
    if (!ec) acceptor->bind(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0), ec);
    if (ec) {
      error = "cannot find a free port on 127.0.0.1: " + ec.message();
      return false;
    }
    ports.push_back(acceptor->local_endpoint().port());
    held.push_back(std::move(acceptor));
  }
  return true;
}

inline Target LoopbackTarget(uint16_t port) {
  Target t;
  t.endpoint = tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port);
  t.host_header = "127.0.0.1:" + std::to_string(port);
  return t;
}

// Whether a /status reply's failure-detector view ("members") has `id` up.
inline bool MemberUp(const nlohmann::json& status, const std::string& id) {
  if (!status.is_object()) return false;
  auto members = status.find("members");
  if (members == status.end() || !members->is_object()) return false;
  auto member = members->find(id);
  if (member == members->end() || !member->is_object()) return false;
  auto up = member->find("up");
  return up != member->end() && up->is_boolean() && up->get<bool>();
}

}  // namespace dynastore_bench
