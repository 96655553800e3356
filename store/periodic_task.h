// PeriodicTask: the timer loop of the node's background work (anti-entropy
// rounds, hinted handoff, heartbeats). Schedule() arms a timer on the
// io_context; one interval later `run` runs once on an io thread. Work that
// ends asynchronously calls Schedule() again when it ends, so the next run
// starts one interval after the last one finished and runs never pile up.
//
// Contract: once Stop() has returned, `run` is not running on any other
// thread and never starts again, so it may reference objects destroyed
// right after Stop(). Stop() cancels the pending timer rather than waiting
// for it, so it returns as soon as a run in progress ends. Stop() called
// from inside `run` does not wait for itself. Thread-safe. The io_context
// must outlive the task (its timer lives there).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace dynastore {

class PeriodicTask {
 public:
  PeriodicTask(boost::asio::io_context& io, std::chrono::milliseconds interval, std::function<void()> run);
  ~PeriodicTask();  // Stop()
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // Arms the timer: `run` runs once, one interval from now, unless Cancel()
  // or Stop() comes first. Re-arming replaces a pending run. A no-op after Stop().
  void Schedule();
  // Disarms a pending run, if any (e.g. a round started early); Schedule() arms it again.
  void Cancel();
  // Disarms for good; see the contract above. Idempotent.
  void Stop();
  bool stopped() const;

  std::chrono::milliseconds interval() const { return interval_; }

 private:
  // What the timer's handler shares with the task; it may outlive the task
  // when Stop() cancels a wait whose handler has not run yet.
  struct Gate;

  const std::chrono::milliseconds interval_;
  const std::shared_ptr<Gate> gate_;
  boost::asio::steady_timer timer_;  // guarded by gate_->mu
};

}  // namespace dynastore
