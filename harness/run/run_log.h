// RunLog: faultline.log of a run. Every line is timestamped (UTC) and
// written through at once, so a crashed run keeps its log. Lines can also be
// echoed to the terminal. Thread-safe.
#pragma once

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>

namespace faultline {

class RunLog {
 public:
  // Creates `path` (O_EXCL | O_NOFOLLOW: an existing file or symlink there is
  // refused) and fsyncs its directory; throws HarnessError naming the path.
  explicit RunLog(const std::filesystem::path& path);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  void Info(const std::string& line);
  // Also printed to stderr (problems the user must see).
  void Warn(const std::string& line);

 private:
  void Write(const char* level, const std::string& line);
  std::mutex mu_;
  std::FILE* file_;
};

}  // namespace faultline
