// HistoryWriter: appends ops to history.jsonl as they happen. Each Append
// takes the next index and the time (ns since `start`) under one lock, so
// indices and times both increase down the file. Lines go to an in-memory
// buffer; a background thread write()s it at least every flush_interval
// (100 ms), so a kill -9 of the harness loses at most that much and leaves
// a file whose only damage is a truncated last line. Sync() also fsyncs
// (called at phase ends).
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "history.h"

namespace faultline {

class HistoryWriter {
 public:
  struct Options {
    std::chrono::milliseconds flush_interval{100};
  };

  // Creates (truncates) the file. Throws HarnessError naming the path.
  HistoryWriter(const std::filesystem::path& path, std::chrono::steady_clock::time_point start, Options options);
  HistoryWriter(const std::filesystem::path& path, std::chrono::steady_clock::time_point start)
      : HistoryWriter(path, start, Options{}) {}
  ~HistoryWriter();  // Close()s

  HistoryWriter(const HistoryWriter&) = delete;
  HistoryWriter& operator=(const HistoryWriter&) = delete;

  // Records one op and returns its index. `process` is kNemesisProcess for
  // the nemesis. Empty key/node/error and a null value are left out of the line.
  int64_t Append(OpType type, int64_t process, std::string_view f, std::string_view key,
                 const nlohmann::json& value, std::string_view node = {}, std::string_view error = {});

  // Writes everything buffered and fsyncs. Throws HarnessError on I/O errors.
  void Sync();
  // Sync()s and stops the flusher; later Appends are dropped. Idempotent.
  void Close();

  int64_t ops_written() const;  // number of Appends so far
  std::chrono::steady_clock::time_point start() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline
