#include "harness/run/run_log.h"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <iostream>

#include "harness/base/harness_error.h"
#include "harness/base/secure_fs.h"

namespace faultline {

RunLog::RunLog(const std::filesystem::path& path) {
  const int fd = CreateNewFile(path, 0644, O_APPEND);  // never through a planted symlink or file
  file_ = ::fdopen(fd, "a");
  if (file_ == nullptr) {
    ::close(fd);
    throw HarnessError("cannot open the run log " + path.string());
  }
  FsyncDir(path.parent_path());
}

RunLog::~RunLog() { std::fclose(file_); }

void RunLog::Info(const std::string& line) { Write("INFO", line); }

void RunLog::Warn(const std::string& line) {
  Write("WARN", line);
  std::cerr << "faultline: " << line << std::endl;
}

void RunLog::Write(const char* level, const std::string& line) {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::lock_guard lock(mu_);
  fmt::print(file_, "{:%Y-%m-%dT%H:%M:%S}.{:03}Z {} {}\n", std::chrono::floor<std::chrono::seconds>(now), ms, level,
             line);
  std::fflush(file_);
}

}  // namespace faultline
