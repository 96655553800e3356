// HistoryWriter: appends ops to history.jsonl as they happen. Each Append
// takes the next index and the time (ns since `start`) under one lock, so
// indices and times both increase down the file. Lines go to an in-memory
// buffer; a background thread write()s it at least every flush_interval
// (100 ms), so a kill -9 of the harness loses at most that much and leaves
// a file whose only damage is a truncated last line. Sync() also fsyncs
// (called at phase ends).
//
// On the first write (or fsync) error the file is cut back to its last whole
// line, every later Append is dropped (returns -1), Options::on_error hears
// of it at once (the runner stops the run), and Sync()/Close() throw it.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "checkers/history.h"

namespace faultline {

class HistoryWriter {
 public:
  struct Options {
    std::chrono::milliseconds flush_interval{100};
    // Called once, on the thread that hit the first I/O error, with its message.
    std::function<void(const std::string&)> on_error = nullptr;
  };

  // Creates (truncates) the file, never through a symlink, and fsyncs its
  // directory. Throws HarnessError naming the path.
  HistoryWriter(const std::filesystem::path& path, std::chrono::steady_clock::time_point start, Options options);
  HistoryWriter(const std::filesystem::path& path, std::chrono::steady_clock::time_point start)
      : HistoryWriter(path, start, Options{}) {}
  ~HistoryWriter();  // Close()s

  HistoryWriter(const HistoryWriter&) = delete;
  HistoryWriter& operator=(const HistoryWriter&) = delete;

  // Records one op and returns its index. `process` is kNemesisProcess for
  // the nemesis. Empty key/node/error and a null value are left out of the line.
  int64_t Append(OpType type, int64_t process, std::string_view f, std::string_view key, const nlohmann::json& value,
                 std::string_view node = {}, std::string_view error = {});

  // Writes everything buffered and fsyncs. Throws HarnessError on I/O errors.
  void Sync();
  // Sync()s and stops the flusher; later Appends are dropped. Idempotent.
  void Close();

  bool failed() const;          // a write failed: the run must stop
  int64_t ops_written() const;  // number of Appends so far
  std::chrono::steady_clock::time_point start() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline
