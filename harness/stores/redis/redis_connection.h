// RedisConnection: one blocking hiredis connection to one Redis server
// (address:port), connected lazily, with a deadline per call: connect, send
// and receive each get at most what is left of it (redisConnectWithTimeout,
// redisSetTimeout). Replies are copied into RedisValue trees, so callers
// never hold hiredis objects. After any I/O error or timeout the connection
// is closed and the next call reconnects.
//
// RedisFailure tells whether a command may have reached the server:
// kConnect = could not connect, nothing was sent (the command certainly did
// not run); kIo = the connection broke or timed out after sending began (it
// may have run). Not thread-safe: one per user.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

struct redisContext;

namespace faultline {

struct RedisValue {
  enum class Type { kString, kStatus, kError, kInteger, kNil, kArray };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  long long integer = 0;
  std::vector<RedisValue> elements;  // kArray

  bool is_error() const { return type == Type::kError; }
  // A short rendering for error messages ("(nil)", "(error) MOVED ...").
  std::string Describe() const;
};

enum class RedisFailure { kNone, kConnect, kIo };

struct RedisResult {
  RedisFailure failure = RedisFailure::kNone;
  bool timed_out = false;           // kIo because the deadline passed
  std::string error;                // set when failure != kNone
  std::vector<RedisValue> replies;  // one per command when failure == kNone

  bool ok() const { return failure == RedisFailure::kNone; }
};

class RedisConnection {
 public:
  using Clock = std::chrono::steady_clock;
  RedisConnection(std::string address, int port);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends the commands pipelined and reads one reply per command.
  RedisResult Pipeline(const std::vector<std::vector<std::string>>& commands, Clock::time_point deadline);
  // One command; on success replies[0] is its reply.
  RedisResult Command(const std::vector<std::string>& argv, Clock::time_point deadline) {
    return Pipeline({argv}, deadline);
  }
  bool connected() const { return ctx_ != nullptr; }
  void Close();
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  // "address:port".
  std::string endpoint() const;

 private:
  std::string address_;
  int port_;
  redisContext* ctx_ = nullptr;
};

}  // namespace faultline
