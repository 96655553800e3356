// Tests of the internal RPC layer: the frame codec on its own, then
// RpcServer + RpcClient over real loopback sockets (nothing mocked).
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

namespace dynastore {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- frames

std::vector<Frame> SampleFrames() {
  std::string big(100000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  return {
      Frame{1, 7, "hello"},
      Frame{kResponseOk, ~uint64_t{0}, ""},
      Frame{kResponseError, 3, EncodeErrorPayload(Status::InvalidArgument("bad key"))},
      Frame{0x7f, 42, big},
      Frame{0, 0, std::string("\0\x80\xff", 3)},
  };
}

void ExpectSameFrames(const std::vector<Frame>& want, const std::vector<Frame>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i].kind, got[i].kind) << i;
    EXPECT_EQ(want[i].id, got[i].id) << i;
    EXPECT_EQ(want[i].payload, got[i].payload) << i;
  }
}

// Pops every complete frame; fails the test on a decode error.
void Drain(FrameDecoder& decoder, std::vector<Frame>& out) {
  for (;;) {
    Frame frame;
    bool has_frame = true;
    const Status status = decoder.Next(frame, has_frame);
    ASSERT_TRUE(status.ok()) << status.message();
    if (!has_frame) return;
    out.push_back(std::move(frame));
  }
}

TEST(RpcFrame, EncodesHeaderLittleEndian) {
  std::string out;
  AppendFrame(Frame{5, 0x0102030405060708, "ab"}, out);
  EXPECT_EQ(out, std::string("\x02\x00\x00\x00\x05\x08\x07\x06\x05\x04\x03\x02\x01"
                             "ab",
                             kFrameHeaderSize + 2));
}

TEST(RpcFrame, RoundTripsFramesFedAtOnce) {
  const std::vector<Frame> frames = SampleFrames();
  std::string wire;
  for (const Frame& f : frames) AppendFrame(f, wire);
  FrameDecoder decoder;
  decoder.Feed(wire);
  std::vector<Frame> got;
  Drain(decoder, got);
  ExpectSameFrames(frames, got);
}

TEST(RpcFrame, RoundTripsFramesFedByteAtATime) {
  const std::vector<Frame> frames = SampleFrames();
  std::string wire;
  for (const Frame& f : frames) AppendFrame(f, wire);
  FrameDecoder decoder;
  std::vector<Frame> got;
  for (char c : wire) {
    decoder.Feed(std::string_view(&c, 1));
    Drain(decoder, got);
  }
  ExpectSameFrames(frames, got);
}

TEST(RpcFrame, RejectsOversizedLengthAsSoonAsItArrives) {
  std::string wire;
  AppendFrame(Frame{1, 1, "x"}, wire);
  const uint32_t too_big = kMaxFramePayload + 1;
  std::string header(4, '\0');
  std::memcpy(header.data(), &too_big, 4);  // the test host is little-endian
  FrameDecoder decoder;
  decoder.Feed(wire);
  decoder.Feed(header);  // only the length: no kind, id or payload yet
  Frame frame;
  bool has_frame = false;
  ASSERT_TRUE(decoder.Next(frame, has_frame).ok());
  ASSERT_TRUE(has_frame);  // the good frame before it still comes out
  Status status = decoder.Next(frame, has_frame);
  EXPECT_EQ(status.code(), Status::Code::kCorruption);
  EXPECT_NE(status.message().find("exceeds"), std::string::npos) << status.message();
  EXPECT_FALSE(has_frame);
  // Sticky: the stream is unusable from here on.
  decoder.Feed(wire);
  EXPECT_EQ(decoder.Next(frame, has_frame).code(), Status::Code::kCorruption);
}

TEST(RpcFrame, AcceptsLengthAtTheLimit) {
  const uint32_t limit = kMaxFramePayload;
  std::string header(4, '\0');
  std::memcpy(header.data(), &limit, 4);
  FrameDecoder decoder;
  decoder.Feed(header + std::string(9, '\x01'));
  Frame frame;
  bool has_frame = true;
  EXPECT_TRUE(decoder.Next(frame, has_frame).ok());
  EXPECT_FALSE(has_frame);  // waiting for the payload
}

TEST(RpcFrame, RejectsUnknownKinds) {
  for (int kind : {0x82, 0x90, 0xff}) {
    std::string wire;
    AppendFrame(Frame{static_cast<uint8_t>(kind), 9, "p"}, wire);
    FrameDecoder decoder;
    decoder.Feed(wire.substr(0, 5));  // the kind byte is enough to know
    Frame frame;
    bool has_frame = false;
    const Status status = decoder.Next(frame, has_frame);
    EXPECT_EQ(status.code(), Status::Code::kCorruption) << kind;
    EXPECT_FALSE(has_frame);
  }
  for (int kind : {0x00, 0x7f, 0x80, 0x81}) {
    std::string wire;
    AppendFrame(Frame{static_cast<uint8_t>(kind), 9, "p"}, wire);
    FrameDecoder decoder;
    decoder.Feed(wire);
    Frame frame;
    bool has_frame = false;
    EXPECT_TRUE(decoder.Next(frame, has_frame).ok()) << kind;
    EXPECT_TRUE(has_frame) << kind;
  }
}

TEST(RpcFrame, ErrorPayloadRoundTripsEveryErrorCodeAndRejectsOthers) {
  for (const Status& s : {Status::InvalidArgument("a"), Status::Corruption("b"), Status::IOError("c"),
                          Status::Unavailable("d"), Status::TimedOut("é"), Status::Conflict("f")}) {
    Status out;
    ASSERT_TRUE(DecodeErrorPayload(EncodeErrorPayload(s), out).ok());
    EXPECT_EQ(out.code(), s.code());
    EXPECT_EQ(out.message(), s.message());
  }
  Status out;
  EXPECT_EQ(DecodeErrorPayload("", out).code(), Status::Code::kCorruption);
  EXPECT_EQ(DecodeErrorPayload(std::string(1, '\0') + "ok?", out).code(), Status::Code::kCorruption);
  EXPECT_EQ(DecodeErrorPayload("\x63msg", out).code(), Status::Code::kCorruption);
}

// --------------------------------------------------------- server + client

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

TEST_F(RpcTest, EchoRoundTrip) {
  auto server = StartServer(Echo());
  ASSERT_NE(server->port(), 0);
  RpcClient client(io_, Local(server->port()));
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.peer(), Local(server->port()));

  Result r = CallSync(client, 7, "hello");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.payload, "\x07hello");
  EXPECT_TRUE(client.connected());

  r = CallSync(client, 0, "");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.payload, std::string(1, '\0'));

  std::string big(3 << 20, 'b');
  r = CallSync(client, 0x7f, big);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.payload, "\x7f" + big);
}

TEST_F(RpcTest, PipelinedCallsFromSeveralThreadsGetTheirOwnRepliesWhenAnsweredOutOfOrder) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mutex rng_mu;
  std::mt19937 rng(seed);
  // Answers after a random delay, so replies overtake each other.
  auto server = StartServer([&](uint8_t, std::string payload, RpcServer::Responder respond) {
    int delay_ms;
    {
      std::lock_guard lock(rng_mu);
      delay_ms = std::uniform_int_distribution<int>(0, 20)(rng);
    }
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(delay_ms));
    timer->async_wait([timer, payload = std::move(payload), respond = std::move(respond)](auto) {
      respond(Status::Ok(), "re:" + payload);
    });
  });
  RpcClient client(io_, Local(server->port()));

  constexpr int kCallers = 4, kCallsEach = 2500, kTotal = kCallers * kCallsEach;
  Counter done;
  std::atomic<int> wrong{0};
  std::atomic<int> overtaken{0};  // replies that arrived before an earlier call's
  std::vector<std::thread> callers;
  for (int t = 0; t < kCallers; ++t) {
    callers.emplace_back([&, t] {
      auto highest = std::make_shared<std::atomic<int>>(-1);
      for (int i = 0; i < kCallsEach; ++i) {
        const std::string payload = std::to_string(t) + "/" + std::to_string(i);
        client.Call(1, payload, 10s, [&, payload, i, highest](Status status, std::string reply) {
          if (!status.ok() || reply != "re:" + payload) {
            if (wrong.fetch_add(1) < 5) ADD_FAILURE() << payload << ": " << status.message() << " " << reply;
          }
          if (highest->load() > i) overtaken.fetch_add(1);
          int h = highest->load();
          while (h < i && !highest->compare_exchange_weak(h, i)) {
          }
          done.Add();
        });
      }
    });
  }
  for (auto& c : callers) c.join();
  ASSERT_TRUE(done.Wait(kTotal, 20s)) << done.count() << " of " << kTotal;
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(overtaken.load(), 0) << "replies never came out of order; the test proves less than it claims";
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(done.count(), kTotal);  // nothing ran twice
}

TEST_F(RpcTest, HandlerErrorReachesTheCallerWithItsCodeAndMessage) {
  std::mutex mu;
  std::vector<std::thread> responders;
  auto server = StartServer([&](uint8_t method, std::string payload, RpcServer::Responder respond) {
    switch (method) {
      case 1:
        respond(Status::InvalidArgument("bad key " + payload), "ignored");
        break;
      case 2:
        respond(Status::Corruption("bad checksum"), {});
        break;
      case 3:
        respond(Status::IOError("disk full"), {});
        break;
      case 4:
        respond(Status::Unavailable("not an owner"), {});
        break;
      case 5:
        respond(Status::TimedOut("replicas slow"), {});
        break;
      case 6: {  // answered later from a thread of its own
        std::lock_guard lock(mu);
        responders.emplace_back([respond] { respond(Status::IOError("from another thread"), {}); });
        break;
      }
    }
  });
  RpcClient client(io_, Local(server->port()));
  const std::vector<std::pair<Status::Code, std::string>> want = {
      {Status::Code::kInvalidArgument, "bad key k1"}, {Status::Code::kCorruption, "bad checksum"},
      {Status::Code::kIOError, "disk full"},          {Status::Code::kUnavailable, "not an owner"},
      {Status::Code::kTimedOut, "replicas slow"},     {Status::Code::kIOError, "from another thread"},
  };
  for (int method = 1; method <= 6; ++method) {
    const Result r = CallSync(client, method, "k1");
    EXPECT_EQ(r.status.code(), want[method - 1].first) << method;
    EXPECT_EQ(r.status.message(), want[method - 1].second) << method;
    EXPECT_EQ(r.payload, "") << method;
  }
  std::lock_guard lock(mu);
  for (auto& t : responders) t.join();
}

TEST_F(RpcTest, TimesOutAndDropsTheLateReply) {
  HeldResponders held;
  auto server = StartServer([&](uint8_t method, std::string payload, RpcServer::Responder respond) {
    if (method == 1) {
      held.Hold(std::move(respond));
    } else {
      respond(Status::Ok(), payload);
    }
  });
  RpcClient client(io_, Local(server->port()));
  ASSERT_TRUE(CallSync(client, 2, "warm").status.ok());

  Counter slow_done;
  Result slow;
  const auto start = Clock::now();
  client.Call(1, "slow", 300ms, [&](Status status, std::string payload) {
    slow = {std::move(status), std::move(payload)};
    slow_done.Add();
  });
  ASSERT_TRUE(held.WaitFor(1));
  // A reply on the same connection meanwhile: the peer is alive, so the
  // timeout must not cost the connection.
  ASSERT_TRUE(CallSync(client, 2, "alive").status.ok());
  ASSERT_TRUE(slow_done.Wait(1, 5s));
  EXPECT_GE(Clock::now() - start, 290ms);
  EXPECT_EQ(slow.status.code(), Status::Code::kTimedOut) << slow.status.message();

  for (auto& respond : held.Take()) respond(Status::Ok(), "too late");
  const Result after = CallSync(client, 2, "after");
  ASSERT_TRUE(after.status.ok()) << after.status.message();
  EXPECT_EQ(after.payload, "after");
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(slow_done.count(), 1);
}

TEST_F(RpcTest, SilentPeerIsPresumedDeadSoLaterCallsFailFast) {
  HeldResponders held;  // a peer that reads requests and never answers
  auto server = StartServer([&](uint8_t, std::string, RpcServer::Responder respond) { held.Hold(std::move(respond)); });
  // A 30 s reconnect backoff: the second call comes inside it however slow the machine, so it must fail fast
  // (Unavailable, not TimedOut after its own 150 ms) without a connect attempt.
  RpcClient client(io_, Local(server->port()), RpcClientOptions{1000ms, 30s, 60s});
  const Result first = CallSync(client, 1, "x", 150ms);
  EXPECT_EQ(first.status.code(), Status::Code::kTimedOut) << first.status.message();
  EXPECT_FALSE(client.connected());

  const Result second = CallSync(client, 1, "y", 150ms);
  EXPECT_EQ(second.status.code(), Status::Code::kUnavailable) << second.status.message();
  EXPECT_NE(second.status.message().find("presumed dead"), std::string::npos) << second.status.message();
}

TEST_F(RpcTest, ServerDownFailsFastWithUnavailable) {
  uint16_t port;
  {
    auto gone = StartServer(Echo());
    port = gone->port();
  }  // stopped and destroyed: nothing listens on `port` now
  // A 30 s reconnect backoff, so the last call below is inside it however slow the machine.
  RpcClient client(io_, Local(port), RpcClientOptions{1000ms, 30s, 60s});

  // Calls issued together while connecting all fail when the connect does:
  // Unavailable (refused), long before their 30 s timeout.
  Counter done;
  std::mutex mu;
  std::vector<Status> statuses;
  for (int i = 0; i < 5; ++i) {
    client.Call(1, "x", 30s, [&](Status status, std::string) {
      std::lock_guard lock(mu);
      statuses.push_back(std::move(status));
      done.Add();
    });
  }
  ASSERT_TRUE(done.Wait(5, 20s));
  for (const Status& s : statuses) EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.message();

  // Inside the backoff window: no connect attempt at all ("next attempt in ...").
  const Result r = CallSync(client, 1, "y");
  EXPECT_EQ(r.status.code(), Status::Code::kUnavailable);
  EXPECT_NE(r.status.message().find(std::to_string(port)), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("next attempt"), std::string::npos) << r.status.message();
}

TEST_F(RpcTest, ReconnectsAfterServerRestartOnTheSamePort) {
  auto server = StartServer(Echo());
  const uint16_t port = server->port();
  RpcClient client(io_, Local(port), RpcClientOptions{1000ms, 20ms, 100ms});
  ASSERT_TRUE(CallSync(client, 1, "before").status.ok());

  server->Stop();
  const auto give_up = Clock::now() + 3s;
  while (client.connected() && Clock::now() < give_up) std::this_thread::sleep_for(5ms);
  ASSERT_FALSE(client.connected()) << "the client did not notice the server going away";
  const Result down = CallSync(client, 1, "down");
  EXPECT_EQ(down.status.code(), Status::Code::kUnavailable) << down.status.message();

  server = StartServer(Echo(), port);
  ASSERT_EQ(server->port(), port);
  Result r;
  int attempts = 0;
  while (Clock::now() < give_up) {
    ++attempts;
    r = CallSync(client, 1, "after");
    if (r.status.ok()) break;
    EXPECT_EQ(r.status.code(), Status::Code::kUnavailable) << r.status.message();
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(r.status.ok()) << r.status.message() << " after " << attempts << " attempts";
  EXPECT_EQ(r.payload,
            "\x01"
            "after");
  EXPECT_TRUE(client.connected());
}

// A blocking raw TCP connection to the server, for speaking bad protocol.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) : socket_(io_) {
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

TEST_F(RpcTest, RawClientSpeakingTheWireFormatGetsAnswers) {
  auto server = StartServer(Echo());
  RawConnection raw(server->port());
  std::string wire;
  AppendFrame(Frame{3, 77, "hi"}, wire);
  AppendFrame(Frame{4, 78, "yo"}, wire);
  raw.Send(wire);
  std::string in;
  ASSERT_EQ(raw.Read(2 * (kFrameHeaderSize + 3), in), "");
  FrameDecoder decoder;
  decoder.Feed(in);
  std::vector<Frame> got;
  Drain(decoder, got);
  ExpectSameFrames({Frame{kResponseOk, 77, "\x03hi"}, Frame{kResponseOk, 78, "\x04yo"}}, got);
}

TEST_F(RpcTest, MalformedFrameClosesOnlyThatConnection) {
  auto server = StartServer(Echo());
  RpcClient client(io_, Local(server->port()));
  ASSERT_TRUE(CallSync(client, 1, "first").status.ok());

  // A good client keeps calling while bad ones come and go.
  std::atomic<bool> stop{false};
  std::atomic<int> good_ok{0}, good_failed{0};
  std::thread good([&] {
    while (!stop.load()) {
      const Result r = CallSync(client, 2, "ping");
      (r.status.ok() && r.payload == "\x02ping" ? good_ok : good_failed).fetch_add(1);
    }
  });

  const uint32_t too_big = 0xffffffff;
  std::string oversized(4, '\0');
  std::memcpy(oversized.data(), &too_big, 4);
  oversized += std::string(9, '\x01');
  std::string unknown_kind;
  AppendFrame(Frame{0x90, 1, "x"}, unknown_kind);
  std::string response_kind;  // a client must not send responses
  AppendFrame(Frame{kResponseOk, 1, "x"}, response_kind);
  std::string good_then_garbage;
  AppendFrame(Frame{1, 5, "ok"}, good_then_garbage);
  good_then_garbage += std::string(64, '\xee');

  for (const std::string& bad : {oversized, unknown_kind, response_kind, good_then_garbage}) {
    RawConnection raw(server->port());
    raw.Send(bad);
    EXPECT_TRUE(raw.ClosedByServer());
  }
  std::this_thread::sleep_for(50ms);
  stop = true;
  good.join();
  EXPECT_GT(good_ok.load(), 0);
  EXPECT_EQ(good_failed.load(), 0);
  EXPECT_TRUE(client.connected());
  EXPECT_TRUE(CallSync(client, 1, "last").status.ok());
}

// The header of a request frame whose payload is `length` bytes.
std::string FrameHeader(uint32_t length) {
  std::string wire;
  AppendFrame(Frame{1, 9, ""}, wire);
  for (int i = 0; i < 4; ++i) wire[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return wire;
}

TEST_F(RpcTest, PartialFrameIsClosedAfterTheDeadlineWhileIdleConnectionsStay) {
  auto server = StartServer(Echo(), 0, {.partial_frame_timeout = 200ms});
  RpcClient client(io_, Local(server->port()));
  ASSERT_TRUE(CallSync(client, 1, "before").status.ok());

  // Promises the largest frame, sends a little of it, and stalls.
  RawConnection stalled(server->port());
  stalled.Send(FrameHeader(kMaxFramePayload) + std::string(1000, 'p'));
  EXPECT_TRUE(stalled.ClosedByServer(60));

  // Between frames a connection may idle for as long as it likes: the
  // client's connection (idle since its call, longer than the deadline by
  // the time the stalled one was closed) still works.
  const Result r = CallSync(client, 2, "after");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_TRUE(client.connected());
}

TEST_F(RpcTest, ConnectionsBeyondTheCapAreClosedAndTheOthersServed) {
  auto server = StartServer(Echo(), 0, {.max_connections = 2});
  RawConnection first(server->port());
  RawConnection second(server->port());
  std::string in;
  for (RawConnection* c : {&first, &second}) {  // both registered before the third connects
    std::string wire;
    AppendFrame(Frame{3, 1, "hi"}, wire);
    c->Send(wire);
    in.clear();
    ASSERT_EQ(c->Read(kFrameHeaderSize + 3, in), "");
  }
  RawConnection third(server->port());
  EXPECT_TRUE(third.ClosedByServer(60));
  std::string wire;
  AppendFrame(Frame{3, 2, "again"}, wire);
  first.Send(wire);
  in.clear();
  EXPECT_EQ(first.Read(kFrameHeaderSize + 6, in), "");
}

TEST_F(RpcTest, PartialFramesBeyondTheTotalBufferCapAreClosedAndTheServerKeepsServing) {
  constexpr size_t kCap = 1 << 20;
  auto server = StartServer(Echo(), 0, {.max_buffered_bytes = kCap});
  // Two frames of 3/4 of the cap each, both held back by their last byte:
  // together they exceed it, so the connection that grows past it is closed
  // (both, if their reads race). Without the cap both would wait forever.
  const uint32_t length = kCap * 3 / 4;
  const std::string partial = FrameHeader(length) + std::string(length - 1, 'q');
  RawConnection a(server->port());
  RawConnection b(server->port());
  for (RawConnection* c : {&a, &b}) {
    // The server may close either while it is still sending: ignore errors.
    for (size_t sent = 0; sent < partial.size();) {
      const ssize_t n = ::send(c->NativeHandle(), partial.data() + sent, partial.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
  }
  bool closed = false;
  for (int round = 0; round < 600 && !closed; ++round) {
    for (RawConnection* c : {&a, &b}) {
      pollfd p{c->NativeHandle(), POLLIN | POLLRDHUP, 0};
      closed = closed || poll(&p, 1, 50) == 1;
    }
  }
  EXPECT_TRUE(closed) << "neither connection was closed";

  // A new connection whose frame fits beside what is still held is served.
  RawConnection fresh(server->port());
  std::string wire;
  AppendFrame(Frame{3, 1, std::string(kCap / 8, 'f')}, wire);  // fits beside a survivor
  fresh.Send(wire);
  std::string in;
  EXPECT_EQ(fresh.Read(kFrameHeaderSize + 1 + kCap / 8, in), "");
}

TEST_F(RpcTest, StopWithCallsInFlightCompletesEveryCallbackExactlyOnce) {
  HeldResponders held;
  std::atomic<int> handled_after_stop{0};
  std::atomic<bool> stopped{false};
  auto server = StartServer([&](uint8_t, std::string, RpcServer::Responder respond) {
    if (stopped.load()) handled_after_stop.fetch_add(1);
    held.Hold(std::move(respond));
  });
  RpcClient client(io_, Local(server->port()), RpcClientOptions{1000ms, 500ms, 1000ms});

  constexpr int kCalls = 1000;
  std::vector<std::atomic<int>> runs(kCalls);
  std::vector<Status> statuses(kCalls);
  Counter done;
  for (int i = 0; i < kCalls; ++i) {
    client.Call(1, std::to_string(i), 60s, [&, i](Status status, std::string) {
      statuses[i] = std::move(status);
      runs[i].fetch_add(1);
      done.Add();
    });
  }
  ASSERT_TRUE(held.WaitFor(kCalls));  // every request is at the server

  stopped = true;
  server->Stop();
  // Within 20 s: from the dropped connection, not the calls' 60 s timeout.
  ASSERT_TRUE(done.Wait(kCalls, 20s)) << done.count();
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_EQ(statuses[i].code(), Status::Code::kTimedOut) << i << ": " << statuses[i].message();
  }

  // Answers after Stop and after destruction go nowhere, harmlessly.
  auto responders = held.Take();
  for (size_t i = 0; i < responders.size() / 2; ++i) responders[i](Status::Ok(), "late");
  server.reset();
  for (size_t i = responders.size() / 2; i < responders.size(); ++i) responders[i](Status::Ok(), "later");
  responders.clear();

  const Result after = CallSync(client, 1, "after stop");
  EXPECT_EQ(after.status.code(), Status::Code::kUnavailable) << after.status.message();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(handled_after_stop.load(), 0);
  for (int i = 0; i < kCalls; ++i) ASSERT_EQ(runs[i].load(), 1) << i;
}

TEST_F(RpcTest, DestroyingTheClientCompletesEveryPendingCallExactlyOnce) {
  HeldResponders held;
  auto server = StartServer([&](uint8_t, std::string, RpcServer::Responder respond) { held.Hold(std::move(respond)); });
  constexpr int kSent = 300, kLast = 300;
  std::vector<std::atomic<int>> runs(kSent + kLast);
  std::vector<Status> statuses(kSent + kLast);
  Counter done;
  auto callback = [&](int i) {
    return [&, i](Status status, std::string) {
      statuses[i] = std::move(status);
      runs[i].fetch_add(1);
      done.Add();
    };
  };
  {
    RpcClient client(io_, Local(server->port()));
    for (int i = 0; i < kSent; ++i) client.Call(1, "x", 10s, callback(i));
    ASSERT_TRUE(held.WaitFor(kSent));
    // Issued right before destruction: some may not even reach the strand.
    for (int i = kSent; i < kSent + kLast; ++i) client.Call(1, "y", 10s, callback(i));
  }
  ASSERT_TRUE(done.Wait(kSent + kLast, 5s)) << done.count();
  for (int i = 0; i < kSent + kLast; ++i) {
    // Sent ones may have been delivered: TimedOut, never a false Unavailable.
    if (i < kSent) {
      EXPECT_EQ(statuses[i].code(), Status::Code::kTimedOut) << i;
    }
    EXPECT_TRUE(statuses[i].code() == Status::Code::kTimedOut || statuses[i].code() == Status::Code::kUnavailable) << i;
    EXPECT_NE(statuses[i].message().find("client closed"), std::string::npos) << statuses[i].message();
  }
  for (auto& respond : held.Take()) respond(Status::Ok(), "nobody listens");
  std::this_thread::sleep_for(50ms);
  for (int i = 0; i < kSent + kLast; ++i) ASSERT_EQ(runs[i].load(), 1) << i;
}

TEST_F(RpcTest, CallsAfterCloseFailWithUnavailable) {
  auto server = StartServer(Echo());
  RpcClient client(io_, Local(server->port()));
  ASSERT_TRUE(CallSync(client, 1, "x").status.ok());
  client.Close();
  client.Close();
  const Result r = CallSync(client, 1, "y");
  EXPECT_EQ(r.status.code(), Status::Code::kUnavailable);
  EXPECT_FALSE(client.connected());
}

TEST_F(RpcTest, RejectsBadRequestsWithoutSending) {
  auto server = StartServer(Echo());
  RpcClient client(io_, Local(server->port()));
  EXPECT_EQ(CallSync(client, kResponseOk, "x").status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(CallSync(client, 1, std::string(kMaxFramePayload + 1, 'x')).status.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(CallSync(client, 1, "fine").status.ok());
}

TEST_F(RpcTest, ResolvesHostNames) {
  auto server = StartServer(Echo());
  RpcClient client(io_, Endpoint{"localhost", server->port()});
  const Result r = CallSync(client, 1, "by name");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.payload,
            "\x01"
            "by name");

  RpcClient nowhere(io_, Endpoint{"no-such-host.invalid", server->port()});
  EXPECT_EQ(CallSync(nowhere, 1, "x").status.code(), Status::Code::kUnavailable);
}

TEST_F(RpcTest, StartNamesTheAddressWhenThePortIsInUse) {
  auto first = StartServer(Echo());
  RpcServer second(io_, Local(first->port()), Echo());
  const Status status = second.Start();
  EXPECT_EQ(status.code(), Status::Code::kIOError);
  EXPECT_NE(status.message().find("127.0.0.1:" + std::to_string(first->port())), std::string::npos) << status.message();
  EXPECT_FALSE(first->Start().ok());  // at most once
}

TEST_F(RpcTest, StopFromInsideTheHandlerDoesNotDeadlock) {
  std::unique_ptr<RpcServer> server;
  Counter handled;
  server = StartServer([&](uint8_t, std::string, RpcServer::Responder respond) {
    server->Stop();
    respond(Status::Ok(), "bye");
    handled.Add();
  });
  RpcClient client(io_, Local(server->port()));
  const Result r = CallSync(client, 1, "x", 2s);
  EXPECT_TRUE(r.status.code() == Status::Code::kTimedOut || r.status.ok()) << r.status.message();
  EXPECT_TRUE(handled.Wait(1, 2s));
}

}  // namespace
}  // namespace dynastore
