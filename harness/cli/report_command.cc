// `faultline report`: regenerates report.html and junit.xml of stored runs,
// and `--index` the store's index.html, from the files in the run
// directories alone (test.json, history.jsonl, results.json). Exit 0 when
// every page was written, 2 when some input is missing or bad (each problem
// printed on stderr, naming the directory or file).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "harness/cli/commands.h"
#include "reports/report.h"
#include "reports/store_index.h"

namespace faultline {
namespace fs = std::filesystem;

namespace {

int ReportCommand(const std::vector<std::string>& run_dirs, bool index, const std::string& store_dir) {
  if (run_dirs.empty() && !index) {
    std::cerr << "faultline report: give RUN_DIR... (e.g. store/latest) and/or --index" << std::endl;
    return kExitBadInput;
  }
  int exit_code = 0;
  for (const std::string& arg : run_dirs) {
    const auto start = std::chrono::steady_clock::now();
    try {
      if (!fs::is_directory(arg)) throw std::runtime_error(arg + " is not a run directory");
      const fs::path dir = fs::canonical(arg);  // store/latest is a link to the run directory
      WriteRunReports(dir);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cout << fmt::format("report: {} ({:.1f} MB, {:.2f} s); junit: {}", (dir / "report.html").string(),
                               static_cast<double>(fs::file_size(dir / "report.html")) / 1e6, s,
                               (dir / "junit.xml").string())
                << std::endl;
    } catch (const std::exception& e) {
      std::cerr << "faultline report: " << e.what() << std::endl;  // the message names the directory or file
      exit_code = kExitBadInput;
    }
  }
  if (index) {
    try {
      if (!fs::is_directory(store_dir)) throw std::runtime_error(store_dir + " is not a directory");
      std::vector<std::string> warnings;
      WriteStoreIndex(store_dir, &warnings);
      for (const auto& w : warnings) std::cerr << "faultline report --index: " << w << std::endl;
      std::cout << "index: " << (fs::path(store_dir) / "index.html").string() << std::endl;
    } catch (const std::exception& e) {
      std::cerr << "faultline report --index: " << e.what() << std::endl;
      exit_code = kExitBadInput;
    }
  }
  return exit_code;
}

}  // namespace

void AddReportCommand(CLI::App& app, std::vector<Command>& commands) {
  struct ReportFlags {
    std::vector<std::string> run_dirs;
    bool index = false;
    std::string store_dir = "store";
  };
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* report = app.add_subcommand("report",
                                        "regenerate report.html and junit.xml of stored runs from their "
                                        "files, and/or the store's index.html (--index)");
  report->add_option("run_dirs", flags->run_dirs, "run directories (e.g. store/latest)");
  report->add_flag("--index", flags->index, "rebuild STORE_DIR/index.html listing every run");
  report->add_option("--store-dir", flags->store_dir, "store directory for --index (default store)");
  commands.push_back({report, [flags] { return ReportCommand(flags->run_dirs, flags->index, flags->store_dir); }});
}

}  // namespace faultline
