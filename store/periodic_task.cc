#include "store/periodic_task.h"

#include <condition_variable>
#include <mutex>
#include <utility>

namespace dynastore {

namespace {

// The Gate whose `run` this thread is running, so that Stop() called from
// inside `run` does not wait for itself.
thread_local const void* tls_running = nullptr;

}  // namespace

struct PeriodicTask::Gate {
  explicit Gate(std::function<void()> r) : run(std::move(r)) {}

  // The timer fired: runs `run` unless stopped, counted in `running`.
  void Fire() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopped) return;
      ++running;
    }
    // Counted out even if `run` throws, so Stop() cannot hang on it.
    struct Exit {
      Gate& gate;
      const void* outer;
      ~Exit() {
        tls_running = outer;
        std::lock_guard<std::mutex> lock(gate.mu);
        --gate.running;
        gate.idle.notify_all();
      }
    } counted_out{*this, tls_running};
    tls_running = this;
    run();
  }

  const std::function<void()> run;
  std::mutex mu;
  std::condition_variable idle;  // `running` went down
  bool stopped = false;          // guarded by mu
  int running = 0;               // runs in progress; guarded by mu
};

PeriodicTask::PeriodicTask(boost::asio::io_context& io, std::chrono::milliseconds interval, std::function<void()> run)
    : interval_(interval), gate_(std::make_shared<Gate>(std::move(run))), timer_(io) {}

PeriodicTask::~PeriodicTask() { Stop(); }

void PeriodicTask::Schedule() {
  std::lock_guard<std::mutex> lock(gate_->mu);
  if (gate_->stopped) return;
  timer_.expires_after(interval_);
  // The handler holds the Gate, not the task: a wait cancelled by Stop()
  // may still call it after the task is gone.
  timer_.async_wait([gate = gate_](const boost::system::error_code& ec) {
    if (!ec) gate->Fire();
  });
}

void PeriodicTask::Cancel() {
  std::lock_guard<std::mutex> lock(gate_->mu);
  timer_.cancel();
}

void PeriodicTask::Stop() {
  std::unique_lock<std::mutex> lock(gate_->mu);
  gate_->stopped = true;
  timer_.cancel();
  const int own = tls_running == gate_.get() ? 1 : 0;
  gate_->idle.wait(lock, [&] { return gate_->running <= own; });
}

bool PeriodicTask::stopped() const {
  std::lock_guard<std::mutex> lock(gate_->mu);
  return gate_->stopped;
}

}  // namespace dynastore
