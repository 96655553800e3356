// faultline-report-bench: how long report.html takes to build for a big
// history, and how large it is.
//   faultline-history-gen --ops 2000000 --workload set --out /tmp/h.jsonl
//   faultline-report-bench --history /tmp/h.jsonl --workload set --dir /tmp/bigrun
// Makes DIR a run directory (history copied, results.json from the real
// checkers, a test.json), then times BuildReportData and WriteReport.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>

#include "harness/run/check.h"
#include "harness/run/registry.h"
#include "harness/run/test_config.h"
#include "reports/report.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using namespace faultline;
  CLI::App app{"faultline-report-bench: time report.html for a big history"};
  std::string history, workload = "set", dir;
  app.add_option("--history", history, "history.jsonl to report on")->required();
  app.add_option("--workload", workload, "workload that wrote it");
  app.add_option("--dir", dir, "run directory to make (overwritten)")->required();
  CLI11_PARSE(app, argc, argv);

  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(history, fs::path(dir) / "history.jsonl");
  nlohmann::json config = MergeConfig(DefaultConfigJson(), {{"workload", workload}, {"name", "report-bench"}});
  const TestConfig test = ResolveConfig(config, 1);
  WriteJsonFile(fs::path(dir) / "test.json", ToJson(test));
  const auto seconds = [](auto start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> warnings;
  const RunResults results = CheckHistoryFile(fs::path(dir) / "history.jsonl", *MakeWorkload(test), &warnings);
  WriteJsonFile(fs::path(dir) / "results.json", results.ToJson());
  fmt::print("check: {:.2f} s ({} ok, {} fail, {} info)\n", seconds(start), results.ok, results.fail, results.info);

  start = std::chrono::steady_clock::now();
  const nlohmann::json data = BuildReportData(dir);
  fmt::print("BuildReportData: {:.2f} s ({} completed ops, timeline exact: {})\n", seconds(start),
             data["timeline"]["total"].get<int64_t>(), data["timeline"]["exact"].get<bool>());
  start = std::chrono::steady_clock::now();
  const fs::path page = WriteReport(dir);
  fmt::print("WriteReport: {:.2f} s, {} = {:.1f} MB\n", seconds(start), page.string(),
             static_cast<double>(fs::file_size(page)) / 1e6);
  return 0;
}
