#include "harness/driver/workers.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <set>
#include <thread>

#include "testing/temp_dir.h"

namespace faultline {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Temp dirs named for this file's tests.
struct WorkersTempDir : test::TempDir {
  WorkersTempDir() : test::TempDir("faultline-workers-test") {}
};

class CountingWorkload : public Workload {
 public:
  std::string name() const override { return "counting"; }
  Invocation Next(std::mt19937_64& rng) override { return Invocation{"add", "k" + std::to_string(rng() % 3), next_++}; }
  std::vector<Invocation> FinalReads() const override { return {}; }
  std::vector<std::string> Keys() const override { return {}; }
  std::vector<std::unique_ptr<Checker>> Checkers() const override { return {}; }

 private:
  int64_t next_ = 0;
};

// Every 3rd op of this client ends in info, every 5th (not 3rd) in fail,
// and with throw_every > 0 every such op throws instead.
class PatternClient : public Client {
 public:
  explicit PatternClient(int throw_every = 0) : throw_every_(throw_every) {}
  Completion Invoke(const Invocation& op) override {
    ++n_;
    if (throw_every_ > 0 && n_ % throw_every_ == 0) throw std::runtime_error("boom");
    if (n_ % 3 == 0) return Completion{OpType::kInfo, op.value, "timed out"};
    if (n_ % 5 == 0) return Completion{OpType::kFail, op.value, "refused"};
    return Completion{OpType::kOk, op.value, {}};
  }

 private:
  int throw_every_;
  int64_t n_ = 0;
};

GeneratorOptions Unlimited(uint64_t max_ops) {
  GeneratorOptions o;
  o.rate = 0;
  o.time_limit = 1h;
  o.seed = 7;
  o.max_ops = max_ops;
  return o;
}

std::vector<WorkerSpec> Workers(int n, int throw_every = 0) {
  std::vector<WorkerSpec> workers;
  for (int i = 0; i < n; ++i) {
    workers.push_back(WorkerSpec{std::make_unique<PatternClient>(throw_every), "n" + std::to_string(i)});
  }
  return workers;
}

TEST(WorkersTest, InfoRetiresTheProcessAndCountersMatchTheHistory) {
  WorkersTempDir dir;
  constexpr int kWorkers = 4;
  constexpr uint64_t kOps = 3000;
  CountingWorkload workload;
  HistoryWriter history(dir.file(), Clock::now());
  Generator generator(workload, Unlimited(kOps), Clock::now());
  WorkerPool pool(generator, history, Workers(kWorkers));
  pool.Start();
  pool.Join();
  ASSERT_FALSE(pool.error());
  history.Close();

  HistoryReadResult read = ReadHistory(dir.file());
  ASSERT_EQ(read.ops.size(), 2 * kOps);
  std::map<int64_t, const Op*> open;  // process → its pending invoke
  std::set<int64_t> retired;
  std::set<int64_t> values;
  int64_t invokes = 0, ok = 0, fail = 0, info = 0, highest_process = -1;
  for (const Op& op : read.ops) {
    highest_process = std::max(highest_process, op.process);
    if (op.type == OpType::kInvoke) {
      ++invokes;
      EXPECT_FALSE(retired.count(op.process)) << "process " << op.process << " invoked after an info";
      EXPECT_FALSE(open.count(op.process)) << "process " << op.process << " has two ops in flight";
      open[op.process] = &op;
      values.insert(op.value.get<int64_t>());
      continue;
    }
    auto it = open.find(op.process);
    ASSERT_NE(it, open.end()) << "completion without invoke at index " << op.index;
    EXPECT_EQ(op.f, it->second->f);
    EXPECT_EQ(op.key, it->second->key);
    EXPECT_EQ(op.value, it->second->value);
    // Worker i runs processes i, i + n, i + 2n, ... and serves node "n<i>".
    EXPECT_EQ(op.node, "n" + std::to_string(op.process % kWorkers));
    open.erase(it);
    switch (op.type) {
      case OpType::kOk:
        ++ok;
        EXPECT_TRUE(op.error.empty());
        break;
      case OpType::kFail:
        ++fail;
        EXPECT_EQ(op.error, "refused");
        break;
      default:
        ++info;
        EXPECT_EQ(op.error, "timed out");
        retired.insert(op.process);
    }
  }
  EXPECT_TRUE(open.empty());
  EXPECT_EQ(values.size(), kOps);  // every generated op invoked exactly once
  EXPECT_EQ(pool.counters().invoked.load(), invokes);
  EXPECT_EQ(pool.counters().ok.load(), ok);
  EXPECT_EQ(pool.counters().fail.load(), fail);
  EXPECT_EQ(pool.counters().info.load(), info);
  EXPECT_EQ(invokes, int64_t(kOps));
  EXPECT_EQ(info, int64_t(retired.size()));  // each info retired its own process
  EXPECT_GT(info, int64_t(kOps / 4));
  EXPECT_GT(pool.next_free_process(), highest_process);
}

TEST(WorkersTest, ThrowingClientRecordsInfoAndGoesOn) {
  WorkersTempDir dir;
  CountingWorkload workload;
  HistoryWriter history(dir.file(), Clock::now());
  Generator generator(workload, Unlimited(100), Clock::now());
  WorkerPool pool(generator, history, Workers(2, /*throw_every=*/4));
  pool.Start();
  pool.Join();
  ASSERT_FALSE(pool.error());
  history.Close();
  HistoryReadResult read = ReadHistory(dir.file());
  ASSERT_EQ(read.ops.size(), 200u);
  int thrown = 0;
  for (const Op& op : read.ops) {
    if (op.type == OpType::kInfo && op.error == "client threw: boom") ++thrown;
  }
  EXPECT_GE(thrown, 20);  // 25 of the 100 ops, give or take the split between workers
  EXPECT_EQ(pool.counters().invoked.load(), 100);
}

TEST(WorkersTest, StopEndsSleepingWorkersPromptly) {
  WorkersTempDir dir;
  CountingWorkload workload;
  HistoryWriter history(dir.file(), Clock::now());
  GeneratorOptions slow;
  slow.rate = 0.001;  // gaps up to 2000 s
  slow.time_limit = 1h;
  Generator generator(workload, slow, Clock::now());
  WorkerPool pool(generator, history, Workers(3));
  pool.Start();
  std::this_thread::sleep_for(100ms);
  const auto stop_at = Clock::now();
  generator.Stop();
  pool.Join();
  // Sleeps are sliced at 50 ms; waiting out a gap would take up to 2000 s.
  EXPECT_LT(Clock::now() - stop_at, 60s);
  EXPECT_LE(pool.counters().invoked.load(), 1);
  EXPECT_EQ(pool.counters().invoked.load(), history.ops_written() / 2);
}

}  // namespace
}  // namespace faultline
