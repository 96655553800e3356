// RpcServer: the listening side of dynastore's internal RPC (wire format in
// rpc_frame.h and doc/rpc.md, "Internal RPC"). It accepts persistent TCP
// connections from peer nodes; every request frame on them is handed to the
// Handler, and the Handler's answer is sent back with the request's id.
// Requests on one connection are pipelined: the handler may answer them in
// any order, and the answers are coalesced into few writes.
//
// Threads: thread-safe; all I/O runs on the given io_context, which may be run
// by several threads, each connection on its own strand; or, given
// EventLoops, the connections are spread over those (the listener stays on
// the io_context). The Handler is
// called on an io_context thread, on the connection's strand, so it must not
// block; it may answer later, from any thread, through the Responder.
//
// A connection that sends a malformed frame (see FrameDecoder) or a response
// frame is closed; other connections are not affected. A connection whose
// unsent answers exceed a few MiB is not read from until they drain, so a
// peer that does not read its answers cannot exhaust memory. Neither can one
// that sends frames and stops halfway (RpcServerOptions): a frame must
// arrive within a deadline, the bytes of frames still arriving are capped
// over all connections, and so is the number of connections.
//
// Ownership: the server owns its listener and connections. The io_context is
// not owned and must outlive the server. Once Stop() (or the destructor) has
// returned, the Handler is never called again, so it may refer to objects
// destroyed right after; Responders kept past that point are harmless no-ops.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>  // before Boost 1.74 Asio, which uses std::exchange without it

#include "store/cluster_config.h"
#include "store/status.h"

namespace dynastore {

class EventLoops;

struct RpcServerOptions {
  // A frame must be complete this long after its first byte arrived (or the
  // previous frame on the connection ended); otherwise the connection is
  // closed. A connection may idle between frames for as long as it likes.
  std::chrono::milliseconds partial_frame_timeout = std::chrono::seconds(30);
  // Connections beyond this are closed as soon as they are accepted.
  size_t max_connections = 1024;
  // Bytes of frames still arriving, over all connections. The connection
  // whose bytes would exceed it is closed. At least one whole frame.
  size_t max_buffered_bytes = 256u << 20;
};

class RpcServer {
 public:
  // Call exactly once, from any thread: Ok + payload, or an error Status
  // (sent as an error response; the payload is then ignored). A second call
  // sends a duplicate answer, which the client drops as a late reply.
  using Responder = std::function<void(Status status, std::string payload)>;
  using Handler = std::function<void(uint8_t method, std::string payload, Responder respond)>;

  RpcServer(boost::asio::io_context& io, Endpoint bind, Handler handler, RpcServerOptions options = {},
            EventLoops* loops = nullptr);
  ~RpcServer();  // Stop()
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Binds and listens (SO_REUSEADDR), then accepts in the background. The
  // error names the address (bad address, port in use, ...). At most once.
  Status Start();
  // The bound port (useful with port 0); 0 before Start().
  uint16_t port() const;
  // Closes the listener (the port is free when this returns) and every
  // connection, and waits for Handler calls already running to return (unless
  // called from inside the Handler). Idempotent; any thread.
  void Stop();

  struct State;  // shared with connections; defined in rpc_server.cc

 private:
  std::shared_ptr<State> state_;
};

}  // namespace dynastore
