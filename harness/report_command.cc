#include "report_command.h"

#include <chrono>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "report.h"
#include "store_index.h"

namespace faultline {
namespace fs = std::filesystem;

int CommandReport(const std::vector<std::string>& run_dirs, bool index, const std::string& store_dir) {
  if (run_dirs.empty() && !index) {
    std::cerr << "faultline report: give RUN_DIR... (e.g. store/latest) and/or --index" << std::endl;
    return 2;
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
      exit_code = 2;
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
      exit_code = 2;
    }
  }
  return exit_code;
}

}  // namespace faultline
