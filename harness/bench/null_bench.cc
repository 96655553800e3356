// faultline-null-bench: the harness's own overhead with a store that costs
// nothing. A NullClient answers every op ok at once, so the figure is what
// the generator, the worker pool and the history writer sustain together.
//   faultline-null-bench --ops 5000000 --concurrency 10 --flush-ms 100 [--read [--check]]
// --read then also times ReadHistory on the file it wrote; --check also times
// the SetChecker on what was read plus final reads made up from it (every
// acknowledged element present on five nodes).
#include <fmt/format.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "checkers/set_checker.h"
#include "harness/driver/generator.h"
#include "harness/driver/history_writer.h"
#include "harness/driver/workers.h"
#include "testing/temp_dir.h"

namespace faultline {
namespace {

class NullWorkload : public Workload {
 public:
  std::string name() const override { return "null"; }
  Invocation Next(std::mt19937_64& rng) override { return Invocation{"add", kKeys[rng() % std::size(kKeys)], next_++}; }
  std::vector<Invocation> FinalReads() const override { return {}; }
  std::vector<std::string> Keys() const override { return {}; }
  std::vector<std::unique_ptr<Checker>> Checkers() const override { return {}; }

 private:
  static constexpr const char* kKeys[] = {"k1", "k2", "k3", "k4", "k5"};
  int64_t next_ = 0;
};

class NullClient : public Client {
 public:
  Completion Invoke(const Invocation& op) override { return Completion{OpType::kOk, op.value, {}}; }
};

int Main(int argc, char** argv) {
  CLI::App app("faultline-null-bench: generator + workers + history writer against a client that does nothing");
  uint64_t ops = 5'000'000;
  int concurrency = 10;
  int flush_ms = 100;
  bool read = false;
  bool check = false;
  app.add_option("--ops", ops, "operations to run (each is an invoke and a completion line)")
      ->check(CLI::PositiveNumber);
  app.add_option("--concurrency", concurrency, "worker threads")->check(CLI::Range(1, 10000));
  app.add_option("--flush-ms", flush_ms, "history flush interval")->check(CLI::Range(1, 100000));
  app.add_flag("--read", read, "also time reading the history back (ReadHistory)");
  app.add_flag("--check", check, "with --read: also time the set checker on the history");
  CLI11_PARSE(app, argc, argv);

  test::TempDir dir("faultline-null-bench");
  const auto history_path = dir.path() / "history.jsonl";
  NullWorkload workload;
  GeneratorOptions options;
  options.rate = 0;
  options.time_limit = std::chrono::hours(24);
  options.max_ops = ops;
  options.seed = 1;
  const auto start = std::chrono::steady_clock::now();
  HistoryWriter history(history_path, start, HistoryWriter::Options{std::chrono::milliseconds(flush_ms)});
  Generator generator(workload, options, start);
  std::vector<WorkerSpec> workers;
  for (int i = 0; i < concurrency; ++i) workers.push_back(WorkerSpec{std::make_unique<NullClient>(), "n1"});
  WorkerPool pool(generator, history, std::move(workers));
  pool.Start();
  pool.Join();
  history.Close();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (pool.error()) std::rethrow_exception(pool.error());

  const int64_t completed = pool.counters().ok + pool.counters().fail + pool.counters().info;
  const auto bytes = std::filesystem::file_size(history_path);
  fmt::print("ops completed     {}\n", completed);
  fmt::print("wall time         {:.3f} s\n", seconds);
  fmt::print("ops/s             {:.0f}\n", completed / seconds);
  fmt::print("history lines     {}\n", history.ops_written());
  fmt::print("history bytes     {} ({:.1f} MB)\n", bytes, bytes / 1e6);
  fmt::print("history MB/s      {:.1f}\n", bytes / 1e6 / seconds);
  if (read) {
    const auto read_start = std::chrono::steady_clock::now();
    HistoryReadResult result = ReadHistory(history_path);
    const double read_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - read_start).count();
    fmt::print("read lines        {} in {:.3f} s ({:.0f} lines/s, {:.1f} MB/s), {} warnings\n", result.ops.size(),
               read_seconds, result.ops.size() / read_seconds, bytes / 1e6 / read_seconds, result.warnings.size());
    if (check) {
      std::map<std::string, nlohmann::json> sets;
      for (const Op& op : result.ops) {
        if (op.type == OpType::kOk) sets.try_emplace(op.key, nlohmann::json::array()).first->second.push_back(op.value);
      }
      int64_t process = pool.next_free_process();
      for (const auto& [key, elements] : sets) {
        for (int node = 1; node <= 5; ++node, ++process) {
          Op invoke{int64_t(result.ops.size()), 0, OpType::kInvoke, process, "read", key, nullptr, "", ""};
          result.ops.push_back(invoke);
          Op ok = invoke;
          ok.index++;
          ok.type = OpType::kOk;
          ok.value = elements;
          ok.node = fmt::format("n{}", node);
          result.ops.push_back(std::move(ok));
        }
      }
      const auto check_start = std::chrono::steady_clock::now();
      CheckResult verdict = SetChecker().Check(result.ops);
      const double check_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - check_start).count();
      fmt::print("set checker       {} ops in {:.3f} s: {} ({})\n", result.ops.size(), check_seconds,
                 ValidityName(verdict.valid), verdict.summary);
    }
  }
  return 0;
}

}  // namespace
}  // namespace faultline

int main(int argc, char** argv) {
  try {
    return faultline::Main(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline-null-bench: {}\n", e.what());
    return 2;
  }
}
