// RpcServer against raw sockets speaking the wire format, well and badly:
// malformed frames, partial frames, connection and buffer caps.
#include "store/tests/rpc_test_support.h"

namespace dynastore {
namespace {

using namespace test;  // NOLINT: the fixture and helpers of rpc_test_support.h

TEST_F(RpcTest, RawClientSpeakingTheWireFormatGetsAnswers) {
  auto server = StartServer(Echo());
  RawRpcConnection raw(server->port());
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
    RawRpcConnection raw(server->port());
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
TEST_F(RpcTest, PartialFrameIsClosedAfterTheDeadlineWhileIdleConnectionsStay) {
  auto server = StartServer(Echo(), 0, {.partial_frame_timeout = 200ms});
  RpcClient client(io_, Local(server->port()));
  ASSERT_TRUE(CallSync(client, 1, "before").status.ok());

  // Promises the largest frame, sends a little of it, and stalls.
  RawRpcConnection stalled(server->port());
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
  RawRpcConnection first(server->port());
  RawRpcConnection second(server->port());
  std::string in;
  for (RawRpcConnection* c : {&first, &second}) {  // both registered before the third connects
    std::string wire;
    AppendFrame(Frame{3, 1, "hi"}, wire);
    c->Send(wire);
    in.clear();
    ASSERT_EQ(c->Read(kFrameHeaderSize + 3, in), "");
  }
  RawRpcConnection third(server->port());
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
  RawRpcConnection a(server->port());
  RawRpcConnection b(server->port());
  for (RawRpcConnection* c : {&a, &b}) {
    // The server may close either while it is still sending: ignore errors.
    for (size_t sent = 0; sent < partial.size();) {
      const ssize_t n = ::send(c->NativeHandle(), partial.data() + sent, partial.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
  }
  bool closed = false;
  for (int round = 0; round < 600 && !closed; ++round) {
    for (RawRpcConnection* c : {&a, &b}) {
      pollfd p{c->NativeHandle(), POLLIN | POLLRDHUP, 0};
      closed = closed || poll(&p, 1, 50) == 1;
    }
  }
  EXPECT_TRUE(closed) << "neither connection was closed";

  // A new connection whose frame fits beside what is still held is served.
  RawRpcConnection fresh(server->port());
  std::string wire;
  AppendFrame(Frame{3, 1, std::string(kCap / 8, 'f')}, wire);  // fits beside a survivor
  fresh.Send(wire);
  std::string in;
  EXPECT_EQ(fresh.Read(kFrameHeaderSize + 1 + kCap / 8, in), "");
}

}  // namespace
}  // namespace dynastore
