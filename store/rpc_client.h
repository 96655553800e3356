// RpcClient: the calling side of dynastore's internal RPC to one peer node
// (wire format in rpc_frame.h and doc/rpc.md, "Internal RPC"). It keeps one
// persistent TCP connection, opened lazily by the first Call, and pipelines
// any number of calls on it; requests issued together are coalesced into
// one write.
//
// Outcomes (the reason a caller gets Unavailable or TimedOut matters: see
// status.h):
//  - Unavailable: the request was certainly not sent. The peer could not be
//    reached (connect failed or took longer than connect_timeout or the
//    call's timeout), the client is in its reconnect backoff window after a
//    failure (fail fast: a partitioned peer costs nothing), the connection
//    dropped before the request was written, or the client was closed first.
//  - TimedOut: the request was (perhaps partly) written and no answer came
//    within its timeout, or the connection dropped or the client was closed
//    after it was written. It may have been delivered.
//  - InvalidArgument: method >= 0x80 or payload over kMaxFramePayload.
//  - otherwise the Status the remote handler answered with.
// After a failure (connect failed, connection lost) the next Call reconnects,
// unless it comes within the backoff window: exponential from backoff_min to
// backoff_max, jittered, reset by a successful connect.
//
// Dead peers: a connection on which a call timed out without a single byte
// arriving since that call was sent is presumed dead (a partition, a paused
// process) and closed, and the client enters backoff. Calls still in flight
// on it then fail with TimedOut. A peer that is merely slow to answer one call
// while answering others keeps its connection.
//
// Threads: thread-safe; Call/Close/connected from any thread. Network I/O and
// callbacks run on the given io_context (not owned; must outlive the client
// and keep running while calls are pending), serialized on one strand per
// client, so callbacks must not block. A callback may call Call, Close, or
// destroy the client.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>  // before Boost 1.74 Asio, which uses std::exchange without it

#include "store/cluster_config.h"
#include "store/status.h"

namespace dynastore {

struct RpcClientOptions {
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds backoff_min{50}, backoff_max{2000};  // exponential reconnect backoff
};

// Appears only in the Unavailable status of the calls that waited for a
// connect attempt that failed (refused, unreachable, timed out), never in a
// fail-fast during the reconnect backoff that follows: the failure detector
// takes only the former as proof that a node is down before its timeout.
inline constexpr std::string_view kConnectRefused = "could not connect to the peer";

class RpcClient {
 public:
  using Callback = std::function<void(Status status, std::string payload)>;

  // Resolves peer.host with the resolver at connect time unless it is a
  // literal IP address.
  RpcClient(boost::asio::io_context& io, Endpoint peer, RpcClientOptions options = {});
  // Close(). Callbacks of pending calls run afterwards, on the io_context.
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Sends a request. `done` runs exactly once, on an io_context thread (never
  // inside Call), with one of the outcomes listed above. The payload passed
  // to `done` is empty unless the status is Ok. Late replies are dropped.
  void Call(uint8_t method, std::string payload, std::chrono::milliseconds timeout, Callback done);
  // Closes the connection for good: pending calls fail with "client closed"
  // (Unavailable if not yet sent, else TimedOut), asynchronously on the
  // io_context; later Calls fail with Unavailable. Idempotent.
  void Close();
  // Whether a connection is established right now (a hint; it may drop).
  bool connected() const;
  const Endpoint& peer() const;

  class Impl;  // defined in rpc_client.cc

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace dynastore
