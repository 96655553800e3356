// HttpServer: the HTTP/1.1 transport in front of HttpApi (Boost.Beast on
// Asio). It owns the listening socket; each connection is a session pinned
// to one of the node's EventLoops that reads a request, hands it to HttpApi,
// writes the response, and repeats while the client keeps the connection
// alive.
//
// What it enforces on the wire (doc/http_api.md, "Limits"): header size,
// body size (413 before the body is read), chunk-size lines and trailers
// (431: the read buffer is bounded), a per-connection idle timeout
// that drops idle and slow (slowloris) clients, and a refusal to let the
// accept loop die when the process runs out of file descriptors.
//
// Threads: the EventLoops run everything; Stop() and the destructor must be
// called from a thread that is not one of them. The EventLoops, HttpApi and
// NodeStats are not owned and must outlive the server and the handlers the
// loops still hold.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "store/http_api.h"
#include "store/node_stats.h"
#include "store/status.h"

namespace dynastore {

class EventLoops;

struct HttpServerOptions {
  std::string address = "127.0.0.1";  // numeric IPv4 or IPv6 address
  uint16_t port = 0;                  // 0 picks a free port; see port()
  size_t max_body_bytes = 1 << 20;
  uint32_t max_header_bytes = 8 << 10;  // request line + header fields; < 60 KiB (see ReadBufferLimit)
  // A connection is dropped if a request (header and body) or a response
  // does not get through within this time, or if it sits idle this long.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  // How long Stop() lets requests that are being served finish.
  std::chrono::milliseconds shutdown_deadline = std::chrono::seconds(5);
  // Where operational messages go (accept failures, forced shutdown).
  // Called from any server thread. Default: one line on stderr.
  std::function<void(std::string_view)> log;
};

class HttpServer {
 public:
  // Binds, listens and starts serving. Fails with a message naming the
  // address (bad address, port in use, ...).
  static Status Start(HttpServerOptions options, EventLoops& loops, HttpApi& api, NodeStats& stats,
                      std::unique_ptr<HttpServer>& out);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port actually bound (useful with port 0).
  uint16_t port() const { return port_; }

  // Graceful stop, blocking and idempotent: stop accepting, close idle
  // connections and those still receiving a request, let requests already
  // handed to HttpApi finish and be answered (with "Connection: close"),
  // up to shutdown_deadline; then close the connections still open. The
  // loops go on running.
  void Stop();

  struct State;  // shared with sessions; defined in http_server.cc

 private:
  HttpServer() = default;

  std::shared_ptr<State> state_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace dynastore
