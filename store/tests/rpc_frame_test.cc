// The RPC frame codec on its own: encoding, decoding fed at once or byte by
// byte, and every way a frame can be rejected.
#include "store/tests/rpc_test_support.h"

namespace dynastore {
namespace {

using namespace test;  // NOLINT: Drain and ExpectSameFrames of rpc_test_support.h

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

}  // namespace
}  // namespace dynastore
