// Generator: decides what is invoked and when in the main phase. A single
// seeded RNG drives the workload's choices and the stagger, so the same seed
// and config give the same sequence of invocations (which worker takes
// which op depends on thread timing, as in Jepsen).
//
// Rate: successive ops are scheduled at uniformly random gaps in
// [0, 2/rate) (mean 1/rate, Jepsen's "stagger"); rate 0 means unlimited.
// When the workers fall behind by more than a second the schedule restarts
// from now instead of bursting to catch up.
//
// Thread-safe: workers call Next() concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>

#include "workloads/workload.h"

namespace faultline {

struct GeneratorOptions {
  double rate = 100;                                               // ops/s over all workers; 0 = unlimited
  std::chrono::nanoseconds time_limit = std::chrono::seconds(60);  // of the main phase
  uint64_t seed = 0;
  uint64_t max_ops = 0;  // 0 = no limit (benchmarks set one)
};

struct ScheduledOp {
  Invocation op;
  std::chrono::steady_clock::time_point at;  // invoke no earlier than this
  uint64_t sequence = 0;                     // 0, 1, 2, ... in generation order
};

class Generator {
 public:
  // `workload` must outlive the generator. The main phase runs from `start`
  // for options.time_limit.
  Generator(Workload& workload, GeneratorOptions options, std::chrono::steady_clock::time_point start);

  // The next op, or nullopt once the time limit has passed, max_ops were
  // handed out, or Stop() was called.
  std::optional<ScheduledOp> Next();

  void Stop();
  bool stopped() const;
  std::chrono::steady_clock::time_point deadline() const;

 private:
  Workload& workload_;
  const GeneratorOptions options_;
  const std::chrono::steady_clock::time_point deadline_;
  std::mutex mu_;
  std::mt19937_64 rng_;                            // guarded by mu_
  std::chrono::steady_clock::time_point next_at_;  // guarded by mu_
  uint64_t sequence_ = 0;                          // guarded by mu_
  std::atomic<bool> stopped_{false};
};

}  // namespace faultline
