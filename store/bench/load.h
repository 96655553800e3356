// The closed-loop load both benchmarks of a store share (dynastore over HTTP,
// redis-server over RESP): options, per-connection statistics in latency
// histograms, the phase controller (warm-up and populate, measured window,
// drain) and RunClosedLoop, which runs C connections of any protocol.
// Header-only, like bench_support.h: each benchmark is one executable.
//
// A Connection type for RunClosedLoop has a constructor
// (asio::io_context&, Shared&, const Target&, uint64_t seed), Start() and
// stats(); it runs the loop on its own, reading Shared::phase, and
// decrements Shared::active when it finishes (phase kDrain).
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <boost/asio.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/bench/bench_support.h"

namespace dynastore_bench {

// Populating the keys is part of the warm-up but may take longer than it
// (durable writes on a slow disk); past this extra budget the benchmark gives
// up on the remaining keys and says so, so it always stops by itself.
inline constexpr auto kPopulateGrace = std::chrono::seconds(30);
// The controller's clock: phase changes happen on this tick.
inline constexpr auto kTick = std::chrono::milliseconds(5);
inline constexpr auto kMaxBackoff = std::chrono::milliseconds(200);

inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---------------------------------------------------------------------------
// CPU time, to say what an op costs the client and the servers: on a small
// machine both share the cores, so the throughput is bounded by their sum.

// User + system CPU seconds of this process (every thread).
inline double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

// User + system CPU seconds of process `pid` from /proc/<pid>/stat, or -1 if
// it cannot be read (the process is gone).
inline double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  // The command name (field 2) may hold spaces and parentheses: count the
  // fields after its closing one. utime and stime are fields 14 and 15.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  double ticks[2] = {-1, -1};
  for (int i = 3; i <= 15 && rest >> field; i++) {
    if (i >= 14) ticks[i - 14] = std::strtod(field.c_str(), nullptr);
  }
  if (ticks[1] < 0) return -1;
  return (ticks[0] + ticks[1]) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Seconds all cores have spent idle (idle + iowait in /proc/stat's "cpu"
// line) since boot, or -1 if unreadable. Over a window it says whether the
// load kept the machine busy: a closed loop bound by latency leaves cores
// idle, one bound by CPU does not.
inline double MachineIdleSeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = -1, iowait = -1;
  if (!(in >> cpu >> user >> nice >> system >> idle >> iowait) || cpu != "cpu") return -1;
  return (idle + iowait) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds of this process and of the servers, summed, at one moment,
// and the machine's idle seconds.
struct CpuSample {
  double client = 0;
  double servers = 0;        // -1: no server known or one could not be read
  double machine_idle = -1;  // -1: unknown

  static CpuSample Take(const std::vector<pid_t>& server_pids) {
    CpuSample c;
    c.machine_idle = MachineIdleSeconds();
    c.client = SelfCpuSeconds();
    c.servers = server_pids.empty() ? -1 : 0;
    for (pid_t pid : server_pids) {
      double s = ProcessCpuSeconds(pid);
      c.servers = s < 0 || c.servers < 0 ? -1 : c.servers + s;
    }
    return c;
  }
};

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
  static constexpr int kSubBits = 6;                   // 64 sub-buckets per power of two
  static constexpr uint64_t kLinear = 2u << kSubBits;  // exact below 128
  static constexpr int kMaxShift = 34;                 // top bucket starts at 2^40 ns
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
  static uint64_t Width(size_t i) { return i < kLinear ? 1 : uint64_t{1} << ((i - kLinear) / (1u << kSubBits) + 1); }

  std::vector<uint64_t> counts_ = std::vector<uint64_t>(kBuckets);
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

inline double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

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

  // A connection failed: warm-up failures are counted apart from the window's.
  void CountFailure(bool measured, bool timed_out) {
    if (!measured) {
      warmup_errors++;
    } else if (timed_out) {
      timeouts++;
    } else {
      conn_errors++;
    }
  }

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
  Shared(const LoadOptions& o, std::vector<Target> t, std::vector<pid_t> pids)
      : options(o), targets(std::move(t)), server_pids(std::move(pids)), contexts(o.keys) {}

  const LoadOptions options;
  const std::vector<Target> targets;     // connection i talks to targets[i % size]
  const std::vector<pid_t> server_pids;  // the servers' processes, if this program started them
  std::atomic<Phase> phase{Phase::kWarmup};
  std::atomic<uint64_t> next_populate{0};  // next key the warm-up writes
  std::atomic<uint64_t> populated{0};      // populate PUTs answered or failed
  std::atomic<bool> stop_populating{false};
  std::atomic<int> active{0};  // connections not yet finished
  ContextMap contexts;
  std::string value;
};

// What a connection sends next: during warm-up, a PUT of the next key not
// yet populated (until the controller stops populating); otherwise a random
// key, a GET with probability read_fraction. Shared by every client kind so
// dynastore and Redis see the same load.
struct OpChoice {
  uint64_t key = 0;
  bool is_get = false;
  bool populating = false;
};
template <class Rng>
OpChoice PickNextOp(Shared& shared, Phase phase, Rng& rng) {
  const LoadOptions& o = shared.options;
  if (phase == Phase::kWarmup && !shared.stop_populating.load(std::memory_order_relaxed)) {
    const uint64_t k = shared.next_populate.fetch_add(1, std::memory_order_relaxed);
    if (k < o.keys) return OpChoice{k, false, true};
  }
  OpChoice op;
  op.key = std::uniform_int_distribution<uint64_t>(0, o.keys - 1)(rng);
  op.is_get = std::uniform_real_distribution<double>(0, 1)(rng) < o.read_fraction;
  return op;
}

// "bench-<key>", written into a reused buffer.
inline std::string_view KeyName(uint64_t key) {
  thread_local char buf[32];
  int n = std::snprintf(buf, sizeof buf, "bench-%llu", static_cast<unsigned long long>(key));
  return std::string_view(buf, static_cast<size_t>(n));
}

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
  // CPU seconds over the measured window; servers -1 if unknown.
  CpuSample window_cpu() const {
    auto delta = [](double start, double end) { return start < 0 || end < 0 ? -1 : end - start; };
    return {cpu_end_.client - cpu_start_.client, delta(cpu_start_.servers, cpu_end_.servers),
            delta(cpu_start_.machine_idle, cpu_end_.machine_idle)};
  }
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
          cpu_start_ = CpuSample::Take(shared_.server_pids);
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
    cpu_end_ = CpuSample::Take(shared_.server_pids);
    drain_start_ = now;
    shared_.phase.store(Phase::kDrain, std::memory_order_release);
  }

  asio::io_context& io_;
  Shared& shared_;
  asio::steady_timer timer_;
  Clock::time_point warmup_start_, window_start_, window_end_, drain_start_;
  CpuSample cpu_start_, cpu_end_;
  double populate_seconds_ = -1;
  bool interrupted_ = false;
  int stuck_ = 0;
};

// What one run of the load measured.
struct LoadResult {
  Stats stats;
  double window_seconds = 0;
  double populate_seconds = 0;
  uint64_t populated = 0;
  std::vector<std::string> notes;
  std::vector<Stats> per_target;  // with several targets: the connections to each

  CpuSample window_cpu;  // CPU seconds the measured window cost the client and the servers

  double ops_per_sec() const { return window_seconds > 0 ? stats.window_ops / window_seconds : 0; }
  // Microseconds of CPU per op measured, from `seconds` of window_cpu; -1 if unknown.
  double CpuMicrosPerOp(double seconds) const {
    return seconds < 0 || stats.window_ops == 0 ? -1 : seconds * 1e6 / static_cast<double>(stats.window_ops);
  }
  // The share of the machine's cores left idle over the window; -1 if unknown.
  double IdleFraction() const {
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (window_cpu.machine_idle < 0 || window_seconds <= 0 || cores <= 0) return -1;
    return std::clamp(window_cpu.machine_idle / (window_seconds * static_cast<double>(cores)), 0.0, 1.0);
  }
};

// A connection's socket, with a concrete executor: the type-erased
// any_io_executor costs the client time that belongs to the server.
using Socket = tcp::socket::rebind_executor<asio::io_context::executor_type>::other;

// The one timer of a connection: the deadline of the op (or connect) in
// flight, or the reconnect backoff. A passed deadline closes the socket, so
// the pending read or write ends with an error, and timed_out() says why.
// Both protocols' connections use it, so both pay the same per-op timer.
class OpTimer {
 public:
  explicit OpTimer(asio::io_context& io) : timer_(io) {}

  // `owner` keeps the connection (which holds this timer and `socket`)
  // alive until the wait ends.
  template <class Owner>
  void ArmDeadline(std::shared_ptr<Owner> owner, Socket& socket, std::chrono::milliseconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([owner = std::move(owner), this, &socket, gen = ++generation_](error_code ec) {
      if (ec || gen != generation_) return;  // stale: a newer deadline or a backoff replaced it
      timed_out_ = true;
      error_code ignored;
      socket.close(ignored);
    });
  }

  // Calls `then` after `delay` (a reconnect backoff), whatever happens.
  template <class Fn>
  void After(std::chrono::milliseconds delay, Fn then) {
    ++generation_;
    timer_.expires_after(delay);
    timer_.async_wait([then = std::move(then)](error_code) mutable { then(); });
  }

  void Cancel() {
    ++generation_;
    timer_.cancel();
  }
  bool timed_out() const { return timed_out_; }
  void ClearTimedOut() { timed_out_ = false; }

 private:
  asio::steady_timer timer_;
  uint64_t generation_ = 0;  // bumped per deadline: a stale wake-up does nothing
  bool timed_out_ = false;
};

// What a closed-loop connection does whatever its protocol: connect (and
// reconnect after a backoff when anything fails), pick each op, bound it by
// a deadline, count a failed op in the phase it started in, and finish when
// the phase turns to drain. Nothing here throws. `Derived` (CRTP) adds the
// protocol: ResetReader() before each connect, NextOp() to send the op
// BeginOp() picked, and reads that end in Replied() or FailOp().
template <class Derived>
class LoopConnection : public std::enable_shared_from_this<Derived> {
 public:
  LoopConnection(asio::io_context& io, Shared& shared, const Target& target, uint64_t seed)
      : shared_(shared), target_(target), socket_(io), timer_(io), rng_(seed) {}

  void Start() { Connect(); }
  const Stats& stats() const { return stats_; }

 protected:
  std::shared_ptr<Derived> Self() { return this->shared_from_this(); }
  Phase phase() const { return shared_.phase.load(std::memory_order_acquire); }

  void Connect() {
    if (phase() == Phase::kDrain) return Finish();
    static_cast<Derived*>(this)->ResetReader();
    ArmDeadline();
    socket_.async_connect(target_.endpoint, [self = Self()](error_code ec) {
      if (ec) return self->Fail(ec, self->phase() == Phase::kMeasure);
      error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      self->NextOp();
    });
  }

  // Picks the next op into key_, is_get_ and populating_; false once the
  // phase is drain (the connection has finished).
  bool BeginOp() {
    const Phase phase_now = phase();
    if (phase_now == Phase::kDrain) {
      Finish();
      return false;
    }
    measured_ = phase_now == Phase::kMeasure;
    const OpChoice next = PickNextOp(shared_, phase_now, rng_);
    key_ = next.key;
    is_get_ = next.is_get;
    populating_ = next.populating;
    return true;
  }

  // The op's request is built and about to go: its clock and deadline start.
  void Sending() {
    start_ = Clock::now();
    ArmDeadline();
  }

  // The op's reply came (any answer): its latency in ns.
  uint64_t Replied() {
    const uint64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
    backoff_ = std::chrono::milliseconds(0);
    if (populating_) shared_.populated.fetch_add(1, std::memory_order_relaxed);
    return ns;
  }

  // An op in flight failed: its outcome is unknown, so it counts as an error
  // of the phase it started in.
  void FailOp(error_code ec) {
    if (populating_) shared_.populated.fetch_add(1, std::memory_order_relaxed);
    Fail(ec, measured_);
  }

  void Fail(error_code ec, bool measured) {
    (void)ec;
    stats_.CountFailure(measured, timer_.timed_out());
    Close();
    // Back off so a dead server costs a few errors per second, not a spin.
    backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds(5), kMaxBackoff);
    timer_.After(backoff_, [self = Self()] { self->Connect(); });
  }

  void ArmDeadline() { timer_.ArmDeadline(Self(), socket_, std::chrono::milliseconds(shared_.options.op_timeout_ms)); }

  void Close() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    timer_.ClearTimedOut();
  }

  void Finish() {
    timer_.Cancel();
    Close();
    shared_.active.fetch_sub(1, std::memory_order_acq_rel);
  }

  Shared& shared_;
  const Target& target_;
  Socket socket_;
  OpTimer timer_;  // the op's deadline, or the reconnect backoff
  std::mt19937_64 rng_;
  Clock::time_point start_;
  uint64_t key_ = 0;
  bool is_get_ = false;
  bool populating_ = false;
  bool measured_ = false;
  std::chrono::milliseconds backoff_{0};
  Stats stats_;
};

// Runs the load against `targets`, connection i talking to targets[i % size].
template <class Connection>
// `server_pids`: the servers' processes when this program started them, for
// their CPU time; empty otherwise.
void RunClosedLoop(const std::vector<Target>& targets, const std::vector<pid_t>& server_pids, const LoadOptions& o,
                   LoadResult& result) {
  Shared shared(o, targets, server_pids);
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
    connections.push_back(
        std::make_shared<Connection>(io, shared, shared.targets[i % shared.targets.size()], seeds[i]));
    connections.back()->Start();
  }
  Controller controller(io, shared);
  controller.Start();

  std::vector<std::thread> threads;
  for (int i = 1; i < o.client_threads; i++) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();

  for (const auto& c : connections) result.stats.Merge(c->stats());
  if (targets.size() > 1) {
    result.per_target.resize(targets.size());
    for (size_t i = 0; i < connections.size(); i++)
      result.per_target[i % targets.size()].Merge(connections[i]->stats());
  }
  result.window_seconds = controller.window_seconds();
  result.window_cpu = controller.window_cpu();
  result.populate_seconds = controller.populate_seconds();
  result.populated = std::min<uint64_t>(shared.populated.load(), o.keys);
  if (controller.interrupted()) result.notes.push_back("interrupted: the measured window was cut short");
  if (controller.stuck_connections() > 0) {
    result.notes.push_back(std::to_string(controller.stuck_connections()) +
                           " connections did not finish in time and were abandoned");
  }
  if (result.populated < o.keys) {
    result.notes.push_back("warm-up populated only " + std::to_string(result.populated) + "/" + std::to_string(o.keys) +
                           " keys before giving up; GETs on the rest miss");
  }
  if (result.stats.warmup_errors > 0) {
    result.notes.push_back(std::to_string(result.stats.warmup_errors) + " errors during warm-up (not in the table)");
  }
}

}  // namespace dynastore_bench
