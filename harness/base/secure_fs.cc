#include "harness/base/secure_fs.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "harness/base/harness_error.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string Errno() { return std::strerror(errno); }

// What is wrong with a directory that stat() shows as `st`, or "".
std::string DirStatProblem(const struct stat& st, bool exact_mode) {
  if (!S_ISDIR(st.st_mode)) return "not a directory";
  if (st.st_uid != ::geteuid()) return fmt::format("owned by uid {}, not {}", st.st_uid, ::geteuid());
  const mode_t mode = st.st_mode & 07777;
  if (exact_mode ? mode != 0700 : (mode & 022) != 0) return fmt::format("mode {:04o}, not 0700", mode);
  return "";
}

[[noreturn]] void Refuse(const fs::path& dir, const std::string& problem) {
  throw HarnessError(
      fmt::format("{} is {}; faultline keeps root-only files there and will not use it. If nothing of yours is in it, "
                  "remove it (rm -rf {}), or make it a private directory (chown {} {} && chmod 700 {})",
                  dir.string(), problem, dir.string(), ::geteuid(), dir.string(), dir.string()));
}

// Opens an existing directory without following a final symlink and checks
// it; tightens its mode to 0700 when it is ours and not writable by others.
// -1 with errno ENOENT when it does not exist.
int OpenCheckedDir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return -1;
    if (errno == ELOOP || errno == ENOTDIR) {  // O_DIRECTORY | O_NOFOLLOW on a symlink gives either
      struct stat st {};
      Refuse(dir, ::lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
    }
    throw HarnessError(fmt::format("cannot open directory {}: {}", dir.string(), Errno()));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string e = Errno();
    ::close(fd);
    throw HarnessError(fmt::format("cannot stat {}: {}", dir.string(), e));
  }
  if (const std::string problem = DirStatProblem(st, /*exact_mode=*/false); !problem.empty()) {
    ::close(fd);
    Refuse(dir, problem);
  }
  if ((st.st_mode & 077) != 0 && ::fchmod(fd, 0700) != 0) {
    const std::string e = Errno();
    ::close(fd);
    throw HarnessError(fmt::format("cannot chmod 700 {}: {}", dir.string(), e));
  }
  return fd;
}

void WriteAll(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw HarnessError(fmt::format("cannot write {}: {}", path.string(), Errno()));
    data.remove_prefix(size_t(n));
  }
}

std::string ProcessLine(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!cmdline.empty() && cmdline.back() == '\0') cmdline.pop_back();
  for (char& c : cmdline) {
    if (c == '\0') c = ' ';
  }
  if (cmdline.size() > 200) cmdline.replace(200, std::string::npos, "...");
  return cmdline.empty() ? fmt::format("pid {}", pid) : fmt::format("pid {} ({})", pid, cmdline);
}

}  // namespace

fs::path MakePrivateTempDir(const fs::path& parent, const std::string& prefix) {
  std::string tmpl = (parent / (prefix + "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw HarnessError(fmt::format("cannot create a private directory {}: {}", tmpl, Errno()));
  }
  return tmpl;
}

std::string PrivateDirProblem(const fs::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return errno == ENOENT ? "does not exist" : Errno();
  if (S_ISLNK(st.st_mode)) return "a symbolic link";
  return DirStatProblem(st, /*exact_mode=*/true);
}

void EnsurePrivateDir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw HarnessError(fmt::format("cannot create directory {}: {}", dir.string(), Errno()));
  }
  if (!CheckPrivateDir(dir)) throw HarnessError(fmt::format("directory {} vanished while being created", dir.string()));
}

bool CheckPrivateDir(const fs::path& dir) {
  const int fd = OpenCheckedDir(dir);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

int CreateNewFile(const fs::path& path, mode_t mode, int flags) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | flags, mode);
  if (fd < 0) {
    // O_EXCL reports a planted symlink as EEXIST too.
    throw HarnessError(fmt::format("cannot create {}: {}", path.string(),
                                   errno == EEXIST ? "it already exists (faultline never writes through an existing "
                                                     "file or symlink)"
                                                   : Errno()));
  }
  return fd;
}

void WriteNewFile(const fs::path& path, std::string_view content, mode_t mode) {
  const int fd = CreateNewFile(path, mode);
  try {
    WriteAll(fd, content, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw HarnessError(fmt::format("cannot write {}: {}", path.string(), Errno()));
}

void FsyncDir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw HarnessError(fmt::format("cannot open directory {} to fsync it: {}", dir.string(), Errno()));
  const int rc = ::fsync(fd);
  const std::string e = rc != 0 ? Errno() : "";
  ::close(fd);
  if (rc != 0) throw HarnessError(fmt::format("cannot fsync directory {}: {}", dir.string(), e));
}

std::chrono::milliseconds LockWait() {
  const char* env = std::getenv("FAULTLINE_LOCK_WAIT_MS");
  if (env == nullptr || *env == '\0') return 30s;
  char* end = nullptr;
  const long long ms = std::strtoll(env, &end, 10);
  if (*end != '\0' || ms < 0) {
    throw HarnessError(fmt::format("FAULTLINE_LOCK_WAIT_MS must be a number of milliseconds, got \"{}\"", env));
  }
  return std::chrono::milliseconds(ms);
}

std::string LockHolders(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return "";
  // /proc/locks: "1: FLOCK  ADVISORY  WRITE 4242 08:01:131090 0 EOF" (maj:min in hex, inode in decimal);
  // waiters are marked "->".
  const std::string file_id = fmt::format("{:02x}:{:02x}:{}", major(st.st_dev), minor(st.st_dev), st.st_ino);
  std::ifstream in("/proc/locks");
  std::string holders;
  for (std::string line; std::getline(in, line);) {
    if (line.find("->") != std::string::npos) continue;
    std::istringstream words(line);
    std::string w;
    std::vector<std::string> fields;
    while (words >> w) fields.push_back(w);
    for (size_t i = 1; i < fields.size(); ++i) {
      if (fields[i] == file_id) {
        holders += (holders.empty() ? "" : ", ") + ProcessLine(std::atoi(fields[i - 1].c_str()));
        break;
      }
    }
  }
  return holders;
}

FileLock::FileLock(const fs::path& path, std::chrono::milliseconds wait) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd_ < 0) throw HarnessError(fmt::format("cannot open lock file {}: {}", path.string(), Errno()));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    ::close(fd_);
    throw HarnessError(
        fmt::format("lock file {} is not a regular file owned by uid {}; remove it", path.string(), ::geteuid()));
  }
  if ((st.st_mode & 077) != 0) ::fchmod(fd_, 0600);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK || std::chrono::steady_clock::now() >= deadline) {
      const std::string why = errno == EWOULDBLOCK ? "" : Errno();
      const std::string holders = why.empty() ? LockHolders(fd_) : "";
      ::close(fd_);
      if (!why.empty()) throw HarnessError(fmt::format("cannot lock {}: {}", path.string(), why));
      throw HarnessError(
          fmt::format("lock {} is still held after {} ms, by {}; another faultline is creating or removing a cluster. "
                      "Wait for it, or stop that process (a lock held by a dead process is released by itself)",
                      path.string(), wait.count(), holders.empty() ? "a process faultline cannot see" : holders));
    }
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(50ms, wait));
  }
}

FileLock::~FileLock() { ::close(fd_); }

PrivateTempFile::PrivateTempFile(const std::string& name, std::string_view content)
    : dir_(MakePrivateTempDir(fs::temp_directory_path(), "faultline-upload-")), path_(dir_ / name) {
  try {
    WriteNewFile(path_, content, 0600);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

PrivateTempFile::~PrivateTempFile() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

}  // namespace faultline
