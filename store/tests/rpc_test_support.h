// What the RPC tests over real loopback sockets share: the RpcTest fixture
// (an io_context on three threads, StartServer, CallSync), callback counters,
// held responders, and RawRpcConnection for speaking bad protocol.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/rpc_client.h"
#include "store/rpc_frame.h"
#include "store/rpc_server.h"

namespace dynastore::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Result {
  Status status;
  std::string payload;
};

// Counts callbacks; Wait() blocks until `n` have arrived or the time is up.
class Counter {
 public:
  void Add() {
    std::lock_guard lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  bool Wait(int n, std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return count_ >= n; });
  }
  int count() {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

// Keeps responders a handler did not answer yet.
class HeldResponders {
 public:
  void Hold(RpcServer::Responder r) {
    std::lock_guard lock(mu_);
    held_.push_back(std::move(r));
    counter_.Add();
  }
  bool WaitFor(int n) { return counter_.Wait(n, 5s); }
  std::vector<RpcServer::Responder> Take() {
    std::lock_guard lock(mu_);
    return std::move(held_);
  }

 private:
  std::mutex mu_;
  std::vector<RpcServer::Responder> held_;
  Counter counter_;
};

class RpcTest : public ::testing::Test {
 protected:
  static constexpr int kThreads = 3;

  RpcTest() : work_(asio::make_work_guard(io_)) {
    for (int i = 0; i < kThreads; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  ~RpcTest() override {
    // Every object of the test is gone; every operation it started must
    // finish by itself, so the io_context runs out of work.
    work_.reset();
    const auto give_up = Clock::now() + 3s;
    while (!io_.stopped() && Clock::now() < give_up) std::this_thread::sleep_for(5ms);
    EXPECT_TRUE(io_.stopped()) << "operations still pending after the test";
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  static Endpoint Local(uint16_t port) { return Endpoint{"127.0.0.1", port}; }

  static RpcServer::Handler Echo() {
    return [](uint8_t method, std::string payload, RpcServer::Responder respond) {
      respond(Status::Ok(), std::string(1, static_cast<char>(method)) + payload);
    };
  }

  std::unique_ptr<RpcServer> StartServer(RpcServer::Handler handler, uint16_t port = 0, RpcServerOptions options = {}) {
    auto server = std::make_unique<RpcServer>(io_, Local(port), std::move(handler), options);
    const Status status = server->Start();
    EXPECT_TRUE(status.ok()) << status.message();
    return server;
  }

  static Result CallSync(RpcClient& client, uint8_t method, std::string payload,
                         std::chrono::milliseconds timeout = 5s) {
    std::promise<Result> promise;
    client.Call(method, std::move(payload), timeout, [&](Status status, std::string reply) {
      promise.set_value({std::move(status), std::move(reply)});
    });
    return promise.get_future().get();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

// A blocking raw TCP connection to the server, for speaking bad protocol.
class RawRpcConnection {
 public:
  explicit RawRpcConnection(uint16_t port) : socket_(io_) {
    boost::system::error_code ec;
    socket_.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
    EXPECT_FALSE(ec) << ec.message();
    timeval tv{3, 0};  // a read never blocks a test for long
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void Send(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
    EXPECT_FALSE(ec) << ec.message();
  }
  // Reads until `want` bytes arrive or the connection ends; returns the end
  // reason (empty if `want` bytes arrived).
  std::string Read(size_t want, std::string& out) {
    std::array<char, 4096> buf;
    while (out.size() < want) {
      boost::system::error_code ec;
      const size_t n = socket_.read_some(asio::buffer(buf), ec);
      if (ec) return ec.message();
      out.append(buf.data(), n);
    }
    return "";
  }
  // Whether the server closed the connection (EOF or reset) within
  // `seconds`; whatever it sends meanwhile is discarded. poll(), because
  // Asio's blocking read waits out SO_RCVTIMEO by polling again.
  int NativeHandle() { return socket_.native_handle(); }
  bool ClosedByServer(int seconds = 3) {
    const auto deadline = Clock::now() + std::chrono::seconds(seconds);
    for (auto left = deadline - Clock::now(); left > 0s; left = deadline - Clock::now()) {
      pollfd p{socket_.native_handle(), POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(left).count()) + 1) <= 0) {
        continue;
      }
      char buf[4096];
      const ssize_t n = recv(socket_.native_handle(), buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    }
    return false;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
};

// The header of a request frame whose payload is `length` bytes.
inline std::string FrameHeader(uint32_t length) {
  std::string wire;
  AppendFrame(Frame{1, 9, ""}, wire);
  for (int i = 0; i < 4; ++i) wire[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return wire;
}

inline void ExpectSameFrames(const std::vector<Frame>& want, const std::vector<Frame>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i].kind, got[i].kind) << i;
    EXPECT_EQ(want[i].id, got[i].id) << i;
    EXPECT_EQ(want[i].payload, got[i].payload) << i;
  }
}

// Pops every complete frame; fails the test on a decode error.
inline void Drain(FrameDecoder& decoder, std::vector<Frame>& out) {
  for (;;) {
    Frame frame;
    bool has_frame = true;
    const Status status = decoder.Next(frame, has_frame);
    ASSERT_TRUE(status.ok()) << status.message();
    if (!has_frame) return;
    out.push_back(std::move(frame));
  }
}

}  // namespace dynastore::test
