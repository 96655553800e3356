#include "store/rpc_server.h"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "store/event_loops.h"
#include "store/rpc_frame.h"

namespace dynastore {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Stop reading a connection's requests while this many answer bytes wait to
// be written; resume once they are written.
constexpr size_t kMaxUnsentBytes = 4u << 20;
// How long the accept loop pauses after a failure (e.g. out of descriptors:
// the pending connection stays queued and an immediate retry would spin).
constexpr std::chrono::milliseconds kAcceptBackoff{50};

// The State whose Handler this thread is running, so that Stop() called from
// inside the Handler does not wait for itself.
thread_local const RpcServer::State* tls_in_handler = nullptr;

class RpcSession;

}  // namespace

struct RpcServer::State : std::enable_shared_from_this<RpcServer::State> {
  State(asio::io_context& io_context, EventLoops* l, Endpoint bind_to, Handler h, RpcServerOptions o)
      : io(io_context),
        loops(l),
        bind(std::move(bind_to)),
        handler(std::move(h)),
        options(o),
        accept_retry(io_context) {}

  void AcceptLocked();  // REQUIRES: mu held
  void OnAccept(tcp::socket peer, const boost::system::error_code& ec);
  void Unregister(const RpcSession* session) {
    std::lock_guard lock(mu);
    sessions.erase(session);
  }

  // The Handler gate: Stop() sets `stopped`, then waits for `active` calls to
  // drain. Both are seq_cst, so either the caller sees `stopped` and backs
  // out, or Stop() sees its increment and waits.
  bool EnterHandler() {
    active.fetch_add(1);
    if (stopped.load()) {
      ExitHandler();
      return false;
    }
    return true;
  }
  void ExitHandler() {
    active.fetch_sub(1);
    if (stopped.load()) active.notify_all();
  }

  asio::io_context& io;
  EventLoops* const loops;  // where connections go; null: on `io`
  const Endpoint bind;
  const Handler handler;
  const RpcServerOptions options;
  std::atomic<size_t> buffered{0};  // bytes of frames still arriving, all connections
  std::atomic<uint16_t> port{0};
  std::atomic<bool> stopped{false};
  std::atomic<int> active{0};

  std::mutex mu;  // guards everything below
  bool started = false;
  std::optional<tcp::acceptor> acceptor;
  tcp protocol = tcp::v4();  // the acceptor's, for the sockets moved to a loop
  asio::steady_timer accept_retry;
  std::unordered_map<const RpcSession*, std::weak_ptr<RpcSession>> sessions;
};

namespace {

// One accepted connection. Everything but Close() runs on `strand_`. Socket
// calls are additionally made under `socket_mu_`, so that Stop() can close
// the socket synchronously from any thread.
class RpcSession : public std::enable_shared_from_this<RpcSession> {
 public:
  RpcSession(std::shared_ptr<RpcServer::State> server, asio::io_context& io)
      : server_(std::move(server)), strand_(asio::make_strand(io)), socket_(strand_), deadline_(strand_) {}

  ~RpcSession() { server_->buffered.fetch_sub(accounted_); }

  tcp::socket& socket() { return socket_; }

  void Start() {
    asio::dispatch(strand_, [self = shared_from_this()] { self->StartRead(); });
  }

  // Any thread; idempotent.
  void Close() {
    {
      std::lock_guard lock(socket_mu_);
      if (closed_) return;
      closed_ = true;
      boost::system::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_both, ignored);
      socket_.close(ignored);
    }
    server_->Unregister(this);
  }

 private:
  void StartRead() {
    std::lock_guard lock(socket_mu_);
    if (closed_) return;
    socket_.async_read_some(asio::buffer(read_buffer_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                                    size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(const boost::system::error_code& ec, size_t n) {
    if (ec) {
      Close();
      return;
    }
    decoder_.Feed(std::string_view(read_buffer_.data(), n));
    // Answers given synchronously by the handler are only appended while the
    // batch is parsed, then written together.
    in_batch_ = true;
    bool has_frame = false;
    bool popped = false;
    for (;;) {
      if (!decoder_.Next(frame_, has_frame).ok() || (has_frame && frame_.kind >= kResponseOk)) {
        Close();  // malformed, or a response where only requests belong
        return;
      }
      if (!has_frame) break;
      popped = true;
      if (!server_->EnterHandler()) {
        Close();
        return;
      }
      const RpcServer::State* outer = std::exchange(tls_in_handler, server_.get());
      server_->handler(frame_.kind, std::move(frame_.payload), MakeResponder(frame_.id));
      tls_in_handler = outer;
      server_->ExitHandler();
    }
    in_batch_ = false;
    if (!LimitPartialFrame(popped)) return;
    StartWrite();
    if (out_pending_.size() + out_writing_.size() > kMaxUnsentBytes) {
      read_paused_ = true;
    } else {
      StartRead();
    }
  }

  // Accounts the bytes of the frame still arriving and (re)arms its
  // deadline when a new frame has begun. Closes the connection and returns
  // false if the bytes would exceed the server-wide cap.
  bool LimitPartialFrame(bool popped) {
    const size_t now = decoder_.buffered();
    if (now >= accounted_) {
      const size_t total = server_->buffered.fetch_add(now - accounted_) + (now - accounted_);
      accounted_ = now;
      if (now > 0 && total > server_->options.max_buffered_bytes) {
        // Give the budget back now, not when the session is destroyed.
        server_->buffered.fetch_sub(accounted_);
        accounted_ = 0;
        Close();
        return false;
      }
    } else {
      server_->buffered.fetch_sub(accounted_ - now);
      accounted_ = now;
    }
    if (now == 0) {
      deadline_armed_ = false;
      deadline_.cancel();
    } else if (!deadline_armed_ || popped) {
      deadline_armed_ = true;
      deadline_at_ = std::chrono::steady_clock::now() + server_->options.partial_frame_timeout;
      deadline_.expires_at(deadline_at_);
      // Weak: a pending deadline must not keep a closed connection alive.
      deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        if (ec) return;
        auto self = weak.lock();
        // A completion already queued when the deadline moved is stale.
        if (self && self->deadline_armed_ && std::chrono::steady_clock::now() >= self->deadline_at_) self->Close();
      });
    }
    return true;
  }

  RpcServer::Responder MakeResponder(uint64_t id) {
    // Weak: a Responder kept by the handler must not keep a closed
    // connection (and its buffers) alive.
    return [weak = weak_from_this(), id](Status status, std::string payload) {
      if (auto self = weak.lock()) {
        asio::dispatch(self->strand_, [self, id, status = std::move(status), payload = std::move(payload)]() mutable {
          self->AppendAnswer(id, std::move(status), std::move(payload));
          if (!self->in_batch_) self->StartWrite();
        });
      }
    };
  }

  void AppendAnswer(uint64_t id, Status status, std::string payload) {
    if (status.ok() && payload.size() > kMaxFramePayload) {
      status = Status::InvalidArgument("rpc response payload of " + std::to_string(payload.size()) +
                                       " bytes exceeds the limit of " + std::to_string(kMaxFramePayload));
    }
    if (status.ok()) {
      AppendFrame(Frame{kResponseOk, id, std::move(payload)}, out_pending_);
    } else {
      AppendFrame(Frame{kResponseError, id, EncodeErrorPayload(status)}, out_pending_);
    }
  }

  void StartWrite() {
    if (writing_ || out_pending_.empty()) return;
    std::lock_guard lock(socket_mu_);
    if (closed_) return;
    writing_ = true;
    out_writing_.swap(out_pending_);
    asio::async_write(socket_, asio::buffer(out_writing_),
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(const boost::system::error_code& ec) {
    writing_ = false;
    if (ec) {
      Close();
      return;
    }
    out_writing_.clear();
    StartWrite();
    if (read_paused_ && out_pending_.size() + out_writing_.size() <= kMaxUnsentBytes) {
      read_paused_ = false;
      StartRead();
    }
  }

  const std::shared_ptr<RpcServer::State> server_;
  asio::strand<asio::io_context::executor_type> strand_;

  std::mutex socket_mu_;
  tcp::socket socket_;   // GUARDED_BY(socket_mu_) for calls
  bool closed_ = false;  // GUARDED_BY(socket_mu_)

  // Strand only.
  FrameDecoder decoder_;
  Frame frame_;
  std::array<char, kReadBufferSize> read_buffer_;
  std::string out_pending_;  // answers not yet handed to a write
  std::string out_writing_;  // the buffer of the write in progress
  bool writing_ = false;
  bool in_batch_ = false;
  bool read_paused_ = false;
  asio::steady_timer deadline_;  // for the frame still arriving
  std::chrono::steady_clock::time_point deadline_at_;
  bool deadline_armed_ = false;
  size_t accounted_ = 0;  // this connection's share of server_->buffered
};

std::string FormatEndpoint(const tcp::endpoint& ep) {
  const std::string a = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(ep.port());
}

}  // namespace

// A connection is accepted on `io`, the acceptor's own context, and moves to
// its loop in OnAccept: the pending accept must hold nothing of a loop (a
// session's strand), since `io` may drop its pending handlers only when it
// is destroyed, after the loops (AddressSanitizer: heap-use-after-free).
void RpcServer::State::AcceptLocked() {
  acceptor->async_accept([self = shared_from_this()](const boost::system::error_code& ec, tcp::socket peer) {
    self->OnAccept(std::move(peer), ec);
  });
}

void RpcServer::State::OnAccept(tcp::socket peer, const boost::system::error_code& ec) {
  std::shared_ptr<RpcSession> session;
  {
    std::lock_guard lock(mu);
    if (stopped.load() || !acceptor || !acceptor->is_open()) return;
    if (ec) {
      accept_retry.expires_after(kAcceptBackoff);
      accept_retry.async_wait([self = shared_from_this()](const boost::system::error_code& timer_ec) {
        if (timer_ec) return;
        std::lock_guard relock(self->mu);
        if (!self->stopped.load()) self->AcceptLocked();
      });
      return;
    }
    AcceptLocked();
    if (sessions.size() >= options.max_connections) return;  // over the cap: `peer` closes; keep accepting
    session = std::make_shared<RpcSession>(shared_from_this(), loops ? loops->next() : io);
    if (!MoveAccepted(peer, protocol, session->socket())) return;
    sessions.emplace(session.get(), session);
  }
  session->Start();
}

RpcServer::RpcServer(asio::io_context& io, Endpoint bind, Handler handler, RpcServerOptions options, EventLoops* loops)
    : state_(std::make_shared<State>(io, loops, std::move(bind), std::move(handler), options)) {}

RpcServer::~RpcServer() { Stop(); }

uint16_t RpcServer::port() const { return state_->port.load(); }

Status RpcServer::Start() {
  State& s = *state_;
  const std::string where = "rpc server on " + s.bind.ToString();
  std::lock_guard lock(s.mu);
  if (s.started || s.stopped.load()) return Status::InvalidArgument(where + ": Start() called twice or after Stop()");
  s.started = true;

  boost::system::error_code ec;
  tcp::endpoint endpoint;
  const asio::ip::address address = asio::ip::make_address(s.bind.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, s.bind.port);
  } else {
    tcp::resolver resolver(s.io);
    auto results = resolver.resolve(s.bind.host, std::to_string(s.bind.port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return Status::InvalidArgument(where + ": cannot resolve host \"" + s.bind.host +
                                     "\": " + (ec ? ec.message() : "no addresses"));
    }
    endpoint = results.begin()->endpoint();
  }

  tcp::acceptor& acceptor = s.acceptor.emplace(s.io);
  s.protocol = endpoint.protocol();
  if (acceptor.open(endpoint.protocol(), ec) || acceptor.set_option(tcp::acceptor::reuse_address(true), ec) ||
      acceptor.bind(endpoint, ec) || acceptor.listen(asio::socket_base::max_listen_connections, ec)) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return Status::IOError("cannot listen on " + FormatEndpoint(endpoint) + " (rpc): " + ec.message());
  }
  s.port.store(acceptor.local_endpoint(ec).port());
  s.AcceptLocked();
  return Status::Ok();
}

void RpcServer::Stop() {
  State& s = *state_;
  std::unordered_map<const RpcSession*, std::weak_ptr<RpcSession>> sessions;
  {
    std::lock_guard lock(s.mu);
    s.stopped.store(true);
    boost::system::error_code ignored;
    if (s.acceptor) s.acceptor->close(ignored);  // frees the port now
    s.accept_retry.cancel();
    sessions.swap(s.sessions);
  }
  for (auto& [ptr, weak] : sessions) {
    if (auto session = weak.lock()) session->Close();
  }
  // Wait for Handler calls already running (not for our own).
  const int own = tls_in_handler == &s ? 1 : 0;
  for (int n = s.active.load(); n > own; n = s.active.load()) s.active.wait(n);
}

}  // namespace dynastore
