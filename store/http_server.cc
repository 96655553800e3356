#include "store/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "store/event_loops.h"

namespace dynastore {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// One io_context per thread (EventLoops), and each connection lives on one
// of them: no strands, no locks between threads on a request's path, and concrete
// executor types rather than Beast's tcp_stream and Asio's type-erased
// any_io_executor. Measured by dynastore-bench, the erased executor,
// strands and tcp_stream's per-operation timers cost a quarter of the
// server's time per request.
using Executor = asio::io_context::executor_type;
using Socket = tcp::socket::rebind_executor<Executor>::other;
using Timer = asio::steady_timer::rebind_executor<Executor>::other;
using Clock = std::chrono::steady_clock;

class HttpSession;

// After an error response to a request whose body we did not read, keep
// reading (and discarding) for a while before closing: closing a socket with
// unread input makes the kernel send RST, and the client may then lose the
// response it has not read yet.
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr size_t kMaxLingerBytes = 16 << 20;

// How long the accept loop pauses after a failure. Out of descriptors, the
// pending connection stays queued and the next accept would fail at once, so
// back off long enough for other connections to close.
constexpr std::chrono::milliseconds kAcceptBackoffNoFds{100};
constexpr std::chrono::milliseconds kAcceptBackoffOther{10};
constexpr std::chrono::seconds kAcceptLogInterval{5};

// The most a connection buffers before the parser consumes it. Header and
// body have their own limits, but Beast 1.74 buffers a chunk-size line with
// its extensions, and the trailer, whole and without limit (and throws on a
// trailer field over 64 KiB). A request whose header fits header_limit
// overflows it only in those two places. Smaller than 64 KiB, so no field
// Beast parses can make it throw.
size_t ReadBufferLimit(const HttpServerOptions& options) { return options.max_header_bytes + 4096; }

std::string FormatEndpoint(const asio::ip::address& address, uint16_t port) {
  const std::string a = address.to_string();
  return (address.is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

}  // namespace

// Shared by the server and its sessions: a session still queued on a loop
// when the server is destroyed keeps it alive.
struct HttpServer::State : std::enable_shared_from_this<HttpServer::State> {
  State(HttpServerOptions opts, EventLoops& l, HttpApi& a, NodeStats& s)
      : options(std::move(opts)),
        api(a),
        stats(s),
        loops(l),
        acceptor(loops.at(0).get_executor()),
        accept_backoff(loops.at(0).get_executor()) {}

  void Log(std::string_view line) const {
    if (options.log) return options.log(line);
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  }

  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket peer);

  const HttpServerOptions options;
  HttpApi& api;
  NodeStats& stats;
  std::atomic<bool> stopping{false};

  // Live sessions, so Stop() can reach them.
  std::mutex mu;
  std::condition_variable sessions_changed;
  std::unordered_map<HttpSession*, std::weak_ptr<HttpSession>> sessions;  // guarded by mu

  EventLoops& loops;
  // The acceptor, its backoff timer and last_accept_log live on loop 0's
  // thread; new connections go round-robin over the loops.
  tcp::acceptor acceptor;
  tcp protocol = tcp::v4();  // the acceptor's, for the sockets moved to a loop
  asio::steady_timer accept_backoff;
  std::chrono::steady_clock::time_point last_accept_log{};
};

namespace {

// One client connection. All members are touched only on the connection's
// thread (the socket's io_context); the Coordinator's callback posts back to it.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Socket socket, std::shared_ptr<HttpServer::State> state)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        owner_(std::move(state)),
        state_(*owner_),
        buffer_(ReadBufferLimit(state_.options)) {
    state_.stats.ConnectionOpened();
  }

  ~HttpSession() {
    state_.stats.ConnectionClosed();
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.sessions.erase(this);
    state_.sessions_changed.notify_all();
  }

  void Start() {
    {
      std::lock_guard<std::mutex> lock(state_.mu);
      state_.sessions.emplace(this, weak_from_this());
    }
    asio::dispatch(socket_.get_executor(), beast::bind_front_handler(&HttpSession::ReadHeader, shared_from_this()));
  }

  // The server is stopping: drop the connection unless a request is being
  // served (or `force`); that one finishes, answered with "Connection: close".
  void OnServerStop(bool force) {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this(), force] {
      if (force || !self->busy_) self->Close();
    });
  }

 private:
  void ReadHeader() {
    if (state_.stopping.load()) return Close();
    parser_.emplace();
    parser_->header_limit(state_.options.max_header_bytes);
    parser_->body_limit(state_.options.max_body_bytes);
    // One deadline for the whole request, header and body: trickling bytes
    // does not extend it, which is what stops slowloris clients.
    SetDeadline(state_.options.idle_timeout);
    http::async_read_header(socket_, buffer_, *parser_,
                            beast::bind_front_handler(&HttpSession::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    const auto& req = parser_->get();
    if (req.version() >= 11 && !parser_->is_done() && beast::iequals(req[http::field::expect], "100-continue")) {
      // curl and others wait for this before sending a large body.
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                               [self = shared_from_this()](beast::error_code ec, size_t) {
                                 if (ec) return self->Close();
                                 self->ReadBody();
                               });
    }
    ReadBody();
  }

  void ReadBody() {
    // A small body usually arrives with its header: parse what is buffered
    // here, since an async_read that needs no I/O still costs a trip
    // through the loop's queue (Beast posts its completion).
    beast::error_code ec;
    while (!parser_->is_done() && buffer_.size() > 0) {
      const size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) return OnReadError(ec);
      if (used == 0) break;
    }
    if (parser_->is_done()) return OnBody({}, 0);
    http::async_read(socket_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    busy_ = true;
    route_ = HttpApi::Classify(parser_->get().method(), StdView(parser_->get().target()));
    head_request_ = parser_->get().method() == http::verb::head;
    // The Coordinator may take its time (replicas); the idle timeout is for
    // the client's side of the conversation.
    deadline_ = Clock::time_point::max();
    HttpApi::Request request = parser_->release();
    parser_.reset();
    state_.api.Handle(std::move(request), [self = shared_from_this()](HttpApi::Response res) {
      // Any thread: onto the connection's thread; inline when already on it
      // (a request served without waiting, e.g. a lone node's GET).
      asio::dispatch(self->socket_.get_executor(),
                     [self, res = std::move(res)]() mutable { self->Send(std::move(res), /*linger=*/false); });
    });
  }

  void OnReadError(beast::error_code ec) {
    const unsigned version = parser_ && parser_->get().version() == 10 ? 10 : 11;
    if (ec == http::error::body_limit) {
      route_ = HttpApi::Classify(parser_->get().method(), StdView(parser_->get().target()));
      std::string size;
      if (auto len = parser_->content_length()) size = " (" + std::to_string(*len) + " bytes)";
      return Send(HttpApi::Error(http::status::payload_too_large, "body_too_large",
                                 "request body" + size + " exceeds the limit of " +
                                     std::to_string(state_.options.max_body_bytes) +
                                     " bytes; store smaller values (the node's --max-body-bytes sets the limit)",
                                 version, false),
                  /*linger=*/true);
    }
    if (ec == http::error::buffer_overflow) {
      // Past the header, only a chunk-size line (its extensions) or the
      // trailer can fill the read buffer: Beast 1.74 bounds neither.
      return Send(HttpApi::Error(http::status::request_header_fields_too_large, "chunk_too_large",
                                 "a chunk-size line (with its extensions) or the chunked trailer exceeds " +
                                     std::to_string(ReadBufferLimit(state_.options)) +
                                     " bytes; send chunks without extensions and a short trailer",
                                 version, false),
                  /*linger=*/true);
    }
    route_ = NodeStats::Route::kOther;
    if (ec == http::error::header_limit) {
      return Send(HttpApi::Error(http::status::request_header_fields_too_large, "header_too_large",
                                 "request line and headers exceed " + std::to_string(state_.options.max_header_bytes) +
                                     " bytes; send shorter headers or a shorter key",
                                 version, false),
                  /*linger=*/true);
    }
    // A client that went away or stalled (end_of_stream, partial_message,
    // timeout, reset) gets no answer: nobody is listening.
    static const auto& kHttpErrors = http::make_error_code(http::error::end_of_stream).category();
    if (ec.category() != kHttpErrors || ec == http::error::end_of_stream || ec == http::error::partial_message) {
      return Close();
    }
    Send(HttpApi::Error(http::status::bad_request, "bad_request", "malformed HTTP/1.1 request (" + ec.message() + ")",
                        version, false),
         /*linger=*/true);
  }

  void Send(HttpApi::Response res, bool linger) {
    if (state_.stopping.load()) res.keep_alive(false);
    // A response to HEAD has no body, whatever its Content-Length says;
    // sending one would corrupt the next response on the connection.
    if (head_request_) res.body().clear();
    head_request_ = false;
    state_.stats.RecordResponse(route_, res.result_int());
    close_after_write_ = res.need_eof();
    Serialize(res, out_);
    SetDeadline(state_.options.idle_timeout);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this(), linger](beast::error_code ec, size_t) { self->OnWrite(ec, linger); });
  }

  // The response's bytes as Beast's serializer would write them (status
  // line, the fields in order, the body: HttpApi sets Content-Length),
  // into one reused buffer: one send and none of the serializer's
  // per-response machinery, which cost a lone node ~8% of its CPU per
  // request (issue 19's note).
  static void Serialize(const HttpApi::Response& res, std::string& out) {
    out.assign("HTTP/1.1 ");
    out[5] = static_cast<char>('0' + res.version() / 10 % 10);
    out[7] = static_cast<char>('0' + res.version() % 10);
    const unsigned status = res.result_int();
    for (unsigned digit : {status / 100 % 10, status / 10 % 10, status % 10})
      out.push_back(static_cast<char>('0' + digit));
    out.push_back(' ');
    const beast::string_view reason = res.reason().empty() ? http::obsolete_reason(res.result()) : res.reason();
    out.append(reason.data(), reason.size()).append("\r\n");
    for (const auto& field : res) {
      out.append(field.name_string().data(), field.name_string().size()).append(": ");
      out.append(field.value().data(), field.value().size()).append("\r\n");
    }
    out.append("\r\n").append(res.body());
  }

  void OnWrite(beast::error_code ec, bool linger) {
    busy_ = false;
    const bool close = close_after_write_;
    if (ec) return Close();
    if (linger) return Linger();
    if (close) {
      beast::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      return Close();
    }
    ReadHeader();
  }

  void Linger() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    SetDeadline(std::min<std::chrono::milliseconds>(kLingerTime, state_.options.idle_timeout));
    Drain();
  }

  void Drain() {
    socket_.async_read_some(asio::buffer(drain_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kMaxLingerBytes) return self->Close();
      self->Drain();
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    // Cancels the timer and any pending operation; their handlers see
    // operation_aborted and end the session.
    beast::error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
  }

  // The connection is closed if the current step (reading a request,
  // writing a response, lingering) is not over by `timeout` from now.
  // A later deadline only stores a time: the one timer wakes at the old
  // deadline and sleeps again until the new one, so a request costs no
  // timer-queue operations. An earlier one (the linger) re-arms it.
  void SetDeadline(std::chrono::milliseconds timeout) {
    deadline_ = Clock::now() + timeout;
    if (closed_ || (timer_armed_ && armed_at_ <= deadline_)) return;
    ArmTimer();
  }

  void ArmTimer() {
    timer_armed_ = true;
    armed_at_ = deadline_;
    timer_.expires_at(deadline_);  // cancels the wait for a later deadline, if any
    timer_.async_wait([self = shared_from_this(), generation = ++timer_generation_](beast::error_code ec) {
      self->OnTimer(ec, generation);
    });
  }

  void OnTimer(beast::error_code ec, uint64_t generation) {
    if (generation != timer_generation_) return;  // replaced by an earlier deadline
    timer_armed_ = false;
    if (ec || closed_ || deadline_ == Clock::time_point::max()) return;  // re-armed by the next SetDeadline
    if (Clock::now() < deadline_) return ArmTimer();
    Close();  // pending reads and writes end with operation_aborted
  }

  Socket socket_;
  Timer timer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point armed_at_{};  // when the armed timer wakes
  uint64_t timer_generation_ = 0;
  bool timer_armed_ = false;
  const std::shared_ptr<HttpServer::State> owner_;
  HttpServer::State& state_;  // *owner_
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string out_;  // the response being written (reused: no allocation once grown)
  bool close_after_write_ = false;
  NodeStats::Route route_ = NodeStats::Route::kOther;
  bool busy_ = false;  // a request is with HttpApi or its response is being written
  bool head_request_ = false;
  bool closed_ = false;
  std::array<char, 4096> drain_;
  size_t drained_ = 0;
};

}  // namespace

// A connection is accepted on loop 0, the acceptor's, and moves to its own
// loop in OnAccept (MoveAccepted says why).
void HttpServer::State::DoAccept() {
  acceptor.async_accept(
      [self = shared_from_this()](beast::error_code ec, tcp::socket peer) { self->OnAccept(ec, std::move(peer)); });
}

void HttpServer::State::OnAccept(beast::error_code ec, tcp::socket peer) {
  if (stopping.load() || ec == asio::error::operation_aborted) return;
  if (ec) {
    // Never let the loop die: a full descriptor table (EMFILE/ENFILE) is a
    // temporary condition, and so is almost anything else accept reports.
    stats.AcceptFailed();
    const bool no_fds = ec == asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_accept_log >= kAcceptLogInterval) {
      last_accept_log = now;
      Log("accept failed: " + ec.message() +
          (no_fds ? "; out of file descriptors, retrying (raise `ulimit -n` or close idle clients)" : "; retrying"));
    }
    accept_backoff.expires_after(no_fds ? kAcceptBackoffNoFds : kAcceptBackoffOther);
    accept_backoff.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec && !self->stopping.load()) self->DoAccept();
    });
    return;
  }
  DoAccept();
  Socket socket(loops.next().get_executor());
  if (!MoveAccepted(peer, protocol, socket)) return;
  std::make_shared<HttpSession>(std::move(socket), shared_from_this())->Start();
}

Status HttpServer::Start(HttpServerOptions options, EventLoops& loops, HttpApi& api, NodeStats& stats,
                         std::unique_ptr<HttpServer>& out) {
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.address, ec);
  if (ec) {
    return Status::InvalidArgument("invalid listen address '" + options.address +
                                   "': expected a numeric IPv4 or IPv6 address such as 127.0.0.1");
  }
  const std::string where = FormatEndpoint(address, options.port);
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->state_ = std::make_shared<State>(std::move(options), loops, api, stats);
  State& state = *server->state_;
  const tcp::endpoint endpoint(address, state.options.port);
  tcp::acceptor& acceptor = state.acceptor;
  state.protocol = endpoint.protocol();
  if (acceptor.open(endpoint.protocol(), ec); !ec) {
    // Lets a restarted node rebind while old connections sit in TIME_WAIT;
    // on Linux it does not let two listeners share the port.
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("cannot listen on " + where + ": " + ec.message());
  server->port_ = acceptor.local_endpoint(ec).port();
  if (ec) return Status::IOError("cannot read the bound port of " + where + ": " + ec.message());

  asio::post(state.acceptor.get_executor(), [self = server->state_] { self->DoAccept(); });
  out = std::move(server);
  return Status::Ok();
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (stopped_ || !state_) return;
  stopped_ = true;
  State& state = *state_;
  state.stopping.store(true);
  asio::post(state.acceptor.get_executor(), [self = state_] {
    beast::error_code ignored;
    self->acceptor.close(ignored);
    self->accept_backoff.cancel();
  });

  auto tell_sessions = [&state](bool force) {
    std::vector<std::shared_ptr<HttpSession>> live;
    {
      std::lock_guard<std::mutex> lock(state.mu);
      for (auto& [ptr, weak] : state.sessions) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) s->OnServerStop(force);
    // Our references must not keep sessions alive: they go out of scope here.
  };
  tell_sessions(false);
  std::unique_lock<std::mutex> lock(state.mu);
  const bool drained = state.sessions_changed.wait_for(lock, state.options.shutdown_deadline,
                                                       [&state] { return state.sessions.empty(); });
  if (!drained) {
    state.Log("shutdown deadline passed with " + std::to_string(state.sessions.size()) +
              " connection(s) still serving a request; closing them");
    lock.unlock();
    tell_sessions(true);
  }
}

}  // namespace dynastore
