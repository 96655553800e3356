// Test-only HTTP plumbing for dynastore's HTTP tests, over real loopback
// sockets:
//   TestHttpClient  a synchronous HTTP/1.1 client that keeps one connection
//                   alive across requests and reconnects when the server
//                   closes it (connects() counts how often).
//   RawConnection   a plain TCP connection for sending arbitrary bytes
//                   (half requests, garbage) and watching the server close.
//   KvPath          "/kv/" + the percent-encoded key.
// Every operation has a deadline, so a misbehaving server fails a test
// instead of hanging it. Not thread-safe: one object per thread.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dynastore::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Percent-encodes everything but RFC 3986 unreserved characters.
inline std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

inline std::string KvPath(std::string_view key) { return "/kv/" + PercentEncode(key); }

struct HttpResult {
  beast::error_code ec;  // transport failure: connect, write, read, timeout
  http::response<http::string_body> response;

  bool ok() const { return !ec; }
  unsigned status() const { return response.result_int(); }
  const std::string& body() const { return response.body(); }
  // The body as JSON; a discarded value if it is not JSON.
  nlohmann::json Json() const { return nlohmann::json::parse(response.body(), nullptr, false); }
  std::string Header(http::field field) const {
    auto sv = response[field];
    return std::string(sv.data(), sv.size());
  }
  // The "error" code of an error body, or "" if there is none.
  std::string ErrorCode() const {
    nlohmann::json j = Json();
    return j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : "";
  }
};

class TestHttpClient {
 public:
  explicit TestHttpClient(uint16_t port, std::chrono::milliseconds timeout = 5s)
      : port_(port), timeout_(timeout), stream_(ioc_) {}

  // Sends one request and reads the response. `headers` are added as given.
  HttpResult Request(http::verb method, std::string target, std::string body = "",
                     std::vector<std::pair<std::string, std::string>> headers = {}, unsigned version = 11) {
    HttpResult result;
    if (!connected_ && (result.ec = Connect())) return result;
    http::request<http::string_body> req{method, target, version};
    req.set(http::field::host, "127.0.0.1");
    for (auto& [name, value] : headers) req.set(name, value);
    if (!body.empty() || method == http::verb::put || method == http::verb::post) {
      req.set(http::field::content_type, "application/json");
      req.body() = std::move(body);
      req.prepare_payload();
    }

    beast::error_code write_ec;
    stream_.expires_after(timeout_);
    http::async_write(stream_, req, [&](beast::error_code ec, size_t) { write_ec = ec; });
    Run();
    // Even if the write failed (the server may close early, e.g. after a
    // 413), the response may already be waiting: try to read it.
    beast::error_code read_ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    stream_.expires_after(timeout_);
    http::async_read(stream_, buffer_, parser, [&](beast::error_code ec, size_t) { read_ec = ec; });
    Run();
    if (read_ec) {
      result.ec = write_ec ? write_ec : read_ec;
      Close();
      return result;
    }
    result.response = parser.release();
    if (result.response.need_eof()) Close();
    return result;
  }

  HttpResult Get(const std::string& target) { return Request(http::verb::get, target); }
  HttpResult Put(const std::string& target, const nlohmann::json& body) {
    return Request(http::verb::put, target, body.dump());
  }
  HttpResult Delete(const std::string& target, std::string body = "") {
    return Request(http::verb::delete_, target, std::move(body));
  }

  // How many TCP connections this client has opened.
  int connects() const { return connects_; }
  bool connected() const { return connected_; }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    connected_ = false;
  }

 private:
  beast::error_code Connect() {
    beast::error_code result;
    stream_.expires_after(timeout_);
    stream_.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_),
                          [&](beast::error_code ec) { result = ec; });
    Run();
    if (!result) {
      connected_ = true;
      ++connects_;
      beast::error_code ignored;
      stream_.socket().set_option(tcp::no_delay(true), ignored);
    }
    return result;
  }

  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  uint16_t port_;
  std::chrono::milliseconds timeout_;
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
  int connects_ = 0;
};

// A raw TCP connection with deadlines, for bytes no well-behaved client sends.
class RawConnection {
 public:
  RawConnection() : socket_(ioc_) {}

  beast::error_code Connect(uint16_t port, std::chrono::milliseconds timeout = 5s) {
    beast::error_code result;
    socket_.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                          [&](beast::error_code ec) { result = ec; });
    if (!RunFor(timeout)) return asio::error::timed_out;
    return result;
  }

  beast::error_code Send(std::string_view bytes, std::chrono::milliseconds timeout = 5s) {
    beast::error_code result;
    asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                      [&](beast::error_code ec, size_t) { result = ec; });
    if (!RunFor(timeout)) return asio::error::timed_out;
    return result;
  }

  // Reads until the peer closes the connection or `timeout` passes.
  // Returns what was read; `closed` says whether the peer closed.
  std::string ReadUntilClose(std::chrono::milliseconds timeout, bool& closed) {
    std::string data;
    closed = false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed) {
      beast::error_code result;
      if (!ReadSome(deadline, data, result)) break;
      if (result) closed = true;  // eof or reset
    }
    return data;
  }

  // Reads until `needle` appears, the peer closes, or `timeout` passes.
  std::string ReadUntil(std::string_view needle, std::chrono::milliseconds timeout) {
    std::string data;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (data.find(needle) == std::string::npos) {
      beast::error_code result;
      if (!ReadSome(deadline, data, result) || result) break;
    }
    return data;
  }

  void Close() {
    beast::error_code ignored;
    socket_.close(ignored);
  }

  // For writing from another thread while this one reads.
  int NativeHandle() { return socket_.native_handle(); }

 private:
  // One read of whatever arrives before `deadline`, appended to `data`;
  // `result` is its error (eof, reset). False when the deadline passed.
  bool ReadSome(std::chrono::steady_clock::time_point deadline, std::string& data, beast::error_code& result) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    char buf[4096];
    size_t got = 0;
    socket_.async_read_some(asio::buffer(buf), [&](beast::error_code ec, size_t n) {
      result = ec;
      got = n;
    });
    const bool in_time = RunFor(left);
    data.append(buf, got);
    return in_time;
  }

  // Runs the pending operation. If it is still pending at the deadline,
  // cancels it, lets its handler run, and returns false.
  bool RunFor(std::chrono::milliseconds timeout) {
    ioc_.restart();
    ioc_.run_for(timeout);
    if (ioc_.stopped()) return true;
    beast::error_code ignored;
    socket_.cancel(ignored);
    ioc_.restart();
    ioc_.run();
    return false;
  }

  asio::io_context ioc_;
  tcp::socket socket_;
};

}  // namespace dynastore::test
