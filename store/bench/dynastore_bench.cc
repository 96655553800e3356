// dynastore-bench: closed-loop HTTP load against dynastore, reported as one
// table of throughput and latency percentiles.
//
// By default it starts its own `dynastore` twice on 127.0.0.1 (a free port, a
// fresh temp data dir each), once with durable writes (fsync per write, the
// default) and once with --no-sync, runs the same load against each and
// prints the two side by side. `--target HOST:PORT` measures an already
// running server instead. Load only ever goes to loopback addresses.
//
// The load: C keep-alive HTTP/1.1 connections, each with one request in
// flight at a time (closed loop), a read-fraction mix of GET /kv/{key} and
// PUT /kv/{key} over uniformly chosen keys. A warm-up first writes every key
// once (so GETs hit), then runs the mix; only the window after it is measured.
// It uses three routes of dynastore's HTTP API: GET /status (readiness),
// GET /kv/{key} and PUT /kv/{key} with {"value", "context"}.
//
// Threading: one io_context run by --client-threads threads. A connection has
// at most one async operation outstanding, so its handlers never run
// concurrently; what connections share is atomics plus a striped-lock map of
// per-key contexts. Each connection owns its statistics; they are merged
// after the io threads are joined.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

#ifndef DYNASTORE_BIN
#define DYNASTORE_BIN "dynastore"
#endif

// How long a started daemon gets between SIGTERM and SIGKILL.
constexpr auto kStopTimeout = std::chrono::seconds(5);
// Populating the keys is part of the warm-up but may take longer than it
// (durable writes on a slow disk); past this extra budget the benchmark gives
// up on the remaining keys and says so, so it always stops by itself.
constexpr auto kPopulateGrace = std::chrono::seconds(30);
// The controller's clock: phase changes happen on this tick.
constexpr auto kTick = std::chrono::milliseconds(5);
constexpr auto kMaxBackoff = std::chrono::milliseconds(200);

// Set by SIGINT/SIGTERM; the load stops at the next tick and every child is
// stopped by its owner's destructor on the way out.
volatile std::sig_atomic_t g_interrupted = 0;

void OnSignal(int sig) {
  g_interrupted = 1;
  std::signal(sig, SIG_DFL);  // a second Ctrl-C kills us; PDEATHSIG kills the daemons
}

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a server closing mid-write is an error we count
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---------------------------------------------------------------------------
// Latency histogram

// Log-linear histogram (HdrHistogram's layout: exact below 128, then 64
// sub-buckets per power of two): fixed memory, under 1.6% relative error,
// cheap to merge. Values are nanoseconds; anything above ~18 minutes is
// clamped into the top bucket (the exact maximum is kept separately).
class Histogram {
 public:
  void Record(uint64_t ns) {
    counts_[Index(ns)]++;
    count_++;
    sum_ += ns;
    max_ = std::max(max_, ns);
  }

  void Merge(const Histogram& other) {
    for (size_t i = 0; i < kBuckets; i++) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
  }

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }

  // The value at percentile p (0..100]: the midpoint of the bucket holding
  // that rank, never above the recorded maximum. 0 when empty.
  uint64_t Percentile(double p) const {
    if (count_ == 0) return 0;
    auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; i++) {
      seen += counts_[i];
      if (seen >= rank) return std::min(LowerBound(i) + Width(i) / 2, max_);
    }
    return max_;
  }

 private:
  static constexpr int kSubBits = 6;  // 64 sub-buckets per power of two
  static constexpr uint64_t kLinear = 2u << kSubBits;  // exact below 128
  static constexpr int kMaxShift = 34;                  // top bucket starts at 2^40 ns
  static constexpr size_t kBuckets = kLinear + kMaxShift * (1u << kSubBits);

  static size_t Index(uint64_t v) {
    if (v < kLinear) return v;
    int shift = std::bit_width(v) - 1 - kSubBits;
    if (shift > kMaxShift) return kBuckets - 1;
    return kLinear + (shift - 1) * (1u << kSubBits) + ((v >> shift) - (1u << kSubBits));
  }
  static uint64_t LowerBound(size_t i) {
    if (i < kLinear) return i;
    size_t shift = (i - kLinear) / (1u << kSubBits) + 1;
    uint64_t sub = (i - kLinear) % (1u << kSubBits) + (1u << kSubBits);
    return sub << shift;
  }
  static uint64_t Width(size_t i) {
    return i < kLinear ? 1 : uint64_t{1} << ((i - kLinear) / (1u << kSubBits) + 1);
  }

  std::vector<uint64_t> counts_ = std::vector<uint64_t>(kBuckets);
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

// ---------------------------------------------------------------------------
// Minimal JSON helpers. The bench reads two fields of dynastore's replies and
// writes its own report; a full parser (and a link dependency) is not worth
// it for that. Contexts are base64url tokens and the values are ours, so the
// scanner only has to skip escapes correctly, not decode them.

// Returns the raw (still escaped) contents of the string starting at body[i]
// == '"' and sets `end` just past its closing quote.
std::optional<std::string_view> ScanString(std::string_view body, size_t i, size_t& end) {
  if (i >= body.size() || body[i] != '"') return std::nullopt;
  for (size_t j = i + 1; j < body.size(); j++) {
    if (body[j] == '\\') {
      j++;
    } else if (body[j] == '"') {
      end = j + 1;
      return body.substr(i + 1, j - i - 1);
    }
  }
  return std::nullopt;
}

// Position just past `"field"` and the ':' after it (whitespace skipped), or npos.
size_t FindField(std::string_view body, std::string_view field) {
  std::string needle = "\"" + std::string(field) + "\"";
  size_t at = body.find(needle);
  if (at == std::string_view::npos) return at;
  size_t i = at + needle.size();
  while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) i++;
  if (i >= body.size() || body[i] != ':') return std::string_view::npos;
  i++;
  while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) i++;
  return i;
}

std::optional<std::string_view> StringField(std::string_view body, std::string_view field) {
  size_t i = FindField(body, field);
  if (i == std::string_view::npos) return std::nullopt;
  size_t end = 0;
  return ScanString(body, i, end);
}

// Number of elements of the array of strings `field`, or -1 if absent.
int StringArrayLength(std::string_view body, std::string_view field) {
  size_t i = FindField(body, field);
  if (i == std::string_view::npos || body[i] != '[') return -1;
  int n = 0;
  for (i++; i < body.size();) {
    char c = body[i];
    if (c == ']') return n;
    if (c == '"') {
      size_t end = 0;
      if (!ScanString(body, i, end)) return -1;
      n++;
      i = end;
    } else {
      i++;  // commas, whitespace
    }
  }
  return -1;
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Loopback-only targets

struct Target {
  tcp::endpoint endpoint;
  std::string host_header;  // "127.0.0.1:8080", "[::1]:8080", "localhost:8080"
};

bool IsLoopback(const asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4().is_loopback();  // 127.0.0.0/8
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
  return v6.is_loopback();  // ::1
}

// Parses HOST:PORT and refuses anything that is not this machine: this
// program generates load and must never point it at another host.
bool ParseLoopbackTarget(const std::string& text, Target& out, std::string& error) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    error = "--target '" + text + "': expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080";
    return false;
  }
  std::string host = text.substr(0, colon);
  std::string port_text = text.substr(colon + 1);
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size() || port == 0 || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    error = "--target '" + text + "': '" + port_text + "' is not a port (1-65535)";
    return false;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);

  const std::string refuse = "--target '" + text +
                             "' is not a loopback address; dynastore-bench only sends load to this machine "
                             "(127.0.0.0/8, ::1 or localhost)";
  asio::ip::address addr;
  if (host == "localhost") {
    // Resolve, but keep only loopback answers: /etc/hosts decides what
    // "localhost" means and we do not trust it to stay local.
    asio::io_context io;
    tcp::resolver resolver(io);
    error_code ec;
    auto results = resolver.resolve(host, port_text, tcp::resolver::numeric_service, ec);
    bool found = false;
    if (!ec) {
      for (const auto& r : results) {
        if (IsLoopback(r.endpoint().address())) {
          addr = r.endpoint().address();
          found = true;
          break;
        }
      }
    }
    if (!found) {
      error = "--target '" + text + "': localhost does not resolve to a loopback address here; use 127.0.0.1";
      return false;
    }
  } else {
    error_code ec;
    addr = asio::ip::make_address(host, ec);
    if (ec || !IsLoopback(addr)) {
      error = refuse;
      return false;
    }
  }
  out.endpoint = tcp::endpoint(addr, static_cast<uint16_t>(port));
  out.host_header = (addr.is_v6() && host != "localhost" ? "[" + host + "]" : host) + ":" + port_text;
  return true;
}

// One GET with a deadline; returns the HTTP status, or -1 if there was no
// complete answer in time.
int HttpGetStatus(const Target& target, const std::string& path, std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::empty_body> req{http::verb::get, path, 11};
  req.set(http::field::host, target.host_header);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  int status = -1;
  stream.expires_after(timeout);
  stream.async_connect(target.endpoint, [&](error_code ec) {
    if (ec) return;
    http::async_write(stream, req, [&](error_code ec, size_t) {
      if (ec) return;
      http::async_read(stream, buffer, res, [&](error_code ec, size_t) {
        if (!ec) status = res.result_int();
      });
    });
  });
  io.run();  // bounded: the stream's deadline cancels whatever is pending
  return status;
}

// ---------------------------------------------------------------------------
// The daemon under test

// A `dynastore` this benchmark started, with its own temp dir holding the data
// dir and the daemon's log. The destructor stops the daemon (SIGTERM, SIGKILL
// after kStopTimeout), reaps it and removes the temp dir, so neither outlives
// the benchmark, whatever path it leaves by. PR_SET_PDEATHSIG covers the one
// exit a destructor cannot: the benchmark itself being SIGKILLed (the daemon
// dies with it; its temp dir, named dynastore-bench-*, is then left behind).
// Main thread only (the death signal is tied to the thread that forked).
class DaemonProcess {
 public:
  DaemonProcess() = default;
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  ~DaemonProcess() {
    Stop();
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
      if (ec) std::fprintf(stderr, "warning: could not remove %s: %s\n", dir_.c_str(), ec.message().c_str());
    }
  }

  // Starts `bin` on a free 127.0.0.1 port with a fresh data dir under `root`.
  bool Start(const std::string& bin, bool sync, int server_threads, const fs::path& root, std::string& error) {
    std::string tmpl = (root / "dynastore-bench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      error = "cannot create a temp dir under " + root.string() + ": " + std::strerror(errno) +
              " (choose another with --data-root)";
      return false;
    }
    dir_ = tmpl;
    fs::path data = dir_ / "data";
    std::error_code fec;
    fs::create_directory(data, fec);
    if (fec) {
      error = "cannot create " + data.string() + ": " + fec.message();
      return false;
    }
    uint16_t port = 0;
    if (!PickFreePort(port, error)) return false;
    target_.endpoint = tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port);
    target_.host_header = "127.0.0.1:" + std::to_string(port);

    std::vector<std::string> args = {bin, "--id", "n1", "--http", target_.host_header, "--data", data.string()};
    if (!sync) args.push_back("--no-sync");
    if (server_threads > 0) {
      args.push_back("--threads");
      args.push_back(std::to_string(server_threads));
    }
    command_.clear();
    for (const auto& a : args) command_ += (command_.empty() ? "" : " ") + a;

    // Everything the child needs is prepared here: between fork and exec it
    // may only make async-signal-safe calls.
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    log_path_ = dir_ / "dynastore.log";
    int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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
    int exec_errno = 0;
    ssize_t n;
    do {
      n = read(exec_pipe[0], &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    close(exec_pipe[0]);
    if (n == sizeof exec_errno) {
      error = "cannot execute " + bin + ": " + std::strerror(exec_errno) +
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
      if (HttpGetStatus(target_, "/status", std::chrono::milliseconds(500)) == 200) return true;
      if (Clock::now() >= deadline) {
        error = "dynastore did not answer GET /status with 200 within " + std::to_string(timeout.count()) +
                " s (raise --startup-timeout?)";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // True once the daemon has exited (reaps it).
  bool Exited() {
    if (pid_ <= 0) return reaped_;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) Reaped(status);
    return reaped_;
  }

  // Idempotent. SIGTERM, then SIGKILL if it has not exited in kStopTimeout.
  void Stop() {
    if (pid_ <= 0 || Exited()) return;
    kill(pid_, SIGTERM);
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
           ((WIFEXITED(status_) && WEXITSTATUS(status_) == 0) || (WIFSIGNALED(status_) && WTERMSIG(status_) == SIGTERM));
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
  // Asks the kernel for a free port. Another process could take it before
  // the daemon binds it; the daemon then fails to start and we say so.
  static bool PickFreePort(uint16_t& port, std::string& error) {
    asio::io_context io;
    tcp::acceptor acceptor(io);
    error_code ec;
    acceptor.open(tcp::v4(), ec);
    if (!ec) acceptor.bind(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0), ec);
    if (ec) {
      error = "cannot find a free port on 127.0.0.1: " + ec.message();
      return false;
    }
    port = acceptor.local_endpoint().port();
    return true;
  }

  void Reaped(int status) {
    reaped_ = true;
    status_ = status;
    pid_ = -1;
  }

  fs::path dir_;
  fs::path log_path_;
  Target target_;
  std::string command_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  bool killed_ = false;
  int status_ = 0;
};

// ---------------------------------------------------------------------------
// Load generation

struct LoadOptions {
  int connections = 32;
  int client_threads = 1;
  uint64_t keys = 10000;
  size_t value_bytes = 100;
  double read_fraction = 0.5;
  double seconds = 10;
  double warmup_seconds = 2;
  int op_timeout_ms = 5000;
  uint64_t seed = 1;
};

enum class Phase : int { kWarmup, kMeasure, kDrain };

// What one connection saw. Latencies are recorded for ops started inside the
// measured window that got an HTTP answer (2xx, or 404 for a GET); `window_ops`
// counts those answers that arrived inside the window (the throughput).
struct Stats {
  Histogram all, get, put;
  uint64_t window_ops = 0;
  uint64_t gets = 0, get_misses = 0, puts = 0, blind_puts = 0;
  uint64_t siblings_sum = 0, siblings_max = 0, get_hits = 0;
  uint64_t http_errors = 0, conn_errors = 0, timeouts = 0;
  std::map<int, uint64_t> error_statuses;
  uint64_t warmup_errors = 0;

  uint64_t errors() const { return http_errors + conn_errors + timeouts; }

  void Merge(const Stats& o) {
    all.Merge(o.all);
    get.Merge(o.get);
    put.Merge(o.put);
    window_ops += o.window_ops;
    gets += o.gets;
    get_misses += o.get_misses;
    puts += o.puts;
    blind_puts += o.blind_puts;
    siblings_sum += o.siblings_sum;
    siblings_max = std::max(siblings_max, o.siblings_max);
    get_hits += o.get_hits;
    http_errors += o.http_errors;
    conn_errors += o.conn_errors;
    timeouts += o.timeouts;
    for (auto [code, n] : o.error_statuses) error_statuses[code] += n;
    warmup_errors += o.warmup_errors;
  }
};

// The last context seen for each key (from a GET reply, or the context a PUT
// returned), shared by all connections. PUTting with it is what a
// read-modify-write client does; it supersedes the versions read, so siblings
// from concurrent writers collapse instead of piling up without bound.
// Thread-safe (striped locks; uncontended with one client thread).
class ContextMap {
 public:
  explicit ContextMap(uint64_t keys) : contexts_(keys) {}
  void Get(uint64_t key, std::string& out) {
    std::lock_guard lock(stripes_[key % stripes_.size()]);
    out.assign(contexts_[key]);
  }
  void Set(uint64_t key, std::string_view context) {
    std::lock_guard lock(stripes_[key % stripes_.size()]);
    contexts_[key].assign(context);
  }

 private:
  std::vector<std::string> contexts_;
  std::array<std::mutex, 64> stripes_;
};

// State shared by the connections of one run.
struct Shared {
  Shared(const LoadOptions& o, const Target& t) : options(o), target(t), contexts(o.keys) {}

  const LoadOptions options;
  const Target target;
  std::atomic<Phase> phase{Phase::kWarmup};
  std::atomic<uint64_t> next_populate{0};  // next key the warm-up writes
  std::atomic<uint64_t> populated{0};      // populate PUTs answered or failed
  std::atomic<bool> stop_populating{false};
  std::atomic<int> active{0};  // connections not yet finished
  ContextMap contexts;
  // Pre-built requests: a GET is sent straight from here; a PUT appends the
  // Content-Length and body to its prefix.
  std::vector<std::string> get_requests;
  std::vector<std::string> put_prefixes;
  std::string value;
};

std::string KeyName(uint64_t key) { return "bench-" + std::to_string(key); }

// One keep-alive connection running the closed loop: connect, then write a
// request, read the response, repeat. Any failure closes the socket, counts
// an error and reconnects after a backoff; nothing here throws.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, Shared& shared, uint64_t seed)
      : shared_(shared), stream_(io), backoff_timer_(io), rng_(seed) {}

  void Start() { Connect(); }
  const Stats& stats() const { return stats_; }

 private:
  Phase phase() const { return shared_.phase.load(std::memory_order_acquire); }

  void Connect() {
    if (phase() == Phase::kDrain) return Finish();
    buffer_.clear();
    stream_.expires_after(std::chrono::milliseconds(shared_.options.op_timeout_ms));
    stream_.async_connect(shared_.target.endpoint,
                          [self = shared_from_this()](error_code ec) { self->OnConnect(ec); });
  }

  void OnConnect(error_code ec) {
    if (ec) return Fail(ec, phase() == Phase::kMeasure);
    error_code ignored;
    stream_.socket().set_option(tcp::no_delay(true), ignored);
    NextOp();
  }

  void NextOp() {
    Phase phase_now = phase();
    if (phase_now == Phase::kDrain) return Finish();
    measured_ = phase_now == Phase::kMeasure;
    populating_ = false;

    const LoadOptions& o = shared_.options;
    if (phase_now == Phase::kWarmup && !shared_.stop_populating.load(std::memory_order_relaxed)) {
      uint64_t k = shared_.next_populate.fetch_add(1, std::memory_order_relaxed);
      if (k < o.keys) {
        populating_ = true;
        key_ = k;
        is_get_ = false;
      }
    }
    if (!populating_) {
      key_ = std::uniform_int_distribution<uint64_t>(0, o.keys - 1)(rng_);
      is_get_ = std::uniform_real_distribution<double>(0, 1)(rng_) < o.read_fraction;
    }

    asio::const_buffer request;
    if (is_get_) {
      request = asio::buffer(shared_.get_requests[key_]);
    } else {
      shared_.contexts.Get(key_, context_);
      blind_ = context_.empty();
      body_.assign("{\"value\":\"").append(shared_.value).append("\"");
      if (!blind_) body_.append(",\"context\":\"").append(context_).append("\"");
      body_.append("}");
      request_.assign(shared_.put_prefixes[key_]).append(std::to_string(body_.size())).append("\r\n\r\n").append(body_);
      request = asio::buffer(request_);
    }

    response_ = {};
    start_ = Clock::now();
    stream_.expires_after(std::chrono::milliseconds(o.op_timeout_ms));
    asio::async_write(stream_, request,
                      [self = shared_from_this()](error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(error_code ec) {
    if (ec) return FailOp(ec);
    http::async_read(stream_, buffer_, response_,
                     [self = shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(error_code ec) {
    if (ec) return FailOp(ec);
    uint64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
    backoff_ = std::chrono::milliseconds(0);
    if (populating_) shared_.populated.fetch_add(1, std::memory_order_relaxed);

    int status = response_.result_int();
    bool answered = (status >= 200 && status < 300) || status == 404;
    if (answered) {
      std::string_view body = response_.body();
      if (auto ctx = StringField(body, "context")) shared_.contexts.Set(key_, *ctx);
      if (measured_) {
        stats_.all.Record(ns);
        if (is_get_) {
          stats_.get.Record(ns);
          stats_.gets++;
          if (status == 404) {
            stats_.get_misses++;
          } else {
            int siblings = StringArrayLength(body, "values");
            if (siblings >= 0) {
              stats_.get_hits++;
              stats_.siblings_sum += siblings;
              stats_.siblings_max = std::max<uint64_t>(stats_.siblings_max, siblings);
            }
          }
        } else {
          stats_.put.Record(ns);
          stats_.puts++;
          if (blind_) stats_.blind_puts++;
        }
      }
      if (phase() == Phase::kMeasure) stats_.window_ops++;
    } else if (measured_) {
      stats_.http_errors++;
      stats_.error_statuses[status]++;
    } else {
      stats_.warmup_errors++;
    }

    if (!response_.keep_alive()) {
      Close();
      return Connect();
    }
    NextOp();
  }

  // An op in flight failed: its outcome is unknown, so it counts as an error
  // of the phase it started in.
  void FailOp(error_code ec) {
    if (populating_) shared_.populated.fetch_add(1, std::memory_order_relaxed);
    Fail(ec, measured_);
  }

  void Fail(error_code ec, bool measured) {
    if (!measured) {
      stats_.warmup_errors++;
    } else if (ec == beast::error::timeout) {
      stats_.timeouts++;
    } else {
      stats_.conn_errors++;
    }
    Close();
    // Back off so a dead server costs a few errors per second, not a spin.
    backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds(5), kMaxBackoff);
    backoff_timer_.expires_after(backoff_);
    backoff_timer_.async_wait([self = shared_from_this()](error_code) { self->Connect(); });
  }

  void Close() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  void Finish() {
    Close();
    shared_.active.fetch_sub(1, std::memory_order_acq_rel);
  }

  Shared& shared_;
  beast::tcp_stream stream_;
  asio::steady_timer backoff_timer_;
  std::mt19937_64 rng_;
  beast::flat_buffer buffer_;
  http::response<http::string_body> response_;
  std::string request_, body_, context_;  // reused across ops
  Clock::time_point start_;
  uint64_t key_ = 0;
  bool is_get_ = false;
  bool blind_ = false;
  bool populating_ = false;
  bool measured_ = false;
  std::chrono::milliseconds backoff_{0};
  Stats stats_;
};

// Drives the phases on a timer: warm-up (populate every key, then the mix)
// until both the populate and --warmup-seconds are done, then the measured
// window, then drain (connections finish their op in flight and close).
class Controller {
 public:
  Controller(asio::io_context& io, Shared& shared) : io_(io), shared_(shared), timer_(io) {}

  void Start() {
    warmup_start_ = Clock::now();
    Arm();
  }

  double window_seconds() const { return Seconds(window_end_ - window_start_); }
  double populate_seconds() const { return populate_seconds_; }
  bool interrupted() const { return interrupted_; }
  int stuck_connections() const { return stuck_; }

 private:
  void Arm() {
    timer_.expires_after(kTick);
    timer_.async_wait([this](error_code ec) {
      if (!ec) Tick();
    });
  }

  void Tick() {
    const LoadOptions& o = shared_.options;
    auto now = Clock::now();
    Phase phase = shared_.phase.load();
    if (g_interrupted && phase != Phase::kDrain) {
      interrupted_ = true;
      if (phase == Phase::kWarmup) window_start_ = now;
      BeginDrain(now);
      phase = Phase::kDrain;
    }
    switch (phase) {
      case Phase::kWarmup: {
        bool populated = shared_.populated.load() >= o.keys;
        auto warmup = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup_seconds));
        if (!populated && now - warmup_start_ > warmup + kPopulateGrace) {
          shared_.stop_populating = true;
          populated = true;
        }
        if (populated && populate_seconds_ < 0) populate_seconds_ = Seconds(now - warmup_start_);
        if (populated && now - warmup_start_ >= warmup) {
          shared_.stop_populating = true;
          window_start_ = now;
          shared_.phase.store(Phase::kMeasure, std::memory_order_release);
        }
        break;
      }
      case Phase::kMeasure:
        if (Seconds(now - window_start_) >= o.seconds) BeginDrain(now);
        break;
      case Phase::kDrain:
        if (shared_.active.load() == 0) return;  // all closed: io.run() returns
        // Every op has a deadline, so this only fires if something is wrong;
        // stop anyway, the benchmark must end by itself.
        if (now - drain_start_ > std::chrono::milliseconds(o.op_timeout_ms) + kMaxBackoff + std::chrono::seconds(1)) {
          stuck_ = shared_.active.load();
          io_.stop();
          return;
        }
        break;
    }
    Arm();
  }

  void BeginDrain(Clock::time_point now) {
    window_end_ = now;
    drain_start_ = now;
    shared_.phase.store(Phase::kDrain, std::memory_order_release);
  }

  asio::io_context& io_;
  Shared& shared_;
  asio::steady_timer timer_;
  Clock::time_point warmup_start_, window_start_, window_end_, drain_start_;
  double populate_seconds_ = -1;
  bool interrupted_ = false;
  int stuck_ = 0;
};

struct RunResult {
  std::string label;
  std::string failure;  // non-empty: the run did not happen; why
  Stats stats;
  double window_seconds = 0;
  double populate_seconds = 0;
  uint64_t populated = 0;
  std::string daemon_exit;  // for started daemons
  bool daemon_clean = true;
  std::vector<std::string> notes;

  double ops_per_sec() const { return window_seconds > 0 ? stats.window_ops / window_seconds : 0; }
};

void RunLoad(const Target& target, const LoadOptions& o, RunResult& result) {
  Shared shared(o, target);
  shared.get_requests.reserve(o.keys);
  shared.put_prefixes.reserve(o.keys);
  for (uint64_t k = 0; k < o.keys; k++) {
    std::string path = "/kv/" + KeyName(k);
    shared.get_requests.push_back("GET " + path + " HTTP/1.1\r\nHost: " + target.host_header + "\r\n\r\n");
    shared.put_prefixes.push_back("PUT " + path + " HTTP/1.1\r\nHost: " + target.host_header +
                                  "\r\nContent-Type: application/json\r\nContent-Length: ");
  }
  // Values are alphanumeric so they need no JSON escaping.
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::mt19937_64 value_rng(o.seed);
  for (size_t i = 0; i < o.value_bytes; i++) shared.value += kAlphabet[value_rng() % kAlphabet.size()];

  asio::io_context io(o.client_threads);
  std::vector<std::shared_ptr<Connection>> connections;
  std::seed_seq seq{o.seed};
  std::vector<uint64_t> seeds(o.connections);
  seq.generate(seeds.begin(), seeds.end());
  shared.active = o.connections;
  for (int i = 0; i < o.connections; i++) {
    connections.push_back(std::make_shared<Connection>(io, shared, seeds[i]));
    connections.back()->Start();
  }
  Controller controller(io, shared);
  controller.Start();

  std::vector<std::thread> threads;
  for (int i = 1; i < o.client_threads; i++) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();

  for (const auto& c : connections) result.stats.Merge(c->stats());
  result.window_seconds = controller.window_seconds();
  result.populate_seconds = controller.populate_seconds();
  result.populated = std::min<uint64_t>(shared.populated.load(), o.keys);
  if (controller.interrupted()) result.notes.push_back("interrupted: the measured window was cut short");
  if (controller.stuck_connections() > 0) {
    result.notes.push_back(std::to_string(controller.stuck_connections()) +
                           " connections did not finish in time and were abandoned");
  }
  if (result.populated < o.keys) {
    result.notes.push_back("warm-up populated only " + std::to_string(result.populated) + "/" +
                           std::to_string(o.keys) + " keys before giving up; GETs on the rest miss");
  }
  if (result.stats.warmup_errors > 0) {
    result.notes.push_back(std::to_string(result.stats.warmup_errors) + " errors during warm-up (not in the table)");
  }
}

// ---------------------------------------------------------------------------
// Reporting

struct Machine {
  int nproc = 0;
  std::string cpu = "unknown";
  std::string kernel = "unknown";
};

Machine DescribeMachine() {
  Machine m;
  cpu_set_t set;
  CPU_ZERO(&set);
  m.nproc = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                        : static_cast<int>(std::thread::hardware_concurrency());
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) m.cpu = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  }
  struct utsname u;
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  return m;
}

// Whether fsync means anything depends on the filesystem: on tmpfs "sync on"
// costs nothing, so the report names it.
std::string FilesystemType(const fs::path& p) {
  struct statfs s;
  if (statfs(p.c_str(), &s) != 0) return "unknown";
  switch (static_cast<uint64_t>(s.f_type)) {
    case 0x01021994: return "tmpfs";
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794C7630: return "overlayfs";
    case 0x2FC12FC1: return "zfs";
    case 0x6969: return "nfs";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "fs type 0x%llx", static_cast<unsigned long long>(s.f_type));
      return buf;
    }
  }
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

void PrintTable(const std::vector<RunResult>& rows) {
  std::printf("\n%-10s %10s %9s %9s %9s %9s %8s\n", "", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "errors");
  for (const auto& r : rows) {
    if (!r.failure.empty()) {
      std::printf("%-10s %s\n", r.label.c_str(), ("FAILED: " + r.failure).c_str());
      continue;
    }
    const Histogram& h = r.stats.all;
    std::printf("%-10s %10.0f %9.3f %9.3f %9.3f %9.3f %8llu\n", r.label.c_str(), r.ops_per_sec(),
                Ms(h.Percentile(50)), Ms(h.Percentile(99)), Ms(h.Percentile(99.9)), Ms(h.max()),
                static_cast<unsigned long long>(r.stats.errors()));
  }

  if (std::none_of(rows.begin(), rows.end(), [](const RunResult& r) { return r.failure.empty(); })) return;
  std::printf("\nby operation (ms)  %9s %9s %9s %9s  %8s %8s %9s\n", "GET p50", "GET p99", "PUT p50", "PUT p99",
              "GETs", "PUTs", "siblings");
  for (const auto& r : rows) {
    if (!r.failure.empty()) continue;
    const Stats& s = r.stats;
    double mean_sib = s.get_hits ? static_cast<double>(s.siblings_sum) / s.get_hits : 0;
    std::printf("%-18s %9.3f %9.3f %9.3f %9.3f  %8llu %8llu %4.2f/%-4llu\n", r.label.c_str(),
                Ms(s.get.Percentile(50)), Ms(s.get.Percentile(99)), Ms(s.put.Percentile(50)),
                Ms(s.put.Percentile(99)), static_cast<unsigned long long>(s.gets),
                static_cast<unsigned long long>(s.puts), mean_sib, static_cast<unsigned long long>(s.siblings_max));
  }
  std::printf("  (siblings = mean/max values per GET that found the key)\n");

  for (const auto& r : rows) {
    if (!r.failure.empty()) continue;
    const Stats& s = r.stats;
    std::vector<std::string> lines = r.notes;
    lines.insert(lines.begin(), std::to_string(s.window_ops) + " ops in " + Fixed(r.window_seconds, 2) +
                                    " s; GET misses (404) " + std::to_string(s.get_misses) + "; blind PUTs " +
                                    std::to_string(s.blind_puts) + "/" + std::to_string(s.puts) +
                                    "; keys populated in " + Fixed(r.populate_seconds, 2) + " s");
    if (s.errors() > 0) {
      std::string e = "errors: " + std::to_string(s.conn_errors) + " connection, " + std::to_string(s.timeouts) +
                      " timeouts, " + std::to_string(s.http_errors) + " HTTP";
      for (auto [code, n] : s.error_statuses) e += " [" + std::to_string(code) + "]x" + std::to_string(n);
      lines.push_back(e);
    }
    std::printf("%s:\n", r.label.c_str());
    for (const auto& l : lines) std::printf("  %s\n", l.c_str());
  }
}

std::string LatencyJson(const Histogram& h) {
  return "{\"count\":" + std::to_string(h.count()) + ",\"mean\":" + Fixed(Ms(h.mean()), 4) +
         ",\"p50\":" + Fixed(Ms(h.Percentile(50)), 4) + ",\"p99\":" + Fixed(Ms(h.Percentile(99)), 4) +
         ",\"p999\":" + Fixed(Ms(h.Percentile(99.9)), 4) + ",\"max\":" + Fixed(Ms(h.max()), 4) + "}";
}

bool WriteJson(const std::string& path, const std::string& parameters, const Machine& m,
               const std::vector<RunResult>& rows, std::string& error) {
  std::ostringstream out;
  out << "{\n  \"parameters\": " << parameters << ",\n";
  out << "  \"machine\": {\"nproc\":" << m.nproc << ",\"cpu\":\"" << JsonEscape(m.cpu) << "\",\"kernel\":\""
      << JsonEscape(m.kernel) << "\"},\n";
  out << "  \"latency_unit\": \"ms\",\n  \"results\": [";
  for (size_t i = 0; i < rows.size(); i++) {
    const RunResult& r = rows[i];
    const Stats& s = r.stats;
    out << (i ? ",\n    " : "\n    ") << "{\"mode\":\"" << JsonEscape(r.label) << "\"";
    if (!r.failure.empty()) {
      out << ",\"failure\":\"" << JsonEscape(r.failure) << "\"}";
      continue;
    }
    out << ",\"ops_per_sec\":" << Fixed(r.ops_per_sec(), 1) << ",\"window_seconds\":" << Fixed(r.window_seconds, 3)
        << ",\"ops\":" << s.window_ops << ",\"latency\":" << LatencyJson(s.all)
        << ",\"get_latency\":" << LatencyJson(s.get) << ",\"put_latency\":" << LatencyJson(s.put)
        << ",\"gets\":" << s.gets << ",\"get_misses\":" << s.get_misses << ",\"puts\":" << s.puts
        << ",\"blind_puts\":" << s.blind_puts << ",\"siblings_mean\":"
        << Fixed(s.get_hits ? static_cast<double>(s.siblings_sum) / s.get_hits : 0, 3)
        << ",\"siblings_max\":" << s.siblings_max << ",\"errors\":{\"total\":" << s.errors()
        << ",\"connection\":" << s.conn_errors << ",\"timeout\":" << s.timeouts << ",\"http\":" << s.http_errors
        << ",\"by_status\":{";
    bool first = true;
    for (auto [code, n] : s.error_statuses) {
      out << (first ? "" : ",") << "\"" << code << "\":" << n;
      first = false;
    }
    out << "}},\"warmup_errors\":" << s.warmup_errors << ",\"keys_populated\":" << r.populated
        << ",\"populate_seconds\":" << Fixed(r.populate_seconds, 3);
    if (!r.daemon_exit.empty()) out << ",\"daemon_exit\":\"" << JsonEscape(r.daemon_exit) << "\"";
    out << ",\"notes\":[";
    for (size_t n = 0; n < r.notes.size(); n++) out << (n ? "," : "") << "\"" << JsonEscape(r.notes[n]) << "\"";
    out << "]}";
  }
  out << "\n  ]\n}\n";
  std::ofstream file(path);
  file << out.str();
  file.close();
  if (!file) {
    error = "cannot write --json " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------

struct Options {
  LoadOptions load;
  std::string sync = "both";
  std::string target;
  std::string dynastore = DYNASTORE_BIN;
  std::string data_root;
  int server_threads = 0;
  int startup_timeout = 15;
  std::string json;
};

int Run(const Options& opt) {
  const LoadOptions& o = opt.load;
  Machine machine = DescribeMachine();
  std::vector<RunResult> rows;

  Target target;
  fs::path data_root;
  if (!opt.target.empty()) {
    std::string error;
    if (!ParseLoopbackTarget(opt.target, target, error)) {
      std::fprintf(stderr, "dynastore-bench: %s\n", error.c_str());
      return 2;
    }
    if (HttpGetStatus(target, "/status", std::chrono::milliseconds(2000)) != 200) {
      std::fprintf(stderr, "dynastore-bench: nothing answers GET /status with 200 at %s; is dynastore running?\n",
                   opt.target.c_str());
      return 2;
    }
  } else {
    if (access(opt.dynastore.c_str(), X_OK) != 0) {
      std::fprintf(stderr,
                   "dynastore-bench: no executable dynastore at %s (build it: ninja dynastore; or pass --dynastore "
                   "PATH, or --target HOST:PORT for a running server)\n",
                   opt.dynastore.c_str());
      return 2;
    }
    std::error_code ec;
    data_root = opt.data_root.empty() ? fs::temp_directory_path(ec) : fs::path(opt.data_root);
    if (ec || !fs::is_directory(data_root)) {
      std::fprintf(stderr, "dynastore-bench: data root '%s' is not a directory (set --data-root)\n",
                   data_root.c_str());
      return 2;
    }
  }

  std::printf("dynastore-bench: %d connections, %d client thread%s, %llu keys, %zu-byte values, %.0f%% GET, "
              "%.3g s measured after %.3g s warm-up, op timeout %d ms, seed %llu\n",
              o.connections, o.client_threads, o.client_threads == 1 ? "" : "s",
              static_cast<unsigned long long>(o.keys), o.value_bytes, o.read_fraction * 100, o.seconds,
              o.warmup_seconds, o.op_timeout_ms, static_cast<unsigned long long>(o.seed));
  std::printf("machine: nproc %d, %s, %s\n", machine.nproc, machine.cpu.c_str(), machine.kernel.c_str());
  if (opt.target.empty()) {
    std::printf("server: %s, started by the benchmark on 127.0.0.1, data under %s (%s)%s\n", opt.dynastore.c_str(),
                data_root.c_str(), FilesystemType(data_root).c_str(),
                opt.server_threads > 0 ? (", --threads " + std::to_string(opt.server_threads)).c_str() : "");
  } else {
    std::printf("server: already running at %s\n", target.host_header.c_str());
  }
  std::printf("writes: a PUT carries the last context seen for its key (GET or PUT reply), like a read-modify-write "
              "client;\n        a key with none yet gets a blind PUT (no context); the warm-up writes every key once "
              "blind\n");
  std::fflush(stdout);

  if (!opt.target.empty()) {
    RunResult r;
    r.label = "target";
    RunLoad(target, o, r);
    rows.push_back(std::move(r));
  } else {
    std::vector<bool> modes;
    if (opt.sync != "off") modes.push_back(true);
    if (opt.sync != "on") modes.push_back(false);
    for (bool sync : modes) {
      RunResult r;
      r.label = sync ? "sync on" : "sync off";
      if (g_interrupted) {
        r.failure = "interrupted";
        rows.push_back(std::move(r));
        continue;
      }
      std::fprintf(stderr, "[%s] starting dynastore...\n", r.label.c_str());
      DaemonProcess daemon;
      std::string error;
      if (!daemon.Start(opt.dynastore, sync, opt.server_threads, data_root, error) ||
          !daemon.WaitReady(std::chrono::seconds(opt.startup_timeout), error)) {
        r.failure = error;
        std::string tail = daemon.LogTail(15);
        std::fprintf(stderr, "[%s] %s\n  command: %s\n%s", r.label.c_str(), error.c_str(), daemon.command().c_str(),
                     tail.empty() ? "" : ("  dynastore log (last lines):\n" + tail).c_str());
        rows.push_back(std::move(r));
        continue;  // the destructor stops the daemon and removes its dir
      }
      std::fprintf(stderr, "[%s] %s ready; running %.3g s warm-up + %.3g s load\n", r.label.c_str(),
                   daemon.command().c_str(), o.warmup_seconds, o.seconds);
      RunLoad(daemon.target(), o, r);
      bool died_during_run = daemon.Exited();
      daemon.Stop();
      r.daemon_exit = daemon.ExitDescription();
      r.daemon_clean = !died_during_run && daemon.StoppedCleanly();
      if (died_during_run) {
        r.notes.push_back("dynastore exited during the run (" + r.daemon_exit + ")");
      } else if (!r.daemon_clean) {
        r.notes.push_back("dynastore did not stop cleanly: " + r.daemon_exit);
      }
      if (!r.daemon_clean || r.stats.errors() > 0) {
        std::string tail = daemon.LogTail(15);
        if (!tail.empty()) std::fprintf(stderr, "[%s] dynastore log (last lines):\n%s", r.label.c_str(), tail.c_str());
      }
      rows.push_back(std::move(r));
    }
  }

  PrintTable(rows);

  if (!opt.json.empty()) {
    std::ostringstream p;
    p << "{\"connections\":" << o.connections << ",\"client_threads\":" << o.client_threads << ",\"keys\":" << o.keys
      << ",\"value_bytes\":" << o.value_bytes << ",\"read_fraction\":" << o.read_fraction
      << ",\"seconds\":" << o.seconds << ",\"warmup_seconds\":" << o.warmup_seconds
      << ",\"op_timeout_ms\":" << o.op_timeout_ms << ",\"seed\":" << o.seed;
    if (opt.target.empty()) {
      p << ",\"dynastore\":\"" << JsonEscape(opt.dynastore) << "\",\"sync\":\"" << opt.sync
        << "\",\"data_root\":\"" << JsonEscape(data_root.string()) << "\",\"data_fs\":\""
        << JsonEscape(FilesystemType(data_root)) << "\",\"server_threads\":" << opt.server_threads;
    } else {
      p << ",\"target\":\"" << JsonEscape(target.host_header) << "\"";
    }
    p << ",\"writes\":\"PUT with the last context seen for the key; blind PUT (no context) when none\"}";
    std::string error;
    if (!WriteJson(opt.json, p.str(), machine, rows, error)) {
      std::fprintf(stderr, "dynastore-bench: %s\n", error.c_str());
      return 1;
    }
    std::printf("\nwrote %s\n", opt.json.c_str());
  }

  if (g_interrupted) return 130;
  for (const auto& r : rows) {
    if (!r.failure.empty() || !r.daemon_clean) return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  LoadOptions& o = opt.load;
  CLI::App app{
      "dynastore-bench: closed-loop GET/PUT load on dynastore over keep-alive HTTP/1.1; prints ops/s and latency "
      "percentiles.\nBy default starts dynastore twice (sync on, sync off) on 127.0.0.1 with fresh temp data dirs "
      "and compares them.\nOnly loopback servers are ever benchmarked."};
  app.add_option("--connections,-c", o.connections, "Concurrent keep-alive connections, one request in flight each")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--client-threads", o.client_threads, "Threads running the client's io_context")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--keys", o.keys, "Number of distinct keys (chosen uniformly)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}))
      ->capture_default_str();
  app.add_option("--value-bytes", o.value_bytes, "Size of each PUT value")
      ->check(CLI::Range(size_t{0}, size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--read-fraction", o.read_fraction, "Fraction of ops that are GETs (the rest are PUTs)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--seconds", o.seconds, "Length of the measured window")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--warmup-seconds", o.warmup_seconds,
                 "Warm-up before measuring; it also writes every key once so GETs hit (and lasts until that is done, "
                 "at most 30 s longer)")
      ->check(CLI::Range(0.0, 600.0))
      ->capture_default_str();
  app.add_option("--op-timeout-ms", o.op_timeout_ms, "Deadline of one request; a miss counts as a timeout error")
      ->check(CLI::Range(1, 600'000))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of the key/op choices and the value bytes")->capture_default_str();
  auto* target = app.add_option("--target", opt.target,
                                "Benchmark an already running server at HOST:PORT instead of starting dynastore "
                                "(loopback only: 127.0.0.0/8, [::1] or localhost)");
  auto* sync = app.add_option("--sync", opt.sync, "Which started daemons to measure: on (fsync per write), off "
                                                  "(--no-sync) or both, side by side")
                   ->check(CLI::IsMember({"on", "off", "both"}))
                   ->capture_default_str();
  auto* bin = app.add_option("--dynastore", opt.dynastore, "Path of the dynastore binary to start")
                  ->capture_default_str();
  auto* root = app.add_option("--data-root", opt.data_root,
                              "Directory for the daemons' temp data dirs (default: the system temp dir); its "
                              "filesystem decides what fsync costs");
  auto* threads = app.add_option("--server-threads", opt.server_threads,
                                 "Pass --threads N to the started dynastore (0: its default)")
                      ->check(CLI::Range(0, 1024))
                      ->capture_default_str();
  auto* startup = app.add_option("--startup-timeout", opt.startup_timeout,
                                 "Seconds a started dynastore has to answer GET /status")
                      ->check(CLI::Range(1, 600))
                      ->capture_default_str();
  for (auto* only_started : {sync, bin, root, threads, startup}) target->excludes(only_started);
  app.add_option("--json", opt.json, "Also write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  InstallSignalHandlers();
  try {
    return Run(opt);
  } catch (const std::exception& e) {
    // Caught so that destructors run: they stop the daemons and remove their dirs.
    std::fprintf(stderr, "dynastore-bench: %s\n", e.what());
    return 2;
  }
}
