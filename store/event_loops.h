// EventLoops: a node's request threads. Each thread runs an io_context of its
// own (concurrency hint 1), and the node spreads its HTTP connections, its
// RPC server's connections and one RPC client per peer over them. A request
// a coordinator serves (the HTTP read, the calls to the replicas, their
// answers, the reply) then stays on one thread: a handler posted from a
// loop's own thread goes to that thread's private queue and wakes nobody.
// With a shared io_context per concern (HTTP, RPC) every request crossed
// threads several times, and on a 2-core VM a thread wake-up costs more than
// serving the request (issue 19's note has the figures).
//
// Threads: Start() and Stop() from one thread that is not a loop's.
#pragma once

#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

namespace dynastore {

class EventLoops {
 public:
  explicit EventLoops(int count);  // at least 1
  // Stop(); then destroys the handlers still queued (and what they own).
  ~EventLoops();
  EventLoops(const EventLoops&) = delete;
  EventLoops& operator=(const EventLoops&) = delete;

  // One thread per loop. A handler that throws is logged and the thread
  // goes on serving.
  void Start(std::function<void(std::string_view)> log);
  // Stops every loop and joins its thread. Handlers still queued are kept
  // (never run) until destruction, so the sockets they own are closed while
  // their io_context exists. Idempotent.
  void Stop();

  int size() const { return static_cast<int>(loops_.size()); }
  boost::asio::io_context& at(int i) { return *loops_[i]; }
  // The loop the calling thread runs, or -1 for a thread that runs none of
  // this object's loops.
  int current() const;
  // Round robin: where a new connection goes.
  boost::asio::io_context& next();

  // Wraps a completion so that, called from any thread (storage's commit
  // thread), it runs on the loop of the thread that wrapped it, where that
  // request's calls to the replicas then go out; unchanged when the wrapping
  // thread runs none of these loops.
  template <typename... Args>
  std::function<void(Args...)> Resume(std::function<void(Args...)> f) {
    const int i = current();
    if (i < 0) return f;
    return [&loop = at(i), f = std::move(f)](Args... args) {
      boost::asio::post(loop, [f, ... args = std::move(args)]() mutable { f(std::move(args)...); });
    };
  }

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> loops_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::atomic<unsigned> next_{0};
};

// Moves a connection an acceptor took on its own loop onto `to`, a socket of
// the loop that will serve it, and turns Nagle off (small replies on
// keep-alive connections: with Nagle and delayed ACKs some requests wait
// ~40 ms). Accepting straight onto another loop's socket is wrong: a pending
// accept must hold no socket of another loop, since a loop drops its pending
// handlers only when it is destroyed, and the other loops may be gone by
// then (AddressSanitizer: heap-use-after-free at a node's stop). False if
// the descriptor could not be moved; it is closed then.
template <class Socket>
bool MoveAccepted(boost::asio::ip::tcp::socket& peer, const boost::asio::ip::tcp& protocol, Socket& to) {
  boost::system::error_code ec;
  const auto fd = peer.release(ec);
  if (ec) return false;  // `peer` still owns the descriptor and closes it
  to.assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    return false;
  }
  to.set_option(boost::asio::ip::tcp::no_delay(true), ec);
  return true;
}

}  // namespace dynastore
