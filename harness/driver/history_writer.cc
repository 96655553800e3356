#include "harness/driver/history_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "checkers/history_line.h"
#include "harness/base/harness_error.h"
#include "harness/base/secure_fs.h"

namespace faultline {

namespace {

// Above this the flusher is woken before its interval is up.
constexpr size_t kEarlyFlushBytes = size_t(4) << 20;
// Above this Append waits for the flusher (a disk slower than the workers
// must not grow memory without bound).
constexpr size_t kMaxBufferedBytes = size_t(64) << 20;

// A mutex that spins briefly before sleeping: Append holds it for well under
// a microsecond, so with more workers than cores a waiter that spins usually
// gets it without the futex sleep/wake a std::mutex costs.
class AdaptiveMutex {
 public:
  AdaptiveMutex() {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&mu_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~AdaptiveMutex() { pthread_mutex_destroy(&mu_); }
  AdaptiveMutex(const AdaptiveMutex&) = delete;
  AdaptiveMutex& operator=(const AdaptiveMutex&) = delete;
  void lock() { pthread_mutex_lock(&mu_); }
  bool try_lock() { return pthread_mutex_trylock(&mu_) == 0; }
  void unlock() { pthread_mutex_unlock(&mu_); }

 private:
  pthread_mutex_t mu_;
};

}  // namespace

struct HistoryWriter::Impl {
  std::filesystem::path path;
  std::chrono::steady_clock::time_point start;
  Options options;

  AdaptiveMutex mu;  // guards the fields down to `closed`
  std::condition_variable_any flusher_wake;
  std::condition_variable_any space_freed;
  std::string buffer;  // complete lines not yet handed to write()
  int64_t next_index = 0;
  bool flush_requested = false;
  bool closed = false;
  bool failed = false;  // a write failed: Appends are dropped

  std::mutex io_mu;  // serializes swap + write, so lines reach the file in order; guards below
  int fd = -1;
  std::string writing;      // the buffer being written (kept for its capacity)
  std::string first_error;  // the first I/O error, thrown from Sync()/Close()
  off_t whole_lines = 0;    // bytes in the file, all whole lines

  std::thread flusher;

  // Moves the buffer into the file. Caller holds io_mu. On the first error
  // the file is cut back to its last whole line and nothing more is written.
  void FlushLocked() {
    {
      std::lock_guard lock(mu);
      writing.swap(buffer);
      flush_requested = false;
    }
    space_freed.notify_all();
    size_t done = 0;
    while (done < writing.size() && fd >= 0 && first_error.empty()) {
      ssize_t n = ::write(fd, writing.data() + done, writing.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const std::string error = std::strerror(errno);
        const size_t last_newline = writing.rfind('\n', done == 0 ? std::string::npos : done - 1);
        const off_t keep = whole_lines + (done == 0 || last_newline == std::string::npos ? 0 : off_t(last_newline + 1));
        // Best effort (fails on a device): a reader copes with a torn last line anyway.
        (void)!::ftruncate(fd, keep);
        Fail(fmt::format("writing history {}: {} (the history is kept up to its last whole line)", path.string(),
                         error));
        break;
      }
      done += size_t(n);
    }
    if (first_error.empty()) whole_lines += off_t(done);
    writing.clear();
  }

  // The first I/O error: recorded for Sync()/Close(), later ops are dropped,
  // and the owner hears of it at once: on_error returns before failed() turns
  // true, so whoever sees failed() knows the owner was told. Caller holds io_mu.
  void Fail(std::string message) {
    if (!first_error.empty()) return;
    first_error = std::move(message);
    if (options.on_error) options.on_error(first_error);
    {
      std::lock_guard lock(mu);
      failed = true;
      buffer.clear();
    }
    space_freed.notify_all();
  }

  void ThrowIfFailed() {
    if (!first_error.empty()) throw HarnessError(first_error);
  }

  void FlusherLoop() {
    std::unique_lock lock(mu);
    while (!closed) {
      flusher_wake.wait_for(lock, options.flush_interval, [&] { return closed || flush_requested; });
      if (closed) break;  // Close() writes the rest
      lock.unlock();
      {
        std::lock_guard io(io_mu);
        FlushLocked();
      }
      lock.lock();
    }
  }
};

HistoryWriter::HistoryWriter(const std::filesystem::path& path, std::chrono::steady_clock::time_point start,
                             Options options)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->start = start;
  impl_->options = options;
  // O_NOFOLLOW: never through a symlink planted at the history's name.
  impl_->fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (impl_->fd < 0)
    throw HarnessError(fmt::format("cannot create history {}: {}", path.string(), std::strerror(errno)));
  if (path.has_parent_path()) {
    try {
      FsyncDir(path.parent_path());  // the new file's entry survives a crash
    } catch (...) {
      ::close(impl_->fd);
      throw;
    }
  }
  impl_->buffer.reserve(kEarlyFlushBytes + (kEarlyFlushBytes >> 2));
  impl_->writing.reserve(kEarlyFlushBytes + (kEarlyFlushBytes >> 2));
  impl_->flusher = std::thread([impl = impl_.get()] { impl->FlusherLoop(); });
}

HistoryWriter::~HistoryWriter() {
  try {
    Close();
  } catch (const std::exception& e) {
    std::cerr << "faultline: " << e.what() << "\n";
  }
}

int64_t HistoryWriter::Append(OpType type, int64_t process, std::string_view f, std::string_view key,
                              const nlohmann::json& value, std::string_view node, std::string_view error) {
  // Everything but index and time is formatted outside the lock.
  thread_local std::string tail;
  tail.clear();
  AppendOpLineTail(tail, type, process, f, key, value, node, error);
  tail.push_back('\n');

  Impl& d = *impl_;
  std::unique_lock lock(d.mu);
  if (d.buffer.size() >= kMaxBufferedBytes) {
    d.space_freed.wait(lock, [&] { return d.closed || d.failed || d.buffer.size() < kMaxBufferedBytes; });
  }
  if (d.closed || d.failed) return -1;
  const int64_t index = d.next_index++;
  const int64_t time =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - d.start).count();
  d.buffer.append("{\"index\":");
  fmt::format_int index_text(index);
  d.buffer.append(index_text.data(), index_text.size());
  d.buffer.append(",\"time\":");
  fmt::format_int time_text(time);
  d.buffer.append(time_text.data(), time_text.size());
  d.buffer.push_back(',');
  d.buffer.append(tail);
  if (d.buffer.size() >= kEarlyFlushBytes && !d.flush_requested) {
    d.flush_requested = true;
    lock.unlock();
    d.flusher_wake.notify_one();
  }
  return index;
}

void HistoryWriter::Sync() {
  Impl& d = *impl_;
  std::lock_guard io(d.io_mu);
  if (d.fd >= 0) {
    d.FlushLocked();
    if (d.first_error.empty() && ::fsync(d.fd) != 0)
      d.Fail(fmt::format("fsync of history {}: {}", d.path.string(), std::strerror(errno)));
  }
  d.ThrowIfFailed();
}

void HistoryWriter::Close() {
  Impl& d = *impl_;
  {
    std::lock_guard lock(d.mu);
    if (d.closed) return;
    d.closed = true;
  }
  d.flusher_wake.notify_one();
  d.space_freed.notify_all();
  if (d.flusher.joinable()) d.flusher.join();
  std::lock_guard io(d.io_mu);
  d.FlushLocked();
  if (d.first_error.empty() && ::fsync(d.fd) != 0)
    d.Fail(fmt::format("fsync of history {}: {}", d.path.string(), std::strerror(errno)));
  if (::close(d.fd) != 0 && d.first_error.empty())
    d.Fail(fmt::format("closing history {}: {}", d.path.string(), std::strerror(errno)));
  d.fd = -1;
  d.ThrowIfFailed();
}

bool HistoryWriter::failed() const {
  std::lock_guard lock(impl_->mu);
  return impl_->failed;
}

int64_t HistoryWriter::ops_written() const {
  std::lock_guard lock(impl_->mu);
  return impl_->next_index;
}

std::chrono::steady_clock::time_point HistoryWriter::start() const { return impl_->start; }

}  // namespace faultline
