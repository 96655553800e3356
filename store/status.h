// Status: the outcome of an operation that can fail for reasons a caller can
// act on (bad input, I/O). Errors are values; exceptions do not cross modules.
#pragma once

#include <string>
#include <utility>

namespace dynastore {

class Status {
 public:
  // kUnavailable: the request certainly had no effect (peer unreachable, not
  // sent). kTimedOut: no answer in time; the request may still take effect,
  // so callers must treat the outcome as unknown, never as failed.
  // kConflict: refused because of what is stored (too many siblings); the
  // request had no effect.
  enum class Code { kOk, kInvalidArgument, kCorruption, kIOError, kUnavailable, kTimedOut, kConflict };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status TimedOut(std::string msg) { return {Code::kTimedOut, std::move(msg)}; }
  static Status Conflict(std::string msg) { return {Code::kConflict, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace dynastore
