// faultline-lin-bench: times the linearizable checker on generated one-key
// cas-register histories (lin_gen.h), linearizable and not, over a matrix of
// concurrent processes x ops per key x crashed fraction, on one thread:
//   faultline-lin-bench [--processes 5,10,20,50] [--ops 1000,10000,100000]
//                       [--crashed 0,0.01,0.1] [--time-limit-s 10] [--memory-mb 512]
//                       [--budget-sweep]   also: the smallest budgets that still decide the hardest row
//                       [--etcd-like]      only: 102 histories shaped like Jepsen's etcd ones (5 processes,
//                                          ~84 ops, 15% crashed, half with a stale read), total ops/s
// Prints per row: verdict, seconds, ops/s, configurations explored, the
// search's peak memory (fingerprint table + arrays) and the process's maxrss.
// "stale" rows carry one stale read (lin_gen.h); "clean*" rows asked for one
// but every candidate value was explained by a concurrent or crashed op.
#include <fmt/format.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "checkers/bench/lin_gen.h"
#include "checkers/linearizable/linearizable_checker.h"

namespace {

using namespace faultline;

long MaxRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

struct Row {
  std::string verdict;
  double seconds;
  int64_t explored, search_bytes;
  std::string reason;
};

Row Time(const History& h, double time_limit_s, int64_t memory_mb) {
  LinearizableOptions options;
  options.threads = 1;
  options.time_limit_s = time_limit_s;
  options.memory_mb = memory_mb;
  const auto start = std::chrono::steady_clock::now();
  const CheckResult r = MakeLinearizableChecker(options)->Check(h);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string reason;
  if (!r.details["unknown_keys"].empty()) reason = r.details["unknown_keys"][0]["reason"];
  return Row{ValidityToJson(r.valid).dump(), s, r.details["explored"].get<int64_t>(),
             r.details["peak_search_bytes"].get<int64_t>(), reason};
}

// 102 one-key histories like Porcupine's etcd set (8,523 ops, 1,283 crashed):
// 5 processes, 84 ops, 15% crashed, values 0..4, every other one with a stale read.
int EtcdLike(uint64_t seed, double time_limit_s, int64_t memory_mb) {
  int64_t ops = 0, invalid = 0, unknown = 0;
  double seconds = 0, slowest = 0;
  for (int i = 0; i < 102; ++i) {
    const bench::LinGenOptions gen{5, 84, 0.15, i % 2 == 1, seed + static_cast<uint64_t>(i), 5};
    const History h = bench::GenerateLinHistory(gen);
    const Row row = Time(h, time_limit_s, memory_mb);
    ops += gen.ops;
    seconds += row.seconds;
    slowest = std::max(slowest, row.seconds);
    invalid += row.verdict == "false";
    unknown += row.verdict == "\"unknown\"";
  }
  fmt::print(
      "etcd-like: 102 histories, {} ops in {:.4f} s = {:.0f} ops/s (slowest {:.4f} s); {} not linearizable, {} "
      "unknown; maxrss {} MB\n",
      ops, seconds, static_cast<double>(ops) / seconds, slowest, invalid, unknown, MaxRssMiB());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"faultline-lin-bench: times the linearizable checker on generated histories"};
  std::vector<int> processes = {5, 10, 20, 50};
  std::vector<int64_t> ops = {1000, 10000, 100000};
  std::vector<double> crashed = {0, 0.01, 0.1};
  double time_limit_s = 10;
  int64_t memory_mb = 512;
  uint64_t seed = 1;
  bool sweep = false, etcd = false;
  std::string dump;
  int values = 5;
  app.add_option("--processes", processes, "concurrent processes")->delimiter(',');
  app.add_option("--ops", ops, "ops per key")->delimiter(',');
  app.add_option("--crashed", crashed, "fraction of crashed (info) ops")->delimiter(',');
  app.add_option("--time-limit-s", time_limit_s, "per-key time limit");
  app.add_option("--memory-mb", memory_mb, "per-key memory limit");
  app.add_option("--seed", seed, "generator seed");
  app.add_option("--values", values, "written values are 0..values-1");
  app.add_flag("--budget-sweep", sweep, "also shrink the budget on the hardest row until the key is unknown");
  app.add_option("--dump", dump, "write each generated history to DUMP.<procs>.<ops>.<crashed>.<kind>.jsonl");
  app.add_flag("--etcd-like", etcd, "only the etcd-shaped set (Porcupine's benchmark shape)");
  CLI11_PARSE(app, argc, argv);
  if (etcd) return EtcdLike(seed, time_limit_s, memory_mb);

  fmt::print("{:>5} {:>7} {:>6} {:>7} | {:>8} {:>9} {:>11} {:>10} {:>9} {:>7}\n", "procs", "ops", "crash", "history",
             "verdict", "seconds", "ops/s", "explored", "search MB", "rss MB");
  double hardest = -1;
  bench::LinGenOptions hardest_gen;
  for (int p : processes) {
    for (int64_t n : ops) {
      for (double c : crashed) {
        for (bool corrupt : {false, true}) {
          const bench::LinGenOptions gen{p, n, c, corrupt, seed, values};
          bool stale = false;
          const History h = bench::GenerateLinHistory(gen, &stale);
          const char* kind = !corrupt ? "clean" : stale ? "stale" : "clean*";
          if (!dump.empty()) {
            std::FILE* f = std::fopen(fmt::format("{}.{}.{}.{}.{}.jsonl", dump, p, n, c, kind).c_str(), "w");
            for (const Op& op : h) fmt::print(f, "{}\n", ToJsonLine(op));
            std::fclose(f);
          }
          const Row row = Time(h, time_limit_s, memory_mb);
          fmt::print("{:>5} {:>7} {:>5.0f}% {:>7} | {:>8} {:>9.3f} {:>11.0f} {:>10} {:>9.1f} {:>7}{}\n", p, n, c * 100,
                     kind, row.verdict, row.seconds, static_cast<double>(n) / row.seconds, row.explored,
                     static_cast<double>(row.search_bytes) / (1 << 20), MaxRssMiB(),
                     row.reason.empty() ? "" : "  (" + row.reason + ")");
          std::fflush(stdout);
          if (row.seconds > hardest) {
            hardest = row.seconds;
            hardest_gen = gen;
          }
        }
      }
    }
  }
  if (!sweep) return 0;
  const History h = bench::GenerateLinHistory(hardest_gen);
  fmt::print("\nbudget sweep on the hardest row ({} processes, {} ops, {:.0f}% crashed, {}):\n", hardest_gen.processes,
             hardest_gen.ops, hardest_gen.crashed * 100, hardest_gen.corrupt ? "stale" : "clean");
  for (int64_t mb : {256, 64, 16, 4, 1}) {
    const Row row = Time(h, time_limit_s, mb);
    fmt::print("  memory {:>4} MB: {:>8} in {:.3f} s, {} explored{}\n", mb, row.verdict, row.seconds, row.explored,
               row.reason.empty() ? "" : " (" + row.reason + ")");
  }
  for (double t : {1.0, 0.1, 0.01}) {
    const Row row = Time(h, t, memory_mb);
    fmt::print("  time {:>5} s: {:>8} in {:.3f} s, {} explored{}\n", t, row.verdict, row.seconds, row.explored,
               row.reason.empty() ? "" : " (" + row.reason + ")");
  }
  return 0;
}
