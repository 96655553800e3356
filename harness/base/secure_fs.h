// Files and directories a root process may create on a shared machine
// without a local user steering it (issue 14): private directories made with
// mkdtemp or checked (real directory, ours, no access for others), files
// created with O_EXCL | O_NOFOLLOW, directories fsynced after creating
// entries, and flock()s that give up after a bounded wait naming the holder.
// Every function throws HarnessError naming the path and, where there is
// one, the fix.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

namespace faultline {

// A fresh directory <parent>/<prefix>XXXXXX made by mkdtemp: created
// atomically, mode 0700, owned by this process's user.
std::filesystem::path MakePrivateTempDir(const std::filesystem::path& parent, const std::string& prefix);

// Why `dir` is not a private directory of ours -- a real directory (not a
// symlink) owned by this process's user with mode 0700 -- or "" when it is.
// A missing directory gives "does not exist".
std::string PrivateDirProblem(const std::filesystem::path& dir);

// Makes `dir` (its parent must exist) 0700 unless it exists. An existing one
// must be a real directory owned by this process's user that no one else
// can write to; read/search access for others is then removed (directories
// older faultlines made 0755). Anything else is refused.
void EnsurePrivateDir(const std::filesystem::path& dir);
// The same checks on an existing `dir`; false when it does not exist.
bool CheckPrivateDir(const std::filesystem::path& dir);

// A new file, open for writing: O_CREAT | O_EXCL | O_NOFOLLOW, so an existing
// file or a planted symlink is refused. Returns the descriptor (O_CLOEXEC).
// `flags` adds to O_WRONLY (e.g. O_APPEND).
int CreateNewFile(const std::filesystem::path& path, mode_t mode, int flags = 0);
// CreateNewFile, write everything, close.
void WriteNewFile(const std::filesystem::path& path, std::string_view content, mode_t mode);

// fsync()s a directory, so the entries just created in it survive a crash.
void FsyncDir(const std::filesystem::path& dir);

// $FAULTLINE_LOCK_WAIT_MS, or 30 s: how long a FileLock waits for its holder.
std::chrono::milliseconds LockWait();

// An exclusive flock() on `path` (created 0600, never through a symlink; its
// directory should be private), held for the object's lifetime. Retries
// LOCK_NB until `wait` has passed, then throws naming the file and the
// process holding it.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path, std::chrono::milliseconds wait = LockWait());
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// "pid 123 (faultline run ...)" for the processes holding a lock on the file
// open as `fd` (from /proc/locks); "" when none is found.
std::string LockHolders(int fd);

// `content` in the file `name` inside a fresh private directory under the
// system temp dir; both removed on destruction. For files uploaded to nodes.
class PrivateTempFile {
 public:
  PrivateTempFile(const std::string& name, std::string_view content);
  ~PrivateTempFile();
  PrivateTempFile(const PrivateTempFile&) = delete;
  PrivateTempFile& operator=(const PrivateTempFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path dir_, path_;
};

}  // namespace faultline
