#include "harness/stores/http_connection.h"

#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <cstring>
#include <vector>

namespace faultline {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// Sets are stored as one value; allow far more than dynastore's 1 MiB body limit.
constexpr uint64_t kMaxResponseBody = 256ull << 20;
constexpr size_t kReadChunk = 16 << 10;

// Blocking calls on the worker's own thread, not an event loop: a worker has
// one request in flight, and an io_context with a timer per operation cost
// about ten syscalls and several sleeps and wake-ups per request (epoll_wait,
// timerfd_settime); this path makes four: peek, send, poll, recv.

// Milliseconds until `deadline`, rounded up so a poll never returns early;
// 0 when it has passed.
int MillisLeft(HttpConnection::Clock::time_point deadline) {
  const auto left = deadline - HttpConnection::Clock::now();
  if (left <= HttpConnection::Clock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(ms);
}

// Waits until `fd` has `events` or `deadline` passes: true when ready (or
// in error, which the next call reports), false on timeout.
bool WaitFor(int fd, short events, HttpConnection::Clock::time_point deadline) {
  for (;;) {
    const int timeout = MillisLeft(deadline);
    if (timeout == 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, timeout);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // let the socket call say what is wrong
  }
}

// The request line and header fields go out verbatim, so none may hold a
// control character (a key with CR LF must not inject header lines), and
// the method and target no space either.
bool Printable(std::string_view s, bool space_allowed) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || (c == ' ' && !space_allowed)) return false;
  }
  return true;
}

struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;
};

}  // namespace

struct HttpConnection::Impl {
  std::string host;
  int port;
  std::string host_header;
  int fd = -1;
  beast::flat_buffer buffer;
  std::vector<Endpoint> endpoints;  // resolved on the first connect

  Impl(std::string h, int p) : host(std::move(h)), port(p) {
    host_header =
        host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
  }

  void Close() {
    if (fd >= 0) {
      ::shutdown(fd, SHUT_RDWR);
      ::close(fd);
      fd = -1;
    }
    buffer.clear();
  }

  // A kept-alive connection the server has since closed (idle timeout,
  // restart) would swallow the next request and report a loss after it was
  // "sent"; checking first keeps such a request certainly-unsent.
  bool StillUsable() const {
    if (fd < 0) return false;
    char c;
    ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;  // 0: closed by peer; > 0: stray bytes; other errors: broken
  }

  // Fills `endpoints` from a numeric address, or by name lookup.
  bool Resolve(std::string& error) {
    if (!endpoints.empty()) return true;
    const std::string service = std::to_string(port);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
      error = fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc));
      return false;
    }
    for (addrinfo* a = found; a; a = a->ai_next) {
      Endpoint e;
      std::memcpy(&e.address, a->ai_addr, a->ai_addrlen);
      e.length = a->ai_addrlen;
      endpoints.push_back(e);
    }
    ::freeaddrinfo(found);
    return !endpoints.empty();
  }

  // Connects to the first endpoint that accepts before `deadline`.
  HttpFailure Connect(Clock::time_point deadline, std::string& error) {
    HttpFailure failure = HttpFailure::kConnect;
    for (const Endpoint& e : endpoints) {
      fd = ::socket(e.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        error = fmt::format("connect: socket: {}", std::strerror(errno));
        continue;
      }
      int err = ::connect(fd, reinterpret_cast<const sockaddr*>(&e.address), e.length) == 0 ? 0 : errno;
      if (err == EINPROGRESS) {
        if (!WaitFor(fd, POLLOUT, deadline)) {
          Close();
          error = "timeout while connecting";
          return HttpFailure::kTimeout;
        }
        socklen_t len = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      }
      if (err == 0) {
        // Small JSON requests: without this, Nagle's algorithm and delayed
        // ACKs add ~40 ms to some of them.
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return HttpFailure::kNone;
      }
      Close();
      if (err == ECONNREFUSED) {
        failure = HttpFailure::kRefused;
        error = "connection refused";
      } else {
        failure = HttpFailure::kConnect;
        error = fmt::format("connect: {}", std::strerror(err));
      }
    }
    return failure;
  }

  // Sends all of `bytes`; kNone, kTimeout or kClosed.
  HttpFailure Send(std::string_view bytes, Clock::time_point deadline, std::string& error) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!WaitFor(fd, POLLOUT, deadline)) {
          error = "timeout";
          return HttpFailure::kTimeout;
        }
        continue;
      }
      error = fmt::format("connection lost: {}", std::strerror(n < 0 ? errno : EPIPE));
      return HttpFailure::kClosed;
    }
    return HttpFailure::kNone;
  }

  // Reads one response into `parser`.
  HttpFailure Receive(http::response_parser<http::string_body>& parser, Clock::time_point deadline,
                      std::string& error) {
    // Right after the request went out the answer cannot be there yet, so
    // wait before the first read rather than read, fail and then wait.
    bool wait_first = buffer.size() == 0;
    for (;;) {
      if (buffer.size() > 0) {
        beast::error_code ec;
        const size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec && ec != http::error::need_more) {
          error = fmt::format("bad response: {}", ec.message());
          return HttpFailure::kProtocol;
        }
        if (parser.is_done()) return HttpFailure::kNone;
        if (used > 0 && !ec) continue;  // the header is done; the body may follow in the same bytes
      }
      if (wait_first && !WaitFor(fd, POLLIN, deadline)) {
        error = "timeout";
        return HttpFailure::kTimeout;
      }
      wait_first = false;
      const ssize_t n = ::recv(fd, buffer.prepare(kReadChunk).data(), kReadChunk, 0);
      if (n > 0) {
        buffer.commit(static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        // A response without a length ends at end of stream.
        beast::error_code ec;
        if (parser.got_some()) parser.put_eof(ec);
        if (parser.got_some() && !ec && parser.is_done()) return HttpFailure::kNone;
        error = parser.got_some() ? "connection lost: partial message" : "connection lost: end of stream";
        return HttpFailure::kClosed;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wait_first = true;
        continue;
      }
      error = fmt::format("connection lost: {}", std::strerror(errno));
      return HttpFailure::kClosed;
    }
  }
};

HttpConnection::HttpConnection(std::string host, int port) : impl_(std::make_unique<Impl>(std::move(host), port)) {}

HttpConnection::~HttpConnection() { impl_->Close(); }

void HttpConnection::Close() { impl_->Close(); }

HttpResult HttpConnection::Request(std::string_view method, std::string_view target, std::string_view body,
                                   Clock::time_point deadline, std::string_view accept) {
  Impl& im = *impl_;
  HttpResult result;

  if (method.empty() || target.empty() || !Printable(method, false) || !Printable(target, false) ||
      !Printable(accept, true)) {
    result.failure = HttpFailure::kProtocol;
    result.error = "invalid request: an empty method or target, a space in either, or a control character";
    return result;
  }
  if (im.fd >= 0 && !im.StillUsable()) im.Close();
  if (im.fd < 0) {
    if (!im.Resolve(result.error)) {
      result.failure = HttpFailure::kConnect;
      return result;
    }
    result.failure = im.Connect(deadline, result.error);
    if (!result.ok()) return result;
    ++connections_opened_;
  }

  std::string request =
      fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: faultline\r\n", method, target, im.host_header);
  if (!accept.empty()) fmt::format_to(std::back_inserter(request), "Accept: {}\r\n", accept);
  if (!body.empty() || method == "PUT" || method == "POST") {
    fmt::format_to(std::back_inserter(request), "Content-Type: application/json\r\nContent-Length: {}\r\n",
                   body.size());
  }
  request += "\r\n";
  request += body;

  // A spent deadline must not let even a speculative first write out.
  if (Clock::now() >= deadline) {
    result.failure = HttpFailure::kTimeout;
    result.error = "timeout before sending";
    return result;
  }
  // From here on the server may see (part of) the request.
  result.maybe_sent = true;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  result.failure = im.Send(request, deadline, result.error);
  if (result.ok()) result.failure = im.Receive(parser, deadline, result.error);
  if (!result.ok()) {
    im.Close();
    return result;
  }
  auto& res = parser.get();
  result.status = static_cast<int>(res.result_int());
  result.body = std::move(res.body());
  if (!res.keep_alive()) im.Close();
  return result;
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace faultline
