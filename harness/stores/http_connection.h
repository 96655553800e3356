// HttpConnection: a small keep-alive HTTP/1.1 client for one host:port:
// blocking socket calls with poll() for the deadline, Boost.Beast's parser
// for the response. One TCP connection is reused across requests and reopened when
// the server closed it or a request failed midway. Every request has an
// absolute deadline covering connect, send and receive.
//
// Failures are values (HttpResult), never exceptions, and say whether the
// request may have reached the server (`maybe_sent`): a caller deciding
// between "certainly had no effect" and "unknown" needs exactly that.
//
// Not thread-safe: one object per thread. Owns its socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace faultline {

enum class HttpFailure {
  kNone,      // a response arrived
  kRefused,   // connect refused: nothing sent
  kConnect,   // other connect/resolve error: nothing sent
  kTimeout,   // deadline passed (during connect, send or receive)
  kClosed,    // connection reset or closed by the server before a full response
  kProtocol,  // unparsable response, or a request that cannot be sent as given (nothing sent)
};

struct HttpResult {
  HttpFailure failure = HttpFailure::kNone;
  int status = 0;           // HTTP status when failure == kNone
  std::string body;         // response body when failure == kNone
  bool maybe_sent = false;  // some of the request may have reached the server
  std::string error;        // short description when failure != kNone

  bool ok() const { return failure == HttpFailure::kNone; }
};

class HttpConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // host: numeric IPv4/IPv6 address or a host name (resolved on first connect).
  HttpConnection(std::string host, int port);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends `method target` (body sent as application/json when non-empty, or
  // always for PUT/POST) and waits for the response until `deadline`.
  // `accept`, when not empty, is sent as the Accept header (CouchDB answers
  // some requests as multipart unless asked for JSON).
  HttpResult Request(std::string_view method, std::string_view target, std::string_view body,
                     Clock::time_point deadline, std::string_view accept = {});

  // Closes the connection; the next request opens a new one.
  void Close();

  // TCP connections opened so far (successful connects).
  uint64_t connections_opened() const { return connections_opened_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t connections_opened_ = 0;
};

// Percent-encodes every byte outside RFC 3986's unreserved set
// (A-Z a-z 0-9 - . _ ~), for use as one path segment.
std::string PercentEncode(std::string_view s);

}  // namespace faultline
