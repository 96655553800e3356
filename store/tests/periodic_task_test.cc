// PeriodicTask: runs once per Schedule, re-arming replaces, Cancel disarms,
// Stop (and the destructor) cancel a pending run at once, wait for a run in
// progress, and nothing runs after them. No assertion on how long anything
// takes: waits are "eventually" (a generous deadline), and the checks that
// nothing happens look a little later, which can only miss a bug, never
// invent one.
#include "store/periodic_task.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

namespace dynastore {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kEventually{10000};
constexpr milliseconds kAWhile{30};
constexpr milliseconds kNever{3600 * 1000};  // an interval no test waits out

bool Eventually(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + kEventually;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// An io_context run by one thread until the fixture ends.
class PeriodicTaskTest : public ::testing::Test {
 protected:
  void StartIoThread() {
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  // Runs the io_context on this thread until it has nothing left to do.
  // True when that happened (no pending wait), false at the deadline.
  bool RunUntilIdle() {
    io_.restart();
    io_.run_for(kEventually);
    return io_.stopped();
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::atomic<int> runs_{0};
};

TEST_F(PeriodicTaskTest, RunsOnceAnIntervalAfterEachSchedule) {
  PeriodicTask* self = nullptr;
  PeriodicTask task(io_, milliseconds(1), [&] {
    if (++runs_ < 3) self->Schedule();  // like a round that ends and schedules the next
  });
  self = &task;
  StartIoThread();
  task.Schedule();
  EXPECT_TRUE(Eventually([&] { return runs_ == 3; })) << runs_;
  std::this_thread::sleep_for(kAWhile);
  EXPECT_EQ(runs_, 3);  // not scheduled again: no run
  EXPECT_FALSE(task.stopped());
}

TEST_F(PeriodicTaskTest, ReschedulingReplacesAPendingRunAndCancelDisarms) {
  PeriodicTask task(io_, milliseconds(1), [&] { ++runs_; });
  task.Schedule();
  task.Schedule();
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(runs_, 1);

  task.Schedule();
  task.Cancel();
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(runs_, 1);
  EXPECT_FALSE(task.stopped());

  task.Schedule();  // armed again after a Cancel
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(runs_, 2);
}

TEST_F(PeriodicTaskTest, StopCancelsAPendingRunAtOnce) {
  PeriodicTask task(io_, kNever, [&] { ++runs_; });
  task.Schedule();
  task.Stop();
  EXPECT_TRUE(task.stopped());
  EXPECT_TRUE(RunUntilIdle());  // the wait is gone, not waited out
  task.Schedule();              // a no-op once stopped
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(runs_, 0);
  task.Stop();  // idempotent
}

TEST_F(PeriodicTaskTest, TheDestructorCancelsAPendingRunAtOnce) {
  auto task = std::make_unique<PeriodicTask>(io_, kNever, [&] { ++runs_; });
  task->Schedule();
  task.reset();
  EXPECT_TRUE(RunUntilIdle());
  EXPECT_EQ(runs_, 0);
}

TEST_F(PeriodicTaskTest, NeverRunsAfterStop) {
  PeriodicTask* self = nullptr;
  PeriodicTask task(io_, milliseconds(1), [&] {
    ++runs_;
    self->Schedule();
  });
  self = &task;
  StartIoThread();
  task.Schedule();
  ASSERT_TRUE(Eventually([&] { return runs_ >= 5; })) << runs_;
  task.Stop();
  const int runs = runs_;
  std::this_thread::sleep_for(kAWhile);
  EXPECT_EQ(runs_, runs);
}

TEST_F(PeriodicTaskTest, NeverRunsAfterTheDestructor) {
  std::atomic<PeriodicTask*> self = nullptr;
  auto task = std::make_unique<PeriodicTask>(io_, milliseconds(1), [&] {
    ++runs_;
    self.load()->Schedule();  // still alive: the destructor waits for this run
  });
  self = task.get();
  StartIoThread();
  task->Schedule();
  ASSERT_TRUE(Eventually([&] { return runs_ >= 5; })) << runs_;
  task.reset();
  const int runs = runs_;
  std::this_thread::sleep_for(kAWhile);
  EXPECT_EQ(runs_, runs);
}

TEST_F(PeriodicTaskTest, StopWaitsForARunInProgress) {
  std::atomic<bool> entered = false, release = false, returned = false;
  PeriodicTask task(io_, milliseconds(1), [&] {
    entered = true;
    while (!release) std::this_thread::sleep_for(milliseconds(1));
    ++runs_;
  });
  StartIoThread();
  task.Schedule();
  ASSERT_TRUE(Eventually([&] { return entered.load(); }));
  std::thread stopper([&] {
    task.Stop();
    returned = true;
  });
  std::this_thread::sleep_for(kAWhile);
  EXPECT_FALSE(returned);
  release = true;
  stopper.join();
  EXPECT_TRUE(returned);
  EXPECT_EQ(runs_, 1);  // the run in progress finished before Stop returned
}

TEST_F(PeriodicTaskTest, StopFromInsideTheRunDoesNotWaitForItself) {
  PeriodicTask* self = nullptr;
  PeriodicTask task(io_, milliseconds(1), [&] {
    self->Stop();
    self->Schedule();  // a no-op now
    ++runs_;
  });
  self = &task;
  StartIoThread();
  task.Schedule();
  EXPECT_TRUE(Eventually([&] { return runs_ == 1; }));
  EXPECT_TRUE(task.stopped());
  std::this_thread::sleep_for(kAWhile);
  EXPECT_EQ(runs_, 1);
}

}  // namespace
}  // namespace dynastore
