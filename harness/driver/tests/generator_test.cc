#include "harness/driver/generator.h"

#include <gtest/gtest.h>

#include <thread>
#include <tuple>
#include <vector>

namespace faultline {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Random key and value, so the RNG stream shows in every field.
class RandomWorkload : public Workload {
 public:
  std::string name() const override { return "random"; }
  Invocation Next(std::mt19937_64& rng) override {
    const uint64_t r = rng();
    return Invocation{r % 2 ? "add" : "read", "k" + std::to_string(r % 5), static_cast<int64_t>(rng() % 1000000)};
  }
  std::vector<Invocation> FinalReads() const override { return {}; }
  std::vector<std::string> Keys() const override { return {}; }
  std::vector<std::unique_ptr<Checker>> Checkers() const override { return {}; }
};

GeneratorOptions Options(double rate, std::chrono::nanoseconds limit, uint64_t seed = 1, uint64_t max_ops = 0) {
  GeneratorOptions o;
  o.rate = rate;
  o.time_limit = limit;
  o.seed = seed;
  o.max_ops = max_ops;
  return o;
}

using Triple = std::tuple<std::string, std::string, std::string>;

std::vector<Triple> Sequence(uint64_t seed, double rate, size_t n) {
  RandomWorkload workload;
  Generator generator(workload, Options(rate, 1h, seed, n), Clock::now());
  std::vector<Triple> out;
  while (auto op = generator.Next()) out.emplace_back(op->op.f, op->op.key, op->op.value.dump());
  return out;
}

TEST(GeneratorTest, RateSchedulesTheExpectedNumberOfOps) {
  // 200 ops/s for 2 s: 400 expected; the sum of 400 uniform gaps has a
  // standard deviation of ~58 ms, i.e. ~12 ops, so 340..460 is > 5 sigma.
  RandomWorkload workload;
  const auto start = Clock::now();
  Generator generator(workload, Options(200, 2s), start);
  int count = 0;
  Clock::time_point last = start;
  while (auto op = generator.Next()) {
    ++count;
    EXPECT_GE(op->at, last);
    EXPECT_LT(op->at, generator.deadline());
    last = op->at;
  }
  EXPECT_GE(count, 340);
  EXPECT_LE(count, 460);
  EXPECT_EQ(generator.deadline(), start + 2s);
}

TEST(GeneratorTest, UnlimitedRateSchedulesNow) {
  RandomWorkload workload;
  Generator generator(workload, Options(0, 1h), Clock::now());
  const auto before = Clock::now();
  auto op = generator.Next();
  ASSERT_TRUE(op);
  EXPECT_GE(op->at, before);
  EXPECT_LE(op->at, Clock::now());
}

TEST(GeneratorTest, TimeLimitIsRespected) {
  RandomWorkload workload;
  const auto start = Clock::now();
  Generator generator(workload, Options(0, 200ms), start);
  uint64_t count = 0;
  while (auto op = generator.Next()) {
    EXPECT_LT(op->at, start + 200ms);
    ++count;
  }
  EXPECT_GE(Clock::now(), start + 200ms);
  EXPECT_GT(count, 0u);
  EXPECT_FALSE(generator.Next());
  EXPECT_FALSE(generator.stopped());
}

TEST(GeneratorTest, LaggingScheduleRestartsFromNow) {
  RandomWorkload workload;
  // The phase "started" 5 s ago: the schedule is far behind and must not burst.
  const auto start = Clock::now() - 5s;
  Generator generator(workload, Options(1000, 1h), start);
  const auto before = Clock::now();
  auto first = generator.Next();
  ASSERT_TRUE(first);
  EXPECT_GE(first->at, before);
  auto second = generator.Next();
  ASSERT_TRUE(second);
  EXPECT_GE(second->at, first->at);
  EXPECT_LT(second->at - first->at, 2ms + 1us);  // gaps stay < 2/rate
}

TEST(GeneratorTest, MaxOpsStopsAfterExactlyThatMany) {
  RandomWorkload workload;
  Generator generator(workload, Options(0, 1h, 1, 100), Clock::now());
  uint64_t expected_sequence = 0;
  while (auto op = generator.Next()) EXPECT_EQ(op->sequence, expected_sequence++);
  EXPECT_EQ(expected_sequence, 100u);
  EXPECT_FALSE(generator.Next());
}

TEST(GeneratorTest, SameSeedSameSequenceWhateverTheRate) {
  const auto a = Sequence(42, 0, 500);
  const auto b = Sequence(42, 0, 500);
  const auto c = Sequence(42, 1e9, 500);  // a rate changes the schedule, not the ops
  ASSERT_EQ(a.size(), 500u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
}

TEST(GeneratorTest, DifferentSeedDifferentSequence) {
  const auto a = Sequence(42, 0, 100);
  const auto b = Sequence(43, 0, 100);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_NE(a, b);
}

TEST(GeneratorTest, StopEndsTheSequenceForEveryThread) {
  RandomWorkload workload;
  Generator generator(workload, Options(0, 1h), Clock::now());
  std::atomic<int64_t> handed_out{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      while (generator.Next()) handed_out.fetch_add(1);
    });
  }
  while (handed_out.load() < 1000) std::this_thread::yield();
  generator.Stop();
  for (auto& t : threads) t.join();  // would hang if Stop() did not end Next()
  EXPECT_TRUE(generator.stopped());
  EXPECT_FALSE(generator.Next());
}

}  // namespace
}  // namespace faultline
