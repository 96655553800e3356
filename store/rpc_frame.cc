#include "store/rpc_frame.h"

#include <cassert>

namespace dynastore {

namespace {

void PutLE(uint64_t value, int bytes, std::string& out) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t GetLE(const char* p, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return value;
}

}  // namespace

void AppendFrame(const Frame& frame, std::string& out) {
  assert(frame.payload.size() <= kMaxFramePayload);
  out.reserve(out.size() + kFrameHeaderSize + frame.payload.size());
  PutLE(frame.payload.size(), 4, out);
  out.push_back(static_cast<char>(frame.kind));
  PutLE(frame.id, 8, out);
  out.append(frame.payload);
}

std::string EncodeErrorPayload(const Status& status) {
  assert(!status.ok());
  std::string out;
  out.reserve(1 + status.message().size());
  out.push_back(static_cast<char>(status.code()));
  out.append(status.message());
  return out;
}

Status DecodeErrorPayload(std::string_view payload, Status& out) {
  if (payload.empty()) return Status::Corruption("rpc error response without a status code");
  const std::string message(payload.substr(1));
  switch (static_cast<Status::Code>(static_cast<unsigned char>(payload[0]))) {
    case Status::Code::kInvalidArgument:
      out = Status::InvalidArgument(message);
      break;
    case Status::Code::kCorruption:
      out = Status::Corruption(message);
      break;
    case Status::Code::kIOError:
      out = Status::IOError(message);
      break;
    case Status::Code::kUnavailable:
      out = Status::Unavailable(message);
      break;
    case Status::Code::kTimedOut:
      out = Status::TimedOut(message);
      break;
    case Status::Code::kConflict:
      out = Status::Conflict(message);
      break;
    default:
      return Status::Corruption("rpc error response with unknown status code " +
                                std::to_string(static_cast<unsigned char>(payload[0])));
  }
  return Status::Ok();
}

void FrameDecoder::Feed(std::string_view bytes) {
  if (!error_.ok()) return;
  // Drop consumed bytes before growing; the copy is amortized because it
  // happens only once the consumed prefix is at least half the buffer.
  if (pos_ == buffer_.size()) {
    buffer_.clear();
    if (buffer_.capacity() > (1u << 20)) buffer_.shrink_to_fit();  // after one big frame
    pos_ = 0;
  } else if (pos_ > 0 && pos_ * 2 >= buffer_.size()) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  buffer_.append(bytes);
}

Status FrameDecoder::Next(Frame& frame, bool& has_frame) {
  has_frame = false;
  if (!error_.ok()) return error_;
  const size_t available = buffer_.size() - pos_;
  const char* p = buffer_.data() + pos_;
  // Reject as soon as the bad byte is here: a peer announcing a 4 GiB frame
  // must not make us wait for (or buffer) it.
  if (available < 4) return Status::Ok();
  const uint64_t length = GetLE(p, 4);
  if (length > kMaxFramePayload) {
    error_ = Status::Corruption("rpc frame payload of " + std::to_string(length) + " bytes exceeds the limit of " +
                                std::to_string(kMaxFramePayload));
    return error_;
  }
  if (available < 5) return Status::Ok();
  const uint8_t kind = static_cast<uint8_t>(p[4]);
  if (kind > kResponseError) {
    error_ = Status::Corruption("rpc frame of unknown kind " + std::to_string(kind));
    return error_;
  }
  if (available < kFrameHeaderSize + length) return Status::Ok();
  frame.kind = kind;
  frame.id = GetLE(p + 5, 8);
  frame.payload.assign(p + kFrameHeaderSize, length);
  pos_ += kFrameHeaderSize + length;
  has_frame = true;
  return Status::Ok();
}

}  // namespace dynastore
