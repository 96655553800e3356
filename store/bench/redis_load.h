// dynastore-bench --vs-redis: the same closed loop against a redis-server
// the benchmark starts itself, so both stores are measured on one machine,
// in one command, with the same connections, keys, values and read mix.
//
// RedisServer starts Debian's redis-server on 127.0.0.1 (a free port, a
// private mkdtemp dir, mode 0700, as its working dir), at the durability
// that matches dynastore's: `appendonly yes, appendfsync always` (an fsync
// before every reply that follows a write, as dynastore's sync on) or no AOF
// and no RDB snapshots (as --no-sync). Its destructor stops it (SIGTERM,
// then SIGKILL) and removes the dir, on every path out.
//
// RedisConnection is a Connection for RunClosedLoop (load.h): GET key / SET
// key value over one keep-alive connection, commands formatted and replies
// parsed by hiredis (redisFormatCommand, redisReader), I/O on Asio like the
// HTTP connections. A GET of a missing key (nil) counts as a miss, like a
// 404; an error reply counts as an HTTP error would, under status 0.
#pragma once

#include <hiredis/hiredis.h>

#include <boost/asio.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "store/bench/bench_support.h"
#include "store/bench/load.h"

namespace dynastore_bench {

// Finds an executable `name` on $PATH (or returns `name` if it has a '/').
inline std::string FindOnPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return "";
}

// PING with a deadline (hiredis' blocking API); true on +PONG.
inline bool RedisPing(const Target& target, std::chrono::milliseconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  redisContext* c = redisConnectWithTimeout(target.endpoint.address().to_string().c_str(), target.endpoint.port(), tv);
  if (!c) return false;
  bool ok = false;
  if (!c->err && redisSetTimeout(c, tv) == REDIS_OK) {
    auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
    ok = reply && reply->type == REDIS_REPLY_STATUS && std::string_view(reply->str, reply->len) == "PONG";
    if (reply) freeReplyObject(reply);
  }
  redisFree(c);
  return ok;
}

class RedisServer {
 public:
  RedisServer() = default;
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer() { process_.Stop(); }  // before dir_ is removed (declared after it)

  // `fsync_always`: AOF with appendfsync always; otherwise no persistence.
  bool Start(const std::string& bin, bool fsync_always, const fs::path& root, std::chrono::seconds timeout,
             std::string& error) {
    if (!dir_.Create(root, "dynastore-bench-redis", error)) return false;
    std::vector<uint16_t> ports;
    if (!PickFreePorts(1, ports, error)) return false;
    target_ = LoopbackTarget(ports[0]);
    std::vector<std::string> args = {bin,
                                     "--port",
                                     std::to_string(ports[0]),
                                     "--bind",
                                     "127.0.0.1",
                                     "--dir",
                                     dir_.path().string(),
                                     "--save",
                                     "",
                                     "--daemonize",
                                     "no",
                                     "--protected-mode",
                                     "yes",
                                     "--logfile",
                                     ""};
    if (fsync_always) {
      args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", "always"});
    } else {
      args.insert(args.end(), {"--appendonly", "no"});
    }
    if (!process_.Start(args, dir_.path() / "redis.log", target_, error)) return false;
    auto deadline = Clock::now() + timeout;
    while (!RedisPing(target_, std::chrono::milliseconds(500))) {
      if (g_interrupted) {
        error = "interrupted";
        return false;
      }
      if (process_.Exited()) {
        error = "redis-server exited during startup (" + process_.ExitDescription() + ")";
        return false;
      }
      if (Clock::now() >= deadline) {
        error = "redis-server did not answer PING within " + std::to_string(timeout.count()) + " s";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  DaemonProcess& process() { return process_; }
  const Target& target() const { return target_; }

 private:
  TempDir dir_;  // mkdtemp: mode 0700
  DaemonProcess process_;
  Target target_;
};

// One keep-alive RESP connection running the closed loop (see load.h).
class RedisConnection : public LoopConnection<RedisConnection> {
 public:
  RedisConnection(asio::io_context& io, Shared& shared, const Target& target, uint64_t seed)
      : LoopConnection(io, shared, target, seed), reader_(redisReaderCreate()) {}
  ~RedisConnection() { redisReaderFree(reader_); }

 private:
  friend class LoopConnection<RedisConnection>;

  void ResetReader() {
    redisReaderFree(reader_);
    reader_ = redisReaderCreate();
  }

  void NextOp() {
    if (!BeginOp()) return;
    std::string_view key = KeyName(key_);
    char* cmd = nullptr;
    int len = is_get_ ? redisFormatCommand(&cmd, "GET %b", key.data(), key.size())
                      : redisFormatCommand(&cmd, "SET %b %b", key.data(), key.size(), shared_.value.data(),
                                           shared_.value.size());
    if (len < 0) return Fail(asio::error::no_memory, measured_);
    request_.assign(cmd, static_cast<size_t>(len));
    redisFreeCommand(cmd);
    Sending();
    asio::async_write(socket_, asio::buffer(request_), [self = Self()](error_code ec, size_t) {
      if (ec) return self->FailOp(ec);
      self->Read();
    });
  }

  void Read() {
    socket_.async_read_some(asio::buffer(buf_), [self = Self()](error_code ec, size_t n) {
      if (ec) return self->FailOp(ec);
      if (redisReaderFeed(self->reader_, self->buf_.data(), n) != REDIS_OK) return self->FailOp(asio::error::fault);
      void* reply = nullptr;
      if (redisReaderGetReply(self->reader_, &reply) != REDIS_OK) return self->FailOp(asio::error::fault);
      if (!reply) return self->Read();  // incomplete
      self->OnReply(static_cast<redisReply*>(reply));
      freeReplyObject(reply);
      self->NextOp();
    });
  }

  void OnReply(const redisReply* reply) {
    const uint64_t ns = Replied();
    bool answered = reply->type != REDIS_REPLY_ERROR;
    if (answered && measured_) {
      stats_.all.Record(ns);
      if (is_get_) {
        stats_.get.Record(ns);
        stats_.gets++;
        if (reply->type == REDIS_REPLY_NIL) {
          stats_.get_misses++;
        } else {
          stats_.get_hits++;
          stats_.siblings_sum++;
          stats_.siblings_max = 1;
        }
      } else {
        stats_.put.Record(ns);
        stats_.puts++;
        stats_.blind_puts++;  // Redis has no contexts: every SET is blind
      }
    } else if (measured_) {
      stats_.http_errors++;
      stats_.error_statuses[0]++;
    } else if (!answered) {
      stats_.warmup_errors++;
    }
    if (answered && phase() == Phase::kMeasure) stats_.window_ops++;
  }

  redisReader* reader_;
  std::array<char, 4096> buf_;
  std::string request_;
};

}  // namespace dynastore_bench
