#include "store/rpc_client.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/rpc_frame.h"

namespace dynastore {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Write buffers that grew past this for one big request are given back.
constexpr size_t kKeepBufferCapacity = 1u << 20;
// Clamp so that now + timeout cannot overflow.
constexpr std::chrono::milliseconds kMaxTimeout = std::chrono::hours(24 * 365);

std::string Ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

// All members below the mutex-guarded ones are used on `strand_` only.
class RpcClient::Impl : public std::enable_shared_from_this<RpcClient::Impl> {
 public:
  Impl(asio::io_context& io, Endpoint peer, RpcClientOptions options)
      : io_(io),
        strand_(asio::make_strand(io)),
        peer_(std::move(peer)),
        options_(options),
        where_("rpc to " + peer_.ToString()),
        resolver_(strand_),
        connect_timer_(strand_),
        deadline_timer_(strand_),
        rng_(std::random_device{}()) {}

  const Endpoint& peer() const { return peer_; }
  bool connected() const { return connected_.load(std::memory_order_relaxed) && !closing_.load(); }

  // Any thread. Calls reach the strand in batches: one post per batch, not
  // per call, and a batch becomes one write.
  void Call(uint8_t method, std::string payload, std::chrono::milliseconds timeout, Callback done) {
    bool post_flush = false;
    {
      std::lock_guard lock(submit_mu_);
      if (!close_requested_) {
        submissions_.push_back(Submission{method, std::move(payload), timeout, std::move(done)});
        post_flush = !std::exchange(flush_posted_, true);
        done = nullptr;
      }
    }
    if (done) {
      asio::post(
          io_, [done = std::move(done), where = where_] { done(Status::Unavailable(where + ": client closed"), {}); });
    } else if (post_flush) {
      asio::post(strand_, [self = shared_from_this()] { self->Flush(); });
    }
  }

  // Any thread.
  void Close() {
    {
      std::lock_guard lock(submit_mu_);
      if (std::exchange(close_requested_, true)) return;
    }
    closing_.store(true);
    asio::post(strand_, [self = shared_from_this()] { self->Teardown(); });
  }

 private:
  struct Submission {
    uint8_t method;
    std::string payload;
    std::chrono::milliseconds timeout;
    Callback done;
  };
  // A call issued while connecting; its frame is built once connected.
  struct Waiting {
    uint64_t id;
    uint8_t method;
    std::string payload;
  };
  struct Pending {
    Callback done;
    std::multimap<Clock::time_point, uint64_t>::iterator deadline;
    std::chrono::milliseconds timeout{0};
    bool serialized = false;        // its frame is in (or was written from) a connection's buffers
    uint64_t received_at_send = 0;  // the connection's bytes_received then
  };
  struct Connection {
    explicit Connection(const asio::strand<asio::io_context::executor_type>& strand) : socket(strand) {}
    tcp::socket socket;
    bool established = false;
    FrameDecoder decoder;
    std::string out_pending;            // frames not yet handed to a write
    std::vector<uint64_t> ids_pending;  // the calls whose frames are in out_pending
    std::string out_writing;            // the buffer of the write in progress
    bool writing = false;
    uint64_t bytes_received = 0;
    std::array<char, kReadBufferSize> read_buffer;
  };
  using Failures = std::vector<std::pair<Callback, Status>>;

  static void Run(Failures& failures) {
    for (auto& [done, status] : failures) done(std::move(status), {});
  }

  // Removes call `it` and queues its callback with `status`.
  void Finish(std::unordered_map<uint64_t, Pending>::iterator it, Status status, Failures& failures) {
    failures.emplace_back(std::move(it->second.done), std::move(status));
    deadlines_.erase(it->second.deadline);
    calls_.erase(it);
  }

  void Flush() {
    {
      std::lock_guard lock(submit_mu_);
      batch_.swap(submissions_);
      flush_posted_ = false;
    }
    const Clock::time_point now = Clock::now();
    Failures failures;
    for (Submission& s : batch_) Submit(s, now, failures);
    batch_.clear();
    if (conn_ && conn_->established) StartWrite(conn_);
    Run(failures);
  }

  void Submit(Submission& s, Clock::time_point now, Failures& failures) {
    if (closed_) {
      failures.emplace_back(std::move(s.done), Status::Unavailable(where_ + ": client closed"));
      return;
    }
    if (s.method >= kResponseOk) {
      failures.emplace_back(std::move(s.done), Status::InvalidArgument(where_ + ": method " + std::to_string(s.method) +
                                                                       " is not below 0x80"));
      return;
    }
    if (s.payload.size() > kMaxFramePayload) {
      failures.emplace_back(std::move(s.done), Status::InvalidArgument(
                                                   where_ + ": request payload of " + std::to_string(s.payload.size()) +
                                                   " bytes exceeds the limit of " + std::to_string(kMaxFramePayload)));
      return;
    }
    if (!conn_) {
      if (now < retry_after_) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(retry_after_ - now);
        failures.emplace_back(std::move(s.done), Status::Unavailable(where_ + ": not connected, next attempt in " +
                                                                     Ms(left) + "; last error: " + last_error_));
        return;
      }
      StartConnect();
    }
    const uint64_t id = next_id_++;
    const auto timeout = std::clamp(s.timeout, std::chrono::milliseconds(0), kMaxTimeout);
    const Clock::time_point deadline = now + timeout;
    Pending& call = calls_[id];
    call.done = std::move(s.done);
    call.timeout = timeout;
    call.deadline = deadlines_.emplace_hint(deadlines_.end(), deadline, id);
    if (conn_->established) {
      Serialize(id, s.method, std::move(s.payload), call);
    } else {
      waiting_.push_back(Waiting{id, s.method, std::move(s.payload)});
    }
    ArmDeadline(deadline);
  }

  void Serialize(uint64_t id, uint8_t method, std::string payload, Pending& call) {
    AppendFrame(Frame{method, id, std::move(payload)}, conn_->out_pending);
    conn_->ids_pending.push_back(id);
    call.serialized = true;
    call.received_at_send = conn_->bytes_received;
  }

  void StartConnect() {
    auto conn = std::make_shared<Connection>(strand_);
    conn_ = conn;
    auto self = shared_from_this();
    connect_timer_.expires_after(options_.connect_timeout);
    connect_timer_.async_wait([self, conn](const boost::system::error_code& ec) {
      if (!ec && conn == self->conn_ && !conn->established) {
        self->ConnectFailed("timed out after " + Ms(self->options_.connect_timeout));
      }
    });
    boost::system::error_code ec;
    const asio::ip::address address = asio::ip::make_address(peer_.host, ec);
    if (!ec) {
      conn->socket.async_connect(tcp::endpoint(address, peer_.port),
                                 [self, conn](const boost::system::error_code& ec) { self->OnConnect(conn, ec); });
      return;
    }
    resolver_.async_resolve(
        peer_.host, std::to_string(peer_.port),
        [self, conn](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
          if (conn != self->conn_) return;
          if (ec) {
            self->ConnectFailed("cannot resolve host: " + ec.message());
            return;
          }
          asio::async_connect(
              conn->socket, results,
              [self, conn](const boost::system::error_code& ec, const tcp::endpoint&) { self->OnConnect(conn, ec); });
        });
  }

  void OnConnect(const std::shared_ptr<Connection>& conn, const boost::system::error_code& ec) {
    if (conn != conn_) return;  // timed out or closed meanwhile
    if (ec) {
      ConnectFailed(ec.message());
      return;
    }
    connect_timer_.cancel();
    conn->established = true;
    connected_.store(true, std::memory_order_relaxed);
    backoff_ = std::chrono::milliseconds(0);
    boost::system::error_code ignored;
    conn->socket.set_option(tcp::no_delay(true), ignored);
    for (Waiting& w : waiting_) {
      auto it = calls_.find(w.id);  // gone if it timed out while we connected
      if (it != calls_.end()) Serialize(w.id, w.method, std::move(w.payload), it->second);
    }
    waiting_.clear();
    StartRead(conn);
    StartWrite(conn);
  }

  // The connect attempt of conn_ failed: no call was sent.
  void ConnectFailed(const std::string& reason) {
    connect_timer_.cancel();
    resolver_.cancel();
    boost::system::error_code ignored;
    conn_->socket.close(ignored);
    conn_.reset();
    EnterBackoff("connect failed: " + reason);
    Failures failures;
    for (Waiting& w : waiting_) {
      auto it = calls_.find(w.id);
      if (it != calls_.end())
        Finish(it, Status::Unavailable(where_ + ": " + std::string(kConnectRefused) + ": " + reason), failures);
    }
    waiting_.clear();
    Run(failures);
  }

  void EnterBackoff(std::string reason) {
    backoff_ = backoff_.count() == 0 ? options_.backoff_min : std::min(backoff_ * 2, options_.backoff_max);
    // Jitter in [backoff/2, backoff], so that nodes cut off together do not
    // all come back in the same instant.
    std::uniform_int_distribution<int64_t> jitter(backoff_.count() / 2, backoff_.count());
    retry_after_ = Clock::now() + std::chrono::milliseconds(jitter(rng_));
    last_error_ = std::move(reason);
  }

  // The established connection conn_ is lost (or given up on). Calls whose
  // frames never left out_pending were not sent; the rest may have been.
  void Drop(const std::string& reason) {
    Failures failures;
    Drop(reason, failures);
    Run(failures);
  }
  void Drop(const std::string& reason, Failures& failures) {
    std::shared_ptr<Connection> conn = std::move(conn_);
    conn_.reset();
    connected_.store(false, std::memory_order_relaxed);
    boost::system::error_code ignored;
    conn->socket.close(ignored);
    EnterBackoff("connection lost: " + reason);
    for (uint64_t id : conn->ids_pending) {
      auto it = calls_.find(id);
      if (it != calls_.end()) {
        Finish(it, Status::Unavailable(where_ + ": connection lost before the request was sent: " + reason), failures);
      }
    }
    while (!calls_.empty()) {
      Finish(calls_.begin(),
             Status::TimedOut(where_ +
                              ": connection lost after the request was sent (it may have been delivered): " + reason),
             failures);
    }
  }

  void StartRead(const std::shared_ptr<Connection>& conn) {
    conn->socket.async_read_some(asio::buffer(conn->read_buffer),
                                 [self = shared_from_this(), conn](const boost::system::error_code& ec, size_t n) {
                                   self->OnRead(conn, ec, n);
                                 });
  }

  void OnRead(const std::shared_ptr<Connection>& conn, const boost::system::error_code& ec, size_t n) {
    if (conn != conn_) return;
    if (ec) {
      Drop(ec == asio::error::eof ? "closed by peer" : ec.message());
      return;
    }
    conn->bytes_received += n;
    conn->decoder.Feed(std::string_view(conn->read_buffer.data(), n));
    bool has_frame = false;
    for (;;) {
      const Status parsed = conn->decoder.Next(frame_, has_frame);
      if (!parsed.ok()) {
        Drop("malformed frame from peer: " + parsed.message());
        return;
      }
      if (!has_frame) break;
      if (frame_.kind < kResponseOk) {
        Drop("peer sent a request on a client connection");
        return;
      }
      auto it = calls_.find(frame_.id);
      if (it == calls_.end()) continue;  // the late reply of a call that timed out
      Callback done = std::move(it->second.done);
      deadlines_.erase(it->second.deadline);
      calls_.erase(it);
      if (frame_.kind == kResponseOk) {
        done(Status::Ok(), std::move(frame_.payload));
      } else {
        Status remote;
        const Status decoded = DecodeErrorPayload(frame_.payload, remote);
        done(decoded.ok() ? std::move(remote) : decoded, {});
      }
      if (conn != conn_) return;
    }
    StartRead(conn);
  }

  void StartWrite(const std::shared_ptr<Connection>& conn) {
    if (conn->writing || conn->out_pending.empty()) return;
    conn->writing = true;
    conn->out_writing.swap(conn->out_pending);
    conn->ids_pending.clear();  // from here on, maybe delivered
    asio::async_write(
        conn->socket, asio::buffer(conn->out_writing),
        [self = shared_from_this(), conn](const boost::system::error_code& ec, size_t) { self->OnWrite(conn, ec); });
  }

  void OnWrite(const std::shared_ptr<Connection>& conn, const boost::system::error_code& ec) {
    conn->writing = false;
    if (conn != conn_) return;
    if (ec) {
      Drop("write failed: " + ec.message());
      return;
    }
    if (conn->out_writing.capacity() > kKeepBufferCapacity) {
      std::string().swap(conn->out_writing);
    } else {
      conn->out_writing.clear();
    }
    StartWrite(conn);
  }

  // One timer serves every call: it is armed for the earliest deadline.
  void ArmDeadline(Clock::time_point deadline) {
    if (deadline >= armed_deadline_) return;
    armed_deadline_ = deadline;
    deadline_timer_.expires_at(deadline);
    deadline_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec != asio::error::operation_aborted) self->OnDeadline();
    });
  }

  void OnDeadline() {
    armed_deadline_ = Clock::time_point::max();
    const Clock::time_point now = Clock::now();
    Failures failures;
    std::chrono::milliseconds silent_for{-1};
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      auto it = calls_.find(deadlines_.begin()->second);
      Pending& call = it->second;
      if (!call.serialized) {
        Finish(it, Status::Unavailable(where_ + ": not connected within the call's timeout of " + Ms(call.timeout)),
               failures);
        continue;
      }
      if (conn_ && conn_->established && conn_->bytes_received == call.received_at_send) silent_for = call.timeout;
      Finish(it, Status::TimedOut(where_ + ": no reply within " + Ms(call.timeout)), failures);
    }
    if (silent_for.count() >= 0 && conn_ && conn_->established) {
      Drop("nothing received for " + Ms(silent_for) + " after sending a request; presumed dead", failures);
    }
    Run(failures);
    if (!deadlines_.empty()) ArmDeadline(deadlines_.begin()->first);
  }

  void Teardown() {
    closed_ = true;
    connected_.store(false, std::memory_order_relaxed);
    Failures failures;
    {
      std::lock_guard lock(submit_mu_);
      batch_.swap(submissions_);
    }
    for (Submission& s : batch_)
      failures.emplace_back(std::move(s.done), Status::Unavailable(where_ + ": client closed"));
    batch_.clear();
    connect_timer_.cancel();
    deadline_timer_.cancel();
    resolver_.cancel();
    if (conn_) {
      boost::system::error_code ignored;
      conn_->socket.close(ignored);
      for (uint64_t id : conn_->ids_pending) {
        auto it = calls_.find(id);
        if (it != calls_.end()) it->second.serialized = false;  // never written
      }
      conn_.reset();
    }
    waiting_.clear();
    while (!calls_.empty()) {
      auto it = calls_.begin();
      Finish(it,
             it->second.serialized
                 ? Status::TimedOut(where_ + ": client closed after the request was sent (it may have been delivered)")
                 : Status::Unavailable(where_ + ": client closed"),
             failures);
    }
    Run(failures);
  }

  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  const Endpoint peer_;
  const RpcClientOptions options_;
  const std::string where_;  // "rpc to HOST:PORT", the prefix of every error
  std::atomic<bool> connected_{false};
  std::atomic<bool> closing_{false};  // Close() was called

  std::mutex submit_mu_;
  std::vector<Submission> submissions_;  // GUARDED_BY(submit_mu_)
  bool flush_posted_ = false;            // GUARDED_BY(submit_mu_)
  bool close_requested_ = false;         // GUARDED_BY(submit_mu_)

  // Strand only.
  bool closed_ = false;
  std::vector<Submission> batch_;
  tcp::resolver resolver_;
  asio::steady_timer connect_timer_;
  asio::steady_timer deadline_timer_;
  Clock::time_point armed_deadline_ = Clock::time_point::max();
  std::shared_ptr<Connection> conn_;  // null: not connected, not connecting
  std::vector<Waiting> waiting_;      // calls issued while conn_ connects
  std::unordered_map<uint64_t, Pending> calls_;
  std::multimap<Clock::time_point, uint64_t> deadlines_;  // every entry of calls_
  uint64_t next_id_ = 1;
  std::chrono::milliseconds backoff_{0};  // 0: the last attempt succeeded
  Clock::time_point retry_after_;         // no connect attempt before this
  std::string last_error_;
  std::mt19937_64 rng_;
  Frame frame_;
};

RpcClient::RpcClient(asio::io_context& io, Endpoint peer, RpcClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(peer), options)) {}

RpcClient::~RpcClient() { impl_->Close(); }

void RpcClient::Call(uint8_t method, std::string payload, std::chrono::milliseconds timeout, Callback done) {
  impl_->Call(method, std::move(payload), timeout, std::move(done));
}

void RpcClient::Close() { impl_->Close(); }

bool RpcClient::connected() const { return impl_->connected(); }

const Endpoint& RpcClient::peer() const { return impl_->peer(); }

}  // namespace dynastore
