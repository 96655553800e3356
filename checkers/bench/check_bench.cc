// faultline-check-bench: streams a history file once through a workload's
// checkers and reports each verdict, wall and CPU time, ops/s and peak RSS:
//   faultline-check-bench FILE --workload register|set|counter [--parse-only]
// register: lost-update; set: set; counter: counter; every workload also gets
// convergence and stats. --parse-only measures the reader alone.
#include <fmt/format.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "checkers/convergence_checker.h"
#include "checkers/counter_checker.h"
#include "checkers/history.h"
#include "checkers/lost_update_checker.h"
#include "checkers/set_checker.h"
#include "checkers/stats_checker.h"

namespace {

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

long PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace faultline;
  CLI::App app{"faultline-check-bench: times the checkers over a history file"};
  std::string path, workload = "register";
  bool parse_only = false;
  app.add_option("file", path, "history.jsonl")->required();
  app.add_option("--workload", workload, "register, set or counter")
      ->check(CLI::IsMember({"register", "set", "counter"}));
  app.add_flag("--parse-only", parse_only, "only read the file (no checker)");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::unique_ptr<Checker>> checkers;
  if (!parse_only) {
    if (workload == "register") checkers.push_back(std::make_unique<LostUpdateChecker>());
    if (workload == "set") checkers.push_back(std::make_unique<SetChecker>());
    if (workload == "counter") checkers.push_back(std::make_unique<CounterChecker>());
    checkers.push_back(std::make_unique<ConvergenceChecker>());
    checkers.push_back(std::make_unique<StatsChecker>());
  }
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = CpuSeconds();
  int64_t ops = 0;
  std::vector<std::string> warnings;
  try {
    ForEachOp(
        path,
        [&](const Op& op) {
          ++ops;
          for (const auto& checker : checkers) checker->Add(op);
        },
        &warnings, /*lenient=*/true);
    const double read_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const auto& checker : checkers) {
      const auto finish_start = std::chrono::steady_clock::now();
      CheckResult result = checker->Finish();
      fmt::print("{:12} {:8} finish {:.3f} s  {}\n", checker->name(), ValidityName(result.valid),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - finish_start).count(),
                 result.summary.substr(0, 160));
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = CpuSeconds() - cpu_start;
    for (const auto& w : warnings) fmt::print("warning: {}\n", w);
    fmt::print(
        "{} ops, {} workload{}: wall {:.2f} s (streaming pass {:.2f} s), cpu {:.2f} s, {:.0f} ops/s, "
        "peak RSS {} MiB\n",
        ops, workload, parse_only ? " (parse only)" : "", wall, read_s, cpu, double(ops) / wall, PeakRssMiB());
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline-check-bench: {}\n", e.what());
    return 2;
  }
  return 0;
}
