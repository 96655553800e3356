// NemesisScheduler: runs faults on a schedule during the main phase and
// heals everything at the end (issue 5, README "Nemesis").
//   loop: wait interval → pick a fault (seeded RNG) → Start → hold interval → Stop
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
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fault.h"
#include "history_writer.h"
#include "nemesis_config.h"

namespace faultline {

// The faults named in config.faults, built for these nodes. Throws
// HarnessError (e.g. "clock" without libfaketime).
std::vector<std::unique_ptr<Fault>> MakeFaults(const NemesisConfig& config, const std::vector<NodeInfo>& nodes,
                                               Database& db);

class NemesisScheduler {
 public:
  using Log = std::function<void(const std::string&)>;

  // `history` must outlive the scheduler.
  NemesisScheduler(std::vector<std::unique_ptr<Fault>> faults, HistoryWriter& history, double interval_s,
                   uint64_t seed, Log log);
  ~NemesisScheduler();  // Stop()s

  // Starts the schedule thread (no-op without faults).
  void Start();
  // Ends the schedule; a fault in effect is stopped first. Idempotent.
  void Stop();
  // Heals every fault kind on every node (recording "heal-<fault>" ops), then
  // verifies. Returns what could not be healed (empty = all healed).
  std::vector<std::string> HealAll();

  int64_t started() const { return started_; }  // faults injected so far
  int64_t failed() const { return failed_; }    // injections or stops that failed

 private:
  void Loop();
  bool Wait(double seconds);  // false when stopping
  void Record(const std::string& f, nlohmann::json value, const std::string& error);
  void StopActive();

  std::vector<std::unique_ptr<Fault>> faults_;
  HistoryWriter& history_;
  const double interval_s_;
  std::mt19937_64 rng_;
  Log log_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;   // guarded by mu_
  Fault* active_ = nullptr;  // only the schedule thread (or Stop after join) touches it
  std::thread thread_;
  std::atomic<int64_t> started_{0}, failed_{0};
};

}  // namespace faultline
