// Test-only temp dirs (one for every test in the project): MakeTempDir creates a fresh directory under the system
// temp dir; TempDir owns one and removes it (recursively) on destruction.
// Not thread-safe; a TempDir is used by one thread.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace faultline::test {

// A fresh directory named `prefix`-XXXXXX; empty path when mkdtemp fails.
inline std::filesystem::path MakeTempDir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

// A temp dir for one history file; throws std::runtime_error when it cannot
// be made.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "faultline-test") : path_(MakeTempDir(prefix)) {
    if (path_.empty()) throw std::runtime_error("mkdtemp failed");
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file() const { return path_ / "history.jsonl"; }
  std::string Sub(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes `content` to `path` as it is (binary), replacing the file.
inline void WriteFile(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

}  // namespace faultline::test
