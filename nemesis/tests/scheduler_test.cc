// NemesisScheduler: the schedule is a function of the seed, every start,
// stop and heal lands in the history (failures with their error), Stop()
// ends an active fault, and HealAll() reports what Verify() finds. The
// faults here are small in-test Fault implementations that record calls;
// the real faults have their own tests against real nodes.
#include "nemesis/scheduler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "harness/base/harness_error.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Calls {
  std::vector<std::string> log;
  std::mutex mu;
  void Add(const std::string& s) {
    std::lock_guard lock(mu);
    log.push_back(s);
  }
};

class RecordingFault : public Fault {
 public:
  RecordingFault(std::string name, Calls& calls, bool fail_start = false, std::vector<std::string> problems = {})
      : name_(std::move(name)), calls_(calls), fail_start_(fail_start), problems_(std::move(problems)) {}
  std::string name() const override { return name_; }
  nlohmann::json Start(std::mt19937_64& rng) override {
    const int target = static_cast<int>(rng() % 5) + 1;
    calls_.Add("start " + name_ + " n" + std::to_string(target));
    if (fail_start_) throw HarnessError("iptables exploded on n" + std::to_string(target));
    return {{"targets", {"n" + std::to_string(target)}}};
  }
  nlohmann::json Stop() override {
    calls_.Add("stop " + name_);
    return {{"healed", true}};
  }
  nlohmann::json HealAll() override {
    calls_.Add("heal " + name_);
    return nlohmann::json::object();
  }
  std::vector<std::string> Verify() override { return problems_; }

 private:
  std::string name_;
  Calls& calls_;
  bool fail_start_;
  std::vector<std::string> problems_;
};

class SchedulerTest : public ::testing::Test {
 protected:
  // Runs a schedule of two fault kinds with a short interval for `run`.
  std::vector<std::string> Schedule(uint64_t seed, Calls& calls, History* ops, bool fail = false) {
    std::vector<std::unique_ptr<Fault>> faults;
    faults.push_back(std::make_unique<RecordingFault>("partition", calls, fail));
    faults.push_back(std::make_unique<RecordingFault>("kill", calls));
    const fs::path path = dir_ / ("h" + std::to_string(seed) + (fail ? "f" : "") + ".jsonl");
    {
      HistoryWriter history(path, std::chrono::steady_clock::now());
      NemesisScheduler nemesis(std::move(faults), history, 0.01, seed, nullptr);
      nemesis.Start();
      // Wait for 8 starts rather than a fixed time: no timing luck needed.
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (nemesis.started() + nemesis.failed() < 8 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
      }
      nemesis.Stop();
      history.Close();
    }
    if (ops != nullptr) *ops = ReadHistory(path).ops;
    std::vector<std::string> starts;
    for (const auto& c : calls.log) {
      if (c.rfind("start", 0) == 0) starts.push_back(c);
    }
    starts.resize(std::min<size_t>(starts.size(), 8));
    return starts;
  }

  test::TempDir tmp_{"faultline-scheduler"};  // mkdtemp; removed with the fixture
  const fs::path dir_ = tmp_.path();
};

TEST_F(SchedulerTest, SameSeedSameScheduleDifferentSeedDifferent) {
  Calls a, b, c;
  const auto first = Schedule(1, a, nullptr);
  ASSERT_EQ(first.size(), 8u);
  EXPECT_EQ(Schedule(1, b, nullptr), first);
  EXPECT_NE(Schedule(2, c, nullptr), first);
}

TEST_F(SchedulerTest, EveryStartAndStopIsANemesisInfoOpAndStartsAreStopped) {
  Calls calls;
  History ops;
  Schedule(3, calls, &ops);
  int starts = 0, stops = 0;
  for (const Op& op : ops) {
    EXPECT_EQ(op.process, kNemesisProcess);
    EXPECT_EQ(op.type, OpType::kInfo);
    if (op.f.rfind("start-", 0) == 0) {
      ++starts;
      EXPECT_TRUE(op.value.contains("targets")) << op.value.dump();
      EXPECT_EQ(op.value["fault"], op.f.substr(6));
    }
    if (op.f.rfind("stop-", 0) == 0) ++stops;
  }
  EXPECT_GE(starts, 8);
  EXPECT_EQ(starts, stops);  // Stop() ended the fault in effect
  // Starts and stops alternate.
  std::string last;
  for (const Op& op : ops) {
    const std::string kind = op.f.substr(0, op.f.find('-'));
    EXPECT_NE(kind, last) << "two " << kind << "s in a row at index " << op.index;
    last = kind;
  }
}

TEST_F(SchedulerTest, AFailedInjectionIsRecordedWithItsErrorAndStillStopped) {
  Calls calls;
  History ops;
  Schedule(4, calls, &ops, /*fail=*/true);
  int failed = 0;
  for (const Op& op : ops) {
    if (op.f == "start-partition") {
      ++failed;
      EXPECT_NE(op.error.find("iptables exploded"), std::string::npos) << op.error;
    }
  }
  EXPECT_GT(failed, 0);
  // A half-done injection is undone: every failed start is followed by a stop.
  for (size_t i = 0; i + 1 < ops.size(); ++i) {
    if (ops[i].f == "start-partition") {
      EXPECT_EQ(ops[i + 1].f, "stop-partition");
    }
  }
}

TEST_F(SchedulerTest, HealAllHealsEveryKindAndReportsWhatVerifyFinds) {
  Calls calls;
  std::vector<std::unique_ptr<Fault>> faults;
  faults.push_back(std::make_unique<RecordingFault>("pause", calls));
  faults.push_back(
      std::make_unique<RecordingFault>("clock", calls, false, std::vector<std::string>{"n2: clock still +500 ms"}));
  const fs::path path = dir_ / "heal.jsonl";
  HistoryWriter history(path, std::chrono::steady_clock::now());
  NemesisScheduler nemesis(std::move(faults), history, 3600, 9, nullptr);
  nemesis.Start();
  const auto problems = nemesis.HealAll();  // also stops the (idle) schedule promptly
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "clock: n2: clock still +500 ms");
  history.Close();
  const History ops = ReadHistory(path).ops;
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].f, "heal-pause");
  EXPECT_EQ(ops[1].f, "heal-clock");
  EXPECT_EQ(calls.log, (std::vector<std::string>{"heal pause", "heal clock"}));
}

TEST_F(SchedulerTest, TheFinalFaultIsStillInEffectAfterStopUntilHealAll) {
  Calls calls;
  std::vector<std::unique_ptr<Fault>> faults;
  faults.push_back(std::make_unique<RecordingFault>("partition", calls));
  const fs::path path = dir_ / "final.jsonl";
  HistoryWriter history(path, std::chrono::steady_clock::now());
  // An hour-long interval: the only fault that can start is the final one.
  NemesisScheduler nemesis(std::move(faults), history, 3600, 5, nullptr);
  nemesis.HoldFinalFault(std::chrono::steady_clock::now());
  nemesis.Start();
  const auto deadline = std::chrono::steady_clock::now() + 60s;  // a bound for a broken build, not a timing
  while (nemesis.started() < 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(nemesis.started(), 1);
  nemesis.Stop();
  {
    std::lock_guard lock(calls.mu);
    ASSERT_EQ(calls.log.size(), 1u);  // started, and Stop() did not stop it
    EXPECT_EQ(calls.log[0].rfind("start partition", 0), 0u) << calls.log[0];
  }
  EXPECT_TRUE(nemesis.HealAll().empty());
  history.Close();
  const History ops = ReadHistory(path).ops;
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].f, "start-partition");
  EXPECT_EQ(ops[1].f, "heal-partition");  // closed by the heal, never by a stop
}

// The arithmetic behind the warning that a run cannot get the faults it asks for (issue 20).
TEST(ScheduledFaultStarts, CountsTheWindowsOfTheLoop) {
  EXPECT_EQ(ScheduledFaultStarts(10, 0, 8), 0);    // the README's nightly plan: interval 10 s >= time limit 8 s
  EXPECT_EQ(ScheduledFaultStarts(10, 0, 10), 0);   // the first would start as the phase ends
  EXPECT_EQ(ScheduledFaultStarts(10, 0, 60), 3);   // at 10, 30, 50
  EXPECT_EQ(ScheduledFaultStarts(1, 0, 8), 4);     // at 1, 3, 5, 7
  EXPECT_EQ(ScheduledFaultStarts(100, 5, 10), 1);  // only the final one, at 5
  EXPECT_EQ(ScheduledFaultStarts(10, 3, 8), 1);    // the final one at 5 cuts the first wait short
  EXPECT_EQ(ScheduledFaultStarts(2, 3, 16), 4);    // at 2, 6, 10, then the final one at 13
}

}  // namespace
}  // namespace faultline
