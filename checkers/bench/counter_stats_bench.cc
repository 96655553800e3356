// faultline-counter-stats-bench: Add() throughput of CounterChecker and
// StatsChecker over a synthetic history (default 10M ops), with peak memory.
//   faultline-counter-stats-bench [ops]
// The history is a 100k-op block (10 workers, counter adds on 5 keys with 1%
// fail and 1% info, a nemesis fault every 10k ops; a register variant with
// rmw ops carrying 1-3 siblings) replayed with shifted times, so generating
// it costs nothing and memory shows only what the checkers keep.
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "checkers/counter_checker.h"
#include "checkers/stats_checker.h"

namespace faultline {
namespace {

constexpr int kBlock = 100'000;
constexpr int kWorkers = 10;

History MakeBlock(bool rmw) {
  std::mt19937_64 rng(7);
  History ops;
  ops.reserve(kBlock);
  int64_t time = 0;
  auto push = [&](OpType type, int64_t process, const std::string& f, const std::string& key, nlohmann::json value) {
    Op op;
    op.index = static_cast<int64_t>(ops.size());
    op.time = time;
    op.type = type;
    op.process = process;
    op.f = f;
    op.key = key;
    op.value = std::move(value);
    if (type != OpType::kInvoke) op.node = "n" + std::to_string(process % 5 + 1);
    ops.push_back(std::move(op));
  };
  int64_t id = 0;
  while (static_cast<int>(ops.size()) + 2 * kWorkers + 2 <= kBlock) {
    if (ops.size() % 10'000 < 2 * kWorkers) {
      push(OpType::kInfo, kNemesisProcess, ops.size() % 20'000 < 2 * kWorkers ? "start-partition" : "stop-partition",
           "", nlohmann::json::object());
    }
    for (int w = 0; w < kWorkers; ++w) {
      const std::string key = "k" + std::to_string(rng() % 5 + 1);
      const uint64_t roll = rng() % 100;
      const OpType outcome = roll == 0 ? OpType::kFail : roll == 1 ? OpType::kInfo : OpType::kOk;
      time += 1000;
      if (rmw) {
        nlohmann::json read = nlohmann::json::array();
        for (uint64_t i = 0, n = rng() % 3 + 1; i < n; ++i) read.push_back(id - 1 - static_cast<int64_t>(i));
        push(OpType::kInvoke, w, "rmw", key, {{"write", id}});
        time += 50'000 + rng() % 1'000'000;
        push(outcome, w, "rmw", key, {{"read", std::move(read)}, {"write", id}});
      } else {
        const int64_t delta = static_cast<int64_t>(rng() % 15) - 5;
        push(OpType::kInvoke, w, "add", key, delta);
        time += 50'000 + rng() % 1'000'000;
        push(outcome, w, "add", key, delta);
      }
      ++id;
    }
  }
  return ops;
}

// Feeds `total` ops (the block replayed with shifted times) to `checker`; returns seconds spent.
double Feed(Checker& checker, History& block, int64_t total) {
  const int64_t span = block.back().time + 1000;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t fed = 0, round = 0; fed < total; ++round) {
    for (Op& op : block) {
      if (fed++ == total) break;
      if (round > 0) {
        op.time += span;
        op.index += kBlock;
      }
      checker.Add(op);
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

long PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

void Run(const char* label, Checker&& checker, bool rmw, int64_t total) {
  History block = MakeBlock(rmw);
  const double seconds = Feed(checker, block, total);
  const auto finish_start = std::chrono::steady_clock::now();
  CheckResult result = checker.Finish();
  const double finish = std::chrono::duration<double>(std::chrono::steady_clock::now() - finish_start).count();
  std::printf("%-18s %lld ops in %.2f s: %.2f M ops/s (Finish %.3f s), peak RSS so far %ld MB, verdict %s\n", label,
              static_cast<long long>(total), seconds, total / seconds / 1e6, finish, PeakRssMb(),
              std::string(ValidityName(result.valid)).c_str());
}

}  // namespace
}  // namespace faultline

int main(int argc, char** argv) {
  using namespace faultline;
  const int64_t total = argc > 1 ? std::atoll(argv[1]) : 10'000'000;
  std::printf("baseline peak RSS %ld MB\n", PeakRssMb());
  Run("counter", CounterChecker(), false, total);
  Run("stats (counter)", StatsChecker(), false, total);
  Run("stats (register)", StatsChecker(), true, total);
  return 0;
}
