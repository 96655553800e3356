// Test-only helpers for reading files and /proc and running a program,
// tests (a missing file reads as "").
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

// Runs argv (argv[0] a path) to completion with stdout and stderr in `out`;
// its exit code, or 128 + the signal that ended it.
inline int RunToFile(std::vector<std::string> argv, const std::filesystem::path& out) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    FILE* f = std::fopen(out.c_str(), "w");
    ::dup2(::fileno(f), 1);
    ::dup2(::fileno(f), 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace faultline::test
