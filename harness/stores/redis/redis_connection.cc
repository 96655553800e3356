#include "harness/stores/redis/redis_connection.h"

#include <fmt/format.h>
#include <hiredis.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

namespace faultline {

namespace {

timeval Remaining(RedisConnection::Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - RedisConnection::Clock::now());
  if (left.count() < 1000) left = std::chrono::microseconds(1000);  // 0 would mean "no timeout"
  timeval tv;
  tv.tv_sec = static_cast<time_t>(left.count() / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(left.count() % 1000000);
  return tv;
}

RedisValue Convert(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      v.type = RedisValue::Type::kString;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = RedisValue::Type::kStatus;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      v.type = RedisValue::Type::kError;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::Type::kInteger;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) v.elements.push_back(Convert(r->element[i]));
      break;
    default:
      v.type = RedisValue::Type::kNil;
  }
  return v;
}

}  // namespace

std::string RedisValue::Describe() const {
  switch (type) {
    case Type::kString:
      // A view, not substr() + "...": GCC 12 flags that with a false -Warray-bounds.
      if (str.size() > 80) return fmt::format("\"{}...\"", std::string_view(str).substr(0, 80));
      return fmt::format("\"{}\"", str);
    case Type::kStatus:
      return str;
    case Type::kError:
      return "(error) " + str;
    case Type::kInteger:
      return fmt::format("(integer) {}", integer);
    case Type::kNil:
      return "(nil)";
    case Type::kArray:
      return fmt::format("(array of {})", elements.size());
  }
  return "?";
}

RedisConnection::RedisConnection(std::string address, int port) : address_(std::move(address)), port_(port) {}

RedisConnection::~RedisConnection() { Close(); }

void RedisConnection::Close() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
}

std::string RedisConnection::endpoint() const {
  return address_.find(':') != std::string::npos ? fmt::format("[{}]:{}", address_, port_)
                                                 : fmt::format("{}:{}", address_, port_);
}

RedisResult RedisConnection::Pipeline(const std::vector<std::vector<std::string>>& commands,
                                      Clock::time_point deadline) {
  RedisResult result;
  // A kept connection the server has closed meanwhile (restarted, killed):
  // reconnect before sending, so a refused connect still means "not sent".
  if (ctx_ != nullptr) {
    pollfd p{ctx_->fd, POLLIN, 0};
    char byte;
    if (::poll(&p, 1, 0) != 0 && ::recv(ctx_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) Close();
  }
  if (ctx_ == nullptr) {
    if (Clock::now() >= deadline) {
      result.failure = RedisFailure::kConnect;
      result.timed_out = true;
      result.error = fmt::format("connect to {}: deadline passed", endpoint());
      return result;
    }
    ctx_ = redisConnectWithTimeout(address_.c_str(), port_, Remaining(deadline));
    if (ctx_ == nullptr || ctx_->err != 0) {
      result.failure = RedisFailure::kConnect;
      result.error = fmt::format("connect to {}: {}", endpoint(), ctx_ == nullptr ? "out of memory" : ctx_->errstr);
      result.timed_out = ctx_ != nullptr && std::strstr(ctx_->errstr, "timed out") != nullptr;
      Close();
      return result;
    }
  }
  const auto fail_io = [&](const char* what) {
    result.failure = RedisFailure::kIo;
    const std::string why = ctx_->errstr;
    result.timed_out = ctx_->err == REDIS_ERR_IO && (why.find("temporarily unavailable") != std::string::npos ||
                                                     why.find("timed out") != std::string::npos);
    result.error = result.timed_out ? fmt::format("timeout ({} {})", what, endpoint())
                                    : fmt::format("{} {}: {}", what, endpoint(), why);
    result.replies.clear();
    Close();
    return result;
  };
  redisSetTimeout(ctx_, Remaining(deadline));
  for (const auto& argv : commands) {
    std::vector<const char*> args;
    std::vector<size_t> lens;
    for (const auto& a : argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), args.data(), lens.data()) != REDIS_OK) {
      return fail_io("send to");
    }
  }
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) return fail_io("reply from");
    auto* reply = static_cast<redisReply*>(raw);
    result.replies.push_back(Convert(reply));
    freeReplyObject(reply);
  }
  return result;
}

}  // namespace faultline
