// Test-only helpers for reading files and /proc, shared by the harness's
// tests (a missing file reads as "").
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace faultline::test {

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Process state letter from /proc/<pid>/stat ('\0' when gone); 'T' = stopped.
inline char ProcState(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return '\0';
  auto paren = line.rfind(')');
  return paren + 2 < line.size() ? line[paren + 2] : '\0';
}

}  // namespace faultline::test
