#include "harness/stores/http_connection.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <optional>

namespace faultline {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Sets are stored as one value; allow far more than dynastore's 1 MiB body limit.
constexpr uint64_t kMaxResponseBody = 256ull << 20;

bool IsConnectionLoss(const beast::error_code& ec) {
  return ec == beast::http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
         ec == beast::http::error::partial_message;
}

}  // namespace

struct HttpConnection::Impl {
  std::string host;
  int port;
  std::string host_header;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  std::optional<tcp::resolver::results_type> endpoints;

  Impl(std::string h, int p) : host(std::move(h)), port(p) {
    host_header =
        host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
  }

  // Runs the io_context until the pending operation completes.
  void RunPending() {
    ioc.restart();
    ioc.run();
  }

  void Close() {
    if (stream) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream->socket().close(ignored);
      stream.reset();
    }
    buffer.clear();
  }

  // A kept-alive connection the server has since closed (idle timeout,
  // restart) would swallow the next request and report a loss after it was
  // "sent"; checking first keeps such a request certainly-unsent.
  bool StillUsable() {
    if (!stream || !stream->socket().is_open()) return false;
    char c;
    ssize_t n = ::recv(stream->socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;  // 0: closed by peer; > 0: stray bytes; other errors: broken
  }
};

HttpConnection::HttpConnection(std::string host, int port) : impl_(std::make_unique<Impl>(std::move(host), port)) {}

HttpConnection::~HttpConnection() { impl_->Close(); }

void HttpConnection::Close() { impl_->Close(); }

HttpResult HttpConnection::Request(std::string_view method, std::string_view target, std::string_view body,
                                   Clock::time_point deadline, std::string_view accept) {
  Impl& im = *impl_;
  HttpResult result;

  if (im.stream && !im.StillUsable()) im.Close();

  if (!im.stream) {
    beast::error_code ec;
    if (!im.endpoints) {
      auto address = asio::ip::make_address(im.host, ec);
      if (!ec) {
        im.endpoints = tcp::resolver::results_type::create(tcp::endpoint(address, static_cast<uint16_t>(im.port)),
                                                           im.host, std::to_string(im.port));
      } else {
        tcp::resolver resolver(im.ioc);
        auto results = resolver.resolve(im.host, std::to_string(im.port), ec);
        if (ec) {
          result.failure = HttpFailure::kConnect;
          result.error = fmt::format("cannot resolve {}: {}", im.host, ec.message());
          return result;
        }
        im.endpoints = results;
      }
    }
    im.stream.emplace(im.ioc);
    im.stream->expires_at(deadline);
    im.stream->async_connect(*im.endpoints, [&ec](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
    im.RunPending();
    if (ec) {
      im.Close();
      if (ec == beast::error::timeout) {
        result.failure = HttpFailure::kTimeout;
        result.error = "timeout while connecting";
      } else if (ec == asio::error::connection_refused) {
        result.failure = HttpFailure::kRefused;
        result.error = "connection refused";
      } else {
        result.failure = HttpFailure::kConnect;
        result.error = fmt::format("connect: {}", ec.message());
      }
      return result;
    }
    ++connections_opened_;
    beast::error_code ignored;
    im.stream->socket().set_option(tcp::no_delay(true), ignored);
  }

  http::request<http::string_body> req;
  req.method_string(beast::string_view(method.data(), method.size()));
  req.target(beast::string_view(target.data(), target.size()));
  req.version(11);
  req.set(http::field::host, im.host_header);
  req.set(http::field::user_agent, "faultline");
  req.keep_alive(true);
  if (!accept.empty()) req.set(http::field::accept, beast::string_view(accept.data(), accept.size()));
  if (!body.empty() || method == "PUT" || method == "POST") {
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.prepare_payload();

  // A spent deadline must not let even a speculative first write out.
  if (Clock::now() >= deadline) {
    result.failure = HttpFailure::kTimeout;
    result.error = "timeout before sending";
    return result;
  }
  // From here on the server may see (part of) the request.
  result.maybe_sent = true;
  beast::error_code ec;
  im.stream->expires_at(deadline);
  http::async_write(*im.stream, req, [&ec](const beast::error_code& e, std::size_t) { ec = e; });
  im.RunPending();

  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  if (!ec) {
    im.stream->expires_at(deadline);
    http::async_read(*im.stream, im.buffer, parser, [&ec](const beast::error_code& e, std::size_t) { ec = e; });
    im.RunPending();
  }
  if (ec) {
    im.Close();
    if (ec == beast::error::timeout) {
      result.failure = HttpFailure::kTimeout;
      result.error = "timeout";
    } else if (IsConnectionLoss(ec)) {
      result.failure = HttpFailure::kClosed;
      result.error = fmt::format("connection lost: {}", ec.message());
    } else {
      result.failure = HttpFailure::kProtocol;
      result.error = fmt::format("bad response: {}", ec.message());
    }
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
