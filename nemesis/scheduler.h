// NemesisScheduler: runs faults on a schedule during the main phase and
// heals everything at the end (issue 5, README "Nemesis").
//   loop: wait interval → pick a fault (seeded RNG) → Start → hold interval → Stop
// With a final fault (HoldFinalFault), the schedule starts one more fault at
// the given time and leaves it in effect when the main phase ends, so a
// store's behaviour under an unhealed fault is tested by construction; the
// runner's HealAll undoes it.
// Every start, stop and heal is an op in the history ("process":"nemesis",
// "type":"info", "f":"start-partition" / "stop-partition" / "heal-partition"
// ..., "value" = the fault's detail); a failed injection is recorded with
// its "error", never skipped. The same seed gives the same schedule of
// faults and targets.
//
// Thread-safe: the schedule runs on its own thread; Stop()/HealAll() come
// from the runner's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "harness/driver/history_writer.h"
#include "nemesis/fault.h"
#include "nemesis/nemesis_config.h"

namespace faultline {

// The faults named in config.faults, built for these nodes, whole-node ones
// first (the order HealAll heals in). Throws HarnessError (e.g. "clock"
// without libfaketime, "crash" on nodes that are not containers).
std::vector<std::unique_ptr<Fault>> MakeFaults(const NemesisConfig& config, const std::vector<NodeInfo>& nodes,
                                               Database& db);

// How many faults the schedule (NemesisScheduler::Loop) starts in a main
// phase of `time_limit_s`: one at each of interval, 3·interval, 5·interval,
// ... before the phase ends, and with final_s > 0 the final one at
// time_limit_s - final_s (which also cuts the wait before it short). Pure
// arithmetic, for warning before a run that asks for faults it cannot get.
int64_t ScheduledFaultStarts(double interval_s, double final_s, double time_limit_s);

class NemesisScheduler {
 public:
  using Log = std::function<void(const std::string&)>;

  // `history` must outlive the scheduler.
  NemesisScheduler(std::vector<std::unique_ptr<Fault>> faults, HistoryWriter& history, double interval_s, uint64_t seed,
                   Log log);
  ~NemesisScheduler();  // Stop()s

  using Clock = std::chrono::steady_clock;

  // From `at` on (typically the main phase's end minus the config's
  // final_s), the schedule starts a last fault and holds it past Stop().
  // Call before Start().
  void HoldFinalFault(Clock::time_point at) { final_at_ = at; }
  // Starts the schedule thread (no-op without faults).
  void Start();
  // Ends the schedule; a fault in effect is stopped first, except the final
  // fault, which stays until HealAll. Idempotent.
  void Stop();
  // Heals every fault kind on every node (recording "heal-<fault>" ops), then
  // verifies. Returns what could not be healed (empty = all healed).
  std::vector<std::string> HealAll();

  int64_t started() const { return started_; }  // faults injected so far
  int64_t failed() const { return failed_; }    // injections or stops that failed

 private:
  void Loop();
  bool WaitUntil(Clock::time_point until);  // false when stopping
  void StartOne(std::uniform_int_distribution<size_t>& pick);
  void Record(const std::string& f, nlohmann::json value, const std::string& error);
  void StopActive();

  std::vector<std::unique_ptr<Fault>> faults_;
  HistoryWriter& history_;
  const double interval_s_;
  Clock::time_point final_at_ = Clock::time_point::max();  // max = no final fault
  std::mt19937_64 rng_;
  Log log_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;    // guarded by mu_
  Fault* active_ = nullptr;  // only the schedule thread (or Stop after join) touches it
  std::thread thread_;
  std::atomic<int64_t> started_{0}, failed_{0};
};

}  // namespace faultline
