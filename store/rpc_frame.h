// The wire format of dynastore's internal (node-to-node) RPC, and an
// incremental parser for it. Written down in doc/rpc.md, "Internal RPC".
//
// Every message is one frame:
//   u32 LE payload length | u8 kind | u64 LE request id | payload
// kind < 0x80 is a request for method `kind`; kResponseOk carries the reply
// payload; kResponseError carries u8 Status::Code + UTF-8 message. Responses
// echo the id of their request; a connection is pipelined, so responses may
// come in any order.
//
// Plain values and functions; a FrameDecoder is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/status.h"

namespace dynastore {

struct Frame {
  uint8_t kind = 0;
  uint64_t id = 0;
  std::string payload;
};

constexpr uint8_t kResponseOk = 0x80, kResponseError = 0x81;
constexpr size_t kFrameHeaderSize = 13;
constexpr size_t kMaxFramePayload = 64u << 20;
// What each side of a connection reads from its socket at a time.
constexpr size_t kReadBufferSize = 64u << 10;

// Appends the encoding of `frame` to `out`.
// REQUIRES: frame.payload.size() <= kMaxFramePayload.
void AppendFrame(const Frame& frame, std::string& out);

// The payload of a kResponseError frame, and back. Decoding fails (Corruption)
// on an empty payload or a code that is not an error code.
std::string EncodeErrorPayload(const Status& status);
Status DecodeErrorPayload(std::string_view payload, Status& out);

// Incremental parser. Feed() appends bytes; Next() pops one complete frame.
// A malformed stream (payload length over the limit, unknown kind 0x82..0xff)
// makes Next() return an error Status, as soon as the offending header byte
// has arrived and from then on; the connection must then be closed.
class FrameDecoder {
 public:
  void Feed(std::string_view bytes);
  // Returns Ok and sets `has_frame` when a frame was popped; Ok with
  // has_frame=false when more bytes are needed.
  Status Next(Frame& frame, bool& has_frame);
  // Bytes fed but not yet popped as frames: a frame still arriving.
  size_t buffered() const { return buffer_.size() - pos_; }

 private:
  std::string buffer_;
  size_t pos_ = 0;  // start of the first unparsed byte in buffer_
  Status error_;    // sticky: once malformed, always malformed
};

}  // namespace dynastore
